"""The CLI's one home for output: plain lines for scripts, people's lines on stderr."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from imgrestore.cli import _output

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


def test_train_display_follows_the_events(capsys: pytest.CaptureFixture[str]) -> None:
    display = _output.TrainDisplay()
    display("start", {"iteration": 0, "total": 4})
    display("train", {"iteration": 2, "loss": 0.5, "lr": 1e-3, "epoch": 1})
    display("val", {"iteration": 2, "psnr": 30.25, "ssim": 0.9})
    time.sleep(0.01)
    display("end", {"iteration": 4, "best": {}})
    display.close()
    err = capsys.readouterr().err
    assert "PSNR 30.25 dB" in err and "loss 0.5" in err and "4/4" in err


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
    # batch/stages writes an image to stdout when asked to (-o -): data, not output for people
    assert {place.split(":")[0] for place in found} == {"batch/stages.py"}, found
