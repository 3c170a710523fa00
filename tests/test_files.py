"""Writing files without losing one: atomic replacement and report-path checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.errors import ImageError, UsageError
from imgrestore.files import atomic_write, check_report_path, replacing
from imgrestore.imaging.formats import format_available


def test_atomic_write_replaces_or_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    dest = tmp_path / "deep" / "report.json"
    atomic_write(dest, b"one")
    atomic_write(dest, b"two")
    assert dest.read_bytes() == b"two"
    assert oct(dest.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ImageError, match="No space left on device"):
        atomic_write(dest, b"three")
    assert dest.read_bytes() == b"two" and os.listdir(dest.parent) == ["report.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_replacing_gives_a_path_that_replaces_on_success_only(tmp_path: Path) -> None:
    dest = tmp_path / "model.safetensors"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(dest) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.safetensors"]
    with replacing(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.safetensors.")
        tmp.write_bytes(b"new")
    assert dest.read_bytes() == b"new" and os.listdir(tmp_path) == ["model.safetensors"]


def test_a_photo_or_a_folder_is_never_taken_for_a_report(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8) + 90).save(photo)
    with pytest.raises(UsageError, match="--csv .*photo.jpg: exists and is not a text report"):
        check_report_path(photo, "--csv")
    with pytest.raises(UsageError, match="is a folder"):
        check_report_path(tmp_path, "--json")
    (tmp_path / "old.json").write_text('{"files": ["café"]}', encoding="utf-8")
    (tmp_path / "empty.csv").touch()
    (tmp_path / "cut.csv").write_bytes(("x" * 4095 + "é").encode("utf-8"))  # é cut at 4096
    for fine in ("new.json", "old.json", "empty.csv", "cut.csv"):
        check_report_path(tmp_path / fine, "--json")


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "WEBP", "GIF", "BMP", "JPEG"])
@pytest.mark.parametrize("size", [(1, 1), (300, 300)])
def test_no_image_format_passes_for_text(tmp_path: Path, fmt: str, size: tuple[int, int]) -> None:
    if not format_available(fmt):
        pytest.skip(f"{fmt} not available")
    path = tmp_path / f"image.{fmt.lower()}"
    pixels = np.random.default_rng(0).integers(1, 255, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, fmt)
    with pytest.raises(UsageError, match="not a text report"):
        check_report_path(path, "--json")


def test_every_written_file_gets_the_same_mode(tmp_path: Path) -> None:
    """A model folder's model.safetensors (safetensors writes 0600) reads like the rest."""
    import torch

    from imgrestore.zoo.checkpoints import save_safetensors

    mask = os.umask(0)
    os.umask(mask)
    with replacing(tmp_path / "model.safetensors") as tmp:
        save_safetensors({"w": torch.zeros(2)}, tmp)
    atomic_write(tmp_path / "imgrestore.json", b"{}\n")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"model.safetensors": 0o666 & ~mask, "imgrestore.json": 0o666 & ~mask}


# ---------------------------------------------------------------- only regular files


def _special_targets(tmp_path):
    """A FIFO, a symbolic link to a file, and a character device, each as a target."""
    from .specialfiles import fifo, null_device

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.json"
    os.symlink(victim.name, link)
    return {"fifo": fifo(tmp_path / "pipe.json"), "symlink": link,
            "device": null_device(tmp_path)}, victim


def test_reports_never_go_to_a_fifo_a_link_or_a_device(tmp_path) -> None:
    from .specialfiles import returns

    targets, victim = _special_targets(tmp_path)
    for kind, target in targets.items():
        with pytest.raises(UsageError, match=r"--json .*: is a .*, not a regular file; refused"):
            returns(check_report_path, target, "--json", unblock=target if kind == "fifo" else None)
        assert os.path.lexists(target)
    assert stat.S_ISFIFO(os.lstat(targets["fifo"]).st_mode)
    assert os.path.islink(targets["symlink"]) and victim.read_text() == "keep me"
    assert stat.S_ISCHR(os.lstat(targets["device"]).st_mode)


def test_replacing_replaces_regular_files_only(tmp_path) -> None:
    targets, victim = _special_targets(tmp_path)
    (tmp_path / "folder.json").mkdir()
    targets["folder"] = tmp_path / "folder.json"
    for target in targets.values():
        with pytest.raises(ImageError, match="not a regular file; refused"), \
                replacing(target) as tmp:
            tmp.write_bytes(b"{}")
    late = tmp_path / "late.json"  # becomes a link while the block writes: still refused
    with pytest.raises(ImageError, match="not a regular file; refused"), \
            replacing(late) as tmp:
        tmp.write_bytes(b"{}")
        os.symlink(victim.name, late)
    assert stat.S_ISFIFO(os.lstat(targets["fifo"]).st_mode)
    assert os.path.islink(targets["symlink"]) and os.path.islink(late)
    assert victim.read_text() == "keep me"
    assert stat.S_ISCHR(os.lstat(targets["device"]).st_mode)
    assert not list(tmp_path.glob(".*.tmp"))


def test_atomic_write_replaces_regular_files_only(tmp_path) -> None:
    targets, victim = _special_targets(tmp_path)
    (tmp_path / "folder.json").mkdir()
    targets["folder"] = tmp_path / "folder.json"
    for target in targets.values():
        with pytest.raises(ImageError, match="not a regular file; refused"):
            atomic_write(target, b"{}")
    assert stat.S_ISFIFO(os.lstat(targets["fifo"]).st_mode)
    assert os.path.islink(targets["symlink"]) and victim.read_text() == "keep me"
    assert stat.S_ISCHR(os.lstat(targets["device"]).st_mode)
    assert not list(tmp_path.glob(".*.part"))
    atomic_write(tmp_path / "victim.txt", b"replaced")  # a regular file is replaced
    assert victim.read_bytes() == b"replaced"


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_stale_part_files_of_ours_are_removed_and_nothing_else(tmp_path) -> None:
    import time

    from imgrestore.files import _HOST, remove_stale_parts

    dest = tmp_path / "photo-denoised.jpg"
    dead = tmp_path / f".photo-denoised.jpg.{_dead_pid()}-{_HOST}-abcd1234.part"
    writing = tmp_path / f".photo-denoised.jpg.{os.getpid()}-{_HOST}-efgh5678.part"
    elsewhere = tmp_path / f".photo-denoised.jpg.{_dead_pid()}-ffffff-ijkl9012.part"
    old = tmp_path / ".photo-denoised.jpg.x9y8z7w6.part"  # an older imgrestore's name
    other = [tmp_path / ".photo-denoised.jpg.notes", tmp_path / ".other.jpg.1-2-3.part"]
    for path in (dead, writing, elsewhere, old, *other):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))

    removed = remove_stale_parts(dest)

    assert sorted(removed) == sorted([dead, old])
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {writing.name, elsewhere.name, *(p.name for p in other)}


def test_atomic_write_to_an_fsspec_file_system_renames_a_complete_file(tmp_path: Path) -> None:
    """A file system that is not an object store (here fsspec's local one, as SFTP or SMB
    would be) gets a temporary file beside the output, then a rename."""
    upath = pytest.importorskip("upath", reason="needs the fsspec extra (universal-pathlib)")
    dest = upath.UPath(f"file://{tmp_path}/out/kite.png")
    assert not isinstance(dest, Path) and dest.protocol == "file"
    (tmp_path / "out").mkdir()
    atomic_write(dest, b"one")
    atomic_write(dest, b"two")
    assert (tmp_path / "out" / "kite.png").read_bytes() == b"two"
    assert os.listdir(tmp_path / "out") == ["kite.png"]
