"""Which runtime runs the network on a batch of tiles: PyTorch (eager or compiled) or OpenVINO.

A backend is a callable ``fn(batch) -> batch``: ``(N, C, h, w)`` float32 on the CPU in,
the network's final image as float32 on the CPU out (the tiler's contract). Both are
built once per :class:`~imgrestore.engine.restorer.Restorer`.

* ``torch`` — the network itself: eager (or ``torch.compile``'d) in the family's memory
  layout for the device, low precision under ``torch.autocast``. On CUDA the tiles travel
  through pinned memory with non-blocking copies.
* ``openvino`` — :class:`~imgrestore.engine.openvino.OpenVINOForward` (CPU only).
* ``auto`` — the first backend the family declares for the device (fastest first, from
  measurement) that is installed, OpenVINO on x86-64 CPUs only (where it was measured);
  ``--compile`` asks for torch.

>>> choose_backend("auto", torch.device("cpu"), declared=("openvino", "torch"))
'openvino'
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from imgrestore import archs
from imgrestore.engine import openvino
from imgrestore.engine.devices import DTYPES
from imgrestore.engine.options import BACKENDS
from imgrestore.errors import DeviceError, UsageError

if TYPE_CHECKING:
    from torch import nn

Forward = Callable[[torch.Tensor], torch.Tensor]
ENV_INDUCTOR_CACHE = "TORCHINDUCTOR_CACHE_DIR"
#: CPU architectures on which OpenVINO was measured faster than PyTorch
#: (benchmarks/official.py); elsewhere ``auto`` keeps torch, ``--backend openvino`` works.
MEASURED_CPUS = frozenset({"x86_64", "amd64"})
#: What ``auto`` means when set (``torch`` or ``openvino``), e.g. to keep one backend in tests.
ENV_BACKEND = "IMGRESTORE_BACKEND"


def choose_backend(
    requested: str, device: torch.device, declared: Sequence[str] = ("torch",),
    *, compile: bool = False,
) -> str:
    """The backend to use: ``requested``, or for ``auto`` the first of ``declared`` (the
    family's choice for this device type, fastest first) that can run here
    (``$IMGRESTORE_BACKEND``, when set, says what ``auto`` means)."""
    requested = requested.strip().lower()
    if requested not in BACKENDS:
        raise UsageError(f"unknown backend {requested!r}; use {', '.join(BACKENDS)}")
    if requested == "auto" and not compile:
        configured = os.environ.get(ENV_BACKEND, "").strip().lower() or "auto"
        if configured not in BACKENDS:
            raise UsageError(f"{ENV_BACKEND}={configured}: use {', '.join(BACKENDS)}")
        if configured == "torch" or (configured == "openvino" and device.type == "cpu"):
            requested = configured
    if requested == "openvino":
        if compile:
            raise UsageError("--compile applies to the torch backend, not openvino")
        if device.type != "cpu":
            raise UsageError(f"backend openvino runs on the CPU, not {device}; use --device cpu")
        if openvino.runtime_version() is None:
            raise DeviceError("backend openvino: the openvino package is not installed "
                              "(pip install openvino)")
        return "openvino"
    if requested == "torch" or compile:
        return "torch"
    for name in declared:
        if name == "torch":
            return name
        if (name == "openvino" and device.type == "cpu" and openvino.runtime_version()
                and platform.machine().lower() in MEASURED_CPUS):
            return name
    return "torch"


class TorchForward:
    """The network in PyTorch on ``device``: layout, autocast, optional ``torch.compile``."""

    def __init__(
        self, net: nn.Module, arch: archs.ArchSpec, device: torch.device,
        memory_format: torch.memory_format, *, compile: bool = False,
        cache_dir: Path | None = None,
    ) -> None:
        self.arch = arch
        self.device = device
        self.memory_format = memory_format
        net = net.eval().to(device, memory_format=memory_format)
        for p in net.parameters():
            p.requires_grad_(False)
        self.net = net
        if compile and cache_dir is not None:
            # Compiled kernels are kept with imgrestore's cache (unless the user chose).
            os.environ.setdefault(ENV_INDUCTOR_CACHE, str(Path(cache_dir) / "inductor"))
        self._run = torch.compile(net) if compile else net

    def __call__(self, batch: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
        with torch.inference_mode():
            x = to_device(batch, self.device).contiguous(memory_format=self.memory_format)
            cast = (
                torch.autocast(self.device.type, dtype=DTYPES[precision])
                if precision != "fp32" else contextlib.nullcontext()
            )
            with cast:
                y = archs.restore(self._run, self.arch, x)
            return to_cpu(y.float())


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``batch`` (CPU) on ``device``; to CUDA through pinned memory, without blocking."""
    if device.type != "cuda":
        return batch.to(device)
    return batch.pin_memory().to(device, non_blocking=True)


def to_cpu(y: torch.Tensor) -> torch.Tensor:
    """``y`` on the CPU; from CUDA into pinned memory, waiting only for that copy."""
    if y.device.type != "cuda":
        return y.cpu()
    out = torch.empty(y.shape, dtype=y.dtype, pin_memory=True)
    out.copy_(y, non_blocking=True)
    torch.cuda.current_stream(y.device).synchronize()
    return out


def make_backend(
    name: str, net: nn.Module, arch: archs.ArchSpec, device: torch.device,
    memory_format: torch.memory_format, *, precision: str, compile: bool,
    cache_dir: Path, notify: Callable[[str], None] | None = None, label: str | None = None,
) -> tuple[TorchForward, Forward]:
    """The torch forward (always built: the fp32 redo of non-finite tiles uses it) and the
    forward of backend ``name`` at ``precision``; ``label`` names the model in notices
    (default: its configuration)."""
    torch_forward = TorchForward(net, arch, device, memory_format, compile=compile,
                                 cache_dir=cache_dir)
    if name == "torch":
        return torch_forward, lambda batch: torch_forward(batch, precision)
    ov = openvino.OpenVINOForward(
        torch_forward.net, in_channels=arch.in_channels,
        returns_stages=arch.descriptor.returns_stages, multiple=arch.multiple_of,
        precision=precision, cache_dir=cache_dir, notify=notify, name=label or arch.name,
        fp32_ops=("Add",) if arch.descriptor.on(device.type).fp32_additions else (),
    )
    return torch_forward, ov


__all__ = ["TorchForward", "choose_backend", "make_backend", "to_cpu", "to_device"]
