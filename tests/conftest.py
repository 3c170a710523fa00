"""Shared test configuration: paths to reference data, fewer threads for a 2-core CI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The address of one local Ray instance (2 CPUs) for the session's Ray tests, which
    are skipped without the ray extra; shut down, with all its processes, at the end."""
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'imgrestore[ray]'")
    pytest.importorskip("ray.data")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:  # torch-free parts can still be tested
        return
    torch.set_num_threads(2)
