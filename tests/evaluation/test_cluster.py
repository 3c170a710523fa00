"""``eval`` on Ray: the same scores as the local run, in the same order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imgrestore.cluster import RayOptions
from imgrestore.errors import ImgRestoreError
from imgrestore.evaluation.runner import EvalRequest, evaluate
from imgrestore.evaluation.synth import parse_spec

PHOTOS = Path(__file__).parent.parent / "data" / "photos"


@pytest.fixture
def one_thread():  # type: ignore[no-untyped-def]
    """The local run with each Ray worker's thread count (CPU sums depend on it)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_scores_match_the_local_run(ray_address: str, one_thread: None) -> None:
    request = EvalRequest("denoise", clean=PHOTOS, synthesize=parse_spec("gaussian_noise:sigma=25"),
                          models=("identity", "builtin"), seed=3)
    local = evaluate(request)
    on_ray = evaluate(dataclasses.replace(request, ray=RayOptions(ray_address, workers=2)))
    key = [(s.image, s.model, s.psnr, s.ssim, s.psnr_y, s.ssim_y) for s in local.scores]
    assert [(s.image, s.model, s.psnr, s.ssim, s.psnr_y, s.ssim_y) for s in on_ray.scores] == key
    assert on_ray.models == local.models and len(on_ray.scores) == 10
    assert (on_ray.device, on_ray.precision) == ("cpu", "fp32")


def test_an_image_that_cannot_be_measured_stops_the_run(
    ray_address: str, tmp_path: Path
) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "noisy").mkdir()
    (tmp_path / "clean" / "kite.jpg").write_bytes((PHOTOS / "kite.jpg").read_bytes())
    (tmp_path / "noisy" / "kite.jpg").write_bytes(b"\xff\xd8\xff broken")
    request = EvalRequest("denoise", clean=tmp_path / "clean", degraded=tmp_path / "noisy",
                          models=("builtin",), ray=RayOptions(ray_address, workers=1))
    with pytest.raises(ImgRestoreError, match="kite.jpg"):
        evaluate(request)
