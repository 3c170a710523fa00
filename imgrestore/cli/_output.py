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
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from imgrestore.batch.eta import BatchEta
from imgrestore.timing import format_duration

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imgrestore.batch.plan import Job
    from imgrestore.batch.report import FileResult, Report
    from imgrestore.zoo.fallback import Fallback

_STYLE = {"done": "green", "skipped": "yellow", "failed": "red", "planned": "cyan"}
#: Without a terminal, a progress line whenever nothing was printed for this long (s).
PLAIN_EVERY = 30.0


def stderr_console() -> Console:
    """The console for people: progress, notices, errors, tables beside a report."""
    return Console(stderr=True, highlight=False)


def stdout_console() -> Console:
    """The console for tables on stdout (``info``, ``eval``)."""
    return Console(highlight=False)


def echo(text: object) -> None:
    """One plain line on stdout, for scripts (a path, a URL, a table row)."""
    click.echo(str(text))


def note(text: str) -> None:
    """One plain line on stderr (what a command did, a hint)."""
    click.echo(text, err=True)


def notice(message: str) -> None:
    """A dim line on stderr: a library notice (licence on first download, fallbacks)."""
    stderr_console().print(f"[dim]{escape(message)}[/dim]", soft_wrap=True)


def error(message: str) -> None:
    """One red line on stderr: ``error: <message>``."""
    stderr_console().print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, markup=True)


def write_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (``--json -``, ``--json`` listings)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


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
        self._eta: BatchEta | None = None
        self._task = ""
        self._current = ""
        self._last_line = time.monotonic()
        self._ticker: _Ticker | None = None

    # --- Events -----------------------------------------------------------------------

    def notice(self, message: str) -> None:
        if not self.quiet:
            self._print(f"[dim]{escape(message)}[/dim]")

    def start(self, report: Report, todo: int) -> None:
        if self.warnings:
            show_fallbacks(self.console, report.fallbacks, verbose=self.verbose)
        if not self.quiet:
            models = " -> ".join(report.models)
            self._print(f"{report.task}: {todo} file{'s' * (todo != 1)} with "
                        f"{escape(models)} on {report.device} ({report.precision})")
        self._eta = BatchEta(todo)
        self._task = report.task
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), _EtaColumn(self._eta_of), console=self.console,
                transient=True,
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
                                  description=f"tiles of {escape(job.name)}")

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
            tiles = f", tile {eta.tiles[0]}/{eta.tiles[1]} of {escape(self._current)}"
        self._print(f"{self._task}: {eta.done}/{eta.total} files{tiles}, "
                    f"{format_duration(eta.elapsed)} elapsed, ETA {format_duration(eta.eta)}")

    def _print(self, markup: str) -> None:
        self.console.print(markup, soft_wrap=True)
        self._last_line = time.monotonic()

    def unexpected(self, job: Job, error: BaseException) -> None:
        """An error that is not the project's (a bug): its traceback with ``--verbose``."""
        if self.verbose:
            traceback.print_exception(error, file=sys.stderr)

    # --- output -----------------------------------------------------------------------

    def _line(self, result: FileResult) -> None:
        if result.status == "failed":
            self._print(f"[red]failed[/red] {escape(result.error or '')}")
            return
        if self.quiet or (result.status == "skipped" and not self.verbose and self.live):
            return
        style = _STYLE[result.status]
        where = f" -> {escape(result.output)}" if result.output else ""
        said = ((result.error,) if result.error else ()) + result.notes
        extra = escape(aside("; ".join(said))) if said else ""
        timing = f" {result.seconds:.1f}s" if result.status == "done" else ""
        self._print(
            f"[{style}]{result.status}[/{style}] {escape(result.input)}{where}{timing}{extra}"
        )

    def finish(self, report: Report) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.quiet:
            return
        counts = report.counts()
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in ("done", "skipped", "failed", "ignored", "time"):
            table.add_column(column, justify="right")
        table.add_row(
            str(counts.get("done", 0) + counts.get("planned", 0)), str(counts.get("skipped", 0)),
            str(counts.get("failed", 0)), str(len(report.ignored)), f"{report.seconds:.1f}s",
        )
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


def aside(text: str) -> str:
    """`` (text)`` after a line, or ``: text`` when the text has parentheses of its own
    (never two levels of them)."""
    return f": {text}" if "(" in text or ")" in text else f" ({text})"


def show_fallbacks(console: Console, fallbacks: Sequence[Fallback], *,
                   verbose: bool = False) -> None:
    """One warning line per built-in model standing in (``-v``: the failed URL, why,
    and every route to the weights, indented below)."""
    seen: set[tuple[str, str]] = set()
    for fallback in fallbacks:
        if (fallback.wanted, fallback.model) in seen:
            continue
        seen.add((fallback.wanted, fallback.model))
        console.print(f"[yellow]{escape(fallback.line())}[/yellow]", soft_wrap=True)
        if verbose:
            for line in fallback.details():
                console.print(f"  {escape(line)}", soft_wrap=True)


class TrainDisplay:
    """The live line of ``imgrestore train``: progress, speed, loss, learning rate, PSNR.

    Implements the ``on_event`` callback of :func:`imgrestore.training.loop.train`.
    """

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[figures]}"),
            console=stderr_console(),
        )
        self._task: TaskID | None = None
        self._figures: dict[str, str] = {}
        self._start: tuple[float, int] = (0.0, 0)

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        import time

        if event == "start":
            self._start = (time.perf_counter(), fields["iteration"])
            if self._task is None:
                self._progress.start()
                self._task = self._progress.add_task(
                    "train", total=fields["total"], completed=fields["iteration"], speed="",
                    figures="",
                )
        elif event == "train":
            self._figures["loss"] = f"loss {fields['loss']:.4g}"
            self._figures["lr"] = f"lr {fields['lr']:.3g}"
        elif event == "val":
            self._figures["psnr"] = f"PSNR {fields['psnr']:.2f} dB"
        step = fields.get("iteration")
        if self._task is not None and step is not None:
            elapsed = time.perf_counter() - self._start[0]
            rate = (step - self._start[1]) / elapsed if elapsed > 0 else 0.0
            self._progress.update(self._task, completed=step, speed=f"{rate:.2f} it/s",
                                  figures="  ".join(self._figures.values()))
        if event == "end":
            self.close()

    def close(self) -> None:
        self._progress.stop()  # idempotent
