"""One job's way through a batch: read it, restore it with the request's models, write it.

:func:`read_job`, the :class:`Chain` of restorers and :func:`write_job` are the three
stages :func:`imgrestore.batch.run.run` overlaps with the engine's pipeline; each takes
one :class:`~imgrestore.batch.plan.Job` and may run wherever the job is (a thread, a
process, a Ray worker: :func:`run_job` runs all three one after the other there). A job
whose real output name is only known once its pixels are read and that output is already
there becomes :class:`Exists` and passes the later stages untouched. :func:`job_result`
is what the report says of a finished job, wherever it ran. :func:`restore_jobs` overlaps
the stages of many jobs with the engine's pipeline and records each outcome in the report
(:func:`record_planned` records what the plan already decided); the batch and the watch
loop (:mod:`imgrestore.batch.watch`) both go through them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from imgrestore import distributed
from imgrestore.batch.plan import OUTPUT_EXISTS, Job, Plan, make_parent
from imgrestore.batch.report import FileResult, Report
from imgrestore.batch.request import Request
from imgrestore.batch.restore import Restored, raw_options_for, restore_image
from imgrestore.errors import DeviceError, ImageError, ImgRestoreError, UsageError
from imgrestore.storage import Location

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.batch.run import Events
    from imgrestore.engine.restorer import Restorer
    from imgrestore.imaging.types import LoadedImage
    from imgrestore.zoo.fallback import Fallback
    from imgrestore.zoo.install import DownloadProgress
    from imgrestore.zoo.loading import LoadedModel


def load_models(request: Request, notify: Callable[[str], None],
                progress: DownloadProgress | None = None,
                on_fallback: Callable[[Fallback], None] | None = None) -> list[LoadedModel]:
    """The request's models, resolved, fetched if needed, verified and checked for its input."""
    from imgrestore.zoo.loading import load_model

    models: list[LoadedModel] = []
    for step in request.steps:
        loaded = load_model(
            step.model, task=step.task, weights=step.weights, scale=step.scale,
            style=step.style, notify=notify, progress=progress,
        )
        wanted = 6 if request.dual_pixel and not models else 3
        if loaded.spec.in_channels != wanted:
            hint = (
                "use --dual-pixel with LEFT RIGHT view pairs" if loaded.spec.in_channels == 6
                else "--dual-pixel needs a dual-pixel model"
            )
            raise UsageError(
                f"{loaded.name}: takes {loaded.spec.in_channels}-channel input "
                f"({loaded.input_kind}); {hint}"
            )
        if loaded.fallback is not None and on_fallback is not None:
            on_fallback(loaded.fallback)
        models.append(loaded)
    return models


class Chain:
    """The request's models, each wrapped in a tiling restorer, applied in order;
    ``notify`` gets notices, ``progress`` how a weights download goes, ``on_fallback``
    each built-in model standing in for a task's default, as soon as it is loaded."""

    def __init__(self, request: Request, notify: Callable[[str], None] | None = None, *,
                 models: Sequence[LoadedModel] | None = None,
                 progress: DownloadProgress | None = None,
                 on_fallback: Callable[[Fallback], None] | None = None) -> None:
        """Load the request's models (notices to ``notify``, downloads to ``progress``, a
        built-in model standing in for official weights to ``on_fallback``), or take
        ``models`` already loaded by :func:`load_models` (a Ray worker receives its
        driver's)."""
        from imgrestore.engine.restorer import Restorer

        if models is None:
            models = load_models(request, notify or (lambda message: None), progress,
                                 on_fallback)
        options = replace(request.engine,
                          device=distributed.device_for_rank(request.engine.device))
        self.models: list[LoadedModel] = list(models)
        self.restorers: list[Restorer] = [Restorer.from_model(m, options, notify=notify)
                                          for m in models]
        self.strength = request.strength
        self.image_options = request.image

    @property
    def name(self) -> str:
        """The models' names, as the report gives them (``a -> b`` for a chain)."""
        return " -> ".join(m.name for m in self.models)

    @property
    def scale(self) -> int:
        total = 1
        for r in self.restorers:
            total *= r.scale
        return total

    def __call__(
        self, image: LoadedImage, progress: Callable[[int, int], None] | None = None
    ) -> Restored:
        """Restore one image: working space, every network in turn, strength, alpha."""

        def network(pixels: np.ndarray) -> np.ndarray:
            for restorer in self.restorers:
                pixels = restorer(pixels, progress=progress)
            return pixels

        return restore_image(
            image, network, self.image_options, scale=self.scale,
            in_channels=self.restorers[0].arch.in_channels, strength=self.strength,
        )


