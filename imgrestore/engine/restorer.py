"""Restore a whole image with a network: device, precision, tile size and the forward.

>>> from imgrestore import archs
>>> restorer = Restorer(archs.create("mirnetv2_real_denoising"),
...                     archs.spec("mirnetv2_real_denoising"), device="auto")
>>> restored = restorer(image)  # float32 H x W x 3 in [0, 1] -> float32 H x W x 3 in [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from imgrestore import archs
from imgrestore.engine import allocator
from imgrestore.engine.backends import choose_backend, make_backend
from imgrestore.engine.devices import (
    DTYPES,
    memory_budget,
    parse_memory,
    select_device,
    select_precision,
)
from imgrestore.engine.openvino import BackendUnavailableError
from imgrestore.engine.tiling import Progress, TileSize, round_to_multiple, tiled_forward
from imgrestore.errors import DeviceError, NonFiniteOutputError, UsageError

if TYPE_CHECKING:
    from torch import nn

#: Peak bytes one fp32 forward needs per input pixel beyond the loaded network, measured
#: on the CPU (peak RSS minus RSS before the forward, 256² to 512² inputs) by
#: ``benchmarks/engine.py --only memory``, rounded up; see docs/performance.md. Keyed by
#: configuration name, then family (all MIRNet / MIRNet-v2 configurations share widths);
#: other widths fall back to the family's largest value.
FORWARD_BYTES_PER_PIXEL: Mapping[str, float] = MappingProxyType(
    {
        "mprnet_deblurring": 9600.0,
        "mprnet_denoising": 8400.0,
        "mprnet_deraining": 4800.0,
        "mirnet": 5000.0,
        "mirnetv2": 5000.0,
    }
)
_FAMILY_DEFAULT: Mapping[str, float] = MappingProxyType(
    {"mprnet": 9600.0, "mirnet": 5000.0, "mirnetv2": 5000.0}
)
#: Backends by device type, fastest first (benchmarks/official.py: OpenVINO takes 0.5-0.65x
#: the time of eager PyTorch at fp32 on the CPU for every family, 0.1-0.2x in bf16).
DECLARED_BACKENDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"cpu": ("openvino", "torch")}
)
#: Tiles per forward at most, when several fit in memory.
MAX_BATCH = 8
#: Smallest tile tried after out-of-memory errors, in pixels.
MIN_TILE = 64


def forward_bytes_per_pixel(arch: archs.ArchSpec) -> float:
    """Estimated peak fp32 forward memory per pixel for ``arch`` (see the table above)."""
    return FORWARD_BYTES_PER_PIXEL.get(
        arch.name, FORWARD_BYTES_PER_PIXEL.get(arch.family, _FAMILY_DEFAULT[arch.family])
    )


def compiled_cache_dir() -> Path:
    """Where compiled networks are kept: ``$IMGRESTORE_HOME/compiled``."""
    from imgrestore.zoo.cache import home

    return home() / "compiled"


def fit_tile(height: int, width: int, max_pixels: float, multiple: int) -> tuple[int, int] | None:
    """The largest tile (h, w), multiples of ``multiple``, with at most ``max_pixels``.

    ``None`` when the whole (padded) image fits. A side that fits whole is kept whole.
    """
    ph = round_to_multiple(height, multiple, up=True)
    pw = round_to_multiple(width, multiple, up=True)
    if ph * pw <= max_pixels:
        return None
    side = round_to_multiple(int(math.sqrt(max_pixels)), multiple)
    if min(ph, pw) <= side:  # a thin image: keep its short side whole
        short = min(ph, pw)
        long = round_to_multiple(int(max_pixels // short), multiple)
        return (short, long) if ph <= pw else (long, short)
    return side, side


#: Families that run faster channels-last on the CPU (benchmarks/layout.py, 2 cores, 256 px:
#: MPRNet 0.85x the NCHW time; MIRNet-v2 1.07x, its compact built-in 1.36x: they stay NCHW).
CPU_CHANNELS_LAST = frozenset({"mprnet"})


def memory_format(family: str, device: torch.device) -> torch.memory_format:
    """Channels-last on GPUs (tensor cores) and for the families it speeds up on CPUs."""
    if device.type != "cpu" or family in CPU_CHANNELS_LAST:
        return torch.channels_last
    return torch.contiguous_format


class Restorer:
    """A network ready to restore images of any size on one device.

    The network is prepared once (eval, device, layout, backend, optional ``torch.compile``);
    each call is independent (no per-image state), so one ``Restorer`` can serve a batch.

    Args:
        net: the network (official forward; MPRNet's list output is handled).
        arch: its configuration (size multiple, channels, scales, pre-upsampling).
        scale: output scale; must be one of ``arch.scales``.
        device: ``auto | cpu | cuda | cuda:N | mps``.
        precision: ``auto | fp32 | fp16 | bf16``; any tile whose output is not finite is
            recomputed by torch in fp32, and one still not finite fails the image.
        tile: ``'auto'`` (largest tile that fits the memory budget), ``0`` (whole image),
            or a tile size in pixels.
        overlap: minimum overlap of neighbouring tiles in pixels.
        max_memory: memory budget in bytes or as text (``'4G'``); see
            :func:`~imgrestore.engine.devices.memory_budget`.
        compile: run the network through ``torch.compile``.
        progress: called with ``(done_tiles, total_tiles)`` after each tile.
        safe_precisions: precisions declared safe for this network (the model card's data);
            ``precision='auto'`` on a GPU picks the fastest of them.
        prefers_whole_image: the model is a global operation (e.g. tone enhancement): on the
            CPU it may use the full RAM budget so the image is tiled only when it must be.
        bytes_per_pixel: override the forward memory estimate used by ``tile='auto'``.
        backend: ``auto | torch | openvino`` (see :mod:`imgrestore.engine.backends`);
            ``auto`` falls back to torch, with one line to ``notify``, when OpenVINO
            cannot convert the network.
        backends: the backends declared for this network on ``device``, fastest first
            (``None``: :data:`DECLARED_BACKENDS`).
        notify: receives one-line notices (a first conversion, a fallback).
        cache_dir: where compiled networks are kept (default ``$IMGRESTORE_HOME/compiled``).
    """

    def __init__(
        self,
        net: nn.Module,
        arch: archs.ArchSpec,
        *,
        scale: int = 1,
        device: str | torch.device = "auto",
        precision: str = "auto",
        tile: str | int = "auto",
        overlap: int = 32,
        max_memory: int | str | None = None,
        compile: bool = False,
        progress: Progress | None = None,
        safe_precisions: Sequence[str] = ("fp32",),
        prefers_whole_image: bool = False,
        bytes_per_pixel: float | None = None,
        backend: str = "auto",
        backends: Sequence[str] | None = None,
        notify: Callable[[str], None] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if scale not in arch.scales:
            allowed = ", ".join(str(s) for s in arch.scales)
            raise UsageError(f"{arch.name}: scale {scale} is not available (use {allowed})")
        if not (tile == "auto" or (isinstance(tile, int) and tile >= 0)):
            raise UsageError(f"tile {tile!r}: use 'auto', 0 (whole image) or a size in pixels")
        if overlap < 0:
            raise UsageError(f"tile overlap {overlap} must not be negative")
        self.arch = arch
        self.scale = scale
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.precision = select_precision(precision, self.device, safe_precisions)
        self.tile = tile
        self.overlap = overlap
        self.max_memory = parse_memory(max_memory)
        self.progress = progress
        self.prefers_whole_image = prefers_whole_image
        self.bytes_per_pixel = bytes_per_pixel or forward_bytes_per_pixel(arch)
        self.memory_format = memory_format(arch.family, self.device)
        self.notify = notify or (lambda message: None)
        self.cache_dir = Path(cache_dir) if cache_dir else compiled_cache_dir()
        allocator.configure()
        declared = DECLARED_BACKENDS.get(self.device.type, ("torch",)) if backends is None \
            else backends
        self.backend = choose_backend(backend, self.device, declared, compile=compile)
        self._auto_backend = backend.strip().lower() == "auto"
        self._torch, self._run = make_backend(
            self.backend, net, arch, self.device, self.memory_format, precision=self.precision,
            compile=compile, cache_dir=self.cache_dir, notify=self.notify,
        )
        self.net = self._torch.net
        if self.backend == "openvino":
            self._guard(self._run.prepare)

    def __call__(self, image: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """Restore ``image`` (float32 H x W x C in [0, 1], C = the network's input channels).

        Returns float32 ``H*scale x W*scale x out_channels``, clamped to [0, 1].
        """
        if image.ndim != 3 or image.shape[2] != self.arch.in_channels:
            raise ValueError(
                f"{self.arch.name} takes H x W x {self.arch.in_channels} images, "
                f"got shape {image.shape}"
            )
        if image.dtype != np.float32:
            raise ValueError(f"expected a float32 image, got {image.dtype}")
        x = torch.from_numpy(image).permute(2, 0, 1)
        if self.arch.pre_upsample:
            x = upsample_bicubic(x, self.scale)
        tile = self.plan_tile(*x.shape[-2:])
        out = tiled_forward(
            self.forward,
            x,
            tile=tile,
            overlap=self.overlap,
            multiple=self.arch.multiple_of,
            batch_size=self._batch_size(tile),
            min_tile=max(MIN_TILE, 4 * self.arch.multiple_of),
            progress=progress or self.progress,
        )
        result = out.clamp_(0, 1).permute(1, 2, 0).contiguous().numpy()
        del out, x
        allocator.release()  # memory is reused within an image, given back between images
        return result

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """The network on a CPU float32 batch of tiles, returned as CPU float32.

        Any tile whose output is not finite is recomputed by torch in fp32 (unless that
        is what gave it); one still not finite fails the image
        (:class:`~imgrestore.errors.NonFiniteOutputError`).
        """
        with torch.inference_mode():
            y = self._guard(self._run, batch)
            bad = ~torch.isfinite(y).flatten(1).all(1)
            if bool(bad.any()) and (self.backend, self.precision) != ("torch", "fp32"):
                y[bad] = self._torch(batch[bad], "fp32")
                bad = ~torch.isfinite(y).flatten(1).all(1)
        if bool(bad.any()):
            raise NonFiniteOutputError(
                f"{self.arch.name} gave NaN or infinite values even in fp32; not written "
                "(the model's weights are unusable for this image)"
            )
        return y

    def _guard(self, fn: Callable, *args: object) -> torch.Tensor:
        """``fn(*args)``; when OpenVINO cannot convert or compile, torch takes over with one
        line (``backend='auto'``) or the run stops with a :class:`DeviceError`."""
        try:
            return fn(*args)
        except BackendUnavailableError as error:
            if not self._auto_backend:
                raise DeviceError(f"{self.arch.name}: backend openvino: {error}") from error
            self.notify(f"{self.arch.name}: OpenVINO failed ({error}); running on PyTorch")
            self.backend = "torch"
            self._run = lambda batch: self._torch(batch, self.precision)
            return self._run(*args[:1]) if args else None

    def plan_tile(self, height: int, width: int) -> TileSize:
        """The tile size for a network input of ``height x width`` (None: whole image)."""
        if self.tile != "auto":
            return self.tile or None
        return fit_tile(height, width, self._max_pixels(), self.arch.multiple_of)

    def _max_pixels(self) -> float:
        budget = memory_budget(self.device, self.max_memory, whole_image=self.prefers_whole_image)
        per_pixel = self.bytes_per_pixel * DTYPES[self.precision].itemsize / 4
        return max(budget / per_pixel, float(MIN_TILE**2))

    def _batch_size(self, tile: TileSize) -> int:
        if tile is None:
            return 1
        th, tw = (tile, tile) if isinstance(tile, int) else tile
        return int(max(1, min(MAX_BATCH, self._max_pixels() // (th * tw))))


def upsample_bicubic(image: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic up-sampling of ``(C, H, W)`` by ``scale`` (the SR networks' input), in [0, 1]."""
    h, w = image.shape[-2:]
    up = F.interpolate(image[None], size=(h * scale, w * scale), mode="bicubic",
                       align_corners=False)
    return up[0].clamp_(0, 1)
