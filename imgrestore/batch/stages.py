"""One job's way through a batch: read it, restore it with the request's models, write it.

:func:`read_job`, the :class:`Chain` of restorers and :func:`write_job` are the three
stages :func:`imgrestore.batch.run.run` overlaps with the engine's pipeline; each takes
one :class:`~imgrestore.batch.plan.Job` and may run wherever the job is (a thread, a
process). A job whose real output name is only known once its pixels are read and that
output is already there becomes :class:`Exists` and passes the later stages untouched.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgrestore import distributed
from imgrestore.batch.plan import Job, make_parent
from imgrestore.batch.request import Request
from imgrestore.errors import ImageError, ImgRestoreError, UsageError

if TYPE_CHECKING:
    import numpy as np

    from imgrestore.engine.restorer import Restorer
    from imgrestore.imaging.types import ImageMeta, LoadedImage
    from imgrestore.zoo.fallback import Fallback
    from imgrestore.zoo.install import DownloadProgress
    from imgrestore.zoo.loading import LoadedModel


@dataclass
class Restored:
    """A restored image on its way to the writer, with what the input could not keep."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta
    notes: tuple[str, ...]


class Chain:
    """The request's models, each wrapped in a tiling restorer, applied in order;
    ``notify`` gets notices, ``progress`` how a weights download goes, ``on_fallback``
    each built-in model standing in for a task's default, as soon as it is loaded."""

    def __init__(self, request: Request, notify: Callable[[str], None],
                 progress: DownloadProgress | None = None,
                 on_fallback: Callable[[Fallback], None] | None = None) -> None:
        from imgrestore.engine.restorer import Restorer
        from imgrestore.zoo.loading import load_model

        options = replace(request.engine,
                          device=distributed.device_for_rank(request.engine.device))
        self.models: list[LoadedModel] = []
        self.restorers: list[Restorer] = []
        for step in request.steps:
            loaded = load_model(
                step.model, task=step.task, weights=step.weights, scale=step.scale,
                style=step.style, notify=notify, progress=progress,
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
            if loaded.fallback is not None and on_fallback is not None:
                on_fallback(loaded.fallback)
            self.models.append(loaded)
            self.restorers.append(Restorer.from_model(loaded, options, notify=notify))
        self.strength = request.strength

    @property
    def scale(self) -> int:
        total = 1
        for r in self.restorers:
            total *= r.scale
        return total

    def __call__(
        self, image: LoadedImage, progress: Callable[[int, int], None] | None = None
    ) -> Restored:
        import numpy as np

        from imgrestore.imaging import resize_alpha
        from imgrestore.ops.resize import resize_bicubic

        pixels = image.pixels
        for restorer in self.restorers:
            pixels = restorer(pixels, progress=progress)
        if self.strength < 1.0:
            base = resize_bicubic(image.pixels, pixels.shape[:2])
            pixels = np.clip(self.strength * pixels + (1 - self.strength) * base, 0.0, 1.0)
        alpha = image.alpha
        if alpha is not None and alpha.shape != pixels.shape[:2]:
            alpha = resize_alpha(alpha, pixels.shape[:2])
        return Restored(pixels.astype(np.float32, copy=False), alpha, image.meta, image.meta.notes)


@dataclass(frozen=True)
class Exists:
    """A job whose output, under another suffix than planned, is already there."""

    output: Path


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
    return with_right_view(image, read_image(job.partner, max_pixels=request.max_pixels))


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


__all__ = ["STDOUT_NAME", "Chain", "Exists", "Restored", "check_streams", "read_job",
           "restore_job", "with_right_view", "write_job", "write_stdout"]
