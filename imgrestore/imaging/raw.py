"""Camera RAW files through rawpy (LibRaw): developed as the user asks, or kept linear for DNG.

:class:`RawOptions` holds the development settings (``--raw-output``,
``--raw-colorspace``, ``--raw-demosaic``, ``--raw-highlights``, ``--no-auto-bright``,
``--raw-wb``); :meth:`RawOptions.params` maps them to ``rawpy.Params``. With
``dng=True`` (``--format dng``) the RAW is demosaicked into the camera's own colour
space, linear, with no white balance applied and nothing clipped, and the camera's
colour data and chosen white balance are kept
(:class:`~imgrestore.imaging.types.CameraColour`) for :mod:`imgrestore.imaging.dng`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgrestore.errors import ImageError, UsageError
from imgrestore.imaging import icc
from imgrestore.imaging.limits import check_pixels
from imgrestore.imaging.metadata import exif_from_tiff
from imgrestore.imaging.notes import libraw_messages
from imgrestore.imaging.pixels import to_float
from imgrestore.imaging.types import CameraColour, ImageMeta, LoadedImage

_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
RAW_OUTPUTS = ("srgb", "linear")
RAW_COLORSPACES = tuple(icc.SPACES)  # srgb, adobe, prophoto, rec2020, p3
RAW_HIGHLIGHTS = ("clip", "ignore", "blend", "reconstruct")
#: ``--raw-colorspace`` -> rawpy.ColorSpace member name.
_RAWPY_SPACE = {"srgb": "sRGB", "adobe": "Adobe", "prophoto": "ProPhoto", "rec2020": "Rec2020",
                "p3": "P3D65"}  # fmt: skip


def demosaic_names() -> tuple[str, ...]:
    """LibRaw demosaic algorithms this rawpy build supports, lower case (``ahd``, ...)."""
    import rawpy

    return tuple(a.name.lower() for a in rawpy.DemosaicAlgorithm if a.isSupported)


def parse_wb(text: str) -> str | tuple[float, float, float]:
    """``camera``, ``auto`` or ``R,G,B`` multipliers (``2.1,1,1.6``) for ``--raw-wb``."""
    word = text.strip().lower()
    if word in ("camera", "auto"):
        return word
    try:
        values = tuple(float(v) for v in word.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(v > 0 and np.isfinite(v) for v in values):
        raise UsageError(f"--raw-wb {text}: use camera, auto or three positive "
                         "multipliers R,G,B (e.g. 2.1,1,1.6)")  # fmt: skip
    return values  # type: ignore[return-value]


def parse_highlights(text: str) -> str | int:
    """``clip``, ``ignore``, ``blend``, ``reconstruct`` or ``reconstruct:N`` (N = 3-9)."""
    word = text.strip().lower()
    if word in RAW_HIGHLIGHTS:
        return word
    if word.startswith("reconstruct:") and word[12:].isdigit() and 3 <= int(word[12:]) <= 9:
        return int(word[12:])
    raise UsageError(f"--raw-highlights {text}: use clip, ignore, blend, reconstruct or "
                     "reconstruct:N with N from 3 to 9")  # fmt: skip


@dataclass(frozen=True)
class RawOptions:
    """How LibRaw develops a RAW file (the defaults reproduce imgrestore's before options)."""

    #: ``srgb``: the colour space's tone curve; ``linear``: linear light (gamma 1).
    output: str = "srgb"
    colorspace: str = "srgb"
    #: A LibRaw demosaic algorithm (``ahd``, ``dcb``, ``dht``, ``linear``...); None = AHD.
    demosaic: str | None = None
    #: ``clip``, ``ignore``, ``blend``, ``reconstruct`` or a reconstruct level 3-9.
    highlights: str | int = "clip"
    #: LibRaw's auto-brightness; None = on for ``srgb`` output, off for linear and DNG.
    auto_bright: bool | None = None
    #: ``camera``, ``auto`` or (R, G, B) multipliers.
    wb: str | tuple[float, float, float] = "camera"
    #: Develop for a linear DNG: camera colour space, no clipping (``--format dng``).
    dng: bool = False

    def __post_init__(self) -> None:
        if self.output not in RAW_OUTPUTS:
            raise UsageError(f"--raw-output {self.output}: use srgb or linear")
        if self.colorspace not in RAW_COLORSPACES:
            raise UsageError(f"--raw-colorspace {self.colorspace}: use "
                             f"{', '.join(RAW_COLORSPACES)}")  # fmt: skip
        if isinstance(self.highlights, str):
            parse_highlights(self.highlights)
        if isinstance(self.wb, str):
            parse_wb(self.wb)

    @property
    def linear(self) -> bool:
        return self.dng or self.output == "linear"

    def check_demosaic(self) -> None:
        """UsageError for a demosaic algorithm this rawpy build does not have."""
        if self.demosaic is not None and self.demosaic.lower() not in demosaic_names():
            raise UsageError(f"--raw-demosaic {self.demosaic}: use one of "
                             f"{', '.join(demosaic_names())}")  # fmt: skip

    def demosaic_params(self) -> dict[str, Any]:
        """``demosaic_algorithm`` for rawpy (empty for LibRaw's default, AHD)."""
        import rawpy

        self.check_demosaic()
        if self.demosaic is None:
            return {}
        return {"demosaic_algorithm": rawpy.DemosaicAlgorithm[self.demosaic.upper()]}

    def params(self) -> dict[str, Any]:
        """Keyword arguments for ``rawpy.RawPy.postprocess`` (RGB development)."""
        import rawpy

        kwargs: dict[str, Any] = {"output_bps": 16, **self.demosaic_params()}
        if isinstance(self.highlights, int):
            kwargs["highlight_mode"] = rawpy.HighlightMode.Reconstruct(self.highlights)
        else:
            kwargs["highlight_mode"] = {
                "clip": rawpy.HighlightMode.Clip, "ignore": rawpy.HighlightMode.Ignore,
                "blend": rawpy.HighlightMode.Blend,
                "reconstruct": rawpy.HighlightMode.ReconstructDefault,
            }[self.highlights]  # fmt: skip
        if self.wb == "camera":
            kwargs["use_camera_wb"] = True
        elif self.wb == "auto":
            kwargs["use_auto_wb"] = True
        else:
            r, g, b = self.wb
            kwargs["user_wb"] = [r, g, b, g]
        auto_bright = (not self.linear) if self.auto_bright is None else self.auto_bright
        kwargs["no_auto_bright"] = not auto_bright
        if self.linear:
            kwargs["gamma"] = (1.0, 1.0)
            kwargs["adjust_maximum_thr"] = 0.0  # white is the sensor's white, not the data's
        else:
            kwargs["gamma"] = icc.SPACES[self.colorspace].libraw_gamma
        kwargs["output_color"] = getattr(rawpy.ColorSpace, _RAWPY_SPACE[self.colorspace])
        return kwargs

    def describe(self) -> str:
        if self.dng:
            return "RAW demosaicked by LibRaw for DNG: camera colour space, linear, 16-bit"
        curve = "linear" if self.linear else "tone curve"
        wb = self.wb if isinstance(self.wb, str) else "R,G,B " + ",".join(map(str, self.wb))
        title = icc.SPACES[self.colorspace].title
        return f"RAW developed by LibRaw: {wb} white balance, {title}, {curve}, 16-bit"


def decode_raw(
    data: bytes, meta_base: dict, max_pixels: int | None, options: RawOptions | None = None
) -> LoadedImage:
    """Demosaic a RAW file held in ``data`` into an upright 16-bit image.

    Defaults: camera white balance, sRGB primaries and tone curve, LibRaw's
    auto-brightness, orientation applied, no ICC profile (sRGB is assumed by every
    viewer). Another colour space or linear output attaches a matching ICC profile.
    EXIF is taken from TIFF-based raws (DNG, CR2, NEF, ARW...) when piexif can read it.
    """
    import rawpy

    options = options or RawOptions()
    name = meta_base["name"]
    camera = None
    try:
        with libraw_messages() as said, rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            check_pixels(name, sizes.width, sizes.height, max_pixels)
            if options.dng:
                rgb, camera = _develop_for_dng(raw, data, options)
            else:
                rgb = raw.postprocess(**options.params())
    except (ImageError, UsageError):
        raise
    except Exception as exc:  # LibRawError subclasses, MemoryError from odd headers...
        reason = "; ".join([_reason(exc), *said])
        raise ImageError(name, f"RAW file that LibRaw cannot decode ({reason})") from None

    exif = exif_from_tiff(data) if data[:4] in _TIFF_HEADERS else None
    pixels = to_float(np.ascontiguousarray(rgb))
    profile = None
    if not options.dng and (options.linear or options.colorspace != "srgb"):
        profile = icc.space_profile(options.colorspace, linear=options.linear)
    meta = ImageMeta(
        **meta_base, format="RAW", mode="raw", bit_depth=16,
        width=pixels.shape[1], height=pixels.shape[0], exif=exif, is_raw=True,
        icc_profile=profile, linear=options.linear, camera=camera,
        notes=(options.describe(), *said),
    )  # fmt: skip
    return LoadedImage(pixels, None, meta)


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if len(exc.args) == 1 else str(exc)  # LibRaw's are bytes
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail).strip() or type(exc).__name__


