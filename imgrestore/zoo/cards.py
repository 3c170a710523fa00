"""Model cards: every model imgrestore knows by name, as data in one table.

A card says what a set of weights is for (task, scale, style), which network
configuration it loads into (a name from :data:`imgrestore.archs.SPECS`), what it
was trained on, how well the paper says it does, its licence, and where the
weights can be had (:class:`Source`). URLs and hashes live here and nowhere else.

This module is torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from imgrestore.archs import ArchSpec, spec
from imgrestore.errors import UsageError

Task = Literal["denoise", "deblur", "derain", "enhance", "upscale"]
InputKind = Literal["rgb", "dual_pixel"]
Style = Literal["lowlight", "retouch"]
SourceKind = Literal["github_release", "google_drive", "hf", "builtin"]

TASKS: tuple[Task, ...] = ("denoise", "deblur", "derain", "enhance", "upscale")

#: The licence of the built-in models: trained by imgrestore, shipped with it.
BUILTIN_LICENCE = "MIT (imgrestore's own weights; commercial use allowed)"


@dataclass(frozen=True)
class Source:
    """One place the weights of a card can be had; a card lists them official first,
    then mirrors, and they are tried in that order.

    ``kind`` decides how: ``github_release`` (any plain URL) and ``google_drive`` (a Drive
    file or folder link) are downloaded through gdown; ``hf`` through
    ``huggingface_hub``; ``builtin`` files ship inside the package under
    ``imgrestore/zoo/builtin/``. Every downloaded file is checked against the card's
    pinned sha256 and size when it has them, so a mirror cannot substitute another file.
    """

    kind: SourceKind
    #: A URL (``github_release``, ``google_drive``), ``owner/repo[@revision]`` (``hf``),
    #: or a file name under ``imgrestore/zoo/builtin/`` (``builtin``).
    location: str
    #: The file's name as published (what the user's browser saves; for a Drive folder,
    #: the file picked from it).
    filename: str
    #: ``False`` for a mirror whose file names or revision no download has confirmed yet:
    #: tried only when the user opts in (``IMGRESTORE_UNVERIFIED_MIRRORS=1`` or
    #: ``imgrestore models download --unverified``).
    verified: bool = True

    @property
    def automatic(self) -> bool:
        """Whether imgrestore fetches this source by itself (unverified mirrors: on request)."""
        return self.kind != "builtin" and self.verified

    @property
    def where(self) -> str:
        """The source as one string: a URL or ``hf:owner/repo/filename``."""
        return f"hf:{self.location}/{self.filename}" if self.kind == "hf" else self.location

    @property
    def host(self) -> str:
        """Who serves it, in words ("Google Drive", "GitHub release", ...)."""
        return {"github_release": "GitHub release", "google_drive": "Google Drive",
                "hf": "Hugging Face Hub", "builtin": "imgrestore"}[self.kind]


@dataclass(frozen=True)
class Benchmark:
    """The paper's headline result for a card (``None`` where not known)."""

    dataset: str
    psnr: float | None = None
    ssim: float | None = None


@dataclass(frozen=True)
class Card:
    """One named set of weights for one network configuration."""

    #: Canonical name: the configuration name, plus ``_x3``-style suffixes where one
    #: configuration has several weights files.
    name: str
    task: Task
    #: Configuration name in :data:`imgrestore.archs.SPECS`.
    config: str
    #: Output size / input size. Super-resolution networks run on the input already
    #: resized (bicubic) to the output size.
    scale: int = 1
    input_kind: InputKind = "rgb"
    #: For ``enhance``: low-light brightening (LOL) or expert-style retouching (FiveK).
    style: Style | None = None
    aliases: tuple[str, ...] = ()
    training_data: str = ""
    benchmark: Benchmark | None = None
    #: Empty: the authors' licence for their released weights (the family's descriptor's).
    licence: str = ""
    #: Global operations (enhancement) look wrong when run tile by tile.
    prefers_whole_image: bool = False
    #: Where to get the weights, tried in order.
    sources: tuple[Source, ...] = ()
    #: Whether this card is its task's default (for its scale / style).
    default: bool = False
    #: Hex sha256 and size in bytes of the published file, once pinned (see :data:`PINS`):
    #: a download or import that differs is refused. ``None``: trust on first use.
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.licence:
            object.__setattr__(self, "licence", self.arch.descriptor.weights_licence.name)

    @property
    def arch(self) -> ArchSpec:
        return spec(self.config)

    @property
    def family(self) -> str:
        return self.arch.family

    @property
    def params(self) -> int:
        """Parameter count of the network (shared tensors counted once)."""
        return self.arch.descriptor.configurations[self.config].params

    @property
    def official(self) -> bool:
        """Whether the weights are the authors' (under their licence)."""
        return self.licence == self.arch.descriptor.weights_licence.name

    @property
    def automatic(self) -> bool:
        """Whether the weights can be fetched without the user's help."""
        return any(s.automatic for s in self.sources)

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def builtin(self) -> bool:
        """Whether the weights ship inside the package (always available, offline)."""
        return any(s.kind == "builtin" for s in self.sources)


