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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

J = TypeVar("J")
D = TypeVar("D")
P = TypeVar("P")
Stage = Literal["read", "process", "write"]

_DONE = object()  # end-of-stream marker
_POLL_S = 0.1


@dataclass(frozen=True)
class JobResult(Generic[J]):
    """What became of one job: the value ``write`` returned, or the error and its stage."""

    job: J
    value: Any = None
    error: Exception | None = None
    stage: Stage | None = None
    #: Seconds from the start of reading to the end of writing (or of the failure).
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Item:
    job: Any
    payload: Any
    started: float
    error: Exception | None = None
    stage: Stage | None = None


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set while waiting for room; whether it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


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
    stop = threading.Event()
    failed = threading.Event()
    to_process: queue.Queue = queue.Queue(maxsize=prefetch)
    to_write: queue.Queue = queue.Queue(maxsize=prefetch)
    results: list[JobResult[J]] = []
    thread_errors: list[BaseException] = []

    def reader() -> None:
        try:
            for job in jobs:
                if stop.is_set():
                    break
                item = _Item(job, None, time.perf_counter())
                try:
                    item.payload = read(job)
                except Exception as error:
                    item.error, item.stage = error, "read"
                if not _put(to_process, item, stop):
                    break
        except BaseException as error:  # the jobs iterable itself failed
            thread_errors.append(error)
        finally:
            _put(to_process, _DONE, stop)

    def writer() -> None:
        while (item := to_write.get()) is not _DONE:
            value = None
            if item.error is None:
                try:
                    value = write(item.job, item.payload)
                except Exception as error:
                    item.error, item.stage = error, "write"
            item.payload = None
            seconds = time.perf_counter() - item.started
            result = JobResult(item.job, value, item.error, item.stage, seconds)
            if result.error is not None:
                failed.set()
            results.append(result)
            if on_result is not None:
                try:
                    on_result(result)
                except BaseException as error:  # a bug in the caller: report it at the end
                    thread_errors.append(error)
                    stop.set()

    threads = [
        threading.Thread(target=reader, name="imgrestore-read", daemon=True),
        threading.Thread(target=writer, name="imgrestore-write", daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        while not stop.is_set():
            try:
                item = to_process.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _DONE:
                break
            if item.error is None:
                try:
                    item.payload = process(item.job, item.payload)
                except Exception as error:
                    item.error, item.stage, item.payload = error, "process", None
            job_failed = item.error is not None
            to_write.put(item)
            del item  # the writer owns it now; do not keep the image alive here
            if fail_fast and (job_failed or failed.is_set()):
                break
    finally:
        stop.set()
        while threads[0].is_alive():  # let the reader see `stop` and leave
            with contextlib.suppress(queue.Empty):
                to_process.get(timeout=_POLL_S)
        to_write.put(_DONE)
        for t in threads:
            t.join()
    if thread_errors:
        raise thread_errors[0]
    return results

