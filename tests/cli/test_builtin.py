"""No network, empty cache: every task command still restores a photo, with its built-in model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import _env

TASKS = [
    (["denoise"], "builtin_denoise", "-denoised", 1),
    (["deblur"], "builtin_deblur", "-deblurred", 1),
    (["derain"], "builtin_derain", "-derained", 1),
    (["enhance"], "builtin_enhance", "-enhanced", 1),
    (["upscale", "--scale", "2"], "builtin_upscale_x2", "-x2", 2),
    (["upscale", "--scale", "4"], "builtin_upscale_x4", "-x4", 4),
]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgrestore", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("args", "model", "suffix", "scale"), TASKS,
                         ids=[t[1] for t in TASKS])
def test_each_task_falls_back_to_its_builtin_without_network(
    tmp_path: Path, args: list[str], model: str, suffix: str, scale: int
) -> None:
    from imgrestore.imaging import read_image

    env = _env(tmp_path / "empty-home")
    # Not offline mode: a network that refuses every connection (downloads go through a
    # proxy on a closed local port), as on a machine without internet.
    del env["IMGRESTORE_OFFLINE"], env["HF_HUB_OFFLINE"]
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               NO_PROXY="", no_proxy="")
    photo = Path(__file__).parent.parent / "data" / "photos" / "kite.jpg"
    out = tmp_path / f"kite{suffix}.jpg"
    done = _run([*args, str(photo), "-o", str(out), "--json", "-"], env)
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stderr.splitlines() if "built-in model" in line]
    assert len(notices) == 1, done.stderr
    assert notices[0].startswith(f"{args[0]}: using built-in model {model} "
                                 "(compact, lower quality): official weights unavailable")
    assert "imgrestore models " in notices[0]  # how to get the full model
    restored, original = read_image(out), read_image(photo)
    assert restored.pixels.shape == (original.pixels.shape[0] * scale,
                                     original.pixels.shape[1] * scale, 3)
    assert not (tmp_path / "empty-home" / "models").exists() or not any(
        (tmp_path / "empty-home" / "models").iterdir())


def test_model_builtin_is_used_even_when_offline(tmp_path: Path) -> None:
    photo = Path(__file__).parent.parent / "data" / "photos" / "eveningglow.jpg"
    done = _run(["denoise", "--model", "builtin", str(photo), "-o", str(tmp_path / "a.png"),
                 "--json", "-"], _env(tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    # nothing to warn about: asked for, and our own licence
    assert "built-in model" not in done.stderr and "licence" not in done.stderr
    assert '"model": "builtin_denoise"' in done.stdout


#: The committed fixtures: held-out photo crops (never trained on).
FIXTURE = Path(__file__).parent.parent / "data" / "builtin" / "eveningglow.png"
BOATS = FIXTURE.with_name("eveningglow-boats.png")
#: task, scale -> (degradation, the least PSNR gain in dB over the degraded input).
#: Gains measured when the models shipped: denoise 5.5, deblur 0.40, derain 6.6,
#: enhance 6.2, x2 1.23, x4 0.48: deblur (two hours of CPU training) barely helps.
CASES = {
    ("denoise", 1): ({"kind": "gaussian_noise", "sigma": 25}, 4.0),
    ("deblur", 1): ({"kind": "motion_blur", "kernel": "line", "size": 7, "angle": 30}, 0.2),
    ("derain", 1): ({"kind": "rain", "density": 0.006, "intensity": 0.7}, 3.0),
    ("enhance", 1): ({"kind": "low_light", "exposure": 0.15, "gamma": 1.2}, 3.0),
    ("upscale", 2): ({"kind": "bicubic", "scale": 2, "reupsample": False,
                      "quantize": True}, 0.8),
    ("upscale", 4): ({"kind": "bicubic", "scale": 4, "reupsample": False,
                      "quantize": True}, 0.3),
}


#: benchmarks/builtin.py's low light (exposure 0.1: the dark frame and the grey colours
#: showed there).
LOW_LIGHT = {"kind": "low_light", "exposure": 0.1, "gamma": 1.2, "peak": 1000.0, "read": 1.0}


def _builtin_restorer(task: str, scale: int):
    from imgrestore.engine import EngineOptions, Restorer
    from imgrestore.zoo.loading import load_model

    loaded = load_model("builtin", task=task, scale=scale if task == "upscale" else None)
    restorer = Restorer.from_model(loaded, EngineOptions(device="cpu"))
    assert restorer.scale == scale
    return restorer


def _degraded_fixture(spec: dict, fixture: Path = FIXTURE) -> tuple[np.ndarray, np.ndarray]:
    from imgrestore.imaging import read_image
    from imgrestore.ops.degrade import degrade

    clean = read_image(fixture).pixels
    return clean, np.ascontiguousarray(degrade(spec, clean, np.random.default_rng(0)),
                                       dtype=np.float32)


def test_builtin_improves_a_degraded_real_photo() -> None:
    """The fixture, degraded with each task's training degradation (seeded): each
    built-in model must beat the degraded input."""
    from imgrestore.ops.metrics import psnr

    gains, wanted = {}, {}
    for (task, scale), (spec, least) in CASES.items():
        clean, degraded = _degraded_fixture(spec)
        restored = _builtin_restorer(task, scale)(degraded)
        baseline = degraded
        if scale > 1:  # the degraded input, bicubic-upsampled back to size
            from imgrestore.evaluation.runner import identity

            baseline = identity(degraded, scale)
        gains[task, scale] = psnr(restored, clean) - psnr(np.clip(baseline, 0, 1), clean)
        wanted[task, scale] = least
    assert all(gains[k] >= wanted[k] for k in CASES), gains


def test_no_builtin_leaves_a_frame_at_the_image_border() -> None:
    """The centre of a 160 px held-out crop, restored as an image of its own, must be about
    as good on its outermost 4 pixels, relative to its interior, as the same pixels
    restored inside the whole crop (issue 18: the low-light model left a dark frame, 1.27
    on this measure before the engine's reflected margin, 0.99 with it)."""
    from imgrestore.ops.metrics import border_ratio

    context = 16  # output pixels of real neighbours around the centre in the whole run
    ratios = {}
    for (task, scale), (spec, _) in CASES.items():
        if task == "enhance":
            spec = LOW_LIGHT
        clean, degraded = _degraded_fixture(spec, BOATS)
        restorer = _builtin_restorer(task, scale)
        c = context // scale
        alone = restorer(np.ascontiguousarray(degraded[c:-c, c:-c]))
        inside = restorer(degraded)[context:-context, context:-context]
        ratios[task, scale] = border_ratio(alone, inside,
                                           clean[context:-context, context:-context])
    assert all(r <= 1.2 for r in ratios.values()), ratios


def test_a_failed_download_is_not_retried_per_photo(tmp_path: Path) -> None:
    """A shell loop on a machine without network: the first run tries the download and
    falls back; the next runs fall back at once (for cache.RETRY_AFTER), saying why; an
    explicit ``models download`` always tries."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []

    def refuse() -> None:  # a proxy that hangs up on everyone, counting them
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            connections.append(1)
            client.close()

    threading.Thread(target=refuse, daemon=True).start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    env = _env(tmp_path / "home")
    del env["IMGRESTORE_OFFLINE"], env["HF_HUB_OFFLINE"]
    env.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy,
               NO_PROXY="", no_proxy="")
    photo = Path(__file__).parent.parent / "data" / "photos" / "eveningglow.jpg"
    try:
        first = _run(["denoise", str(photo), "-o", str(tmp_path / "1.png")], env)
        assert first.returncode == 0, first.stderr
        tried = len(connections)
        assert tried >= 1
        second = _run(["denoise", "-v", str(photo), "-o", str(tmp_path / "2.png")], env)
        assert second.returncode == 0, second.stderr
        assert len(connections) == tried  # not tried again
        lines = second.stderr.splitlines()
        notice = [line for line in lines if "using built-in model" in line]
        assert len(notice) == 1 and "imgrestore models download" in notice[0], second.stderr
        details = lines[lines.index(notice[0]) + 1:]  # -v: when it failed and why
        assert any("the download failed" in line and "s ago" in line and "not retried" in line
                   for line in details), second.stderr
        forced = _run(["models", "download", "denoise"], env)
        assert forced.returncode != 0 and len(connections) > tried
    finally:
        server.close()


@pytest.mark.xfail(strict=True, reason=(
    "issue 18's goal is met on the held-out photos, not here: on all six builtin_enhance "
    "keeps 93 % of the saturation (benchmarks/builtin.py), on these sunset crops 0.67 "
    "and 0.69"))
@pytest.mark.parametrize("fixture", [FIXTURE, BOATS], ids=["eveningglow", "boats"])
def test_builtin_enhance_keeps_the_colour_saturation(fixture: Path) -> None:
    """Issue 18: the low-light model washed colours out (boats turned grey-brown: mean
    saturation 0.70 and 0.65 of the clean crops'); it must stay within 10 %. Strict: once
    a model meets it, the mark must go."""
    from imgrestore.ops.metrics import mean_saturation

    clean, degraded = _degraded_fixture(LOW_LIGHT, fixture)
    restored = np.clip(_builtin_restorer("enhance", 1)(degraded), 0, 1)
    ratio = mean_saturation(restored) / mean_saturation(clean)
    assert 0.9 <= ratio <= 1.1, ratio
