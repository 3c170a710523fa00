from __future__ import annotations

import numpy as np
import pytest

from imgrestore.ops.degrade import (
    DEFAULTS,
    check_spec,
    degrade,
    line_kernel,
    output_scale,
    trajectory_kernel,
)
from tests.training._tiny import photo

CLEAN = photo(3, (48, 40)).astype(np.float32) / 255

SPECS = [
    {"kind": "gaussian_noise"},
    {"kind": "poisson_gaussian"},
    {"kind": "motion_blur"},
    {"kind": "motion_blur", "kernel": "line"},
    {"kind": "rain"},
    {"kind": "low_light"},
    {"kind": "bicubic", "scale": 3},
    {"kind": "chain", "steps": [{"kind": "motion_blur"}, {"kind": "gaussian_noise", "sigma": 2}]},
    {"kind": "one_of", "choices": [{"kind": "gaussian_noise"}, {"kind": "poisson_gaussian"}]},
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"] + str(len(s)))
def test_seeded_and_deterministic(spec: dict) -> None:
    a = degrade(spec, CLEAN, np.random.default_rng(7))
    b = degrade(spec, CLEAN, np.random.default_rng(7))
    c = degrade(spec, CLEAN, np.random.default_rng(8))
    assert a.dtype == np.float32 and a.shape == CLEAN.shape
    assert np.array_equal(a, b)
    assert np.array_equal(a, c) == (spec["kind"] == "bicubic")  # bicubic draws nothing
    assert not np.allclose(a, CLEAN, atol=1e-3)
    assert np.array_equal(CLEAN, photo(3, (48, 40)).astype(np.float32) / 255)  # input untouched


def test_every_kind_is_covered() -> None:
    assert {s["kind"] for s in SPECS} == set(DEFAULTS)


def test_gaussian_noise_level() -> None:
    flat = np.full((200, 200, 3), 0.5, np.float32)
    noisy = degrade({"kind": "gaussian_noise", "sigma": 25}, flat, np.random.default_rng(0))
    assert np.std(noisy - flat) * 255 == pytest.approx(25, rel=0.02)
    # Blind: each call draws its own sigma in the range.
    sigmas = [np.std(degrade({"kind": "gaussian_noise", "sigma": [0, 50]}, flat,
                             np.random.default_rng(s)) - flat) * 255 for s in range(20)]
    assert 0 <= min(sigmas) < 15 and 35 < max(sigmas) <= 50.5


def test_poisson_gaussian_variance_grows_with_intensity() -> None:
    spec = {"kind": "poisson_gaussian", "peak": 100, "read": 0, "clip": False}
    rng = np.random.default_rng(0)
    dark = degrade(spec, np.full((100, 100, 3), 0.1, np.float32), rng)
    bright = degrade(spec, np.full((100, 100, 3), 0.8, np.float32), rng)
    assert np.var(dark) == pytest.approx(0.1 / 100, rel=0.1)
    assert np.var(bright) == pytest.approx(0.8 / 100, rel=0.1)


def test_blur_kernels() -> None:
    horizontal = line_kernel(9, 9, 0.0)
    assert horizontal.sum() == pytest.approx(1)
    assert np.count_nonzero(horizontal[4]) == 9 and horizontal.sum(axis=1)[4] == pytest.approx(1)
    for seed in range(5):
        k = trajectory_kernel(15, np.random.default_rng(seed))
        assert k.shape == (15, 15) and k.sum() == pytest.approx(1) and (k >= 0).all()
        assert np.count_nonzero(k) > 3
    blurred = degrade({"kind": "motion_blur", "kernel": "line", "size": 9}, CLEAN,
                      np.random.default_rng(0))
    assert blurred.mean() == pytest.approx(CLEAN.mean(), abs=0.01)  # energy preserved
    assert np.abs(np.diff(blurred, axis=1)).mean() < np.abs(np.diff(CLEAN, axis=1)).mean()


def test_rain_brightens_and_low_light_darkens() -> None:
    rainy = degrade({"kind": "rain", "density": 0.02}, CLEAN, np.random.default_rng(0))
    assert (rainy >= CLEAN - 1e-6).all() and rainy.mean() > CLEAN.mean()
    dark = degrade({"kind": "low_light"}, CLEAN, np.random.default_rng(0))
    assert dark.mean() < CLEAN.mean() * 0.8
    assert np.allclose(dark * 255, np.round(dark * 255), atol=1e-3)  # quantised to 8 bits


def test_bicubic_down_and_up() -> None:
    low = degrade({"kind": "bicubic", "scale": 4, "reupsample": False}, CLEAN,
                  np.random.default_rng(0))
    assert low.shape == (12, 10, 3)
    same = degrade({"kind": "bicubic", "scale": 2}, CLEAN, np.random.default_rng(0))
    assert same.shape == CLEAN.shape
    assert np.abs(same - CLEAN).mean() < 0.05
    with pytest.raises(ValueError, match="multiple of the scale 3"):
        degrade({"kind": "bicubic", "scale": 3, "reupsample": False}, CLEAN[:47],
                np.random.default_rng(0))
    assert output_scale({"kind": "bicubic", "scale": 4, "reupsample": False}) == 4
    assert output_scale({"kind": "bicubic", "scale": 4}) == 1


@pytest.mark.parametrize("spec, words", [
    ({}, "needs a 'kind'"),
    ({"kind": "jpeg"}, "unknown degradation kind"),
    ({"kind": "gaussian_noise", "sigmas": 3}, "no parameter 'sigmas'"),
    ({"kind": "bicubic", "scale": 5}, "2, 3 or 4"),
    ({"kind": "chain", "steps": [{"kind": "nope"}]}, "unknown degradation kind"),
])
def test_bad_specs(spec: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_spec(spec)


def test_one_of_draws_each_choice_by_its_weight() -> None:
    spec = {"kind": "one_of", "weights": [3, 1], "choices": [
        {"kind": "gaussian_noise", "sigma": 10}, {"kind": "low_light", "exposure": 0.1}]}
    rng = np.random.default_rng(0)
    dark = [float(degrade(spec, CLEAN, rng).mean()) < 0.5 * float(CLEAN.mean())
            for _ in range(200)]
    assert 30 < sum(dark) < 70  # about a quarter are the low-light choice


@pytest.mark.parametrize("bad", [
    {"kind": "one_of", "choices": []},
    {"kind": "one_of", "choices": [{"kind": "rain"}], "weights": [1, 2]},
    {"kind": "one_of", "choices": [{"kind": "bicubic", "scale": 2, "reupsample": False},
                                   {"kind": "rain"}]},
])
def test_one_of_rejects_bad_specs(bad: dict) -> None:
    with pytest.raises(ValueError, match="one_of"):
        degrade(bad, CLEAN, np.random.default_rng(0))
