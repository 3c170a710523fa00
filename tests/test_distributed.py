"""torchrun helpers: who this process is, its share and its device (one process here;
tests/training/test_distributed.py and tests/cli run real two-process jobs)."""

from __future__ import annotations

import pytest
import torch

from imgrestore import distributed
from imgrestore.errors import DeviceError


def test_alone_and_under_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert distributed.rank_and_world() == (0, 1) and distributed.local_rank() == 0
    assert distributed.device_for_rank("auto") == "auto"  # alone: the engine chooses
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.rank_and_world() == (3, 4) and distributed.local_rank() == 1
    assert distributed.local_world() == 4  # torchrun without LOCAL_WORLD_SIZE: one machine
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert distributed.local_world() == 2
    expected = "cuda:1" if torch.cuda.device_count() > 1 else (
        "cuda:0" if torch.cuda.is_available() else "cpu")
    assert distributed.device_for_rank("auto") == expected
    assert distributed.device_for_rank("cpu") == "cpu"


def test_shards_cover_every_item_once() -> None:
    items = list(range(10))
    shards = [distributed.shard(items, rank, 3) for rank in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(sum(shards, [])) == items


def test_training_device_choice() -> None:
    assert distributed.choose_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert distributed.choose_device("auto") == torch.device("cpu")
        with pytest.raises(DeviceError, match="CUDA is not available"):
            distributed.choose_device("cuda")
    with pytest.raises(DeviceError, match="--device gpu7"):
        distributed.choose_device("gpu7")
    ctx = distributed.setup("cpu")
    assert (ctx.main, ctx.distributed) == (True, False)
    assert distributed.all_gather(ctx, {"bad": [3]}) == [{"bad": [3]}]  # alone: no group
    distributed.barrier(ctx)
    distributed.teardown(ctx)
