"""Fuzzing the task commands as a careful tester would: malformed files and faults.

The test makes everything itself: the corpus of odd files (:mod:`.corpus`), 63 mutants
(nine valid files, each cut short, bit-flipped, zeroed, doubled...), special files (FIFOs,
a device, a socket, link loops, a folder named like a photo), names that could break or
spoof a line, and model folders and caches damaged on purpose. For each input or fault
it asserts what imgrestore promises (docs/cli.md): one line naming the file, the
documented exit code, inputs byte-identical, and nothing left behind in the output folder.

Many inputs go through one command (one process, one model load), so the whole test
takes about as long as a few runs of the tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.cli._output import printable

from ..specialfiles import ZERO, broken_link, fifo, link_loop, null_device, unix_socket
from .conftest import PHOTOS, _env
from .corpus import CORPUS_MTIME_NS, make_corpus, make_mutants

#: File names that could break a line, inject markup or emoji, or move the cursor.
ODD_NAMES = ("new\nline.png", ":smile: [red]x[bold].png", "esc\x1b[31mred.png",
             os.fsdecode(b"caf\xe9.png"), "tab\there.png")
BUILTIN = ("--model", "builtin")


def _fingerprint(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: its kind, and a regular file's hash and mtime."""
    found = {}
    for path in sorted(folder.rglob("*")):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            found[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(),
                                st.st_mtime_ns)
        else:
            found[str(path)] = (stat.S_IFMT(st.st_mode),)
    return found


def _leftovers(folder: Path) -> list[Path]:
    """Temporary or partial files: anything hidden, or ending in .part or .tmp."""
    return [p for p in folder.rglob("*") if p.name.startswith(".")
            or p.suffix in (".part", ".tmp")] if folder.exists() else []


def _run(args: list, home: Path, *, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgrestore", *map(str, args)],
                          env=_env(home), capture_output=True, timeout=timeout)


def _lines_of(stderr: str, name: str) -> list[str]:
    """The lines of a batch's stderr about input ``name`` (as the display escapes it)."""
    shown = printable(name)
    return [line for line in stderr.splitlines()
            if line.startswith((f"done {shown} -> ", f"failed {shown}: ",
                                f"skipped {shown} ", f"interrupted {shown} "))]


def _check_output(path: Path) -> None:
    from imgrestore.imaging import read_image

    image = read_image(path)  # decodes completely
    assert np.isfinite(image.pixels).all(), path
    if path.suffix == ".tif":
        import tifffile

        assert tifffile.imread(path).shape[:2] == image.meta.size, path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, weights_home: Path):
    """One batch over the corpus, the mutants, special files and odd names."""
    root = tmp_path_factory.mktemp("fuzz")
    folder = root / "in"
    cases = make_corpus(folder)
    mutants = make_mutants(folder)
    good = (PHOTOS / "kite.jpg").read_bytes()
    for name in ODD_NAMES:
        (folder / name).write_bytes(good)
        os.utime(folder / name, ns=(CORPUS_MTIME_NS, CORPUS_MTIME_NS))
    special = {"pipe.jpg": fifo(folder / "pipe.jpg"), "loop.jpg": link_loop(folder / "loop.jpg"),
               "gone.png": broken_link(folder / "gone.png")}
    (folder / "folder.jpg").mkdir()
    special["folder.jpg"] = folder / "folder.jpg"
    if (sock := unix_socket(folder / "s.png")) is not None:
        special["s.png"] = sock
    named = {"named-pipe.png": fifo(root / "named-pipe.png"), "zero": ZERO}
    before = _fingerprint(folder)
    out = root / "out"
    report = root / "report.json"

    done = _run(["denoise", *BUILTIN, folder, named["named-pipe.png"], ZERO, "-o", out,
                 "--json", report], weights_home)

    return {"done": done, "stderr": done.stderr.decode("utf-8", "replace"), "folder": folder,
            "out": out, "before": before, "report": json.loads(report.read_text()),
            "cases": cases, "mutants": mutants, "special": special, "named": named}


