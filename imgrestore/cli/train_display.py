"""What ``imgrestore train`` shows: a progress bar on a terminal, plain lines elsewhere.

It draws from the trainer's event records (:mod:`imgrestore.training.report`), all on
stderr. Without a terminal (pipes, CI, ``nohup``) each ``train`` record (every
``train.log_every`` iterations) is one line with the iteration, loss, rate, speed and
ETA; each validation is one line with ``psnr`` beside the input's own ``input_psnr``.
Notices (skipped photos, the cache decision, resuming) are shown even with ``-q``.
The ETA is the mean step time times the steps left (:class:`imgrestore.timing.MeanRate`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from imgrestore.timing import MeanRate, format_duration


class TrainDisplay:
    """An ``on_event`` callback for :func:`imgrestore.training.loop.train`."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.rate: MeanRate | None = None
        self._progress: Any = None
        self._task: Any = None
        self._figures: dict[str, str] = {}

    def __call__(self, record: dict[str, Any]) -> None:
        kind = record["event"]
        if kind == "notice":
            self.console.print(f"[yellow]{escape(record['message'])}[/yellow]", soft_wrap=True)
        elif kind == "start":
            self.rate = MeanRate(record["total"])
            if self.live:
                self._start_bar(record["total"], record["iteration"])
        elif kind == "step" and self.rate is not None:
            self.rate.update(record["iteration"])
            self._update_bar(record["iteration"])
        elif kind == "train":
            self._figures["loss"] = f"loss {record['loss']:.4g}"
            self._figures["lr"] = f"lr {record['lr']:.3g}"
            if not self.live and not self.quiet:
                self.console.print(train_line(record, self.rate), soft_wrap=True)
        elif kind == "val":
            self._figures["psnr"] = f"PSNR {record['psnr']:.2f} dB"
            if not self.quiet:
                self.console.print(val_line(record), soft_wrap=True)
        elif kind == "end":
            self.close()

    def _start_bar(self, total: int, done: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}  ETA {task.fields[eta]}  {task.fields[figures]}"),
            console=self.console, transient=True,
        )
        self._task = self._progress.add_task("train", total=total, completed=done,
                                             speed="", eta="-:--", figures="")
        self._progress.start()

    def _update_bar(self, done: int) -> None:
        if self._progress is None or self.rate is None:
            return
        speed = self.rate.per_second
        self._progress.update(
            self._task, completed=done, speed=f"{speed:.2f} it/s" if speed else "",
            eta=format_duration(self.rate.eta), figures="  ".join(self._figures.values()),
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def train_line(record: dict[str, Any], rate: MeanRate | None) -> str:
    """``train 40/300  loss 0.0412  lr 1.98e-04  1.23 it/s  ETA 3:31``."""
    speed = rate.per_second if rate is not None else None
    eta = rate.eta if rate is not None else None
    return (f"train {record['iteration']}/{record['total']}  loss {record['loss']:.4g}  "
            f"lr {record['lr']:.3g}  " + (f"{speed:.2f} it/s  " if speed else "")
            + f"ETA {format_duration(eta)}")


def val_line(record: dict[str, Any]) -> str:
    """``val 40/300  psnr 29.41 dB (input 28.79, +0.62)  ssim 0.871 (input 0.80)  ...``."""
    gain = record["psnr"] - record["input_psnr"]
    strip = f"  -> {record['strip']}" if record.get("strip") else ""
    return (f"val {record['iteration']}/{record['total']}  psnr {record['psnr']:.2f} dB "
            f"(input {record['input_psnr']:.2f}, {gain:+.2f})  ssim {record['ssim']:.3f} "
            f"(input {record['input_ssim']:.3f})  {record['images']} images{strip}")


__all__ = ["TrainDisplay", "train_line", "val_line"]
