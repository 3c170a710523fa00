"""The live displays. What a batch shows while it runs: without a terminal, a plain
progress line whenever nothing was printed for a while; on one, bars whose ETA comes from
the batch's own estimate; a line per file. Driven through the display's events, as
:func:`imgrestore.batch.run.run` calls them. The download bar, and the training display
with its ETA from the mean step time."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from imgrestore.batch.plan import Job
from imgrestore.batch.report import FileResult, Report
from imgrestore.cli._progress import BatchDisplay, DownloadBar, TrainDisplay, train_line, val_line
from imgrestore.timing import MeanRate


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


def test_train_display_follows_the_events() -> None:
    """On a terminal: a bar with the iteration, loss and PSNR."""
    out = io.StringIO()
    display = TrainDisplay(Console(file=out, force_terminal=True, width=200))
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
    screen = io.StringIO()
    bar = DownloadBar(Console(file=screen, force_terminal=True, width=100,
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
    silent = DownloadBar(Console(file=piped, force_terminal=False))
    silent("x: y.pth", 1, None)
    silent.close()
    assert silent._progress is None and piped.getvalue() == ""


def test_train_display_without_a_terminal() -> None:
    """Item 8 of #19: without a TTY nothing was printed until the end; now a line per
    ``train`` and ``val`` event, with the speed and an ETA from the mean step time."""
    out = io.StringIO()
    display = TrainDisplay(Console(file=out, force_terminal=False, width=200))
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
    assert train_line({"iteration": 10, "loss": 0.5, "lr": 2e-4}, 100, rate) == (
        "train 10/100  loss 0.5  lr 0.0002  1.00 it/s  ETA 1:30")
    assert "(input 20.00, +5.00)" in val_line(
        {"iteration": 1, "psnr": 25.0, "ssim": 0.5, "input_psnr": 20.0, "input_ssim": 0.4,
         "images": 1}, 2)


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


def test_a_fallback_warns_once_even_when_quiet_and_before_the_batch_starts() -> None:
    from imgrestore.zoo.fallback import Fallback

    fallback = Fallback(task="denoise", model="builtin_denoise",
                        wanted="mirnetv2_real_denoising", reason="no network",
                        get="imgrestore models download denoise", source="https://x/y.pth",
                        failure="connection refused", error="mirnetv2_real_denoising: ...")
    display, out = _display(terminal=False, quiet=True)
    display.fallback(fallback)
    display.fallback(fallback)  # a chain naming the same task twice: still one warning
    display.start(Report(task="denoise"), 1)
    display.finish(Report(task="denoise"))
    assert out.getvalue().splitlines() == [fallback.line()]
    verbose, out = _display(terminal=False)
    verbose.verbose = True
    verbose.fallback(fallback)
    assert out.getvalue().splitlines() == [fallback.line(), "  https://x/y.pth: connection "
                                           "refused", "  mirnetv2_real_denoising: ..."]
