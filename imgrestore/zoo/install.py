"""Putting a card's weights into the cache: downloads, imports, and what to say when neither
works.

A download tries the card's sources in order (official first, then mirrors; unverified
mirrors only on request). Each goes to a staging folder, is checked against the card's
pinned sha256 and size when it has them, loaded and checked against the network it
belongs to, and only then replaces the cache folder. A source that fails is reported
and the next one tried. When all fail, the failure is remembered for
:data:`cache.RETRY_AFTER` seconds and the error names the manual routes (a browser and
``imgrestore models import``; for Google Drive also gdown's cookies).

The cache's layout is :mod:`.cache`'s; loading a cached model is :mod:`.loading`'s. This
module is torch-free until a file is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imgrestore.errors import DownloadError, UsageError, WeightsError
from imgrestore.zoo import cache
from imgrestore.zoo.cards import Card, Source, card, find_card
from imgrestore.zoo.checkpoints import check_config, read_checkpoint
from imgrestore.zoo.fetch import ENV_COOKIES
from imgrestore.zoo.modeldir import ModelMeta, is_model_dir, read_meta, write_model_dir

Notify = Callable[[str], None]
#: Called with ``(what, bytes so far, total bytes or None)`` while weights download;
#: ``what`` is ``"<card name>: <file name>"``.
DownloadProgress = Callable[[str, int, "int | None"], None]
#: Set to 1 to let downloads also try mirrors no real download has confirmed yet.
ENV_UNVERIFIED = "IMGRESTORE_UNVERIFIED_MIRRORS"
#: Where notices go unless the caller passes ``notify`` (the CLI shows them).
log = logging.getLogger(__name__)


def is_cached(c: Card) -> bool:
    return is_model_dir(cache.model_dir(c.name))


def unverified_allowed() -> bool:
    return cache.env_flag(ENV_UNVERIFIED)


def download_sources(c: Card, *, unverified: bool | None = None) -> list[Source]:
    """The sources a download of ``c`` tries, in order."""
    allow = unverified_allowed() if unverified is None else unverified
    return [s for s in c.sources if s.kind != "builtin" and (s.verified or allow)]


# --- downloads ----------------------------------------------------------------------------


def ensure_cached(c: Card, *, notify: Notify = log.info, progress: DownloadProgress | None = None,
                  retry: bool = True, unverified: bool | None = None) -> Path:
    """The cache folder of card ``c``, downloading its weights first when needed.

    ``retry=False``: a download that failed less than :data:`cache.RETRY_AFTER` seconds
    ago is not tried again (the caller has a fallback). ``unverified``: also try mirrors
    not confirmed yet (default: ``IMGRESTORE_UNVERIFIED_MIRRORS``). Offline, only the
    Hugging Face cache is looked at. Raises :class:`DownloadError`.
    """
    folder = cache.model_dir(c.name)
    if is_model_dir(folder):
        return folder
    sources = download_sources(c, unverified=unverified)
    if cache.offline():
        return _from_hub_cache(c, [s for s in sources if s.kind == "hf"], notify)
    if not sources:
        raise DownloadError(missing_message(c), model=c.name, reason="no download source")
    if not retry and (failed := cache.recent_failure(c.name)) is not None:
        ago, reason = failed
        raise DownloadError(
            f"{c.name}: weights not downloaded (the download failed {_ago(ago)} ago: "
            f"{reason}; not retried for {cache.RETRY_AFTER / 60:.0f} min, or now with: "
            f"imgrestore models download {c.name})", model=c.name, reason=reason)
    failures: list[tuple[Source, DownloadError]] = []
    for i, source in enumerate(sources):
        try:
            folder = _install_download(c, source, notify=notify, progress=progress)
        except WeightsError as exc:
            failures.append((source, _as_download_error(exc, source)))
            if i + 1 < len(sources):
                nxt = sources[i + 1]
                notify(f"{c.name}: {source.host} failed ({failures[-1][1].reason}); trying "
                       f"{nxt.host}: {nxt.where}")
            continue
        cache.forget_failure(c.name)
        return folder
    last = failures[-1][1]
    cache.note_failure(c.name, last.reason)
    raise DownloadError(failed_message(c, failures), model=c.name, reason=last.reason,
                        source=last.source, refused=any(f.refused for _, f in failures))


def _from_hub_cache(c: Card, sources: list[Source], notify: Notify) -> Path:
    """Offline: install ``c`` from a Hub mirror already in the Hugging Face cache."""
    for source in sources:
        try:
            return _install_download(c, source, notify=notify, progress=None)
        except WeightsError:
            continue
    raise DownloadError(missing_message(c), model=c.name, reason="offline mode is on")


def _as_download_error(exc: WeightsError, source: Source) -> DownloadError:
    if isinstance(exc, DownloadError):
        return exc
    text = str(exc)
    where = source.where
    reason = text[len(where) + 2:] if text.startswith(where + ": ") else text
    return DownloadError(text, reason=reason, source=where)


def failed_message(c: Card, failures: list[tuple[Source, DownloadError]]) -> str:
    """One line: why every source failed, then the routes that still work."""
    tried = "; ".join(f"{s.where}: {e.reason}" for s, e in failures)
    return f"{c.name}: not downloaded ({tried}); {manual_routes(c, failures)}"


def manual_routes(c: Card, failures: list[tuple[Source, DownloadError]] = ()) -> str:
    """What the user can do by hand: retry; a browser and ``models import``; for a Drive
    file gdown's cookies."""
    official = next((s for s in c.sources if s.kind != "hf"), c.sources[0])
    routes = (
        f"to retry: imgrestore models download {c.name}, or get {official.filename} from "
        f"{official.location} in a browser and run: imgrestore models import "
        f"{official.filename} --as {c.name}"
    )
    if any(s.kind == "google_drive" and e.refused for s, e in failures):
        routes += (
            f", or give gdown your browser's Google sign-in: gdown --cookies-from-browser "
            f"firefox {official.location} (imgrestore then uses gdown's saved cookies; or "
            f"set {ENV_COOKIES} to a cookies.txt file) and retry"
        )
    return routes


