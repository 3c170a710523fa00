"""Recognising a state dict: which registered family it is, and with which arguments.

Each family's descriptor says how its checkpoints look (``CheckpointFormat``: a marker
key, a reader of constructor arguments from shapes, its containers and key filter);
this module asks every registered family in turn. It reads shapes only, so a file can
be matched to a configuration, and a mismatch explained, before anything is loaded.

This module is torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from imgrestore.archs.descriptor import FamilyDescriptor, strip_module_prefix
from imgrestore.archs.registry import FAMILIES, SPECS

T = TypeVar("T")


@dataclass(frozen=True)
class Detected:
    """What a state dict was recognised as."""

    family: str
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


def containers() -> tuple[str, ...]:
    """Keys under which checkpoints of any registered family keep their weights,
    preferred first."""
    found: list[str] = []
    for f in FAMILIES.values():
        found += [key for key in f.checkpoint.containers if key not in found]
    return tuple(found)


def recognise(state: Mapping[str, Any]) -> FamilyDescriptor | None:
    """The family whose marker key ``state`` holds (after that family's key filter)."""
    for f in FAMILIES.values():
        if f.checkpoint.marker in f.checkpoint.filter_keys(state):
            return f
    return None


def filter_keys(state: Mapping[str, T]) -> dict[str, T]:
    """``state`` with its keys as our networks name them: the key filter of the family
    that recognises it, else only a common ``module.`` prefix removed."""
    found = recognise(state)
    return found.checkpoint.filter_keys(state) if found else strip_module_prefix(state)


def detect(state: Mapping[str, Any]) -> Detected | None:
    """Recognise the family and constructor arguments of a state dict (tensors or shapes),
    or ``None`` when no registered family knows it."""
    shapes = {k: tuple(v) if isinstance(v, (tuple, list)) else tuple(v.shape)
              for k, v in state.items()}
    found = recognise(shapes)
    if found is None:
        return None
    try:
        return Detected(found.name, found.checkpoint.read_arguments(
            found.checkpoint.filter_keys(shapes)))
    except (KeyError, IndexError, ValueError, ZeroDivisionError):
        return None


__all__ = ["Detected", "containers", "detect", "filter_keys", "recognise"]
