from __future__ import annotations

import json

import numpy as np
import pytest

from imgrestore.errors import UsageError
from imgrestore.evaluation.synth import describe, parse_spec, parse_value, synthesize
from imgrestore.ops.degrade import degrade


def test_inline_syntax() -> None:
    spec = parse_spec("gaussian_noise:sigma=25")
    assert spec == {"kind": "gaussian_noise", "sigma": 25, "clip": False}
    assert parse_spec("gaussian_noise:sigma=5..50,clip=true")["sigma"] == [5, 50]
    assert parse_spec("rain:angle=-20..-5")["angle"] == [-20, -5]
    chain = parse_spec("bicubic:scale=4,reupsample=false+gaussian_noise:sigma=2.5")
    assert chain["kind"] == "chain"
    assert [s["kind"] for s in chain["steps"]] == ["bicubic", "gaussian_noise"]
    assert chain["steps"][0]["reupsample"] is False and chain["steps"][1]["sigma"] == 2.5
    assert parse_spec("motion_blur:kernel=line")["kernel"] == "line"
    assert parse_spec(describe(chain)) == chain  # the report's text reads back


def test_values() -> None:
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("1e-3") == pytest.approx(0.001)
    assert parse_value("FALSE") is False
    assert parse_value("line") == "line"
    with pytest.raises(UsageError, match="not a number"):
        parse_value("1..x")


@pytest.mark.parametrize("text, message", [
    ("speckle", "unknown degradation kind"),
    ("gaussian_noise:sigmaa=3", "no parameter 'sigmaa'"),
    ("gaussian_noise:25", "not KEY=VALUE"),
    (":sigma=3", "expected KIND"),
    ("bicubic:scale=5", "scale must be 2, 3 or 4"),
    ("missing.toml", "no such file"),
])
def test_bad_specs_say_why(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_spec(text)


def test_files(tmp_path) -> None:
    (tmp_path / "spec.toml").write_text('kind = "gaussian_noise"\nsigma = 15\n')
    assert parse_spec(str(tmp_path / "spec.toml"))["sigma"] == 15
    (tmp_path / "spec.json").write_text(json.dumps({"degradation": {"kind": "rain"}}))
    assert parse_spec(str(tmp_path / "spec.json"))["kind"] == "rain"
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[data]\ndegradation = { kind = "gaussian_noise", sigma = [5, 50] }\n')
    assert parse_spec(str(recipe))["sigma"] == [5, 50]
    (tmp_path / "empty.toml").write_text("[model]\nfamily = 'mprnet'\n")
    with pytest.raises(UsageError, match="no degradation found"):
        parse_spec(str(tmp_path / "empty.toml"))


def test_seeded_and_the_training_code() -> None:
    clean = np.random.default_rng(5).random((24, 20, 3)).astype(np.float32)
    spec = parse_spec("gaussian_noise:sigma=5..50+motion_blur")
    ours = synthesize(spec, clean, seed=7, index=3)
    direct = degrade(spec, clean, np.random.default_rng([7, 3]))
    assert np.array_equal(ours, direct)
    assert np.array_equal(ours, synthesize(spec, clean, seed=7, index=3))
    assert not np.array_equal(ours, synthesize(spec, clean, seed=8, index=3))
    assert not np.array_equal(ours, synthesize(spec, clean, seed=7, index=4))
