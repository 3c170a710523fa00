"""The task commands, run as real subprocesses on folders of real photos."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import _env


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns
        )
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _stray_files(folder: Path) -> list[Path]:
    """Temporary or partial files left behind (anything hidden or ending in .tmp/.part)."""
    return [p for p in folder.rglob("*")
            if p.name.startswith(".") or p.suffix in (".tmp", ".part")]


def test_batch_restores_good_files_and_names_bad_ones(cli, photos, tmp_path):
    (photos / "truncated.jpg").write_bytes((photos / "path.jpg").read_bytes()[:400])
    (photos / "letter.jpg").write_text("Dear photographer, this is not a picture.")
    (photos / "notes.txt").write_text("shot list")
    before = _fingerprint(photos)
    report_path = tmp_path / "report.json"

    done = cli("denoise", photos, "--json", report_path)

    assert done.returncode == 1, done.stderr
    stderr = done.stderr.decode()
    assert "truncated.jpg" in stderr and "letter.jpg" in stderr
    assert "Traceback" not in stderr
    for name in ("coldripple", "eveningglow", "fallenleaf", "kite", "path"):
        out = photos / f"{name}-denoised.jpg"
        with Image.open(out) as im:
            assert im.size == (64, 48) and im.format == "JPEG"
    after = _fingerprint(photos)
    assert {k: v for k, v in after.items() if k in before} == before  # inputs untouched
    assert not _stray_files(photos)

    report = json.loads(report_path.read_text())
    assert report["exit_code"] == 1
    assert report["summary"] == {"done": 5, "skipped": 0, "failed": 2,
                                 "planned": 0, "interrupted": 0}
    assert report["models"] == ["mirnetv2_real_denoising"]
    assert report["ignored"] == [str(photos / "notes.txt")]
    by_name = {Path(f["input"]).name: f for f in report["files"]}
    assert set(by_name) == set(before) - {"notes.txt"}
    assert by_name["letter.jpg"]["status"] == "failed"
    assert "not an image" in by_name["letter.jpg"]["error"]
    assert by_name["truncated.jpg"]["status"] == "failed"
    assert all(f["seconds"] >= 0 and f["model"] for f in report["files"]
               if f["status"] == "done")


def test_rerun_resumes_and_overwrite_redoes(cli, photos, tmp_path):
    first = cli("derain", photos, "-o", tmp_path / "out", "--json", "-")
    assert first.returncode == 0, first.stderr
    outputs = sorted((tmp_path / "out").iterdir())
    assert len(outputs) == 5
    stamps = {p: p.stat().st_mtime_ns for p in outputs}

    again = cli("derain", photos, "-o", tmp_path / "out", "--json", "-")
    report = json.loads(again.stdout)
    assert again.returncode == 0
    assert report["summary"]["skipped"] == 5 and report["summary"]["done"] == 0
    assert report["models"] == []  # nothing to do: the network was never even loaded
    assert {p: p.stat().st_mtime_ns for p in outputs} == stamps

    redo = cli("derain", photos, "-o", tmp_path / "out", "--overwrite", "--json", "-")
    assert json.loads(redo.stdout)["summary"]["done"] == 5
    assert all(p.stat().st_mtime_ns != stamps[p] for p in outputs)


def test_notes_say_what_an_output_cannot_keep_and_reruns_skip_it(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    pixels = np.random.default_rng(4).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    frames = [Image.fromarray(pixels), Image.fromarray(pixels[::-1].copy())]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    alpha = np.dstack([pixels, np.full((24, 32), 128, np.uint8)])
    Image.fromarray(alpha, "RGBA").save(folder / "glass.png")
    out = tmp_path / "out"

    first = cli("denoise", folder, "-o", out, "--format", "jpg", "--json", "-")

    assert first.returncode == 0, first.stderr
    files = {Path(f["input"]).name: f for f in json.loads(first.stdout)["files"]}
    assert files["anim.gif"]["output"] == str(out / "anim-denoised.jpg")
    assert files["anim.gif"]["notes"] == ["animation not kept: only the first frame is restored"]
    assert files["glass.png"]["output"] == str(out / "glass-denoised.png")  # keeps its alpha
    assert files["glass.png"]["notes"] == [
        "JPEG cannot hold transparency: written as PNG to keep it"
    ]
    stderr = first.stderr.decode()
    assert "glass-denoised.png" in stderr and "(JPEG cannot hold transparency" in stderr
    assert "(animation not kept: only the first frame is restored)" in stderr
    stamp = (out / "glass-denoised.png").stat().st_mtime_ns

    # The planned name was glass-denoised.jpg; the PNG written instead still counts as done.
    again = cli("denoise", folder, "-o", out, "--format", "jpg", "--json", "-")

    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["summary"] == {"done": 0, "skipped": 2, "failed": 0,
                                 "planned": 0, "interrupted": 0}
    assert (out / "glass-denoised.png").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in out.iterdir()) == ["anim-denoised.jpg", "glass-denoised.png"]


def test_json_report_never_replaces_a_photo(cli, photos):
    kite = photos / "kite.jpg"
    before = kite.read_bytes()
    done = cli("denoise", photos / "path.jpg", "--json", kite)
    assert done.returncode == 2
    assert "not a text report" in done.stderr.decode()
    assert kite.read_bytes() == before
    assert not (photos / "path-denoised.jpg").exists()  # refused before any work


def test_then_equals_the_two_tasks_in_turn(cli, tmp_path):
    rng = np.random.default_rng(3)
    with Image.open(Path(__file__).parent.parent / "data" / "photos" / "kite.jpg") as im:
        pixels = np.asarray(im, dtype=np.float32) / 255
    pixels = np.clip(pixels + rng.normal(0, 0.02, pixels.shape), 0, 1).astype(np.float32)
    import tifffile

    src = tmp_path / "kite.tif"
    tifffile.imwrite(src, pixels, photometric="rgb")

    chained = cli("denoise", src, "--then", "upscale", "--scale", "2", "-o", tmp_path / "c.tif")
    assert chained.returncode == 0, chained.stderr
    step1 = cli("denoise", src, "-o", tmp_path / "d.tif")
    step2 = cli("upscale", tmp_path / "d.tif", "--scale", "2", "-o", tmp_path / "u.tif")
    assert step1.returncode == step2.returncode == 0

    one_pass = tifffile.imread(tmp_path / "c.tif")
    two_passes = tifffile.imread(tmp_path / "u.tif")
    assert one_pass.dtype == np.float32 and one_pass.shape == (96, 128, 3)
    np.testing.assert_allclose(one_pass, two_passes, atol=1e-6)


def test_stdin_to_stdout(cli):
    data = (Path(__file__).parent.parent / "data" / "photos" / "path.jpg").read_bytes()
    done = cli("denoise", "-", "-o", "-", "-q", stdin=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout[:3] == b"\xff\xd8\xff"
    import io

    with Image.open(io.BytesIO(done.stdout)) as im:
        assert im.size == (64, 48)


def test_dry_run_writes_nothing(cli, photos):
    before = _fingerprint(photos)
    done = cli("upscale", photos, "--dry-run", "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["planned"] == 5 and report["summary"]["done"] == 0
    assert all(f["output"].endswith("-x2.jpg") for f in report["files"])
    assert _fingerprint(photos) == before
    header, row = done.stderr.decode().strip().splitlines()[-2:]
    assert dict(zip(header.split(), row.split(), strict=False))["planned"] == "5"
    assert dict(zip(header.split(), row.split(), strict=False))["done"] == "0"


@pytest.mark.slow  # a subprocess that downloads, converts and runs a 20 M-parameter network
def test_deblur_on_an_empty_cache_downloads_its_weights_from_drive(drive, tmp_path):
    """The issue's "done when": no manual step between a fresh install and MPRNet."""
    import torch
    from safetensors.torch import load_file

    from tests.zoo.weights import official_pth, seeded_state

    state = seeded_state("mprnet_deblurring")  # finite outputs (constant weights overflow)
    body = official_pth(state, "state_dict", prefix=True)
    drive.add("1QwQUVbk6YVOJViCsOKYNykCsdJSVGRtb", "model_deblurring.pth", body)
    drive.confirm.add("1QwQUVbk6YVOJViCsOKYNykCsdJSVGRtb")  # 80 MB: Drive asks to confirm
    home = tmp_path / "home"
    photo = tmp_path / "kite.jpg"
    photo.write_bytes((Path(__file__).parent.parent / "data" / "photos" / "kite.jpg").read_bytes())
    env = {k: v for k, v in _env(home).items() if k not in ("IMGRESTORE_OFFLINE", "HF_HUB_OFFLINE")}

    done = subprocess.run([sys.executable, "-m", "imgrestore", "deblur", str(photo), "--json", "-"],
                          env=env, capture_output=True, timeout=300)

    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    report = json.loads(done.stdout)
    assert report["models"] == ["mprnet_deblurring"] and report["summary"]["done"] == 1
    assert "Academic Public License" in stderr and "built-in" not in stderr
    with Image.open(tmp_path / "kite-deblurred.jpg") as im:
        assert im.size == (64, 48)
    assert len(drive.downloads()) == 2  # the confirmation page, then the file
    cached = home / "models" / "mprnet_deblurring"
    meta = json.loads((cached / "imgrestore.json").read_text())
    assert meta["source"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert meta["source"]["trust"] == "first-use"
    weights = load_file(cached / "model.safetensors")
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[k], v) for k, v in state.items())


