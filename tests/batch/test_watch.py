"""Watch mode: files copied in slowly while it runs are restored once, complete, never partial."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.batch.report import Report
from imgrestore.batch.request import Request, Step
from imgrestore.batch.run import SilentEvents
from imgrestore.batch.stages import Chain
from imgrestore.batch.watch import Settling, WatchOptions, is_partial_name, watch

DEADLINE_S = 180  # generous: the machine may be busy; the loops below end as soon as done


def _png(seed: int, size=(24, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=0)  # large enough to copy slowly
    return buf.getvalue()


def _copy_slowly(data: bytes, dest: Path, pieces: int = 6, pause: float = 0.15) -> None:
    """Write ``data`` in pieces with pauses shorter than the settle time (a slow copy)."""
    with dest.open("wb") as f:
        step = len(data) // pieces + 1
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            os.fsync(f.fileno())
            time.sleep(pause)


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _complete_output(path: Path, size=(24, 32)) -> bool:
    try:
        with Image.open(path) as im:
            im.load()
            return im.size == (size[1], size[0])
    except (OSError, ValueError):
        return False


def test_partial_names_and_settling(tmp_path: Path) -> None:
    for name in (".photo.jpg", "photo.jpg.part", "x.crdownload", "a.tmp", "b.jpg~"):
        assert is_partial_name(Path(name))
    assert not is_partial_name(Path("photo.jpg"))
    settling = Settling(settle=0.3)
    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 10)
    settling.note(path)
    assert settling.ready() == []  # first sight: not known to be stable yet
    _wait_for(lambda: settling.ready() == [path], "a settled file")
    settling.handled(path, (path.stat().st_size, path.stat().st_mtime_ns))
    settling.note(path)
    time.sleep(0.35)
    assert settling.ready() == [] and settling.ready() == []  # handled in this state: not again


def test_watch_restores_each_complete_file_once(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "before.png").write_bytes(_png(0))  # already there when the watch starts
    outbox.mkdir()  # with what a watch killed in a write left: its process is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    from imgrestore.files import _HOST

    stale = outbox / f".before-denoised.png.{dead}-{_HOST}-k9k9k9k9.part"
    stale.write_bytes(b"half an image")
    request = Request(steps=(Step("denoise", model="builtin"),), inputs=(), output=str(outbox),
                      watch=WatchOptions(str(inbox), settle=0.6, poll=0.05, rescan=1.0))
    chain = Chain(request, lambda message: None)
    report = Report(task="denoise")
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(request, chain, SilentEvents(), report),
                              kwargs={"stop": stop}, daemon=True)  # fmt: skip
    thread.start()
    try:
        _wait_for(lambda: _complete_output(outbox / "before-denoised.png"), "before.png")
        assert not stale.exists()
        _copy_slowly(_png(1), inbox / "slow.png")  # in pieces, pauses below the settle time
        part = inbox / "renamed.png.part"  # written under a temporary name, then renamed
        _copy_slowly(_png(2), part)
        part.rename(inbox / "renamed.png")
        (inbox / "notes.txt").write_text("not a photo")
        _wait_for(lambda: all(_complete_output(outbox / f"{n}-denoised.png")
                              for n in ("slow", "renamed")), "the copied files")  # fmt: skip
        _wait_for(lambda: str(inbox / "notes.txt") in report.ignored, "notes.txt ignored")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    done = sorted(Path(r.input).name for r in report.results if r.status == "done")
    assert done == ["before.png", "renamed.png", "slow.png"]  # each once, none partial
    assert not [r for r in report.results if r.status == "failed"]
    assert sorted(p.name for p in outbox.iterdir()) == [
        "before-denoised.png", "renamed-denoised.png", "slow-denoised.png"]  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_cli_watch_keeps_the_batch_rules_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    (inbox / "a-old.png").write_bytes(_png(3))  # sorted first: handled before before.png
    earlier = _png(9)  # an earlier run's complete output: skipped, never replaced
    (outbox / "a-old-denoised.png").write_bytes(earlier)
    (inbox / "before.png").write_bytes(_png(5))
    env = {**os.environ, "IMGRESTORE_HOME": str(tmp_path / "home"), "IMGRESTORE_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "imgrestore", "denoise", "--watch", str(inbox), "-o",
         str(outbox), "--model", "builtin", "--watch-settle", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        _wait_for(lambda: _complete_output(outbox / "before-denoised.png"), "before.png")
        _copy_slowly(_png(4), inbox / "new.png")
        _wait_for(lambda: _complete_output(outbox / "new-denoised.png"), "new.png restored")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 130, stderr
    assert (outbox / "a-old-denoised.png").read_bytes() == earlier
    lines = [line for line in stderr.splitlines() if line.startswith(("done", "skipped", "failed"))]
    assert sum(line.startswith("done") and "new.png" in line for line in lines) == 1, stderr
    assert any(line.startswith("skipped") and "a-old.png" in line for line in lines), stderr
    assert not any(line.startswith("failed") for line in lines), stderr
    assert not list(outbox.glob(".*.part"))
