"""The live displays: downloads, batches and training runs (on stderr).

On a terminal each is a set of progress bars; without one (pipes, CI, ``nohup``) plain
lines: a line per file or per logged step, and for a batch a progress line whenever
nothing was printed for :data:`PLAIN_EVERY` seconds. Every ETA is the mean time per
finished unit times the units left (:class:`imgrestore.timing.MeanRate`; for batches
through :class:`imgrestore.batch.eta.BatchEta`), never Rich's own estimate. The lines
themselves are made with :mod:`imgrestore.cli._output`.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from imgrestore.batch.eta import BatchEta
from imgrestore.cli._output import (
    aside,
    line,
    notice,
    printable,
    show_fallbacks,
    stderr_console,
)
from imgrestore.timing import MeanRate, format_duration

if TYPE_CHECKING:
    from imgrestore.batch.plan import Job
    from imgrestore.batch.report import FileResult, Report
    from imgrestore.zoo.fallback import Fallback

_STYLE = {"done": "green", "skipped": "yellow", "failed": "red", "planned": "cyan",
          "interrupted": "yellow"}
#: Without a terminal, a progress line whenever nothing was printed for this long (s).
PLAIN_EVERY = 30.0


class DownloadBar:
    """A progress bar per downloading file on a terminal's stderr; nothing when quiet or
    piped. Call it as ``(what, done, total)`` (a ``progress`` callback of
    :mod:`imgrestore.zoo.install`); :meth:`notice` is its ``notify`` callback; :meth:`close`
    when the downloads are over."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if not self.live:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), TimeRemainingColumn(), console=self.console,
                transient=True,
            )
            self._progress.start()
        if what not in self._tasks:
            self._tasks[what] = self._progress.add_task(escape(printable(what)), total=total)
        self._progress.update(self._tasks[what], completed=done, total=total)

    def notice(self, message: str) -> None:
        """A library notice, below the finished bars (nothing when quiet)."""
        self.close()
        if not self.quiet:
            notice(message, self.console)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


class _EtaColumn(ProgressColumn):
    """``ETA 1:23`` from a function of the task (the batch's own estimate, not Rich's:
    Rich forgets its speed after 30 s without progress, so a slow file showed none)."""

    def __init__(self, eta: Callable[[TaskID], float | None]) -> None:
        super().__init__()
        self._eta = eta

    def render(self, task: Task) -> Text:
        return Text(f"ETA {format_duration(self._eta(task.id))}", style="progress.remaining")


