"""Watch a folder (``--watch IN -o OUT``): restore what is there, then each new file once complete.

Change events come from the ``watchdog`` library (inotify, FSEvents, Windows), with its
polling observer where native events cannot be had, and a rescan of the folder every
few seconds for file systems that deliver none (network shares). A file is taken only
when it is complete: its size and modification time have not changed for ``settle``
seconds, its name is not a copy in progress (hidden, ``.part``, ``.crdownload``...),
and it did not change while it was being read (else its output is removed and it is
done again later), so a partial copy never becomes an output. Everything else is the
batch's: finished outputs are skipped, outputs are written atomically, one line per
file. Ctrl-C stops the watch; the report says ``interrupted`` (exit code 130).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgrestore.errors import UsageError
from imgrestore.imaging.formats import IMAGE_SUFFIXES, sniff_format
from imgrestore.imaging.inputs import read_head

if TYPE_CHECKING:
    from imgrestore.batch.report import Report
    from imgrestore.batch.request import Request
    from imgrestore.batch.run import Events
    from imgrestore.batch.stages import Chain

#: Names of files still being written by common copy tools and browsers.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp",
                    ".filepart", ".!qb", ".opdownload", "~")  # fmt: skip


@dataclass(frozen=True)
class WatchOptions:
    """``--watch FOLDER`` and how long a new file must stay unchanged (``--watch-settle``)."""

    folder: str
    settle: float = 2.0
    #: Seconds between checks of files waiting to settle.
    poll: float = 0.25
    #: Seconds between full rescans of the folder (a safety net for missed events).
    rescan: float = 5.0


def is_partial_name(path: Path) -> bool:
    """Hidden files and the temporary names copy tools use are never inputs."""
    name = path.name.lower()
    return name.startswith((".", "~$")) or name.endswith(PARTIAL_SUFFIXES)


Signature = tuple[int, int]


def _signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns) if path.is_file() else None


class Settling:
    """Files waiting to be complete: ready once unchanged for ``settle`` seconds."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._waiting: dict[Path, tuple[Signature, float]] = {}
        self._handled: dict[Path, Signature] = {}
        self._lock = threading.Lock()

    def note(self, path: Path) -> None:
        """A path was created, changed or moved in (from any thread)."""
        with self._lock:
            self._waiting.setdefault(path, ((-1, -1), time.monotonic()))

    def ready(self) -> list[Path]:
        """Files unchanged for ``settle`` seconds and not handled in that state yet."""
        now, out = time.monotonic(), []
        with self._lock:
            for path, (old, since) in list(self._waiting.items()):
                sig = _signature(path)
                if sig is None:
                    del self._waiting[path]
                elif sig != old:
                    self._waiting[path] = (sig, now)
                elif sig[0] > 0 and now - since >= self.settle:
                    del self._waiting[path]
                    if self._handled.get(path) != sig:
                        out.append(path)
        return sorted(out)

    def handled(self, path: Path, sig: Signature | None) -> None:
        with self._lock:
            if sig is not None:
                self._handled[path] = sig

    def retry(self, path: Path) -> None:
        with self._lock:
            self._handled.pop(path, None)
            self._waiting[path] = ((-1, -1), time.monotonic())


def _candidates(folder: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    walker = folder.rglob("*") if recursive else folder.iterdir()
    found = []
    for path in walker:
        if exclude is not None and (path == exclude or exclude in path.parents):
            continue
        if path.is_file() and not is_partial_name(path):
            found.append(path)
    return found


def _is_image(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    head = read_head(path, 64)  # a regular file only, opened non-blocking: never hangs
    return head is not None and sniff_format(head) is not None


def _start_observer(folder: Path, recursive: bool, settling: Settling, exclude: Path | None):
    """A watchdog observer feeding ``settling``; the polling one if native events fail."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.is_directory:
                return
            for raw in (getattr(event, "dest_path", ""), event.src_path):
                if not raw:
                    continue
                path = Path(os.fsdecode(raw))
                inside = exclude is not None and (path == exclude or exclude in path.parents)
                if not inside and not is_partial_name(path):
                    settling.note(path)

    for kind in (Observer, PollingObserver):
        observer = kind()
        try:
            observer.schedule(Handler(), str(folder), recursive=recursive)
            observer.start()
            return observer
        except OSError:  # e.g. the inotify watch limit
            continue
    raise UsageError(f"--watch {folder}: cannot watch this folder")


def watch(request: Request, chain: Chain, events: Events, report: Report,
          *, stop: threading.Event | None = None) -> None:  # fmt: skip
    """Restore the watched folder's files as they become complete, until Ctrl-C or ``stop``."""
    assert request.watch is not None
    options = request.watch
    folder = Path(options.folder)
    if not folder.is_dir():
        raise UsageError(f"--watch {folder}: not a folder")
    if request.output and Path(request.output).suffix and not Path(request.output).is_dir():
        raise UsageError(f"-o {request.output}: a watch writes into a folder; name one")
    out = Path(request.output).resolve() if request.output else None
    exclude = out if out is not None and folder.resolve() in out.parents else None
    settling = Settling(options.settle)
    stop = stop or threading.Event()
    observer = _start_observer(folder, request.recursive, settling, exclude)
    events.notice(f"watching {folder} (Ctrl-C to stop)")
    last_scan = -float("inf")
    try:
        while not stop.is_set():
            if time.monotonic() - last_scan >= options.rescan:
                for path in _candidates(folder, request.recursive, exclude):
                    settling.note(path)
                last_scan = time.monotonic()
            for path in settling.ready():
                if path.stem.endswith(request.output_suffix()):  # an output beside its input
                    settling.handled(path, _signature(path))
                    continue
                if not _is_image(path):
                    settling.handled(path, _signature(path))
                    report.ignored.append(str(path))
                    events.notice(f"ignored {path}: not an image")
                    continue
                _restore_one(path, folder, request, chain, report, events, settling)
                if request.fail_fast and report.counts().get("failed"):
                    return
            stop.wait(options.poll)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        observer.stop()
        with contextlib.suppress(RuntimeError):
            observer.join(timeout=5)


def _restore_one(path: Path, folder: Path, request: Request, chain: Chain, report: Report,
                 events: Events, settling: Settling) -> None:  # fmt: skip
    """Plan and restore one complete file as the batch would; redo it if it changed meanwhile."""
    from imgrestore.batch.plan import plan_jobs, remove_stale_parts_of
    from imgrestore.batch.stages import record_planned, restore_jobs

    output = request.output
    if output is not None and request.recursive and path.parent != folder:
        output = str(Path(output) / path.parent.relative_to(folder))
    before = _signature(path)
    plan = plan_jobs([str(path)], suffix=request.output_suffix(), output=output,
                     format=request.format, overwrite=request.overwrite)  # fmt: skip
    record_planned(plan, report, events)
    remove_stale_parts_of(plan.jobs)  # what a killed earlier watch left of this output
    count = len(report.results)
    restore_jobs(plan.todo, chain, request, report, events)
    if report.interrupted:
        raise KeyboardInterrupt
    if _signature(path) != before:  # written to while we read it: not complete after all
        for result in report.results[count:]:
            if result.status == "done" and result.output:
                with contextlib.suppress(OSError):
                    Path(result.output).unlink()
        del report.results[count:]
        events.notice(f"{path} changed while it was read: it is done again when complete")
        settling.retry(path)
        return
    settling.handled(path, before)
