"""The card table: complete, consistent, one default per task."""

from __future__ import annotations

import pytest

from imgrestore.archs import COMPACT_SPECS, SPECS
from imgrestore.errors import UsageError
from imgrestore.zoo.cards import (
    BUILTIN_LICENCE,
    CARDS,
    PINS,
    TASKS,
    builtin_card,
    card,
    default_card,
    find_card,
)

RELEASE = "https://github.com/swz30/MIRNetv2/releases/download/v1.0.0/"


def test_every_configuration_has_a_card_and_every_card_a_configuration() -> None:
    assert {c.config for c in CARDS.values() if not c.builtin} == set(SPECS)
    assert {c.config for c in CARDS.values() if c.builtin} == set(COMPACT_SPECS)
    for c in CARDS.values():
        specs = COMPACT_SPECS if c.builtin else SPECS
        assert c.scale == 1 or c.scale in specs[c.config].scales, c.name
        assert c.family == specs[c.config].family
        assert c.params > 0


def test_every_task_has_a_builtin_model_under_our_licence() -> None:
    for task in TASKS:
        c = builtin_card(task)
        assert c.builtin and not c.official and c.licence == BUILTIN_LICENCE
        assert c.task == task and not c.default
    assert builtin_card("upscale").scale == 2
    assert builtin_card("upscale", scale=4).config == "mirnetv2_compact_x4"
    assert builtin_card("enhance", style="lowlight").name == "builtin_enhance"
    with pytest.raises(UsageError, match="no built-in model for x3; built-in: x2, x4"):
        builtin_card("upscale", scale=3)
    with pytest.raises(UsageError, match="no built-in model for retouch"):
        builtin_card("enhance", style="retouch")


def test_canonical_names_are_configuration_names() -> None:
    one_card_configs = [cfg for cfg in SPECS if cfg != "mirnet_super_resolution"]
    for cfg in one_card_configs:
        assert CARDS[cfg].config == cfg
    assert [c.name for c in CARDS.values() if c.config == "mirnet_super_resolution"] == [
        "mirnet_super_resolution_x3", "mirnet_super_resolution_x4",
    ]


def test_names_and_aliases_are_unique() -> None:
    names = [n for c in CARDS.values() for n in (c.name, *c.aliases)]
    assert len(names) == len(set(names))
    for c in CARDS.values():
        for alias in c.aliases:
            assert card(alias) is c


def test_defaults() -> None:
    assert default_card("denoise").name == "mirnetv2_real_denoising"
    assert default_card("deblur").name == "mprnet_deblurring"
    assert default_card("derain").name == "mprnet_deraining"
    assert default_card("enhance").name == "mirnetv2_enhancement_lol"
    assert default_card("enhance", style="retouch").name == "mirnetv2_enhancement_fivek"
    for scale in (2, 3, 4):
        assert default_card("upscale", scale=scale).scale == scale
    for task in TASKS:
        defaults = [c for c in CARDS.values() if c.default and c.task == task]
        keys = {(c.scale, c.style) for c in defaults}
        assert len(keys) == len(defaults) >= 1, task


@pytest.mark.parametrize(
    ("task", "kwargs", "words"),
    [
        ("upscale", {}, "needs a scale"),
        ("upscale", {"scale": 8}, "scales are [2, 3, 4]"),
        ("enhance", {"style": "sepia"}, "no style"),
        ("colorize", {}, "no such task"),
    ],
)
def test_default_card_refusals(task: str, kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
        default_card(task, **kwargs)


def test_unknown_name() -> None:
    assert find_card("nope") is None
    with pytest.raises(UsageError, match="models list"):
        card("nope")


def test_sources() -> None:
    for c in CARDS.values():
        if c.builtin:
            assert [(s.kind, s.location) for s in c.sources] == [("builtin", c.name)]
            continue
        assert c.licence == c.arch.descriptor.weights_licence.name and c.official
        official, *mirrors = c.sources
        assert official.verified and official.location.startswith("https://")
        if c.family == "mirnetv2":
            assert official.kind == "github_release"
            assert official.location == RELEASE + official.filename
        else:
            assert official.kind == "google_drive"
            assert official.location.startswith("https://drive.google.com/")
        # The one Hub mirror known (deepinv/MPRNet) is opt-in until a download confirms it.
        expected = ([("hf", "deepinv/MPRNet", official.filename, False)]
                    if c.family == "mprnet" else [])
        assert [(m.kind, m.location, m.filename, m.verified) for m in mirrors] == expected
        assert c.automatic  # Drive files too, through gdown
    assert CARDS["mirnetv2_defocus_deblurring_dualpixel"].input_kind == "dual_pixel"
    enhance = [c for c in CARDS.values() if c.task == "enhance"]
    assert enhance and all(c.prefers_whole_image and c.style for c in enhance)


def test_pins_are_well_formed_and_reach_their_cards() -> None:
    assert set(PINS) <= {c.name for c in CARDS.values() if not c.builtin}
    for name, (sha256, size) in PINS.items():
        assert len(sha256) == 64 and int(sha256, 16) >= 0 and size > 0
        assert (CARDS[name].sha256, CARDS[name].size) == (sha256, size)
        assert card(CARDS[name].aliases[0]) is CARDS[name]  # aliases find the pinned card
    unpinned = [c for c in CARDS.values() if c.name not in PINS]
    assert all(c.sha256 is None and c.size is None and not c.pinned for c in unpinned)


def test_docs_model_table_is_generated_from_the_cards() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "docs" / "make_models.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