def test_missing_weights_exit_3_with_the_fix(cli, photos):
    done = cli("deblur", "--model", "mprnet_deblurring", photos / "kite.jpg")
    assert done.returncode == 3
    message = done.stderr.decode()
    assert "mprnet_deblurring" in message and "imgrestore models import" in message
    assert len(message.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["denoise", "--tile", "big", "x.jpg"], ["denoise"],
                                  ["denoise", "--then", "sharpen", "x.jpg"]])
def test_usage_errors_exit_2(cli, args):
    assert cli(*args).returncode == 2


@pytest.mark.parametrize(("args", "words"), [
    (["enhance", "--style", "night"], "enhance: no style 'night'"),
    (["denoise", "--model", "nosuch"], "nosuch: no such model, file or folder"),
    (["denoise", "--tile", "17"], "--tile 17 is smaller than twice the overlap"),
    (["denoise", "-o", "single.png", "--dry-run"], "-o single.png: names one file"),
    (["denoise", "--model", "hf:" + "a" * 150 + "/" + "b" * 150], "at most 96 characters"),
])
def test_usage_problems_exit_2_in_one_line(cli, photos, args, words):
    done = cli(*args, photos / "kite.jpg", photos / "path.jpg", cwd=photos)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.decode().strip().splitlines()
    assert line.startswith("error: ") and words in line


