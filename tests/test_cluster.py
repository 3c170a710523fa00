"""Ray options and the actor pool's shape (the Ray runs themselves: tests/batch and
tests/evaluation test_cluster.py)."""

from __future__ import annotations

import pytest

from imgrestore.cluster import PoolShape, RayOptions, parse_ray_options, pool_shape
from imgrestore.errors import UsageError


def test_options_are_checked() -> None:
    assert RayOptions("auto").address == "auto"
    for address in ("ray://head:10001", "10.0.0.5:6379", "local"):
        RayOptions(address)
    with pytest.raises(UsageError, match="photos/: not a Ray address"):
        RayOptions("photos/")
    with pytest.raises(UsageError, match="workers must be at least 1"):
        RayOptions(workers=0)


def test_pool_shape_one_gpu_per_worker_or_cpu_threads() -> None:
    options = RayOptions()
    assert pool_shape({"CPU": 64, "GPU": 8}, options, "auto") == PoolShape(None, 1.0, 1.0, None)
    assert pool_shape({"CPU": 64, "GPU": 8}, options, "cpu").gpus == 0.0
    assert pool_shape({"CPU": 64}, options, "auto") == PoolShape(None, 4.0, 0.0, 4)
    assert pool_shape({"CPU": 2}, RayOptions(workers=2), "auto") == PoolShape(2, 1.0, 0.0, 1)
    assert pool_shape({"CPU": 2}, options, "auto").cpus == 2.0


def test_the_ray_flags_parse_to_options_or_none() -> None:
    assert parse_ray_options(None) is None
    assert parse_ray_options("local", workers=2, max_retries=0) == RayOptions(
        "local", workers=2, max_retries=0)
    with pytest.raises(UsageError, match="--ray-workers and --ray-cpus go with --ray"):
        parse_ray_options(None, cpus_per_worker=2)
