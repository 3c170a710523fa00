"""Models on the Hugging Face Hub, in imgrestore format: ``hf:owner/repo[@revision]``.

A repository holds ``model.safetensors`` and ``imgrestore.json`` (see
:mod:`imgrestore.zoo.modeldir`). Files go through ``huggingface_hub`` and its own cache
(``HF_HUB_CACHE``/``HF_HOME``); pin a revision (best: a 40-hex commit) for
reproducible results. ``HF_HUB_OFFLINE=1`` or ``IMGRESTORE_OFFLINE=1`` serve from the
cache only. ``huggingface_hub`` reads its environment variables when first imported,
so it is imported here lazily, inside the functions.

huggingface_hub retries a failed request five times (1 + 2 + 4 + 8 + 8 s), logging two
lines each time. Where the network is plainly absent (connection refused, host name not
resolved, network unreachable: :func:`is_offline_like`) waiting cannot help, so
:func:`folded_retries` stops that loop after its first attempt; in every case its lines
are kept out of the terminal and their reason folded into our one line.
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from imgrestore.errors import ImgRestoreError, UsageError, WeightsError
from imgrestore.zoo.cache import offline
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE

PREFIX = "hf:"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: huggingface_hub's own limit (``validate_repo_id``).
MAX_REPO_ID = 96
#: Files a model repository needs; a README.md is uploaded too when present.
FILES = (META_FILE, WEIGHTS_FILE)


@dataclass(frozen=True)
class HubRef:
    """A parsed ``hf:owner/repo[@revision]``."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


