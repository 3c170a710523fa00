"""Everything the CLI shows, in one place: the consoles, plain lines, notices, warnings,
errors and JSON. The live displays of downloads, batches and training runs, built on these,
are in :mod:`imgrestore.cli._progress`.

Library code never prints: it raises, or reports through the callbacks the displays
implement (:class:`imgrestore.batch.run.Events`, ``notify``, ``on_event``). Plain lines
for scripts go to stdout with :func:`echo` and :func:`write_json`; everything for people
(progress, notices, errors, summaries) goes to stderr, because stdout may carry an image
or a report. On a terminal there are progress bars; without one (pipes, CI) each file gets
one plain line. ``NO_COLOR`` is honoured by Rich.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imgrestore.zoo.fallback import Fallback

#: Characters that could break a line, move the cursor or reorder text on a terminal:
#: C0/C1 controls (newline, ESC...), DEL, bidirectional overrides, and lone surrogates
#: (bytes of a file name that are not UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` safe to show on one line: control characters written as Python escapes
    (``\\n``, ``\\x1b``, ``\\u202e``), and a file name's undecodable bytes as ``\\xNN``."""
    return _UNPRINTABLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of one byte
        return f"\\x{code - 0xDC00:02x}"
    return repr(match.group())[1:-1]


def shown(text: str, style: str = "") -> Text:
    """User-given text (a file name, a model id) as Rich text: control characters
    escaped, and never read as markup (``[red]``) or emoji codes (``:smile:``)."""
    return Text(printable(text), style=style)


def line(*parts: str | tuple[str, str]) -> Text:
    """One line of plain pieces and ``(text, style)`` pairs, each escaped (:func:`shown`)."""
    return Text.assemble(*(shown(*p) if isinstance(p, tuple) else shown(p) for p in parts))


def aside(text: str) -> str:
    """`` (text)`` after a line, or ``: text`` when the text has parentheses of its own
    (never two levels of them)."""
    return f": {text}" if "(" in text or ")" in text else f" ({text})"


def stderr_console() -> Console:
    """The console for people: progress, notices, errors, tables beside a report."""
    return Console(stderr=True, highlight=False, emoji=False)


def stdout_console() -> Console:
    """The console for tables on stdout (``info``, ``eval``)."""
    return Console(highlight=False, emoji=False)


def echo(text: object) -> None:
    """One plain line on stdout, for scripts (a path, a URL, a table row)."""
    click.echo(str(text))


def note(text: str) -> None:
    """One plain line on stderr (what a command did, a hint)."""
    click.echo(printable(text), err=True)


def notice(message: str, console: Console | None = None) -> None:
    """A dim line on stderr: a library notice (licence on first download)."""
    (console or stderr_console()).print(shown(message, "dim"), soft_wrap=True)


def error(message: str) -> None:
    """One red line on stderr: ``error: <message>``."""
    stderr_console().print(line(("error:", "red"), " ", message), soft_wrap=True)


def write_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (``--json -``, ``--json`` listings)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def show_fallbacks(console: Console, fallbacks: Sequence[Fallback], *,
                   verbose: bool = False) -> None:
    """One warning line per built-in model standing in (``-v``: the failed URL, why,
    and every route to the weights, indented below)."""
    seen: set[tuple[str, str]] = set()
    for fallback in fallbacks:
        if (fallback.wanted, fallback.model) in seen:
            continue
        seen.add((fallback.wanted, fallback.model))
        console.print(shown(fallback.line(), "yellow"), soft_wrap=True)
        if verbose:
            for detail in fallback.details():
                console.print(shown(f"  {detail}"), soft_wrap=True)
