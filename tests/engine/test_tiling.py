from __future__ import annotations

import pytest
import torch

from imgrestore.engine.tiling import (
    Span,
    axis_weights,
    is_out_of_memory,
    split_axis,
    tiled_forward,
)
from imgrestore.errors import DeviceError

from .conftest import LocalNet, noisy_image


def _chw(height: int, width: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(noisy_image(height, width, channels, seed)).permute(2, 0, 1)


def _whole(net, image: torch.Tensor, multiple: int = 1) -> torch.Tensor:
    with torch.inference_mode():
        return tiled_forward(net, image, tile=0, multiple=multiple)


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [(1000, 256, 32, 8), (1200, 1024, 32, 8), (100, 64, 16, 4), (37 * 4, 40, 8, 4),
     (4096, 512, 64, 8), (64, 64, 16, 8), (48, 512, 32, 8), (1000, 100, 0, 1)],
)
def test_split_axis_covers_evenly(length: int, tile: int, overlap: int, multiple: int) -> None:
    spans = split_axis(length, tile, overlap, multiple)
    sizes = {s.stop - s.start for s in spans}
    assert len(sizes) == 1, "all tiles have one size: no thin last tile"
    size = sizes.pop()
    assert size <= max(tile, multiple) or len(spans) == 1
    assert spans[0].start == 0 and spans[-1].stop == length
    assert all(s.start % multiple == 0 and size % multiple == 0 for s in spans)
    for a, b in zip(spans, spans[1:], strict=False):
        shared = a.stop - b.start
        assert shared == a.overlap_after == b.overlap_before
        assert shared >= min(overlap, size // 2 // multiple * multiple)
        assert b.start > a.start
    # the fewest tiles: one fewer, at the largest size and the least overlap, falls short
    n = len(spans)
    if n > 1:
        largest = tile // multiple * multiple
        least = min(-(-overlap // multiple), largest // multiple // 2) * multiple
        assert (n - 1) * largest - (n - 2) * least < length


def test_split_axis_one_tile_when_it_fits() -> None:
    assert split_axis(96, 512, 32, 8) == [Span(0, 96, 0, 0)]
    with pytest.raises(ValueError, match="multiple"):
        split_axis(100, 64, 16, 8)


def test_chainner_style_even_split() -> None:
    # 1200 px with 1024 px tiles: two tiles of ~616, not 1024 + a 176 px sliver
    spans = split_axis(1200, 1024, 32, 8)
    assert [(s.start, s.stop) for s in spans] == [(0, 616), (584, 1200)]


def test_axis_weights_shape_and_partition_of_unity() -> None:
    spans = split_axis(400, 128, 32, 4)
    total = torch.zeros(400 * 2)
    for s in spans:
        w = axis_weights(s, scale=2)
        assert w.shape == ((s.stop - s.start) * 2,)
        assert w.min() >= 0 and w.max() <= 1
        total[s.start * 2 : s.stop * 2] += w
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-6, rtol=0)
    # image borders keep full weight: no fading at the image edge
    assert axis_weights(spans[0])[0] == 1 and axis_weights(spans[-1])[-1] == 1
    # the outer quarter of an overlap is dropped, the ramp is smooth (raised cosine)
    inner = axis_weights(spans[1])
    o = spans[1].overlap_before
    assert torch.all(inner[: o // 4] == 0) and inner[o // 4] > 0
    assert torch.all(torch.diff(inner[: o]) >= 0)
    assert torch.diff(inner[: o]).max() < 3.2 / (o / 2)


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "multiple"),
    [
        (64, 64, 32, 16, 1),
        (100, 77, 32, 16, 1),  # not multiples of anything
        (129, 250, 48, 16, 8),  # padded to 8, tiles rounded to 8
        (37, 200, 64, 24, 4),  # one tile high, several wide
        (20, 18, 64, 32, 4),  # smaller than one tile
        (5, 3, 16, 16, 8),  # smaller than the multiple
        (150, 130, 40, 12, 4),  # smallest safe overlap: margin 3 = receptive radius
        (96, 300, (48, 80), 16, 8),  # rectangular tiles
    ],
)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_tiled_equals_whole_for_a_local_network(
    local_net, height, width, tile, overlap, multiple, batch_size
) -> None:
    image = _chw(height, width, seed=height * width)
    whole = _whole(local_net, image, multiple)
    calls = []
    with torch.inference_mode():
        tiled = tiled_forward(
            local_net, image, tile=tile, overlap=overlap, multiple=multiple,
            batch_size=batch_size, progress=lambda d, t: calls.append((d, t)),
        )
    assert tiled.shape == (3, height, width)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)
    assert calls and calls[-1][0] == calls[-1][1] and calls == sorted(calls)
    assert torch.equal(image, _chw(height, width, seed=height * width)), "input unchanged"


def test_whole_image_equals_the_plain_padded_forward(local_net) -> None:
    from imgrestore.archs.sizing import forward_padded

    image = _chw(45, 61)
    with torch.inference_mode():
        expected = forward_padded(local_net, image[None], 8)[0]
        assert torch.equal(tiled_forward(local_net, image, tile=0, multiple=8), expected)


def test_too_small_overlap_is_not_exact(local_net) -> None:
    # the equality above is not vacuous: without overlap the tile edges differ
    image = _chw(96, 96)
    with torch.inference_mode():
        tiled = tiled_forward(local_net, image, tile=32, overlap=0)
    assert (tiled - _whole(local_net, image)).abs().max() > 1e-3


@pytest.mark.parametrize(("height", "width", "tile"), [(40, 50, 24), (33, 17, 64), (64, 96, 32)])
def test_scale_outputs_scale_times_the_size(height, width, tile) -> None:
    net = LocalNet(scale=2).eval()
    image = _chw(height, width)
    with torch.inference_mode():
        whole = tiled_forward(net, image, tile=0, multiple=4, scale=2)
        tiled = tiled_forward(net, image, tile=tile, overlap=16, multiple=4, scale=2)
    assert tiled.shape == whole.shape == (3, 2 * height, 2 * width)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)