def missing_message(c: Card) -> str:
    """One line: what is missing (nothing may or can be downloaded) and the fix."""
    manual = next((s for s in c.sources if s.kind == "google_drive"), None)
    offline = "weights not downloaded and offline mode is on"
    if manual is not None:
        return (
            f"{c.name}: {offline}; run with network access: imgrestore models download "
            f"{c.name}, or get {manual.filename} from {manual.location} in a browser and run: "
            f"imgrestore models import {manual.filename} --as {c.name}"
        )
    if cache.offline():
        return f"{c.name}: {offline}; run with network access: imgrestore models download {c.name}"
    return f"{c.name}: weights not downloaded; run: imgrestore models download {c.name}"


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _install_download(c: Card, source: Source, *, notify: Notify,
                      progress: DownloadProgress | None) -> Path:
    target = cache.model_dir(c.name)
    label = f"{c.name}: {source.filename}"
    on_bytes = None if progress is None else (lambda done, total: progress(label, done, total))
    with cache.staging_dir(target) as staging:
        if source.kind == "hf":
            from imgrestore.zoo.hub import fetch_file

            path = fetch_file(source.location, source.filename)
            digest, size = cache.sha256_file(path), path.stat().st_size
            check_pin(c, digest, size, where=source.where)
        else:
            from imgrestore.zoo.fetch import download

            got = download(source.location, staging, source.filename, sha256=c.sha256,
                           size=c.size, progress=on_bytes)
            path, digest, size = got.path, got.sha256, got.size
        _install(c, path, staging, where=source.where,
                 source={"url": source.where, "filename": source.filename, "sha256": digest,
                         "size": size, "trust": "pinned" if c.pinned else "first-use"})
        if path.parent == staging:  # keep only the safetensors copy
            path.unlink()
    notify(licence_notice(c))
    return target


def check_pin(c: Card, sha256: str, size: int, *, where: object) -> None:
    """Refuse a file whose sha256 or size is not the one pinned on card ``c``."""
    if c.sha256 is not None and sha256 != c.sha256.lower():
        raise DownloadError(
            f"{where}: sha256 {sha256} is not the pinned {c.sha256} of {c.name}; nothing "
            "was kept", reason=f"sha256 {sha256} is not the pinned {c.sha256}",
            source=str(where))
    if c.size is not None and size != c.size:
        raise DownloadError(
            f"{where}: {size} bytes, not the pinned {c.size} of {c.name}; nothing was kept",
            reason=f"{size} bytes, not the pinned {c.size}", source=str(where))


def cached_pins() -> tuple[list[dict[str, Any]], list[str]]:
    """What ``imgrestore models pin`` prints: for each cached official model, its name, the
    sha256 and size of the original file, how it was trusted and where it came from; and
    one line for each cached model that cannot be pinned, saying why."""
    pins: list[dict[str, Any]] = []
    skipped: list[str] = []
    for folder in cache.cached_dirs():
        c = find_card(folder.name)
        if c is None or c.builtin:
            continue
        try:
            source = dict(read_meta(folder).source or {})
        except WeightsError as exc:
            skipped.append(f"{folder.name}: {exc}")
            continue
        if not source.get("sha256") or not source.get("size"):
            skipped.append(f"{folder.name}: no sha256 and size of the original file recorded "
                           "(stored before imgrestore recorded them); remove it and download "
                           "it again")
            continue
        pins.append({"name": c.name, "sha256": source["sha256"], "size": int(source["size"]),
                     "trust": source.get("trust"),
                     "from": source.get("url") or source.get("filename")})
    return pins, skipped


# --- imports ------------------------------------------------------------------------------


def import_file(path: str | Path, name: str, *, notify: Notify = log.info) -> Path:
    """Check the weights file ``path`` against card ``name`` and keep it in the cache as
    safetensors; the cache folder. The original file is not modified."""
    c = card(name)
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file" if not path.exists() else
                         f"{path}: not a regular file (name the weights file itself)")
    digest, size = cache.sha256_file(path), path.stat().st_size
    if c.pinned and (digest != c.sha256 or (c.size is not None and size != c.size)):
        raise WeightsError(
            f"{path}: sha256 {digest} ({size} bytes) is not the published {c.name} file "
            f"({c.sha256}, {c.size} bytes)"
        )
    target = cache.model_dir(c.name)
    with cache.staging_dir(target) as staging:
        _install(c, path, staging, where=path,
                 source={"filename": path.name, "sha256": digest, "size": size,
                         "trust": "pinned" if c.pinned else "imported"})
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
