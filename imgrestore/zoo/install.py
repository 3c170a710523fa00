"""Getting a card's weights into the cache: downloaded (hash-checked) or imported, checked
against the card's configuration, and kept as an imgrestore model folder; or, when that
cannot be done, one line saying what is missing and the exact command that fixes it.

The cache's layout is :mod:`.cache`'s; loading a cached model is :mod:`.loading`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imgrestore.errors import WeightsError
from imgrestore.zoo import cache
from imgrestore.zoo.cards import Card, Source, card
from imgrestore.zoo.checkpoints import check_config, read_checkpoint
from imgrestore.zoo.modeldir import ModelMeta, is_model_dir, write_model_dir

Notify = Callable[[str], None]
#: Where notices go unless the caller passes ``notify`` (the CLI shows them).
log = logging.getLogger(__name__)


def is_cached(c: Card) -> bool:
    return is_model_dir(cache.model_dir(c.name))


def missing_message(c: Card) -> str:
    """One line: what is missing and the exact command that fixes it."""
    manual = next((s for s in c.sources if s.kind == "google_drive"), None)
    if manual is not None:
        return (
            f"{c.name}: weights not downloaded; get {manual.filename} from {manual.location} "
            f"then run: imgrestore models import {manual.filename} --as {c.name}"
        )
    if cache.offline():
        return (
            f"{c.name}: weights not downloaded and offline mode is on; run with network "
            f"access: imgrestore models download {c.name}"
        )
    return f"{c.name}: weights not downloaded; run: imgrestore models download {c.name}"


def ensure_cached(c: Card, *, notify: Notify = log.info, progress: bool = True,
                  retry: bool = True) -> Path:
    """The cache folder of card ``c``, downloading its weights first when needed.

    ``retry=False``: a download that failed less than :data:`cache.RETRY_AFTER` seconds
    ago is not tried again (the caller has a fallback).
    """
    folder = cache.model_dir(c.name)
    if is_model_dir(folder):
        return folder
    automatic = [s for s in c.sources if s.kind in ("github_release", "hf")]
    if not automatic or cache.offline():
        raise WeightsError(missing_message(c))
    if not retry and (failed := cache.recent_failure(c.name)) is not None:
        ago, reason = failed
        raise WeightsError(
            f"{c.name}: weights not downloaded (the download failed {_ago(ago)} ago: "
            f"{reason}; not retried for {cache.RETRY_AFTER / 60:.0f} min, or now with: "
            f"imgrestore models download {c.name})"
        )
    failure: WeightsError | None = None
    for source in automatic:
        try:
            folder = _install_download(c, source, notify=notify, progress=progress)
        except WeightsError as exc:
            failure = exc
            continue
        cache.forget_failure(c.name)
        return folder
    cache.note_failure(c.name, str(failure))
    raise WeightsError(
        f"{failure}; to retry: imgrestore models download {c.name}, or download "
        f"{automatic[0].location} yourself and run: imgrestore models import "
        f"{automatic[0].filename} --as {c.name}"
    )


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _install_download(c: Card, source: Source, *, notify: Notify, progress: bool) -> Path:
    target = cache.model_dir(c.name)
    with cache.staging_dir(target) as staging:
        if source.kind == "hf":
            from imgrestore.zoo.hub import fetch_file

            path = fetch_file(source.location, source.filename)
            digest = cache.sha256_file(path)
            if source.sha256 and digest != source.sha256:
                raise WeightsError(
                    f"{path}: sha256 {digest} does not match the pinned {source.sha256}"
                )
            url, pinned = f"hf:{source.location}/{source.filename}", source.sha256 is not None
        else:
            from imgrestore.zoo.fetch import download

            got = download(source.location, staging, source.filename, sha256=source.sha256,
                           progress=progress)
            path, digest, url, pinned = got.path, got.sha256, source.location, got.pinned
        trust = "pinned" if pinned else "first-use"
        _install(c, path, staging, where=url,
                 source={"url": url, "filename": source.filename, "sha256": digest,
                         "trust": trust})
        if path.parent == staging:  # keep only the safetensors copy
            path.unlink()
    notify(licence_notice(c))
    return target


def import_file(path: str | Path, name: str, *, notify: Notify = log.info) -> Path:
    """Check the weights file ``path`` against card ``name`` and keep it in the cache as
    safetensors; the cache folder. The original file is not modified."""
    c = card(name)
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    digest = cache.sha256_file(path)
    pinned = [s.sha256 for s in c.sources if s.sha256]
    if pinned and digest not in pinned:
        raise WeightsError(
            f"{path}: sha256 {digest} is not the published {c.name} file ({pinned[0]})"
        )
    target = cache.model_dir(c.name)
    with cache.staging_dir(target) as staging:
        _install(c, path, staging, where=path,
                 source={"filename": path.name, "sha256": digest,
                         "trust": "pinned" if pinned else "imported"})
    notify(licence_notice(c))
    return target


def _install(c: Card, path: Path, folder: Path, *, where: object,
             source: Mapping[str, Any]) -> None:
    """Read, check and write the weights file ``path`` for card ``c`` into ``folder``."""
    try:
        state = read_checkpoint(path)
    except WeightsError as exc:
        raise WeightsError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None
    check_config(state, c.config, where=where)
    write_model_dir(folder, state, card_meta(c, source))


def card_meta(c: Card, source: Mapping[str, Any] | None = None) -> ModelMeta:
    return ModelMeta(
        family=c.family, configuration=c.config, task=c.task, scale=c.scale,
        input_kind=c.input_kind, style=c.style, licence=c.licence, name=c.name,
        prefers_whole_image=c.prefers_whole_image, source=source,
    )


def licence_notice(c: Card) -> str:
    """The line shown when a card's weights first arrive."""
    if not c.official:
        return f"{c.name}: licence: {c.licence}"
    family = c.arch.descriptor
    return (
        f"{c.name}: weights by the authors of {family.title}, "
        f"under the {c.licence}: {family.weights_licence.url}"
    )
