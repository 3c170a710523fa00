"""Reading checkpoints safely, recognising what they hold, and checking they fit.

Official checkpoints come in several containers (``{"state_dict": ...}``, keys often
prefixed ``module.`` by ``DataParallel``; ``{"params": ...}`` or ``{"params_ema": ...}``,
BasicSR's), as each family's descriptor lists them, or a bare state dict. Ours are
safetensors, and our training checkpoints (``checkpoints/latest.pt``, ``best.pt``) keep
their weights under ``ema`` and ``model``. Pickles are only ever read with
``torch.load(weights_only=True)``.

Which family a state dict is, and with which constructor arguments, is read from its
key names and shapes by :mod:`imgrestore.archs.detection` (each family's descriptor
says how); here the result explains a mismatch before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore.archs import FAMILIES, SPECS
from imgrestore.archs.detection import containers, detect, filter_keys, recognise
from imgrestore.errors import WeightsError

if TYPE_CHECKING:
    import torch
    from torch import nn

StateDict = dict[str, "torch.Tensor"]
Shapes = Mapping[str, tuple[int, ...]]


def read_checkpoint(path: Path) -> StateDict:
    """The state dict in ``path`` (``.safetensors`` or a pickled ``.pth``/``.pt``), unwrapped
    from its container, its keys filtered as its family's descriptor says (a ``module.``
    prefix removed when every key has it)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    kind = _container(path)
    if kind == "safetensors":
        state = _read_safetensors(path)
    elif kind == "torch":
        state = unwrap(_read_pickle(path), path)
    else:
        raise WeightsError(f"{path}: not a weights file (neither a PyTorch checkpoint nor "
                           "safetensors)")
    check_finite(state, where=path)
    return filter_keys(state)


def check_finite(state: Mapping[str, torch.Tensor], *, where: object) -> None:
    """Refuse weights holding NaN or infinite values (the network would output black)."""
    import torch

    bad = [k for k, v in state.items()
           if v.is_floating_point() and v.numel() and not bool(torch.isfinite(v).all())]
    if bad:
        raise WeightsError(
            f"{where}: {len(bad)} weight tensor{'s' * (len(bad) != 1)} hold NaN or infinite "
            f"values (first: {bad[0]}); refused"
        )


def _container(path: Path) -> str | None:
    """``safetensors``, ``torch`` (a zip archive or a legacy pickle) or None, by content."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix == ".safetensors" or (len(head) == 9 and head[8:9] == b"{"):
        return "safetensors"
    if head.startswith((b"PK\x03\x04", b"\x80")):
        return "torch"
    return None


def _read_safetensors(path: Path) -> StateDict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None


def _read_pickle(path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise WeightsError(
            f"{path}: refused: the file holds Python objects other than tensors, which "
            f"could run code when loaded ({first})"
        ) from None
    except Exception as exc:  # torch.load raises KeyError, IndexError... on other files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        first = first[:200] if isinstance(exc, (RuntimeError, EOFError, OSError, ValueError)) \
            else f"{type(exc).__name__}{': ' + first[:200] if first else ''}"
        raise WeightsError(
            f"{path}: not a readable checkpoint, truncated or corrupt ({first})"
        ) from None


#: Where an imgrestore training checkpoint (:mod:`imgrestore.training.checkpoint`) keeps
#: weights, preferred first: the EMA (what validation and export use, when the run keeps
#: one), else the model.
TRAINING_CONTAINERS = ("ema", "model")


def _is_training_checkpoint(obj: Mapping) -> bool:
    return isinstance(obj.get("format"), int) and isinstance(obj.get("model"), Mapping)


def unwrap(obj: Any, where: object) -> StateDict:
    """The tensor dict inside a checkpoint container (an imgrestore training checkpoint's,
    else the registered families' ``containers``, preferred first)."""
    import torch

    if isinstance(obj, Mapping):
        keys = TRAINING_CONTAINERS if _is_training_checkpoint(obj) else containers()
        for key in keys:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors and len(tensors) == len(obj) and all(isinstance(k, str) for k in obj):
            return tensors
    found = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, Mapping) else type(obj).__name__
    raise WeightsError(
        f"{where}: no state dict found: expected tensors under one of "
        f"{', '.join(containers())} or at the top level (found: {found})"
    )


def shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Key to shape, for a state dict of tensors."""
    return {k: tuple(v.shape) for k, v in state.items()}


# --- checking a state dict against the network it must load into --------------------------


def unknown_family() -> str:
    """How a state dict that no registered family recognises is described."""
    titles = [f.title.split(" (")[0] for f in FAMILIES.values()]
    names = ", ".join(titles[:-1]) + f" or {titles[-1]}" if len(titles) > 1 else titles[0]
    return f"not an {names} state dict"


def check_fits(state: Mapping[str, Any], expected: Shapes, *, where: object, config: str) -> None:
    """Refuse ``state`` unless it has exactly the keys and shapes in ``expected``.

    The message names the configuration expected, what the file looks like instead,
    and the first differences.
    """
    got = shapes(state)
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and got[k] != tuple(expected[k])]
    if not (missing or unexpected or wrong):
        return
    parts = []
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} tensors of the wrong shape (first: {k} is {list(got[k])}, "
            f"expected {list(expected[k])})"
        )
    if missing:
        parts.append(f"{len(missing)} missing keys (first: {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
    detected = detect(state)
    looks = f"; the file looks like {detected.describe()}" if detected else ""
    raise WeightsError(f"{where}: does not fit {config}: {'; '.join(parts)}{looks}")


def expected_shapes(config: str) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the released configuration ``config``, built on the meta device
    (no memory, no initialisation)."""
    import torch

    from imgrestore.archs import create

    with torch.device("meta"):
        net = create(config)
    return shapes(net.state_dict())


def check_family(state: Mapping[str, Any], config: str, *, where: object) -> None:
    """Refuse ``state`` unless its family and constructor arguments, as read from its
    shapes, are those of the released configuration ``config`` (a quick first check)."""
    spec = SPECS[config]
    detected = detect(state)
    found = recognise(state) if detected is None else None
    if found is not None and found.name == spec.family:
        return  # the right family, damaged: check_fits lists what is missing
    if detected is None:
        first = ", ".join(list(state)[:3]) or "no keys"
        raise WeightsError(f"{where}: {unknown_family()} (keys: {first}...); expected {config}")
    if config not in detected.configs:
        want = ", ".join(f"{k}={spec.kwargs[k]}" for k in detected.kwargs if k in spec.kwargs)
        raise WeightsError(
            f"{where}: holds {detected.describe()}, but {config} expects "
            f"{spec.family}({want})"
        )


#: A network from a model folder or a weights file may have at most this many times the
#: parameters of its family's largest released configuration.
MAX_PARAMS_FACTOR = 4


def sized_network(family_name: str, kwargs: Mapping[str, Any], *, where: object) -> nn.Module:
    """The network ``kwargs`` describe, built on the meta device (no memory, no time), once
    they are within the family's declared bounds and its size within
    :data:`MAX_PARAMS_FACTOR` times the family's largest released configuration.

    An untrusted ``imgrestore.json`` (``{"n_feat": 30000}``), or shapes that claim a huge
    width, can so never make imgrestore allocate without limit or build for ever.
    """
    import torch

    from imgrestore.archs import build, family
    from imgrestore.archs.descriptor import ArgumentError

    descriptor = family(family_name)
    try:
        descriptor.check_arguments(kwargs)
    except ArgumentError as exc:
        raise WeightsError(f"{where}: {exc}; refused (outside what {descriptor.title} "
                           "allows)") from None
    try:
        with torch.device("meta"):
            net = build(family_name, **kwargs)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
        raise WeightsError(f"{where}: cannot build {family_name} ({exc})") from None
    count = sum(p.numel() for p in net.parameters())
    configurations = descriptor.configurations.values()
    # A family with no released weights (a plug-in, a test's toy) is bounded by its own.
    released = [c.params for c in configurations if c.released]
    kind = "released" if released else "known"
    largest = max(released or [c.params for c in configurations], default=0)
    if largest and count > MAX_PARAMS_FACTOR * largest:
        raise WeightsError(
            f"{where}: a {family_name} network of {count / 1e6:.1f} M parameters, more than "
            f"{MAX_PARAMS_FACTOR}x the largest {kind} one ({largest / 1e6:.1f} M); refused"
        )
    return net


def check_config(state: Mapping[str, Any], config: str, *, where: object) -> None:
    """Refuse ``state`` unless it is exactly the weights of the released configuration
    ``config``: same family and arguments, then the same keys and shapes."""
    check_family(state, config, where=where)
    check_fits(state, expected_shapes(config), where=where, config=config)


# --- writing ------------------------------------------------------------------------------


def save_safetensors(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write ``state`` to ``path`` as safetensors, keeping every key.

    MPRNet and MIRNet share one tensor between several keys; safetensors refuses
    shared storage, so every tensor is written from its own contiguous copy.
    """
    from safetensors.torch import save_file

    save_file(
        {k: v.detach().to("cpu").clone().contiguous() for k, v in state.items()},
        str(path),
        metadata={"format": "pt"},
    )
