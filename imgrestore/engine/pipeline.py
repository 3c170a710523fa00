"""A three-stage pipeline for batches: read ahead and write behind while the network runs.

One background thread reads (decodes) the next jobs, the calling thread processes them
(the network, so Ctrl-C arrives there), and one background thread writes (encodes) the
finished ones. Queues are bounded, so at most ``prefetch`` decoded images wait on each
side. An exception in any stage fails that job only; the others go on.

>>> results = run_pipeline(paths, read=load, process=restorer_on, write=save,
...                        on_result=lambda r: print(r.job, "ok" if r.ok else r.error))
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

J = TypeVar("J")
D = TypeVar("D")
P = TypeVar("P")

_DONE = object()  # end-of-stream marker
_POLL_S = 0.1


@dataclass(frozen=True)
class JobResult(Generic[J]):
    """What became of one job: the value ``write`` returned, or the error."""

    job: J
    value: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Item:
    job: Any
    payload: Any
    error: Exception | None = None


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set while waiting for room; whether it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


class _Pipeline(Generic[J]):
    """The queues, flags and results one :func:`run_pipeline` call shares between its three
    stages; one method per stage."""

    def __init__(self, prefetch: int, on_result: Callable[[JobResult[J]], None] | None) -> None:
        self.stop = threading.Event()
        self.failed = threading.Event()
        self.to_process: queue.Queue = queue.Queue(maxsize=prefetch)
        self.to_write: queue.Queue = queue.Queue(maxsize=prefetch)
        self.results: list[JobResult[J]] = []
        self.thread_errors: list[BaseException] = []
        self.on_result = on_result

    def read_all(self, jobs: Iterable[J], read: Callable[[J], Any]) -> None:
        """The reader thread: decode each job ahead of the network."""
        try:
            for job in jobs:
                if self.stop.is_set():
                    break
                item = _Item(job, None)
                try:
                    item.payload = read(job)
                except Exception as error:
                    item.error = error
                if not _put(self.to_process, item, self.stop):
                    break
        except BaseException as error:  # the jobs iterable itself failed
            self.thread_errors.append(error)
        finally:
            _put(self.to_process, _DONE, self.stop)

    def write_all(self, write: Callable[[J, Any], Any]) -> None:
        """The writer thread: encode each processed job, then report it, in order."""
        while (item := self.to_write.get()) is not _DONE:
            value = None
            if item.error is None:
                try:
                    value = write(item.job, item.payload)
                except Exception as error:
                    item.error = error
            item.payload = None
            self._report(JobResult(item.job, value, item.error))

    def _report(self, result: JobResult[J]) -> None:
        if result.error is not None:
            self.failed.set()
        self.results.append(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except BaseException as error:  # a bug in the caller: report it at the end
                self.thread_errors.append(error)
                self.stop.set()

    def process_all(self, process: Callable[[J, Any], Any], fail_fast: bool) -> None:
        """The calling thread: run the network on each decoded job."""
        while not self.stop.is_set():
            try:
                item = self.to_process.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _DONE:
                break
            if item.error is None:
                try:
                    item.payload = process(item.job, item.payload)
                except Exception as error:
                    item.error, item.payload = error, None
            job_failed = item.error is not None
            self.to_write.put(item)
            del item  # the writer owns it now; do not keep the image alive here
            if fail_fast and (job_failed or self.failed.is_set()):
                break

    def shut_down(self, reader: threading.Thread, writer: threading.Thread) -> None:
        """Let the reader see ``stop`` and leave, finish writing, join both threads."""
        self.stop.set()
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                self.to_process.get(timeout=_POLL_S)
        self.to_write.put(_DONE)
        reader.join()
        writer.join()


def run_pipeline(
    jobs: Iterable[J],
    read: Callable[[J], D],
    process: Callable[[J, D], P],
    write: Callable[[J, P], Any],
    on_result: Callable[[JobResult[J]], None] | None = None,
    *,
    prefetch: int = 1,
    fail_fast: bool = False,
) -> list[JobResult[J]]:
    """Run ``write(job, process(job, read(job)))`` for every job, stages overlapped.

    ``on_result`` is called once per job, in job order, from the writer thread. With
    ``fail_fast`` no new job starts after a failure. On ``KeyboardInterrupt`` reading
    stops, jobs already processed are still written, the threads are joined and the
    interrupt is raised again. Returns the results of the jobs that finished, in order.
    """
    if prefetch < 1:
        raise ValueError("prefetch must be at least 1")
    pipeline: _Pipeline[J] = _Pipeline(prefetch, on_result)
    reader = threading.Thread(target=pipeline.read_all, args=(jobs, read),
                              name="imgrestore-read", daemon=True)
    writer = threading.Thread(target=pipeline.write_all, args=(write,),
                              name="imgrestore-write", daemon=True)
    reader.start()
    writer.start()
    try:
        pipeline.process_all(process, fail_fast)
    finally:
        pipeline.shut_down(reader, writer)
    if pipeline.thread_errors:
        raise pipeline.thread_errors[0]
    return pipeline.results
