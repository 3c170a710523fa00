"""Where inputs and outputs live: local paths, or any fsspec URL (``s3://``, ``gs://``...).

A local path (``file://`` URLs included) stays a :class:`pathlib.Path`. Any other URL
becomes a :class:`upath.UPath` (universal-pathlib: the pathlib API over fsspec, from the
``imgrestore[fsspec]`` or ``imgrestore[ray]`` extra), so planning and naming work the same
for both; S3 needs ``s3fs``, Google Cloud Storage ``gcsfs``, as fsspec says. Outputs are
written, for both, by :func:`imgrestore.files.atomic_write` (complete uploads to object
stores, never a partial object).

We keep this small layer rather than going through fsspec for local files too: local
outputs keep their fsync'd rename, and local planning stays free of fsspec.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from imgrestore.errors import UsageError
from imgrestore.files import OBJECT_STORES

if TYPE_CHECKING:
    from upath import UPath

#: A local path, or a location in an fsspec file system.
Location: TypeAlias = "Path | UPath"

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL (``scheme://...``) rather than a local path."""
    return _URL.match(text) is not None


def location(text: str) -> Location:
    """A local :class:`~pathlib.Path` for paths and ``file://`` URLs, else a ``UPath``."""
    match = _URL.match(text)
    if match is None:
        return Path(text)
    if match.group(1).lower() in ("file", "local"):
        return Path(text[match.end():] or "/")
    try:
        from upath import UPath
    except ImportError:
        raise UsageError(
            f"{text}: URLs need universal-pathlib: pip install 'imgrestore[fsspec]'"
        ) from None
    try:
        return UPath(text)
    except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs
        raise UsageError(f"{text}: {exc}") from None


def is_remote(loc: Location) -> bool:
    """Whether ``loc`` is reached through fsspec (not a local path)."""
    return not isinstance(loc, Path)


def key(loc: Location) -> str:
    """A string that is equal for two names of the same file (absolute; resolved locally)."""
    if isinstance(loc, Path):
        return str(loc.resolve())
    return str(loc)


def files_in(folder: Location, recursive: bool) -> list[Location]:
    """The files in ``folder`` (and its sub-folders with ``recursive``), sorted."""
    if isinstance(folder, Path):
        walker = sorted(folder.rglob("*") if recursive else folder.iterdir())
        return [child for child in walker if child.is_file()]
    root = folder.path.rstrip("/")
    found = folder.fs.find(root, maxdepth=None if recursive else 1, withdirs=False)
    return sorted((folder.joinpath(p[len(root):].lstrip("/")) for p in found), key=str)


def glob(pattern: str, recursive: bool) -> list[Location]:
    """The files matching a glob ``pattern`` (a local one, or one inside a URL), sorted."""
    import glob as globbing

    if not is_url(pattern) or isinstance(location(pattern), Path):
        local = pattern if not is_url(pattern) else str(location(pattern))
        matches = sorted(Path(m) for m in globbing.glob(local, recursive=recursive))
        return [m for m in matches if m.is_file()]
    from upath import UPath

    base = location(pattern)
    fs = base.fs
    found = [p for p in fs.glob(base.path) if fs.isfile(p)]
    return sorted((UPath(fs.unstrip_protocol(p), **base.storage_options) for p in found), key=str)


class Existing:
    """``exists(dest)`` for many outputs: remote folders are listed once, not asked per file."""

    def __init__(self) -> None:
        self._listed: dict[str, set[str]] = {}

    def __call__(self, loc: Location) -> bool:
        if isinstance(loc, Path):
            return loc.exists()
        parent = loc.parent.path.rstrip("/")
        names = self._listed.get(parent)
        if names is None:
            try:
                names = {p.rstrip("/").rsplit("/", 1)[-1]
                         for p in loc.fs.ls(parent, detail=False)}
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            self._listed[parent] = names
        return loc.name in names


def make_parent(dest: Location) -> None:
    """Create the folder an output goes into (object stores have none to create)."""
    if isinstance(dest, Path):
        os.makedirs(dest.parent, exist_ok=True)
    elif dest.protocol not in OBJECT_STORES:
        dest.fs.makedirs(dest.parent.path, exist_ok=True)
