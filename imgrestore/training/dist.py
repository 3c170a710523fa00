"""Process group set-up for ``torchrun`` (DistributedDataParallel), and device choice."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from imgrestore.errors import DeviceError


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
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DeviceError(f"--device {name}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def setup(device_name: str) -> Context:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1).

    NCCL on CUDA, gloo on CPU. Without ``torchrun`` this is a single process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    device = choose_device(device_name, local_rank)
    if world > 1 and not torch.distributed.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return Context(rank, world, local_rank, device, local_world)


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        torch.distributed.barrier()


def all_gather(ctx: Context, value: Any) -> list[Any]:
    """Every process's ``value`` (picklable), in rank order; every rank must call it."""
    if not ctx.distributed:
        return [value]
    values: list[Any] = [None] * ctx.world
    torch.distributed.all_gather_object(values, value)
    return values


def teardown(ctx: Context) -> None:
    if ctx.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


__all__ = ["Context", "all_gather", "barrier", "choose_device", "setup", "teardown"]
