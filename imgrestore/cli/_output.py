"""Everything the CLI shows, in one place: the consoles, plain lines, notices, errors,
JSON, and the live displays of batches and training runs.

Library code never prints: it raises, or reports through the callbacks these displays
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
import threading
import traceback
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from imgrestore.timing import MeanRate, format_duration

if TYPE_CHECKING:
    from imgrestore.batch.plan import Job
    from imgrestore.batch.report import FileResult, Report

_STYLE = {"done": "green", "skipped": "yellow", "failed": "red", "planned": "cyan",
          "interrupted": "yellow"}
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
    """A dim line on stderr: a library notice (licence on first download, fallbacks)."""
    (console or stderr_console()).print(shown(message, "dim"), soft_wrap=True)


def error(message: str) -> None:
    """One red line on stderr: ``error: <message>``."""
    stderr_console().print(line(("error:", "red"), " ", message), soft_wrap=True)


def write_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (``--json -``, ``--json`` listings)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


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


class BatchDisplay:
    """Implements :class:`imgrestore.batch.run.Events` for the terminal."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.console = stderr_console()
        self.quiet = quiet
        self.verbose = verbose
        self.live = self.console.is_terminal and not quiet
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._files: TaskID | None = None
        self._tiles: TaskID | None = None
        self._downloads = DownloadBar(self.console, quiet=quiet)

    # --- Events -----------------------------------------------------------------------

    def notice(self, message: str) -> None:
        self._downloads.notice(message)

    def download(self, what: str, done: int, total: int | None) -> None:
        self._downloads(what, done, total)

    def start(self, report: Report, todo: int) -> None:
        self._downloads.close()
        if not self.quiet:
            models = " -> ".join(report.models)
            self.console.print(
                line(f"{report.task}: {todo} file{'s' * (todo != 1)} with {models} "
                     f"on {report.device} ({report.precision})"), soft_wrap=True,
            )
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False), BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                transient=True,
            )
            self._files = self._progress.add_task("files", total=todo)
            self._progress.start()

    def tiles(self, job: Job, done: int, total: int) -> None:
        if self._progress is None or total <= 1:
            return
        with self._lock:
            if self._tiles is None:
                self._tiles = self._progress.add_task("tiles", total=total)
            self._progress.update(self._tiles, completed=done, total=total,
                                  description=f"tiles of {printable(job.name)}")

    def file_done(self, result: FileResult) -> None:
        with self._lock:
            if self._progress is not None and self._files is not None and result.status in (
                "done", "failed"
            ):
                self._progress.advance(self._files)
                if self._tiles is not None:
                    self._progress.remove_task(self._tiles)
                    self._tiles = None
            self._line(result)

    def unexpected(self, job: Job, error: BaseException) -> None:
        """An error that is not the project's (a bug): its traceback with ``--verbose``."""
        if self.verbose:
            traceback.print_exception(error, file=sys.stderr)

    # --- output -----------------------------------------------------------------------

    def _line(self, result: FileResult) -> None:
        if result.status == "failed":
            self.console.print(line(("failed", "red"), " ", result.error or ""), soft_wrap=True)
            return
        if self.quiet or (result.status == "skipped" and not self.verbose and self.live):
            return
        style = _STYLE[result.status]
        where = f" -> {result.output}" if result.output else ""
        said = ((result.error,) if result.error else ()) + result.notes
        extra = f" ({'; '.join(said)})" if said else ""
        timing = f" {result.seconds:.1f}s" if result.status == "done" else ""
        self.console.print(
            line((result.status, style), " ", result.input, where, timing, extra),
            soft_wrap=True,
        )

    def finish(self, report: Report) -> None:
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
