from __future__ import annotations

import platform

import pytest
import torch

from imgrestore.engine import devices
from imgrestore.engine.devices import (
    available_ram,
    memory_budget,
    select_device,
    select_precision,
)
from imgrestore.errors import DeviceError, UsageError

has_cuda = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not has_cuda, reason="needs a CUDA GPU")
CPU = torch.device("cpu")


def test_cpu_and_auto() -> None:
    assert select_device("cpu") == CPU
    assert select_device(" CPU ") == CPU
    auto = select_device("auto")
    assert auto.type == ("cuda" if has_cuda else "mps" if devices._mps_available() else "cpu")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu", "cuda0", ""])
def test_unknown_device_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="unknown device"):
        select_device(name)


@pytest.mark.skipif(has_cuda, reason="checks the message without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_missing_cuda_is_a_device_error(name: str) -> None:
    with pytest.raises(DeviceError, match=f"device '{name}'"):
        select_device(name)


@pytest.mark.skipif(devices._mps_available(), reason="checks the message without MPS")
def test_missing_mps_is_a_device_error() -> None:
    with pytest.raises(DeviceError, match="MPS"):
        select_device("mps")


@needs_cuda
def test_cuda_devices() -> None:
    assert select_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(DeviceError, match="only"):
        select_device(f"cuda:{torch.cuda.device_count()}")


def test_precision_on_cpu() -> None:
    native = "bf16" if devices.cpu_bf16() else "fp32"
    assert select_precision("auto", CPU, safe=("fp32", "fp16", "bf16")) == native
    assert select_precision("auto", CPU, safe=("fp32", "fp16")) == "fp32"
    assert select_precision("auto", CPU) == "fp32"
    assert select_precision("fp32", CPU) == "fp32"
    with pytest.raises(UsageError, match="fp16 is not supported on the CPU"):
        select_precision("fp16", CPU)
    with pytest.raises(UsageError, match="unknown precision"):
        select_precision("fp8", CPU)


def test_families_keep_auto_exact_on_the_cpu() -> None:
    """bf16 measures 50+ dB, but the default CPU path stays fp32 (docs/engine.md)."""
    from imgrestore.archs.registry import FAMILIES

    for descriptor in FAMILIES.values():
        assert descriptor.on("cpu").safe_precisions == ()
        assert descriptor.on("cpu").backends[0] == "openvino"


def test_bf16_on_the_cpu_needs_native_instructions() -> None:
    if devices.cpu_bf16() is None:
        with pytest.raises(DeviceError, match="no native bf16 .*emulated.*use fp32"):
            select_precision("bf16", CPU)
    else:
        assert select_precision("bf16", CPU) == "bf16"


@pytest.mark.parametrize(("flags", "expected"), [
    ({"avx2", "fma", "avx512f", "avx512bw"}, None),  # bf16 only emulated
    ({"avx512f", "avx512_bf16"}, "AVX512-BF16"),
    ({"avx512_bf16", "amx_tile", "amx_bf16"}, "AMX"),
    ({"fp", "asimd", "sve", "bf16", "i8mm"}, "Arm BF16"),
    ({"fp", "asimd"}, None),
    (set(), None),
])
def test_bf16_instructions_from_flags(flags, expected) -> None:
    assert devices.bf16_instructions(flags) == expected


@pytest.mark.skipif(platform.machine() != "x86_64", reason="OpenVINO's CPU names on x86-64")
def test_native_bf16_agrees_with_openvino() -> None:
    ov = pytest.importorskip("openvino")
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert ("BF16" in capabilities) == (devices.cpu_bf16() is not None)


@needs_cuda
def test_precision_auto_on_cuda_uses_what_is_declared_safe() -> None:
    gpu = torch.device("cuda", 0)
    assert select_precision("auto", gpu, safe=("fp32",)) == "fp32"
    assert select_precision("auto", gpu, safe=("fp32", "fp16", "bf16")) == "fp16"
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert select_precision("auto", gpu, safe=("fp32", "bf16")) == expected
    assert select_precision("fp16", gpu) == "fp16"


def test_available_ram_is_plausible() -> None:
    ram = available_ram()
    assert ram is not None and 64 * 1024**2 < ram < 64 * 1024**4


def test_cpu_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "available_ram", lambda: 20 * devices.GIB)
    assert memory_budget(CPU) == devices.CPU_TILE_BUDGET
    assert memory_budget(CPU, whole_image=True) == 10 * devices.GIB
    assert memory_budget(CPU, 3 * devices.GIB) == 3 * devices.GIB
    monkeypatch.setattr(devices, "available_ram", lambda: 2 * devices.GIB)
    assert memory_budget(CPU) == devices.GIB


@needs_cuda
def test_cuda_budget_is_below_free_memory() -> None:
    gpu = torch.device("cuda", 0)
    free, _ = torch.cuda.mem_get_info(gpu)
    assert 0 < memory_budget(gpu) < free
    assert memory_budget(gpu, 1024**2) == 1024**2