def test_image_data_never_goes_to_or_comes_from_a_terminal(cli, weights_home):
    import os
    import pty

    photo = Path(__file__).parent.parent / "data" / "photos" / "path.jpg"
    leader, follower = pty.openpty()
    try:
        for stdin, stdout, words in ((photo.open("rb"), follower, "to a terminal"),
                                     (follower, subprocess.PIPE, "stdin is a terminal")):
            done = subprocess.run(
                [sys.executable, "-m", "imgrestore", "denoise", "--model", "builtin", "-"],
                stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=_env(weights_home),
                timeout=300,
            )
            assert done.returncode == 2, done.stderr
            assert words in done.stderr.decode()
    finally:
        os.close(leader)
        os.close(follower)


def test_unknown_backend_exits_2(cli, photos):
    done = cli("denoise", "--backend", "tensorrt", photos / "kite.jpg")
    assert done.returncode == 2
    assert "unknown backend 'tensorrt'" in done.stderr.decode()


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None
                    or platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the default CPU backend is OpenVINO on x86-64 machines with it")
def test_default_cpu_backend_is_openvino_equal_to_torch_and_cached(weights_home, tmp_path):
    source = tmp_path / "odd.png"
    with Image.open(Path(__file__).parent.parent / "data" / "photos" / "kite.jpg") as im:
        im.convert("RGB").crop((0, 0, 61, 45)).save(source)
    env = {k: v for k, v in _env(weights_home).items() if k != "IMGRESTORE_BACKEND"}

    def denoise(out: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "imgrestore", "denoise", "--device", "cpu", str(source),
             "-o", str(tmp_path / out), "--overwrite", *extra],
            env=env, capture_output=True, text=True, timeout=600)

    first = denoise("default.png")
    assert first.returncode == 0, first.stderr
    torch_run = denoise("torch.png", "--backend", "torch")
    assert torch_run.returncode == 0, torch_run.stderr
    again = denoise("again.png")
    assert again.returncode == 0, again.stderr
    assert "converting for OpenVINO" in first.stderr
    assert "OpenVINO" not in again.stderr  # converted and compiled once, kept
    # 45 x 61 with the 8 px margins is 61 x 77, padded to the size multiple: 64 x 80.
    assert list((weights_home / "compiled").glob("openvino-*/*/1x3x64x80-f32-*.blob"))
    default, by_torch = (np.asarray(Image.open(tmp_path / n), dtype=int)
                         for n in ("default.png", "torch.png"))
    assert default.shape == (45, 61, 3)
    assert np.abs(default - by_torch).max() <= 1  # equal to 1e-5 before 8-bit rounding


