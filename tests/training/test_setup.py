"""What a run is made of before its first step: arguments, run length, refusals, bad
numbers, unreadable photos, the patch size and the cache decision."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from imgrestore.errors import UsageError
from imgrestore.training.loop import train
from imgrestore.training.recipe import (
    ModelSection,
    apply_overrides,
    load_recipe,
    recipe_from_dict,
)
from imgrestore.training.report import read_log
from imgrestore.training.setup import (
    check_amp,
    network_kwargs,
    previous_state,
    total_iterations,
)

from ._tiny import tiny_recipe, write_clean

RECIPES = Path(__file__).parents[2] / "train"


def test_network_kwargs_start_from_the_configuration() -> None:
    model = ModelSection(family="mprnet", configuration="mprnet_deraining",
                         kwargs={"num_cab": 2})
    kwargs = network_kwargs(model)
    assert kwargs["n_feat"] == 40 and kwargs["num_cab"] == 2
    assert network_kwargs(ModelSection(family="mirnet", kwargs={"n_feat": 8})) == {"n_feat": 8}
    with pytest.raises(UsageError, match="mprnet_deraining is mprnet, not mirnetv2"):
        network_kwargs(ModelSection(family="mirnetv2", configuration="mprnet_deraining"))


def test_a_recipe_names_a_registered_family() -> None:
    with pytest.raises(UsageError, match="model.family = 'unet': expected one of mprnet, "
                                         "mirnet, mirnetv2"):
        recipe_from_dict({"model": {"family": "unet"}})
    assert recipe_from_dict({}).model.family == "mirnetv2"


def test_run_length() -> None:
    def length(**train: int) -> int:
        return total_iterations(recipe_from_dict({"train": train}), 10, None)

    assert length(epochs=3, accumulate=2) == 15
    assert length(iterations=7) == 7
    with pytest.raises(UsageError, match="no run length"):
        length()


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a CUDA device"):
        check_amp("fp16", torch.device("cpu"))
    check_amp("off", torch.device("cpu"))
    notes: list[str] = []
    assert previous_state(tmp_path, True, notes.append) is None
    assert notes == [f"{tmp_path}: nothing to resume; starting a new run"]
    (tmp_path / "model.safetensors").write_bytes(b"a model")
    with pytest.raises(UsageError, match="already holds a model"):
        previous_state(tmp_path, False, notes.append)


def _notices(run: Path) -> list[str]:
    return [r["message"] for r in read_log(run) if r["event"] == "notice"]


@pytest.mark.parametrize("item, words", [
    ("train.iterations=-5", "train.iterations = -5: must be at least 0"),
    ("optim.lr=-1e-3", "optim.lr = -0.001: must be above 0"),
    ("data.batch=0", "data.batch = 0: must be at least 1"),
    ("data.patch=0", "data.patch = 0: must be at least 1"),
    ("optim.betas=[0.9, 1.5]", "optim.betas"),
    ("mixup.prob=2", "mixup.prob = 2.0: must be at most 1"),
    ("train.ema=1", "train.ema"),
    ("progressive.batches=[4, 0]", "progressive.batches"),
])
def test_numbers_out_of_range_are_usage_errors(item: str, words: str) -> None:
    """Item 7: a negative train.iterations exited 0 with an untrained net; a negative rate,
    batch 0 and patch 0 gave tracebacks."""
    with pytest.raises(UsageError, match=words.replace(".", r"\.").replace("[", r"\[")):
        apply_overrides(recipe_from_dict({}), [item])


def test_unknown_network_arguments_name_the_argument(tmp_path: Path) -> None:
    write_clean(tmp_path / "train", 2)
    recipe = recipe_from_dict(tiny_recipe("mirnetv2", tmp_path / "train",
                                          model={"kwargs": {"n_feat": 8, "widht": 3}}))
    with pytest.raises(UsageError, match=r"model.kwargs: mirnetv2 has no argument 'widht' "
                                         r"\(known: .*n_feat"):
        train(recipe, tmp_path / "run")
    too_wide = apply_overrides(recipe, ["model.kwargs={n_feat = 0, chan_factor = 2.0}"])
    with pytest.raises(UsageError, match="model.kwargs: n_feat=0: at least 1"):
        train(too_wide, tmp_path / "run")


def test_patch_larger_than_the_photos(tmp_path: Path) -> None:
    """Item 7: a patch larger than the photos was silently mirror-padded."""
    write_clean(tmp_path / "small", 2, size=(20, 24))
    with pytest.raises(UsageError, match="data.patch = 32 is larger than every image"):
        train(recipe_from_dict(tiny_recipe("mirnetv2", tmp_path / "small",
                                           data={"patch": 32})), tmp_path / "a")
    write_clean(tmp_path / "mixed", 2, size=(40, 40))
    write_clean(tmp_path / "mixed", 1, seed=5, size=(20, 24))  # overwrites img00: 24x20
    train(recipe_from_dict(tiny_recipe("mirnetv2", tmp_path / "mixed", data={"patch": 32},
                                       train={"iterations": 1})), tmp_path / "b")
    assert any("1 of 2 images are smaller than the 32 px patch (smallest 24x20)" in n
               for n in _notices(tmp_path / "b"))


def test_warmup_longer_than_the_run_is_remarked(tmp_path: Path) -> None:
    write_clean(tmp_path / "train", 2)
    recipe = recipe_from_dict(tiny_recipe(
        "mirnetv2", tmp_path / "train", train={"iterations": 3},
        schedule={"kind": "warmup_cosine", "warmup": 100}))
    train(recipe, tmp_path / "run")
    assert any("schedule.warmup = 100 iterations is not shorter than the run (3" in n
               for n in _notices(tmp_path / "run"))


def test_unreadable_photos_are_skipped_up_front(tmp_path: Path) -> None:
    """Item 6: one corrupt JPEG among the training photos aborted the run (possibly hours
    in); now it is skipped with one line, and the run stops only under data.min_readable."""
    photos = write_clean(tmp_path / "train", 4)
    good = (photos / "img00.png").read_bytes()
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)  # not a JPEG body
    (photos / "cut.png").write_bytes(good[: len(good) // 2])  # truncated
    recipe = recipe_from_dict(tiny_recipe("mirnetv2", photos, train={"iterations": 2},
                                          data={"min_readable": 0.6}))
    result = train(recipe, tmp_path / "run")
    assert result.iterations == 2
    skipped = [n for n in _notices(tmp_path / "run") if n.startswith("skipping")]
    assert len(skipped) == 2
    assert any("broken.jpg: " in n for n in skipped) and any("cut.png: " in n for n in skipped)
    strict = apply_overrides(recipe, ["data.min_readable=0.9"])
    with pytest.raises(UsageError, match=r"only 4 of 6 images can be read \(the run needs 90%"):
        train(strict, tmp_path / "run2")


def test_cache_is_auto_with_a_budget(tmp_path: Path) -> None:
    """Item 5: the fine-tune recipes kept every photo decoded as float32 (cache = true),
    58 GB for 200 photos of 24 MP, without a word."""
    for name in ("denoise", "deblur", "derain", "lowlight", "upscale"):
        assert load_recipe(RECIPES / f"finetune_{name}.toml").data.cache == "auto"
    assert recipe_from_dict({}).data.cache == "auto"
    write_clean(tmp_path / "train", 2)  # 2 x 40 x 40 x 3 float32 = 38,400 bytes
    fits = recipe_from_dict(tiny_recipe("mirnetv2", tmp_path / "train",
                                        train={"iterations": 1}, data={"cache_gb": 1e-3}))
    train(fits, tmp_path / "on")
    assert any(n.startswith("cache: on (2 images, 38.4 kB decoded; budget 1 MB per process")
               for n in _notices(tmp_path / "on"))
    too_big = apply_overrides(fits, ["data.cache_gb=3e-5"])  # 30,000 bytes
    train(too_big, tmp_path / "off")
    assert any(n.startswith("cache: off") and "read from disk" in n
               for n in _notices(tmp_path / "off"))
