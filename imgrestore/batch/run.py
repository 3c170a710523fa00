"""Run a restoration request: load the models, plan the files, restore them, report.

Data flows one way: plan (no pixels read) -> read image -> each step's model through
the tiling engine -> optional blend with the original -> write image. One bad file
fails alone; outputs are written atomically, so an interrupted run leaves no partial
file and the next run resumes by skipping finished outputs.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imgrestore.batch import distributed
from imgrestore.batch.cluster import RayOptions
from imgrestore.batch.journal import Journal, JournalEvents
from imgrestore.batch.plan import Job, plan_jobs
from imgrestore.batch.report import FileResult, Report
from imgrestore.batch.worker import Chain, FileWorker, load_models
from imgrestore.errors import ImgRestoreError, UsageError
from imgrestore.tasks import TaskName, chain_suffix


@dataclass(frozen=True)
class Step:
    """One task of a request; ``--then`` chains several."""

    task: TaskName
    #: Card name or alias, local file, model folder or ``hf:owner/repo[@rev]``; None =
    #: the task's default.
    model: str | None = None
    weights: str | None = None
    scale: int | None = None
    style: str | None = None


@dataclass(frozen=True)
class EngineOptions:
    device: str = "auto"
    precision: str = "auto"
    tile: str | int = "auto"
    tile_overlap: int = 32
    max_memory: str | None = None
    compile: bool = False


@dataclass(frozen=True)
class Request:
    """Everything a task command was asked to do."""

    steps: tuple[Step, ...]
    inputs: tuple[str, ...]
    output: str | None = None
    suffix: str | None = None
    recursive: bool = False
    overwrite: bool = False
    dry_run: bool = False
    fail_fast: bool = False
    strength: float = 1.0
    format: str | None = None
    quality: int | None = None
    strip_metadata: bool = False
    max_pixels: int | None = None
    #: Inputs are (left, right) dual-pixel views, two by two.
    dual_pixel: bool = False
    engine: EngineOptions = field(default_factory=EngineOptions)
    #: Append each file's result to this JSON-lines file as soon as it is known.
    journal: str | None = None
    #: Run on a Ray cluster instead of in this process.
    ray: RayOptions | None = None

    def output_suffix(self) -> str:
        if self.suffix is not None:
            return self.suffix
        return chain_suffix([(s.task, s.scale or 1) for s in self.steps])


class Events(Protocol):
    """What the display is told while a request runs (all calls from one thread at a time)."""

    def notice(self, message: str) -> None: ...

    def start(self, report: Report, todo: int) -> None: ...

    def tiles(self, job: Job, done: int, total: int) -> None: ...

    def file_done(self, result: FileResult) -> None: ...


class SilentEvents:
    def notice(self, message: str) -> None:
        pass

    def start(self, report: Report, todo: int) -> None:
        pass

    def tiles(self, job: Job, done: int, total: int) -> None:
        pass

    def file_done(self, result: FileResult) -> None:
        pass


def run(request: Request, events: Events | None = None, *, verbose: bool = False) -> Report:
    """Carry out ``request``; the report says what happened to every file."""
    events = events or SilentEvents()
    if request.journal is None:
        return _run(request, events, verbose)
    journal = Journal(request.journal)
    try:
        return _run(request, JournalEvents(events, journal), verbose)
    finally:
        journal.close()


def _run(request: Request, events: Events, verbose: bool) -> Report:
    started = time.perf_counter()
    rank, world = distributed.rank_and_world()
    if request.ray is not None and world > 1:
        raise UsageError("--ray runs its own workers: start it once, not under torchrun")
    report, todo = plan_report(request, events, record=rank == 0)
    todo = distributed.shard(todo, rank, world)
    if request.dry_run:
        for job in todo:
            _record(report, events, FileResult(job.name, _str(job.dest) or "<stdout>", "planned"))
        return _finish(report, started, world)
    if not todo:
        return _finish(report, started, world)
    if request.ray is not None:
        from imgrestore.batch.cluster import run_on_ray

        run_on_ray(todo, request, report, events)
        return _finish(report, started, world)

    chain = Chain(request, load_models(request, events.notice))
    report.models = [m.name for m in chain.models]
    report.device = str(chain.restorers[0].device)
    report.precision = chain.restorers[0].precision
    events.start(report, len(todo))
    _process(todo, chain, request, report, events, verbose)
    return _finish(report, started, world)


def plan_report(
    request: Request, events: Events, *, record: bool = True
) -> tuple[Report, list[Job]]:
    """Plan ``request`` (no pixels read): a report holding the skipped and failed files
    (unless ``record`` is false), and the jobs to do."""
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
    return report, plan.todo


def _process(
    todo: list[Job], chain: Chain, request: Request, report: Report, events: Events,
    verbose: bool,
) -> None:
    from imgrestore.engine.pipeline import JobResult, run_pipeline

    worker = FileWorker(request, chain)
    # Seconds each job spent being read, restored and written (not waiting in a queue).
    busy: dict[int, float] = {}

    def timed(stage: Callable[..., Any]) -> Callable[..., Any]:
        def run_stage(job: Job, *args: Any) -> Any:
            start = time.perf_counter()
            try:
                return stage(job, *args)
            finally:
                busy[id(job)] = busy.get(id(job), 0.0) + time.perf_counter() - start

        return run_stage

    def restore(job: Job, image: Any) -> Any:
        return worker.restore(job, image, lambda done, total: events.tiles(job, done, total))

    def on_result(outcome: JobResult[Job]) -> None:
        job, error = outcome.job, outcome.error
        if verbose and error is not None and not isinstance(error, ImgRestoreError):
            traceback.print_exception(error, file=sys.stderr)
        _record(report, events, worker.result(job, outcome.value, error, busy.get(id(job), 0.0)))

    try:
        run_pipeline(todo, timed(worker.read), timed(restore), timed(worker.write), on_result,
                     fail_fast=request.fail_fast)
    except KeyboardInterrupt:
        report.interrupted = True
    finished = {r.input for r in report.results}
    for job in todo:
        if job.name not in finished:
            why = "interrupted" if report.interrupted else "not started (--fail-fast)"
            _record(report, events, FileResult(job.name, _str(job.dest), "skipped", why))


def _record(report: Report, events: Events, result: FileResult) -> None:
    report.results.append(result)
    events.file_done(result)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _finish(report: Report, started: float, world: int) -> Report:
    report.seconds = time.perf_counter() - started
    if world > 1:
        distributed.merge_into_rank0(report)
    return report


__all__ = ["EngineOptions", "Events", "RayOptions", "Request", "SilentEvents", "Step", "run"]
