"""What the task commands show: names escaped, never read as markup or emoji."""

from __future__ import annotations

import io
import os

from rich.console import Console

from imgrestore.batch.report import FileResult, Report
from imgrestore.cli.display import BatchDisplay, printable, quoted, shown


def test_control_characters_and_undecodable_bytes_are_escaped() -> None:
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable("esc\x1b[31mred") == "esc\\x1b[31mred"
    assert printable("gpj.\u202eexe") == "gpj.\\u202eexe"  # a right-to-left override
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"  # Latin-1 bytes
    assert printable("Ünïcödé 写真.jpg") == "Ünïcödé 写真.jpg"


def _rendered(text: str) -> str:
    buffer = io.StringIO()
    console = BatchDisplay().console
    console.file = buffer
    console.print(text, soft_wrap=True)
    return buffer.getvalue()


def test_names_are_never_markup_or_emoji() -> None:
    assert _rendered(shown(":smile: [red]x[/red].jpg")) == ":smile: [red]x[/red].jpg\n"
    assert _rendered(shown("trailing\\")) == "trailing\\\n"
    assert quoted("my photos; rm -rf ~") == "'my photos; rm -rf ~'"


def test_one_line_per_file_whatever_its_name() -> None:
    display = BatchDisplay()
    display.console = Console(file=io.StringIO(), highlight=False, emoji=False, width=200)
    display.live = False
    names = ["a\ndone fake.jpg", ":smile:.jpg", "esc\x1b[2J.jpg"]
    for name in names:
        display.file_done(FileResult(name, f"out/{name}", "done", seconds=0.1))
    display.file_done(FileResult("b\n.jpg", None, "failed", "b\n.jpg: not an image"))
    lines = display.console.file.getvalue().splitlines()
    assert lines == [
        "done a\\ndone fake.jpg -> out/a\\ndone fake.jpg 0.1s",
        "done :smile:.jpg -> out/:smile:.jpg 0.1s",
        "done esc\\x1b[2J.jpg -> out/esc\\x1b[2J.jpg 0.1s",
        "failed b\\n.jpg: not an image",
    ]


def test_the_summary_counts_planned_and_interrupted_files_apart() -> None:
    report = Report(task="denoise")
    report.results += [FileResult("a.jpg", "a-denoised.jpg", "planned"),
                       FileResult("b.jpg", "b-denoised.jpg", "interrupted")]
    display = BatchDisplay()
    display.console = Console(file=io.StringIO(), highlight=False, width=200)
    display.finish(report)
    header, row = display.console.file.getvalue().splitlines()[:2]
    assert header.split() == ["done", "skipped", "failed", "planned", "interrupted", "ignored",
                              "time"]
    assert row.split()[:6] == ["0", "0", "0", "1", "1", "0"]
