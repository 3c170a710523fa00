"""From a model reference to a ready network: the one entry point the commands use.

A reference is a card name or alias (``mprnet_deblurring``, ``denoise``), a task's
default (``ref=None, task="deblur"``), a local weights file (official ``.pth`` or our
``.safetensors``), an imgrestore model folder (``model.safetensors`` +
``imgrestore.json``, e.g. a training run), or ``hf:owner/repo[@revision]``.

Official weights are fetched once (GitHub release assets and Google Drive files, see
:mod:`.install`), checked, and kept in the cache as safetensors. When a task's default
weights are missing and cannot be fetched, the error says what is missing and the exact
command that fixes it (exit code 3).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgrestore.archs import SPECS, ArchSpec
from imgrestore.archs.descriptor import HALF_MIN_PSNR, Precision
from imgrestore.archs.detection import Detected, detect
from imgrestore.errors import UsageError, WeightsError
from imgrestore.zoo import cache
from imgrestore.zoo.cards import (
    CARDS,
    Card,
    builtin_card,
    card,
    default_card,
    find_card,
)
from imgrestore.zoo.checkpoints import (
    check_family,
    check_fits,
    read_checkpoint,
    shapes,
    sized_network,
    unknown_family,
)
from imgrestore.zoo.fallback import Fallback, describe
from imgrestore.zoo.install import DownloadProgress, card_meta, ensure_cached
from imgrestore.zoo.modeldir import (
    WEIGHTS_FILE,
    ModelMeta,
    is_model_dir,
    read_meta,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

Notify = Callable[[str], None]

#: Where notices go unless the caller passes ``notify`` (the CLI shows them).
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A network in eval mode with its weights loaded (strictly), and what it is for."""

    net: nn.Module
    #: Its configuration (for :func:`imgrestore.archs.restore`); ``spec.scales`` is
    #: ``(scale,)``.
    spec: ArchSpec
    #: The card it was loaded as, or ``None`` for a model the zoo does not name.
    card: Card | None
    meta: ModelMeta
    #: Output size / input size; the input must be upsampled first when > 1.
    scale: int
    #: Run on the whole image rather than tiles when memory allows (enhancement).
    prefers_whole_image: bool
    #: Where the weights were read from (a file, a folder, or an ``hf:`` reference).
    source: str
    #: Set when this built-in model stands in for the task's official one (and why).
    fallback: Fallback | None = None

    @property
    def name(self) -> str:
        return self.card.name if self.card else (self.meta.name or self.spec.name)

    @property
    def task(self) -> str | None:
        return self.card.task if self.card else self.meta.task

    @property
    def input_kind(self) -> str:
        return self.card.input_kind if self.card else self.meta.input_kind

    def safe_precisions(self, device_type: str) -> tuple[Precision, ...]:
        """Precisions safe for this model on ``device_type``: fp32, and the low ones its
        family declares there, less fp16 when the model's own measurement (``imgrestore.json``
        ``fp16_psnr_vs_fp32``, on real photos) is below ``HALF_MIN_PSNR``."""
        declared = self.spec.descriptor.on(device_type).safe_precisions
        measured = self.meta.extra.get("fp16_psnr_vs_fp32")
        if isinstance(measured, (int, float)) and measured < HALF_MIN_PSNR:
            declared = tuple(p for p in declared if p != "fp16")
        return ("fp32", *declared)


# --- the entry point ----------------------------------------------------------------------


