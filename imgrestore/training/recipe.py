"""A training recipe: typed sections read from TOML, overridable with ``key=value``.

Every field has a default, so a recipe file only states what differs. A recipe file's
top-level tables are the sections below (``[model]``, ``[data]``, ``[optim]``, ...);
unknown tables or keys are errors, and every value is type-checked, both in files and
in ``--set section.key=value`` overrides (the value is parsed as a TOML value, falling
back to a bare string: ``--set optim.lr=1e-4``, ``--set data.degradation.sigma=[5,30]``).

This module is torch-free.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imgrestore._toml import tomllib
from imgrestore.archs import DEFAULT_FAMILY, FAMILIES, FamilyName
from imgrestore.errors import UsageError


@dataclass
class ModelSection:
    """Which network to train."""

    #: A registered family (:data:`imgrestore.archs.FAMILIES`).
    family: FamilyName = FamilyName(DEFAULT_FAMILY)
    #: A released configuration (``imgrestore.archs.SPECS``) whose constructor arguments
    #: are the starting point; ``kwargs`` then override single arguments.
    configuration: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: What the trained model is for (written to ``imgrestore.json``).
    task: Literal["denoise", "deblur", "derain", "enhance", "upscale"] = "denoise"
    style: str = ""
    #: Output size / input size; > 1 means the input is bicubic-upsampled first.
    scale: int = 1
    #: Weights to start from (a model name, folder, ``hf:`` reference or file), as
    #: ``--from``, which overrides it; empty: from scratch. The network is then the one
    #: those weights belong to.
    pretrained: str = ""


@dataclass
class DataSection:
    """Where the images come from and how patches are made."""

    #: Training folder: paired (``input/`` + ``target/`` or ``groundtruth/``, ``*_crops``,
    #: dual-pixel ``inputL/ inputR/ target/``) or clean-only (images, degraded on the fly).
    train: str = ""
    #: Validation folder (same layouts); empty: no validation.
    val: str = ""
    layout: Literal["auto", "paired", "clean"] = "auto"
    #: Synthetic degradation for clean-only folders (see :mod:`imgrestore.ops.degrade`), e.g.
    #: ``{kind = "gaussian_noise", sigma = [0, 50]}``.
    degradation: dict[str, Any] = field(default_factory=dict)
    #: Training patch size (the largest one under progressive learning).
    patch: int = 128
    #: Samples per loader batch, per process (the largest one under progressive learning).
    batch: int = 8
    #: ``dihedral8``: uniform over the 8 flips/rotations; ``mprnet9``: MPRNet's 9-way
    #: choice (identity twice as likely); ``none``.
    augment: Literal["dihedral8", "mprnet9", "none"] = "dihedral8"
    #: Probability of MPRNet's saturation jitter (x U(0.8, 1.2) on input and target).
    saturation_jitter: float = 0.0
    #: Redraw training windows (up to 8) whose target has less detail than this (mean
    #: absolute difference of neighbouring pixels, 0-1 scale); 0: off. Too high a value
    #: leaves flat regions untrained (docs/training.md).
    min_detail: float = 0.0
    #: Each epoch visits every image this many times (for small personal sets); each
    #: visit is its own sample (own crop, flip and noise).
    repeat: int = 1
    #: Keep decoded images in memory: ``auto`` while they fit ``cache_gb``.
    cache: bool | Literal["auto"] = "auto"
    #: Memory the decoded images may take per process for ``cache = "auto"``, in GB;
    #: 0: a quarter of this machine's memory (shared by its processes).
    cache_gb: float = 0.0
    workers: int = 0
    #: Keep the last, smaller batch of each epoch (MPRNet, MIRNet) instead of dropping it
    #: (BasicSR, MIRNet-v2; needed by progressive learning).
    drop_last: bool = True
    #: Decode every image before training; unreadable ones are skipped with a line.
    check: bool = True
    #: The run stops if fewer than this share of the images can be read.
    min_readable: float = 0.9


@dataclass
class MixupSection:
    """MixUp of input and target pairs within a batch (the official variants)."""

    #: ``per_sample``: one lambda per sample (MPRNet, MIRNet); ``per_batch``: one lambda
    #: for the whole batch (MIRNet-v2).
    kind: Literal["none", "per_sample", "per_batch"] = "none"
    #: lambda ~ Beta(alpha, alpha).
    alpha: float = 1.2
    #: Mix only in epochs after this one (MPRNet/MIRNet: 5).
    after_epoch: int = 0
    #: Probability that a batch is mixed (MIRNet-v2: 0.5).
    prob: float = 1.0


@dataclass
class LossSection:
    kind: Literal["charbonnier", "l1"] = "charbonnier"
    #: Charbonnier epsilon (sqrt((x - y)^2 + eps^2)).
    eps: float = 1e-3
    #: Weight of MPRNet's edge loss (0.05 in MPRNet deblurring/deraining; 0 = off).
    edge_weight: float = 0.0
    #: Weight of the colour term (Charbonnier on BT.601 colour differences and on their
    #: magnitude; keeps the colour of low-light enhancement; 0 = off).
    color_weight: float = 0.0
    #: Include the colour term's per-image mean chroma (false: its per-pixel terms only;
    #: per-image terms can teach a network to set colour from its global pooling, which
    #: then sees other statistics on a whole photo than on a training patch).
    color_image_mean: bool = True
    #: Weight of the brightness term (Charbonnier on each image's mean luma; holds the
    #: exposure low-light enhancement picks; 0 = off).
    brightness_weight: float = 0.0
    #: Clamp outputs to [0, 1] before the loss (MPRNet/MIRNet denoising).
    clamp: bool = False
    #: Networks returning several stages (MPRNet): ``sum`` all, or only the ``final``.
    stages: Literal["sum", "final"] = "sum"


@dataclass
class OptimSection:
    name: Literal["adam", "adamw"] = "adam"
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    #: Global-norm gradient clipping (MIRNet-v2: 0.01); 0 = off.
    clip_grad_norm: float = 0.0


@dataclass
class ScheduleSection:
    """Learning-rate curve (:mod:`.schedules`)."""

    kind: Literal["warmup_cosine", "cyclic_cosine", "constant"] = "warmup_cosine"
    #: ``warmup_cosine`` steps per ``epoch`` (MPRNet/MIRNet) or per ``iteration``.
    unit: Literal["epoch", "iteration"] = "iteration"
    #: Linear warmup length in ``unit``s.
    warmup: int = 0
    min_lr: float = 1e-6
    #: Added to the cosine period (MPRNet denoising: 40, so the curve never reaches min_lr).
    extra_period: int = 0
    #: ``cyclic_cosine``: cycle lengths in iterations, per-cycle minima and weights.
    periods: list[int] = field(default_factory=list)
    eta_mins: list[float] = field(default_factory=list)
    restart_weights: list[float] = field(default_factory=list)
    #: ``literal``: what MIRNet-v2's code does; ``intent``: what its comment says.
    mode: Literal["literal", "intent"] = "literal"


@dataclass
class ProgressiveSection:
    """MIRNet-v2 progressive learning; empty lists: fixed patch and batch."""

    patches: list[int] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    #: Iterations spent in each stage (their sum is the run length).
    iterations: list[int] = field(default_factory=list)


@dataclass
class TrainSection:
    #: Run length in optimizer steps; or give ``epochs`` instead.
    iterations: int = 0
    epochs: int = 0
    #: Loader batches per optimizer step (emulates a larger global batch).
    accumulate: int = 1
    seed: int = 1234
    device: str = "auto"
    #: Mixed precision on CUDA (``bf16``/``fp16``); CPU runs are fp32.
    amp: Literal["off", "bf16", "fp16"] = "off"
    #: Exponential moving average of the weights (e.g. 0.999); 0 = off.
    ema: float = 0.0
    log_every: int = 10
    #: Checkpoint every this many iterations (also at each validation and at the end).
    save_every: int = 1000
    tensorboard: bool = False


@dataclass
class ValSection:
    #: Validate every this many ``unit``s; 0 = only at the end.
    every: int = 1000
    unit: Literal["epoch", "iteration"] = "iteration"
    #: Center crop of this size before validation (MPRNet: 256 / 128); 0 = whole images.
    crop: int = 0
    #: PSNR/SSIM on the luma (BT.601) channel, and pixels cropped at each border.
    y_channel: bool = False
    crop_border: int = 0
    #: Round outputs and targets to 8 bits before the metrics.
    quantize: bool = False
    #: Use at most this many validation images; 0 = all.
    limit: int = 0
    #: Seed of the synthetic degradation of clean validation images.
    seed: int = 0


@dataclass
class Recipe:
    name: str = "run"
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    mixup: MixupSection = field(default_factory=MixupSection)
    loss: LossSection = field(default_factory=LossSection)
    optim: OptimSection = field(default_factory=OptimSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    progressive: ProgressiveSection = field(default_factory=ProgressiveSection)
    train: TrainSection = field(default_factory=TrainSection)
    val: ValSection = field(default_factory=ValSection)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- reading and checking -------------------------------------------------------------------


def load_recipe(path: str | Path, overrides: Iterable[str] = ()) -> Recipe:
    """Read the TOML recipe at ``path`` and apply ``key=value`` ``overrides``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: unreadable ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    data.setdefault("name", path.stem)
    recipe = recipe_from_dict(data, where=path)
    return apply_overrides(recipe, overrides)


