"""Downloading a weights file: into a temporary file, hash-checked, never half-kept.

Every transfer goes through `gdown <https://github.com/wkentaro/gdown>`_ (MIT), the
library made for Google Drive: it maps a Drive file id to Drive's download URL, passes
the "can't scan this file for viruses" confirmation form, lists Drive folders, and can
send the user's Google cookies. It downloads plain URLs (GitHub release assets) too, so
there is one download path. We keep our own code only for what gdown leaves to its
caller: checking the sha256 and size against a pin, cleaning up after a failure, and
turning its exceptions into one line.

Proxies (``HTTPS_PROXY``/``NO_PROXY``) and a corporate CA bundle
(``REQUESTS_CA_BUNDLE``) are honoured by requests, under gdown. Cookies: the Netscape
cookies file named by ``IMGRESTORE_GDOWN_COOKIES``, else gdown's own
(``~/.cache/gdown/cookies.txt``, filled by ``gdown --cookies-from-browser BROWSER``)
when it exists, else none (nothing is written to the user's home).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imgrestore.errors import DownloadError
from imgrestore.zoo.cache import offline

#: Seconds without progress (connecting or reading) before a download is given up.
TIMEOUT = 30.0
ENV_COOKIES = "IMGRESTORE_GDOWN_COOKIES"
#: Called with ``(bytes so far, total bytes or None)`` as a download goes.
Progress = Callable[[int, "int | None"], None]
_DRIVE_FOLDER = re.compile(r"^https://drive\.google\.com/drive/folders/([-\w]+)")


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file and what was seen of it."""

    path: Path
    sha256: str
    size: int
    #: Whether ``sha256`` matched a pinned hash (else it is recorded on first use).
    pinned: bool


def is_drive(url: str) -> bool:
    """Whether ``url`` is a Google Drive file or folder link."""
    return url.startswith(("https://drive.google.com/", "https://docs.google.com/"))


def download(url: str, folder: Path, filename: str, *, sha256: str | None = None,
             size: int | None = None, progress: Progress | None = None) -> Downloaded:
    """Download ``url`` to ``folder/filename``; check its sha256 and size when pinned.

    ``url`` is a plain URL, a Drive file link, or a Drive folder link (the file called
    ``filename`` is picked from the folder's listing). ``folder`` should be a staging
    folder: on any failure nothing is left in it. Raises :class:`DownloadError`
    (offline mode, network error, Drive refusing, hash or size mismatch).
    """
    if offline():
        raise DownloadError(f"{url}: not downloaded: offline mode is on",
                            reason="offline mode is on", source=url)
    import gdown

    dest = Path(folder) / filename
    digest = hashlib.sha256()
    try:
        target = _drive_folder_file(url, folder, filename) if _DRIVE_FOLDER.match(url) else url
        gdown.download(target, os.fspath(dest), quiet=True, hasher=digest,
                       progress=progress, timeout=TIMEOUT, retries=0, **_cookies())
    except Exception as exc:  # requests' and gdown's errors, OSError, timeouts
        _clean(dest)
        reason, refused = describe(exc)
        raise DownloadError(f"{url}: download failed ({reason})", reason=reason, source=url,
                            refused=refused) from None
    got = Downloaded(dest, digest.hexdigest(), dest.stat().st_size, pinned=sha256 is not None)
    if (sha256 is not None and got.sha256 != sha256.lower()) or (
        size is not None and got.size != size
    ):
        _clean(dest)
        expected = f"expected {size} bytes, sha256 {sha256}" if size else f"expected {sha256}"
        reason = f"corrupt or truncated download ({got.size} bytes, sha256 {got.sha256}, " \
                 f"{expected})"
        raise DownloadError(f"{url}: {reason}; nothing was kept, try again", reason=reason,
                            source=url)
    return got


def _drive_folder_file(url: str, folder: Path, filename: str) -> str:
    """The Drive link of the file called ``filename`` in the Drive folder ``url``."""
    import gdown

    listing = gdown.download_folder(url=url, output=os.fspath(folder) + os.sep, quiet=True,
                                    skip_download=True, timeout=TIMEOUT, **_cookies())
    for entry in listing:
        if Path(entry.path).name == filename:
            return f"https://drive.google.com/uc?id={entry.id}"
    names = ", ".join(sorted(Path(e.path).name for e in listing)) or "nothing"
    raise LookupError(f"the Drive folder holds no {filename} (it holds {names})")


def _cookies() -> dict[str, object]:
    """gdown's cookie arguments: the user's cookies file if there is one, else none."""
    configured = os.environ.get(ENV_COOKIES)
    if configured:
        return {"use_cookies": True, "cookies_file": os.path.expanduser(configured)}
    from gdown.download import DEFAULT_COOKIES_FILE

    if os.path.isfile(DEFAULT_COOKIES_FILE):
        return {"use_cookies": True, "cookies_file": DEFAULT_COOKIES_FILE}
    return {"use_cookies": False}


def _clean(dest: Path) -> None:
    """Remove ``dest`` and the partial files gdown keeps beside it for resuming."""
    dest.unlink(missing_ok=True)
    for partial in dest.parent.glob(f"{glob.escape(dest.name)}*.part"):
        partial.unlink(missing_ok=True)


def describe(exc: BaseException) -> tuple[str, bool]:
    """A few words saying why a download failed, and whether the host refused it."""
    import gdown
    import requests

    if isinstance(exc, gdown.FileURLRetrievalError):
        return f"Google Drive refused the download: {_drive_reason(str(exc))}", True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        response = exc.response
        return f"HTTP {response.status_code} {response.reason or ''}".strip(), False
    if isinstance(exc, requests.Timeout):
        return f"no answer for {TIMEOUT:.0f} s", False
    if isinstance(exc, gdown.DownloadError):
        text = str(exc)
        cut = re.match(r"Download is incomplete: received (\d+) bytes but the server "
                       r"announced (\d+) bytes", text)
        if cut:
            return f"transfer cut short: received {cut[1]} of {cut[2]} bytes", False
        if text.startswith("Failed to retrieve folder contents"):
            return "Google Drive refused to list the folder", True
        return _first_sentence(text), False
    if isinstance(exc, LookupError):
        return str(exc), False
    return network_reason(exc), False


def network_reason(exc: BaseException) -> str:
    """The innermost cause of a connection failure, in a few words ("connection
    refused", "name not resolved: huggingface.co")."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        seen.append(current)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)
    for current in seen:
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[0].lower() + current.strerror[1:]
    text = " ".join(str(s) for s in seen)
    for pattern, words in ((r"Name or service not known|getaddrinfo failed|"
                            r"nodename nor servname|Temporary failure in name resolution",
                            "host name not resolved"),
                           (r"Connection refused", "connection refused"),
                           (r"Network is unreachable", "network is unreachable"),
                           (r"timed out", "timed out")):
        if re.search(pattern, text):
            return words
    return _first_sentence(str(exc)) or type(exc).__name__


def _drive_reason(text: str) -> str:
    """Drive's own words out of gdown's message (the tab-indented block), else its first
    line."""
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("\t"):
            block.append(line.strip())
        elif block:
            break
    return _first_sentence(" ".join(block) if block else text)


def _first_sentence(text: str) -> str:
    line = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", line)
    return (match[1].rstrip(".") if match else line)[:300]