class HubUnreachableError(Exception):
    """Raised out of huggingface_hub's retry loop when the network is plainly absent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


#: Exception class names (httpx's, requests', the standard library's) that mean "no
#: network at all", as opposed to a slow or overloaded server.
_OFFLINE_LIKE = {"ConnectError", "ConnectTimeout", "NewConnectionError", "ConnectionRefusedError",
                 "gaierror"}


def is_offline_like(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the host cannot be reached at all (not: answered badly)."""
    while exc is not None:
        if any(k.__name__ in _OFFLINE_LIKE for k in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass
class _RetryLog(logging.Filter):
    """A logging filter that swallows huggingface_hub's warnings while our call runs,
    keeps the first reason, and cuts the retry loop short when the network is absent."""

    reason: str | None = None
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        self.lines.append(record.getMessage())
        current = sys.exc_info()[1]  # the loop logs from inside its `except` block
        if current is not None:
            self.reason = self.reason or _network_reason(current)
            if is_offline_like(current):
                raise HubUnreachableError(self.reason)
        return False


@contextmanager
def folded_retries() -> Iterator[_RetryLog]:
    """While the block runs, huggingface_hub's warnings are held back (their reason is in
    the yielded log) and a retry loop on an absent network stops after one attempt
    (:class:`HubUnreachableError`)."""
    import huggingface_hub.file_download  # noqa: F401 (imported lazily; creates its loggers)

    log = _RetryLog()
    names = [n for n in list(logging.root.manager.loggerDict)
             if n == "huggingface_hub" or n.startswith("huggingface_hub.")]
    loggers = [logging.getLogger(n) for n in names]
    for logger in loggers:
        logger.addFilter(log)
    try:
        yield log
    finally:
        for logger in loggers:
            logger.removeFilter(log)


def is_hub_ref(ref: str) -> bool:
    return ref.startswith(PREFIX)


def parse_ref(ref: str) -> HubRef:
    """Parse ``hf:owner/repo[@revision]``; :class:`UsageError` if malformed."""
    body = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    repo_id, _, revision = body.partition("@")
    if not _REPO_ID.match(repo_id) or (_ and not revision):
        raise UsageError(f"{_short(ref)}: expected hf:owner/repo or hf:owner/repo@revision")
    if len(repo_id) > MAX_REPO_ID:
        raise UsageError(f"{_short(ref)}: a Hugging Face repository id has at most "
                         f"{MAX_REPO_ID} characters, this one {len(repo_id)}")
    return HubRef(repo_id, revision or None)


def _short(text: str, keep: int = 80) -> str:
    """``text`` cut to ``keep`` characters for a message (a 300-character id stays one line)."""
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def fetch(ref: str | HubRef) -> Path:
    """The local folder (a snapshot in the Hugging Face cache) holding the model ``ref``.

    Downloads what is missing unless offline; raises :class:`WeightsError` with the fix.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from imgrestore import __version__

    hub = ref if isinstance(ref, HubRef) else parse_ref(ref)
    is_offline = offline()
    paths = []
    try:
        with folded_retries() as log:
            for filename in FILES:
                paths.append(Path(hf_hub_download(
                    hub.repo_id, filename, revision=hub.revision, local_files_only=is_offline,
                    library_name="imgrestore", library_version=__version__,
                )))
    except (LocalEntryNotFoundError, HubUnreachableError):
        why = ("offline mode is on" if is_offline else
               f"the Hub could not be reached ({log.reason or 'no network'})")
        raise WeightsError(
            f"{hub}: not in the Hugging Face cache and {why}; "
            f"fix: run `imgrestore models download {shlex.quote(str(hub))}` with network access"
        ) from None
    except GatedRepoError:
        raise WeightsError(f"{hub}: gated repository; log in with `hf auth login`") from None
    except RepositoryNotFoundError:
        raise WeightsError(f"{hub}: no such repository (or it is private)") from None
    except RevisionNotFoundError:
        raise WeightsError(f"{hub}: no revision {hub.revision!r}") from None
    except EntryNotFoundError:
        raise WeightsError(
            f"{hub}: not an imgrestore model (needs {' and '.join(FILES)})"
        ) from None
    except HFValidationError as exc:
        raise UsageError(f"{hub}: not a valid repository id or revision ({_first(exc)})") from None
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as exc:
        raise WeightsError(f"{hub}: download failed ({_first(exc)})") from None
    except Exception as exc:  # httpx's own errors (a proxy refusing, TLS), never a traceback
        raise WeightsError(f"{hub}: download failed ({_network_reason(exc)})") from None
    folder = paths[0].parent
    if any(p.parent != folder for p in paths):  # same snapshot, always, for one revision
        raise WeightsError(f"{hub}: files resolved to different snapshots")
    return folder


def upload(folder: Path, ref: str | HubRef, *, private: bool | None = None,
           token: str | None = None, message: str) -> str:
    """Upload the model files of ``folder`` to ``ref``; the commit URL. The repository is
    created if missing; ``@revision`` names the branch to commit to. (Check the folder
    first: :func:`imgrestore.zoo.publish.push` does.)"""
    hub = ref if isinstance(ref, HubRef) else parse_ref(ref)

    from huggingface_hub import HfApi
    from huggingface_hub.utils import HFValidationError

    api = HfApi(token=token)
    patterns = [*FILES, "README.md"]
    try:
        api.create_repo(hub.repo_id, private=private, exist_ok=True)
        if hub.revision:
            api.create_branch(hub.repo_id, branch=hub.revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=hub.repo_id, folder_path=folder, revision=hub.revision,
            allow_patterns=patterns, commit_message=message,
        )
    except HFValidationError as exc:
        raise UsageError(f"{hub}: not a valid repository id or branch ({_first(exc)})") from None
    except Exception as exc:  # HTTP errors, and the HTTP client's (httpx.ConnectError...)
        raise ImgRestoreError(
            f"{hub}: push failed ({type(exc).__name__}: {_first(exc)}); check the network "
            "and your token (`hf auth login`)"
        ) from None
    return str(info.commit_url)


def _first(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    text = str(exc).strip()
    return _short(text.splitlines()[0], 200) if text else type(exc).__name__


def fetch_file(location: str, filename: str) -> Path:
    """One file of a Hub repository (``owner/repo[@revision]``), from the Hugging Face
    cache or downloaded; used for cards whose weights are mirrored on the Hub."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    from imgrestore.errors import DownloadError

    hub = parse_ref(location)
    where = f"hf:{hub.repo_id}/{filename}"
    try:
        with folded_retries() as log:
            return Path(hf_hub_download(hub.repo_id, filename, revision=hub.revision,
                                        local_files_only=offline()))
    except LocalEntryNotFoundError:
        reason = "not in the Hugging Face cache" + (
            f" and the Hub could not be reached ({log.reason})" if log.reason else "")
    except HFValidationError as exc:
        raise UsageError(f"{hub}: not a valid repository id or revision ({_first(exc)})") from None
    except HubUnreachableError as exc:
        reason = f"the Hub could not be reached ({exc.reason})"
    except (HfHubHTTPError, OSError) as exc:
        reason = _first(exc)
    except Exception as exc:  # httpx's own errors (a proxy refusing, TLS)
        reason = _network_reason(exc)
    raise DownloadError(f"{where}: {reason}", reason=reason, source=where)


def _network_reason(exc: BaseException) -> str:
    from imgrestore.zoo.fetch import network_reason

    return network_reason(exc)
