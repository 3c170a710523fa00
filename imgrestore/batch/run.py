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
from typing import TYPE_CHECKING, Any, Protocol

from imgrestore.batch import distributed
from imgrestore.batch.plan import OUTPUT_EXISTS, Job, make_parent, plan_jobs
from imgrestore.batch.report import FileResult, Report
from imgrestore.errors import DeviceError, ImageError, ImgRestoreError, UsageError
from imgrestore.tasks import TaskName, chain_suffix

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.engine.restorer import Restorer
    from imgrestore.imaging.types import ImageMeta, LoadedImage
    from imgrestore.zoo.loading import LoadedModel


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


@dataclass
class _Restored:
    pixels: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta
    notes: tuple[str, ...]


class Chain:
    """The request's models, each wrapped in a tiling restorer, applied in order."""

    def __init__(self, request: Request, notify: Callable[[str], None]) -> None:
        from imgrestore.engine.restorer import Restorer
        from imgrestore.zoo.loading import load_model

        opts = request.engine
        device = distributed.device_for_rank(opts.device)
        self.models: list[LoadedModel] = []
        self.restorers: list[Restorer] = []
        for step in request.steps:
            loaded = load_model(
                step.model, task=step.task, weights=step.weights, scale=step.scale,
                style=step.style, notify=notify,
            )
            wanted = 6 if request.dual_pixel and not self.models else 3
            if loaded.spec.in_channels != wanted:
                hint = (
                    "use --dual-pixel with LEFT RIGHT view pairs" if loaded.spec.in_channels == 6
                    else "--dual-pixel needs a dual-pixel model"
                )
                raise UsageError(
                    f"{loaded.name}: takes {loaded.spec.in_channels}-channel input "
                    f"({loaded.input_kind}); {hint}"
                )
            self.models.append(loaded)
            self.restorers.append(
                Restorer(
                    loaded.net, loaded.spec, scale=loaded.scale, device=device,
                    precision=opts.precision, tile=opts.tile, overlap=opts.tile_overlap,
                    max_memory=opts.max_memory, compile=opts.compile,
                    prefers_whole_image=loaded.prefers_whole_image,
                )
            )
        self.strength = request.strength

    @property
    def scale(self) -> int:
        total = 1
        for r in self.restorers:
            total *= r.scale
        return total

    def __call__(
        self, image: LoadedImage, progress: Callable[[int, int], None] | None = None
    ) -> _Restored:
        import numpy as np

        from imgrestore.imaging import resize_alpha

        pixels = image.pixels
        for restorer in self.restorers:
            pixels = restorer(pixels, progress=progress)
        if self.strength < 1.0:
            base = _resize_like(image.pixels, pixels.shape[:2])
            pixels = np.clip(self.strength * pixels + (1 - self.strength) * base, 0.0, 1.0)
        alpha = image.alpha
        if alpha is not None and alpha.shape != pixels.shape[:2]:
            alpha = resize_alpha(alpha, pixels.shape[:2])
        return _Restored(pixels.astype(np.float32, copy=False), alpha, image.meta, image.meta.notes)


@dataclass(frozen=True)
class _Exists:
    """A job whose output, under another suffix than planned, is already there."""

    output: Path