def _develop_for_dng(raw, data: bytes, options: RawOptions) -> tuple[np.ndarray, CameraColour]:
    """Demosaicked camera RGB, linear, as the sensor recorded it (no white balance, no clip).

    The chosen white balance is recorded (the DNG's AsShotNeutral), not applied, so the
    raw developer can still change it and recover highlights. Cameras whose colours
    LibRaw cannot give as three camera channels (four-colour sensors, no colour matrix)
    are developed to white-balanced linear sRGB instead.
    """
    import rawpy

    from imgrestore.imaging.dng import camera_colour

    multipliers = _white_balance(raw, options.wb)
    camera = camera_colour(raw, data, multipliers, options.wb)
    params = options.demosaic_params()
    params.update(output_bps=16, gamma=(1.0, 1.0), no_auto_bright=True, adjust_maximum_thr=0.0,
                  highlight_mode=rawpy.HighlightMode.Ignore)  # fmt: skip
    if camera.space == "camera":
        params.update(output_color=rawpy.ColorSpace.raw, user_wb=[1.0, 1.0, 1.0, 1.0])
    else:
        r, g, b = multipliers
        params.update(output_color=rawpy.ColorSpace.sRGB, user_wb=[r, g, b, g])
    return raw.postprocess(**params), camera


def _white_balance(raw, wb: str | tuple[float, float, float]) -> tuple[float, float, float]:
    """R, G, B multipliers (G = 1): the camera's, LibRaw's automatic ones, or the user's."""
    if isinstance(wb, tuple):
        found: list[float] = [wb[0], wb[1], wb[2]]
    elif wb == "camera":
        found = [0.0, 0.0, 0.0]
        for candidate in (raw.camera_whitebalance, raw.daylight_whitebalance):
            if min(candidate[:3]) > 0:
                found = [float(v) for v in candidate[:3]]
                break
    else:  # LibRaw's grey-world estimate, from a quick half-size development
        raw.postprocess(use_auto_wb=True, half_size=True, output_bps=8)
        found = [float(v) for v in (raw.auto_whitebalance or [0.0] * 4)[:3]]
    if min(found) <= 0:
        return 1.0, 1.0, 1.0
    r, g, b = found
    return r / g, 1.0, b / g
