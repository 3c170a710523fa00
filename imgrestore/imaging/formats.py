"""Which files are images, what format they hold, and what an output will be.

Content decides the format (the magic bytes at the start of the file), never the
extension alone, so a text file renamed ``.jpg`` is refused with a clear reason.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgrestore.errors import ImageError, UsageError

if TYPE_CHECKING:
    from imgrestore.imaging.types import ImageMeta

#: Canonical format name -> the suffix an output in that format gets.
CANONICAL_SUFFIX: dict[str, str] = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "TIFF": ".tif",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "GIF": ".gif",
    "HEIF": ".heic",
    "AVIF": ".avif",
}

#: Suffix (lower case) -> canonical format name, for files Pillow/tifffile read.
SUFFIX_FORMAT: dict[str, str] = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
    ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".bmp": "BMP",
    ".gif": "GIF", ".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF", ".avif": "AVIF",
}  # fmt: skip

#: Camera RAW suffixes decoded with rawpy (LibRaw).
RAW_SUFFIXES: frozenset[str] = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
    ".rw2", ".rwl", ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".erf", ".mef", ".mos",
    ".mrw", ".kdc", ".dcr", ".gpr", ".raw",
})  # fmt: skip

#: Every suffix imgrestore reads.
IMAGE_SUFFIXES: frozenset[str] = frozenset(SUFFIX_FORMAT) | RAW_SUFFIXES

#: Bit depths each output format can hold, best first.
FORMAT_BIT_DEPTHS: dict[str, tuple[int, ...]] = {
    "JPEG": (8,), "PNG": (16, 8), "TIFF": (32, 16, 8), "WEBP": (8,), "BMP": (8,),
    "GIF": (8,), "HEIF": (8,), "AVIF": (8,),
}  # fmt: skip

#: Output formats that can carry an alpha channel.
ALPHA_FORMATS: frozenset[str] = frozenset({"PNG", "TIFF", "WEBP", "GIF", "HEIF", "AVIF", "BMP"})

_FORMAT_ALIASES = {
    "JPG": "JPEG", "JPE": "JPEG", "TIF": "TIFF", "HEIC": "HEIF",
}  # fmt: skip
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_format(head: bytes) -> str | None:
    """Name the format from the first bytes of a file (at least 16), or None.

    Returns a canonical name (JPEG, PNG, TIFF, WEBP, BMP, GIF, HEIF, AVIF) or
    ``RAW`` for containers only cameras write (CR3, RAF, ORF, RW2, CRW, X3F, MRW).
    TIFF-based raws (DNG, CR2, NEF, ARW...) sniff as TIFF.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00") or head.startswith(
        (b"FUJIFILMCCD-RAW", b"FOVb", b"\x00MRM", b"II\x1a\x00\x00\x00HEAPCCDR")
    ):
        return "RAW"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 18:
        return "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"crx ":
            return "RAW"
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    return None


def heif_available() -> bool:
    """True when the optional ``pillow-heif`` package (extra ``heif``) is installed."""
    return importlib.util.find_spec("pillow_heif") is not None


def pillow_supports(codec: str) -> bool:
    """True when this Pillow build has ``codec`` (e.g. ``avif``: native since Pillow 11.3)."""
    from PIL import features

    return bool(features.check(codec))


def format_available(fmt: str) -> bool:
    """True when this installation can read and write ``fmt`` (HEIF/AVIF are optional)."""
    if fmt == "HEIF":
        return heif_available()
    if fmt == "AVIF":
        return pillow_supports("avif") or heif_available()
    return True


def unsupported_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as an image, in a few words; None when it looks fine.

    Reads only the first bytes, so the batch layer can skip non-images cheaply.
    Does not decode: a corrupt image still fails later in :func:`read_image`.
    """
    from imgrestore.files import open_regular

    p = Path(path)
    if p.is_dir():
        return "is a folder"
    try:
        fd, _ = open_regular(p)  # FIFOs, devices and sockets are never opened
    except ImageError as exc:
        return exc.reason if exc.reason.startswith("is ") else f"cannot open ({exc.reason})"
    with os.fdopen(fd, "rb") as f:
        head = f.read(64)
    if not head:
        return "empty file (0 bytes)"
    kind = sniff_format(head)
    if kind is None:
        return "not an image (unrecognised content)"
    if not format_available(kind):
        return f"{kind} needs the optional 'heif' extra: pip install 'imgrestore[heif]'"
    return None


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` holds an image imgrestore can try to read (by content)."""
    return unsupported_reason(path) is None


def normalize_format(name: str) -> str:
    """``jpg`` -> ``JPEG``, ``tif`` -> ``TIFF``...; raises UsageError for unknown names."""
    key = name.strip().lstrip(".").upper()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in CANONICAL_SUFFIX:
        known = ", ".join(sorted(s.lstrip(".") for s in CANONICAL_SUFFIX.values()))
        raise UsageError(f"unknown output format {name!r} (choose from {known})")
    return key


@dataclass(frozen=True)
class OutputPlan:
    """What :func:`write_image` will produce for an image: format, depth, layout."""

    format: str
    bit_depth: int
    suffix: str
    grayscale: bool
    alpha: bool
    notes: tuple[str, ...] = ()


def plan_output(
    meta: ImageMeta,
    *,
    format: str | None = None,
    bit_depth: int | None = None,
    has_alpha: bool | None = None,
) -> OutputPlan:
    """Decide the output format, bit depth and suffix for an image read as ``meta``.

    Defaults keep the input's format and bit depth (RAW -> 16-bit TIFF). JPEG
    cannot hold alpha, so an image with alpha headed for JPEG becomes PNG, with a
    note. A bit depth the format cannot hold falls back to the nearest it can.
    """
    notes: list[str] = []
    alpha = meta.has_alpha if has_alpha is None else has_alpha
    if format is not None:
        fmt = normalize_format(format)
    elif meta.is_raw or meta.format not in CANONICAL_SUFFIX:
        fmt = "TIFF"
    else:
        fmt = meta.format
    if not format_available(fmt):
        notes.append(f"{fmt} output needs pillow-heif: written as PNG")
        fmt = "PNG"
    if alpha and fmt not in ALPHA_FORMATS:
        notes.append(f"{fmt} cannot hold transparency: written as PNG to keep it")
        fmt = "PNG"

    wanted = bit_depth or (16 if meta.is_raw else max(meta.bit_depth, 8))
    depths = FORMAT_BIT_DEPTHS[fmt]
    if wanted in depths:
        depth = wanted
    else:
        lower = [d for d in depths if d < wanted]
        depth = lower[0] if lower else depths[-1]
        notes.append(f"{fmt} holds {'/'.join(map(str, depths))}-bit samples: "
                     f"written as {depth}-bit instead of {wanted}-bit")
    if meta.bit_depth == 1:
        notes.append("1-bit input restored and written as 8-bit grayscale")
    if fmt == "GIF":
        notes.append("GIF holds 256 colours: output colours are quantised")

    suffix = CANONICAL_SUFFIX[fmt]
    if meta.source is not None and SUFFIX_FORMAT.get(meta.source.suffix.lower()) == fmt:
        suffix = meta.source.suffix  # keep .jpeg / .TIFF spelled as the input was
    return OutputPlan(fmt, depth, suffix, meta.was_grayscale, alpha, tuple(notes))


def output_suffix(meta: ImageMeta, format: str | None = None) -> str:
    """The file suffix (with dot) that :func:`write_image` gives this image's output."""
    return plan_output(meta, format=format).suffix
