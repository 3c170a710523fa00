"""What imgrestore knows about a network family, as data: :class:`FamilyDescriptor`.

A family (MPRNet, MIRNet, MIRNet-v2) is one folder under ``imgrestore/archs/``: the
network, readable beside its paper, and one ``DESCRIPTOR`` that says everything else
the project needs to know about it: its configurations, how to size and read its input
and output, the arguments its constructor accepts, how to recognise its checkpoints,
how much memory a forward takes, which memory layout and precisions suit each device,
and the licence of the authors' weights. Code outside ``archs/`` reads these fields and
never asks which family it holds.

Like spandrel's ``ImageModelDescriptor`` the facts are declared, not probed; like timm's
``default_cfgs`` the configurations are a table. Unlike both, one descriptor serves a
whole family, every field has a meaning the engine, the zoo or training acts on, and a
field is added with a default, so existing descriptors keep working.

This module is torch-free and imports nothing else of imgrestore.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from torch import nn

Precision = Literal["fp32", "fp16", "bf16"]
Layout = Literal["channels_last", "contiguous"]
Backend = Literal["torch", "openvino"]
#: How a configuration with scales other than 1 makes a larger image: ``pre_upsample``,
#: the network keeps the size and takes the input bicubic-upsampled to the output size
#: (all of MPRNet, MIRNet and MIRNet-v2). The only rule the engine implements today.
ScaleRule = Literal["pre_upsample"]
#: State-dict key to tensor shape (detection reads shapes only).
Shapes = Mapping[str, tuple[int, ...]]
T = TypeVar("T")

#: A low precision is declared safe for a family (or a model) when its output stays
#: within this PSNR (dB) of the fp32 output: well under one 8-bit step.
HALF_MIN_PSNR = 50.0


class ArgumentError(ValueError):
    """Constructor arguments outside a family's schema (unknown, wrong type, out of bounds)."""


@dataclass(frozen=True)
class Argument:
    """One constructor argument: its type and the values a model folder may give it.

    ``low``/``high`` bound numbers (inclusive); ``choices`` lists the only values allowed
    (``None`` among them for optional ones). Bounds keep an untrusted ``imgrestore.json``
    from asking for a network that cannot fit in memory.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`ArgumentError` unless ``value`` is allowed for ``name``."""
        if self.choices:
            if value not in self.choices or isinstance(value, bool) != (self.kind is bool):
                allowed = ", ".join(repr(c) for c in self.choices)
                raise ArgumentError(f"{name}={value!r}: expected one of {allowed}")
            return
        numeric = (int, float) if self.kind is float else (self.kind,)
        if not isinstance(value, numeric) or (isinstance(value, bool) and self.kind is not bool):
            raise ArgumentError(f"{name}={value!r}: expected {self.kind.__name__}")
        if self.low is not None and value < self.low:
            raise ArgumentError(f"{name}={value!r}: at least {self.low:g}")
        if self.high is not None and value > self.high:
            raise ArgumentError(f"{name}={value!r}: at most {self.high:g}")


def integer(low: int, high: int) -> Argument:
    return Argument(int, low, high)


def number(low: float, high: float) -> Argument:
    return Argument(float, low, high)


FLAG = Argument(bool)


@dataclass(frozen=True)
class Configuration:
    """One configuration of a family: constructor arguments and what its weights cover."""

    #: Constructor arguments, named exactly as in the official code.
    kwargs: Mapping[str, Any]
    #: Scale factors its weights cover (``(1,)`` for restoration).
    scales: tuple[int, ...] = (1,)
    #: Published by the authors (``False``: one of imgrestore's own, e.g. the compact
    #: built-in models).
    released: bool = True
    #: Parameter count (shared tensors counted once).
    params: int = 0
    #: Measured peak fp32 forward bytes per input pixel; ``None``: the family's.
    bytes_per_pixel: float | None = None


def strip_module_prefix(state: Mapping[str, T]) -> dict[str, T]:
    """``state`` without ``DataParallel``'s ``module.`` key prefix, when every key has it."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


@dataclass(frozen=True)
class CheckpointFormat:
    """How the family's checkpoints look, and how to read a network's arguments from them."""

    #: A state-dict key only this family has.
    marker: str
    #: Constructor arguments read from key names and tensor shapes (as spandrel does).
    read_arguments: Callable[[Shapes], dict[str, Any]]
    #: Keys under which the official files keep the weights, preferred first.
    containers: tuple[str, ...] = ("state_dict",)
    #: Renames a checkpoint's keys to ours (timm's ``checkpoint_filter_fn``).
    filter_keys: Callable[[Mapping[str, Any]], dict[str, Any]] = strip_module_prefix


@dataclass(frozen=True)
class DeviceHints:
    """How a family runs best, and safely, on one kind of device (``cpu``, ``cuda``, ``mps``).

    New preferences (a backend, compilation) are new fields with defaults.
    """

    #: Memory format of the network and its input.
    layout: Layout = "channels_last"
    #: Low precisions whose output stays within :data:`HALF_MIN_PSNR` of fp32 (established
    #: by ``tests/archs/test_precision.py``); ``precision='auto'`` picks the fastest of
    #: them that the engine uses on this device. fp32 is always safe.
    safe_precisions: tuple[Precision, ...] = ()
    #: Runtimes for ``backend='auto'``, fastest first (``torch``, ``openvino``), from
    #: ``benchmarks/official.py``; the first one installed and usable here is taken.
    backends: tuple[Backend, ...] = ("torch",)
    #: Keep the additions (the residual stream) in fp32 when the rest runs in a low
    #: precision: a long chain of residual blocks loses the small updates in bf16's 8-bit
    #: mantissa. The OpenVINO backend keeps its ``Add`` operations fp32 (MPRNet-deblurring
    #: in bf16: 49.9 -> 55.0 dB against fp32 at 7.5x the official fp32 speed;
    #: benchmarks/official.py, docs/performance.md).
    fp32_additions: bool = False


@dataclass(frozen=True)
class Licence:
    """The licence of the authors' released weights."""

    name: str
    url: str