@dataclass(frozen=True)
class Exists:
    """A job whose output, under another suffix than planned, is already there."""

    output: Location


def with_right_view(left: LoadedImage, right: LoadedImage) -> LoadedImage:
    """The 6-channel input of a dual-pixel network: left RGB then right RGB."""
    import dataclasses

    import numpy as np

    if left.pixels.shape != right.pixels.shape:
        raise ImageError(
            right.meta.name,
            f"right view is {right.meta.width}x{right.meta.height}, left view "
            f"{left.meta.name} is {left.meta.width}x{left.meta.height}",
        )
    pixels = np.concatenate([left.pixels, right.pixels], axis=2)
    return dataclasses.replace(left, pixels=pixels)


def read_job(job: Job, request: Request) -> LoadedImage | Exists:
    """Decode the job's input (stdin when it has no source; both views of a dual-pixel
    pair), or :class:`Exists` when its output, under the name the content decides, is there."""
    from imgrestore.imaging import plan_write, read_image
    from imgrestore.imaging.inputs import byte_cap, read_stream

    source: Any = job.source
    if source is None:  # stdin: read up to the byte cap, refused early if not an image
        source = read_stream(sys.stdin.buffer, max_bytes=byte_cap(request.max_pixels),
                             name=job.name)
    raw = raw_options_for(request.raw, job.format)
    image = read_image(source, max_pixels=request.max_pixels, raw=raw)
    if job.dest is not None and not request.overwrite:
        # The plan could not know the output's real name when the format changes
        # with the content (transparency headed for JPEG is written as PNG).
        real, _ = plan_write(job.dest, image.meta, format=job.format,
                             has_alpha=image.alpha is not None)
        if real != job.dest and real.exists():
            return Exists(real)
    if job.partner is None:
        return image
    right = read_image(job.partner, max_pixels=request.max_pixels, raw=raw)
    return with_right_view(image, right)


def restore_job(job: Job, image: LoadedImage | Exists, chain: Chain,
                progress: Callable[[int, int], None] | None = None) -> Restored | Exists:
    """The job's image through every model of ``chain`` (``progress``: tiles done, total)."""
    if isinstance(image, Exists):
        return image
    return chain(image, progress=progress)


def write_job(job: Job, result: Restored | Exists,
              request: Request) -> tuple[str, tuple[str, ...]] | Exists:
    """Write the output (atomically; stdout when the job has no destination); returns
    where, and every note on what the file could not keep."""
    from imgrestore.imaging import encode_image, plan_output, plan_write, write_image
    from imgrestore.imaging.notes import collect_notes

    if isinstance(result, Exists):
        return result
    options = dict(format=job.format, quality=request.quality,
                   strip_metadata=request.strip_metadata)
    has_alpha = result.alpha is not None
    if job.dest is None:
        plan = plan_output(result.meta, format=job.format, has_alpha=has_alpha)
        with collect_notes(job.name) as heard:  # the encoders' warnings: this file's notes
            data = encode_image(result.pixels, result.alpha, result.meta, **options)
        write_stdout(data)
        return STDOUT_NAME, result.notes + plan.notes + tuple(heard)
    real, plan = plan_write(job.dest, result.meta, format=job.format, has_alpha=has_alpha)
    make_parent(job.dest)
    with collect_notes(str(real)) as heard:
        written = write_image(job.dest, result.pixels, result.alpha, result.meta, **options)
    return str(written), result.notes + plan.notes + tuple(heard)


STDOUT_NAME = "<stdout>"


def check_streams(todo: list[Job]) -> None:
    """Image data is never read from, nor written to, a terminal (as gzip refuses)."""
    if any(job.source is None for job in todo) and sys.stdin.isatty():
        raise UsageError("'-' reads an image from stdin, but stdin is a terminal; "
                         "pipe or redirect a file in (imgrestore denoise - < photo.jpg)")
    if any(job.dest is None for job in todo) and sys.stdout.isatty():
        raise UsageError("refusing to write image data to a terminal; redirect stdout "
                         "(> restored.jpg) or name an output file with -o")


