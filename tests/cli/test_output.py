"""The CLI's one home for output: plain lines for scripts, people's lines on stderr."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from imgrestore.batch.report import FileResult, Report
from imgrestore.cli import _output
from imgrestore.cli._output import BatchDisplay, printable, shown
from imgrestore.timing import MeanRate

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


def test_train_display_follows_the_events() -> None:
    """On a terminal: a bar with the iteration, loss and PSNR."""
    out = io.StringIO()
    display = _output.TrainDisplay(Console(file=out, force_terminal=True, width=200))
    display("start", {"iteration": 0, "total": 4})
    display("train", {"iteration": 2, "loss": 0.5, "lr": 1e-3, "epoch": 1})
    display("val", {"iteration": 2, "psnr": 30.25, "ssim": 0.9, "input_psnr": 28.0,
                    "input_ssim": 0.8, "images": 1})
    time.sleep(0.01)
    display("end", {"iteration": 4, "best": {}})
    display.close()
    err = out.getvalue()
    assert "PSNR 30.25 dB" in err and "loss 0.5" in err and "4/4" in err


@pytest.mark.parametrize("quiet", [False, True])
def test_download_bar_draws_on_a_terminal_and_notices_end_it(quiet: bool) -> None:
    import io

    from rich.console import Console

    screen = io.StringIO()
    bar = _output.DownloadBar(Console(file=screen, force_terminal=True, width=100,
                                      color_system=None, highlight=False),
                              quiet=quiet)
    bar("mprnet_deblurring: model_deblurring.pth", 512, 1024)
    assert (bar._progress is None) == quiet
    bar.notice("mprnet_deblurring: licence [x]")
    assert bar._progress is None  # the notice closed the bar, so it reads below it
    text = screen.getvalue()
    assert ("licence [x]" in text) != quiet
    assert ("model_deblurring.pth" in text) != quiet
    piped = io.StringIO()
    silent = _output.DownloadBar(Console(file=piped, force_terminal=False))
    silent("x: y.pth", 1, None)
    silent.close()
    assert silent._progress is None and piped.getvalue() == ""
def test_train_display_without_a_terminal() -> None:
    """Item 8 of #19: without a TTY nothing was printed until the end; now a line per
    ``train`` and ``val`` event, with the speed and an ETA from the mean step time."""
    out = io.StringIO()
    display = _output.TrainDisplay(Console(file=out, force_terminal=False, width=200))
    display("start", {"iteration": 0, "total": 40})
    display("val", {"iteration": 0, "total": 40, "psnr": 28.35, "ssim": 0.8,
                    "input_psnr": 28.79, "input_ssim": 0.81, "images": 3,
                    "strip": "samples/val_000000.png"})
    for it in range(1, 21):
        display("step", {"iteration": it, "total": 40})
    display("train", {"iteration": 20, "total": 40, "loss": 0.0412, "lr": 1.98e-4,
                      "epoch": 1})
    lines = out.getvalue().splitlines()
    assert lines[0] == ("val 0/40  psnr 28.35 dB (input 28.79, -0.44)  ssim 0.800 "
                        "(input 0.810)  3 images  -> samples/val_000000.png")
    assert lines[1].startswith("train 20/40  loss 0.0412  lr 0.000198  ")
    assert " it/s  ETA " in lines[1] and "-:--" not in lines[1]
    assert len(lines) == 2


def test_train_line_formats() -> None:
    rate = MeanRate(total=100, clock=iter([0.0, 10.0]).__next__)
    rate.update(0)
    rate.update(10)
    assert _output.train_line({"iteration": 10, "loss": 0.5, "lr": 2e-4}, 100, rate) == (
        "train 10/100  loss 0.5  lr 0.0002  1.00 it/s  ETA 1:30")
    assert "(input 20.00, +5.00)" in _output.val_line(
        {"iteration": 1, "psnr": 25.0, "ssim": 0.5, "input_psnr": 20.0, "input_ssim": 0.4,
         "images": 1}, 2)


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
    console = BatchDisplay().console
    console.file = buffer
    console.print(text, soft_wrap=True)
    return buffer.getvalue()


def test_names_are_never_markup_or_emoji() -> None:
    assert _rendered(shown(":smile: [red]x[/red].jpg")) == ":smile: [red]x[/red].jpg\n"
    assert _rendered(shown("trailing\\")) == "trailing\\\n"


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
