"""A loaded model sent to another process or machine, without resolving it there again.

The process that resolved and verified a model (a batch's driver) packs it once:

>>> packed, data = pack(loaded)          # data: the weights as safetensors bytes
>>> loaded_again = unpack(packed, lambda: data)   # in a worker

``unpack`` reads the weights from the file the driver loaded them from when the worker
sees that same file (a shared cache or model folder, checked by sha256), and otherwise
asks ``fetch`` for the bytes (a Ray worker gets them through the object store). Either
way the network is built and filled exactly as :func:`~imgrestore.zoo.loading.load_model`
does: strictly, after checking every tensor fits, and never by unpickling code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from imgrestore.errors import WeightsError
from imgrestore.zoo.cache import sha256_file
from imgrestore.zoo.modeldir import WEIGHTS_FILE, is_model_dir

if TYPE_CHECKING:
    from imgrestore.zoo.loading import LoadedModel


@dataclass(frozen=True)
class PackedModel:
    """A loaded model without its tensors (small; pickled to workers)."""

    #: Everything :func:`~imgrestore.zoo.loading.load_model` said of it, but ``net``.
    model: LoadedModel
    #: A safetensors file the weights were loaded from, and its sha256; workers that see
    #: the same file (shared disk) read it instead of fetching the bytes.
    shared_file: str | None = None
    shared_sha256: str | None = None

    @property
    def name(self) -> str:
        return self.model.name


def pack(loaded: LoadedModel) -> tuple[PackedModel, bytes]:
    """``loaded``'s record, and its weights as safetensors bytes (what the network holds)."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous().clone() for k, v in loaded.net.state_dict().items()}
    shared = _weights_file(loaded)
    packed = PackedModel(
        model=replace(loaded, net=None),
        shared_file=None if shared is None else str(shared),
        shared_sha256=None if shared is None else sha256_file(shared),
    )
    return packed, save(state)


def unpack(packed: PackedModel, fetch: Callable[[], bytes]) -> LoadedModel:
    """Rebuild the model: from the shared file when it is there unchanged, else ``fetch()``."""
    from imgrestore.zoo.checkpoints import read_checkpoint
    from imgrestore.zoo.loading import _build

    shared = Path(packed.shared_file) if packed.shared_file else None
    if shared is not None and shared.is_file() and sha256_file(shared) == packed.shared_sha256:
        state, where = read_checkpoint(shared), str(shared)
    else:
        state, where = _from_bytes(fetch(), packed.name), f"{packed.name} (sent by the driver)"
    return replace(packed.model, net=_build(packed.model.spec, state, where=where))


def _from_bytes(data: bytes, name: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(data)
    except (SafetensorError, ValueError) as exc:
        raise WeightsError(
            f"{name}: weights sent by the driver are not safetensors ({exc})"
        ) from None


def _weights_file(loaded: LoadedModel) -> Path | None:
    """The safetensors file ``loaded`` was read from, when there is one on this disk."""
    from imgrestore.zoo.loading import builtin_dir

    source = loaded.source
    if source.startswith("builtin:") and loaded.card is not None:
        folder: Path | None = builtin_dir(loaded.card)
    elif source.startswith("hf:"):
        folder = None
    else:
        path = Path(source)
        if path.suffix == ".safetensors" and path.is_file():
            return path
        folder = path if path.is_dir() else None
    if folder is None or not is_model_dir(folder):
        return None
    return folder / WEIGHTS_FILE
