"""The real download path against a web server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import pytest

from imgrestore.errors import WeightsError
from imgrestore.zoo.fetch import download

from .conftest import Server

BODY = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(BODY).hexdigest()


def test_good_download(server: Server, home: Path, tmp_path: Path) -> None:
    server.files["/w.pth"] = BODY
    got = download(f"{server.url}/w.pth", tmp_path, "w.pth", sha256=SHA, progress=False)
    assert got.path.read_bytes() == BODY
    assert (got.sha256, got.size, got.pinned) == (SHA, len(BODY), True)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"]  # no .partial left


def test_unpinned_download_reports_the_hash(server: Server, home: Path, tmp_path: Path) -> None:
    server.files["/w.pth"] = BODY
    got = download(f"{server.url}/w.pth", tmp_path, "w.pth", progress=False)
    assert (got.sha256, got.pinned) == (SHA, False)


@pytest.mark.parametrize("truncated", [False, True])
def test_bad_hash_or_truncated_transfer_keeps_nothing(
    server: Server, home: Path, tmp_path: Path, truncated: bool
) -> None:
    folder = tmp_path / "staging"
    folder.mkdir()
    server.files["/w.pth"] = BODY
    expected = SHA if truncated else "0" * 64
    if truncated:
        server.truncate.add("/w.pth")
    with pytest.raises(WeightsError, match="corrupt or truncated") as err:
        download(f"{server.url}/w.pth", folder, "w.pth", sha256=expected, progress=False)
    assert f"{server.url}/w.pth" in str(err.value)
    assert list(folder.iterdir()) == []


def test_http_error(server: Server, home: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="download failed"):
        download(f"{server.url}/missing.pth", tmp_path, "w.pth", progress=False)
    assert not (tmp_path / "w.pth").exists()


def test_offline_never_connects(server: Server, home: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    server.files["/w.pth"] = BODY
    with pytest.raises(WeightsError, match="offline"):
        download(f"{server.url}/w.pth", tmp_path, "w.pth", sha256=SHA, progress=False)
    assert server.requests == []


def test_proxy_from_environment(server: Server, home: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The server plays the proxy: urllib sends it the absolute URL of the real host.
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.files["/w.pth"] = BODY
    # urllib reads the proxy variables when it builds its global opener: build a new one.
    urllib.request.install_opener(None)
    try:
        got = download("http://weights.invalid/w.pth", tmp_path, "w.pth", sha256=SHA,
                       progress=False)
    finally:
        urllib.request.install_opener(None)
    assert got.sha256 == SHA
    assert server.requests == ["http://weights.invalid/w.pth"]
