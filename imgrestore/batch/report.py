"""What happened to each file, and the run's exit code: the machine-readable report."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imgrestore import __version__
from imgrestore.errors import ExitCode

if TYPE_CHECKING:
    from imgrestore.zoo.fallback import Fallback

Status = Literal["done", "skipped", "failed", "planned", "interrupted"]
#: Every status, in the order reports count them.
STATUSES: tuple[Status, ...] = ("done", "skipped", "failed", "planned", "interrupted")


@dataclass(frozen=True)
class FileResult:
    """One input's outcome."""

    input: str
    output: str | None
    status: Status
    error: str | None = None
    seconds: float = 0.0
    model: str | None = None
    notes: tuple[str, ...] = ()
    #: The error was the device's (unusable, or out of memory at the smallest tile).
    device_error: bool = False


def file_entry(result: FileResult) -> dict[str, Any]:
    """``result`` as the JSON report lists it."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(result).items()}


@dataclass
class Report:
    """All results of a run, in input order, plus what was used."""

    task: str
    results: list[FileResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    #: Built-in models that stood in for a task's official one, and why.
    fallbacks: list[Fallback] = field(default_factory=list)
    device: str | None = None
    precision: str | None = None
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    interrupted: bool = False

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def exit_code(self) -> ExitCode:
        """130 interrupted, 4 a device error, 1 another failure, else 0."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        failed = [r for r in self.results if r.status == "failed"]
        if any(r.device_error for r in failed):
            return ExitCode.DEVICE_UNUSABLE
        return ExitCode.SOME_FAILED if failed else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "imgrestore": __version__,
            "task": self.task,
            "models": self.models,
            "fallbacks": [f.to_json() for f in self.fallbacks],
            "device": self.device,
            "precision": self.precision,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "exit_code": int(self.exit_code),
            "summary": {s: counts.get(s, 0) for s in STATUSES},
            "files": [file_entry(r) for r in self.results],
            "ignored": self.ignored,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON report atomically (temp file in the same folder, then rename)."""
        from imgrestore.files import atomic_write

        atomic_write(Path(path), (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))

    def merge(self, others: list[Report]) -> None:
        """Fold the reports of other processes (torchrun ranks) into this one."""
        for other in others:
            self.results.extend(other.results)
            self.interrupted |= other.interrupted
            self.seconds = max(self.seconds, other.seconds)
        self.results.sort(key=lambda r: r.input)