#: The CPU backends of every family so far, fastest first: OpenVINO ran 0.4-0.65x the time of
#: eager PyTorch at fp32 (equal to 1e-5) and 0.1-0.25x in bf16 (benchmarks/official.py,
#: docs/performance.md). No family declares a low precision for the CPU's ``auto``: bf16
#: measures 50+ dB against fp32 on real photos, but the default stays exact (to 1e-5);
#: ``--precision bf16`` opts in.
CPU_BACKENDS: tuple[Backend, ...] = ("openvino", "torch")
#: Device hints where a family says nothing: channels-last (tensor cores), fp32 only.
DEFAULT_HINTS = DeviceHints()


@dataclass(frozen=True)
class FamilyDescriptor:
    """Everything imgrestore knows about one network family beside the network itself."""

    #: Registry name, as ``imgrestore.json`` and recipes write it (``mprnet``).
    name: str
    #: Human-readable name and paper.
    title: str
    #: ``module:Class`` of the network (imported, with torch, only to build one).
    network: str
    #: Every constructor argument the network takes, with its type and bounds.
    arguments: Mapping[str, Argument]
    #: Named configurations (released ones and imgrestore's own).
    configurations: Mapping[str, Configuration]
    checkpoint: CheckpointFormat
    #: Licence of the authors' weights (cards of released weights carry it).
    weights_licence: Licence
    #: The constructor arguments that set the input and output channels.
    input_argument: str
    output_argument: str
    #: Height and width must be multiples of this (the official demos reflect-pad to it).
    size_multiple: int = 1
    scale_rule: ScaleRule = "pre_upsample"
    #: Images the forward returns: 1, or a list of this many whose element 0 is the final
    #: one (MPRNet's stages; training may supervise them all).
    stage_outputs: int = 1
    #: Peak fp32 forward bytes per input pixel of configurations that measure none (the
    #: largest of the family), measured by ``benchmarks/engine.py --only memory``.
    bytes_per_pixel: float = 5000.0
    #: Per device type; others get :data:`DEFAULT_HINTS`.
    devices: Mapping[str, DeviceHints] = field(
        default_factory=lambda: MappingProxyType({"cpu": DeviceHints(layout="contiguous")})
    )

    @property
    def returns_stages(self) -> bool:
        return self.stage_outputs > 1

    def on(self, device_type: str) -> DeviceHints:
        """The hints for ``device_type`` (``cpu``, ``cuda``, ``mps``, ...)."""
        return self.devices.get(device_type, DEFAULT_HINTS)

    def check_arguments(self, kwargs: Mapping[str, Any]) -> None:
        """Raise :class:`ArgumentError` unless every argument is known and within bounds."""
        for name, value in kwargs.items():
            argument = self.arguments.get(name)
            if argument is None:
                known = ", ".join(self.arguments)
                raise ArgumentError(f"{self.name} has no argument {name!r} (known: {known})")
            argument.check(name, value)

    def in_channels(self, kwargs: Mapping[str, Any]) -> int:
        """Input channels of a network built with ``kwargs`` (the class default: 3)."""
        return int(kwargs.get(self.input_argument, 3))

    def out_channels(self, kwargs: Mapping[str, Any]) -> int:
        return int(kwargs.get(self.output_argument, 3))

    def forward_bytes_per_pixel(self, configuration: str) -> float:
        """Measured forward memory per pixel of ``configuration``, else the family's."""
        found = self.configurations.get(configuration)
        if found is not None and found.bytes_per_pixel is not None:
            return found.bytes_per_pixel
        return self.bytes_per_pixel

    def network_class(self) -> type[nn.Module]:
        """The ``nn.Module`` class (imports torch)."""
        module_name, class_name = self.network.split(":")
        return getattr(importlib.import_module(module_name), class_name)


# --- helpers for CheckpointFormat.read_arguments ------------------------------------------


def indices(state: Shapes, prefix: str, contains: str = "") -> set[int]:
    """Distinct integers right after ``prefix`` in the keys containing ``contains``
    (``body.3.x`` -> 3): how many blocks of a kind a checkpoint holds."""
    found = set()
    for key in state:
        if key.startswith(prefix) and contains in key:
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return found


def has_bias(state: Shapes) -> bool:
    """Whether the convolutions have biases (the ``bias`` argument)."""
    return any(k.endswith(".bias") for k in state)


__all__ = [
    "FLAG",
    "HALF_MIN_PSNR",
    "Argument",
    "ArgumentError",
    "Backend",
    "CPU_BACKENDS",
    "CheckpointFormat",
    "Configuration",
    "DeviceHints",
    "FamilyDescriptor",
    "Layout",
    "Licence",
    "Precision",
    "ScaleRule",
    "Shapes",
    "has_bias",
    "indices",
    "integer",
    "number",
    "strip_module_prefix",
]
