from __future__ import annotations

from pathlib import Path

import pytest

from imgrestore.errors import UsageError
from imgrestore.training.recipe import apply_overrides, load_recipe, parse_value, recipe_from_dict

RECIPES = sorted((Path(__file__).parents[2] / "train").glob("*.toml"))


def test_every_official_configuration_has_a_recipe() -> None:
    from imgrestore.archs import SPECS

    names = {p.stem for p in RECIPES}
    trained = {n for n in SPECS if n.startswith(("mprnet", "mirnetv2")) or n == "mirnet_denoising"}
    assert trained <= names
    assert {"finetune_denoise", "finetune_deblur", "finetune_derain", "finetune_lowlight",
            "finetune_upscale"} <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipes_load_and_build(path: Path) -> None:
    from imgrestore import archs
    from imgrestore.training.setup import network_kwargs

    recipe = load_recipe(path)
    assert recipe.name == path.stem
    kwargs = network_kwargs(recipe.model)
    net_cls = archs.family(recipe.model.family).network_class()
    assert net_cls is not None and kwargs
    if recipe.model.configuration:
        assert archs.spec(recipe.model.configuration).family == recipe.model.family


def test_official_settings_are_in_the_recipes() -> None:
    by = {p.stem: load_recipe(p) for p in RECIPES}
    deblur = by["mprnet_deblurring"]
    assert (deblur.loss.edge_weight, deblur.train.epochs, deblur.data.patch) == (0.05, 3000, 256)
    denoise = by["mprnet_denoising"]
    assert denoise.schedule.extra_period == 40 and denoise.optim.weight_decay == 1e-8
    assert (denoise.mixup.kind, denoise.mixup.alpha, denoise.mixup.after_epoch) == (
        "per_sample", 0.6, 5)
    v2 = by["mirnetv2_real_denoising"]
    assert v2.progressive.batches == [8, 5, 4, 2, 1, 1]
    assert sum(v2.progressive.iterations) == 300_000 and v2.optim.clip_grad_norm == 0.01
    assert v2.schedule.mode == "literal" and v2.loss.kind == "l1"
    assert by["mirnetv2_defocus_deblurring_dualpixel"].mixup.kind == "none"
    assert sum(by["mirnetv2_enhancement_lol"].progressive.iterations) == 150_000
    assert by["mirnetv2_super_resolution_x3"].val.crop_border == 3


def test_overrides_are_parsed_and_type_checked() -> None:
    recipe = recipe_from_dict({})
    changed = apply_overrides(recipe, [
        "optim.lr=1e-4", "data.patch=64", "optim.betas=[0.9, 0.99]", "model.kwargs.n_feat=16",
        "data.degradation.kind=gaussian_noise", "train.amp=bf16", "optim.weight_decay=0",
    ])
    assert changed.optim.lr == 1e-4 and changed.data.patch == 64
    assert changed.optim.betas == [0.9, 0.99] and changed.model.kwargs == {"n_feat": 16}
    assert changed.data.degradation == {"kind": "gaussian_noise"}
    assert changed.train.amp == "bf16"
    assert isinstance(changed.optim.weight_decay, float)  # int accepted for a float field
    assert recipe.optim.lr == 2e-4  # the original is untouched


@pytest.mark.parametrize("item, words", [
    ("optim.lr=fast", "optim.lr"),
    ("data.patch=1.5", "data.patch"),
    ("train.amp=fp8", "one of"),
    ("optim.nope=1", "unknown recipe key optim.nope"),
    ("nope.x=1", "not a recipe section"),
    ("optim.lr", "KEY=VALUE"),
    ("data.cache=1", "data.cache"),
    ("data.degradation={kind='blur'}", "unknown degradation kind"),
])
def test_bad_overrides_name_the_key(item: str, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace(".", r"\.")):
        apply_overrides(recipe_from_dict({}), [item])


def test_parse_value() -> None:
    assert parse_value("1e-4") == 1e-4
    assert parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("photos/train") == "photos/train"


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such recipe"):
        load_recipe(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\nlr = 1")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_recipe(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[optim]\nlearning_rate = 1e-4\n")
    with pytest.raises(UsageError, match=r"typo.toml: unknown recipe key optim.learning_rate"):
        load_recipe(typo)
