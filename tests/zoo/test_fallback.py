"""The notice when a built-in model stands in for a task's official one: consequence
first, one short line, shown once, even with -q; the failed URL and reason under -v
and in the JSON report. Downloads fail against a 127.0.0.1 port that refuses them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgrestore.errors import WeightsError
from imgrestore.zoo.cards import card
from imgrestore.zoo.fallback import describe, short_reason

PHOTO = Path(__file__).parent.parent / "data" / "photos" / "kite.jpg"
LINE = ("denoise: using built-in model builtin_denoise (compact, lower quality): official "
        "weights unavailable (no network). Get them: imgrestore models download denoise")


def test_the_line_puts_the_consequence_first() -> None:
    error = WeightsError("https://example.org/real_denoising.pth: download failed "
                         "([Errno -2] Name or service not known); to retry: ...")
    fallback = describe(card("mirnetv2_real_denoising"), card("builtin_denoise"), error)
    assert fallback.line() == LINE
    assert len(fallback.line()) < 160
    assert fallback.to_json()["wanted"] == "mirnetv2_real_denoising"


@pytest.mark.parametrize(("message", "reason"), [
    ("https://x/y.pth: [Errno 111] Connection refused", "no network"),
    ("https://x/y.pth: host name not resolved", "no network"),
    ("https://x/y.pth: sha256 ab12 is not the pinned cd34", "the download did not match "
     "its checksum"),
    ("https://x/y.pth: HTTP Error 500: Internal Server Error", "the download failed"),
    ("m: weights not downloaded (the download failed 3 s ago: Google Drive refused the "
     "download: Too many users ...; not retried for 10 min, or now with: ...)",
     "the download was refused"),
])
def test_short_reasons(message: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGRESTORE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert short_reason(WeightsError(message)) == reason


def test_offline_mode_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    assert short_reason(WeightsError("not downloaded")) == "offline mode is on"


@pytest.fixture
def no_network(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a machine whose network is gone, with an empty cache."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")
               and not k.startswith(("IMGRESTORE_", "HF_HUB_OFFLINE"))}
        env.update(IMGRESTORE_HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf"),
                   HTTPS_PROXY=proxy, HTTP_PROXY=proxy, NO_COLOR="1", COLUMNS="80",
                   OMP_NUM_THREADS="1")
        yield env


def _denoise(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgrestore", "denoise", str(PHOTO),
                           "-o", str(cwd / "out.jpg"), "--overwrite", *args],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_quiet_shows_the_notice_once_and_the_report_keeps_why(
        no_network: dict[str, str], tmp_path: Path) -> None:
    done = _denoise(no_network, tmp_path, "-q", "--json", str(tmp_path / "report.json"))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [LINE]  # soft-wrapped: one line at any width
    report = json.loads((tmp_path / "report.json").read_text())
    [fallback] = report["fallbacks"]
    assert fallback["model"] == "builtin_denoise" and fallback["reason"] == "no network"
    assert "real_denoising.pth" in fallback["error"]
    assert "refused" in fallback["failure"].lower()
    assert report["models"] == ["builtin_denoise"]


@pytest.mark.slow
def test_verbose_adds_the_failed_url_and_reason(no_network: dict[str, str],
                                               tmp_path: Path) -> None:
    lines = _denoise(no_network, tmp_path, "-v").stderr.splitlines()
    assert lines[0] == LINE
    assert any("real_denoising.pth" in line and "refused" in line.lower()
               for line in lines[1:3]), lines
    assert sum(LINE in line for line in lines) == 1
