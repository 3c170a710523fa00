"""Run a restoration request: load the models, plan the files, restore them, report.

Data flows one way: plan (no pixels read, :mod:`.plan`) -> read image -> each step's
model through the tiling engine -> optional blend with the original -> write image
(:mod:`.stages`), overlapped by the engine's pipeline, or spread over a Ray cluster's
workers (:mod:`.cluster`). One bad file fails alone; outputs are written atomically, so an
interrupted run leaves no partial file and the next run resumes by skipping finished
outputs. With a journal (:mod:`.journal`) each file's result is on disk the moment it is
known.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from imgrestore import distributed
from imgrestore.batch.journal import Journal, JournalEvents
from imgrestore.batch.plan import Job, Plan, plan_jobs
from imgrestore.batch.report import FileResult, Report
from imgrestore.batch.request import Request, Step
from imgrestore.batch.stages import (
    STDOUT_NAME,
    Chain,
    check_streams,
    job_result,
    read_job,
    restore_job,
    write_job,
)
from imgrestore.cluster import RayOptions
from imgrestore.engine.options import EngineOptions
from imgrestore.errors import ImgRestoreError, UsageError
from imgrestore.storage import Location


class Events(Protocol):
    """What the display is told while a request runs (all calls from one thread at a time)."""

    def notice(self, message: str) -> None: ...

    def download(self, what: str, done: int, total: int | None) -> None:
        """Model weights are downloading: ``done`` of ``total`` bytes (None: unknown)."""

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
    rank, world = distributed.rank_and_world()
    if request.ray is not None and world > 1:
        raise UsageError("--ray runs its own workers: start it once, not under torchrun")
    report, plan = _plan(request, events, record=rank == 0)
    todo = distributed.shard(plan.todo, rank, world)
    if request.dry_run:
        for job in todo:
            _record(report, events, FileResult(job.name, _str(job.dest) or STDOUT_NAME,
                                               "planned", notes=(job.note,) if job.note else ()))
        return _finish(report, started, world)
    check_streams(todo)
    _remove_stale_parts(plan.jobs)
    if not todo:
        return _finish(report, started, world)
    if request.ray is not None:
        from imgrestore.batch.cluster import run_on_ray

        run_on_ray(todo, request, report, events)
        return _finish(report, started, world)

    chain = Chain(request, events.notice, progress=events.download)
    report.models = [m.name for m in chain.models]
    report.device = str(chain.restorers[0].device)
    report.precision = chain.restorers[0].precision
    events.start(report, len(todo))
    _process(todo, chain, request, report, events)
    return _finish(report, started, world)


def _plan(request: Request, events: Events, *, record: bool) -> tuple[Report, Plan]:
    """Plan ``request`` (no pixels read): a report holding the skipped and failed files
    (unless ``record`` is false: other torchrun ranks), and the jobs to do."""
    plan = plan_jobs(
        request.inputs, suffix=request.output_suffix(), output=request.output,
        recursive=request.recursive, format=request.format, overwrite=request.overwrite,
        pairs=request.dual_pixel,
    )
    report = Report(task="+".join(s.task for s in request.steps))
    if record:
        report.ignored = [str(p) for p in plan.ignored]
        for job in plan.jobs:
            if job.state == "skip":
                _record(report, events, FileResult(job.name, _str(job.dest), "skipped", job.reason))
            elif job.state == "fail":
                _record(report, events, FileResult(job.name, _str(job.dest), "failed",
                                                   f"{job.name}: {job.reason}"))
    return report, plan


class _Timer:
    """Seconds each job spent being read, restored and written (not waiting in a queue)."""

    def __init__(self) -> None:
        self.busy: dict[int, float] = {}

    def timed(self, stage: Callable[..., Any]) -> Callable[..., Any]:
        def run_stage(job: Job, *args: Any) -> Any:
            start = time.perf_counter()
            try:
                return stage(job, *args)
            finally:
                self.busy[id(job)] = self.busy.get(id(job), 0.0) + time.perf_counter() - start

        return run_stage

    def of(self, job: Job) -> float:
        return round(self.busy.get(id(job), 0.0), 3)


def _process(
    todo: list[Job], chain: Chain, request: Request, report: Report, events: Events,
) -> None:
    from imgrestore.engine.pipeline import JobResult, run_pipeline

    timer = _Timer()

    def on_result(outcome: JobResult[Job]) -> None:
        job, error = outcome.job, outcome.error
        if error is not None and not isinstance(error, ImgRestoreError):
            events.unexpected(job, error)
        _record(report, events, job_result(job, outcome.value, error, timer.of(job),
                                           chain.name))

    def progress_of(job: Job) -> Callable[[int, int], None]:
        return lambda done, total: events.tiles(job, done, total)

    try:
        run_pipeline(
            todo, timer.timed(lambda job: read_job(job, request)),
            timer.timed(lambda job, image: restore_job(job, image, chain, progress_of(job))),
            timer.timed(lambda job, restored: write_job(job, restored, request)),
            on_result, fail_fast=request.fail_fast,
        )
    except KeyboardInterrupt:
        report.interrupted = True
    finished = {r.input for r in report.results}
    for job in todo:
        if job.name not in finished:
            why = ("interrupted (Ctrl-C): rerun to resume" if report.interrupted
                   else "not started: --fail-fast stopped the batch")
            _record(report, events, FileResult(job.name, _str(job.dest), "interrupted", why))


def _remove_stale_parts(jobs: list[Job]) -> None:
    """Delete what interrupted writes of the planned outputs left behind (``.part``)."""
    from imgrestore.files import remove_stale_parts

    dests = [job.dest for job in jobs if isinstance(job.dest, Path)]  # local outputs
    # an image with alpha headed for JPEG is written as PNG
    remove_stale_parts(*dests, *(d.with_suffix(".png") for d in dests if d.suffix != ".png"))


def _record(report: Report, events: Events, result: FileResult) -> None:
    report.results.append(result)
    events.file_done(result)


def _str(path: Location | None) -> str | None:
    return None if path is None else str(path)


def _finish(report: Report, started: float, world: int) -> Report:
    report.seconds = time.perf_counter() - started
    if world > 1:
        gathered = distributed.gather_to_rank0(report)
        if gathered is not None:
            report.merge(gathered[1:])
    return report


__all__ = ["EngineOptions", "Events", "RayOptions", "Request", "SilentEvents", "Step", "run"]