def test_interrupt_leaves_no_partial_file_and_resumes(cli, weights_home, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    photos = sorted((Path(__file__).parent.parent / "data" / "photos").glob("*.jpg"))
    for i in range(40):
        (folder / f"img{i:02d}.jpg").write_bytes(photos[i % len(photos)].read_bytes())
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgrestore", "denoise", str(folder), "--json",
         str(tmp_path / "report.json")],
        env=_env(weights_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # Ctrl-C must reach it even when this test runs in the background (SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not list(folder.glob("*-denoised.jpg")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr.decode()
    assert not _stray_files(folder)
    finished = sorted(folder.glob("*-denoised.jpg"))
    assert 1 <= len(finished) < 40
    for path in finished:  # every output present is complete
        with Image.open(path) as im:
            im.load()
            assert im.size == (64, 48)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] and report["exit_code"] == 130
    statuses = {Path(f["input"]).name: f["status"] for f in report["files"]}
    assert set(statuses.values()) <= {"done", "interrupted"} and len(statuses) == 40
    assert report["summary"]["interrupted"] == 40 - report["summary"]["done"] > 0

    plan = cli("denoise", folder, "--dry-run", "--json", "-")  # a rerun resumes
    summary = json.loads(plan.stdout)["summary"]
    assert summary["skipped"] == len(finished) and summary["planned"] == 40 - len(finished)


def test_help_does_not_import_torch(weights_home):
    for args in (["--help"], ["denoise", "--help"], ["upscale", "--help"], ["models", "--help"],
                 ["--version"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "imgrestore", *args],
            env=_env(weights_home), capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
        assert "torch" not in imported, args


def test_torchrun_processes_each_file_once(weights_home, photos, tmp_path):
    report_path = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         "-m", "imgrestore", "denoise", str(photos), "--device", "cpu", "--json",
         str(report_path)],
        env=_env(weights_home), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    inputs = [f["input"] for f in report["files"]]
    assert sorted(inputs) == sorted(str(p) for p in photos.glob("*.jpg") if "-" not in p.name)
    assert len(inputs) == len(set(inputs)) == 5
    assert all(f["status"] == "done" for f in report["files"])


def test_dual_pixel_pairs(cli, tmp_path):
    import torch

    from imgrestore import archs
    from imgrestore.archs.sizing import reflect_pad
    from imgrestore.engine.restorer import BORDER_MARGIN
    from imgrestore.imaging import read_image
    from imgrestore.testing import keyseed_

    rng = np.random.default_rng(5)
    views = []
    for side in ("left", "right"):
        pixels = (rng.random((36, 52, 3)) * 65535).astype(np.uint16)
        import imagecodecs

        path = tmp_path / f"{side}.png"
        path.write_bytes(imagecodecs.png_encode(pixels))
        views.append(path)
    done = cli("deblur", "--dual-pixel", *views, "-o", tmp_path / "sharp.png")
    assert done.returncode == 0, done.stderr
    out = read_image(tmp_path / "sharp.png")
    assert out.meta.bit_depth == 16 and out.pixels.shape == (36, 52, 3)

    name = "mirnetv2_defocus_deblurring_dualpixel"
    net = keyseed_(archs.create(name)).eval()
    pair = np.concatenate([read_image(v).pixels for v in views], axis=2)
    with torch.inference_mode():  # the engine's reflected margin on every side, then cut off
        x = reflect_pad(torch.from_numpy(pair).permute(2, 0, 1)[None], *[BORDER_MARGIN] * 4)
        full = archs.restore(net, archs.spec(name), x).clamp(0, 1)[0].permute(1, 2, 0)
        expected = full[BORDER_MARGIN:-BORDER_MARGIN, BORDER_MARGIN:-BORDER_MARGIN]
    np.testing.assert_allclose(out.pixels, expected.numpy(), atol=1.5 / 65535)

    odd = cli("deblur", "--dual-pixel", views[0], "-o", tmp_path / "x.png")
    assert odd.returncode == 2


def test_ray_without_an_address_starts_ray_here_and_keeps_the_inputs() -> None:
    from imgrestore.cli.options import ray_address_optional

    assert ray_address_optional(["denoise", "--ray", "photos/", "-q"]) == [
        "denoise", "--ray=local", "photos/", "-q"]
    assert ray_address_optional(["denoise", "photos/", "--ray"])[-1] == "--ray=local"
    for address in ("auto", "ray://head:10001", "10.0.0.5:6379"):
        assert ray_address_optional(["--ray", address]) == ["--ray", address]
    assert ray_address_optional(["--", "--ray"]) == ["--", "--ray"]


def test_ray_options_need_ray(cli, photos):
    done = cli("denoise", photos, "--ray-workers", "2")
    assert done.returncode == 2 and b"go with --ray" in done.stderr


