"""Shared test configuration: paths to reference data, fewer threads for a 2-core CI."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:  # torch-free parts can still be tested
        return
    torch.set_num_threads(2)
