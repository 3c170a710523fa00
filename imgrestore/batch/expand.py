"""From what the user named to the files it stands for: files, folders walked, globs.

Every entry is a file to restore, a non-image passed over (``ignored``), or an entry
refused or skipped with its reason: FIFOs, sockets, devices, link loops, broken links,
folders named like photos, linked folders with ``-r``, and folders that give nothing.
Nothing but a regular file is ever opened, and only its first bytes are read.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imgrestore.files import not_regular_reason, stat_reason
from imgrestore.imaging.formats import IMAGE_SUFFIXES, RAW_SUFFIXES, sniff_format
from imgrestore.imaging.inputs import read_head
from imgrestore.tasks import is_output_name


@dataclass(frozen=True)
class Refused:
    """An entry that is not restored: why, and whether that is a failure or a skip."""

    path: Path
    reason: str
    state: Literal["fail", "skip"] = "fail"


def image_format(path: Path) -> str | None:
    """Canonical format of ``path`` by content (``RAW`` for camera files), or None.

    Only a regular file is opened (non-blocking), so a FIFO can never hang planning.
    """
    head = read_head(path)
    kind = sniff_format(head) if head else None
    if kind == "TIFF" and path.suffix.lower() in RAW_SUFFIXES:
        return "RAW"
    return kind


def _looks_like_our_output(path: Path, suffix: str) -> bool:
    """Named like an output of this run (``suffix``) or of any task (``-denoised``...)."""
    return path.stem.endswith(suffix) or is_output_name(path.stem)


def _fail(path: Path, reason: str) -> Refused:
    return Refused(path, reason)


@dataclass
class Found:
    """What the inputs expand to: files with the folder they were found in, files that
    are not images (ignored), and entries refused or skipped with a reason."""

    files: list[tuple[Path, Path | None]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


@dataclass
class _Walk:
    """One named folder's walk: every entry is a file to restore, an ignored non-image,
    or a job refused or skipped with a reason (FIFOs, devices, loops, odd folders)."""

    root: Path
    recursive: bool
    suffix: str
    #: (st_dev, st_ino) of folders never walked into: the output folder.
    skip: frozenset[tuple[int, int]]
    into: Found
    subfolders: int = 0
    earlier_outputs: int = 0
    entries: int = 0

    def run(self, root_stat: os.stat_result) -> None:
        stack = [(self.root, frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
        while stack:
            folder, above = stack.pop()
            try:
                names = sorted(e.name for e in os.scandir(folder))
            except OSError as exc:
                self._add(_fail(folder, f"cannot list this folder ({exc.strerror or exc})"))
                continue
            below = []
            for name in names:
                if not name.startswith("."):  # hidden files, and our own temporary files
                    below.extend(self._entry(folder / name, above))
            stack.extend(reversed(below))

    def _add(self, job: Refused) -> None:
        self.into.refused.append(job)
        self.entries += 1

    def _entry(self, path: Path, above: frozenset[tuple[int, int]]) -> list:
        """Classify one entry; returns the folder to walk into, if any."""
        try:
            st = os.stat(path)
        except OSError as exc:
            self._add(_fail(path, stat_reason(path, exc)))
            return []
        if stat.S_ISDIR(st.st_mode):
            return self._folder(path, st, above)
        if not stat.S_ISREG(st.st_mode):
            self._add(_fail(path, not_regular_reason(st.st_mode) or "not a regular file"))
        elif _looks_like_our_output(path, self.suffix):
            self.earlier_outputs += 1  # an earlier run's output beside its input
        elif path.suffix.lower() in IMAGE_SUFFIXES or image_format(path) is not None:
            self.into.files.append((path, self.root))
            self.entries += 1
        else:
            self.into.ignored.append(path)
            self.entries += 1
        return []

    def _folder(self, path: Path, st: os.stat_result, above: frozenset[tuple[int, int]]) -> list:
        key = (st.st_dev, st.st_ino)
        if key in self.skip:
            return []  # the output folder: earlier outputs are never inputs
        if not self.recursive:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                self._add(_fail(path, "is a folder, not an image (add -r to go into it)"))
            else:
                self.subfolders += 1
            return []
        if os.path.islink(path):
            self._add(Refused(path, LINKED_FOLDER, "skip"))
            return []
        if key in above:  # a bind mount or similar leading back up the tree
            self._add(_fail(path, "folder loop (leads back to a folder above it); not followed"))
            return []
        return [(path, above | {key})]

    def empty_reason(self) -> str | None:
        """Why the folder gave nothing to do, or None when it gave something."""
        if self.entries:
            return None
        if self.subfolders:
            many = "s" * (self.subfolders != 1)
            return (f"no images in this folder, only {self.subfolders} sub-folder{many}: "
                    "add -r to go into them")
        if self.earlier_outputs:
            return (f"no images in this folder other than {self.earlier_outputs} earlier "
                    "output(s) of imgrestore (name them to restore them again)")
        return "no images in this folder (it is empty)"


#: Why a symbolic link to a folder is not walked into with ``-r``.
LINKED_FOLDER = "symbolic link to a folder: not followed (name it to include it)"


def _output_folder_keys(output: str | None) -> frozenset[tuple[int, int]]:
    if output is None:
        return frozenset()
    try:
        st = os.stat(output)
    except OSError:
        return frozenset()
    return frozenset({(st.st_dev, st.st_ino)}) if stat.S_ISDIR(st.st_mode) else frozenset()


def expand(inputs: Sequence[str], recursive: bool, suffix: str, output: str | None) -> Found:
    """Expand files, folders and glob patterns into the files to process."""
    found = Found()
    skip = _output_folder_keys(output)
    for text in inputs:
        path = Path(text)
        try:
            st = os.stat(path)
        except OSError as exc:
            missing = exc.errno == errno.ENOENT and not os.path.lexists(path)
            if missing and glob.has_magic(text):
                _expand_glob(text, recursive, found)
            else:
                found.refused.append(_fail(path, "no such file or folder" if missing
                                        else stat_reason(path, exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            walk = _Walk(path, recursive, suffix, skip, found)
            first = len(found.files)
            walk.run(st)
            found.files[first:] = sorted(found.files[first:])
            if (why := walk.empty_reason()) is not None:
                found.refused.append(_fail(path, why))
        elif stat.S_ISREG(st.st_mode):
            found.files.append((path, None))
        else:
            reason = not_regular_reason(st.st_mode) or "not a regular file"
            found.refused.append(_fail(path, reason))
    return found


def _expand_glob(pattern: str, recursive: bool, found: Found) -> None:
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=recursive))
    files = 0
    for match in matches:
        try:
            st = os.stat(match)
        except OSError as exc:
            found.refused.append(_fail(match, stat_reason(match, exc)))
            continue
        if stat.S_ISREG(st.st_mode):
            found.files.append((match, None))
            files += 1
        elif not stat.S_ISDIR(st.st_mode):  # folders matched by a pattern are passed over
            found.refused.append(_fail(match, not_regular_reason(st.st_mode) or "not a file"))
    if not matches:
        found.refused.append(_fail(Path(pattern), "no file matches this pattern"))


def once_each(found: list[tuple[Path, Path | None]]) -> list[tuple[Path, Path | None]]:
    """``found`` without repeats: a file named twice, or by name and by its folder, runs once."""
    seen: set[str] = set()
    unique = []
    for src, base in found:
        key = os.path.abspath(src)
        if key not in seen:
            seen.add(key)
            unique.append((src, base))
    return unique