_MIRNETV2_RELEASE = "https://github.com/swz30/MIRNetv2/releases/download/v1.0.0/"
#: A third-party mirror of MPRNet's released files (the deepinv library's organisation).
#: Unverified: no download has yet confirmed its file names, nor pinned a revision.
_MPRNET_HF_MIRROR = "deepinv/MPRNet"


def _drive_file(file_id: str, filename: str) -> Source:
    return Source("google_drive", f"https://drive.google.com/file/d/{file_id}/view", filename)


def _drive_folder(folder_id: str, filename: str) -> Source:
    return Source(
        "google_drive", f"https://drive.google.com/drive/folders/{folder_id}", filename
    )


def _release(filename: str) -> Source:
    return Source("github_release", _MIRNETV2_RELEASE + filename, filename)


def _drive(name: str, task: Task, data: str, bench: Benchmark, source: Source,
           aliases: tuple[str, ...], *, config: str | None = None, scale: int = 1,
           style: Style | None = None, default: bool = False,
           mirror: str | None = None) -> Card:
    """A card whose weights the authors publish on Google Drive (downloaded through gdown);
    ``mirror``: a Hub repository holding the same file, an unverified mirror."""
    sources = (source,) if mirror is None else (
        source, Source("hf", mirror, source.filename, verified=False))
    return Card(name, task, config or name, scale=scale, style=style, aliases=aliases,
                training_data=data, benchmark=bench, sources=sources,
                prefers_whole_image=task == "enhance", default=default)


def _github(name: str, task: Task, data: str, bench: Benchmark, filename: str,
            aliases: tuple[str, ...], scale: int = 1, style: Style | None = None,
            default: bool = False) -> Card:
    """A card whose weights are a GitHub release asset (downloaded automatically)."""
    return Card(name, task, name, scale=scale, style=style, aliases=aliases,
                training_data=data, benchmark=bench, sources=(_release(filename),),
                prefers_whole_image=task == "enhance", default=default)


def _builtin(name: str, task: Task, degradation: str, scale: int = 1,
             style: Style | None = None) -> Card:
    config = "mirnetv2_compact" + (f"_x{scale}" if scale > 1 else "")
    return Card(
        name, task, config, scale=scale, style=style, aliases=(name.replace("_", "-"),),
        training_data=f"19 photographs (Debian wallpaper packages), {degradation}; "
        f"train/builtin/",
        licence=BUILTIN_LICENCE, sources=(Source("builtin", name, "model.safetensors"),),
        prefers_whole_image=task == "enhance",
    )


_SIDD = "SIDD-Medium sRGB (real camera noise)"
_REALSR = "RealSR v1 (Canon and Nikon pairs, low resolution registered to high)"
_LOL = "LOL (485 low-light / normal-light pairs)"
_FIVEK = "MIT-Adobe FiveK (expert C retouching)"

