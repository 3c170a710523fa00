"""Publishing a model folder (a training run, an imported model) to the Hugging Face Hub:
checked as :func:`~imgrestore.zoo.loading.load_model` would load it, then uploaded."""

from __future__ import annotations

from pathlib import Path

from imgrestore.errors import WeightsError
from imgrestore.zoo import hub
from imgrestore.zoo.cache import offline
from imgrestore.zoo.loading import load_model_dir
from imgrestore.zoo.modeldir import is_model_dir, read_meta


def push(folder: Path, ref: str | hub.HubRef, *, private: bool | None = None,
         token: str | None = None, message: str | None = None) -> str:
    """Publish the imgrestore model in ``folder`` to ``ref``; the commit URL.

    The folder is checked first (``imgrestore.json`` valid, weights fit their network).
    The repository is created if missing; ``@revision`` names the branch to commit to.
    """
    if isinstance(ref, str):
        hub.parse_ref(ref)  # a malformed id is a usage error before any work
    folder = Path(folder)
    if not is_model_dir(folder):
        raise WeightsError(f"{folder}: not an imgrestore model (needs {' and '.join(hub.FILES)})")
    load_model_dir(folder, check_hash=True)
    meta = read_meta(folder)
    if offline():
        raise WeightsError(f"{folder}: not pushed: offline mode is on")
    return hub.upload(folder, ref, private=private, token=token,
                      message=message or f"imgrestore model {meta.name or meta.family}")


__all__ = ["push"]