def test_fuzz_batch_every_input_one_line_exit_1_inputs_intact_nothing_left(batch) -> None:
    done, stderr, folder, out = batch["done"], batch["stderr"], batch["folder"], batch["out"]
    report = batch["report"]
    assert done.returncode == 1 and report["exit_code"] == 1
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    files = {f["input"]: f for f in report["files"]}
    inputs = ([str(folder / c.name) for c in batch["cases"] if not c.ignored]
              + [str(folder / m) for m in batch["mutants"]]
              + [str(folder / n) for n in ODD_NAMES]
              + [str(p) for p in batch["special"].values()]
              + [str(p) for p in batch["named"].values()])
    assert len(batch["mutants"]) >= 60 and len(inputs) >= 130
    assert sorted(files) == sorted(inputs)
    for name in inputs:  # one line naming the file, done or failed with its reason
        lines = _lines_of(stderr, name)
        assert len(lines) == 1, (name, lines)
        assert files[name]["status"] in ("done", "failed"), name
        if files[name]["status"] == "failed":
            assert files[name]["error"].startswith(f"{name}: ") and "\n" not in lines[0]
    # nothing else on stderr: the plan line, one line per input, the summary table
    assert len(stderr.splitlines()) == 1 + len(inputs) + 2, stderr
    assert report["ignored"] == [str(folder / c.name) for c in batch["cases"] if c.ignored]
    assert _fingerprint(folder) == batch["before"]  # inputs byte-identical, same mtimes
    assert not _leftovers(out)
    written = {f["output"] for f in report["files"] if f["status"] == "done"}
    assert sorted(str(p) for p in out.iterdir()) == sorted(written)
    for path in written:
        _check_output(Path(path))


def test_fuzz_batch_corpus_and_special_files_say_why(batch) -> None:
    from imgrestore.imaging import read_image

    files = {f["input"]: f for f in batch["report"]["files"]}
    folder = batch["folder"]
    for case in batch["cases"]:
        if case.ignored:
            continue
        result = files[str(folder / case.name)]
        if case.usable:
            assert result["status"] == "done", (case.name, result["error"])
            assert read_image(result["output"]).meta.size == case.size, case.name
        else:
            assert result["status"] == "failed" and case.reason in result["error"].lower(), (
                case.name, result["error"])
    reasons = {"pipe.jpg": "is a FIFO (named pipe), not a regular file",
               "loop.jpg": "symbolic link loop", "gone.png": "broken symbolic link",
               "folder.jpg": "is a folder, not an image (add -r to go into it)",
               "s.png": "is a socket", "named-pipe.png": "is a FIFO",
               "zero": "is a character device"}
    paths = {**batch["special"], **batch["named"]}
    for name, path in paths.items():
        assert reasons[name] in files[str(path)]["error"], name
    for name in ODD_NAMES:  # restored, and shown escaped on one line
        assert files[str(folder / name)]["status"] == "done", name
    for escaped in ("new\\nline.png", "esc\\x1b[31mred.png", ":smile: [red]x[bold].png",
                    "caf\\xe9.png", "tab\\there.png"):
        assert f"/{escaped} -> " in batch["stderr"], escaped
    assert "\x1b" not in batch["stderr"] and "\t" not in batch["stderr"]
    three = Path(files[str(folder / "three_pages.tif")]["output"])
    import tifffile

    with tifffile.TiffFile(three) as tif:  # the first page, as a valid one-page TIFF
        assert len(tif.pages) == 1 and tif.asarray().shape == (24, 32, 3)


# ------------------------------------------------------------------ faults, one command each


@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_fault_report_onto_a_link_a_fifo_or_a_device(weights_home, tmp_path, kind) -> None:
    photo = tmp_path / "kite.jpg"
    shutil.copyfile(PHOTOS / "kite.jpg", photo)
    victim = tmp_path / "elsewhere.json"
    victim.write_text('{"keep": true}')
    if kind == "symlink":
        target = tmp_path / "report.json"
        os.symlink(victim.name, target)
    elif kind == "fifo":
        target = fifo(tmp_path / "report.json")
    else:
        target = null_device(tmp_path)
    before = os.lstat(target)

    done = _run(["denoise", *BUILTIN, photo, "--json", target], weights_home, timeout=120)

    assert done.returncode == 2
    (line,) = done.stderr.decode().strip().splitlines()
    assert line.startswith(f"error: --json {target}: is a ") and "not a regular file" in line
    after = os.lstat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode),
                                                          before.st_ino)
    assert victim.read_text() == '{"keep": true}'
    made = {p.name for p in tmp_path.iterdir()} - {"kite.jpg", "elsewhere.json", target.name}
    assert not made  # refused before any work: no output, no temporary file


