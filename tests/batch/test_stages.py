"""One job through the batch stages: read, restore with the request's models, write."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgrestore.batch.plan import plan_jobs
from imgrestore.batch.request import Request, Step
from imgrestore.batch.stages import Chain, Exists, read_job, restore_job, write_job
from imgrestore.engine.options import EngineOptions
from imgrestore.imaging import read_image

PHOTOS = Path(__file__).parents[1] / "data" / "photos"


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")


def _request(inputs: list[Path], **fields: object) -> Request:
    return Request(steps=(Step("denoise", model="builtin"),), inputs=tuple(map(str, inputs)),
                   engine=EngineOptions(device="cpu"), **fields)  # type: ignore[arg-type]


def test_read_restore_write(tmp_path: Path) -> None:
    photo = tmp_path / "kite.jpg"
    shutil.copy(sorted(PHOTOS.glob("*.jpg"))[0], photo)
    request = _request([photo])
    [job] = plan_jobs(request.inputs, suffix=request.output_suffix()).todo
    image = read_job(job, request)
    chain = Chain(request, notify=lambda message: None)
    seen: list[tuple[int, int]] = []
    restored = restore_job(job, image, chain,
                           progress=lambda done, total: seen.append((done, total)))
    assert restored.pixels.shape == image.pixels.shape and seen and seen[-1][0] == seen[-1][1]
    written, notes = write_job(job, restored, request)
    assert written == str(tmp_path / "kite-denoised.jpg") and isinstance(notes, tuple)
    assert read_image(written).pixels.shape == image.pixels.shape


def test_strength_zero_keeps_the_original(tmp_path: Path) -> None:
    photo = sorted(PHOTOS.glob("*.jpg"))[0]
    request = _request([photo], strength=0.0)
    image = read_image(photo)
    restored = Chain(request, notify=print)(image)
    np.testing.assert_allclose(restored.pixels, image.pixels, atol=1e-6)


def test_an_output_renamed_by_its_content_is_found(tmp_path: Path) -> None:
    """Transparency headed for JPEG is written as PNG: that PNG, when there, skips the job."""
    source = tmp_path / "logo.png"
    Image.fromarray(np.full((8, 8, 4), 128, np.uint8)).save(source)
    request = _request([source], format="jpg")
    [job] = plan_jobs(request.inputs, suffix=request.output_suffix(), format="jpg").todo
    assert job.dest == tmp_path / "logo-denoised.jpg"
    (tmp_path / "logo-denoised.png").write_bytes(b"an earlier output")
    found = read_job(job, request)
    assert isinstance(found, Exists) and found.output == tmp_path / "logo-denoised.png"
    assert restore_job(job, found, chain=None) is found  # type: ignore[arg-type]
    assert write_job(job, found, request) is found
