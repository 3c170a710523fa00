"""Restore a whole image with a network: device, precision, backend, tile size, the forward.

>>> from imgrestore import archs
>>> restorer = Restorer(archs.create("mirnetv2_real_denoising"),
...                     archs.spec("mirnetv2_real_denoising"), device="auto")
>>> restored = restorer(image)  # float32 H x W x 3 in [0, 1] -> float32 H x W x 3 in [0, 1]
>>> restorer = Restorer.from_model(load_model("denoise"), EngineOptions.parse(tile="512"))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from imgrestore import archs
from imgrestore.archs.descriptor import FamilyDescriptor
from imgrestore.engine import allocator
from imgrestore.engine.backends import choose_backend, make_backend
from imgrestore.engine.devices import DTYPES, memory_budget, select_device, select_precision
from imgrestore.engine.openvino import BackendUnavailableError
from imgrestore.engine.options import EngineOptions
from imgrestore.engine.tiling import Progress, TileSize, round_to_multiple, tiled_forward
from imgrestore.errors import DeviceError, NonFiniteOutputError, UsageError
from imgrestore.ops.resize import upsample_bicubic

if TYPE_CHECKING:
    from torch import nn

Notify = Callable[[str], None]


class RestorableModel(Protocol):
    """What :meth:`Restorer.from_model` needs of a model (a
    :class:`~imgrestore.zoo.loading.LoadedModel`)."""

    net: nn.Module
    spec: archs.ArchSpec
    scale: int
    prefers_whole_image: bool

    @property
    def name(self) -> str: ...

    def safe_precisions(self, device_type: str) -> Sequence[str]: ...


#: Tiles per forward at most, when several fit in memory.
MAX_BATCH = 8
#: Smallest tile tried after out-of-memory errors, in pixels.
MIN_TILE = 64
#: Reflected pixels added on every side of the image before the network runs (and cut
#: off after), so the networks' zero padding never touches the photo. Without it the
#: compact built-in models leave a frame one or two pixels wide (the low-light model:
#: three times the interior error on the outermost pixels); 2 px already removes it.
BORDER_MARGIN = 8


def forward_bytes_per_pixel(arch: archs.ArchSpec) -> float:
    """Estimated peak fp32 forward memory per pixel for ``arch``: its configuration's
    measured value, else its family's largest (the family descriptor's data, measured by
    ``benchmarks/engine.py --only memory``; see docs/performance.md)."""
    return arch.bytes_per_pixel


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


def memory_format(family: FamilyDescriptor, device: torch.device) -> torch.memory_format:
    """The layout ``family`` prefers on ``device``'s type (channels-last on GPUs, for
    tensor cores; on CPUs only for the families it speeds up, see benchmarks/layout.py)."""
    if family.on(device.type).layout == "channels_last":
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
        safe_precisions: precisions safe for this network on ``device`` (its family's
            declaration, see :meth:`imgrestore.zoo.loading.LoadedModel.safe_precisions`);
            ``precision='auto'`` on a GPU picks the fastest of them.
        prefers_whole_image: the model is a global operation (e.g. tone enhancement): on the
            CPU it may use the full RAM budget so the image is tiled only when it must be.
        bytes_per_pixel: override the forward memory estimate used by ``tile='auto'``.
        margin: reflected pixels added on every side of the image (0: the official demos'
            padding only, to the size multiple at the bottom and right).
        backend: ``auto | torch | openvino`` (see :mod:`imgrestore.engine.backends`);
            ``auto`` falls back to torch, with one line to ``notify``, when OpenVINO
            cannot convert the network.
        backends: the backends declared for this network on ``device``, fastest first
            (``None``: its family descriptor's, ``DeviceHints.backends``).
        notify: receives one-line notices (a first conversion, a fallback).
        cache_dir: where compiled networks are kept (default ``$IMGRESTORE_HOME/compiled``).
        name: the model's name in notices (default: its configuration, ``arch.name``).
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
        margin: int = BORDER_MARGIN,
        backend: str = "auto",
        backends: Sequence[str] | None = None,
        notify: Notify | None = None,
        cache_dir: str | Path | None = None,
        name: str | None = None,
    ) -> None:
        if scale not in arch.scales:
            allowed = ", ".join(str(s) for s in arch.scales)
            raise UsageError(f"{arch.name}: scale {scale} is not available (use {allowed})")
        options = EngineOptions.parse(
            device=str(device), precision=precision, tile=tile, tile_overlap=overlap,
            max_memory=max_memory, compile=compile, backend=backend,
        )
        self.arch = arch
        self.scale = scale
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.precision = select_precision(options.precision, self.device, safe_precisions)
        self.tile = options.tile
        self.overlap = options.tile_overlap
        if margin < 0:
            raise UsageError(f"margin {margin} must not be negative")
        self.margin = margin
        self.max_memory = options.max_memory
        self.progress = progress
        self.prefers_whole_image = prefers_whole_image
        self.bytes_per_pixel = bytes_per_pixel or forward_bytes_per_pixel(arch)
        self.memory_format = memory_format(arch.descriptor, self.device)
        self.notify = notify or (lambda message: None)
        self.cache_dir = Path(cache_dir) if cache_dir else compiled_cache_dir()
        allocator.configure()
        hints = arch.descriptor.on(self.device.type)
        self.backend = choose_backend(options.backend, self.device,
                                      hints.backends if backends is None else backends,
                                      compile=compile)
        self._auto_backend = options.backend == "auto"
        self._torch, self._run = make_backend(
            self.backend, net, arch, self.device, self.memory_format, precision=self.precision,
            compile=compile, cache_dir=self.cache_dir, notify=self.notify, label=name,
        )
        self.net = self._torch.net
        if self.backend == "openvino":
            self._guard(self._run.prepare)

    @classmethod
    def from_model(
        cls, model: RestorableModel, options: EngineOptions, *,
        progress: Progress | None = None, notify: Notify | None = None,
    ) -> Restorer:
        """A restorer for ``model`` (a loaded model: its network, configuration, scale and
        whether it prefers the whole image) run as ``options`` say. ``precision='auto'``
        picks from the precisions safe for the model on the chosen device."""
        device = select_device(options.device)
        return cls(
            model.net, model.spec, scale=model.scale, device=device,
            precision=options.precision, tile=options.tile, overlap=options.tile_overlap,
            max_memory=options.max_memory, compile=options.compile, progress=progress,
            safe_precisions=model.safe_precisions(device.type),
            prefers_whole_image=model.prefers_whole_image, backend=options.backend,
            notify=notify, name=model.name,
        )

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
        tile = self.plan_tile(*(side + 2 * self.margin for side in x.shape[-2:]))
        out = tiled_forward(
            self.forward,
            x,
            tile=tile,
            overlap=self.overlap,
            multiple=self.arch.multiple_of,
            batch_size=self._batch_size(tile),
            min_tile=max(MIN_TILE, 4 * self.arch.multiple_of),
            margin=self.margin,
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

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
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
            return self._run(*args) if args else None

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
