"""The five restoration tasks, as data: name, what the output file is called, help text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

TaskName = Literal["denoise", "deblur", "derain", "enhance", "upscale"]


@dataclass(frozen=True)
class Task:
    name: TaskName
    #: Output names get ``-<done>`` before the extension: ``photo-denoised.jpg``.
    done: str
    summary: str

    def suffix(self, scale: int = 1) -> str:
        """The file-name suffix this task adds (``-denoised``; upscale: ``-x2``)."""
        return f"-x{scale}" if self.name == "upscale" else f"-{self.done}"


TASKS = MappingProxyType(
    {
        t.name: t
        for t in (
            Task("denoise", "denoised", "Remove noise (camera sensor noise, grain)."),
            Task("deblur", "deblurred", "Remove motion blur (or dual-pixel defocus blur)."),
            Task("derain", "derained", "Remove rain streaks."),
            Task("enhance", "enhanced", "Brighten low-light photos or retouch colour and tone."),
            Task("upscale", "upscaled", "Enlarge 2x, 3x or 4x (super-resolution)."),
        )
    }
)


def chain_suffix(steps: list[tuple[TaskName, int]]) -> str:
    """Suffix for tasks run one after the other, e.g. ``-denoised-x2``."""
    return "".join(TASKS[name].suffix(scale) for name, scale in steps)


_OUTPUT_STEM = re.compile(
    "(?:" + "|".join(re.escape(t.suffix()) for t in TASKS.values() if t.name != "upscale")
    + r"|-x[2-4])+$"
)


def is_output_name(stem: str) -> bool:
    """Whether a file stem ends like an output of any task or chain (``photo-denoised``,
    ``photo-x2``, ``photo-denoised-x2``): folders walked for inputs pass over those."""
    return _OUTPUT_STEM.search(stem) is not None and not _OUTPUT_STEM.fullmatch(stem)
