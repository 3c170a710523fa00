"""Fixtures for the zoo tests: an empty cache, deterministic weights, a local web server."""

from __future__ import annotations

import http.server
import math
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty imgrestore cache, online (no offline variables set)."""
    root = tmp_path / "home"
    monkeypatch.setenv("IMGRESTORE_HOME", str(root))
    monkeypatch.delenv("IMGRESTORE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return root


def seeded(reference: dict[str, torch.Tensor], salt: str = "") -> dict[str, torch.Tensor]:
    """Deterministic weights from key names and shapes only (each key its own generator),
    scaled like a default initialisation so outputs stay finite and informative."""
    out = {}
    for key, value in reference.items():
        g = torch.Generator().manual_seed(zlib.crc32((salt + key).encode()))
        if value.dim() >= 2:
            bound = 1.0 / math.sqrt(max(1, value[0].numel()))
            t = (torch.rand(value.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound
        else:
            t = torch.rand(value.shape, generator=g, dtype=torch.float64) * 0.2 + 0.1
        out[key] = t.to(value.dtype)
    return out


def seeded_state(config: str, salt: str = "") -> dict[str, torch.Tensor]:
    """Deterministic weights for the released configuration ``config`` (shapes only:
    the network is built on the meta device)."""
    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
    reference = {k: torch.empty(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    return seeded(reference, salt)


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

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