class BatchDisplay:
    """Implements :class:`imgrestore.batch.run.Events` for the terminal.

    On a terminal: a bar for the files and one for the tiles of a large image, each with
    its ETA (:class:`imgrestore.batch.eta.BatchEta`). Without one: a line per file, and
    a progress line whenever nothing was printed for ``plain_every`` seconds.
    """

    def __init__(self, *, quiet: bool = False, verbose: bool = False,
                 warnings: bool = True, plain_every: float = PLAIN_EVERY) -> None:
        self.console = stderr_console()
        self.quiet = quiet
        self.verbose = verbose
        #: Warnings (a built-in model standing in) are shown even with ``quiet``; only a
        #: torchrun rank other than 0 keeps them to itself.
        self.warnings = warnings
        self.live = self.console.is_terminal and not quiet
        self.plain_every = plain_every
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._files: TaskID | None = None
        self._tiles: TaskID | None = None
        self._downloads = DownloadBar(self.console, quiet=quiet)
        self._eta: BatchEta | None = None
        self._task = ""
        self._current = ""
        self._last_line = time.monotonic()
        self._ticker: _Ticker | None = None
        self._warned: set[tuple[str, str]] = set()

    # --- Events -----------------------------------------------------------------------

    def notice(self, message: str) -> None:
        self._downloads.notice(message)
        self._last_line = time.monotonic()

    def download(self, what: str, done: int, total: int | None) -> None:
        self._downloads(what, done, total)

    def fallback(self, fallback: Fallback) -> None:
        """The warning that a built-in model stands in, before any other line about it;
        once per run, even when quiet (not on a torchrun rank other than 0)."""
        self._downloads.close()
        if self.warnings and (fallback.wanted, fallback.model) not in self._warned:
            self._warned.add((fallback.wanted, fallback.model))
            show_fallbacks(self.console, [fallback], verbose=self.verbose)
            self._last_line = time.monotonic()

    def start(self, report: Report, todo: int) -> None:
        self._downloads.close()
        if not self.quiet:
            models = " -> ".join(report.models)
            self._print(line(f"{report.task}: {todo} file{'s' * (todo != 1)} with {models} "
                             f"on {report.device} ({report.precision})"))
        self._eta = BatchEta(todo)
        self._task = report.task
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), _EtaColumn(self._eta_of),
                console=self.console, transient=True,
            )
            self._files = self._progress.add_task("files", total=todo)
            self._progress.start()
        elif not self.quiet:
            self._ticker = _Ticker(self._progress_line, self.plain_every, lambda: self._last_line)
            self._ticker.start()

    def tiles(self, job: Job, done: int, total: int) -> None:
        with self._lock:
            if self._eta is not None:
                self._eta.tile_done(done, total)
                self._current = job.name
            if self._progress is None or total <= 1:
                return
            if self._tiles is None:
                self._tiles = self._progress.add_task("tiles", total=total)
            self._progress.update(self._tiles, completed=done, total=total,
                                  description=f"tiles of {printable(job.name)}")

    def file_done(self, result: FileResult) -> None:
        with self._lock:
            if self._eta is not None and result.status in ("done", "failed"):
                self._eta.file_done()
                if self._progress is not None and self._files is not None:
                    self._progress.advance(self._files)
                    if self._tiles is not None:
                        self._progress.remove_task(self._tiles)
                        self._tiles = None
            self._line(result)

    def unexpected(self, job: Job, error: BaseException) -> None:
        """An error that is not the project's (a bug): its traceback with ``--verbose``."""
        if self.verbose:
            traceback.print_exception(error, file=sys.stderr)

    # --- progress ---------------------------------------------------------------------

    def _eta_of(self, task: TaskID) -> float | None:
        if self._eta is None:
            return None
        return self._eta.eta if task == self._files else self._eta.tiles_eta

    def _progress_line(self) -> None:
        """One plain line: files and tiles so far, time spent, time left."""
        eta = self._eta
        if eta is None:
            return
        tiles = ""
        if eta.tiles is not None and eta.tiles[1] > 1:
            tiles = f", tile {eta.tiles[0]}/{eta.tiles[1]} of {self._current}"
        self._print(line(f"{self._task}: {eta.done}/{eta.total} files{tiles}, "
                         f"{format_duration(eta.elapsed)} elapsed, "
                         f"ETA {format_duration(eta.eta)}"))

    def _print(self, text: Text) -> None:
        self.console.print(text, soft_wrap=True)
        self._last_line = time.monotonic()

    # --- output -----------------------------------------------------------------------

    def _line(self, result: FileResult) -> None:
        if result.status == "failed":
            self._print(line(("failed", "red"), " ", result.error or ""))
            return
        if self.quiet or (result.status == "skipped" and not self.verbose and self.live):
            return
        style = _STYLE[result.status]
        where = f" -> {result.output}" if result.output else ""
        said = ((result.error,) if result.error else ()) + result.notes
        extra = aside("; ".join(said)) if said else ""
        timing = f" {result.seconds:.1f}s" if result.status == "done" else ""
        self._print(line((result.status, style), " ", result.input, where, timing, extra))

    def finish(self, report: Report) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self._downloads.close()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.quiet:
            return
        counts = report.counts()
        columns = ["done", "skipped", "failed"]
        columns += [s for s in ("planned", "interrupted") if counts.get(s)]
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in (*columns, "ignored", "time"):
            table.add_column(column, justify="right")
        table.add_row(*(str(counts.get(c, 0)) for c in columns), str(len(report.ignored)),
                      f"{report.seconds:.1f}s")
        self.console.print(table)
        if report.interrupted:
            self.console.print("[yellow]interrupted: rerun the same command to resume[/yellow]")


