"""Safe reading, container unwrapping and fit checks."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from imgrestore import archs
from imgrestore.errors import WeightsError
from imgrestore.zoo.checkpoints import (
    check_config,
    read_checkpoint,
    save_safetensors,
)

from .weights import seeded_state

CONFIG = "mprnet_deraining"


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return seeded_state(CONFIG)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: {"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 7,
                    "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]}},
        lambda sd: {"state_dict": sd},
        lambda sd: {"params": sd},
        lambda sd: {"params_ema": sd, "iter": 3},
        lambda sd: sd,
        lambda sd: {"module." + k: v for k, v in sd.items()},
    ],
    ids=["state_dict-module", "state_dict", "params", "params_ema", "bare", "bare-module"],
)
def test_containers(tmp_path: Path, state: dict, wrap) -> None:
    path = tmp_path / "w.pth"
    torch.save(wrap(state), path)
    assert _same(read_checkpoint(path), state)


def test_params_preferred_over_params_ema(tmp_path: Path, state: dict) -> None:
    ema = {k: v + 1 for k, v in state.items()}
    torch.save({"params_ema": ema, "params": state}, tmp_path / "w.pth")
    assert _same(read_checkpoint(tmp_path / "w.pth"), state)


def test_safetensors(tmp_path: Path, state: dict) -> None:
    save_file(state, str(tmp_path / "w.safetensors"))
    assert _same(read_checkpoint(tmp_path / "w.safetensors"), state)


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.mkdir, (self.target,))


def test_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    payload = _RunsCode()
    payload.target = str(tmp_path / "pwned")
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"state_dict": payload}, f, protocol=2)
    with pytest.raises(WeightsError, match="refused.*run code"):
        read_checkpoint(path)
    assert not (tmp_path / "pwned").exists()
    # The same inside torch's zip format.
    torch.save({"state_dict": payload}, tmp_path / "evil2.pth")
    with pytest.raises(WeightsError, match="refused"):
        read_checkpoint(tmp_path / "evil2.pth")
    assert not (tmp_path / "pwned").exists()


def test_truncated_and_garbage_files(tmp_path: Path, state: dict) -> None:
    torch.save({"state_dict": state}, tmp_path / "w.pth")
    data = (tmp_path / "w.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"cut\.pth: not a readable checkpoint"):
        read_checkpoint(tmp_path / "cut.pth")
    (tmp_path / "cut.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        read_checkpoint(tmp_path / "cut.safetensors")
    torch.save({"weights": [1, 2]}, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="no state dict found"):
        read_checkpoint(tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="no such file"):
        read_checkpoint(tmp_path / "absent.pth")


def test_other_configuration_is_refused_with_what_was_expected(state: dict) -> None:
    with pytest.raises(WeightsError) as err:
        check_config(state, "mprnet_deblurring", where="w.pth")
    message = str(err.value)
    assert message.startswith("w.pth: holds mprnet(")
    assert "fits mprnet_deraining" in message
    assert "mprnet_deblurring expects mprnet(" in message and "n_feat=96" in message


def test_shape_mismatch_is_refused_with_a_helpful_message(state: dict) -> None:
    bad = dict(state)
    bad["sam12.conv2.weight"] = torch.zeros(4, 40, 1, 1)
    with pytest.raises(WeightsError) as err:
        check_config(bad, CONFIG, where="w.pth")
    assert str(err.value) == (
        "w.pth: does not fit mprnet_deraining: 1 tensors of the wrong shape "
        "(first: sam12.conv2.weight is [4, 40, 1, 1], expected [3, 40, 1, 1]); "
        "the file looks like mprnet(in_c=3, out_c=3, n_feat=40, scale_unetfeats=20, "
        "scale_orsnetfeats=16, num_cab=8, kernel_size=3, reduction=4, bias=False) "
        "(fits mprnet_deraining)"
    )
    missing = {k: v for k, v in state.items() if k != "tail.weight"}
    missing["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="1 missing keys \\(first: tail.weight\\); "
                                           "1 unexpected keys \\(first: extra.weight\\)"):
        check_config(missing, CONFIG, where="w.pth")
    with pytest.raises(WeightsError, match="not an MPRNet, MIRNet or MIRNet-v2"):
        check_config({"x.weight": torch.zeros(1)}, CONFIG, where="w.pth")


def test_shared_tensors_are_saved_and_reload(tmp_path: Path) -> None:
    net = archs.create(CONFIG)  # one PReLU shared by many keys
    shared = net.state_dict()
    assert len({v.data_ptr() for v in shared.values()}) < len(shared)
    with pytest.raises(RuntimeError):  # the trap: safetensors refuses shared storage
        save_file(shared, str(tmp_path / "plain.safetensors"))
    save_safetensors(shared, tmp_path / "w.safetensors")
    again = read_checkpoint(tmp_path / "w.safetensors")
    assert _same(again, shared)
    twin = archs.create(CONFIG)
    twin.load_state_dict(again, strict=True)
    assert _same(twin.state_dict(), shared)


def test_a_text_file_is_not_weights(tmp_path: Path) -> None:
    for name in ("notes.pth", "notes.ckpt", "notes.safetensors"):
        (tmp_path / name).write_text("hello, these are my notes\n")
        with pytest.raises(WeightsError, match="not a weights file|not a readable safetensors"):
            read_checkpoint(tmp_path / name)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path: Path, state: dict, bad: float) -> None:
    broken = {k: v.clone() for k, v in state.items()}
    key = next(k for k, v in broken.items() if v.is_floating_point() and v.numel() > 3)
    broken[key].view(-1)[3] = bad
    for path in (tmp_path / "w.pth", tmp_path / "w.safetensors"):
        if path.suffix == ".pth":
            torch.save({"state_dict": broken}, path)
        else:
            save_file({k: v.contiguous() for k, v in broken.items()}, str(path))
        with pytest.raises(WeightsError, match=rf"w\.\w+: 1 weight tensor hold NaN or infinite "
                                               rf"values \(first: {key}\); refused"):
            read_checkpoint(path)
