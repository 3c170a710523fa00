"""Learning-rate curves against the values tabulated in training.md 1.5."""

from __future__ import annotations

import pytest

from imgrestore.training.schedules import cyclic_cosine, warmup_cosine

V2 = {"base": 2e-4, "periods": [92_000, 208_000], "eta_mins": [3e-4, 1e-6],
      "restart_weights": [1, 1]}


@pytest.mark.parametrize("iteration, lr", [
    (1, 2.0e-4), (46_000, 2.5e-4), (92_000, 3.0e-4), (92_002, 2.0e-4), (156_000, 1.57e-4),
    (196_000, 1.0e-4), (204_000, 8.9e-5), (240_000, 3.9e-5), (276_000, 7.5e-6),
    (300_000, 1.0e-6),
])
def test_mirnetv2_literal_curve_matches_the_table(iteration: int, lr: float) -> None:
    assert cyclic_cosine(iteration, **V2) == pytest.approx(lr, rel=0.02)


def test_mirnetv2_literal_restart_and_150k_recipe() -> None:
    assert cyclic_cosine(92_001, **V2) == pytest.approx(3e-4)  # index 92,000: end of cycle 1
    short = {**V2, "periods": [46_000, 104_000]}
    assert cyclic_cosine(46_001, **short) == pytest.approx(3e-4)
    assert cyclic_cosine(46_002, **short) == pytest.approx(2e-4, rel=1e-6)
    assert cyclic_cosine(150_000, **short) == pytest.approx(1e-6, rel=1e-3)


def test_mirnetv2_intent_curve() -> None:
    intent = {**V2, "mode": "intent"}
    assert {cyclic_cosine(i, **intent) for i in (1, 46_000, 92_000)} == {3e-4}
    assert cyclic_cosine(92_002, **intent) == pytest.approx(3e-4, rel=1e-6)
    assert cyclic_cosine(196_000, **intent) == pytest.approx(1e-6 + 0.5 * (3e-4 - 1e-6), rel=1e-3)
    assert cyclic_cosine(300_000, **intent) == pytest.approx(1e-6, rel=1e-3)
    with pytest.raises(ValueError, match="literal"):
        cyclic_cosine(1, **{**V2, "mode": "documented"})


def test_mprnet_warmup_cosine_closed_form() -> None:
    kw = {"base": 2e-4, "total": 3000, "warmup": 3, "eta_min": 1e-6}
    assert [warmup_cosine(e, **kw) for e in (1, 2, 3)] == pytest.approx([2e-4 / 3, 4e-4 / 3, 2e-4])
    assert warmup_cosine(3000, **kw) == pytest.approx(1e-6)
    middle = 3 + (3000 - 3) / 2
    assert warmup_cosine(middle, **kw) == pytest.approx(1e-6 + 0.5 * (2e-4 - 1e-6))


def test_mprnet_denoising_never_reaches_the_floor() -> None:
    kw = {"base": 2e-4, "total": 80, "warmup": 3, "eta_min": 1e-6, "extra_period": 40}
    last = warmup_cosine(80, hold=1, **kw)
    assert 5.5e-5 < last < 5.6e-5  # period 117 instead of 77


#: The learning rate of each epoch from MPRNet's own GradualWarmupScheduler(multiplier=1,
#: total_epoch=3) + CosineAnnealingLR(epochs - 3 + extra, eta_min=1e-6), stepped as
#: Denoising/train.py does, under the PyTorch 1.x CosineAnnealingLR the papers ran on
#: (values recorded from running it; the official code is not part of this repository).
OFFICIAL_80_40 = [6.666666666666667e-05, 0.00013333333333333334, 0.0002, 0.0002,
                  0.00019996413300325312, 0.00019985655787113212]
OFFICIAL_LAST = {(80, 40): 5.5447010893221146e-05, (250, 0): 1.0080480945370008e-06,
                 (20, 0): 2.6941765814517727e-06}


def test_warmup_cosine_matches_the_official_scheduler() -> None:
    """Item 9: the official scheduler repeats the base rate in the epoch after the warmup,
    so its cosine runs one epoch behind (t = e - 4); ours used t = e - 3."""
    kw = {"base": 2e-4, "warmup": 3, "eta_min": 1e-6, "hold": 1}
    ours = [warmup_cosine(e, total=80, extra_period=40, **kw) for e in range(1, 7)]
    assert ours == pytest.approx(OFFICIAL_80_40, rel=1e-12)
    for (epochs, extra), lr in OFFICIAL_LAST.items():
        assert warmup_cosine(epochs, total=epochs, extra_period=extra, **kw) == pytest.approx(
            lr, rel=1e-12)
    short = [warmup_cosine(e, total=5, **kw) for e in range(1, 6)]
    assert short[3:] == pytest.approx([2e-4, 1.005e-4], rel=1e-12)
