"""Run a restoration request: load the models, plan the files, restore them, report.

Data flows one way: plan (no pixels read, :mod:`.plan`) -> read image -> each step's
model through the tiling engine -> optional blend with the original -> write image
(:mod:`.stages`), overlapped by the engine's pipeline. One bad file fails alone; outputs
are written atomically, so an interrupted run leaves no partial file and the next run
resumes by skipping finished outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from imgrestore import distributed
from imgrestore.batch.plan import OUTPUT_EXISTS, Job, plan_jobs
from imgrestore.batch.report import FileResult, Report
from imgrestore.batch.request import Request, Step
from imgrestore.batch.stages import (
    STDOUT_NAME,
    Chain,
    Exists,
    check_streams,
    read_job,
    restore_job,
    write_job,
)
from imgrestore.engine.options import EngineOptions
from imgrestore.errors import DeviceError, ImgRestoreError

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


def _one_line(job: Job, error: BaseException) -> str:
    if isinstance(error, ImgRestoreError):
        text = str(error)
        return text if text.startswith(job.name) else f"{job.name}: {text}"
    return f"{job.name}: {type(error).__name__}: {error}".splitlines()[0]


def run(request: Request, events: Events | None = None) -> Report:
    """Carry out ``request``; the report says what happened to every file."""
    events = events or SilentEvents()
    started = time.perf_counter()
    suffix = request.output_suffix()
    plan = plan_jobs(
        request.inputs, suffix=suffix, output=request.output, recursive=request.recursive,
        format=request.format, overwrite=request.overwrite, pairs=request.dual_pixel,
    )
    rank, world = distributed.rank_and_world()
    report = Report(task="+".join(s.task for s in request.steps))
    if rank == 0:
        report.ignored = [str(p) for p in plan.ignored]
        for job in plan.jobs:
            if job.state == "skip":
                _record(report, events, FileResult(job.name, _str(job.dest), "skipped", job.reason))
            elif job.state == "fail":
                _record(report, events, FileResult(job.name, _str(job.dest), "failed",
                                                   f"{job.name}: {job.reason}"))
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

    chain = Chain(request, events.notice, events.download, events.fallback)
    report.models = [m.name for m in chain.models]
    report.fallbacks = [m.fallback for m in chain.models if m.fallback is not None]
    report.device = str(chain.restorers[0].device)
    report.precision = chain.restorers[0].precision
    events.start(report, len(todo))
    _process(todo, chain, request, report, events)
    return _finish(report, started, world)


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

    model_name = " -> ".join(m.name for m in chain.models)
    timer = _Timer()

    def on_result(outcome: JobResult[Job]) -> None:
        _record(report, events, _file_result(outcome, timer.of(outcome.job), model_name,
                                             events))

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

    dests = [job.dest for job in jobs if job.dest is not None]
    # an image with alpha headed for JPEG is written as PNG
    remove_stale_parts(*dests, *(d.with_suffix(".png") for d in dests if d.suffix != ".png"))


def _file_result(outcome: Any, seconds: float, model_name: str, events: Events) -> FileResult:
    """What the report says of one finished job."""
    job = outcome.job
    if isinstance(outcome.value, Exists):
        return FileResult(job.name, str(outcome.value.output), "skipped", OUTPUT_EXISTS)
    if outcome.ok:
        output, notes = outcome.value
        notes = tuple(dict.fromkeys(((job.note,) if job.note else ()) + tuple(notes)))
        return FileResult(job.name, output, "done", None, seconds, model_name, notes)
    error = outcome.error
    if not isinstance(error, ImgRestoreError):
        events.unexpected(job, error)
    return FileResult(job.name, _str(job.dest), "failed", _one_line(job, error), seconds,
                      model_name, device_error=isinstance(error, DeviceError))


def _record(report: Report, events: Events, result: FileResult) -> None:
    report.results.append(result)
    events.file_done(result)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _finish(report: Report, started: float, world: int) -> Report:
    report.seconds = time.perf_counter() - started
    if world > 1:
        gathered = distributed.gather_to_rank0(report)
        if gathered is not None:
            report.merge(gathered[1:])
    return report


__all__ = ["EngineOptions", "Events", "Request", "SilentEvents", "Step", "run"]
