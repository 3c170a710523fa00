"""load_model and the cache: official checkpoints in, identical outputs out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.errors import ExitCode, UsageError, WeightsError
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo import cache
from imgrestore.zoo.cards import CARDS
from imgrestore.zoo.install import import_file
from imgrestore.zoo.loading import LoadedModel, builtin_dir, builtin_fallback, load_model
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE, ModelMeta, write_model_dir

from .weights import official_pth, seeded_state

X = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0))  # not a multiple of 8


def _reference(config: str, state: dict) -> torch.Tensor:
    net = archs.create(config)
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        return archs.restore(net.eval(), archs.spec(config), X)


def _output(loaded: LoadedModel) -> torch.Tensor:
    assert not loaded.net.training
    with torch.no_grad():
        return archs.restore(loaded.net, loaded.spec, X)


@pytest.fixture(scope="module")
def derain() -> dict[str, torch.Tensor]:
    return seeded_state("mprnet_deraining")


@pytest.fixture(scope="module")
def mirnetv2() -> dict[str, torch.Tensor]:
    return seeded_state("mirnetv2_real_denoising")


@pytest.mark.parametrize(
    ("name", "container", "prefix"),
    [
        ("mprnet_deraining", "state_dict", True),
        ("mprnet_deraining", "state_dict", False),
        ("mirnetv2_real_denoising", "params", False),
        ("mirnetv2_real_denoising", "params_ema", True),
    ],
)
def test_imported_official_checkpoint_gives_the_same_outputs(
    home: Path, tmp_path: Path, derain: dict, mirnetv2: dict, name: str,
    container: str, prefix: bool,
) -> None:
    state = derain if name.startswith("mprnet") else mirnetv2
    file = tmp_path / "official.pth"
    file.write_bytes(official_pth(state, container, prefix))
    before = file.read_bytes()
    notes: list[str] = []
    folder = import_file(file, name, notify=notes.append)

    assert file.read_bytes() == before
    assert folder == cache.model_dir(name)
    assert sorted(p.name for p in folder.iterdir()) == [META_FILE, WEIGHTS_FILE]
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["source"] == {"filename": "official.pth", "trust": "imported",
                              "sha256": hashlib.sha256(before).hexdigest(), "size": len(before)}
    assert meta["sha256"] == cache.sha256_file(folder / WEIGHTS_FILE)
    assert len(notes) == 1 and "Academic Public License" in notes[0]

    loaded = load_model(name, notify=notes.append)
    assert loaded.card is CARDS[name] and loaded.spec.name == name
    assert len(notes) == 1  # the licence is shown once, when the weights arrive
    assert torch.equal(_output(loaded), _reference(name, state))


def test_drive_model_offline_says_how(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    with pytest.raises(WeightsError) as err:
        load_model("mprnet_deblurring")
    assert err.value.exit_code == ExitCode.WEIGHTS_UNAVAILABLE
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("mprnet_deblurring: weights not downloaded and offline mode is "
                              "on; run with network access: imgrestore models download "
                              "mprnet_deblurring, or get model_deblurring.pth from "
                              "https://drive.google.com/")
    assert message.endswith(
        "run: imgrestore models import model_deblurring.pth --as mprnet_deblurring"
    )


def test_default_drive_model_offline_falls_back_to_builtin(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    notes: list[str] = []
    loaded = load_model(task="deblur", notify=notes.append)
    assert loaded.card is CARDS["builtin_deblur"] and loaded.source == "builtin:builtin_deblur"
    assert len(notes) == 1 and "\n" not in notes[0]
    assert notes[0].startswith("mprnet_deblurring: weights not downloaded and offline mode ")
    assert "imgrestore models import model_deblurring.pth --as mprnet_deblurring; " in notes[0]
    assert notes[0].endswith("using the built-in model builtin_deblur meanwhile "
                             "(compact, lower quality)")


@pytest.mark.parametrize("variable", ["IMGRESTORE_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_says_how(home: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")
    with pytest.raises(WeightsError, match="offline mode is on; run with network access: "
                                           "imgrestore models download "
                                           "mirnetv2_real_denoising$"):
        load_model("mirnetv2_real_denoising")
    notes: list[str] = []
    assert load_model(task="denoise", notify=notes.append).card is CARDS["builtin_denoise"]
    assert notes and "offline mode is on" in notes[0] and "builtin_denoise" in notes[0]
    with pytest.raises(WeightsError, match=r"download mirnetv2_super_resolution_x3 \(no built-in "
                       r"model stands in for it; the built-in upscale models: "
                       r"builtin_upscale_x2, builtin_upscale_x4\)$"):
        load_model(task="upscale", scale=3)
    assert not cache.models_dir().exists()


def test_weights_file_is_matched_to_a_card(home: Path, tmp_path: Path, mirnetv2: dict) -> None:
    file = tmp_path / "sr_x4.pth"
    file.write_bytes(official_pth(mirnetv2, "params", False))
    loaded = load_model(task="upscale", scale=4, weights=file)
    assert loaded.card is CARDS["mirnetv2_super_resolution_x4"]
    assert (loaded.scale, loaded.spec.pre_upsample) == (4, True)
    assert loaded.source == str(file)
    assert torch.equal(_output(loaded), _reference("mirnetv2_real_denoising", mirnetv2))

    assert load_model(str(file)).card is CARDS["mirnetv2_real_denoising"]
    with pytest.raises(UsageError, match="scales x2, not x4"):
        load_model("upscale-x2", weights=file, scale=4)
    with pytest.raises(WeightsError, match="mprnet_deblurring expects mprnet"):
        load_model("mprnet_deblurring", weights=file)


def test_run_folder_with_constructor_arguments(home: Path, tmp_path: Path) -> None:
    kwargs = dict(n_feat=16, scale_unetfeats=8, scale_orsnetfeats=8, num_cab=2)
    state = keyseeded_state_dict(archs.build("mprnet", **kwargs).state_dict())
    run = tmp_path / "run"
    (run / "logs").mkdir(parents=True)
    write_model_dir(run, state, ModelMeta(family="mprnet", kwargs=kwargs, task="denoise",
                                          name="tiny"))
    assert (run / "logs").is_dir()
    for ref in (run, run / WEIGHTS_FILE):
        loaded = load_model(str(ref), task="denoise")
        assert loaded.card is None and loaded.name == "tiny" and loaded.task == "denoise"
        reference = archs.build("mprnet", **kwargs)
        reference.load_state_dict(state)
        with torch.no_grad():
            expected = archs.restore(reference.eval(), archs.FAMILIES["mprnet"], X)
        assert torch.equal(_output(loaded), expected)
    with pytest.raises(UsageError, match="tiny is a denoise model, not deblur"):
        load_model(str(run), task="deblur")

    (run / META_FILE).write_text(json.dumps({"family": "unet", "kwargs": {}}))
    with pytest.raises(WeightsError, match="names family 'unet'"):
        load_model(str(run))


def test_unknown_reference(home: Path) -> None:
    with pytest.raises(WeightsError, match="no-such-model: no such model, file or folder"):
        load_model("no-such-model")
    with pytest.raises(UsageError):
        load_model()


def test_builtin_fallbacks() -> None:
    stand_ins = {c.name: f.name for c in CARDS.values() if (f := builtin_fallback(c))}
    assert stand_ins == {
        "mprnet_deblurring": "builtin_deblur", "mprnet_deraining": "builtin_derain",
        "mprnet_denoising": "builtin_denoise", "mirnet_denoising": "builtin_denoise",
        "mirnet_super_resolution_x4": "builtin_upscale_x4",
        "mirnet_enhancement_lol": "builtin_enhance",
        "mirnetv2_real_denoising": "builtin_denoise",
        "mirnetv2_super_resolution_x2": "builtin_upscale_x2",
        "mirnetv2_super_resolution_x4": "builtin_upscale_x4",
        "mirnetv2_enhancement_lol": "builtin_enhance",
    }  # nothing for x3, retouching or dual-pixel views


@pytest.mark.parametrize(("task", "scale", "name"), [
    ("denoise", None, "builtin_denoise"), ("deblur", None, "builtin_deblur"),
    ("derain", None, "builtin_derain"), ("enhance", None, "builtin_enhance"),
    ("upscale", 2, "builtin_upscale_x2"), ("upscale", 4, "builtin_upscale_x4"),
])
def test_builtin_models_ship_and_load(home: Path, monkeypatch: pytest.MonkeyPatch, task: str,
                                      scale: int | None, name: str) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    notes: list[str] = []
    loaded = load_model("builtin", task=task, scale=scale, notify=notes.append)
    assert loaded.card is CARDS[name] and not notes  # no licence notice: our own weights
    assert loaded.scale == (scale or 1) and loaded.meta.licence == CARDS[name].licence
    assert loaded.spec.name == CARDS[name].config
    assert loaded.prefers_whole_image == (task == "enhance")
    assert all(p.dtype == torch.float32 for p in loaded.net.parameters())
    assert load_model(name).card is loaded.card
    folder = builtin_dir(loaded.card)
    assert cache.sha256_file(folder / WEIGHTS_FILE) == loaded.meta.sha256
    assert loaded.meta.extra["training"]["iterations"] > 0
    assert not cache.models_dir().exists()


def test_builtin_without_task_or_with_a_missing_scale(home: Path) -> None:
    with pytest.raises(UsageError, match="needs a task"):
        load_model("builtin")
    with pytest.raises(WeightsError, match="no built-in model for x3"):
        load_model("builtin", task="upscale", scale=3)