class _Ticker(threading.Thread):
    """Calls ``tick`` whenever ``last()`` (when a line was last printed) is ``every``
    seconds old, until :meth:`stop`."""

    def __init__(self, tick: Callable[[], None], every: float,
                 last: Callable[[], float]) -> None:
        super().__init__(name="imgrestore-progress", daemon=True)
        self._tick, self._every, self._last = tick, every, last
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(min(1.0, self._every / 4)):
            if time.monotonic() - self._last() >= self._every:
                self._tick()

    def stop(self) -> None:
        self._stopped.set()
        self.join()


class TrainDisplay:
    """What ``imgrestore train`` shows (on stderr): a progress bar on a terminal, plain
    lines elsewhere.

    Implements the ``on_event`` callback of :func:`imgrestore.training.loop.train`.
    Without a terminal (pipes, CI, ``nohup``) each ``train`` event (every
    ``train.log_every`` iterations) is one line with the iteration, loss, rate, speed and
    ETA, and each validation one line with ``psnr`` beside the input's own
    ``input_psnr``. The ETA is the mean step time times the steps left
    (:class:`imgrestore.timing.MeanRate`). Notices come through ``notify``, not here.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or stderr_console()
        self.live = self.console.is_terminal
        self.rate: MeanRate | None = None
        self.total = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._figures: dict[str, str] = {}

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event == "start":
            self.total = fields["total"]
            self.rate = MeanRate(self.total)
            if self.live and self._progress is None:
                self._start_bar(fields["iteration"])
        elif event == "step" and self.rate is not None:
            self.rate.update(fields["iteration"])
        elif event == "train":
            self._figures["loss"] = f"loss {fields['loss']:.4g}"
            self._figures["lr"] = f"lr {fields['lr']:.3g}"
            if not self.live:
                self.console.print(train_line(fields, self.total, self.rate), soft_wrap=True)
        elif event == "val":
            self._figures["psnr"] = f"PSNR {fields['psnr']:.2f} dB"
            if not self.live:
                self.console.print(val_line(fields, self.total), soft_wrap=True)
        if fields.get("iteration") is not None:
            self._update_bar(fields["iteration"])
        if event == "end":
            self.close()

    def _start_bar(self, done: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}  ETA {task.fields[eta]}  {task.fields[figures]}"),
            console=self.console, transient=True,
        )
        self._task = self._progress.add_task("train", total=self.total, completed=done,
                                             speed="", eta="-:--", figures="")
        self._progress.start()

    def _update_bar(self, done: int) -> None:
        if self._progress is None or self._task is None or self.rate is None:
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


def train_line(fields: dict[str, Any], total: int, rate: MeanRate | None) -> str:
    """``train 40/300  loss 0.0412  lr 1.98e-04  1.23 it/s  ETA 3:31``."""
    speed = rate.per_second if rate is not None else None
    eta = rate.eta if rate is not None else None
    return (f"train {fields['iteration']}/{total}  loss {fields['loss']:.4g}  "
            f"lr {fields['lr']:.3g}  " + (f"{speed:.2f} it/s  " if speed else "")
            + f"ETA {format_duration(eta)}")


def val_line(fields: dict[str, Any], total: int) -> str:
    """``val 40/300  psnr 29.41 dB (input 28.79, +0.62)  ssim 0.871 (input 0.80)  ...``."""
    gain = fields["psnr"] - fields["input_psnr"]
    strip = f"  -> {fields['strip']}" if fields.get("strip") else ""
    return (f"val {fields['iteration']}/{total}  psnr {fields['psnr']:.2f} dB "
            f"(input {fields['input_psnr']:.2f}, {gain:+.2f})  ssim {fields['ssim']:.3f} "
            f"(input {fields['input_ssim']:.3f})  {fields['images']} images{strip}")
