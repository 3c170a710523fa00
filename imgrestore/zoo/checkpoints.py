"""Reading checkpoints safely, recognising what they hold, and checking they fit.

Official checkpoints come in several containers: ``{"state_dict": ...}`` (MPRNet,
MIRNet; keys often prefixed ``module.`` by ``DataParallel``), ``{"params": ...}`` or
``{"params_ema": ...}`` (MIRNet-v2, BasicSR), or a bare state dict. Ours are
safetensors. Pickles are only ever read with ``torch.load(weights_only=True)``.

The family and its constructor arguments are read from key names and tensor shapes
(as spandrel does), so a file can be matched to a configuration and a mismatch
explained before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore.archs import SPECS, Family
from imgrestore.errors import WeightsError

if TYPE_CHECKING:
    import torch

StateDict = dict[str, "torch.Tensor"]
Shapes = Mapping[str, tuple[int, ...]]

#: Containers that wrap the weights, in the order they are preferred (the official
#: MIRNet-v2 demo loads ``params`` even when ``params_ema`` is present).
CONTAINER_KEYS = ("state_dict", "params", "params_ema")
PREFIX = "module."


def read_checkpoint(path: Path) -> StateDict:
    """The state dict in ``path`` (``.safetensors`` or a pickled ``.pth``/``.pt``), unwrapped
    from its container and with a ``module.`` prefix removed when every key has it."""
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
    return strip_prefix(state)


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


def unwrap(obj: Any, where: object) -> StateDict:
    """The tensor dict inside a checkpoint container (see :data:`CONTAINER_KEYS`)."""
    import torch

    if isinstance(obj, Mapping):
        for key in CONTAINER_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors and len(tensors) == len(obj) and all(isinstance(k, str) for k in obj):
            return tensors
    found = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, Mapping) else type(obj).__name__
    raise WeightsError(
        f"{where}: no state dict found: expected tensors under one of "
        f"{', '.join(CONTAINER_KEYS)} or at the top level (found: {found})"
    )


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str = PREFIX) -> StateDict:
    """``state`` without ``prefix`` on its keys, when every key has it; else unchanged."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


def shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Key to shape, for a state dict of tensors."""
    return {k: tuple(v.shape) for k, v in state.items()}


# --- recognising the family and its constructor arguments --------------------------------


@dataclass(frozen=True)
class Detected:
    """What a state dict was recognised as."""

    family: Family
    #: Constructor arguments read from the shapes (official names).
    kwargs: Mapping[str, Any]

    @property
    def configs(self) -> tuple[str, ...]:
        """Released configurations these weights fit (several share one network)."""
        return tuple(
            s.name for s in SPECS.values()
            if s.family == self.family and all(s.kwargs.get(k) == v for k, v in self.kwargs.items())
        )

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        fits = f" (fits {', '.join(self.configs)})" if self.configs else ""
        return f"{self.family}({args}){fits}"


def _indices(state: Shapes, prefix: str, contains: str = "") -> set[int]:
    """Distinct integers right after ``prefix`` in the keys containing ``contains``."""
    found = set()
    for key in state:
        if key.startswith(prefix) and contains in key:
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return found


def _has_bias(state: Shapes) -> bool:
    return any(k.endswith(".bias") for k in state)


def _mprnet(s: Shapes) -> dict[str, Any]:
    n_feat, in_c, kernel, _ = s["shallow_feat1.0.weight"]
    tail = s["tail.weight"]
    return dict(
        in_c=in_c,
        out_c=tail[0],
        n_feat=n_feat,
        scale_unetfeats=s["stage1_encoder.encoder_level2.0.body.0.weight"][0] - n_feat,
        scale_orsnetfeats=tail[1] - n_feat,
        num_cab=len(_indices(s, "stage3_orsnet.orb1.body.", ".CA.")),
        kernel_size=kernel,
        reduction=n_feat // s["shallow_feat1.1.CA.conv_du.0.weight"][0],
        bias=_has_bias(s),
    )


def _mirnet(s: Shapes) -> dict[str, Any]:
    n_feat, in_channels, kernel, _ = s["conv_in.weight"]
    height = len(_indices(s, "body.0.body.0.blocks."))
    stride = s["body.0.body.0.blocks.1.0.body.0.weight"][0] // n_feat if height > 1 else 2
    return dict(
        in_channels=in_channels,
        out_channels=s["conv_out.weight"][0],
        n_feat=n_feat,
        kernel_size=kernel,
        stride=stride,
        n_RRG=len(_indices(s, "body.")),
        n_MSRB=len(_indices(s, "body.0.body.", ".blocks.")),
        height=height,
        width=len(_indices(s, "body.0.body.0.blocks.0.")),
        bias=_has_bias(s),
    )


def _mirnetv2(s: Shapes) -> dict[str, Any]:
    n_feat, inp_channels, _, _ = s["conv_in.weight"]
    out_channels = s["conv_out.weight"][0]
    mid = s["body.0.body.0.dau_mid.body.0.weight"][0]
    return dict(
        inp_channels=inp_channels,
        out_channels=out_channels,
        n_feat=n_feat,
        chan_factor=mid / n_feat,
        n_RRG=len(_indices(s, "body.")),
        n_MRB=len(_indices(s, "body.0.body.", ".dau_top.")),
        bias=_has_bias(s),
        # The task changes only the forward: without the image residual ('defocus
        # deblurring') the input may have more channels than the output, and only then.
        task="defocus_deblurring" if inp_channels != out_channels else None,
    )


#: Family -> (a key only that family has, reader of constructor arguments).
_READERS: Mapping[Family, tuple[str, Callable[[Shapes], dict[str, Any]]]] = {
    "mprnet": ("shallow_feat1.0.weight", _mprnet),
    "mirnet": ("body.0.body.0.blocks.0.0.body.0.weight", _mirnet),
    "mirnetv2": ("body.0.body.0.dau_top.body.0.weight", _mirnetv2),
}


def detect(state: Mapping[str, Any]) -> Detected | None:
    """Recognise the family and constructor arguments of a state dict (tensors or shapes),
    or ``None`` when it is not MPRNet, MIRNet or MIRNet-v2."""
    s = {k: tuple(v) if isinstance(v, (tuple, list)) else tuple(v.shape) for k, v in state.items()}
    for family, (marker, reader) in _READERS.items():
        if marker in s:
            try:
                return Detected(family, reader(s))
            except (KeyError, IndexError, ValueError, ZeroDivisionError):
                return None
    return None


# --- checking a state dict against the network it must load into --------------------------


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
    if detected is None and _READERS[spec.family][0] in state:
        return  # the right family, damaged: check_fits lists what is missing
    if detected is None:
        first = ", ".join(list(state)[:3]) or "no keys"
        raise WeightsError(
            f"{where}: not an MPRNet, MIRNet or MIRNet-v2 state dict (keys: {first}...); "
            f"expected {config}"
        )
    if config not in detected.configs:
        want = ", ".join(f"{k}={spec.kwargs[k]}" for k in detected.kwargs if k in spec.kwargs)
        raise WeightsError(
            f"{where}: holds {detected.describe()}, but {config} expects "
            f"{spec.family}({want})"
        )


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
