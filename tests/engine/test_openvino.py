"""OpenVINO backend: equal to torch within the stated bound, precision explicit, cache kept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from imgrestore import archs
from imgrestore.engine.devices import cpu_bf16
from imgrestore.engine.openvino import (
    BackendUnavailableError,
    OpenVINOForward,
    cpu_signature,
    model_digest,
    one_line,
    runtime_version,
)
from imgrestore.engine.restorer import Restorer
from imgrestore.errors import DeviceError
from imgrestore.testing import keyseed_

from .conftest import LocalNet, narrow_members, noisy_image, smooth_image

pytestmark = pytest.mark.skipif(runtime_version() is None, reason="openvino is not installed")

#: The bound docs/engine.md states: OpenVINO fp32 equals torch fp32 to this max abs diff.
FP32_BOUND = 1e-5
NARROW = narrow_members("narrow", 8)
LOCAL = archs.ArchSpec("local", "mirnetv2", {})


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-model cache for the module: each network is converted once."""
    return tmp_path_factory.mktemp("compiled")


@pytest.fixture(scope="module")
def nets() -> dict[str, nn.Module]:
    return {family: keyseed_(archs.build(a.family, **a.kwargs)).eval()
            for family, a in NARROW.items()}


def _restore(net: nn.Module, arch: archs.ArchSpec, image: np.ndarray, cache: Path,
             **options) -> tuple[np.ndarray, Restorer]:
    restorer = Restorer(net, arch, device="cpu", cache_dir=cache, **options)
    return restorer(image), restorer


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


@pytest.mark.parametrize("family", sorted(NARROW))
def test_fp32_equals_torch_on_two_tile_shapes_and_odd_sizes(family, nets, cache) -> None:
    image = noisy_image(75, 103)
    for tile in (48, 64):
        expected, _ = _restore(nets[family], NARROW[family], image, cache, backend="torch",
                               precision="fp32", tile=tile, overlap=16)
        got, restorer = _restore(nets[family], NARROW[family], image, cache,
                                 backend="openvino", precision="fp32", tile=tile, overlap=16)
        assert restorer.backend == "openvino"
        assert got.shape == expected.shape == (75, 103, 3)
        assert np.abs(got - expected).max() <= FP32_BOUND


def test_whole_odd_image_is_padded_like_torch(nets, cache) -> None:
    image = smooth_image(37, 50)  # not a multiple of 8: padded, run whole, cropped
    expected, _ = _restore(nets["mprnet"], NARROW["mprnet"], image, cache, backend="torch",
                           precision="fp32", tile=0)
    got, _ = _restore(nets["mprnet"], NARROW["mprnet"], image, cache, backend="openvino",
                      precision="fp32", tile=0)
    assert np.abs(got - expected).max() <= FP32_BOUND


@pytest.mark.skipif(cpu_bf16() is None, reason="this CPU has no native bf16")
def test_precision_is_set_explicitly(nets, cache) -> None:
    """On a bf16 CPU OpenVINO would choose bf16 by itself: fp32 must stay fp32, bf16 be bf16."""
    net, arch, image = nets["mirnetv2"], NARROW["mirnetv2"], smooth_image(48, 64)
    fp32, _ = _restore(net, arch, image, cache, backend="torch", precision="fp32", tile=0)
    ov32, _ = _restore(net, arch, image, cache, backend="openvino", precision="fp32", tile=0)
    ov16, _ = _restore(net, arch, image, cache, backend="openvino", precision="bf16", tile=0)
    assert np.abs(ov32 - fp32).max() <= FP32_BOUND
    assert np.abs(ov16 - fp32).max() > 10 * FP32_BOUND  # really ran in bf16
    assert _psnr(ov16, fp32) > 30


class _ResidualChain(nn.Module):
    """A chain of residual blocks like MPRNet's: small updates added to a feature stream,
    which bf16's 8-bit mantissa rounds away unless the additions stay in fp32."""

    def __init__(self, depth: int = 12, width: int = 8) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.inner = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))
        self.outer = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))
        self.tail = nn.Conv2d(width, 3, 3, padding=1)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for conv in self.modules():
                if isinstance(conv, nn.Conv2d):
                    std = 0.3 / math.sqrt(conv.in_channels * 9)
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
                    conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        for inner, outer in zip(self.inner, self.outer, strict=True):
            features = features + outer(torch.relu(inner(features)))
        return self.tail(features) + x


