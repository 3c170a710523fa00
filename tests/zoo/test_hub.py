"""hf: models through huggingface_hub, from a hand-made cache, with no network."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.errors import UsageError
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo.hub import HubRef, parse_ref
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE, ModelMeta, write_model_dir

from .hfcache import hf_cache_files

COMMIT = "0123456789abcdef0123456789abcdef01234567"
KWARGS = dict(n_feat=16, scale_unetfeats=8, scale_orsnetfeats=8, num_cab=2)
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_parse_ref() -> None:
    assert parse_ref("hf:me/model") == HubRef("me/model")
    assert parse_ref("hf:me/model@v1.0") == HubRef("me/model", "v1.0")
    assert str(parse_ref(f"hf:me/my.model-2@{COMMIT}")) == f"hf:me/my.model-2@{COMMIT}"
    for bad in ("hf:model", "hf:me/model@", "hf:/model", "hf:me/mo del"):
        with pytest.raises(UsageError, match="expected hf:owner/repo"):
            parse_ref(bad)


def _hf_cache(root: Path, repo_id: str, model: Path, *, corrupt: bool = False) -> None:
    """Lay out ``model``'s two files as huggingface_hub caches a downloaded repository."""
    files = {name: (model / name).read_bytes() for name in (WEIGHTS_FILE, META_FILE)}
    if corrupt:
        files[WEIGHTS_FILE] = files[WEIGHTS_FILE][:-8] + bytes(8)
    hf_cache_files(root, repo_id, files, commit=COMMIT)


SCRIPT = """
import json, sys, torch
from imgrestore import archs
from imgrestore.cli._errors import exit_code_of
from imgrestore.errors import WeightsError
from imgrestore.zoo.loading import load_model
x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
expected = torch.load(sys.argv[1], weights_only=True)
out = {}
for ref in ("hf:me/tiny", "hf:me/tiny@main", "hf:me/tiny@" + sys.argv[2]):
    m = load_model(ref)
    with torch.no_grad():
        y = archs.restore(m.net, m.spec, x)
    out[ref] = [torch.equal(y, expected), m.name, m.task, m.source]
for ref in ("hf:me/absent", "hf:me/corrupt"):
    try:
        load_model(ref)
        out[ref] = "loaded"
    except WeightsError as exc:
        out[ref] = [str(exc), int(exit_code_of(exc))]
print(json.dumps(out))
"""


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "IMGRESTORE_OFFLINE"])
def test_hf_models_resolve_offline_from_the_cache(tmp_path: Path, variable: str) -> None:
    state = keyseeded_state_dict(archs.build("mprnet", **KWARGS).state_dict())
    model = tmp_path / "model"
    write_model_dir(model, state, ModelMeta(family="mprnet", kwargs=KWARGS, task="denoise",
                                            name="tiny", licence="MIT"))
    hub = tmp_path / "hf"
    _hf_cache(hub, "me/tiny", model)
    _hf_cache(hub, "me/corrupt", model, corrupt=True)

    net = archs.build("mprnet", **KWARGS)
    net.load_state_dict(state)
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.save(archs.restore(net.eval(), archs.FAMILIES["mprnet"], x), tmp_path / "y.pt")

    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "IMGRESTORE_OFFLINE", "HF_HOME")}
    env.update({
        variable: "1",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_CACHE": str(hub),
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: any request would fail
        "IMGRESTORE_HOME": str(tmp_path / "home"),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]),
    })
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "y.pt"), COMMIT], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for ref in ("hf:me/tiny", "hf:me/tiny@main", f"hf:me/tiny@{COMMIT}"):
        assert out[ref] == [True, "tiny", "denoise", ref]
    message, code = out["hf:me/absent"]
    assert code == 3
    assert message.startswith("hf:me/absent: not in the Hugging Face cache and ")
    assert message.endswith("run `imgrestore models download hf:me/absent` with network access")
    message, code = out["hf:me/corrupt"]
    assert code == 3 and "does not match the sha256 recorded in imgrestore.json" in message


def test_a_300_character_id_is_one_short_usage_error() -> None:
    ref = "hf:" + "a" * 150 + "/" + "b" * 150
    with pytest.raises(UsageError) as err:
        parse_ref(ref)
    message = str(err.value)
    assert "at most 96 characters, this one 301" in message and len(message) < 200


def test_the_suggested_command_quotes_the_id(tmp_path: Path, monkeypatch) -> None:
    from imgrestore.errors import WeightsError
    from imgrestore.zoo.hub import fetch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsError) as err:
        fetch("hf:me/model@main;rm -rf ~")
    assert "`imgrestore models download 'hf:me/model@main;rm -rf ~'`" in str(err.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_network_is_one_attempt_and_one_line(tmp_path: Path) -> None:
    """huggingface_hub alone retries five times over 23 s, printing ten lines; without a
    network imgrestore stops after the first attempt and says why in one line."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "IMGRESTORE_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HUB_CACHE=str(tmp_path / "hf"),
               IMGRESTORE_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1", NO_COLOR="1")
    photo = tmp_path / "kite.jpg"
    photo.write_bytes((Path(__file__).parents[1] / "data" / "photos" / "kite.jpg").read_bytes())
    for args in (["models", "download", "hf:someone/denoiser"],
                 ["denoise", "--model", "hf:someone/denoiser", str(photo)]):
        # 20 s: far below huggingface_hub's own 1 + 2 + 4 + 8 + 8 s of waiting.
        done = subprocess.run([sys.executable, "-m", "imgrestore", *args], env=env,
                              capture_output=True, text=True, timeout=120 if args[0] == "denoise"
                              else 20)
        assert done.returncode == 3, done.stderr
        assert done.stderr.strip().splitlines() == [
            "error: hf:someone/denoiser: not in the Hugging Face cache and the Hub could not be "
            "reached (connection refused); fix: run `imgrestore models download "
            "hf:someone/denoiser` with network access"], args


def test_retry_lines_are_folded_and_the_loop_cut_in_process(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub
    from huggingface_hub.utils import LocalEntryNotFoundError

    from imgrestore.zoo.hub import HubUnreachableError, folded_retries

    # huggingface_hub reads HF_HUB_OFFLINE once, when first imported (maybe by an earlier
    # test with it set): this test needs it online.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(HubUnreachableError) as err, folded_retries() as log:
        huggingface_hub.hf_hub_download("someone/denoiser", "model.pth",
                                        endpoint=f"http://127.0.0.1:{_closed_port()}",
                                        cache_dir=tmp_path)
    assert err.value.reason == "connection refused" == log.reason
    assert len(log.lines) == 1 and "Connection refused" in log.lines[0]  # no "Retrying in"
    assert capfd.readouterr().err == ""
    # Outside the block huggingface_hub is its own self again: our filter is gone.
    with pytest.raises(LocalEntryNotFoundError):
        huggingface_hub.hf_hub_download("someone/denoiser", "model.pth", cache_dir=tmp_path,
                                        local_files_only=True)
    from imgrestore.zoo.hub import _RetryLog

    assert not any(isinstance(f, _RetryLog) for name in logging.root.manager.loggerDict
                   if name.startswith("huggingface_hub")
                   for f in logging.getLogger(name).filters)
