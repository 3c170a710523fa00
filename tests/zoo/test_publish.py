"""Publishing a model folder: checked before anything is uploaded (no network here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgrestore.errors import WeightsError
from imgrestore.testing import keyseeded_state_dict
from imgrestore.zoo.modeldir import ModelMeta, write_model_dir
from imgrestore.zoo.publish import push

KWARGS = {"n_feat": 8, "chan_factor": 2.0, "n_MRB": 1}


def test_only_a_sound_model_folder_is_pushed(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from imgrestore import archs

    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")
    with pytest.raises(WeightsError, match="not an imgrestore model"):
        push(tmp_path, "hf:me/model")
    state = keyseeded_state_dict(archs.build("mirnetv2", **KWARGS).state_dict())
    write_model_dir(tmp_path, state, ModelMeta(family="mirnetv2", kwargs=KWARGS, name="m"))
    with pytest.raises(WeightsError, match="not pushed: offline mode is on"):
        push(tmp_path, "hf:me/model")  # checked, then refused before any upload
    (tmp_path / "model.safetensors").write_bytes(b"corrupt")
    with pytest.raises(WeightsError, match="does not match the sha256"):
        push(tmp_path, "hf:me/model")