def test_other_channel_counts(local_net) -> None:
    net = LocalNet(in_channels=6, out_channels=3).eval()
    image = _chw(70, 90, channels=6)
    with torch.inference_mode():
        tiled = tiled_forward(net, image, tile=32, overlap=16, multiple=4)
        whole = tiled_forward(net, image, tile=0, multiple=4)
    assert tiled.shape == (3, 70, 90)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)


class _OutOfMemoryAbove:
    """Wraps a network; raises an out-of-memory error for tiles larger than ``limit``."""

    def __init__(self, net, limit: int, error: type[Exception] = RuntimeError) -> None:
        self.net, self.limit, self.error = net, limit, error
        self.sizes: list[tuple[int, ...]] = []

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        self.sizes.append(tuple(batch.shape))
        if batch.shape[0] * batch.shape[-1] * batch.shape[-2] > self.limit**2:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(batch)


@pytest.mark.parametrize("error", [RuntimeError, torch.cuda.OutOfMemoryError])
def test_out_of_memory_splits_the_tile_and_keeps_finished_tiles(local_net, error) -> None:
    image = _chw(130, 200)
    fn = _OutOfMemoryAbove(local_net, limit=48, error=error)
    done = []
    with torch.inference_mode():
        tiled = tiled_forward(fn, image, tile=96, overlap=16, multiple=4, batch_size=2,
                              progress=lambda d, t: done.append((d, t)))
    torch.testing.assert_close(tiled, _whole(local_net, image, 4), atol=1e-6, rtol=0)
    assert max(s[-1] for s in fn.sizes) > 48 and fn.sizes[-1][-1] <= 48
    assert done[-1][0] == done[-1][1]
    # after the first split, later tiles go straight to the smaller size
    first_ok = next(i for i, s in enumerate(fn.sizes) if s[0] * s[2] * s[3] <= 48**2)
    assert all(s[0] * s[2] * s[3] <= 48**2 for s in fn.sizes[first_ok:])


def test_out_of_memory_below_the_minimum_is_a_device_error(local_net) -> None:
    fn = _OutOfMemoryAbove(local_net, limit=8)
    with pytest.raises(DeviceError, match="out of memory"):
        tiled_forward(fn, _chw(64, 64), tile=64, overlap=8, multiple=4, min_tile=16)


def test_other_errors_are_not_retried(local_net) -> None:
    def broken(batch: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("Given groups=1, weight of size [8, 3, 3, 3], expected 3 channels")

    with pytest.raises(RuntimeError, match="groups"):
        tiled_forward(broken, _chw(64, 64), tile=32)


def test_is_out_of_memory() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_wrong_output_size_is_reported(local_net) -> None:
    with pytest.raises(ValueError, match="scale 2"):
        tiled_forward(local_net, _chw(32, 32), tile=16, overlap=4, scale=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_real_cuda_out_of_memory_error_splits_the_tile(local_net) -> None:
    net = LocalNet().eval().cuda()

    def fn(batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[-1] > 48:  # ask the CUDA allocator for far more than any GPU has
            torch.empty(2**50, dtype=torch.uint8, device="cuda")
        return net(batch.cuda()).cpu()

    image = _chw(100, 120)
    with torch.inference_mode():
        tiled = tiled_forward(fn, image, tile=96, overlap=16, multiple=4)
    torch.testing.assert_close(tiled, _whole(local_net, image, 4), atol=1e-5, rtol=0)
