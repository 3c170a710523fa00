from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from imgrestore import archs
from imgrestore.engine import devices
from imgrestore.engine.restorer import (
    BORDER_MARGIN,
    Restorer,
    fit_tile,
    forward_bytes_per_pixel,
)
from imgrestore.engine.tiling import split_axis
from imgrestore.errors import UsageError
from imgrestore.testing import keyseed_

from .conftest import LocalNet, narrow_members, noisy_image, smooth_image

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
needs_cpu_bf16 = pytest.mark.skipif(devices.cpu_bf16() is None, reason="no native bf16 CPU")

#: Narrow versions of the three families (same code paths, a fraction of the compute).
SMALL = narrow_members("small", 16)
SMALL_SR = archs.ArchSpec("small_mirnetv2_sr", "mirnetv2", SMALL["mirnetv2"].kwargs, scales=(2, 3))
#: Tiled vs untiled PSNR floors (dB) with keyseeded weights on a smooth image. MPRNet cuts
#: its input into 2 and 4 patches internally, so a tile has patch edges at its own centre
#: where the whole image has them at the image centre: its output depends on the tiling.
MIN_PSNR = {"mprnet": 25.0, "mirnet": 60.0, "mirnetv2": 60.0}


def _net(arch: archs.ArchSpec) -> nn.Module:
    return keyseed_(archs.build(arch.family, **arch.kwargs))


def _local_arch(in_channels: int = 3) -> archs.ArchSpec:
    return archs.ArchSpec("local", "mirnetv2", {}, in_channels=in_channels)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def _seam_ratio(error: np.ndarray, length: int, tile: int, overlap: int, multiple: int,
                band: int = 4, skip_centres: bool = False) -> float:
    """Mean error within ``band`` px of the tile edges, over the mean error elsewhere.

    ``skip_centres`` leaves out the tile and image centres, where MPRNet has seams of its
    own (it cuts its input into halves and quarters), tiled or not. Tiles are planned on
    the image with the Restorer's reflected margin on every side.
    """
    padded = length + 2 * BORDER_MARGIN
    padded += -padded % multiple
    spans = split_axis(padded, tile, overlap, multiple)
    edges = [s.start - BORDER_MARGIN for s in spans[1:]]
    edges += [s.stop - BORDER_MARGIN for s in spans[:-1]]
    near, skip = np.zeros(length, bool), np.zeros(length, bool)
    for e in edges:
        near[max(0, e - band) : e + band] = True
    if skip_centres:
        for c in [(s.start + s.stop) // 2 - BORDER_MARGIN for s in spans] + [
            padded // 2 - BORDER_MARGIN
        ]:
            skip[max(0, c - 2 * band) : c + 2 * band] = True
    edge, rest = error[near & ~skip], error[~near & ~skip]
    assert edge.size and rest.size
    return float(edge.mean() / max(rest.mean(), 1e-7))


@pytest.mark.parametrize("family", sorted(SMALL))
def test_tiled_real_families_are_close_to_untiled_without_seams(family: str) -> None:
    arch = SMALL[family]
    image = smooth_image(160, 184, seed=3)  # with the margins: 3 x 3 tiles
    net = _net(arch)
    whole = Restorer(net, arch, device="cpu", tile=0)(image)
    tiled = Restorer(net, arch, device="cpu", tile=96, overlap=32)(image)
    assert tiled.shape == whole.shape == image.shape and tiled.dtype == np.float32
    assert _psnr(tiled, whole) >= MIN_PSNR[family]
    error = np.abs(tiled - whole).mean(axis=2)
    for axis, length in ((1, 160), (0, 184)):  # rows, then columns
        ratio = _seam_ratio(error.mean(axis=axis), length, 96, 32, arch.multiple_of,
                            skip_centres=family == "mprnet")
        assert ratio < 1.5 or error.max() < 1e-4, f"tile-grid pattern: {ratio:.2f}"