@pytest.mark.skipif(cpu_bf16() is None, reason="this CPU has no native bf16")
def test_additions_kept_in_fp32_make_bf16_closer_to_fp32(tmp_path) -> None:
    net = _ResidualChain().eval()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        exact = net(x).numpy()
    plain = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="bf16",
                            cache_dir=tmp_path)
    kept = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="bf16",
                           cache_dir=tmp_path, fp32_ops=("Add",))
    plain_psnr, kept_psnr = _psnr(plain(x).numpy(), exact), _psnr(kept(x).numpy(), exact)
    assert plain_psnr < 75  # really bf16 (measured 70.9 dB)
    assert kept_psnr > plain_psnr + 3  # measured +5.5 dB
    shape = tuple(x.shape)
    assert "-bf16+f32Add-" in kept.blob_path(shape).name
    assert kept.blob_path(shape) != plain.blob_path(shape)
    assert kept.blob_path(shape).is_file()
    again = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="bf16",
                            cache_dir=tmp_path, fp32_ops=("Add",))
    torch.testing.assert_close(again(x), kept(x), rtol=0, atol=0)  # from the cached blob
    assert again._marked is None  # the blob was imported: nothing marked or compiled again


@pytest.mark.parametrize("family, kept", [("mprnet", ("Add",)), ("mirnetv2", ())])
def test_fp32_ops_follow_the_family_descriptor(family, kept, nets, cache) -> None:
    assert NARROW[family].descriptor.on("cpu").fp32_additions == bool(kept)
    precisions = ("fp32", "bf16") if cpu_bf16() else ("fp32",)
    for precision in precisions:
        restorer = Restorer(nets[family], NARROW[family], device="cpu", cache_dir=cache,
                            backend="openvino", precision=precision)
        assert restorer._run.fp32_ops == (kept if precision == "bf16" else ())


def test_notices_name_the_model_not_its_configuration(tmp_path) -> None:
    notes: list[str] = []
    Restorer(LocalNet().eval(), LOCAL, device="cpu", cache_dir=tmp_path, backend="openvino",
             name="builtin_derain", notify=notes.append)
    assert len(notes) == 1 and notes[0].startswith("builtin_derain: converting for OpenVINO")


def test_compiled_shapes_are_kept_and_reused(cache) -> None:
    net = LocalNet().eval()
    notes: list[str] = []
    first = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="fp32",
                            cache_dir=cache, notify=notes.append)
    x = torch.rand(2, 3, 24, 40)
    y = first(x)
    blob = first.blob_path((1, 3, 24, 40))
    assert blob.name == f"1x3x24x40-f32-{cpu_signature()}.blob"
    assert blob.parent.parent.name == f"openvino-{runtime_version()}"
    assert blob.is_file() and (blob.parent / "model.xml").is_file()
    assert len(notes) == 1 and "converting" in notes[0]
    xml_written = (blob.parent / "model.xml").stat().st_mtime_ns

    again = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="fp32",
                            cache_dir=cache, notify=notes.append)
    torch.testing.assert_close(again(x), y, rtol=0, atol=0)
    assert len(notes) == 1  # nothing converted again
    assert (blob.parent / "model.xml").stat().st_mtime_ns == xml_written
    with torch.no_grad():
        torch.testing.assert_close(y, net(x), rtol=0, atol=FP32_BOUND)


def test_cache_is_keyed_by_weights_and_precision(cache) -> None:
    net, other = LocalNet().eval(), LocalNet().eval()
    with torch.no_grad():
        other.body[0].weight[0, 0, 0, 0] += 0.5
    assert model_digest(net) != model_digest(other)
    same = LocalNet().eval().to(memory_format=torch.channels_last)
    assert model_digest(net) == model_digest(same)
    a = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="fp32",
                        cache_dir=cache)
    b = OpenVINOForward(other, in_channels=3, returns_stages=False, precision="fp32",
                        cache_dir=cache)
    c = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="bf16",
                        cache_dir=cache)
    shape = (1, 3, 16, 16)
    assert len({a.blob_path(shape), b.blob_path(shape), c.blob_path(shape)}) == 3
    assert a.blob_path(shape).parent == c.blob_path(shape).parent


