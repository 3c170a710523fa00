"""What happens to one file: read it, restore it through the request's models, write it.

The local batch overlaps the three steps in a pipeline (:mod:`imgrestore.engine.pipeline`);
a Ray worker (:mod:`imgrestore.batch.cluster`) runs them one after the other. Both use
:class:`FileWorker`, so a file is read, restored, written and reported the same way
wherever it runs: atomic writes, kept metadata, tiling, one line per failure.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgrestore import storage
from imgrestore.batch import distributed
from imgrestore.batch.plan import OUTPUT_EXISTS, Job, make_parent
from imgrestore.batch.report import FileResult
from imgrestore.errors import DeviceError, ImageError, ImgRestoreError, UsageError
from imgrestore.storage import Location

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.batch.run import Request
    from imgrestore.engine.restorer import Restorer
    from imgrestore.imaging.types import ImageMeta, LoadedImage
    from imgrestore.zoo.loading import LoadedModel

Progress = Callable[[int, int], None]


@dataclass
class Restored:
    pixels: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Exists:
    """A job whose output, under another suffix than planned, is already there."""

    output: Location


@dataclass(frozen=True)
class Written:
    """Where an output went, and every note on what it could not keep."""

    output: str
    notes: tuple[str, ...]


def load_models(request: Request, notify: Callable[[str], None]) -> list[LoadedModel]:
    """The request's models, resolved, fetched if needed, verified and checked for its input."""
    from imgrestore.zoo.loading import load_model

    models: list[LoadedModel] = []
    for step in request.steps:
        loaded = load_model(
            step.model, task=step.task, weights=step.weights, scale=step.scale,
            style=step.style, notify=notify,
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
        models.append(loaded)
    return models


class Chain:
    """The request's models, each wrapped in a tiling restorer, applied in order."""

    def __init__(self, request: Request, models: Sequence[LoadedModel]) -> None:
        from imgrestore.engine.restorer import Restorer

        opts = request.engine
        device = distributed.device_for_rank(opts.device)
        self.models = list(models)
        self.restorers: list[Restorer] = [
            Restorer(
                loaded.net, loaded.spec, scale=loaded.scale, device=device,
                precision=opts.precision, tile=opts.tile, overlap=opts.tile_overlap,
                max_memory=opts.max_memory, compile=opts.compile,
                prefers_whole_image=loaded.prefers_whole_image,
            )
            for loaded in self.models
        ]
        self.strength = request.strength

    @property
    def name(self) -> str:
        return " -> ".join(m.name for m in self.models)

    @property
    def scale(self) -> int:
        total = 1
        for r in self.restorers:
            total *= r.scale
        return total

    def __call__(self, image: LoadedImage, progress: Progress | None = None) -> Restored:
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
        return Restored(pixels.astype(np.float32, copy=False), alpha, image.meta, image.meta.notes)


class FileWorker:
    """Read, restore and write the jobs of one request with one loaded :class:`Chain`."""

    def __init__(self, request: Request, chain: Chain) -> None:
        self.request = request
        self.chain = chain

    def read(self, job: Job) -> LoadedImage | Exists:
        from imgrestore.imaging import plan_write, read_image

        request = self.request
        source: Any = job.source if job.source is not None else sys.stdin.buffer.read()
        image = read_image(source, max_pixels=request.max_pixels)
        if job.dest is not None and not request.overwrite:
            # The plan could not know the output's real name when the format changes
            # with the content (transparency headed for JPEG is written as PNG).
            real, _ = plan_write(job.dest, image.meta, format=job.format,
                                 has_alpha=image.alpha is not None)
            if real != job.dest and real.exists():
                return Exists(real)
        if job.partner is None:
            return image
        return _with_right_view(image, read_image(job.partner, max_pixels=request.max_pixels))

    def restore(
        self, job: Job, image: LoadedImage | Exists, progress: Progress | None = None
    ) -> Restored | Exists:
        if isinstance(image, Exists):
            return image
        return self.chain(image, progress=progress)

    def write(self, job: Job, result: Restored | Exists) -> Written | Exists:
        """Write the output (atomically) or, for ``-o -``, the encoded bytes to stdout."""
        from imgrestore.imaging import encode_image, plan_output, plan_write, write_image

        if isinstance(result, Exists):
            return result
        request = self.request
        options = dict(format=job.format, quality=request.quality,
                       strip_metadata=request.strip_metadata)
        has_alpha = result.alpha is not None
        if job.dest is None:
            plan = plan_output(result.meta, format=job.format, has_alpha=has_alpha)
            data = encode_image(result.pixels, result.alpha, result.meta, **options)
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return Written("<stdout>", result.notes + plan.notes)
        _, plan = plan_write(job.dest, result.meta, format=job.format, has_alpha=has_alpha)
        make_parent(job.dest)
        written = write_image(job.dest, result.pixels, result.alpha, result.meta, **options,
                              put=storage.put)
        return Written(str(written), result.notes + plan.notes)

    def run(self, job: Job) -> FileResult:
        """All three steps, one after the other; a failure is the file's result, not raised."""
        start = time.perf_counter()
        value: Written | Exists | None = None
        error: Exception | None = None
        try:
            value = self.write(job, self.restore(job, self.read(job)))
        except Exception as exc:
            error = exc
        return self.result(job, value, error, time.perf_counter() - start)

    def result(
        self, job: Job, value: Written | Exists | None, error: BaseException | None,
        seconds: float,
    ) -> FileResult:
        """The report's entry for ``job``: done, skipped (output exists) or failed."""
        if isinstance(value, Exists):
            return FileResult(job.name, str(value.output), "skipped", OUTPUT_EXISTS)
        if error is None and isinstance(value, Written):
            return FileResult(job.name, value.output, "done", None, round(seconds, 3),
                              self.chain.name, value.notes)
        assert error is not None
        return FileResult(
            job.name, None if job.dest is None else str(job.dest), "failed",
            one_line(job, error), round(seconds, 3), self.chain.name,
            device_error=isinstance(error, DeviceError),
        )


def one_line(job: Job, error: BaseException) -> str:
    """The one line a failed file gets: its name and the reason."""
    if isinstance(error, ImgRestoreError):
        text = str(error)
        return text if text.startswith(job.name) else f"{job.name}: {text}"
    return f"{job.name}: {type(error).__name__}: {error}".splitlines()[0]


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
