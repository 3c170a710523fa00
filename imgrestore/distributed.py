"""Many processes under ``torchrun``: who this process is, its device, its share, and the
process group of training.

``torchrun --nproc-per-node N -m imgrestore ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set. A batch (:mod:`imgrestore.batch.run`) plans the
same jobs in every process, takes every N-th one (:func:`shard`), runs on this process's
GPU (:func:`device_for_rank`) and gathers the reports on rank 0 (:func:`gather_to_rank0`,
gloo, no process group needed beforehand). Training (:mod:`imgrestore.training.loop`)
joins a process group for DistributedDataParallel (:func:`setup`: NCCL on CUDA, gloo on
the CPU), in which every rank takes part in validation and checkpoints together
(:func:`all_gather`).

Importing this module does not import torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from imgrestore.errors import DeviceError

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when run alone."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK``; 0 when run alone)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_world() -> int:
    """Processes on this machine (``LOCAL_WORLD_SIZE``; the world size when not set)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", str(rank_and_world()[1])))


def shard(items: Sequence[T], rank: int, world: int) -> list[T]:
    """The items process ``rank`` of ``world`` handles: every ``world``-th from ``rank``."""
    return list(items[rank::world])


def _local_gpu(index: int) -> str:
    import torch

    return f"cuda:{index % torch.cuda.device_count()}"


def device_for_rank(device: str) -> str:
    """Pin ``auto``/``cuda`` to this process's GPU (``LOCAL_RANK``) under torchrun."""
    _, world = rank_and_world()
    if world == 1 or device not in ("auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        return _local_gpu(local_rank())
    return "cpu" if device == "auto" else device


def gather_to_rank0(obj: T) -> list[T] | None:
    """Every process's ``obj``, in rank order, on rank 0 (``None`` on the others); gloo,
    with a process group of its own unless one is already there."""
    import torch.distributed as dist

    created = not dist.is_initialized()
    if created:
        dist.init_process_group("gloo")
    try:
        gathered = _gather_objects(obj)
        return gathered if dist.get_rank() == 0 else None
    finally:
        if created:
            dist.destroy_process_group()


def _gather_objects(obj: T) -> list[T]:
    """Every process's ``obj`` in rank order (the process group must be there)."""
    import torch.distributed as dist

    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


# --- training: a process group for DistributedDataParallel --------------------------------


@dataclass(frozen=True)
class Context:
    """Where this process runs: its rank among ``world`` processes and its device."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    #: Processes on this machine (``LOCAL_WORLD_SIZE``).
    local_world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def choose_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA (this process's GPU) when available, else CPU; or an explicit name."""
    import torch

    if name == "auto":
        return torch.device(_local_gpu(local_rank) if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DeviceError(f"--device {name}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is None:
        device = torch.device(_local_gpu(local_rank))
    return device


def setup(device_name: str) -> Context:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1).

    NCCL on CUDA, gloo on CPU. Without ``torchrun`` this is a single process.
    """
    import torch

    rank, world = rank_and_world()
    device = choose_device(device_name, local_rank())
    if world > 1 and not torch.distributed.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return Context(rank, world, local_rank(), device, local_world())


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        import torch

        torch.distributed.barrier()


def all_gather(ctx: Context, value: T) -> list[T]:
    """Every process's ``value`` (picklable), in rank order; every rank must call it."""
    return _gather_objects(value) if ctx.distributed else [value]


def teardown(ctx: Context) -> None:
    import torch

    if ctx.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


__all__ = [
    "Context",
    "all_gather",
    "barrier",
    "choose_device",
    "device_for_rank",
    "gather_to_rank0",
    "local_rank",
    "local_world",
    "rank_and_world",
    "setup",
    "shard",
    "teardown",
]
