"""One pair measured: models resolved once and built where the pair is measured (the local
run and the Ray workers share these functions)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imgrestore.errors import ImageError
from imgrestore.evaluation.pairs import Pair
from imgrestore.evaluation.runner import EvalRequest
from imgrestore.evaluation.scoring import (
    build_models,
    identity,
    load_pair,
    resolve_models,
    score_pair,
)

PHOTOS = Path(__file__).parents[1] / "data" / "photos"


def test_identity_twice_gets_two_labels_and_no_network() -> None:
    request = EvalRequest("denoise", clean=PHOTOS, degraded=PHOTOS,
                          models=("identity", "identity"))
    resolved, infos = resolve_models(request, 1, notify=lambda message: None)
    assert resolved == [("identity", None), ("identity (2)", None)]
    assert [i.label for i in infos] == ["identity", "identity (2)"]
    assert [(m.label, m.restorer) for m in build_models(request, resolved)] == [
        ("identity", None), ("identity (2)", None)]


def test_a_pair_scores_every_model_in_order() -> None:
    photo = PHOTOS / "kite.jpg"
    request = EvalRequest("denoise", clean=photo, degraded=photo, models=("identity",) * 2)
    models = build_models(request, resolve_models(request, 1, lambda message: None)[0])
    scores = score_pair(Pair(photo, photo), 0, models, request, 1)
    assert [s.model for s in scores] == ["identity", "identity (2)"]
    assert all(math.isinf(s.psnr) and s.ssim == pytest.approx(1.0) for s in scores)
    assert scores[0].image == "kite.jpg" and scores[0].seconds is None


def test_identity_upsamples_for_super_resolution_and_sizes_must_fit(tmp_path: Path) -> None:
    small = np.zeros((5, 7, 3), np.float32)
    assert identity(small, 1) is small and identity(small, 3).shape == (15, 21, 3)
    from PIL import Image

    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "odd.png")
    request = EvalRequest("denoise", clean=PHOTOS, degraded=tmp_path)
    with pytest.raises(ImageError, match="does not fit its clean image"):
        load_pair(Pair(PHOTOS / "kite.jpg", tmp_path / "odd.png"), 0, request, 1)
