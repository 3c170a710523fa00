"""Batches on a Ray cluster: one plan on the driver, the files streamed to a pool of workers.

``imgrestore denoise archive/ -o restored/ --ray auto --json report.json``

- The driver plans exactly as a local run does (:func:`imgrestore.batch.run.run`: inputs,
  outputs, what is already done) and resolves and verifies the models, once
  (:func:`~imgrestore.batch.stages.load_models`).
- Ray Data streams the jobs to an actor pool (:func:`imgrestore.cluster.map_on_ray`).
  Each actor holds one :class:`~imgrestore.batch.stages.Chain` (one GPU per actor where
  the cluster has GPUs, else ``cpus_per_worker`` CPU threads) and runs
  :func:`~imgrestore.batch.stages.run_job`: the local run's read, restore and write
  stages, so outputs are written atomically with their metadata, tiled the same way.
- Results stream back as they finish: to the display, the journal (``report.jsonl``),
  and at the end into the same report as a local run, in plan order.
- A worker that dies (machine lost, out of memory) is restarted by Ray and its files
  are tried again, up to ``max_retries`` times; after that the file fails alone
  ("worker lost"). Temporary files that killed workers left are removed.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore import cluster
from imgrestore.batch.report import FileResult
from imgrestore.errors import ImgRestoreError
from imgrestore.files import remove_stale_parts

if TYPE_CHECKING:
    from imgrestore.batch.plan import Job
    from imgrestore.batch.report import Report
    from imgrestore.batch.request import Request
    from imgrestore.batch.run import Events
    from imgrestore.zoo.portable import PackedModel


def run_on_ray(todo: Sequence[Job], request: Request, report: Report, events: Events) -> None:
    """Restore ``todo`` on Ray; record every file's result into ``report`` (plan order)."""
    from imgrestore.batch.stages import load_models

    options = request.ray
    assert options is not None
    models = load_models(request, events.notice, events.download, events.fallback)
    with cluster.open_pool(options, models, request.engine.device) as pool:
        report.models = [m.name for m in pool.models]
        report.fallbacks = [m.fallback for m in models if m.fallback is not None]
        report.device, report.precision = pool.shape.describe(), request.engine.precision
        remove_stale_parts(*(job.dest for job in todo if isinstance(job.dest, Path)))
        events.start(report, len(todo))
        stream = pool.map(todo, RestoreActor, request=request)
        results = _collect(stream, todo, request, report, events)
        remove_stale_parts(*(job.dest for job in todo if isinstance(job.dest, Path)))
    report.results.extend(results)


def _collect(
    stream: Iterator[tuple[int, Any]], todo: Sequence[Job], request: Request, report: Report,
    events: Events,
) -> list[FileResult]:
    """Each result to ``events`` as it arrives; all of them back in plan order."""
    options = request.ray
    assert options is not None
    found: dict[int, FileResult] = {}
    devices: dict[tuple[str, str], None] = {}
    stopped = False
    try:
        for index, (result, device, precision, trace) in stream:
            found[index] = result
            if trace is not None:  # not the project's error: a bug, shown with --verbose
                events.unexpected(todo[index], WorkerError(trace))
            devices.setdefault((device, precision), None)
            events.file_done(result)
            if result.status == "failed" and request.fail_fast:
                stopped = True
                break
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if devices:
        report.device = ", ".join(dict.fromkeys(d for d, _ in devices))
        report.precision = ", ".join(dict.fromkeys(p for _, p in devices))
    ordered = []
    for index, job in enumerate(todo):
        result = found.get(index)
        if result is None:
            result = _unfinished(job, report.interrupted, stopped, options.max_retries)
            events.file_done(result)
        ordered.append(result)
    return ordered


def _unfinished(job: Job, interrupted: bool, stopped: bool, retries: int) -> FileResult:
    dest = None if job.dest is None else str(job.dest)
    if interrupted:
        return FileResult(job.name, dest, "skipped", "interrupted")
    if stopped:
        return FileResult(job.name, dest, "skipped", "not started (--fail-fast)")
    why = f"{job.name}: worker lost while restoring it ({retries + 1} tries); rerun to retry"
    return FileResult(job.name, dest, "failed", why)


class RestoreActor(cluster.PoolActor):
    """One worker: the request's models loaded once, then files read, restored, written."""

    def __init__(self, request: Request, models: list[PackedModel], weights: list[Any],
                 threads: int | None) -> None:
        from imgrestore.batch.stages import Chain

        super().__init__(models, weights, threads)
        self.request = request
        self.chain = Chain(request, models=self.loaded)
        self.device = str(self.chain.restorers[0].device)
        self.precision = self.chain.restorers[0].precision

    def handle(self, item: Job) -> tuple[FileResult, str, str, str | None]:
        """The file's entry, where it ran, and the traceback of an error not the project's."""
        from imgrestore.batch.stages import run_job

        result, error = run_job(item, self.request, self.chain)
        trace = None
        if error is not None and not isinstance(error, ImgRestoreError):
            trace = "".join(traceback.format_exception(error)).rstrip()
        return result, self.device, self.precision, trace


class WorkerError(Exception):
    """An error a Ray worker met that is not the project's: its text is the traceback."""
