"""Models on the Hugging Face Hub, in imgrestore format: ``hf:owner/repo[@revision]``.

A repository holds ``model.safetensors`` and ``imgrestore.json`` (see
:mod:`imgrestore.zoo.modeldir`). Files go through ``huggingface_hub`` and its own cache
(``HF_HUB_CACHE``/``HF_HOME``); pin a revision (best: a 40-hex commit) for
reproducible results. ``HF_HUB_OFFLINE=1`` or ``IMGRESTORE_OFFLINE=1`` serve from the
cache only. ``huggingface_hub`` reads its environment variables when first imported,
so it is imported here lazily, inside the functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from imgrestore.errors import WeightsError
from imgrestore.zoo.cache import offline
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE

PREFIX = "hf:"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: Files a model repository needs; a README.md is uploaded too when present.
FILES = (META_FILE, WEIGHTS_FILE)


@dataclass(frozen=True)
class HubRef:
    """A parsed ``hf:owner/repo[@revision]``."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


def is_hub_ref(ref: str) -> bool:
    return ref.startswith(PREFIX)


def parse_ref(ref: str) -> HubRef:
    """Parse ``hf:owner/repo[@revision]``; :class:`WeightsError` if malformed."""
    body = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    repo_id, _, revision = body.partition("@")
    if not _REPO_ID.match(repo_id) or (_ and not revision):
        raise WeightsError(f"{ref}: expected hf:owner/repo or hf:owner/repo@revision")
    return HubRef(repo_id, revision or None)


def fetch(ref: str | HubRef) -> Path:
    """The local folder (a snapshot in the Hugging Face cache) holding the model ``ref``.

    Downloads what is missing unless offline; raises :class:`WeightsError` with the fix.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
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
        for filename in FILES:
            paths.append(Path(hf_hub_download(
                hub.repo_id, filename, revision=hub.revision, local_files_only=is_offline,
                library_name="imgrestore", library_version=__version__,
            )))
    except LocalEntryNotFoundError:
        why = "offline mode is on" if is_offline else "the Hub could not be reached"
        raise WeightsError(
            f"{hub}: not in the Hugging Face cache and {why}; "
            f"fix: run `imgrestore models download {hub}` with network access"
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
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as exc:
        raise WeightsError(f"{hub}: download failed ({str(exc).splitlines()[0]})") from None
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
    from huggingface_hub.utils import HfHubHTTPError

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
    except (HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"{hub}: push failed ({str(exc).splitlines()[0]})") from None
    return str(info.commit_url)


def fetch_file(location: str, filename: str) -> Path:
    """One file of a Hub repository (``owner/repo[@revision]``), from the Hugging Face
    cache or downloaded; used for cards whose weights are mirrored on the Hub."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import HfHubHTTPError, LocalEntryNotFoundError

    hub = parse_ref(location)
    try:
        return Path(hf_hub_download(hub.repo_id, filename, revision=hub.revision,
                                    local_files_only=offline()))
    except LocalEntryNotFoundError:
        raise WeightsError(f"{hub}: {filename} is not in the Hugging Face cache") from None
    except (HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"{hub}: {filename}: download failed ({exc})") from None
