"""Batches on Ray: the local run's outputs and report, and its guarantees when things die.

One local Ray instance (2 CPUs) serves the session; tiny photos and the built-in compact
model keep each run to a few seconds of work (Ray's start-up and its actors' imports
are most of the time).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from imgrestore.batch.journal import read_journal
from imgrestore.batch.plan import OUTPUT_EXISTS
from imgrestore.batch.report import Report, file_entry
from imgrestore.batch.run import Request, Step, run
from imgrestore.cluster import RayOptions

PHOTOS = Path(__file__).parent.parent / "data" / "photos"


# --- on the session's local Ray instance (tests/conftest.py: ray_address) ---------------


@pytest.fixture
def one_thread() -> Iterator[None]:
    """The local run with as many threads as each Ray worker (CPU kernels' sums depend on it)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _request(inputs: str, output: str, **changes: object) -> Request:
    request = Request(steps=(Step("denoise", model="builtin"),), inputs=(inputs,), output=output)
    return dataclasses.replace(request, **changes)


def _entries(report: Report, root: str) -> list[dict]:
    """The report's entries without timings, paths relative to ``root``."""
    out = []
    for result in report.results:
        entry = {k: v.replace(root, "") if isinstance(v, str) else v
                 for k, v in file_entry(result).items() if k != "seconds"}
        out.append(entry)
    return out


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def _scans(folder: Path, count: int, size: int = 160) -> Path:
    """``count`` noisy PNG scans, large enough that each takes a moment to restore."""
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, size)[None, :, None]
    for i in range(count):
        pixels = np.clip(ramp + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"scan{i:02d}.png")
    return folder


def test_same_outputs_and_report_as_the_local_run(
    ray_address: str, tmp_path: Path, one_thread: None
) -> None:
    """file:// in and out on Ray, plain paths locally: the same bytes and entries; the
    broken file fails alone; the journal holds every entry."""
    photos = tmp_path / "in"
    shutil.copytree(PHOTOS, photos)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff this is no JPEG")
    (photos / "notes.txt").write_text("a sidecar, not an image")
    local = run(_request(str(photos), str(tmp_path / "local")))
    journal = tmp_path / "report.jsonl"
    on_ray = run(_request(f"file://{photos}", f"file://{tmp_path}/ray", journal=str(journal),
                          ray=RayOptions(ray_address, workers=2)))

    assert _entries(on_ray, str(tmp_path / "ray")) == _entries(local, str(tmp_path / "local"))
    assert on_ray.counts() == {"done": 5, "failed": 1} and on_ray.exit_code == 1
    assert on_ray.ignored == local.ignored == [str(photos / "notes.txt")]
    for result in local.results:
        if result.status == "done":
            name = Path(result.output).name
            assert (tmp_path / "ray" / name).read_bytes() == Path(result.output).read_bytes()
    assert on_ray.device == "cpu" and on_ray.precision == "fp32"
    lines = read_journal(journal)
    assert sorted(lines, key=lambda e: e["input"]) == sorted(
        (file_entry(r) for r in on_ray.results), key=lambda e: e["input"])
    assert not _partials(tmp_path)


def _actor_pids() -> list[int]:
    """Processes of this test's Ray instance running a restore actor."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"RestoreActor" in cmdline and _descends_from(int(entry), me):
            found.append(int(entry))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == ancestor:
            return True
    return False


def _wait_for(condition, timeout: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _done_lines(journal: Path) -> list[dict]:
    if not journal.exists():
        return []
    return [e for e in read_journal(journal) if e["status"] == "done"]


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_file(ray_address: str, tmp_path: Path) -> None:
    scans = _scans(tmp_path / "scans", 12)
    journal = tmp_path / "report.jsonl"
    request = _request(str(scans), str(tmp_path / "out"), journal=str(journal),
                       ray=RayOptions(ray_address, workers=2, max_retries=3))
    outcome: dict[str, Report] = {}
    runner = threading.Thread(target=lambda: outcome.update(report=run(request)))
    runner.start()
    try:
        _wait_for(lambda: len(_done_lines(journal)) >= 1)
        victims = _actor_pids()
        assert victims, "no restore actor found"
        os.kill(victims[0], signal.SIGKILL)
        before = len(_done_lines(journal))
    finally:
        runner.join(timeout=300)
    assert not runner.is_alive()
    report = outcome["report"]
    assert before < 12, "the run was over before the kill"
    assert sorted(r.input for r in report.results) == sorted(str(p) for p in scans.iterdir())
    assert report.counts() == {"done": 12}
    assert sorted(e["input"] for e in read_journal(journal)) == sorted(
        str(p) for p in scans.iterdir())
    from imgrestore.imaging import read_image

    for result in report.results:
        assert read_image(result.output).meta.width == 160
    assert not _partials(tmp_path)


DRIVER = """
import sys
from imgrestore.batch.run import RayOptions, Request, Step, run
inputs, output, journal, address, report = sys.argv[1:]
request = Request(steps=(Step("denoise", model="builtin"),), inputs=(inputs,), output=output,
                  journal=journal, ray=RayOptions(address, workers=2))
run(request).save(report)
"""


@pytest.mark.slow
def test_a_killed_driver_is_resumed_by_running_it_again(ray_address: str, tmp_path: Path) -> None:
    scans = _scans(tmp_path / "scans", 12)
    out, journal, report = tmp_path / "out", tmp_path / "report.jsonl", tmp_path / "report.json"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    args = [sys.executable, str(script), str(scans), str(out), str(journal), ray_address,
            str(report)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(_done_lines(journal)) >= 2 or first.poll() is not None)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finished = {e["input"] for e in _done_lines(journal)}
    assert not report.exists() and 2 <= len(finished) < 12

    second = subprocess.run(args, env=env, capture_output=True, timeout=600)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    entries = json.loads(report.read_text())["files"]
    assert sorted(e["input"] for e in entries) == sorted(str(p) for p in scans.iterdir())
    for entry in entries:
        if entry["input"] in finished:
            assert (entry["status"], entry["error"]) == ("skipped", OUTPUT_EXISTS)
        else:  # workers may finish a file after their driver died: its output is whole
            assert entry["status"] in ("done", "skipped")
    assert any(e["status"] == "done" for e in entries)
    from imgrestore.imaging import read_image

    for entry in entries:
        assert read_image(entry["output"]).meta.width == 160
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{p.stem}-denoised.png" for p in scans.iterdir())
    assert not _partials(tmp_path)
