"""Shared test configuration: paths to reference data, fewer threads for a 2-core CI."""

from __future__ import annotations

import os
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


#: Tests run the torch backend unless they ask for another (tests/engine/test_backends.py,
#: and the CLI tests of the default path): OpenVINO converts every new network once, which
#: would add minutes to a suite that builds many.
os.environ.setdefault("IMGRESTORE_BACKEND", "torch")
