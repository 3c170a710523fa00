"""Fixtures for the zoo tests: an empty cache and a local web server."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from .drive import serving
from .weights import seeded_state


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny forwards: one thread is fastest, and on a shared 2-core machine two OpenMP
    threads spinning against other processes made them 50x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty imgrestore cache, online (no offline variables set)."""
    root = tmp_path / "home"
    monkeypatch.setenv("IMGRESTORE_HOME", str(root))
    monkeypatch.delenv("IMGRESTORE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return root


@dataclass
class Server:
    """A web server on 127.0.0.1 serving ``files`` (path -> bytes).

    Paths listed in ``truncate`` announce the full Content-Length but send only half
    and close the connection. ``requests`` logs every request line seen.
    """

    url: str
    files: dict[str, bytes] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.requests.append(self.path)
            key = self.path.split("?")[0]
            key = "/" + key.split("/", 3)[-1] if key.startswith("http://") else key
            body = state.files.get(key)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if key in state.truncate:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state


@pytest.fixture(scope="module")
def derain() -> dict[str, torch.Tensor]:
    return seeded_state("mprnet_deraining")


@pytest.fixture(scope="module")
def mirnetv2() -> dict[str, torch.Tensor]:
    return seeded_state("mirnetv2_real_denoising")