def _builtin_model(tmp_path: Path, name: str, change) -> Path:
    """A copy of the built-in denoise model with its weights changed by ``change``."""
    from safetensors.torch import load_file

    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.loading import builtin_dir
    from imgrestore.zoo.modeldir import read_meta, write_model_dir

    source = builtin_dir(CARDS["builtin_denoise"])
    state = load_file(str(source / "model.safetensors"))
    change(state)
    meta = read_meta(source)
    folder = tmp_path / name
    import dataclasses

    write_model_dir(folder, state, dataclasses.replace(meta, name=name))
    return folder


def test_fault_nan_weights_are_refused_before_any_file(weights_home, tmp_path) -> None:
    def poison(state):
        state["conv_in.weight"].view(-1)[0] = float("nan")

    model = _builtin_model(tmp_path, "nan-model", poison)
    photos = tmp_path / "in"
    shutil.copytree(PHOTOS, photos)
    before = _fingerprint(photos)

    done = _run(["denoise", "--model", model, photos, "-o", tmp_path / "out"], weights_home)

    assert done.returncode == 3
    (line,) = done.stderr.decode().strip().splitlines()
    assert line == (f"error: {model / 'model.safetensors'}: 1 weight tensor hold NaN or "
                    "infinite values (first: conv_in.weight); refused")
    assert _fingerprint(photos) == before and not (tmp_path / "out").exists()


def test_fault_weights_that_overflow_fail_the_file_instead_of_writing_black(
    weights_home, tmp_path
) -> None:
    def overflow(state):  # finite weights whose products overflow layer after layer
        for key, value in state.items():
            state[key] = value.float() * (1e10 if value.ndim == 4 else 1.0)

    model = _builtin_model(tmp_path, "overflow-model", overflow)
    photo = tmp_path / "kite.jpg"
    shutil.copyfile(PHOTOS / "kite.jpg", photo)

    done = _run(["denoise", "--model", model, photo, "-o", tmp_path / "out"], weights_home)

    assert done.returncode == 1
    stderr = done.stderr.decode()
    (line,) = _lines_of(stderr, str(photo))
    assert "gave NaN or infinite values even in fp32; not written" in line
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert photo.read_bytes() == (PHOTOS / "kite.jpg").read_bytes()


