"""imgrestore.json from a stranger: bounded, typed, one clear line when it is not right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgrestore.errors import WeightsError
from imgrestore.zoo.modeldir import MAX_META_BYTES, read_meta

GOOD = {"family": "mirnetv2", "configuration": "mirnetv2_real_denoising", "task": "denoise"}


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "imgrestore.json").write_text(text)
    return folder


def test_a_good_description_reads(tmp_path: Path) -> None:
    assert read_meta(_folder(tmp_path, json.dumps(GOOD))).configuration == GOOD["configuration"]


@pytest.mark.parametrize(("change", "words"), [
    ({"kwargs": [1, 2]}, "field 'kwargs' must be an object or null, not [1, 2]"),
    ({"family": 5}, "field 'family' must be a string, not 5"),
    ({"scale": "2"}, "field 'scale' must be an integer, not '2'"),
    ({"scale": -3}, "scale -3 is outside 1..8"),
    ({"scale": True}, "field 'scale' must be an integer, not true"),
    ({"prefers_whole_image": 1}, "field 'prefers_whole_image' must be true or false, not 1"),
    ({"input_kind": "cmyk"}, "input_kind must be 'rgb' or 'dual_pixel'"),
    ({"sha256": ["x"]}, "field 'sha256' must be a string or null"),
])
def test_wrong_types_and_ranges_are_one_line(tmp_path: Path, change: dict, words: str) -> None:
    with pytest.raises(WeightsError) as err:
        read_meta(_folder(tmp_path, json.dumps({**GOOD, **change})))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_deep_or_huge_json_is_refused_without_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="nested too deeply"):
        read_meta(_folder(tmp_path, "[" * 100_000 + "]" * 100_000))
    with pytest.raises(WeightsError, match="larger than 256 KB"):
        read_meta(_folder(tmp_path, " " * (MAX_META_BYTES + 1) + "{}"))
    with pytest.raises(WeightsError, match="unreadable"):
        read_meta(_folder(tmp_path, "{not json"))
    with pytest.raises(WeightsError, match="must hold a JSON object"):
        read_meta(_folder(tmp_path, "[1, 2]"))
