"""What a task command asks for: a :class:`Request` of one or more :class:`Step` s.

Built by the CLI from its options (:func:`imgrestore.cli.tasks.build_request`), carried
out by :func:`imgrestore.batch.run.run`. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imgrestore.engine.options import EngineOptions
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


__all__ = ["Request", "Step"]
