"""What a run records and tells: a JSONL log, optional TensorBoard, and an ``on_event``
callback for a display (the CLI's live line).

Only the main process (rank 0) reports. Each log line is one JSON object with an
``event`` (``start``, ``train``, ``val``, ``checkpoint``, ``end``) and its figures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG_FILE = "log.jsonl"
#: Called with each event's name and figures (as logged, without ``time``).
OnEvent = Callable[[str, dict[str, Any]], None]


class Reporter:
    """Writes ``RUN_DIR/log.jsonl`` (appending on resume) and passes each event on."""

    def __init__(
        self, run_dir: Path, *, tensorboard: bool = False, enabled: bool = True,
        on_event: OnEvent | None = None, notify: Callable[[str], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.on_event = on_event if enabled else None
        self._log = (run_dir / LOG_FILE).open("a", encoding="utf-8") if enabled else None
        self._tb = _tensorboard(run_dir, notify) if enabled and tensorboard else None

    def event(self, event: str, **fields: Any) -> None:
        """Log one record; numbers with an ``iteration`` also go to TensorBoard."""
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
        if self.on_event is not None:
            self.on_event(event, fields)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._log is not None:
            self._log.close()


def _plain(value: Any) -> Any:
    return str(value)


def _tensorboard(run_dir: Path, notify: Callable[[str], None] | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        if notify is not None:
            notify("TensorBoard is not installed (pip install tensorboard); logging to "
                   f"{run_dir / LOG_FILE} only")
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/log.jsonl``."""
    path = Path(run_dir) / LOG_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


__all__ = ["LOG_FILE", "OnEvent", "Reporter", "read_log"]
