"""What a run tells the user: a JSONL log, optional TensorBoard, a live Rich display.

Only the main process (rank 0) reports. Each log line is one JSON object with an
``event`` (``start``, ``train``, ``val``, ``checkpoint``, ``end``) and its figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

LOG_FILE = "log.jsonl"


class Reporter:
    """Writes ``RUN_DIR/log.jsonl`` (appending on resume) and drives the display."""

    def __init__(
        self, run_dir: Path, *, total: int, start: int = 0, live: bool = True,
        tensorboard: bool = False, enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.total, self.start = total, start
        self._log = (run_dir / LOG_FILE).open("a", encoding="utf-8") if enabled else None
        self._tb = _tensorboard(run_dir) if enabled and tensorboard else None
        self._progress = None
        self._task = None
        self._figures: dict[str, str] = {}
        if enabled and live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), TextColumn("{task.fields[figures]}"),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=total, completed=start, speed="", figures=""
            )
        self._t0, self._it0 = time.perf_counter(), start

    def event(self, event: str, **fields: Any) -> None:
        """Log one record; ``train``/``val`` records also update TensorBoard and the display."""
        if not self.enabled:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields}
        assert self._log is not None
        self._log.write(json.dumps(record, default=_plain) + "\n")
        self._log.flush()
        step = fields.get("iteration")
        if self._tb is not None and step is not None:
            for key, value in fields.items():
                if key != "iteration" and isinstance(value, (int, float)):
                    self._tb.add_scalar(f"{event}/{key}", value, step)
        if event == "train":
            self._figures["loss"] = f"loss {fields['loss']:.4g}"
            self._figures["lr"] = f"lr {fields['lr']:.3g}"
        elif event == "val":
            self._figures["psnr"] = f"PSNR {fields['psnr']:.2f} dB"
        if self._progress is not None and step is not None:
            elapsed = time.perf_counter() - self._t0
            rate = (step - self._it0) / elapsed if elapsed > 0 else 0.0
            self._progress.update(
                self._task, completed=step, speed=f"{rate:.2f} it/s",
                figures="  ".join(self._figures.values()),
            )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._tb is not None:
            self._tb.close()
        if self._log is not None:
            self._log.close()


def _plain(value: Any) -> Any:
    return str(value)


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        import sys

        print("TensorBoard is not installed (pip install tensorboard); logging to "
              f"{run_dir / LOG_FILE} only", file=sys.stderr)
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/log.jsonl``."""
    path = Path(run_dir) / LOG_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


__all__ = ["LOG_FILE", "Reporter", "read_log"]
