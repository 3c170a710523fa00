"""Run a restoration request: load the models, plan the files, restore them, report.

Data flows one way: plan (no pixels read, :mod:`.plan`) -> read image -> each step's
model through the tiling engine -> optional blend with the original -> write image
(:mod:`.stages`), overlapped by the engine's pipeline, or spread over a Ray cluster's
workers (:mod:`.cluster`). One bad file fails alone; outputs are written atomically, so an
interrupted run leaves no partial file and the next run resumes by skipping finished
outputs. With a journal (:mod:`.journal`) each file's result is on disk the moment it is
known. A request with ``watch`` restores a folder's files as they arrive instead
(:mod:`.watch`), by the same stages.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from imgrestore import distributed
from imgrestore.batch.journal import Journal, JournalEvents
from imgrestore.batch.plan import Job, plan_jobs, remove_stale_parts_of
from imgrestore.batch.report import FileResult, Report
from imgrestore.batch.request import Request, Step
from imgrestore.batch.stages import (
    STDOUT_NAME,
    Chain,
    check_streams,
    record,
    record_planned,
    restore_jobs,
)
from imgrestore.cluster import RayOptions
from imgrestore.engine.options import EngineOptions
from imgrestore.errors import UsageError
from imgrestore.storage import Location

if TYPE_CHECKING:
    from imgrestore.zoo.fallback import Fallback


class Events(Protocol):
    """What the display is told while a request runs (all calls from one thread at a time)."""

    def notice(self, message: str) -> None: ...

    def download(self, what: str, done: int, total: int | None) -> None:
        """Model weights are downloading: ``done`` of ``total`` bytes (None: unknown)."""

    def fallback(self, fallback: Fallback) -> None:
        """A built-in model stands in for a task's default (told as soon as it is loaded,
        before any other notice about it)."""

    def start(self, report: Report, todo: int) -> None: ...

    def tiles(self, job: Job, done: int, total: int) -> None: ...

    def file_done(self, result: FileResult) -> None: ...

    def unexpected(self, job: Job, error: BaseException) -> None:
        """``job`` failed with an error that is not the project's (a bug)."""


class SilentEvents:
    def notice(self, message: str) -> None:
        pass

    def download(self, what: str, done: int, total: int | None) -> None:
        pass

    def fallback(self, fallback: Fallback) -> None:
        pass

    def start(self, report: Report, todo: int) -> None:
        pass

    def tiles(self, job: Job, done: int, total: int) -> None:
        pass

    def file_done(self, result: FileResult) -> None:
        pass

    def unexpected(self, job: Job, error: BaseException) -> None:
        pass


def run(request: Request, events: Events | None = None) -> Report:
    """Carry out ``request``; the report says what happened to every file (and, with
    ``request.journal``, each result goes to that JSON-lines file as soon as it is known)."""
    events = events or SilentEvents()
    if request.journal is None:
        return _run(request, events)
    journal = Journal(request.journal)
    try:
        return _run(request, JournalEvents(events, journal))
    finally:
        journal.close()


def _run(request: Request, events: Events) -> Report:
    started = time.perf_counter()
    if request.watch is not None:
        return _watch(request, events, started)
    rank, world = distributed.rank_and_world()
    if request.ray is not None and world > 1:
        raise UsageError("--ray runs its own workers: start it once, not under torchrun")
    plan = plan_jobs(
        request.inputs, suffix=request.output_suffix(), output=request.output,
        recursive=request.recursive, format=request.format, overwrite=request.overwrite,
        pairs=request.dual_pixel,
    )
    report = Report(task="+".join(s.task for s in request.steps))
    if rank == 0:
        record_planned(plan, report, events)
    todo = distributed.shard(plan.todo, rank, world)
    if request.dry_run:
        for job in todo:
            record(report, events, FileResult(job.name, _str(job.dest) or STDOUT_NAME,
                                              "planned", notes=(job.note,) if job.note else ()))
        return _finish(report, started, world)
    check_streams(todo)
    remove_stale_parts_of(plan.jobs)
    if not todo:
        return _finish(report, started, world)
    if request.ray is not None:
        from imgrestore.batch.cluster import run_on_ray

        run_on_ray(todo, request, report, events)
        return _finish(report, started, world)
    chain = _start(request, events, report, len(todo))
    restore_jobs(todo, chain, request, report, events)
    return _finish(report, started, world)


def _watch(request: Request, events: Events, started: float) -> Report:
    """``--watch``: the folder's files, then each new one once complete, until Ctrl-C."""
    from imgrestore.batch.watch import watch

    if distributed.rank_and_world()[1] > 1:
        raise UsageError("--watch runs in one process (not under torchrun)")
    if request.inputs or request.dual_pixel or request.dry_run:
        raise UsageError("--watch takes no other inputs, --dual-pixel or --dry-run")
    report = Report(task="+".join(s.task for s in request.steps))
    chain = _start(request, events, report, 0)
    watch(request, chain, events, report)
    return _finish(report, started, 1)


def _start(request: Request, events: Events, report: Report, todo: int) -> Chain:
    """Load the request's models; the report says which, on what device and precision."""
    chain = Chain(request, events.notice, progress=events.download, on_fallback=events.fallback)
    report.models = [m.name for m in chain.models]
    report.fallbacks = [m.fallback for m in chain.models if m.fallback is not None]
    report.device = str(chain.restorers[0].device)
    report.precision = chain.restorers[0].precision
    events.start(report, todo)
    return chain


def _str(path: Location | None) -> str | None:
    return None if path is None else str(path)


def _finish(report: Report, started: float, world: int) -> Report:
    report.seconds = time.perf_counter() - started
    if world > 1:
        gathered = distributed.gather_to_rank0(report)
        if gathered is not None:
            report.merge(gathered[1:])
    return report


__all__ = ["EngineOptions", "Events", "RayOptions", "Request", "SilentEvents", "Step",
           "record_planned", "restore_jobs", "run"]