def recipe_from_dict(data: Mapping[str, Any], *, where: object = "recipe") -> Recipe:
    """Build a checked :class:`Recipe` from nested mappings."""
    from imgrestore.ops.degrade import check_spec
    from imgrestore.training.bounds import check_bounds

    recipe = _build(Recipe, data, where, "")
    check_bounds(recipe, where)
    if recipe.data.degradation:
        try:
            check_spec(recipe.data.degradation)
        except ValueError as exc:
            raise UsageError(f"{where}: data.degradation: {exc}") from None
    return recipe


def apply_overrides(recipe: Recipe, overrides: Iterable[str]) -> Recipe:
    """A copy of ``recipe`` with each ``section.key=value`` applied (type-checked)."""
    data = recipe.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.lr=1e-4")
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                raise UsageError(f"--set {key}: {part!r} is not a recipe section")
            target = target[part]
        target[parts[-1]] = parse_value(raw)
    return recipe_from_dict(data, where="--set")


def parse_value(raw: str) -> Any:
    """A TOML value (``1e-4``, ``true``, ``[1, 2]``, ``"x"``), else the bare string."""
    try:
        return tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return raw.strip()


def _build(cls: type, data: Mapping[str, Any], where: object, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: {prefix.rstrip('.') or 'recipe'} must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UsageError(
            f"{where}: unknown recipe key {prefix}{unknown[0]} "
            f"(known: {', '.join(sorted(names))})"
        )
    values = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, value, where, f"{prefix}{name}.")
        else:
            values[name] = check_type(value, tp, f"{where}: {prefix}{name}")
    return cls(**values)


