"""What a batch shows while it runs: without a terminal, a plain progress line whenever
nothing was printed for a while; on one, bars whose ETA comes from the batch's own
estimate. Driven through the display's events, as :func:`imgrestore.batch.run.run`
calls them."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from rich.console import Console

from imgrestore.batch.plan import Job
from imgrestore.batch.report import FileResult, Report
from imgrestore.cli._output import BatchDisplay


def _display(*, terminal: bool, quiet: bool = False, every: float = 0.05
             ) -> tuple[BatchDisplay, io.StringIO]:
    display = BatchDisplay(quiet=quiet, plain_every=every)
    out = io.StringIO()
    display.console = Console(file=out, force_terminal=terminal, width=120, highlight=False,
                              no_color=True)
    display.live = terminal and not quiet
    return display, out


def _wait_for(out: io.StringIO, text: str) -> bool:
    stop = threading.Event()
    for _ in range(200):  # up to 20 s on a loaded machine; returns as soon as it is there
        if text in out.getvalue():
            return True
        stop.wait(0.1)
    return False


def test_without_a_terminal_long_work_prints_progress_lines() -> None:
    display, out = _display(terminal=False)
    report = Report(task="denoise", models=["builtin_denoise"], device="cpu",
                    precision="fp32")
    display.start(report, 3)
    display.tiles(Job(Path("big.png"), Path("big-denoised.png")), 1, 4)
    assert _wait_for(out, "denoise: 0/3 files, tile 1/4 of big.png, ")
    display.file_done(FileResult("big.png", "big-denoised.png", "done", seconds=1.0))
    assert _wait_for(out, "denoise: 1/3 files, ")
    display.finish(report)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("denoise: 1/3"))
    assert " elapsed, ETA " in line and "-:--" not in line


def test_quiet_prints_no_progress_lines() -> None:
    display, out = _display(terminal=False, quiet=True)
    report = Report(task="denoise")
    display.start(report, 2)
    display.tiles(Job(Path("big.png"), None), 1, 4)
    assert not _wait_for_quiet(out)
    display.finish(report)
    assert out.getvalue() == ""


def _wait_for_quiet(out: io.StringIO) -> bool:
    threading.Event().wait(0.5)  # ten times the interval
    return bool(out.getvalue())


def test_on_a_terminal_the_files_bar_shows_an_eta_after_the_first_tile() -> None:
    display, out = _display(terminal=True)
    report = Report(task="denoise", models=["m"], device="cpu", precision="fp32")
    display.start(report, 3)
    assert display._progress is not None
    display.tiles(Job(Path("a.png"), None), 1, 4)
    display._progress.refresh()
    frame = out.getvalue().split("\x1b[2K")[-1]  # the last redraw of the bars
    display.finish(report)
    files = next(line for line in frame.splitlines() if line.startswith("files"))
    assert "ETA " in files and "ETA -:--" not in files
