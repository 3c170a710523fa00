"""The result of ``imgrestore eval``: scores per image and model, means per model,
written as JSON or CSV (atomically)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imgrestore import __version__

#: The four measurements, in table and file order.
METRICS = ("psnr", "ssim", "psnr_y", "ssim_y")


@dataclass(frozen=True)
class ImageScore:
    """One model on one image. ``seconds`` is ``None`` for ``identity`` (nothing ran)."""

    image: str
    model: str
    psnr: float
    ssim: float
    psnr_y: float
    ssim_y: float
    seconds: float | None
    #: Size of the restored (= clean) image in megapixels.
    megapixels: float


@dataclass(frozen=True)
class ModelInfo:
    """A model as the report names it: its label, what it resolved to, where from."""

    label: str
    name: str
    source: str


@dataclass(frozen=True)
class ModelSummary:
    """Means over the images for one model; time is total seconds / total megapixels."""

    model: str
    images: int
    psnr: float
    ssim: float
    psnr_y: float
    ssim_y: float
    seconds_per_megapixel: float | None


@dataclass
class EvalReport:
    """Everything one evaluation measured, and how (to reproduce it)."""

    task: str
    clean: str
    degraded: str | None = None
    synthesize: str | None = None
    seed: int = 0
    crop: int = 0
    quantize: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    models: list[ModelInfo] = field(default_factory=list)
    scores: list[ImageScore] = field(default_factory=list)

    def summary(self) -> list[ModelSummary]:
        """Per-model means, in the order the models were given."""
        rows = []
        for m in self.models:
            mine = [s for s in self.scores if s.model == m.label]
            if not mine:
                continue
            means = {k: math.fsum(getattr(s, k) for s in mine) / len(mine) for k in METRICS}
            timed = [s for s in mine if s.seconds is not None]
            mp = math.fsum(s.megapixels for s in timed)
            per_mp = math.fsum(s.seconds for s in timed) / mp if timed and mp else None  # type: ignore[misc]
            rows.append(ModelSummary(m.label, len(mine), **means, seconds_per_megapixel=per_mp))
        return rows

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (infinite PSNR, of identical images, becomes ``null``)."""
        head = {k: v for k, v in asdict(self).items() if k not in ("models", "scores")}
        return _finite({
            "imgrestore": __version__, **head,
            "models": [asdict(m) for m in self.models],
            "images": [asdict(s) for s in self.scores],
            "summary": [asdict(s) for s in self.summary()],
        })

    def save_json(self, path: str | Path) -> None:
        _write(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    def to_csv(self) -> str:
        """One row per image and model (``scope = image``), then one per model
        (``scope = summary``, ``image`` empty, ``seconds`` = seconds per megapixel)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["scope", "image", "model", *METRICS, "seconds", "megapixels"])
        for s in self.scores:
            writer.writerow(["image", s.image, s.model, *(_cell(getattr(s, k)) for k in METRICS),
                             _cell(s.seconds), f"{s.megapixels:.6f}"])
        for m in self.summary():
            writer.writerow(["summary", "", m.model, *(_cell(getattr(m, k)) for k in METRICS),
                             _cell(m.seconds_per_megapixel), ""])
        return out.getvalue()

    def save_csv(self, path: str | Path) -> None:
        _write(Path(path), self.to_csv())


def _cell(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _write(path: Path, text: str) -> None:
    from imgrestore.files import atomic_write

    atomic_write(path, text.encode("utf-8"))


__all__ = ["METRICS", "EvalReport", "ImageScore", "ModelInfo", "ModelSummary"]