_CARDS: tuple[Card, ...] = (
    # MPRNet: weights on Google Drive (downloaded through gdown), mirrored on the Hub.
    _drive("mprnet_deblurring", "deblur", "GoPro (2,103 blurred/sharp pairs)",
           Benchmark("GoPro", 32.66, 0.959),
           _drive_file("1QwQUVbk6YVOJViCsOKYNykCsdJSVGRtb", "model_deblurring.pth"),
           ("mprnet-deblur",), default=True, mirror=_MPRNET_HF_MIRROR),
    _drive("mprnet_deraining", "derain", "Rain13K (13,712 synthetic rain pairs)",
           Benchmark("average of 5 rain test sets", 32.73, 0.921),
           _drive_file("1O3WEJbcat7eTY6doXWeorAbQ1l_WmMnM", "model_deraining.pth"),
           ("mprnet-derain",), default=True, mirror=_MPRNET_HF_MIRROR),
    _drive("mprnet_denoising", "denoise", _SIDD, Benchmark("SIDD", 39.71, 0.958),
           _drive_file("1LODPt9kYmxwU98g96UrRA0_Eh5HYcsRw", "model_denoising.pth"),
           ("mprnet-denoise",), mirror=_MPRNET_HF_MIRROR),
    # MIRNet: weights on Google Drive (downloaded through gdown); one configuration, five files.
    _drive("mirnet_denoising", "denoise", _SIDD,
           Benchmark("SIDD", 39.72, 0.959),
           _drive_file("13PGkg3yaFQCvz6ytN99Heh_yyvfxRCdG", "model_denoising.pth"),
           ("mirnet-denoise",)),
    _drive("mirnet_super_resolution_x3", "upscale", _REALSR,
           Benchmark("RealSR x3", 31.16, 0.885),
           _drive_folder("1yMtXbk6RXoFfmeRRGu1XfNFSHH6bSUoR", "model_SR_x3.pth"),
           ("mirnet-x3",), config="mirnet_super_resolution", scale=3),
    _drive("mirnet_super_resolution_x4", "upscale", _REALSR,
           Benchmark("RealSR x4", 29.14, 0.843),
           _drive_folder("1yMtXbk6RXoFfmeRRGu1XfNFSHH6bSUoR", "model_SR_x4.pth"),
           ("mirnet-x4",), config="mirnet_super_resolution", scale=4),
    _drive("mirnet_enhancement_lol", "enhance", _LOL,
           Benchmark("LOL", 24.14, 0.830),
           _drive_file("1t_FcBuMZD5th2KWVVNXYGJ7bMz5ZAWvF", "model_lol.pth"),
           ("mirnet-lowlight",), style="lowlight"),
    _drive("mirnet_enhancement_fivek", "enhance", _FIVEK,
           Benchmark("MIT-Adobe FiveK", 23.73, 0.925),
           _drive_file("1BsXOvhMz2z80E_V93dgD6QaEspZE0w-u", "model_fivek.pth"),
           ("mirnet-retouch",), style="retouch"),
    # MIRNet-v2: GitHub release assets, downloaded automatically.
    _github("mirnetv2_real_denoising", "denoise", _SIDD, Benchmark("SIDD", 39.84, 0.959),
            "real_denoising.pth", ("denoise",), default=True),
    _github("mirnetv2_super_resolution_x2", "upscale", _REALSR, Benchmark("RealSR x2"),
            "sr_x2.pth", ("upscale-x2",), scale=2, default=True),
    _github("mirnetv2_super_resolution_x3", "upscale", _REALSR, Benchmark("RealSR x3"),
            "sr_x3.pth", ("upscale-x3",), scale=3, default=True),
    _github("mirnetv2_super_resolution_x4", "upscale", _REALSR, Benchmark("RealSR x4"),
            "sr_x4.pth", ("upscale-x4",), scale=4, default=True),
    _github("mirnetv2_enhancement_lol", "enhance", _LOL, Benchmark("LOL", 24.74, 0.851),
            "enhancement_lol.pth", ("lowlight",), style="lowlight", default=True),
    _github("mirnetv2_enhancement_fivek", "enhance", _FIVEK,
            Benchmark("MIT-Adobe FiveK", 24.15, 0.934), "enhancement_fivek.pth",
            ("retouch",), style="retouch", default=True),
    Card("mirnetv2_defocus_deblurring_dualpixel", "deblur",
         "mirnetv2_defocus_deblurring_dualpixel", input_kind="dual_pixel",
         aliases=("dual-pixel-defocus",),
         training_data="DPDD (Canon dual-pixel left/right views, 16-bit)",
         benchmark=Benchmark("DPDD"),
         sources=(_release("dual_pixel_defocus_deblurring.pth"),)),
    # Built-in: compact MIRNet-v2 trained by imgrestore, shipped in imgrestore/zoo/builtin/.
    _builtin("builtin_denoise", "denoise", "synthetic Gaussian and Poisson-Gaussian noise"),
    _builtin("builtin_deblur", "deblur", "synthetic camera-shake blur (5-21 px)"),
    _builtin("builtin_derain", "derain", "synthetic rain streaks"),
    _builtin("builtin_enhance", "enhance", "synthetic low light", style="lowlight"),
    _builtin("builtin_upscale_x2", "upscale", "bicubic x2", scale=2),
    _builtin("builtin_upscale_x4", "upscale", "bicubic x4", scale=4),
)

