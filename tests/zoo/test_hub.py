"""hf: models through huggingface_hub, from a hand-made cache, with no network."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.errors import WeightsError
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo.hub import HubRef, parse_ref
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE, ModelMeta, write_model_dir

COMMIT = "0123456789abcdef0123456789abcdef01234567"
KWARGS = dict(n_feat=16, scale_unetfeats=8, scale_orsnetfeats=8, num_cab=2)
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_parse_ref() -> None:
    assert parse_ref("hf:me/model") == HubRef("me/model")
    assert parse_ref("hf:me/model@v1.0") == HubRef("me/model", "v1.0")
    assert str(parse_ref(f"hf:me/my.model-2@{COMMIT}")) == f"hf:me/my.model-2@{COMMIT}"
    for bad in ("hf:model", "hf:me/model@", "hf:/model", "hf:me/mo del"):
        with pytest.raises(WeightsError, match="expected hf:owner/repo"):
            parse_ref(bad)


def _hf_cache(root: Path, repo_id: str, model: Path, *, corrupt: bool = False) -> None:
    """Lay out ``model``'s two files as huggingface_hub caches a downloaded repository."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in (WEIGHTS_FILE, META_FILE):
        data = (model / name).read_bytes()
        if corrupt and name == WEIGHTS_FILE:
            data = data[:-8] + bytes(8)
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob))


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
    assert code == 3 and "does not match the sha256 in imgrestore.json" in message