def test_damaged_blob_is_compiled_again(tmp_path) -> None:
    net = LocalNet().eval()
    forward = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="fp32",
                              cache_dir=tmp_path)
    x = torch.rand(1, 3, 16, 24)
    expected = forward(x)
    blob = forward.blob_path(tuple(x.shape))
    blob.write_bytes(b"not a compiled model")
    fresh = OpenVINOForward(net, in_channels=3, returns_stages=False, precision="fp32",
                            cache_dir=tmp_path)
    torch.testing.assert_close(fresh(x), expected, rtol=0, atol=0)
    assert blob.stat().st_size > 1000


def test_least_recently_used_shapes_are_removed(tmp_path) -> None:
    forward = OpenVINOForward(LocalNet().eval(), in_channels=3, returns_stages=False,
                              precision="fp32", cache_dir=tmp_path, keep_shapes=2)
    for side in (8, 12, 16):
        forward(torch.rand(1, 3, side, side))
    kept = sorted(p.name.split("-")[0] for p in forward.folder.glob("*.blob"))
    assert kept == ["1x3x12x12", "1x3x16x16"]


class _Unconvertible(nn.Module):
    """A network with an operation OpenVINO has no conversion for."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.special.i0e(self.conv(x)) + x


def test_auto_falls_back_to_torch_with_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("IMGRESTORE_BACKEND", raising=False)
    import logging

    net, image, notes = _Unconvertible().eval(), smooth_image(20, 28), []
    level = logging.root.level
    got, restorer = _restore(net, LOCAL, image, tmp_path, notify=notes.append, tile=0)
    assert logging.root.level == level  # OpenVINO's failed conversion sets it to ERROR
    expected, _ = _restore(net, LOCAL, image, tmp_path, backend="torch", tile=0)
    assert restorer.backend == "torch"
    np.testing.assert_array_equal(got, expected)
    failures = [n for n in notes if "failed" in n]
    assert len(failures) == 1 and "\n" not in failures[0]
    assert "aten::special_i0e" in failures[0] and "PyTorch" in failures[0]


def test_explicit_openvino_that_cannot_convert_is_a_device_error(tmp_path) -> None:
    with pytest.raises(DeviceError, match="special_i0e"):
        Restorer(_Unconvertible().eval(), LOCAL, device="cpu", backend="openvino",
                 cache_dir=tmp_path)


def test_one_line_keeps_the_informative_line() -> None:
    error = RuntimeError("Check 'false' failed at src/x.cpp:151:\nFrontEnd API failed\n"
                         "Summary:\n-- No conversion rule found for operations: aten::foo\n")
    assert one_line(error) == "No conversion rule found for operations: aten::foo"
    assert one_line(RuntimeError("")) == "RuntimeError"


def test_missing_precision_is_refused() -> None:
    with pytest.raises(BackendUnavailableError, match="fp16"):
        OpenVINOForward(LocalNet(), in_channels=3, returns_stages=False, precision="fp16",
                        cache_dir=Path("unused"))


class _FragileInBf16(nn.Module):
    """Finite in fp32; infinite where the input is rounded to bf16 (0.5 + 2**-10 -> 0.5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3)[:, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1e-4 / (self.conv(x) - 0.5)


@pytest.mark.skipif(cpu_bf16() is None, reason="this CPU has no native bf16")
def test_non_finite_bf16_tiles_are_redone_in_fp32(tmp_path) -> None:
    image = np.full((16, 24, 3), 0.5 + 2**-10, np.float32)
    image[:8] = 0.75  # the top tiles stay finite in bf16
    restorer = Restorer(_FragileInBf16().eval(), LOCAL, device="cpu", backend="openvino",
                        precision="bf16", tile=8, overlap=0, cache_dir=tmp_path)
    raw = restorer._run(torch.from_numpy(image).permute(2, 0, 1)[None])
    assert not torch.isfinite(raw).all()  # OpenVINO in bf16 really overflows here
    expected, _ = _restore(_FragileInBf16().eval(), LOCAL, image, tmp_path, backend="torch",
                           precision="fp32", tile=8, overlap=0)
    np.testing.assert_allclose(restorer(image), expected, atol=1e-5)
