"""Training tests run single-threaded: tiny networks are dominated by per-operation
overhead, and two threads on a busy 2-core machine slow them down many times."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