def check_type(value: Any, tp: Any, what: str) -> Any:
    """``value`` converted to ``tp`` (int -> float, tuple -> list) or :class:`UsageError`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if tp is FamilyName:
        if value in FAMILIES:
            return value
        raise UsageError(f"{what} = {value!r}: expected one of {', '.join(FAMILIES)}")
    if origin is Literal:
        if value in args:
            return value
        raise UsageError(f"{what} = {value!r}: expected one of {', '.join(map(str, args))}")
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return check_type(value, arg, what)
            except UsageError:
                continue
        raise UsageError(f"{what} = {value!r}: expected {tp}")
    if tp is type(None):
        if value is None:
            return value
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is list:
        if isinstance(value, (list, tuple)):
            return [check_type(v, args[0], f"{what}[{i}]") for i, v in enumerate(value)]
    elif origin is dict:
        if isinstance(value, Mapping):
            return dict(value)
    else:  # pragma: no cover - a field type this checker does not know
        raise TypeError(f"unsupported recipe field type {tp}")
    name = getattr(tp, "__name__", str(tp))
    raise UsageError(f"{what} = {value!r}: expected {name}")


__all__ = [
    "DataSection",
    "LossSection",
    "MixupSection",
    "ModelSection",
    "OptimSection",
    "ProgressiveSection",
    "Recipe",
    "ScheduleSection",
    "TrainSection",
    "ValSection",
    "apply_overrides",
    "check_type",
    "load_recipe",
    "parse_value",
    "recipe_from_dict",
]
