"""What a run tells: a JSONL log, optional TensorBoard, and events for a display.

Only the main process (rank 0) reports. Each log line is one JSON object with an
``event`` (``start``, ``notice``, ``stage``, ``train``, ``val``, ``checkpoint``, ``end``)
and its figures. The same records go to the ``on_event`` callback, plus a ``step``
record after every optimizer step (not logged); the CLI draws its progress from them
(library code never prints).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG_FILE = "log.jsonl"

#: Receives every record (a dict with ``event`` and ``time``).
OnEvent = Callable[[dict[str, Any]], None]

#: Records passed to the callback only (not written to the log).
TRANSIENT = frozenset({"step"})


class Reporter:
    """Writes ``RUN_DIR/log.jsonl`` (appending on resume), TensorBoard, and the callback."""

    def __init__(
        self, run_dir: Path, *, tensorboard: bool = False, enabled: bool = True,
        on_event: OnEvent | None = None,
    ) -> None:
        self.enabled = enabled
        self.run_dir = run_dir
        self.on_event = on_event if enabled else None
        self._log = None
        self._tb = None
        self._want_tb = enabled and tensorboard

    def event(self, event: str, **fields: Any) -> dict[str, Any] | None:
        """Log one record; numbers of ``train``/``val`` records also go to TensorBoard."""
        if not self.enabled:
            return None
        record = {"event": event, "time": round(time.time(), 3), **fields}
        if event not in TRANSIENT:
            if self._log is None:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self._log = (self.run_dir / LOG_FILE).open("a", encoding="utf-8")
                if self._want_tb:
                    self._tb = _tensorboard(self.run_dir, self)
            self._log.write(json.dumps(record, default=str) + "\n")
            self._log.flush()
            step = fields.get("iteration")
            if self._tb is not None and step is not None:
                for key, value in fields.items():
                    if key != "iteration" and isinstance(value, (int, float)):
                        self._tb.add_scalar(f"{event}/{key}", value, step)
        if self.on_event is not None:
            self.on_event(record)
        return record

    def notice(self, message: str) -> None:
        """A one-line remark for the user (also logged)."""
        self.event("notice", message=message)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _tensorboard(run_dir: Path, reporter: Reporter) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        reporter._want_tb = False
        if reporter.on_event is not None:
            reporter.on_event({"event": "notice", "message": (
                "TensorBoard is not installed (pip install tensorboard); logging to "
                f"{run_dir / LOG_FILE} only")})
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/log.jsonl``."""
    path = Path(run_dir) / LOG_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


__all__ = ["LOG_FILE", "TRANSIENT", "OnEvent", "Reporter", "read_log"]
