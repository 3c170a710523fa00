"""The registered families, and the configurations they declare, looked up by name.

Adding a family is one folder under ``imgrestore/archs/`` (a network and a
``DESCRIPTOR``) and one line in :data:`FAMILY_PACKAGES`; :func:`register` adds one at
run time (tests, plug-ins). Every lookup here reads the live registry.

This module is torch-free.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NewType

from imgrestore.archs.descriptor import FamilyDescriptor

if TYPE_CHECKING:
    from torch import nn

#: The packages whose ``DESCRIPTOR`` is a family, one line each, in display order.
FAMILY_PACKAGES = (
    "imgrestore.archs.mprnet",
    "imgrestore.archs.mirnet",
    "imgrestore.archs.mirnetv2",
)
#: The family a training recipe trains when it names none.
DEFAULT_FAMILY = "mirnetv2"
#: A registered family's name (recipes type-check their ``model.family`` with it).
FamilyName = NewType("FamilyName", str)

_FAMILIES: dict[str, FamilyDescriptor] = {}
#: Every registered family by name, in registration order (a live, read-only view).
FAMILIES: Mapping[str, FamilyDescriptor] = MappingProxyType(_FAMILIES)


def register(descriptor: FamilyDescriptor) -> FamilyDescriptor:
    """Add ``descriptor``'s family; :class:`ValueError` if a name is taken."""
    if descriptor.name in _FAMILIES and _FAMILIES[descriptor.name] is not descriptor:
        raise ValueError(f"a family named {descriptor.name!r} is already registered")
    for name in descriptor.configurations:
        owner = _owner(name)
        if owner is not None and owner is not descriptor:
            raise ValueError(f"configuration {name!r} is already {owner.name}'s")
    _FAMILIES[descriptor.name] = descriptor
    return descriptor


def unregister(name: str) -> None:
    """Remove the family ``name`` (tests that registered one)."""
    _FAMILIES.pop(name, None)


def family(name: str) -> FamilyDescriptor:
    """The family called ``name``; :class:`KeyError` naming the known ones."""
    found = _FAMILIES.get(name)
    if found is None:
        raise KeyError(f"unknown network family {name!r}; known: {', '.join(_FAMILIES)}")
    return found


def _owner(configuration: str) -> FamilyDescriptor | None:
    return next((f for f in _FAMILIES.values() if configuration in f.configurations), None)


@dataclass(frozen=True)
class ArchSpec:
    """One network configuration: a family plus its constructor arguments."""

    name: str
    family: str
    #: Constructor arguments, named exactly as in the official code.
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    in_channels: int = 3
    out_channels: int = 3
    #: Scale factors the weights cover. ``(1,)`` for restoration; see the family's
    #: ``scale_rule`` for how a larger image is made.
    scales: tuple[int, ...] = (1,)

    @property
    def descriptor(self) -> FamilyDescriptor:
        return family(self.family)

    @property
    def multiple_of(self) -> int:
        return self.descriptor.size_multiple

    @property
    def pre_upsample(self) -> bool:
        """Whether the input must be bicubic-upsampled to the output size first."""
        return self.descriptor.scale_rule == "pre_upsample" and self.scales != (1,)

    @property
    def bytes_per_pixel(self) -> float:
        """Estimated peak fp32 forward memory per input pixel."""
        return self.descriptor.forward_bytes_per_pixel(self.name)


def _spec(descriptor: FamilyDescriptor, name: str) -> ArchSpec:
    c = descriptor.configurations[name]
    return ArchSpec(name, descriptor.name, c.kwargs, descriptor.in_channels(c.kwargs),
                    descriptor.out_channels(c.kwargs), c.scales)


class _Configurations(Mapping[str, ArchSpec]):
    """The registered configurations whose ``released`` flag is ``released``, by name."""

    def __init__(self, released: bool) -> None:
        self._released = released

    def _names(self) -> list[tuple[FamilyDescriptor, str]]:
        return [(f, name) for f in _FAMILIES.values()
                for name, c in f.configurations.items() if c.released == self._released]

    def __getitem__(self, name: str) -> ArchSpec:
        owner = _owner(name)
        if owner is None or owner.configurations[name].released != self._released:
            raise KeyError(name)
        return _spec(owner, name)

    def __iter__(self) -> Iterator[str]:
        return iter([name for _, name in self._names()])

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)})"


#: Every configuration with weights released by the authors, by its canonical name.
SPECS: Mapping[str, ArchSpec] = _Configurations(released=True)
#: imgrestore's own configurations (the compact networks of the built-in models).
COMPACT_SPECS: Mapping[str, ArchSpec] = _Configurations(released=False)


def spec(name: str) -> ArchSpec:
    """The configuration called ``name`` (see :data:`SPECS` and :data:`COMPACT_SPECS`)."""
    owner = _owner(name)
    if owner is None:
        known = ", ".join(sorted(n for f in _FAMILIES.values() for n in f.configurations))
        raise KeyError(f"unknown network configuration {name!r}; known: {known}")
    return _spec(owner, name)


def build(family_name: str, **kwargs: Any) -> nn.Module:
    """Build a network of ``family_name`` with any constructor arguments (imports torch)."""
    return family(family_name).network_class()(**kwargs)


def create(name: str) -> nn.Module:
    """Build the configuration ``name`` with untrained weights.

    Its ``state_dict()`` has the official keys, shapes and order, so an official
    checkpoint loads with ``strict=True``; its ``forward`` returns what the official
    forward returns (MPRNet: ``[final, stage2, stage1]``).
    """
    s = spec(name)
    return build(s.family, **s.kwargs)


for _package in FAMILY_PACKAGES:
    register(importlib.import_module(_package).DESCRIPTOR)


__all__ = [
    "COMPACT_SPECS",
    "DEFAULT_FAMILY",
    "FAMILIES",
    "FAMILY_PACKAGES",
    "SPECS",
    "ArchSpec",
    "FamilyName",
    "build",
    "create",
    "family",
    "register",
    "spec",
    "unregister",
]
