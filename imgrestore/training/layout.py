"""What a data folder holds, which of its images can be read, and whether to cache them.

Folder layouts (found automatically, ``*_crops`` variants included):

- paired: ``input/`` + ``target/`` (or ``groundtruth/``, ``gt/``; RealSR ``LR/`` + ``HR/``),
  files matched by name (or by stem when extensions differ);
- dual-pixel: ``inputL/`` + ``inputR/`` + ``target/``: the two views are stacked into a
  6-channel input (16-bit PNGs are read at full depth, / 65535);
- clean-only: images directly in the folder; inputs are made on the fly.

:func:`check_images` decodes every image once before training, so one corrupt photo is
skipped with a line instead of stopping a run hours in, and it measures the decoded set
for ``data.cache = "auto"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from imgrestore.errors import ImgRestoreError, UsageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}

#: (input folders, target folders) accepted for paired layouts, first match wins.
_INPUTS = (("inputL", "inputR"), ("input",), ("LR",))
_TARGETS = ("target", "groundtruth", "gt", "HR")


@dataclass(frozen=True)
class Layout:
    """What a data folder holds: paired samples or clean images."""

    root: Path
    #: One tuple of input files per sample (two for dual-pixel), or empty when clean-only.
    inputs: tuple[tuple[Path, ...], ...]
    #: The target (clean) image of each sample.
    targets: tuple[Path, ...]

    @property
    def paired(self) -> bool:
        return bool(self.inputs)

    @property
    def dual_pixel(self) -> bool:
        return self.paired and len(self.inputs[0]) == 2

    def __len__(self) -> int:
        return len(self.targets)

    def files(self, index: int) -> tuple[Path, ...]:
        """The files of sample ``index``: its input views, then its target."""
        return (*self.inputs[index], self.targets[index]) if self.paired else (
            self.targets[index],)

    def keep(self, indices: Sequence[int]) -> Layout:
        """The layout with only these samples."""
        inputs = tuple(self.inputs[i] for i in indices) if self.paired else ()
        return replace(self, inputs=inputs, targets=tuple(self.targets[i] for i in indices))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _subdir(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}_crops"):
        if candidate.is_dir():
            return candidate
    return None


def find_layout(root: str | Path, layout: str = "auto") -> Layout:
    """Discover the samples in ``root`` (``layout``: ``auto``, ``paired`` or ``clean``)."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such data folder")
    if layout != "clean":
        target_dir = next((d for n in _TARGETS if (d := _subdir(root, n))), None)
        for names in _INPUTS:
            dirs = [_subdir(root, n) for n in names]
            if target_dir is not None and all(dirs):
                return _pair(root, [d for d in dirs if d], target_dir)
        if layout == "paired":
            raise UsageError(
                f"{root}: expected input/ and target/ (or groundtruth/, *_crops, "
                "inputL/ inputR/) folders"
            )
    images = _images(root)
    if not images:
        raise UsageError(f"{root}: no images (and no input/ + target/ folders)")
    return Layout(root, (), tuple(images))


def _pair(root: Path, input_dirs: list[Path], target_dir: Path) -> Layout:
    targets = _images(target_dir)
    if not targets:
        raise UsageError(f"{target_dir}: no images")
    inputs = []
    for target in targets:
        found = []
        for folder in input_dirs:
            match = folder / target.name
            if not match.is_file():
                stems = [p for p in _images(folder) if p.stem == target.stem]
                if len(stems) != 1:
                    raise UsageError(
                        f"{target}: no input named {target.name} (or {target.stem}.*) in {folder}"
                    )
                match = stems[0]
            found.append(match)
        inputs.append(tuple(found))
    return Layout(root, tuple(inputs), tuple(targets))


def read_image(path: Path) -> np.ndarray:
    """An image file as float32 ``H x W x 3`` in [0, 1], read exactly as the task commands
    read their inputs (upright, full bit depth, RAW developed)."""
    from imgrestore.imaging import read_image as read

    return read(path).pixels


# --- checking up front -----------------------------------------------------------------------


@dataclass
class Checked:
    """What :func:`check_images` found in (this process's share of) a layout."""

    #: Sample indices that could not be read, with the one-line reason.
    bad: dict[int, str] = field(default_factory=dict)
    #: Smallest side (height, width) of the first image of each readable sample.
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Bytes of the decoded (float32) images of the readable samples.
    decoded: int = 0
    #: Decoded images kept for the cache (path -> pixels), filled while ``keep`` allows.
    images: dict[Path, np.ndarray] = field(default_factory=dict)


def check_images(
    layout: Layout, indices: Sequence[int], *, keep: Callable[[int], bool] = lambda _b: False,
    threads: int | None = None,
) -> Checked:
    """Decode every file of the samples ``indices`` once.

    ``keep(total_bytes_so_far)`` says whether to keep the pixels for the cache; once it
    says no, nothing more is kept and what was kept is dropped.
    """
    result = Checked()
    threads = threads or min(8, os.cpu_count() or 1)

    def read(index: int) -> tuple[int, list[tuple[Path, np.ndarray]] | str]:
        decoded = []
        for path in layout.files(index):
            try:
                decoded.append((path, read_image(path)))
            except (ImgRestoreError, OSError, ValueError, MemoryError) as exc:
                return index, f"{path}: {_reason(exc, path)}"
        return index, decoded

    keeping = True
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for index, found in pool.map(read, indices):
            if isinstance(found, str):
                result.bad[index] = found
                continue
            result.sizes[index] = tuple(found[0][1].shape[:2])  # type: ignore[assignment]
            result.decoded += sum(a.nbytes for _, a in found)
            if keeping and keep(result.decoded):
                result.images.update(found)
            elif keeping:
                keeping = False
                result.images.clear()
    return result


def _reason(exc: BaseException, path: Path) -> str:
    text = str(exc) or type(exc).__name__
    prefix = f"{path}: "
    name = f"{path.name}: "
    for p in (prefix, name):
        if text.startswith(p):
            return text[len(p):]
    return text


def memory_budget(gigabytes: float, processes: int = 1) -> int:
    """Bytes one process may cache: ``gigabytes``, or a quarter of this machine's memory
    (shared by ``processes`` processes on it) when 0."""
    if gigabytes > 0:
        return int(gigabytes * 1e9)
    return total_memory() // 4 // max(1, processes)


def total_memory() -> int:
    """Physical memory of this machine in bytes (8 GB when it cannot be found)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        pass
    try:  # Windows
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                        ("total", ctypes.c_ulonglong), ("avail", ctypes.c_ulonglong),
                        ("page_total", ctypes.c_ulonglong), ("page_avail", ctypes.c_ulonglong),
                        ("virtual_total", ctypes.c_ulonglong),
                        ("virtual_avail", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.total)
    except (AttributeError, OSError):
        pass
    return 8 * 10**9


__all__ = [
    "IMAGE_SUFFIXES",
    "Checked",
    "Layout",
    "check_images",
    "find_layout",
    "memory_budget",
    "read_image",
    "total_memory",
]
