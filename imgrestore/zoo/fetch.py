"""Downloading a weights file: into a temporary file, hash-checked, never half-kept.

The transfer goes through ``torch.hub.download_url_to_file`` (a progress bar on
stderr, ``HTTPS_PROXY``/``NO_PROXY`` honoured by urllib). It does not notice a
connection that closes early, so the hash does: with a pinned sha256 any corrupt or
truncated file is refused; without one (trust on first use) the caller must still
load the file fully before keeping it (a truncated checkpoint does not load).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from imgrestore.errors import WeightsError
from imgrestore.zoo.cache import offline, sha256_file

#: Seconds without progress (connecting or reading) before a download is given up.
TIMEOUT = 30.0


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file and what was seen of it."""

    path: Path
    sha256: str
    size: int
    #: Whether ``sha256`` matched a pinned hash (else it is recorded on first use).
    pinned: bool


def download(url: str, folder: Path, filename: str, *, sha256: str | None = None,
             progress: bool = True) -> Downloaded:
    """Download ``url`` to ``folder/filename`` and check its sha256 when one is given.

    ``folder`` should be a staging folder: on any failure nothing is left in it.
    Raises :class:`WeightsError` (offline mode, network error, hash mismatch).
    """
    if offline():
        raise WeightsError(f"{url}: not downloaded: offline mode is on")
    from torch.hub import download_url_to_file

    dest = Path(folder) / filename
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT)  # a network that drops packets fails, not hangs
    try:
        download_url_to_file(url, os.fspath(dest), progress=progress)
    except Exception as exc:  # urllib's URLError/HTTPError, OSError, timeouts
        dest.unlink(missing_ok=True)
        raise WeightsError(f"{url}: download failed ({_reason(exc)})") from None
    finally:
        socket.setdefaulttimeout(previous)
    digest = sha256_file(dest)
    size = dest.stat().st_size
    if sha256 is not None and digest != sha256.lower():
        dest.unlink(missing_ok=True)
        raise WeightsError(
            f"{url}: corrupt or truncated download ({size} bytes, sha256 {digest}, "
            f"expected {sha256}); nothing was kept, try again"
        )
    return Downloaded(dest, digest, size, pinned=sha256 is not None)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return str(reason).strip().splitlines()[0]
