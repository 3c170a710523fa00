from __future__ import annotations

import pytest

from imgrestore.batch.eta import BatchEta


class _Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_nothing_to_say_before_the_first_tile() -> None:
    clock = _Clock()
    eta = BatchEta(3, clock)
    clock.now += 40.0  # a file of one tile, slower than Rich's 30-s speed window
    assert eta.eta is None and eta.file_seconds is None


def test_first_tile_of_the_first_file_gives_an_estimate() -> None:
    clock = _Clock()
    eta = BatchEta(3, clock)
    clock.now += 40.0
    eta.tile_done(1, 4)  # 40 s a tile, 4 tiles: 160 s a file
    assert eta.file_seconds == pytest.approx(160.0)
    assert eta.eta == pytest.approx(160.0 * 2 + 120.0)
    assert eta.tiles_eta == pytest.approx(120.0)


def test_after_a_file_the_mean_file_time_times_the_files_left() -> None:
    clock = _Clock()
    eta = BatchEta(3, clock)
    clock.now += 60.0
    eta.file_done()  # one file of one tile: 60 s
    assert eta.eta == pytest.approx(120.0)
    clock.now += 20.0  # counts down while the next file runs
    assert eta.eta == pytest.approx(100.0)
    clock.now += 70.0  # slower than the mean: its share is spent, the last file's is not
    assert eta.eta == pytest.approx(60.0)
    eta.file_done()  # 90 s: the mean is 75 s
    assert eta.eta == pytest.approx(75.0)
    eta.file_done()
    assert eta.eta == 0.0


def test_tiles_of_a_later_file_refine_its_share() -> None:
    clock = _Clock()
    eta = BatchEta(2, clock)
    clock.now += 100.0
    eta.file_done()
    clock.now += 30.0
    eta.tile_done(1, 2)  # the second file is half done after 30 s
    assert eta.tiles_eta == pytest.approx(30.0)
    assert eta.eta == pytest.approx(30.0)


def test_between_tiles_the_estimate_counts_down() -> None:
    """The wait for the next tile is not taken as a slower tile (the bar's ETA jumped up
    between tiles, then fell back when the tile finished)."""
    clock = _Clock()
    eta = BatchEta(3, clock)
    clock.now += 40.0
    eta.tile_done(1, 4)  # 40 s a tile
    assert eta.eta == pytest.approx(440.0)
    clock.now += 10.0  # the second tile is under way
    assert eta.file_seconds == pytest.approx(160.0)
    assert eta.tiles_eta == pytest.approx(110.0)
    assert eta.eta == pytest.approx(430.0)
    clock.now += 30.0
    eta.tile_done(2, 4)
    assert eta.tiles_eta == pytest.approx(80.0)  # still 40 s a tile
    clock.now += 500.0  # a stuck tile: nothing is left of this file's estimate
    assert eta.tiles_eta == 0.0
