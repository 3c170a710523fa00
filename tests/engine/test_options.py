"""EngineOptions: every engine option parsed and checked in one place."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imgrestore.engine.options import EngineOptions, parse_memory, parse_tile
from imgrestore.errors import UsageError


def test_parse_gives_checked_values() -> None:
    options = EngineOptions.parse(device=" CUDA:1 ", precision="FP16", tile="512",
                                  tile_overlap=16, max_memory="6G", compile=True)
    assert options == EngineOptions("cuda:1", "fp16", 512, 16, 6 * 1024**3, True)
    assert EngineOptions.parse() == EngineOptions()
    assert EngineOptions.parse(tile=0).tile == 0 and EngineOptions.parse(tile="auto").tile == "auto"
    assert EngineOptions.parse(max_memory=1000).max_memory == 1000


@pytest.mark.parametrize("tile", ["big", "-1", -1, "1.5", True])
def test_bad_tiles_are_one_usage_error(tile: object) -> None:
    with pytest.raises(UsageError, match=r"--tile .*: use 'auto', 0 \(whole image\) or a size"):
        parse_tile(tile)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--tile"):
        EngineOptions.parse(tile=tile)  # type: ignore[arg-type]


def test_other_bad_options() -> None:
    with pytest.raises(UsageError, match="overlap -1 must not be negative"):
        EngineOptions.parse(tile_overlap=-1)
    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        EngineOptions.parse(precision="fp8")
    with pytest.raises(UsageError, match="memory size"):
        EngineOptions.parse(max_memory="lots")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4G", 4 * 1024**3), ("512m", 512 * 1024**2), ("1.5GiB", int(1.5 * 1024**3)),
     ("2000", 2000), ("3 GB", 3 * 1024**3), (123, 123), (None, None)],
)
def test_parse_memory(text, expected) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "4X", "-1G", "0", "1.2.3G"])
def test_parse_memory_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="memory size"):
        parse_memory(text)




def test_options_do_not_import_torch() -> None:
    code = ("import sys, imgrestore.engine.options as o; o.EngineOptions.parse(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_tile_smaller_than_twice_the_overlap_is_refused() -> None:
    with pytest.raises(UsageError, match=r"--tile 17 is smaller than twice the overlap \(32 px\)"
                                         r".*use --tile 64 or more"):
        EngineOptions.parse(tile="17")
    with pytest.raises(UsageError, match="--tile 63"):
        EngineOptions.parse(tile=63, tile_overlap=32)
    for tile, overlap in (("64", 32), ("0", 32), ("auto", 32), ("17", 8)):
        assert EngineOptions.parse(tile=tile, tile_overlap=overlap).tile_overlap == overlap
