"""load_model and the cache: official checkpoints in, identical outputs out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.cli._errors import exit_code_of
from imgrestore.errors import ExitCode, UsageError, WeightsError
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo import cache
from imgrestore.zoo.cards import CARDS
from imgrestore.zoo.loading import (
    LoadedModel,
    builtin_dir,
    builtin_fallback,
    load_model,
)
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE, ModelMeta, write_model_dir

from .weights import X, official_pth, output_of, reference_output


def test_model_that_must_be_imported_says_how(home: Path) -> None:
    with pytest.raises(WeightsError) as err:
        load_model("mprnet_deblurring")
    assert exit_code_of(err.value) == ExitCode.WEIGHTS_UNAVAILABLE
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("mprnet_deblurring: weights not downloaded; get "
                              "model_deblurring.pth from https://drive.google.com/")
    assert message.endswith(
        "run: imgrestore models import model_deblurring.pth --as mprnet_deblurring"
    )


def test_default_that_must_be_imported_falls_back_to_builtin(home: Path) -> None:
    notes: list[str] = []
    loaded = load_model(task="deblur", notify=notes.append)
    assert loaded.card is CARDS["builtin_deblur"] and loaded.source == "builtin:builtin_deblur"
    assert len(notes) == 1 and "\n" not in notes[0]
    assert notes[0].startswith("mprnet_deblurring: weights not downloaded; get ")
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
    assert torch.equal(output_of(loaded), reference_output("mirnetv2_real_denoising", mirnetv2))

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
        assert torch.equal(output_of(loaded), expected)
    with pytest.raises(UsageError, match="tiny is a denoise model, not deblur"):
        load_model(str(run), task="deblur")

    (run / META_FILE).write_text(json.dumps({"family": "unet", "kwargs": {}}))
    with pytest.raises(WeightsError, match="names family 'unet'"):
        load_model(str(run))


def test_unknownreference_output(home: Path) -> None:
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


def _on_meta(config: str, **extra: object) -> LoadedModel:
    """A loaded model whose network lives on the meta device (no memory, no weights)."""
    with torch.device("meta"):
        net = archs.create(config)
    meta = ModelMeta(family=archs.spec(config).family, configuration=config, extra=extra)
    return LoadedModel(net, archs.spec(config), None, meta, 1, False, "meta")


@pytest.mark.parametrize("config", ["mprnet_deblurring", "mirnet_denoising",
                                    "mirnetv2_real_denoising", "mirnetv2_compact"])
def test_auto_precision_is_the_familys_safe_half_on_cuda(config: str) -> None:
    from imgrestore.engine.devices import select_precision

    loaded = _on_meta(config)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert loaded.safe_precisions("cuda") == ("fp32", "fp16")
    assert select_precision("auto", cuda, loaded.safe_precisions("cuda")) == "fp16"
    assert select_precision("auto", cpu, loaded.safe_precisions("cpu")) == "fp32"
    assert loaded.safe_precisions("mps") == ("fp32",)


def test_a_models_own_fp16_measurement_is_read() -> None:
    from imgrestore.engine.devices import select_precision

    cuda = torch.device("cuda")
    unsafe = _on_meta("mirnetv2_compact", fp16_psnr_vs_fp32=31.5)
    assert select_precision("auto", cuda, unsafe.safe_precisions("cuda")) == "fp32"
    assert _on_meta("mirnetv2_compact", fp16_psnr_vs_fp32=89.4).safe_precisions("cuda") == (
        "fp32", "fp16")
    for c in CARDS.values():  # the built-ins measured theirs when they shipped
        if c.builtin:
            loaded = load_model(c.name)
            assert loaded.meta.extra["fp16_psnr_vs_fp32"] >= 50
            assert loaded.safe_precisions("cuda") == ("fp32", "fp16")