#: Pinned (sha256, size in bytes) of published files, by card name: one line each, as
#: ``imgrestore models pin`` prints them from a cache filled by real downloads. A card
#: without a line is trusted on first use (docs/models.md, "Pinning").
PINS: Mapping[str, tuple[str, int]] = MappingProxyType({
})

#: Every card, by canonical name, in display order.
CARDS: Mapping[str, Card] = MappingProxyType({
    c.name: replace(c, sha256=PINS[c.name][0], size=PINS[c.name][1]) if c.name in PINS else c
    for c in _CARDS
})

_BY_NAME: Mapping[str, Card] = MappingProxyType(
    {**{a: c for c in CARDS.values() for a in c.aliases}, **CARDS}
)


def find_card(name: str) -> Card | None:
    """The card called ``name`` (canonical name or alias), or ``None``."""
    return _BY_NAME.get(name)


def card(name: str) -> Card:
    """The card called ``name`` (canonical name or alias); :class:`UsageError` if none."""
    found = find_card(name)
    if found is None:
        raise UsageError(
            f"{name}: no such model; `imgrestore models list` shows the known names"
        )
    return found


def builtin_card(task: str, *, scale: int | None = None, style: str | None = None) -> Card:
    """The built-in model for ``task`` (``scale`` for ``upscale``, default 2; ``style`` for
    ``enhance``: only ``lowlight`` has one)."""
    if task not in TASKS:
        raise UsageError(f"{task}: no such task; tasks are {', '.join(TASKS)}")
    builtins = [c for c in CARDS.values() if c.builtin and c.task == task]
    found = [c for c in builtins if c.scale == (scale or builtins[0].scale)
             and (style is None or c.style == style)]
    if not found:
        offered = ", ".join(f"x{c.scale}" if task == "upscale" else (c.style or c.name)
                            for c in builtins)
        wanted = f"x{scale}" if task == "upscale" else style
        raise UsageError(f"{task}: no built-in model for {wanted}; built-in: {offered}")
    return found[0]


def default_card(task: str, *, scale: int | None = None, style: str | None = None) -> Card:
    """The default card for ``task`` (and, for ``upscale``, ``scale``; for ``enhance``,
    ``style``, which defaults to ``lowlight``)."""
    if task not in TASKS:
        raise UsageError(f"{task}: no such task; tasks are {', '.join(TASKS)}")
    candidates = [c for c in CARDS.values() if c.default and c.task == task]
    if task == "upscale":
        scales = sorted(c.scale for c in candidates)
        if scale is None:
            raise UsageError(f"upscale needs a scale: one of {scales}")
        candidates = [c for c in candidates if c.scale == scale]
        if not candidates:
            raise UsageError(f"upscale x{scale}: no default model; scales are {scales}")
    elif task == "enhance":
        wanted = style or "lowlight"
        candidates = [c for c in candidates if c.style == wanted]
        if not candidates:
            raise UsageError(f"enhance: no style {wanted!r}; styles are lowlight, retouch")
    return candidates[0]