def _stranger_model(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A model folder (or file) shared by a stranger, built to allocate without limit or
    to hang: what it is, and the words of its refusal."""
    import torch

    from imgrestore.zoo.modeldir import ModelMeta, write_model_dir

    tiny = {"conv_in.weight": torch.zeros(4, 3, 3, 3)}
    if kind == "deep-json":
        folder = tmp_path / kind
        write_model_dir(folder, tiny, ModelMeta(family="mirnetv2", kwargs={"n_feat": 8}))
        (folder / "imgrestore.json").write_text("[" * 100_000 + "]" * 100_000)
        return folder, "imgrestore.json: unreadable (nested too deeply)"
    if kind == "zero-element-file":
        from safetensors.torch import save_file

        from imgrestore import archs

        with torch.device("meta"):
            shapes = {k: v.shape for k, v in archs.create("mirnetv2_compact").state_dict().items()}
        path = tmp_path / "huge-but-empty.safetensors"
        save_file({k: torch.empty([d * 2500 if d > 3 else d for d in shape[:-1]] + [0])
                   for k, shape in shapes.items()}, str(path))
        return path, "huge-but-empty.safetensors: n_feat=30000: at most 256; refused"
    kwargs = ({"n_feat": 30000} if kind == "wide" else
              dict(n_feat=256, chan_factor=4.0, n_RRG=16, n_MRB=16, height=5, width=8))
    folder = tmp_path / kind
    write_model_dir(folder, tiny, ModelMeta(family="mirnetv2", kwargs=kwargs, task="denoise"))
    return folder, ("n_feat=30000: at most 256; refused" if kind == "wide" else
                    "more than 4x the largest released one")


@pytest.mark.parametrize("kind", ["wide", "too-many-parameters", "zero-element-file",
                                  "deep-json"])
def test_fault_a_shared_model_is_bounded_before_anything_is_built(weights_home, tmp_path,
                                                                  kind) -> None:
    model, words = _stranger_model(tmp_path, kind)
    photo = tmp_path / "kite.jpg"
    shutil.copyfile(PHOTOS / "kite.jpg", photo)

    done = _run(["denoise", "--model", model, photo, "-o", tmp_path / "out"], weights_home,
                timeout=120)

    assert done.returncode == 3
    (line,) = done.stderr.decode().strip().splitlines()
    assert line.startswith(f"error: {model}") and words in line, line
    assert not (tmp_path / "out").exists()
    assert photo.read_bytes() == (PHOTOS / "kite.jpg").read_bytes()


def test_fault_a_text_file_as_model(weights_home, tmp_path) -> None:
    notes = tmp_path / "model.pth"
    notes.write_text("not weights\n")
    done = _run(["denoise", "--model", notes, PHOTOS / "kite.jpg", "-o", tmp_path / "o.jpg"],
                weights_home)
    assert done.returncode == 3
    (line,) = done.stderr.decode().strip().splitlines()
    assert line == f"error: {notes}: not a weights file (neither a PyTorch checkpoint nor " \
                   "safetensors)"
    assert not (tmp_path / "o.jpg").exists()


def test_fault_flipped_bytes_in_the_cache(weights_home, tmp_path) -> None:
    home = tmp_path / "home"
    shutil.copytree(weights_home, home)
    weights = home / "models" / "mprnet_deraining" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3000:-2997] = bytes(b ^ 0x01 for b in data[-3000:-2997])
    weights.write_bytes(bytes(data))
    photo = tmp_path / "kite.jpg"
    shutil.copyfile(PHOTOS / "kite.jpg", photo)

    done = _run(["derain", photo], home)

    assert done.returncode == 3
    (line,) = done.stderr.decode().strip().splitlines()
    assert line.startswith(f"error: {weights}: corrupt: its content does not match the sha256")
    assert line.endswith("imgrestore models remove mprnet_deraining")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "kite.jpg"]


def test_fault_a_reader_that_quits_early_fails_the_file(weights_home, tmp_path) -> None:
    with open(PHOTOS / "kite.jpg", "rb") as photo:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgrestore", "denoise", *BUILTIN, "-", "-o", "-"],
            stdin=photo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(weights_home),
        )
        proc.stdout.close()  # like `| head -c 0`: the reader is gone before the image comes
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == 1, stderr
    (line,) = _lines_of(stderr, "<stdin>")
    assert line == ("failed <stdin>: the image was not written to stdout completely (broken "
                    "pipe: the reader closed it early)")
    assert "Exception ignored" not in stderr and "Traceback" not in stderr


def test_fault_kill_9_during_a_batch_then_rerun(weights_home, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photos = sorted(PHOTOS.glob("*.jpg"))
    for i in range(24):
        (folder / f"img{i:02d}.jpg").write_bytes(photos[i % len(photos)].read_bytes())
    before = _fingerprint(folder)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "imgrestore", "denoise", *BUILTIN, str(folder), "-o", str(out)]
    proc = subprocess.Popen(args, env=_env(weights_home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    for path in out.iterdir():  # whatever is there under an output's name is complete
        if not path.name.startswith("."):
            _check_output(path)
    # What a kill -9 inside a write leaves: a temporary file of a process that is gone.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    from imgrestore.files import _HOST

    stale = out / f".img23-denoised.jpg.{dead}-{_HOST}-k9k9k9k9.part"
    stale.write_bytes(b"half an image")

    again = _run(["denoise", *BUILTIN, folder, "-o", out, "--json", "-"], weights_home)

    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)["summary"]
    assert summary["done"] + summary["skipped"] == 24 and summary["failed"] == 0
    assert _fingerprint(folder) == before and not _leftovers(out)
    assert sorted(p.name for p in out.iterdir()) == [f"img{i:02d}-denoised.jpg"
                                                     for i in range(24)]
    for path in out.iterdir():
        with Image.open(path) as im:
            im.load()
            assert im.size == (64, 48)