def _resize_like(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of an H x W x 3 float image (identity when the size matches)."""
    if pixels.shape[:2] == tuple(size):
        return pixels
    import torch
    import torch.nn.functional as F  # noqa: N812

    t = torch.from_numpy(pixels).permute(2, 0, 1)[None]
    t = F.interpolate(t, size=tuple(size), mode="bicubic", align_corners=False)
    return t[0].permute(1, 2, 0).clamp_(0, 1).numpy()


def _with_right_view(left: LoadedImage, right: LoadedImage) -> LoadedImage:
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


def _one_line(job: Job, error: BaseException) -> str:
    if isinstance(error, ImgRestoreError):
        text = str(error)
        return text if text.startswith(job.name) else f"{job.name}: {text}"
    return f"{job.name}: {type(error).__name__}: {error}".splitlines()[0]


def run(request: Request, events: Events | None = None, *, verbose: bool = False) -> Report:
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
            _record(report, events, FileResult(job.name, _str(job.dest) or "<stdout>", "planned"))
        return _finish(report, started, world)
    if not todo:
        return _finish(report, started, world)

    chain = Chain(request, events.notice)
    report.models = [m.name for m in chain.models]
    report.fallbacks = [m.fallback for m in chain.models if m.fallback is not None]
    report.device = str(chain.restorers[0].device)
    report.precision = chain.restorers[0].precision
    events.start(report, len(todo))
    _process(todo, chain, request, report, events, verbose)
    return _finish(report, started, world)


def _process(
    todo: list[Job], chain: Chain, request: Request, report: Report, events: Events,
    verbose: bool,
) -> None:
    from imgrestore.engine.pipeline import JobResult, run_pipeline
    from imgrestore.imaging import encode_image, plan_output, plan_write, read_image, write_image

    model_name = " -> ".join(m.name for m in chain.models)
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

    @timed
    def read(job: Job) -> LoadedImage | _Exists:
        source: Any = job.source if job.source is not None else sys.stdin.buffer.read()
        image = read_image(source, max_pixels=request.max_pixels)
        if job.dest is not None and not request.overwrite:
            # The plan could not know the output's real name when the format changes
            # with the content (transparency headed for JPEG is written as PNG).
            real, _ = plan_write(job.dest, image.meta, format=job.format,
                                 has_alpha=image.alpha is not None)
            if real != job.dest and real.exists():
                return _Exists(real)
        if job.partner is None:
            return image
        return _with_right_view(image, read_image(job.partner, max_pixels=request.max_pixels))

    @timed
    def process(job: Job, image: LoadedImage | _Exists) -> _Restored | _Exists:
        if isinstance(image, _Exists):
            return image
        return chain(image, progress=lambda done, total: events.tiles(job, done, total))

    @timed
    def write(job: Job, result: _Restored | _Exists) -> tuple[str, tuple[str, ...]] | _Exists:
        """Write the output; returns where, and every note on what the file could not keep."""
        if isinstance(result, _Exists):
            return result
        options = dict(format=job.format, quality=request.quality,
                       strip_metadata=request.strip_metadata)
        has_alpha = result.alpha is not None
        if job.dest is None:
            plan = plan_output(result.meta, format=job.format, has_alpha=has_alpha)
            data = encode_image(result.pixels, result.alpha, result.meta, **options)
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return "<stdout>", result.notes + plan.notes
        _, plan = plan_write(job.dest, result.meta, format=job.format, has_alpha=has_alpha)
        make_parent(job.dest)
        written = write_image(job.dest, result.pixels, result.alpha, result.meta, **options)
        return str(written), result.notes + plan.notes

    def on_result(outcome: JobResult[Job]) -> None:
        job = outcome.job
        if isinstance(outcome.value, _Exists):
            result = FileResult(job.name, str(outcome.value.output), "skipped", OUTPUT_EXISTS)
        elif outcome.ok:
            output, notes = outcome.value
            result = FileResult(job.name, output, "done", None,
                                round(busy.get(id(job), 0.0), 3), model_name, notes)
        else:
            error = outcome.error
            assert error is not None
            if verbose and not isinstance(error, ImgRestoreError):
                traceback.print_exception(error, file=sys.stderr)
            result = FileResult(
                job.name, _str(job.dest), "failed", _one_line(job, error),
                round(busy.get(id(job), 0.0), 3), model_name,
                device_error=isinstance(error, DeviceError),
            )
        _record(report, events, result)

    try:
        run_pipeline(todo, read, process, write, on_result, fail_fast=request.fail_fast)
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


__all__ = ["EngineOptions", "Events", "Request", "SilentEvents", "Step", "run"]
