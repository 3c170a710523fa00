"""One image through the networks: working space in and out, strength, alpha.

Every road that restores a file (the batch, the watch loop, other runners) calls
:func:`restore_image` with the networks as one function, so each gets the same
per-file behaviour:

- the **working space** (``--working-space``): a photo with an ICC profile is
  converted to sRGB for the network and back (see :mod:`imgrestore.imaging.colour`);
  a RAW developed linear stays in linear light; camera RGB developed for a DNG is
  white balanced for the network (gains at most 1, so nothing clips) and unbalanced after;
- ``--strength``: a blend with the input, in the working space;
- the **alpha plane** (``--alpha``): ``model`` runs it through the same networks as a
  grey image (the default when the image is upscaled), ``resize`` uses Lanczos,
  ``keep`` keeps its values (repeated pixels when upscaled; the default otherwise).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imgrestore.errors import UsageError
from imgrestore.imaging import colour
from imgrestore.imaging.pixels import gray_to_rgb, resize_alpha, resize_planes

if TYPE_CHECKING:
    from imgrestore.imaging.raw import RawOptions
    from imgrestore.imaging.types import ImageMeta, LoadedImage

#: ``--alpha`` values.
ALPHA_MODES = ("model", "resize", "keep")
Network = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ImageOptions:
    """Per-image choices of a request (the CLI's ``--working-space`` and ``--alpha``)."""

    working_space: str = "srgb"
    #: ``model``, ``resize`` or ``keep``; None = ``model`` when upscaling, else ``keep``.
    alpha: str | None = None

    def __post_init__(self) -> None:
        if self.working_space not in colour.WORKING_SPACES:
            raise UsageError(f"--working-space {self.working_space}: use srgb or native")
        if self.alpha is not None and self.alpha not in ALPHA_MODES:
            raise UsageError(f"--alpha {self.alpha}: use model, resize or keep")

    def alpha_mode(self, scale: int) -> str:
        return self.alpha or ("model" if scale > 1 else "keep")


@dataclass
class Restored:
    """A restored image on its way to the writer, with what the input could not keep (and
    how it was restored): the notes for the file's line."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta
    notes: tuple[str, ...]


def raw_options_for(raw: RawOptions | None, output_format: str | None) -> RawOptions | None:
    """The RAW development a job needs: for DNG output, the camera-RGB development."""
    if output_format != "DNG":
        return raw
    from imgrestore.imaging.raw import RawOptions

    return dataclasses.replace(raw or RawOptions(), dng=True)


def enter_working_space(image: LoadedImage, space: str) -> tuple[colour.InWorkingSpace, str | None]:
    """The pixels the network gets, and a note saying how they were prepared (or None)."""
    meta = image.meta
    if image.pixels.shape[2] != 3:  # dual-pixel views: six channels, no profile to apply
        return colour.InWorkingSpace(image.pixels, None), None
    if meta.camera is not None:
        if space == "native" or meta.camera.space != "camera":
            return colour.InWorkingSpace(image.pixels, None), "restored in linear light"
        gains = np.asarray(meta.camera.white_balance, dtype=np.float32)
        gains /= gains.max()
        balance = colour.Conversion(lambda p: p * gains, lambda p: p / gains,
                                    "restored in linear light, white balanced")  # fmt: skip
        inside = colour.InWorkingSpace(balance.forward(image.pixels), balance)
        return inside, balance.note
    if meta.linear:
        return colour.InWorkingSpace(image.pixels, None), "restored in linear light"
    inside = colour.enter(image.pixels, meta.icc_profile, space)
    return inside, None if inside.conversion is None else inside.conversion.note


def restore_image(
    image: LoadedImage,
    network: Network,
    options: ImageOptions,
    *,
    scale: int,
    in_channels: int = 3,
    strength: float = 1.0,
) -> Restored:
    """Restore ``image`` with ``network`` (H x W x C float32 -> H*scale x W*scale x 3).

    ``in_channels`` is what the network takes (6 for dual-pixel views; the alpha plane
    is repeated to fill them).
    """
    inside, note = enter_working_space(image, options.working_space)
    restored = network(inside.pixels)
    if strength < 1.0:
        from imgrestore.ops.resize import resize_bicubic  # torch: only when blending

        base = resize_bicubic(np.ascontiguousarray(inside.pixels[:, :, :3]), restored.shape[:2])
        restored = np.clip(strength * restored + (1 - strength) * base, 0.0, 1.0)
    pixels = inside.leave(restored.astype(np.float32, copy=False), resize_planes)
    alpha, alpha_note = _restore_alpha(image.alpha, network, options.alpha_mode(scale),
                                       pixels.shape[:2], in_channels, strength)  # fmt: skip
    notes = image.meta.notes + tuple(n for n in (note, alpha_note) if n)
    return Restored(pixels.astype(np.float32, copy=False), alpha, image.meta, notes)


def _restore_alpha(
    alpha: np.ndarray | None,
    network: Network,
    mode: str,
    size: tuple[int, int],
    in_channels: int,
    strength: float,
) -> tuple[np.ndarray | None, str | None]:
    if alpha is None:
        return None, None
    if mode == "model":
        grey = np.repeat(gray_to_rgb(alpha), in_channels // 3, axis=2)
        restored = network(np.ascontiguousarray(grey, dtype=np.float32)).mean(axis=2)
        if strength < 1.0:
            restored = strength * restored + (1 - strength) * resize_alpha(alpha, size)
        return np.clip(restored, 0.0, 1.0).astype(np.float32), "alpha restored by the model"
    if alpha.shape == size:
        return alpha, None
    if mode == "resize":
        return resize_alpha(alpha, size), None
    return _repeat(alpha, size), None


def _repeat(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour enlargement: every value kept exactly (``--alpha keep``)."""
    rows = np.arange(size[0]) * plane.shape[0] // size[0]
    cols = np.arange(size[1]) * plane.shape[1] // size[1]
    return np.ascontiguousarray(plane[rows][:, cols])
