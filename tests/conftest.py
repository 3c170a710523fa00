"""Shared test configuration: paths to reference data, fewer threads for a 2-core CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.zoo.drive import FakeDrive

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


#: Where every test's stray network request goes: a closed port on this machine, so it
#: fails at once instead of reaching the network. Tests that serve something on
#: 127.0.0.1 are reached directly (NO_PROXY); the fake Google Drive sets its own proxy.
NOWHERE = "http://127.0.0.1:9"


def pytest_configure(config: pytest.Config) -> None:
    import os
    import tempfile

    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                     "all_proxy"):
        os.environ[variable] = NOWHERE
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ["HF_ENDPOINT"] = NOWHERE
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="imgrestore-tests-hf-")  # not the user's
    for variable in ("IMGRESTORE_GDOWN_COOKIES", "IMGRESTORE_UNVERIFIED_MIRRORS",
                     "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(variable, None)
    try:
        import torch
    except ImportError:  # torch-free parts can still be tested
        return
    torch.set_num_threads(2)


@pytest.fixture
def drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDrive]:
    """Google Drive, played on 127.0.0.1 (see :mod:`tests.zoo.drive`); this process's
    environment (and so its subprocesses') reaches it."""
    from tests.zoo.drive import drive_environment, fake_drive

    folder = tmp_path / "fake-drive"
    folder.mkdir()
    with fake_drive(folder) as state:
        for key, value in drive_environment(state, folder / "cookies.txt").items():
            monkeypatch.setenv(key, value)
        yield state
#: Tests run the torch backend unless they ask for another (tests/engine/test_backends.py,
#: and the CLI tests of the default path): OpenVINO converts every new network once, which
#: would add minutes to a suite that builds many.
os.environ.setdefault("IMGRESTORE_BACKEND", "torch")
