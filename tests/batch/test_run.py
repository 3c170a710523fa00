"""Requests: the options a run takes are checked before any work."""

from __future__ import annotations

import pytest

from imgrestore.batch.run import EngineOptions
from imgrestore.errors import UsageError


def test_a_tile_smaller_than_twice_the_overlap_is_refused():
    with pytest.raises(UsageError, match=r"--tile 17 is smaller than twice the overlap \(32 px\)"
                                         r".*use --tile 64 or more"):
        EngineOptions(tile=17)
    with pytest.raises(UsageError, match="--tile 63"):
        EngineOptions(tile=63, tile_overlap=32)
    for fine in (EngineOptions(tile=64), EngineOptions(tile=0), EngineOptions(tile="auto"),
                 EngineOptions(tile=17, tile_overlap=8)):
        assert fine.tile in (64, 0, "auto", 17)
