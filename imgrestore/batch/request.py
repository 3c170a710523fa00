"""What a task command asks for: a :class:`Request` of one or more :class:`Step` s.

Built by the CLI from its options (:func:`imgrestore.cli.tasks.build_request`), carried
out by :func:`imgrestore.batch.run.run`. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgrestore.cluster import RayOptions
from imgrestore.engine.options import EngineOptions
from imgrestore.tasks import TaskName, chain_suffix

if TYPE_CHECKING:
    from imgrestore.batch.restore import ImageOptions
    from imgrestore.batch.watch import WatchOptions
    from imgrestore.imaging.raw import RawOptions


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


def _default_image_options() -> ImageOptions:
    """sRGB working space, the default alpha handling (imported here: numpy, not torch)."""
    from imgrestore.batch.restore import ImageOptions

    return ImageOptions()


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
    #: How camera RAW files are developed (None: LibRaw's sRGB development).
    raw: RawOptions | None = None
    #: Working space and alpha handling of each image.
    image: ImageOptions = field(default_factory=_default_image_options)
    #: Watch this folder instead of restoring ``inputs`` once (``--watch``).
    watch: WatchOptions | None = None

    def output_suffix(self) -> str:
        if self.suffix is not None:
            return self.suffix
        return chain_suffix([(s.task, s.scale or 1) for s in self.steps])


__all__ = ["Request", "Step"]
