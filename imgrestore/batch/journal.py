"""The report as it grows: one JSON line per file, written the moment its result is known.

``--json report.json`` also keeps ``report.jsonl`` beside it. Each line is the entry the
final report's ``files`` list will hold for one input. A run that dies before it can
write ``report.json`` (a killed driver, a lost machine) leaves the lines of every file
that finished; rerunning the same command skips their outputs and starts the file anew.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgrestore.batch.plan import Job
    from imgrestore.batch.report import FileResult, Report
    from imgrestore.batch.run import Events
    from imgrestore.zoo.fallback import Fallback

SUFFIX = ".jsonl"


def journal_path(report_path: str | os.PathLike[str]) -> Path:
    """Where the incremental lines of the report at ``report_path`` go."""
    path = Path(report_path)
    return path.with_suffix(SUFFIX) if path.suffix.lower() != SUFFIX else path.with_name(
        path.name + SUFFIX
    )


class Journal:
    """Appends each result to a JSON-lines file, flushed to the OS at once."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from imgrestore.errors import UsageError

        self.path = Path(path)
        try:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close)
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot write the report ({exc.strerror})") from None

    def write(self, result: FileResult) -> None:
        from imgrestore.batch.report import file_entry

        self._file.write(json.dumps(file_entry(result)) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class JournalEvents:
    """Events that also write every file's result to a :class:`Journal`."""

    def __init__(self, events: Events, journal: Journal) -> None:
        self.events = events
        self.journal = journal

    def notice(self, message: str) -> None:
        self.events.notice(message)

    def download(self, what: str, done: int, total: int | None) -> None:
        self.events.download(what, done, total)

    def fallback(self, fallback: Fallback) -> None:
        self.events.fallback(fallback)

    def start(self, report: Report, todo: int) -> None:
        self.events.start(report, todo)

    def tiles(self, job: Job, done: int, total: int) -> None:
        self.events.tiles(job, done, total)

    def file_done(self, result: FileResult) -> None:
        self.journal.write(result)
        self.events.file_done(result)

    def unexpected(self, job: Job, error: BaseException) -> None:
        self.events.unexpected(job, error)


def read_journal(path: str | os.PathLike[str]) -> list[dict]:
    """The entries of a journal; a last line cut short by a crash is left out."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return entries
