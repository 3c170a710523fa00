"""A card's weights into the cache: imported or downloaded, checked, kept as safetensors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from imgrestore.errors import WeightsError
from imgrestore.zoo import cache
from imgrestore.zoo.cards import CARDS, Source
from imgrestore.zoo.install import ensure_cached, import_file
from imgrestore.zoo.loading import load_model
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE

from .conftest import Server
from .weights import official_pth, output_of, reference_output


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
                              "sha256": hashlib.sha256(before).hexdigest()}
    assert meta["sha256"] == cache.sha256_file(folder / WEIGHTS_FILE)
    assert len(notes) == 1 and "Academic Public License" in notes[0]

    loaded = load_model(name, notify=notes.append)
    assert loaded.card is CARDS[name] and loaded.spec.name == name
    assert len(notes) == 1  # the licence is shown once, when the weights arrive
    assert torch.equal(output_of(loaded), reference_output(name, state))


def _served_card(server: Server, body: bytes, sha256: str | None):
    server.files["/real_denoising.pth"] = body
    source = Source("github_release", f"{server.url}/real_denoising.pth",
                    "real_denoising.pth", sha256)
    return replace(CARDS["mirnetv2_real_denoising"], sources=(source,))


@pytest.mark.parametrize("pinned", [True, False])
def test_download_checks_converts_and_caches(
    home: Path, server: Server, mirnetv2: dict, pinned: bool
) -> None:
    body = official_pth(mirnetv2, "params", False)
    digest = hashlib.sha256(body).hexdigest()
    card = _served_card(server, body, digest if pinned else None)
    notes: list[str] = []
    folder = ensure_cached(card, notify=notes.append, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == [META_FILE, WEIGHTS_FILE]
    assert [p.name for p in cache.models_dir().iterdir()] == [card.name]
    source = json.loads((folder / META_FILE).read_text())["source"]
    assert source == {"url": card.sources[0].location, "filename": "real_denoising.pth",
                      "sha256": digest, "trust": "pinned" if pinned else "first-use"}
    assert len(notes) == 1 and "non-commercial" in notes[0]

    assert ensure_cached(card, notify=notes.append) == folder
    assert len(server.requests) == 1 and len(notes) == 1
    loaded = load_model(task="denoise", notify=notes.append)  # the default, now cached
    assert torch.equal(output_of(loaded), reference_output(card.config, mirnetv2))


@pytest.mark.parametrize(("truncate", "pinned"), [(False, True), (True, True), (True, False)])
def test_bad_download_is_reported_and_not_kept(
    home: Path, server: Server, mirnetv2: dict, truncate: bool, pinned: bool
) -> None:
    body = official_pth(mirnetv2, "params", False)
    digest = hashlib.sha256(body).hexdigest() if truncate else "1" * 64
    card = _served_card(server, body, digest if pinned else None)
    if truncate:
        server.truncate.add("/real_denoising.pth")
    with pytest.raises(WeightsError) as err:
        ensure_cached(card, notify=print, progress=False)
    message = str(err.value)
    assert message.startswith(card.sources[0].location)
    assert ("corrupt or truncated download" if pinned else "truncated or corrupt") in message
    assert "to retry: imgrestore models download mirnetv2_real_denoising" in message
    assert list(cache.models_dir().iterdir()) == []
