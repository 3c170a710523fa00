"""The corpus of malformed and unusual files, checked against the imaging layer.

Every usable file reads as upright float32 RGB in [0, 1] and round-trips through
``write_image``; every unusable one raises ``ImageError`` (never another type) with
one line naming the file and the reason; no input is changed or touched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from imgrestore.batch.plan import plan_jobs
from imgrestore.errors import ImageError
from imgrestore.imaging import read_image, write_image

from .corpus import CASES, CORPUS_MTIME_NS, Case, make_corpus

BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder)
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_large_small_and_complete(tmp_path: Path) -> None:
    cases = make_corpus(tmp_path)
    assert cases == list(CASES)
    names = [case.name for case in cases]
    assert len(names) == len(set(names)) >= 30
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert sum((tmp_path / n).stat().st_size for n in names) < 300_000
    assert all((tmp_path / n).stat().st_mtime_ns == CORPUS_MTIME_NS for n in names)
    usable = [c for c in cases if c.usable]
    failing = [c for c in cases if not c.usable and not c.ignored]
    assert len(usable) >= 15 and len(failing) >= 15
    for case in usable:
        assert case.reason is None and case.size is not None and max(case.size) <= 64
    for case in failing:
        assert case.reason and case.reason == case.reason.lower() and case.size is None
    # the same bytes every time: a failure can be reproduced from the case name
    again = make_corpus(tmp_path / "again")
    for case in again:
        assert _digest(tmp_path / "again" / case.name) == _digest(tmp_path / case.name)


def test_batch_plan_takes_every_image_and_ignores_the_rest(corpus: Path, tmp_path: Path) -> None:
    plan = plan_jobs([str(corpus)], suffix="-restored", output=str(tmp_path / "out"))
    planned = sorted(job.source.name for job in plan.jobs if job.source is not None)
    assert all(job.state == "todo" for job in plan.jobs)
    assert planned == sorted(c.name for c in CASES if not c.ignored)
    assert sorted(p.name for p in plan.ignored) == sorted(c.name for c in CASES if c.ignored)


def _check_usable(case: Case, path: Path, out_dir: Path) -> None:
    loaded = read_image(path)
    pixels = loaded.pixels
    assert pixels.dtype == np.float32 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.shape[:2] == case.size == loaded.meta.size
    assert np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0
    if loaded.alpha is not None:
        assert loaded.alpha.shape == case.size and loaded.alpha.dtype == np.float32
        assert loaded.alpha.min() >= 0.0 and loaded.alpha.max() <= 1.0
    written = write_image(out_dir / case.name, pixels, loaded.alpha, loaded.meta)
    assert written.parent == out_dir and written.is_file()
    back = read_image(written)
    assert back.meta.size == case.size and back.pixels.shape == pixels.shape


def _check_unusable(case: Case, path: Path) -> None:
    with pytest.raises(ImageError) as err:  # any other exception type fails the test
        read_image(path)
    message = str(err.value)
    assert "\n" not in message and err.value.path == str(path)
    assert message.startswith(f"{path}: ")
    reason = case.reason if case.reason is not None else "not an image"
    assert reason in message.lower(), f"expected {reason!r} in {message!r}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case, corpus: Path, tmp_path: Path) -> None:
    path = corpus / case.name
    before = (_digest(path), path.stat().st_mtime_ns)
    out_dir = tmp_path / "out"
    if case.usable:
        _check_usable(case, path, out_dir)
    else:
        _check_unusable(case, path)
    assert (_digest(path), path.stat().st_mtime_ns) == before, "input changed"
    assert before[1] == CORPUS_MTIME_NS
    leftovers = list(tmp_path.rglob("*.part")) + list(corpus.glob(".*"))
    assert not leftovers, f"temporary files left behind: {leftovers}"
    if not case.usable:
        assert not out_dir.exists()


def test_the_bomb_is_refused_from_its_header(corpus: Path) -> None:
    """100000 x 100000 x 3 would need 30 GB: refusing it quickly proves nothing was allocated,
    and the refusal says how to raise the limit for a genuine photo."""
    with pytest.raises(ImageError, match="--max-pixels") as err:
        read_image(corpus / "huge.png")
    assert "100000x100000" in str(err.value)
