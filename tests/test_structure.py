"""The codebase's shape: family knowledge only in archs/ (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from imgrestore import archs

PACKAGE = Path(__file__).parents[1] / "imgrestore"


def _sources(exclude: str | None = None) -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if exclude is None or exclude not in p.relative_to(PACKAGE).parts]


def family_names_in(source: str) -> list[tuple[int, str]]:
    """(line, name) of every string constant that is exactly a family's name: a
    comparison, a dict key, a default, a ``Literal``. Prose in docstrings is not."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and node.value in archs.FAMILIES]


def test_nothing_outside_archs_names_a_family() -> None:
    """A family's name outside imgrestore/archs/ is knowledge about that family, which
    belongs in its descriptor."""
    found = [f"{p.relative_to(PACKAGE)}:{line}: {name!r}"
             for p in _sources(exclude="archs")
             for line, name in family_names_in(p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_the_check_sees_a_family_name() -> None:
    assert family_names_in('if family == "mprnet":\n    pass') == [(1, "mprnet")]
    assert family_names_in("KEY = {'mirnetv2': 1}") == [(1, "mirnetv2")]
    assert family_names_in('x: Literal["mirnet"] = "mirnet"') == [(1, "mirnet"), (1, "mirnet")]
    assert family_names_in('spec("mprnet_deblurring")\n"""MPRNet and mirnet."""') == []
