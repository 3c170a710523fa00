"""A toy network family, as a contributor would add one: this folder plus one registry
line (here :func:`imgrestore.archs.register`, in tests/archs/test_registry.py)."""

from tests.archs.toy.descriptor import DESCRIPTOR

__all__ = ["DESCRIPTOR"]
