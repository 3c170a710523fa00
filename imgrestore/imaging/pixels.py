"""Pixel arrays: integer <-> float, EXIF orientation, grayscale, alpha resizing."""

from __future__ import annotations

import numpy as np

#: ITU-R BT.601 luma weights, the ones Pillow uses for RGB -> L.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_float(samples: np.ndarray) -> np.ndarray:
    """Integer or float samples -> float32 in [0, 1] (integers scaled by their maximum)."""
    if samples.dtype == np.bool_:
        return samples.astype(np.float32)
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float32) / np.float32(np.iinfo(samples.dtype).max)
    return np.clip(samples.astype(np.float32, copy=False), 0.0, 1.0)


def from_float(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """float in [0, 1] -> uint8 (8), uint16 (16) or float32 (32), rounded, clipped."""
    clipped = np.clip(values, 0.0, 1.0)
    if bit_depth == 32:
        return clipped.astype(np.float32, copy=False)
    if bit_depth not in (8, 16):
        raise ValueError(f"unsupported bit depth {bit_depth}")
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    scale = np.float32(np.iinfo(dtype).max)
    return np.rint(clipped * scale).astype(dtype)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """H x W -> H x W x 3 by repeating the channel."""
    return np.repeat(gray[:, :, None], 3, axis=2)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 float -> H x W float with BT.601 luma (exact when R = G = B)."""
    return np.clip(rgb.astype(np.float32, copy=False) @ LUMA, 0.0, 1.0)


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (H x W or H x W x C) upright for EXIF orientation 1-8.

    Follows the EXIF/TIFF definition (the same table as Pillow's
    ``ImageOps.exif_transpose``); unknown values leave the array unchanged.
    """
    if orientation == 2:
        out = array[:, ::-1]
    elif orientation == 3:
        out = array[::-1, ::-1]
    elif orientation == 4:
        out = array[::-1]
    elif orientation == 5:
        out = array.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(array, -1)
    elif orientation == 7:
        out = np.rot90(array, 2).swapaxes(0, 1)
    elif orientation == 8:
        out = np.rot90(array, 1)
    else:
        return array
    return np.ascontiguousarray(out)


def resize_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an H x W alpha plane to ``size`` = (height, width) with Lanczos.

    Works on 32-bit float data (Pillow mode ``F``), so nothing is quantised;
    the ringing Lanczos adds at hard edges is clipped back to [0, 1].
    """
    if alpha.ndim != 2:
        raise ValueError(f"alpha must be H x W, got shape {alpha.shape}")
    return np.clip(resize_planes(alpha, size), 0.0, 1.0)


def resize_planes(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize H x W or H x W x C float data to ``size`` = (height, width), Lanczos, unclipped."""
    from PIL import Image

    height, width = size
    if array.shape[:2] == (height, width):
        return array.astype(np.float32, copy=True)
    if array.ndim == 3:
        return np.stack([resize_planes(array[:, :, c], size) for c in range(array.shape[2])],
                        axis=2)  # fmt: skip
    plane = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32))  # mode F
    resized = plane.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32)