def load_model(
    ref: str | None = None,
    *,
    task: str | None = None,
    weights: str | Path | None = None,
    scale: int | None = None,
    style: str | None = None,
    notify: Notify = log.info,
    progress: DownloadProgress | None = None,
) -> LoadedModel:
    """Resolve ``ref`` (or ``task``'s default card) and load it, fetching if needed.

    ``weights`` loads that local file instead of the cached weights; it is checked
    against ``ref``'s configuration when ``ref`` names a card. ``scale`` and ``style``
    pick the default card of ``upscale`` and ``enhance``, and must agree with ``ref``.
    ``notify`` receives one-line notices (licence on first download); ``progress`` is
    told how a download goes; a built-in model standing in for the default says why in
    ``LoadedModel.fallback``.
    """
    if weights is not None:
        named = card(ref) if ref is not None else None
        loaded = load_path(Path(weights), card=named, task=task, scale=scale, style=style)
    elif ref is None:
        if task is None:
            raise UsageError("no model given: name a model or a task")
        loaded = _load_card(default_card(task, scale=scale, style=style), notify, progress,
                            default=True)
    elif ref == "builtin":
        if task is None:
            raise UsageError("--model builtin needs a task (denoise, deblur, ...)")
        loaded = _load_card(builtin_card(task, scale=scale, style=style), notify, progress)
    elif ref.startswith("hf:"):
        from imgrestore.zoo import hub

        folder = hub.fetch(ref)
        loaded = load_model_dir(folder, check_hash=True, source=ref)
    elif (found := find_card(ref)) is not None:
        loaded = _load_card(found, notify, progress)
    elif Path(ref).exists():
        loaded = load_path(Path(ref), task=task, scale=scale, style=style)
    else:
        raise UsageError(
            f"{ref}: no such model, file or folder; `imgrestore models list` shows the names"
        )
    _check_agrees(loaded, task=task, scale=scale)
    return loaded


def _check_agrees(loaded: LoadedModel, *, task: str | None, scale: int | None) -> None:
    if task is not None and loaded.task is not None and loaded.task != task:
        raise UsageError(f"{loaded.name} is a {loaded.task} model, not {task}")
    if scale is not None and loaded.scale != scale:
        raise UsageError(f"{loaded.name} scales x{loaded.scale}, not x{scale}")


# --- cards: cached (see .install), built in, or a built-in stand-in ------------------------


def _load_card(c: Card, notify: Notify, progress: DownloadProgress | None, *,
               default: bool = False) -> LoadedModel:
    if c.builtin:
        return load_model_dir(builtin_dir(c), card=c, check_hash=True,
                              source=f"builtin:{c.name}")
    fallback = builtin_fallback(c) if default else None
    try:
        folder = ensure_cached(c, notify=notify, progress=progress, retry=fallback is None)
    except WeightsError as missing:
        if fallback is None:
            others = [o.name for o in CARDS.values() if o.builtin and o.task == c.task]
            if default and others:  # e.g. upscale x3: say which built-ins exist
                raise WeightsError(f"{missing} (no built-in model stands in for it; the "
                                   f"built-in {c.task} models: {', '.join(others)})") from None
            raise
        stand_in = _load_card(fallback, notify, progress)
        return dataclasses.replace(stand_in, fallback=describe(c, fallback, missing))
    return load_model_dir(folder, card=c)


def builtin_fallback(c: Card) -> Card | None:
    """The built-in card that can stand in for ``c`` (same task, scale, style and input
    kind), or ``None``."""
    for other in CARDS.values():
        if (
            other is not c
            and other.builtin
            and (other.task, other.scale, other.style, other.input_kind)
            == (c.task, c.scale, c.style, c.input_kind)
        ):
            return other
    return None


def builtin_dir(c: Card) -> Path:
    """The model folder of built-in card ``c`` inside the installed package."""
    from importlib.resources import files

    source = next(s for s in c.sources if s.kind == "builtin")
    return Path(str(files("imgrestore.zoo").joinpath("builtin", source.location)))


# --- folders and files --------------------------------------------------------------------


