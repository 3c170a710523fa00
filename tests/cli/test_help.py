"""Every command's ``--help``, rendered as a user sees it at 80 columns, without leaks:
no type placeholders (``<bool>``, ``<list[str]>``), no braces in the usage line, no
markup swallowing text, the right default output name, and an Examples block."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from imgrestore.cli.app import app
from imgrestore.tasks import TASKS


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if _is_group(group):
        for name, sub in sorted(group.commands.items()):
            found += _commands(sub, (*path, name))
    return found


ROOT = typer.main.get_command(app)
COMMANDS = _commands(ROOT)


def _command(path: tuple[str, ...]) -> Any:
    command = ROOT
    for name in path:
        command = command.commands[name]
    return command


def render(path: tuple[str, ...], columns: int) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns),
                                                            "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def _flat(text: str) -> str:
    """The text without panel borders, all whitespace runs as one space."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_every_command_is_covered() -> None:
    names = {p[-1] for p in COMMANDS if p}
    assert {*TASKS, "models", "list", "download", "train", "eval", "compare", "info"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "imgrestore")
def test_help_at_80_columns_has_no_leaks(path: tuple[str, ...]) -> None:
    text = render(path, 80)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage
    for piece in usage.split("[OPTIONS]")[-1].split():  # INPUT..., [RECIPE], COMMAND
        assert re.fullmatch(r"\[?[A-Z][A-Z0-9_]*\]?(\.\.\.)?", piece), usage
    leaks = re.findall(r"<(?:bool|str|int|float|path|list\[[^\]]*\]|[a-z ]+ range)>", text)
    assert not leaks, leaks
    assert "[bold]" not in text and "[/" not in text
    assert max(map(len, text.splitlines())) <= 80


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "imgrestore")
def test_help_text_is_shown_as_written(path: tuple[str, ...]) -> None:
    """Brackets in help text ("[seed, i]", "[@revision]") survive Rich's markup."""
    text = _flat(render(path, 400))
    command = _command(path)
    for param in command.params:
        if getattr(param, "help", None) and not getattr(param, "hidden", False):
            shown = _flat(param.help.replace("\\[", "["))
            assert shown in text, f"{param.name}: {shown!r} not in the help"
    if command.help:
        first = _flat(command.help.split("\n\n")[0].replace("\\[", "["))
        assert first in text


@pytest.mark.parametrize("path", [p for p in COMMANDS
                                  if p and not _is_group(_command(p))],
                         ids=" ".join)
def test_every_command_has_examples(path: tuple[str, ...]) -> None:
    lines = render(path, 80).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples")
    examples = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        examples.append(line.strip())
    assert examples, path
    for before, line in zip(["", *examples], examples, strict=False):
        if before.endswith(" \\"):  # a continued example
            assert not line.startswith("$"), line
        else:  # each example on its own line, never wrapped by the renderer
            assert line.startswith((f"$ imgrestore {' '.join(path)}", "$ torchrun")), line


@pytest.mark.parametrize("task", TASKS)
def test_default_output_name_is_the_tasks_own(task: str) -> None:
    text = _flat(render((task,), 80))
    suffix = TASKS[task].suffix(2)
    assert f"e.g. photo{suffix}.jpg" in text
    others = {TASKS[t].suffix(2) for t in TASKS} - {suffix}
    assert not [s for s in others if f"photo{s}.jpg" in text]


def test_escaped_brackets_in_eval_help() -> None:
    assert "default_rng([seed, i])" in _flat(render(("eval",), 400))


def test_flags_show_no_placeholder() -> None:
    text = render(("denoise",), 80)
    line = next(line for line in text.splitlines() if "--overwrite" in line)
    assert re.search(r"--overwrite\s+Redo", line), line