def test_the_seam_measure_sees_hard_tile_edges() -> None:
    # The check above is not vacuous: without overlap, tile edges stand out.
    arch = SMALL["mirnetv2"]
    image = smooth_image(96, 104, seed=3)
    net = _net(arch)
    whole = Restorer(net, arch, device="cpu", tile=0)(image)
    cut = Restorer(net, arch, device="cpu", tile=48, overlap=0)(image)
    error = np.abs(cut - whole).mean(axis=2)
    assert _seam_ratio(error.mean(axis=1), 96, 48, 0, 4) > 1.5


@pytest.mark.parametrize(("height", "width", "scale"), [(37, 23, 2), (40, 44, 3), (9, 70, 2)])
def test_super_resolution_is_exactly_scale_times_the_size(height, width, scale) -> None:
    net = _net(SMALL_SR)
    image = smooth_image(height, width)
    whole = Restorer(net, SMALL_SR, scale=scale, device="cpu", tile=0)(image)
    tiled = Restorer(net, SMALL_SR, scale=scale, device="cpu", tile=48, overlap=16)(image)
    assert whole.shape == tiled.shape == (height * scale, width * scale, 3)
    assert _psnr(tiled, whole) >= MIN_PSNR["mirnetv2"]


def test_super_resolution_runs_on_the_bicubic_upsampled_input() -> None:
    net = _net(SMALL_SR)
    image = smooth_image(20, 28)
    up = torch.nn.functional.interpolate(
        torch.from_numpy(image).permute(2, 0, 1)[None], scale_factor=2, mode="bicubic",
        align_corners=False).clamp(0, 1)
    with torch.inference_mode():
        expected = archs.restore(net, SMALL_SR, up)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    got = Restorer(net, SMALL_SR, scale=2, device="cpu", tile=0, margin=0)(image)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize(("height", "width", "margin"), [(20, 28, 8), (5, 7, 8), (24, 16, 3)])
def test_the_margin_is_reflected_on_every_side_and_cut_off(height, width, margin) -> None:
    from imgrestore.archs.sizing import reflect_pad

    net = _net(SMALL["mirnetv2"])
    image = smooth_image(height, width)
    x = reflect_pad(torch.from_numpy(image).permute(2, 0, 1)[None], *[margin] * 4)
    with torch.inference_mode():
        full = archs.restore(net, SMALL["mirnetv2"], x)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    expected = full[margin : margin + height, margin : margin + width]
    got = Restorer(net, SMALL["mirnetv2"], device="cpu", tile=0, margin=margin)(image)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert Restorer(net, SMALL["mirnetv2"], device="cpu").margin == BORDER_MARGIN > 0


