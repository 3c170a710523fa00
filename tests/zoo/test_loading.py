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


def test_drive_model_offline_says_how(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    with pytest.raises(WeightsError) as err:
        load_model("mprnet_deblurring")
    assert exit_code_of(err.value) == ExitCode.WEIGHTS_UNAVAILABLE
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
    assert notes == []  # the stand-in is told through loaded.fallback (the CLI warns once)
    fallback = loaded.fallback
    assert fallback is not None and fallback.reason == "offline mode is on"
    assert (fallback.task, fallback.wanted, fallback.model) == ("deblur", "mprnet_deblurring",
                                                                "builtin_deblur")
    assert fallback.line() == ("deblur: using built-in model builtin_deblur (compact, lower "
                               "quality): official weights unavailable (offline mode is on). "
                               "Get them: imgrestore models download mprnet-deblur")
    assert "\n" not in fallback.error
    assert fallback.error.startswith("mprnet_deblurring: weights not downloaded and offline "
                                     "mode ")
    assert fallback.error.endswith("imgrestore models import model_deblurring.pth "
                                   "--as mprnet_deblurring")


@pytest.mark.parametrize("variable", ["IMGRESTORE_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_says_how(home: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")
    with pytest.raises(WeightsError, match="offline mode is on; run with network access: "
                                           "imgrestore models download "
                                           "mirnetv2_real_denoising$"):
        load_model("mirnetv2_real_denoising")
    loaded = load_model(task="denoise")
    assert loaded.card is CARDS["builtin_denoise"] and loaded.fallback is not None
    assert loaded.fallback.reason == "offline mode is on"
    assert "offline mode is on" in loaded.fallback.error
    assert loaded.fallback.model == "builtin_denoise"
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


def test_unknown_reference(home: Path) -> None:
    with pytest.raises(UsageError, match="no-such-model: no such model, file or folder"):
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
    with pytest.raises(UsageError, match="no built-in model for x3"):
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


def test_cached_weights_are_checked_when_loaded(home: Path, tmp_path: Path, derain: dict) -> None:
    from imgrestore.zoo.install import import_file

    from .weights import official_pth

    file = tmp_path / "official.pth"
    file.write_bytes(official_pth(derain, "state_dict", False))
    folder = import_file(file, "mprnet_deraining", notify=lambda _: None)
    assert load_model("mprnet_deraining").card is CARDS["mprnet_deraining"]
    weights = folder / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-100:-97] = bytes(b ^ 0xFF for b in data[-100:-97])  # three bytes of one tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as err:
        load_model(task="derain")  # the task's default: no fallback hides corruption
    assert str(err.value) == (
        f"{weights}: corrupt: its content does not match the sha256 recorded in "
        "imgrestore.json; remove it and download or import it again: imgrestore models "
        "remove mprnet_deraining"
    )


def _folder_with(tmp_path: Path, kwargs: dict, name: str = "shared") -> Path:
    """A model folder from a stranger: an ``imgrestore.json`` asking for ``kwargs``, and a
    1 KB weights file that could never fill such a network."""
    folder = tmp_path / name
    write_model_dir(folder, {"conv_in.weight": torch.zeros(4, 3, 3, 3)},
                    ModelMeta(family="mirnetv2", kwargs=kwargs, task="denoise", name=name))
    assert (folder / WEIGHTS_FILE).stat().st_size < 1024
    return folder


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"n_feat": 30000}, "n_feat=30000: at most 256; refused"),
    ({"n_MRB": 3000000}, "n_MRB=3000000: at most 16; refused"),
    ({"n_feat": -5}, "n_feat=-5: at least 1; refused"),
    ({"n_feat": "80"}, "n_feat='80': expected int; refused"),
    ({"n_feat": 80, "import_module": "os"}, "has no argument 'import_module'"),
    (dict(n_feat=256, chan_factor=4.0, n_RRG=16, n_MRB=16, height=5, width=8),
     "more than 4x the largest released one (5.9 M); refused"),
])
def test_a_shared_folder_cannot_ask_for_any_network(home: Path, tmp_path: Path, kwargs: dict,
                                                     words: str) -> None:
    folder = _folder_with(tmp_path, kwargs)
    with pytest.raises(WeightsError) as err:
        load_model(str(folder), task="denoise")
    assert words in str(err.value) and str(err.value).startswith(str(folder / WEIGHTS_FILE))
    assert exit_code_of(err.value) == ExitCode.WEIGHTS_UNAVAILABLE


def test_tensors_that_claim_a_huge_width_are_refused(home: Path, tmp_path: Path) -> None:
    """Zero-element tensors cost nothing to store but describe 30000 channels."""
    from safetensors.torch import save_file

    config = "mirnetv2_compact"
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in archs.create(config).state_dict().items()}
    # every channel count 2500x larger (12 -> 30000), and the last dimension 0: no data
    huge = {k: torch.empty([d * 2500 if d > 3 else d for d in shape[:-1]] + [0])
            for k, shape in shapes.items()}
    path = tmp_path / "tiny.safetensors"
    save_file(huge, str(path))
    assert path.stat().st_size < 100_000
    with pytest.raises(WeightsError, match=r"tiny\.safetensors: n_feat=30000: at most 256"):
        load_model(str(path), task="denoise")