@pytest.mark.slow
def test_ray_run_reports_like_a_local_run_and_resumes(cli, photos, tmp_path, ray_address):
    """The cluster page of docs/cli.md: run on Ray with a report, then rerun to resume."""
    args = ("denoise", photos, "-o", tmp_path / "out", "--model", "builtin",
            "--json", tmp_path / "report.json", "--ray", ray_address, "--ray-workers", "2")
    first = cli(*args)
    assert first.returncode == 0, first.stderr.decode()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["done"] == 5 and report["device"] == "cpu"
    lines = (tmp_path / "report.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["input"] for line in lines) == sorted(
        str(p) for p in photos.iterdir())
    again = cli(*args)
    assert again.returncode == 0
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["skipped"] == 5
def test_raw_to_linear_dng_and_developed_options(cli, tmp_path):
    import io

    import rawpy
    import tifffile
    from PIL import ImageCms

    from imgrestore.testing import bayer_dng

    shots = tmp_path / "shots"
    shots.mkdir()
    yy, xx = np.mgrid[0:48, 0:64]
    (shots / "shot.dng").write_bytes(bayer_dng(sensor=700 + 2500 * xx / 64 + 300 * (yy % 7),
                                               orientation=6, neutral=(0.5, 1.0, 0.7)))
    Image.new("RGB", (16, 16), (90, 120, 150)).save(shots / "snap.jpg")
    out = tmp_path / "out"
    done = cli("denoise", shots, "-o", out, "-m", "builtin", "-f", "dng", "--raw-wb", "auto")
    assert done.returncode == 0, done.stderr
    stderr = done.stderr.decode()
    assert "restored in linear light, white balanced" in stderr
    assert "DNG output is for camera RAW files: written as JPEG" in stderr
    with rawpy.imread(str(out / "shot-denoised.dng")) as raw:
        developed = raw.postprocess(output_bps=16)
    with rawpy.imread(io.BytesIO((shots / "shot.dng").read_bytes())) as raw:
        original = raw.postprocess(output_bps=16)
    assert developed.shape == original.shape == (64, 48, 3)  # upright, like LibRaw shows it
    assert tifffile.TiffFile(out / "shot-denoised.dng").pages.first.tags[305].value.startswith(
        "imgrestore")
    assert (out / "snap-denoised.jpg").is_file()

    done = cli("denoise", shots / "shot.dng", "-o", tmp_path / "lin.tif", "-m", "builtin",
               "--raw-output", "linear", "--raw-colorspace", "prophoto", "--raw-demosaic", "dcb",
               "--raw-highlights", "blend")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "lin.tif") as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
    assert "ProPhoto RGB linear" in ImageCms.getProfileDescription(profile)
    for bad in (("--raw-wb", "warm"), ("--alpha", "blur"), ("--working-space", "lab")):
        done = cli("denoise", shots / "shot.dng", "-m", "builtin", *bad)
        assert done.returncode == 2 and bad[0] in done.stderr.decode()
    assert cli("denoise", "-m", "builtin").returncode == 2  # no inputs and no --watch


def test_wide_gamut_grey_and_alpha_through_the_cli(cli, tmp_path):

    from imgrestore.imaging import icc

    adobe = icc.space_profile("adobe")
    colour = (200, 70, 40)  # in Adobe RGB; about (226, 61, 34) in sRGB
    Image.new("RGB", (32, 32), colour).save(tmp_path / "flat.png", icc_profile=adobe)
    done = cli("denoise", tmp_path / "flat.png", "-m", "builtin")
    assert done.returncode == 0, done.stderr
    assert "restored in sRGB (converted with the ICC profile)" in done.stderr.decode()
    with Image.open(tmp_path / "flat-denoised.png") as im:
        assert im.info["icc_profile"] == adobe  # written back in the file's own space
        mean = np.asarray(im, dtype=float).mean(axis=(0, 1))
    assert np.abs(mean - colour).max() < 2  # the network's edge ripples average out

    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., :3] = 140
    rgba[4:12, 4:12, 3] = 255  # a hard-edged cut-out
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    done = cli("upscale", tmp_path / "cut.png", "-m", "builtin", "-s", "2")
    assert done.returncode == 0, done.stderr
    assert "alpha restored by the model" in done.stderr.decode()
    done = cli("upscale", tmp_path / "cut.png", "-m", "builtin", "-s", "2", "--alpha", "keep",
               "--suffix", "-kept")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "cut-kept.png") as im:
        alpha = np.asarray(im)[..., 3]
    assert alpha.shape == (32, 32) and set(np.unique(alpha)) == {0, 255}

