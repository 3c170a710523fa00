"""How long a batch has left: the files ETA every progress display shows.

After a file is finished, the ETA is the mean time per finished file
(:class:`imgrestore.timing.MeanRate`) times the files left, counting down as the current
file's tiles finish. Before the first file is finished, its tiles give the estimate: the
time per finished tile, times its tiles, is a file's time. A tile's time is measured up to
the last finished tile, so between tiles the estimate counts down instead of growing with
the wait. Torch-free and screen-free; the clock is given so that tests can drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from imgrestore.timing import MeanRate


class BatchEta:
    """The time left of ``total`` files, told of each finished file and each tile."""

    def __init__(self, total: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total = total
        self.clock = clock
        self.files = MeanRate(total, clock)
        self.files.update(0)  # the clock starts with the batch: reading and warm-up count
        self.done = 0
        self.started = clock()
        #: When the file being restored started (the previous one finished).
        self.file_started = self.started
        self.tiles: tuple[int, int] | None = None
        #: When the last tile of the current file finished.
        self.tile_at = self.started

    def file_done(self) -> None:
        """One more file is finished (restored or failed)."""
        self.done += 1
        self.files.update(self.done)
        self.file_started = self.clock()
        self.tiles = None

    def tile_done(self, done: int, total: int) -> None:
        """``done`` of the ``total`` tiles of the file being restored are finished."""
        self.tiles = (done, total)
        self.tile_at = self.clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def file_seconds(self) -> float | None:
        """A file's time: the mean so far, or the first file's estimate from its tiles."""
        mean = self.files.seconds_per_unit
        if mean is not None:
            return mean
        if self.tiles is None or self.tiles[0] < 1:
            return None
        done, total = self.tiles
        return (self.tile_at - self.started) / done * total

    @property
    def eta(self) -> float | None:
        """Seconds left for the whole batch, or None while nothing says yet: the files
        not started times a file's time, plus what the current file has left (from its
        tiles when it has several, else a file's time less what it has taken)."""
        per_file = self.file_seconds
        if per_file is None:
            return None
        if self.done >= self.total:
            return 0.0
        current = self.tiles_eta
        if current is None:
            current = max(0.0, per_file - (self.clock() - self.file_started))
        return per_file * (self.total - self.done - 1) + current

    @property
    def tiles_eta(self) -> float | None:
        """Seconds left for the file being restored, from its tiles so far: the time per
        finished tile times the tiles left, less the wait since the last one finished."""
        if self.tiles is None or self.tiles[0] < 1:
            return None
        done, total = self.tiles
        per_tile = (self.tile_at - self.file_started) / done
        return max(0.0, per_tile * (total - done) - (self.clock() - self.tile_at))


__all__ = ["BatchEta"]