def load_model_dir(folder: str | Path, *, card: Card | None = None, check_hash: bool = True,
                   source: str | None = None) -> LoadedModel:
    """Load an imgrestore model folder (``model.safetensors`` + ``imgrestore.json``).

    The weights are checked against the sha256 ``imgrestore.json`` records (hashed again
    only when the file changed since it last matched: :func:`cache.matches_sha256`).
    """
    folder = Path(folder)
    meta = read_meta(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise WeightsError(f"{folder}: no {WEIGHTS_FILE}; not an imgrestore model folder")
    if check_hash and meta.sha256 and not cache.matches_sha256(weights, meta.sha256):
        fix = (f"; remove it and download or import it again: imgrestore models remove "
               f"{card.name}" if card is not None and not card.builtin else "")
        raise WeightsError(
            f"{weights}: corrupt: its content does not match the sha256 recorded in "
            f"imgrestore.json{fix}"
        )
    state = read_checkpoint(weights)
    spec = meta.arch_spec()
    net = _build(spec, state, where=weights)
    if card is None and meta.name:
        found = find_card(meta.name)
        card = found if found is not None and found.config == meta.configuration else None
    return LoadedModel(
        net=net, spec=spec, card=card, meta=meta, scale=meta.scale,
        prefers_whole_image=meta.prefers_whole_image, source=source or str(folder),
    )


def load_path(path: Path, *, card: Card | None = None, task: str | None = None,
              scale: int | None = None, style: str | None = None) -> LoadedModel:
    """Load a local weights file or model folder.

    With ``card``, the file must be weights for the card's configuration. Without one,
    the family and configuration are recognised from the keys and shapes and the card
    chosen from ``task``/``scale``/``style`` when one fits.
    """
    if path.is_dir() or (path.name == WEIGHTS_FILE and is_model_dir(path.parent)):
        folder = path if path.is_dir() else path.parent
        loaded = load_model_dir(folder)
        if card is not None and loaded.spec.name != card.config:
            raise WeightsError(f"{folder}: holds {loaded.spec.name}, not {card.config}")
        return loaded
    state = read_checkpoint(path)
    if card is None:
        detected = detect(state)
        if detected is None:
            first = ", ".join(list(state)[:3])
            raise WeightsError(f"{path}: {unknown_family()} (keys: {first}...)")
        card = _matching_card(detected, task=task, scale=scale, style=style)
        if card is None:
            spec = _spec_for(detected, path, scale or 1)
            net = _build(spec, state, where=path)
            meta = ModelMeta(family=spec.family, kwargs=dict(spec.kwargs), task=task,
                             scale=scale or 1, name=path.stem)
            return LoadedModel(net, spec, None, meta, scale or 1, False, str(path))
    meta = card_meta(card, {"filename": path.name})
    spec = meta.arch_spec()
    net = _build(spec, state, where=path)
    return LoadedModel(net, spec, card, meta, card.scale, card.prefers_whole_image, str(path))


def _matching_card(detected: Detected, *, task: str | None, scale: int | None,
                   style: str | None) -> Card | None:
    fits = [
        c for c in CARDS.values()
        if c.config in detected.configs
        and (task is None or c.task == task)
        and (scale is None or c.scale == scale)
        and (style is None or c.style == style)
    ]
    fits.sort(key=lambda c: not c.default)
    return fits[0] if fits else None


def _spec_for(detected: Detected, path: Path, scale: int) -> ArchSpec:
    if detected.configs:
        base = SPECS[detected.configs[0]]
        return ArchSpec(base.name, base.family, base.kwargs, base.in_channels,
                        base.out_channels, (scale,))
    return ModelMeta(family=detected.family, kwargs=dict(detected.kwargs), scale=scale,
                     name=path.stem).arch_spec()


def _build(spec: ArchSpec, state: Mapping[str, torch.Tensor], *, where: object) -> nn.Module:
    """Build ``spec``'s network and load ``state`` into it strictly, after checking it fits:
    its arguments and size are bounded and its shapes compared on the meta device first."""
    from imgrestore.archs import build

    released = SPECS.get(spec.name)
    if released is not None and dict(released.kwargs) == dict(spec.kwargs):
        check_family(state, spec.name, where=where)
    sized = sized_network(spec.family, spec.kwargs, where=where)
    check_fits(state, shapes(sized.state_dict()), where=where, config=spec.name)
    net = build(spec.family, **spec.kwargs)
    net.load_state_dict(state, strict=True)
    return net.eval()
