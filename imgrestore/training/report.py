"""What a run records and tells: a JSONL log, optional TensorBoard, one-line notices, and
an ``on_event`` callback for a display (the CLI's progress, :class:`TrainDisplay` in
``cli/_output.py``).

Only the main process (rank 0) reports. Each log line is one JSON object with an
``event`` (``start``, ``notice``, ``stage``, ``train``, ``val``, ``checkpoint``, ``end``)
and its figures. The same events go to ``on_event``, plus a ``step`` event after every
optimizer step (not logged), from which a display measures the speed and the ETA.
Notices (skipped photos, the cache decision, resuming) are logged and go to ``notify``.
Library code never prints.
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
Notify = Callable[[str], None]

#: Events passed to ``on_event`` only (not written to the log).
TRANSIENT = frozenset({"step"})


class Reporter:
    """Writes ``RUN_DIR/log.jsonl`` (appending on resume; opened at the first record),
    TensorBoard, and passes each event on."""

    def __init__(
        self, run_dir: Path, *, tensorboard: bool = False, enabled: bool = True,
        on_event: OnEvent | None = None, notify: Notify | None = None,
    ) -> None:
        self.enabled = enabled
        self.run_dir = run_dir
        self.on_event = on_event if enabled else None
        self.notify = notify if enabled else None
        self._log: Any = None
        self._tb: Any = None
        self._want_tb = enabled and tensorboard

    def event(self, event: str, **fields: Any) -> None:
        """Log one record; numbers with an ``iteration`` also go to TensorBoard."""
        if not self.enabled:
            return
        if event not in TRANSIENT:
            self._write({"event": event, "time": round(time.time(), 3), **fields})
            step = fields.get("iteration")
            if self._tb is not None and step is not None:
                for key, value in fields.items():
                    if key != "iteration" and isinstance(value, (int, float)):
                        self._tb.add_scalar(f"{event}/{key}", value, step)
        if self.on_event is not None:
            self.on_event(event, fields)

    def notice(self, message: str) -> None:
        """A one-line remark for the user: logged, and passed to ``notify``."""
        if not self.enabled:
            return
        self._write({"event": "notice", "time": round(time.time(), 3), "message": message})
        if self.notify is not None:
            self.notify(message)

    def _write(self, record: dict[str, Any]) -> None:
        if self._log is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._log = (self.run_dir / LOG_FILE).open("a", encoding="utf-8")
            if self._want_tb:
                self._want_tb = False
                self._tb = _tensorboard(self.run_dir, self.notice)
        self._log.write(json.dumps(record, default=str) + "\n")
        self._log.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _tensorboard(run_dir: Path, notify: Notify) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        notify("TensorBoard is not installed (pip install tensorboard); logging to "
               f"{run_dir / LOG_FILE} only")
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/log.jsonl``."""
    path = Path(run_dir) / LOG_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


__all__ = ["LOG_FILE", "TRANSIENT", "Notify", "OnEvent", "Reporter", "read_log"]
