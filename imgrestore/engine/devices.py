"""Choosing the device, the precision and the memory budget for a run.

>>> device = select_device("auto")                      # CUDA, then MPS, then CPU
>>> precision = select_precision("auto", device, safe=("fp32", "bf16"))
>>> budget = memory_budget(device, 6 * GIB)                # bytes the network may use
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Collection, Sequence
from typing import Literal

import torch

from imgrestore.engine.options import PRECISIONS
from imgrestore.errors import DeviceError, UsageError

Precision = Literal["fp32", "fp16", "bf16"]
DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
#: Low precisions tried by ``precision='auto'`` on a GPU, fastest first.
_FAST_FIRST: tuple[Precision, ...] = ("fp16", "bf16")

GIB = 1024**3
#: Share of the available RAM (CPU, MPS) or free GPU memory a run may plan for.
RAM_FRACTION = 0.5
CUDA_FRACTION = 0.85
#: On the CPU, tiles larger than this budget only save overlap, not time; it keeps a
#: 24-megapixel run of any family under 4 GB. Models that prefer the whole image may
#: use the full ``RAM_FRACTION``.
CPU_TILE_BUDGET = int(2.0 * GIB)
_FALLBACK_RAM = 8 * GIB


def select_device(name: str = "auto") -> torch.device:
    """The device ``auto | cpu | cuda | cuda:N | mps``; auto prefers CUDA, then MPS, then CPU.

    Raises :class:`~imgrestore.errors.DeviceError` for a device this machine cannot use and
    :class:`~imgrestore.errors.UsageError` for a name that is no device.
    """
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps': Apple Metal (MPS) is not available on this machine")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match is None:
        raise UsageError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    if not torch.cuda.is_available():
        why = "this PyTorch build has no CUDA support" if torch.version.cuda is None else (
            "no CUDA GPU was found (check the driver and CUDA_VISIBLE_DEVICES)"
        )
        raise DeviceError(f"device {name!r}: {why}")
    index = int(match.group(1) or torch.cuda.current_device())
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"device {name!r}: only {count} CUDA GPU(s), numbered 0 to {count - 1}")
    return torch.device("cuda", index)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_precision(
    requested: str, device: torch.device, safe: Sequence[str] = ("fp32",)
) -> Precision:
    """The precision to run in: ``fp32 | fp16 | bf16``, or ``auto``.

    ``auto`` is the fastest of the precisions in ``safe`` (declared safe for the network on
    this device) that the device runs natively, else fp32; on the CPU only bf16 counts
    (fp16 is refused there). No family declares one for the CPU today, so ``auto`` is fp32
    there.
    """
    requested = requested.strip().lower()
    if requested not in PRECISIONS:
        raise UsageError(f"unknown precision {requested!r}; use {', '.join(PRECISIONS)}")
    if requested == "auto":
        for precision in _FAST_FIRST:
            if precision in safe and supports_precision(device, precision):
                return precision
        return "fp32"
    if requested == "fp16" and device.type == "cpu":
        raise UsageError(
            "precision fp16 is not supported on the CPU (slow and incomplete in PyTorch); "
            "use fp32, or bf16 on a recent CPU"
        )
    if not supports_precision(device, requested):
        if device.type == "cpu":
            raise DeviceError(
                "precision bf16: this CPU has no native bf16 instructions (AMX, AVX512-BF16 "
                "or Arm BF16), so it would only be emulated, slower than fp32; use fp32"
            )
        raise DeviceError(f"device {device}: precision {requested} is not supported here")
    return requested  # type: ignore[return-value]


def supports_precision(device: torch.device, precision: str) -> bool:
    """Whether ``device`` runs ``precision`` natively (fp16 never on the CPU; bf16 on the
    CPU only with native bf16 instructions, see :func:`cpu_bf16`)."""
    if precision == "fp32":
        return True
    if device.type == "cpu":
        return precision == "bf16" and cpu_bf16() is not None
    if device.type == "cuda" and precision == "bf16":
        return torch.cuda.is_bf16_supported()
    # bf16 on MPS needs macOS 14 and is patchy; fp16 is its fast path.
    return not (device.type == "mps" and precision == "bf16")


@functools.cache
def cpu_bf16() -> str | None:
    """The native bf16 instructions of this CPU (``'AMX'``, ``'AVX512-BF16'``, ``'Arm BF16'``),
    or None where bf16 would only be emulated (then it is slower than fp32)."""
    cpu = getattr(torch, "cpu", None)
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    return bf16_instructions(_cpu_flags())


def bf16_instructions(flags: Collection[str]) -> str | None:
    """The native bf16 instructions among CPU feature ``flags`` (``/proc/cpuinfo`` names)."""
    if "amx_bf16" in flags:
        return "AMX"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    if "bf16" in flags:  # Arm: Linux "Features: ... bf16", macOS hw.optional.arm.FEAT_BF16
        return "Arm BF16"
    return None


def _cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (Linux) or sysctl (macOS); empty if unknown."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"],
                                 capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return set()
        return {"bf16"} if out.stdout.strip() == "1" else set()
    return set()


def available_ram() -> int | None:
    """Bytes of RAM available to new allocations (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_budget(
    device: torch.device, max_memory: int | None = None, *, whole_image: bool = False
) -> int:
    """Bytes the network's forward may use on ``device``.

    ``max_memory`` (``--max-memory``) wins when given (on CUDA: at most the free memory).
    Otherwise CUDA gets 85 % of its free memory; the CPU and MPS (unified memory) get half
    the available RAM, and on the CPU at most :data:`CPU_TILE_BUDGET` unless
    ``whole_image`` (a model that prefers to see the whole image).
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        usable = int(free * CUDA_FRACTION)
        return min(max_memory, usable) if max_memory else usable
    if max_memory:
        return max_memory
    budget = int((available_ram() or _FALLBACK_RAM) * RAM_FRACTION)
    if device.type == "cpu" and not whole_image:
        budget = min(budget, CPU_TILE_BUDGET)
    return budget
