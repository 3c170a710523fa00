"""A card's weights into the cache: imported, or downloaded (sources in order, pins,
remembered failures, and the messages that name the manual routes) against servers on
127.0.0.1 (plain URLs, a fake Drive); checked, kept as safetensors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from imgrestore.cli._errors import exit_code_of
from imgrestore.errors import DownloadError, ExitCode
from imgrestore.zoo import cache
from imgrestore.zoo.cards import CARDS, Source
from imgrestore.zoo.install import download_sources, ensure_cached, import_file
from imgrestore.zoo.loading import load_model
from imgrestore.zoo.modeldir import META_FILE, WEIGHTS_FILE

from .conftest import Server
from .drive import FakeDrive
from .weights import official_pth, output_of, reference_output

DERAIN = CARDS["mprnet_deraining"]
DERAIN_ID = "1O3WEJbcat7eTY6doXWeorAbQ1l_WmMnM"  # as its card links it


@pytest.fixture(scope="module")
def derain_pth(derain: dict) -> bytes:
    return official_pth(derain, "state_dict", prefix=True)


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
    assert torch.equal(output_of(loaded), reference_output(name, state))


def _served_card(server: Server, body: bytes, pinned: bool):
    server.files["/real_denoising.pth"] = body
    source = Source("github_release", f"{server.url}/real_denoising.pth", "real_denoising.pth")
    digest = hashlib.sha256(body).hexdigest() if pinned else None
    return replace(CARDS["mirnetv2_real_denoising"], sources=(source,), sha256=digest,
                   size=len(body) if pinned else None)


@pytest.mark.parametrize("pinned", [True, False])
def test_download_checks_converts_and_caches(
    home: Path, server: Server, mirnetv2: dict, pinned: bool
) -> None:
    body = official_pth(mirnetv2, "params")
    card = _served_card(server, body, pinned)
    notes: list[str] = []
    seen: list[tuple[str, int, int | None]] = []
    folder = ensure_cached(card, notify=notes.append,
                           progress=lambda *args: seen.append(args))
    assert sorted(p.name for p in folder.iterdir()) == [META_FILE, WEIGHTS_FILE]
    assert [p.name for p in cache.models_dir().iterdir()] == [card.name]
    source = json.loads((folder / META_FILE).read_text())["source"]
    assert source == {"url": card.sources[0].location, "filename": "real_denoising.pth",
                      "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
                      "trust": "pinned" if pinned else "first-use"}
    assert len(notes) == 1 and "non-commercial" in notes[0]
    assert seen[-1] == ("mirnetv2_real_denoising: real_denoising.pth", len(body), len(body))

    assert ensure_cached(card, notify=notes.append) == folder
    assert len(server.requests) == 1 and len(notes) == 1
    loaded = load_model(task="denoise", notify=notes.append)  # the default, now cached
    assert torch.equal(output_of(loaded), reference_output(card.config, mirnetv2))


@pytest.mark.parametrize(("truncate", "pinned"), [(False, True), (True, True), (True, False)])
def test_bad_download_is_reported_and_not_kept(
    home: Path, server: Server, mirnetv2: dict, truncate: bool, pinned: bool
) -> None:
    body = official_pth(mirnetv2, "params")
    card = _served_card(server, body, pinned)
    if not truncate:  # a corrupt transfer: the right length, other bytes
        server.files["/real_denoising.pth"] = body[:-64] + bytes(64)
    else:
        server.truncate.add("/real_denoising.pth")
    with pytest.raises(DownloadError) as err:
        ensure_cached(card, notify=print)
    message = str(err.value)
    assert message.startswith(f"mirnetv2_real_denoising: not downloaded ({server.url}/")
    assert "\n" not in message
    assert err.value.reason.startswith("corrupt or truncated download" if not truncate
                                       else "transfer cut short")
    assert "to retry: imgrestore models download mirnetv2_real_denoising" in message
    assert list(cache.models_dir().iterdir()) == []


def test_default_drive_model_downloads_by_itself(
    home: Path, drive: FakeDrive, derain: dict, derain_pth: bytes
) -> None:
    drive.add(DERAIN_ID, "model_deraining.pth", derain_pth)
    drive.confirm.add(DERAIN_ID)  # Drive does not virus-scan files this large
    notes: list[str] = []
    loaded = load_model(task="derain", notify=notes.append)
    assert loaded.card is DERAIN
    assert torch.equal(output_of(loaded), reference_output("mprnet_deraining", derain))
    assert len(notes) == 1 and "Academic Public License" in notes[0]  # no fallback notice
    meta = json.loads((cache.model_dir(DERAIN.name) / META_FILE).read_text())
    assert meta["source"] == {"url": DERAIN.sources[0].location, "filename": "model_deraining.pth",
                              "sha256": hashlib.sha256(derain_pth).hexdigest(),
                              "size": len(derain_pth), "trust": "first-use"}
    assert len(drive.downloads()) == 2  # the warning page, then the confirmed file


def test_drive_refusal_names_both_manual_routes_and_is_remembered(
    home: Path, drive: FakeDrive, derain_pth: bytes
) -> None:
    drive.add(DERAIN_ID, "model_deraining.pth", derain_pth)
    drive.quota.add(DERAIN_ID)
    with pytest.raises(DownloadError) as err:
        load_model("mprnet_deraining")
    failure = err.value
    assert exit_code_of(failure) == ExitCode.WEIGHTS_UNAVAILABLE and failure.refused
    assert failure.model == "mprnet_deraining" and failure.source == DERAIN.sources[0].location
    assert failure.reason == ("Google Drive refused the download: Too many users have viewed "
                              "or downloaded this file recently")
    message = str(failure)
    assert "\n" not in message
    assert message.startswith(f"mprnet_deraining: not downloaded ({DERAIN.sources[0].location}:"
                              f" {failure.reason}); to retry: imgrestore models download "
                              "mprnet_deraining, or get model_deraining.pth from ")
    assert (f"{DERAIN.sources[0].location} in a browser and run: imgrestore models import "
            "model_deraining.pth --as mprnet_deraining") in message  # route 1
    assert (f"gdown --cookies-from-browser firefox {DERAIN.sources[0].location}" in message
            and "IMGRESTORE_GDOWN_COOKIES" in message)  # route 2
    assert not cache.models_dir().exists() or list(cache.models_dir().iterdir()) == []

    asked = len(drive.requests)
    notes: list[str] = []
    loaded = load_model(task="derain", notify=notes.append)  # remembered: not tried again
    assert loaded.card is CARDS["builtin_derain"] and len(drive.requests) == asked
    assert notes == [] and loaded.fallback is not None  # told through loaded.fallback
    assert "the download failed 0 s ago: Google Drive refused" in loaded.fallback.error
    assert loaded.fallback.reason == "the download was refused"


def test_pinned_hash_mismatch_is_refused(home: Path, drive: FakeDrive, derain_pth: bytes) -> None:
    drive.add(DERAIN_ID, "model_deraining.pth", derain_pth)
    pinned = replace(DERAIN, sha256="ab" * 32, size=len(derain_pth))
    with pytest.raises(DownloadError) as err:
        ensure_cached(pinned, notify=print)
    assert err.value.reason.startswith(f"corrupt or truncated download ({len(derain_pth)} bytes, "
                                       f"sha256 {hashlib.sha256(derain_pth).hexdigest()}")
    assert f"expected {len(derain_pth)} bytes, sha256 {'ab' * 32}" in err.value.reason
    assert list(cache.models_dir().iterdir()) == []


def test_next_source_is_tried_when_the_first_fails(
    home: Path, drive: FakeDrive, server: Server, derain: dict, derain_pth: bytes
) -> None:
    drive.add(DERAIN_ID, "model_deraining.pth", derain_pth)
    drive.quota.add(DERAIN_ID)
    server.files["/mirror/model_deraining.pth"] = derain_pth
    mirror = Source("github_release", f"{server.url}/mirror/model_deraining.pth",
                    "model_deraining.pth")
    card = replace(DERAIN, sources=(DERAIN.sources[0], mirror),
                   sha256=hashlib.sha256(derain_pth).hexdigest(), size=len(derain_pth))
    notes: list[str] = []
    folder = ensure_cached(card, notify=notes.append)
    assert notes[0] == (f"mprnet_deraining: Google Drive failed (Google Drive refused the "
                        f"download: Too many users have viewed or downloaded this file "
                        f"recently); trying GitHub release: {mirror.location}")
    assert "Academic Public License" in notes[1]
    source = json.loads((folder / META_FILE).read_text())["source"]
    assert (source["url"], source["trust"]) == (mirror.location, "pinned")
    assert len(drive.downloads()) == 1 and server.requests == ["/mirror/model_deraining.pth"]
    loaded = load_model("mprnet_deraining")
    assert torch.equal(output_of(loaded), reference_output("mprnet_deraining", derain))


def test_unverified_mirrors_are_tried_only_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    deblur = CARDS["mprnet_deblurring"]
    assert [s.kind for s in download_sources(deblur)] == ["google_drive"]
    assert [s.where for s in download_sources(deblur, unverified=True)] == [
        deblur.sources[0].location, "hf:deepinv/MPRNet/model_deblurring.pth"]
    monkeypatch.setenv("IMGRESTORE_UNVERIFIED_MIRRORS", "1")
    assert len(download_sources(deblur)) == 2
    assert download_sources(CARDS["builtin_deblur"]) == []
