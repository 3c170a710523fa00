"""The imgrestore model format: a folder with ``model.safetensors`` and ``imgrestore.json``.

The same format serves the cache, ``imgrestore train`` runs and Hugging Face Hub
repositories. ``imgrestore.json`` says how to build the network the weights belong to
(a released configuration name, or a family plus constructor arguments) and what the
model is for::

    {"format": 1, "family": "mirnetv2", "configuration": "mirnetv2_real_denoising",
     "task": "denoise", "scale": 1, "licence": "...", "sha256": "<of model.safetensors>"}

This module is torch-free except :func:`write_model_dir`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore import archs
from imgrestore.archs import FAMILIES, SPECS, ArchSpec
from imgrestore.errors import WeightsError
from imgrestore.files import atomic_write, replacing
from imgrestore.zoo.cache import sha256_file

if TYPE_CHECKING:
    import torch

WEIGHTS_FILE = "model.safetensors"
META_FILE = "imgrestore.json"
FORMAT_VERSION = 1
#: The largest ``imgrestore.json`` read (a real one is well under 4 KB).
MAX_META_BYTES = 256 * 1024


@dataclass(frozen=True)
class ModelMeta:
    """What ``imgrestore.json`` holds."""

    family: str
    #: A configuration name from :data:`imgrestore.archs.SPECS`, or ``None`` when
    #: ``kwargs`` gives the constructor arguments (e.g. a narrower trained model).
    configuration: str | None = None
    kwargs: Mapping[str, Any] | None = None
    task: str | None = None
    scale: int = 1
    input_kind: str = "rgb"
    style: str | None = None
    licence: str | None = None
    #: Card name for cached official weights; a free label otherwise.
    name: str | None = None
    prefers_whole_image: bool = False
    #: Hex sha256 of ``model.safetensors`` (checked by ``imgrestore models verify``).
    sha256: str | None = None
    #: Where the weights came from: ``url``, ``filename``, ``sha256`` of the original
    #: file and ``trust`` (``pinned``: matched the card; ``first-use``: recorded on first
    #: download; ``imported``: given by the user).
    source: Mapping[str, Any] | None = None
    format: int = FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    def arch_spec(self) -> ArchSpec:
        """The network configuration these weights need."""
        if self.configuration is not None and self.kwargs is None:
            base = SPECS[self.configuration]
            return ArchSpec(base.name, base.family, base.kwargs, base.in_channels,
                            base.out_channels, (self.scale,))
        kwargs = dict(self.kwargs or {})
        family = archs.family(self.family)
        name = self.configuration or self.name or f"custom_{self.family}"
        return ArchSpec(name, self.family, kwargs, family.in_channels(kwargs),
                        family.out_channels(kwargs), (self.scale,))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
        return {**extra, **{k: v for k, v in data.items() if v is not None}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: object) -> ModelMeta:
        """Parse and check ``imgrestore.json`` content; :class:`WeightsError` if unusable."""
        if not isinstance(data, Mapping):
            raise WeightsError(f"{where}: {META_FILE} must hold a JSON object")
        known = set(cls.__dataclass_fields__) - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        _check_types(values, where)
        configuration = values.get("configuration")
        if "family" not in values and configuration in SPECS:
            values["family"] = SPECS[configuration].family
        family = values.get("family")
        if family not in FAMILIES:
            raise WeightsError(
                f"{where}: {META_FILE} names family {family!r}; "
                f"expected one of {', '.join(FAMILIES)}"
            )
        if configuration is not None and configuration not in SPECS:
            if values.get("kwargs") is None:
                raise WeightsError(
                    f"{where}: {META_FILE} names unknown configuration {configuration!r} "
                    "and gives no constructor arguments (kwargs)"
                )
        elif configuration is None and values.get("kwargs") is None:
            raise WeightsError(
                f"{where}: {META_FILE} needs a configuration name or constructor kwargs"
            )
        if configuration in SPECS and SPECS[configuration].family != family:
            raise WeightsError(
                f"{where}: {META_FILE} says family {family!r} but configuration "
                f"{configuration!r} is {SPECS[configuration].family!r}"
            )
        if values.get("format", FORMAT_VERSION) > FORMAT_VERSION:
            raise WeightsError(
                f"{where}: {META_FILE} format {values['format']} is newer than this "
                "imgrestore understands; upgrade imgrestore"
            )
        try:
            return cls(**values, extra=extra)
        except TypeError as exc:
            raise WeightsError(f"{where}: {META_FILE} is malformed ({exc})") from None


#: The JSON types each field of ``imgrestore.json`` may have (None: the field may be null).
_FIELD_TYPES: Mapping[str, tuple[type | None, ...]] = {
    "family": (str,), "configuration": (str, None), "kwargs": (dict, None),
    "task": (str, None), "scale": (int,), "input_kind": (str,), "style": (str, None),
    "licence": (str, None), "name": (str, None), "prefers_whole_image": (bool,),
    "sha256": (str, None), "source": (dict, None), "format": (int,),
}  # fmt: skip
_MAX_SCALE = 8


def _check_types(values: Mapping[str, Any], where: object) -> None:
    """Refuse fields of the wrong JSON type, or out of range (an untrusted folder)."""
    for key, value in values.items():
        allowed = _FIELD_TYPES.get(key, ())
        ok = any(value is None if t is None else isinstance(value, t) for t in allowed)
        if ok and isinstance(value, int) and not isinstance(value, bool) and bool in allowed:
            ok = False
        if ok and isinstance(value, bool) and int in allowed and bool not in allowed:
            ok = False
        if not ok:
            names = " or ".join("null" if t is None else _JSON_NAMES[t] for t in allowed)
            raise WeightsError(f"{where}: {META_FILE} field {key!r} must be {names}, "
                               f"not {_short(value)}")
    scale = values.get("scale", 1)
    if not 1 <= scale <= _MAX_SCALE:
        raise WeightsError(f"{where}: {META_FILE} scale {scale} is outside 1..{_MAX_SCALE}")
    if values.get("input_kind", "rgb") not in ("rgb", "dual_pixel"):
        raise WeightsError(f"{where}: {META_FILE} input_kind must be 'rgb' or 'dual_pixel'")


_JSON_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object"}


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def read_meta(folder: Path) -> ModelMeta:
    """Read ``folder/imgrestore.json``."""
    path = Path(folder) / META_FILE
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_META_BYTES + 1)
    except FileNotFoundError:
        raise WeightsError(f"{folder}: no {META_FILE}; not an imgrestore model folder") from None
    except OSError as exc:
        raise WeightsError(f"{path}: unreadable ({exc.strerror or exc})") from None
    if len(raw) > MAX_META_BYTES:
        raise WeightsError(f"{path}: larger than {MAX_META_BYTES // 1024} KB; not a model "
                           "description")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: unreadable ({exc})") from None
    except RecursionError:
        raise WeightsError(f"{path}: unreadable (nested too deeply)") from None
    return ModelMeta.from_json(data, path)


def is_model_dir(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / META_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def write_meta(path: Path, meta: ModelMeta) -> None:
    """Write ``imgrestore.json`` atomically."""
    text = json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n"
    atomic_write(Path(path), text.encode("utf-8"))


def write_model_dir(folder: Path, state: Mapping[str, torch.Tensor], meta: ModelMeta) -> ModelMeta:
    """Write ``state`` and ``meta`` into ``folder`` as ``model.safetensors`` and
    ``imgrestore.json``, each atomically (other files in ``folder`` are left alone).

    Returns ``meta`` with the sha256 of the written ``model.safetensors``.
    """
    from imgrestore.zoo.checkpoints import save_safetensors

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(folder / WEIGHTS_FILE) as tmp:
        save_safetensors(state, tmp)
        digest = sha256_file(tmp)
    meta = replace(meta, sha256=digest)
    write_meta(folder / META_FILE, meta)
    return meta
