"""Files that are not regular files, made safely for tests: FIFOs, devices, sockets, links.

Every one lives in the test's own temporary folder, except the character devices that
are only ever *read* (``/dev/zero``). A device that a test expects imgrestore to refuse
to *replace* is a copy of ``/dev/null`` made with ``mknod`` in the temporary folder when
the test may do that (root); otherwise ``/dev/null`` itself, which the code under test
refuses before any write.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: A character device that reads as an endless stream of zeros.
ZERO = Path("/dev/zero")


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def null_device(folder: Path) -> Path:
    """A character device like ``/dev/null`` that can be harmed: our own, when possible."""
    path = folder / "null-device"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return path
    except (PermissionError, OSError, AttributeError):
        return Path("/dev/null")


def unix_socket(path: Path) -> Path | None:
    """A socket file at ``path`` (None where the path is too long for one)."""
    if len(os.fsencode(path)) > 100:
        return None
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.close()  # the file stays behind
    return path


def link_loop(path: Path) -> Path:
    """A symbolic link that points at itself."""
    os.symlink(path.name, path)
    return path


def broken_link(path: Path) -> Path:
    os.symlink(path.name + ".missing-target", path)
    return path


def returns(fn: Callable[..., Any], *args: Any, unblock: Path | None = None,
            **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, failing the test if it does not return (it hangs, e.g. on a
    FIFO). ``unblock``: a FIFO opened for writing after the wait, so that a regression
    fails the test instead of hanging the whole run. Not a timing assertion: the wait
    is far longer than any honest run."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(120)
    if thread.is_alive():
        if unblock is not None:
            with open(unblock, "wb"):  # lets the blocked open() return, writes nothing
                pass
        thread.join(10)
        raise AssertionError(f"{getattr(fn, '__name__', fn)} did not return: it blocked")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