def test_the_margin_removes_a_zero_padding_frame() -> None:
    # A network that darkens whatever its zero padding reaches: with the margin, the
    # photo's outermost pixels come out like the rest.
    class Frame(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ones = torch.ones_like(x[:, :1])
            return x * nn.functional.avg_pool2d(ones, 5, stride=1, padding=2,
                                                count_include_pad=True)

    image = np.full((24, 32, 3), 0.5, np.float32)
    framed = Restorer(Frame(), _local_arch(), device="cpu", tile=0, margin=0)(image)
    clean = Restorer(Frame(), _local_arch(), device="cpu", tile=0)(image)
    assert framed[0, 0, 0] < 0.3 and abs(framed[12, 16, 0] - 0.5) < 1e-6
    np.testing.assert_allclose(clean, image, atol=1e-6)


def test_scale_must_be_offered_by_the_network() -> None:
    with pytest.raises(UsageError, match="scale 4"):
        Restorer(LocalNet(), SMALL_SR, scale=4, device="cpu")
    with pytest.raises(UsageError, match="scale 2"):
        Restorer(LocalNet(), _local_arch(), scale=2, device="cpu")


def test_output_is_clamped_and_the_input_untouched() -> None:
    class Overshoot(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 3 - 1

    image = noisy_image(50, 60)
    original = image.copy()
    out = Restorer(Overshoot(), _local_arch(), device="cpu", tile=32, overlap=8)(image)
    assert out.min() == 0 and out.max() == 1 and out.flags.c_contiguous
    np.testing.assert_array_equal(image, original)


def test_six_channel_input_three_channel_output() -> None:
    arch = _local_arch(in_channels=6)
    restorer = Restorer(LocalNet(6, 3).eval(), arch, device="cpu", tile=32, overlap=16)
    out = restorer(noisy_image(45, 70, channels=6))
    assert out.shape == (45, 70, 3)
    with pytest.raises(ValueError, match="H x W x 6"):
        restorer(noisy_image(45, 70, channels=3))
    with pytest.raises(ValueError, match="float32"):
        restorer(noisy_image(45, 70, channels=6).astype(np.float64))


def test_progress_is_reported_per_tile() -> None:
    calls: list[tuple[int, int]] = []
    restorer = Restorer(LocalNet().eval(), _local_arch(), device="cpu", tile=32, overlap=8)
    restorer(noisy_image(64, 90), progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    # 80 x 108 with the reflected margins (8 px a side): 3 x 5 tiles of 32 px.
    assert calls == [(i, total) for i in range(1, total + 1)] and total == 3 * 5


def test_bad_tile_options_are_usage_errors() -> None:
    for tile in ("big", -1):
        with pytest.raises(UsageError, match="tile"):
            Restorer(LocalNet(), _local_arch(), device="cpu", tile=tile)
    with pytest.raises(UsageError, match="overlap"):
        Restorer(LocalNet(), _local_arch(), device="cpu", overlap=-1)


def test_fit_tile() -> None:
    assert fit_tile(100, 100, 200 * 200, 8) is None  # the whole image fits
    assert fit_tile(1000, 1000, 300 * 300, 8) == (296, 296)
    assert fit_tile(60, 5000, 300 * 300, 8) == (64, 1400)  # thin: short side stays whole
    assert fit_tile(5000, 60, 300 * 300, 4) == (1500, 60)


def test_auto_tile_follows_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "available_ram", lambda: 32 * devices.GIB)
    arch = SMALL["mprnet"]
    per_px = forward_bytes_per_pixel(arch)
    assert per_px == forward_bytes_per_pixel(archs.spec("mprnet_deblurring"))
    assert forward_bytes_per_pixel(archs.spec("mprnet_deraining")) < per_px

    def plan(**options):
        return Restorer(LocalNet(), arch, device="cpu", **options).plan_tile(4000, 6000)

    side = plan()[0]
    assert side % 8 == 0 and side**2 * per_px <= devices.CPU_TILE_BUDGET
    assert (side + 8) ** 2 * per_px > devices.CPU_TILE_BUDGET
    assert plan(max_memory="64M")[0] < side < plan(max_memory="8G")[0]
    # a model that prefers the whole image may use half the RAM, not the CPU tile budget
    small = Restorer(LocalNet(), arch, device="cpu")
    whole = Restorer(LocalNet(), arch, device="cpu", prefers_whole_image=True)
    assert small.plan_tile(1200, 1200) is not None and whole.plan_tile(1200, 1200) is None
    assert plan(tile=0) is None and plan(tile=256) == 256


def test_auto_tile_splits_a_big_image_and_matches_whole(monkeypatch) -> None:
    restorer = Restorer(LocalNet().eval(), _local_arch(), device="cpu", max_memory="16M",
                        bytes_per_pixel=1000.0, overlap=16)
    tile = restorer.plan_tile(300, 260)
    assert tile is not None and max(tile) < 260
    image = noisy_image(300, 260)
    whole = Restorer(LocalNet().eval(), _local_arch(), device="cpu", tile=0)(image)
    np.testing.assert_allclose(restorer(image), whole, atol=1e-6)


class _NonFiniteInLowPrecision(nn.Module):
    """A convolution whose output is NaN whenever it runs in reduced precision."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y if y.dtype == torch.float32 else y * float("nan")


@needs_cpu_bf16
def test_non_finite_low_precision_tiles_are_recomputed_in_fp32() -> None:
    net = _NonFiniteInLowPrecision().eval()
    image = noisy_image(40, 50)
    fp32 = Restorer(net, _local_arch(), device="cpu", precision="fp32", tile=0)(image)
    restorer = Restorer(net, _local_arch(), device="cpu", precision="bf16", tile=32, overlap=8)
    assert restorer.precision == "bf16"
    out = restorer(image)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, fp32, atol=1e-6)


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=needs_cpu_bf16)])
def test_a_tile_still_non_finite_in_fp32_fails_the_image(precision: str) -> None:
    """Weights that overflow give infinities, then NaN: the image fails instead of being
    written black (clamping would make NaN 0 and infinities white or black)."""
    from imgrestore.errors import NonFiniteOutputError

    arch = SMALL["mirnetv2"]
    net = keyseed_(_net(arch)).eval()
    with torch.no_grad():
        net.conv_in.weight.mul_(1e38)
    restorer = Restorer(net, arch, device="cpu", precision=precision, tile=0)
    with pytest.raises(NonFiniteOutputError, match="small_mirnetv2 gave NaN or infinite values "
                                                   "even in fp32; not written"):
        restorer(smooth_image(16, 20))


@needs_cpu_bf16
def test_bf16_on_cpu_is_close_to_fp32() -> None:
    arch = SMALL["mirnetv2"]
    net = _net(arch)
    image = smooth_image(48, 48)
    fp32 = Restorer(net, arch, device="cpu", precision="fp32", tile=0)(image)
    bf16 = Restorer(net, arch, device="cpu", precision="bf16", tile=0)(image)
    assert 25 < _psnr(bf16, fp32) < math.inf


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("family", sorted(SMALL))
def test_cuda_precisions_match_cpu_fp32(family: str, precision: str) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    arch = SMALL[family]
    image = smooth_image(96, 104)
    cpu = Restorer(_net(arch), arch, device="cpu", tile=64)(image)
    gpu = Restorer(_net(arch), arch, device="cuda", precision=precision, tile=64)(image)
    assert np.isfinite(gpu).all()
    assert _psnr(gpu, cpu) > {"fp32": 40.0, "fp16": 25.0, "bf16": 20.0}[precision]


@needs_cuda
def test_cuda_auto_tile_with_a_small_budget() -> None:
    arch = SMALL["mirnetv2"]
    restorer = Restorer(_net(arch), arch, device="cuda", max_memory="64M")
    out = restorer(smooth_image(300, 200))
    assert out.shape == (300, 200, 3) and np.isfinite(out).all()


@pytest.mark.slow
def test_compile_option_gives_the_same_result() -> None:
    pytest.importorskip("torch._dynamo")
    net = LocalNet().eval()
    image = noisy_image(40, 48)
    eager = Restorer(net, _local_arch(), device="cpu", tile=0)(image)
    try:
        compiled = Restorer(net, _local_arch(), device="cpu", tile=0, compile=True)(image)
    except Exception as error:  # no C++ compiler for inductor on this machine
        pytest.skip(f"torch.compile unavailable here: {type(error).__name__}")
    np.testing.assert_allclose(compiled, eager, atol=1e-5)


def test_from_model_takes_the_models_facts_and_the_options() -> None:
    from imgrestore.engine.options import EngineOptions
    from imgrestore.zoo.loading import load_model

    loaded = load_model("builtin_enhance")
    options = EngineOptions.parse(device="cpu", tile="96", tile_overlap=8, max_memory="1G")
    restorer = Restorer.from_model(loaded, options)
    assert (restorer.device.type, restorer.precision) == ("cpu", "fp32")
    assert (restorer.tile, restorer.overlap, restorer.max_memory) == (96, 8, 1024**3)
    assert restorer.prefers_whole_image and restorer.scale == 1
    upscaler = Restorer.from_model(load_model("builtin_upscale_x2"), EngineOptions(device="cpu"))
    image = smooth_image(40, 48)
    assert upscaler(image).shape == (80, 96, 3)


@needs_cuda
def test_from_model_runs_the_familys_half_precision_on_cuda() -> None:
    from imgrestore.engine.options import EngineOptions
    from imgrestore.zoo.loading import load_model

    restorer = Restorer.from_model(load_model("builtin_denoise"), EngineOptions(device="cuda"))
    assert restorer.precision == "fp16"
    assert np.isfinite(restorer(smooth_image(64, 64))).all()
