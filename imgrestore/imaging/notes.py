"""What image libraries say while a file is read or written becomes that file's notes.

Pillow warns (``Corrupt EXIF data``), tifffile logs (``invalid offset to first page``)
and LibRaw prints to the process's stderr (``unknown file: Unexpected end of file``),
none of them naming the file. Inside :func:`collect_notes` such messages are caught
for the current thread and returned as notes, which the batch shows on that file's
line and puts in its report entry.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Modules whose warnings are shown every time (once per file), not once per process.
_LIBRARIES = r"(PIL|tifffile|imagecodecs|rawpy|piexif|pillow_heif|imgrestore\.imaging)(\.|$)"
#: Loggers whose warnings are notes about the file at hand (a logger's filter sees only
#: its own records, so each is named).
_LOGGERS = ("tifffile", "imgrestore.imaging.reader", "imgrestore.imaging.writer",
            "imgrestore.imaging.metadata")

_local = threading.local()
_previous_showwarning = None
_fd_lock = threading.Lock()


def _sink() -> list[str] | None:
    return getattr(_local, "sink", None)


def _keep(text: str) -> None:
    sink = _sink()
    assert sink is not None
    text = " ".join(str(text).split())
    for _ in range(3):  # tifffile's "<tifffile.TiffPage 0 @8> raised E('<TiffTag 259> ...')"
        text = re.sub(r"^<[^>]*> ", "", text)
        text = re.sub(r"^raised \w+\((['\"])(.*)\1\)$", r"\2", text)
    name = getattr(_local, "name", None)
    if name and text.startswith(f"{name}: "):
        text = text[len(name) + 2:]
    if text and text not in sink:
        sink.append(text)


def _showwarning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """A warning in a thread that is reading or writing a file is about that file."""
    if _sink() is not None:
        _keep(str(message))
        return
    previous = _previous_showwarning or warnings._showwarning_orig  # type: ignore[attr-defined]
    previous(message, category, filename, lineno, file, line)


class _LogToNotes(logging.Filter):
    """On the loggers of :data:`_LOGGERS`: a warning in a collecting thread is a note."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and _sink() is not None:
            _keep(record.getMessage())
            return False
        return True


_LOG_FILTER = _LogToNotes()


def _install() -> None:
    """Hook warnings and logging (again if a ``catch_warnings`` block replaced the hook)."""
    global _previous_showwarning
    if warnings.showwarning is not _showwarning:
        _previous_showwarning = warnings.showwarning
        warnings.showwarning = _showwarning
    # "always": every file gets its own note, not only the first one that warned.
    if not any(f[0] == "always" and getattr(f[3], "pattern", None) == _LIBRARIES
               for f in warnings.filters):
        warnings.filterwarnings("always", module=_LIBRARIES)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


def summary(notes: list[str], limit: int = 200) -> str:
    """The first notes, joined, within ``limit`` characters (for an error's reason)."""
    text = "; ".join(notes)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


@contextmanager
def collect_notes(name: str | None = None) -> Iterator[list[str]]:
    """Catch the image libraries' warnings in this thread; yields the list they go to.

    ``name`` (the file's) is taken off the front of messages that start with it.
    """
    _install()
    saved = (_sink(), getattr(_local, "name", None))
    notes: list[str] = []
    _local.sink, _local.name = notes, name
    try:
        yield notes
    finally:
        _local.sink, _local.name = saved


#: How LibRaw's default callbacks start a line when reading from memory.
_LIBRAW_LINE = re.compile(r"^unknown file: ")


@contextmanager
def libraw_messages() -> Iterator[list[str]]:
    """Catch what LibRaw prints on the process's stderr (file descriptor 2) meanwhile.

    LibRaw's own lines are yielded as ``LibRaw: ...``; anything else written to stderr
    meanwhile (other threads) is passed on to stderr afterwards.
    """
    messages: list[str] = []
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    except (AttributeError, OSError, ValueError):
        yield messages
        return
    with _fd_lock, tempfile.TemporaryFile() as capture:
        for stream in (sys.stderr, sys.__stderr__):
            _flush(stream)
        saved = os.dup(fd)
        os.dup2(capture.fileno(), fd)
        try:
            yield messages
        finally:
            for stream in (sys.stderr, sys.__stderr__):
                _flush(stream)
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            others = []
            for line in text.splitlines(keepends=True):
                if _LIBRAW_LINE.match(line):
                    messages.append("LibRaw: " + _LIBRAW_LINE.sub("", line).strip())
                else:
                    others.append(line)
            if others:
                os.write(fd, "".join(others).encode("utf-8", "replace"))


def _flush(stream: object) -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.flush()  # type: ignore[attr-defined]
