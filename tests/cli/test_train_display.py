"""What ``imgrestore train`` prints without a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from imgrestore.cli.train_display import TrainDisplay, train_line, val_line
from imgrestore.timing import MeanRate


def test_plain_lines_without_a_terminal() -> None:
    """Item 8: without a TTY nothing was printed until the end."""
    out = io.StringIO()
    display = TrainDisplay(console=Console(file=out, force_terminal=False, width=200))
    display({"event": "start", "iteration": 0, "total": 40})
    display({"event": "notice", "message": "cache: on"})
    display({"event": "val", "iteration": 0, "total": 40, "psnr": 28.35, "ssim": 0.8,
             "input_psnr": 28.79, "input_ssim": 0.81, "images": 3,
             "strip": "samples/val_000000.png"})
    for it in range(1, 21):
        display({"event": "step", "iteration": it, "total": 40})
    display({"event": "train", "iteration": 20, "total": 40, "loss": 0.0412, "lr": 1.98e-4,
             "epoch": 1})
    lines = out.getvalue().splitlines()
    assert lines[0] == "cache: on"
    assert lines[1] == ("val 0/40  psnr 28.35 dB (input 28.79, -0.44)  ssim 0.800 "
                        "(input 0.810)  3 images  -> samples/val_000000.png")
    assert lines[2].startswith("train 20/40  loss 0.0412  lr 0.000198  ")
    assert " it/s  ETA " in lines[2] and "-:--" not in lines[2]
    quiet = io.StringIO()
    display = TrainDisplay(quiet=True, console=Console(file=quiet, force_terminal=False))
    display({"event": "start", "iteration": 0, "total": 40})
    display({"event": "train", "iteration": 20, "total": 40, "loss": 0.1, "lr": 1e-4})
    display({"event": "notice", "message": "skipping a.jpg: truncated"})
    assert quiet.getvalue() == "skipping a.jpg: truncated\n"  # notices even with -q


def test_line_formats() -> None:
    rate = MeanRate(total=100, clock=iter([0.0, 10.0]).__next__)
    rate.update(0)
    rate.update(10)
    assert train_line({"iteration": 10, "total": 100, "loss": 0.5, "lr": 2e-4}, rate) == (
        "train 10/100  loss 0.5  lr 0.0002  1.00 it/s  ETA 1:30")
    assert "(input 20.00, +5.00)" in val_line({"iteration": 1, "total": 2, "psnr": 25.0,
                                               "ssim": 0.5, "input_psnr": 20.0,
                                               "input_ssim": 0.4, "images": 1})
