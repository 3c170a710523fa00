"""A packed model rebuilt elsewhere: from the shared file when unchanged, else from bytes."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch

from imgrestore.errors import WeightsError
from imgrestore.zoo.loading import builtin_dir, load_model
from imgrestore.zoo.portable import pack, unpack


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _never() -> bytes:
    raise AssertionError("the shared file should have been used")


def test_shared_file_is_read_when_it_is_the_same(tmp_path: Path) -> None:
    loaded = load_model("builtin", task="denoise")
    packed, data = pack(loaded)
    assert packed.shared_file == str(builtin_dir(loaded.card) / "model.safetensors")
    # The record travels by pickle; the network (tensors, code) never does.
    assert packed.model.net is None and len(pickle.dumps(packed)) < len(data)
    again = unpack(packed, _never)
    assert _same_weights(again.net, loaded.net) and again.name == loaded.name
    assert (again.scale, again.spec, again.card) == (loaded.scale, loaded.spec, loaded.card)


def test_bytes_are_fetched_when_the_shared_file_differs_or_is_missing(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(builtin_dir(load_model("builtin", task="derain").card), folder)
    loaded = load_model(str(folder), task="derain")
    packed, data = pack(loaded)
    assert packed.shared_file == str(folder / "model.safetensors")
    (folder / "model.safetensors").write_bytes(b"changed on this machine")
    fetched: list[bool] = []

    def fetch() -> bytes:
        fetched.append(True)
        return data

    assert _same_weights(unpack(packed, fetch).net, loaded.net) and fetched
    shutil.rmtree(folder)
    assert _same_weights(unpack(packed, fetch).net, loaded.net) and len(fetched) == 2


def test_bytes_that_are_not_safetensors_are_refused() -> None:
    packed, _ = pack(load_model("builtin", task="denoise"))
    import dataclasses

    packed = dataclasses.replace(packed, shared_file=None)
    with pytest.raises(WeightsError, match="not safetensors"):
        unpack(packed, lambda: b"\x80\x04 a pickle, say")
