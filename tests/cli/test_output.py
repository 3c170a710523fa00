"""The CLI's one home for output: plain lines for scripts, people's lines on stderr."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from imgrestore.cli import _output
from imgrestore.cli._output import printable, shown

PACKAGE = Path(__file__).parents[2] / "imgrestore"


def test_lines_go_where_scripts_and_people_expect(capsys: pytest.CaptureFixture[str]) -> None:
    _output.echo("/a/path")
    _output.write_json({"b": [1, 2]})
    _output.note("wrote x.png")
    _output.notice("licence: MIT [x]")
    _output.error("bad [thing]")
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "/a/path" and json.loads(out.split("\n", 1)[1]) == {"b": [1, 2]}
    assert err.splitlines() == ["wrote x.png", "licence: MIT [x]", "error: bad [thing]"]


def test_library_code_never_prints() -> None:
    """print, sys.stdout/stderr and Rich consoles belong to the CLI (imgrestore/cli/)."""
    import ast

    found = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            text = ast.unparse(node) if isinstance(node, (ast.Call, ast.Attribute)) else ""
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "print") or text in ("sys.stderr", "sys.stdout") \
                    or (isinstance(node, ast.ImportFrom) and node.module == "rich.console"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    # batch/stages writes an image to stdout when asked to (-o -): data, not output for people;
    # imaging/notes flushes stderr around LibRaw, to catch the lines LibRaw prints there
    assert {place.split(":")[0] for place in found} == {"batch/stages.py",
                                                        "imaging/notes.py"}, found


def test_control_characters_and_undecodable_bytes_are_escaped() -> None:
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable("esc\x1b[31mred") == "esc\\x1b[31mred"
    assert printable("gpj.\u202eexe") == "gpj.\\u202eexe"  # a right-to-left override
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"  # Latin-1 bytes
    assert printable("Ünïcödé 写真.jpg") == "Ünïcödé 写真.jpg"


def _rendered(text: str) -> str:
    buffer = io.StringIO()
    console = _output.stderr_console()
    console.file = buffer
    console.print(text, soft_wrap=True)
    return buffer.getvalue()


def test_names_are_never_markup_or_emoji() -> None:
    assert _rendered(shown(":smile: [red]x[/red].jpg")) == ":smile: [red]x[/red].jpg\n"
    assert _rendered(shown("trailing\\")) == "trailing\\\n"


def test_an_aside_never_nests_parentheses() -> None:
    assert _output.aside("2 notes") == " (2 notes)"
    assert _output.aside("profile kept (sRGB)") == ": profile kept (sRGB)"