def write_stdout(data: bytes) -> None:
    """Write an image to stdout; a reader that went away (broken pipe) fails the file."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except OSError as exc:
        # Nothing more can reach stdout: point it at /dev/null, so that Python's exit
        # flush does not print a second "broken pipe" error.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        why = ("broken pipe: the reader closed it early" if isinstance(exc, BrokenPipeError)
               else exc.strerror or str(exc))
        raise ImgRestoreError(f"the image was not written to stdout completely ({why})") \
            from None


def record(report: Report, events: Events, result: FileResult) -> None:
    """Add ``result`` to the report and tell the display."""
    report.results.append(result)
    events.file_done(result)


def record_planned(plan: Plan, report: Report, events: Events) -> None:
    """Report the inputs the plan ignored and the jobs it already skipped (output exists)
    or failed (refused)."""
    report.ignored.extend(str(p) for p in plan.ignored)
    for job in plan.jobs:
        if job.state == "skip":
            record(report, events, FileResult(job.name, _str(job.dest), "skipped", job.reason))
        elif job.state == "fail":
            record(report, events, FileResult(job.name, _str(job.dest), "failed",
                                              f"{job.name}: {job.reason}"))


def restore_jobs(
    todo: list[Job], chain: Chain, request: Request, report: Report, events: Events,
) -> None:
    """Read, restore and write ``todo`` through the engine's pipeline (read ahead, write
    behind; one bad file fails alone), recording each outcome. Ctrl-C marks the report
    interrupted; the jobs that did not finish are recorded as ``interrupted``."""
    from imgrestore.engine.pipeline import JobResult, run_pipeline

    timer = _Timer()

    def on_result(outcome: JobResult[Job]) -> None:
        job, error = outcome.job, outcome.error
        if error is not None and not isinstance(error, ImgRestoreError):
            events.unexpected(job, error)
        record(report, events, job_result(job, outcome.value, error, timer.of(job), chain.name))

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
            record(report, events, FileResult(job.name, _str(job.dest), "interrupted", why))


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


def run_job(job: Job, request: Request, chain: Chain) -> tuple[FileResult, Exception | None]:
    """All three stages, one after the other (a Ray worker's way): the report's entry,
    and the error when it failed (not raised)."""
    start = time.perf_counter()
    value: Any = None
    error: Exception | None = None
    try:
        value = write_job(job, restore_job(job, read_job(job, request), chain), request)
    except Exception as exc:
        error = exc
    return job_result(job, value, error, round(time.perf_counter() - start, 3),
                      chain.name), error


def job_result(job: Job, value: Any, error: BaseException | None, seconds: float,
               model_name: str) -> FileResult:
    """What the report says of a finished job: done (``value`` is what :func:`write_job`
    returned), skipped (its output exists) or failed (``error``)."""
    if isinstance(value, Exists):
        return FileResult(job.name, str(value.output), "skipped", OUTPUT_EXISTS)
    if error is None:
        output, notes = value
        notes = tuple(dict.fromkeys(((job.note,) if job.note else ()) + tuple(notes)))
        return FileResult(job.name, output, "done", None, seconds, model_name, notes)
    return FileResult(job.name, None if job.dest is None else str(job.dest), "failed",
                      one_line(job, error), seconds, model_name,
                      device_error=isinstance(error, DeviceError))


def one_line(job: Job, error: BaseException) -> str:
    """The one line a failed file gets: its name and the reason."""
    if isinstance(error, ImgRestoreError):
        text = str(error)
        return text if text.startswith(job.name) else f"{job.name}: {text}"
    return f"{job.name}: {type(error).__name__}: {error}".splitlines()[0]


def _str(path: Location | None) -> str | None:
    return None if path is None else str(path)


__all__ = ["STDOUT_NAME", "Chain", "Exists", "Restored", "check_streams", "job_result",
           "load_models", "one_line", "read_job", "record", "record_planned", "restore_job",
           "restore_jobs", "run_job", "with_right_view", "write_job", "write_stdout"]
