"""Choosing the backend, and the torch backend's transfers."""

from __future__ import annotations

import os
import platform

import pytest
import torch

from imgrestore import archs
from imgrestore.engine.backends import (
    MEASURED_CPUS,
    TorchForward,
    choose_backend,
    to_cpu,
    to_device,
)
from imgrestore.engine.openvino import runtime_version
from imgrestore.errors import DeviceError, UsageError

from .conftest import LocalNet

CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)
needs_openvino = pytest.mark.skipif(
    runtime_version() is None or platform.machine().lower() not in MEASURED_CPUS,
    reason="openvino is not installed or not measured on this CPU",
)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("IMGRESTORE_BACKEND", raising=False)
    return monkeypatch


@needs_openvino
def test_auto_takes_the_first_declared_backend_that_runs_here(no_env) -> None:
    assert choose_backend("auto", CPU, ("openvino", "torch")) == "openvino"
    assert choose_backend("auto", CPU, ("torch", "openvino")) == "torch"
    assert choose_backend("AUTO", CUDA, ("openvino", "torch")) == "torch"  # CPU only
    assert choose_backend("auto", CPU, ()) == "torch"


def test_compile_asks_for_torch(no_env) -> None:
    assert choose_backend("auto", CPU, ("openvino", "torch"), compile=True) == "torch"
    with pytest.raises(UsageError, match="--compile"):
        choose_backend("openvino", CPU, compile=True)


@needs_openvino
def test_environment_says_what_auto_means(no_env) -> None:
    no_env.setenv("IMGRESTORE_BACKEND", "torch")
    assert choose_backend("auto", CPU, ("openvino", "torch")) == "torch"
    assert choose_backend("openvino", CPU) == "openvino"  # an explicit choice wins
    no_env.setenv("IMGRESTORE_BACKEND", "openvino")
    assert choose_backend("auto", CPU, ("torch",)) == "openvino"
    assert choose_backend("auto", CUDA, ("torch",)) == "torch"
    no_env.setenv("IMGRESTORE_BACKEND", "tensorrt")
    with pytest.raises(UsageError, match="IMGRESTORE_BACKEND"):
        choose_backend("auto", CPU)


def test_unknown_and_impossible_backends_are_refused(no_env) -> None:
    with pytest.raises(UsageError, match="unknown backend 'onnx'"):
        choose_backend("onnx", CPU)
    with pytest.raises(UsageError, match="runs on the CPU"):
        choose_backend("openvino", CUDA)


@pytest.mark.skipif(runtime_version() is not None, reason="openvino is installed")
def test_openvino_missing_is_a_device_error(no_env) -> None:
    with pytest.raises(DeviceError, match="pip install openvino"):
        choose_backend("openvino", CPU)
    assert choose_backend("auto", CPU, ("openvino", "torch")) == "torch"


def test_torch_forward_runs_the_layout_and_precision_asked(tmp_path) -> None:
    net = LocalNet().eval()
    arch = archs.ArchSpec("local", "mirnetv2", {})
    forward = TorchForward(net, arch, CPU, torch.channels_last)
    assert forward.net.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(p.requires_grad for p in forward.net.parameters())
    x = torch.rand(2, 3, 18, 22)  # padded to 4, cropped back
    with torch.no_grad():
        expected = net(torch.nn.functional.pad(x, (0, 2, 0, 2), mode="reflect"))[..., :18, :22]
    y = forward(x)
    assert y.dtype == torch.float32 and y.device == CPU
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-6)
    low = forward(x, "bf16")
    assert low.dtype == torch.float32 and 0 < (low - y).abs().max() < 0.1


def test_compile_keeps_its_kernels_in_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "restored after the test")
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    TorchForward(LocalNet().eval(), archs.ArchSpec("local", "mirnetv2", {}), CPU,
                 torch.contiguous_format, compile=True, cache_dir=tmp_path)
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor")


def test_transfers_on_the_cpu_are_plain_copies() -> None:
    x = torch.rand(1, 3, 4, 4)
    assert to_device(x, CPU) is x
    assert torch.equal(to_cpu(x), x)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_transfers_go_through_pinned_memory() -> None:
    x = torch.rand(2, 3, 16, 16)
    on_gpu = to_device(x, CUDA)
    assert on_gpu.device.type == "cuda"
    back = to_cpu(on_gpu * 2)
    assert back.is_pinned()
    torch.testing.assert_close(back, x * 2)
