"""From command-line inputs to a plan: which file goes where, and what is skipped.

Planning reads no pixels (at most the first bytes of a file, to tell images from other
files), so ``--dry-run`` is instant and a rerun that only skips finished outputs costs
almost nothing.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from imgrestore.errors import UsageError
from imgrestore.imaging.files import not_regular_reason, output_state, read_head, stat_reason
from imgrestore.imaging.formats import (
    CANONICAL_SUFFIX,
    IMAGE_SUFFIXES,
    RAW_SUFFIXES,
    SUFFIX_FORMAT,
    normalize_format,
    sniff_format,
)
from imgrestore.tasks import is_output_name

STDIO = "-"

JobState = Literal["todo", "skip", "fail"]
#: Why a job whose output is already there is skipped.
OUTPUT_EXISTS = "output exists (use --overwrite to redo)"
#: The note of a job whose earlier output was empty or cut short.
INCOMPLETE_OUTPUT = "the existing output was incomplete (empty or cut short): redone"


@dataclass(frozen=True)
class Job:
    """One image to restore. ``source``/``dest`` None mean stdin/stdout."""

    source: Path | None
    dest: Path | None
    #: Output format for the writer (canonical name), or None for "same as the input".
    format: str | None = None
    state: JobState = "todo"
    #: Why the job is skipped or failed before it starts.
    reason: str | None = None
    #: The right view of a dual-pixel pair (``source`` is the left one).
    partner: Path | None = None
    #: Something to say on the job's line (e.g. an incomplete earlier output redone).
    note: str | None = None

    @property
    def name(self) -> str:
        return str(self.source) if self.source is not None else "<stdin>"


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    #: Files found in folders that are not images (sidecars, notes...): not processed,
    #: not failures; listed in the report.
    ignored: list[Path] = field(default_factory=list)

    @property
    def todo(self) -> list[Job]:
        return [j for j in self.jobs if j.state == "todo"]


def _image_format(path: Path) -> str | None:
    """Canonical format of ``path`` by content (``RAW`` for camera files), or None.

    Only a regular file is opened (non-blocking), so a FIFO can never hang planning.
    """
    head = read_head(path)
    kind = sniff_format(head) if head else None
    if kind == "TIFF" and path.suffix.lower() in RAW_SUFFIXES:
        return "RAW"
    return kind


def output_suffix_for(source: Path, format: str | None) -> str:
    """The suffix an output of ``source`` gets: ``--format``'s, else the input's own.

    Camera RAW files become 16-bit TIFF. A file whose content disagrees with its
    extension gets the suffix of its content.
    """
    if format is not None:
        return CANONICAL_SUFFIX[format]
    kind = _image_format(source)
    if kind == "RAW" or source.suffix.lower() in RAW_SUFFIXES:
        return CANONICAL_SUFFIX["TIFF"]
    if kind is None or SUFFIX_FORMAT.get(source.suffix.lower()) == kind:
        return source.suffix
    return CANONICAL_SUFFIX.get(kind, source.suffix)


def _looks_like_our_output(path: Path, suffix: str) -> bool:
    """Named like an output of this run (``suffix``) or of any task (``-denoised``...)."""
    return path.stem.endswith(suffix) or is_output_name(path.stem)


def _fail(path: Path, reason: str) -> Job:
    return Job(path, None, state="fail", reason=reason)


@dataclass
class _Found:
    """What the inputs expand to: files with the folder they were found in, files that
    are not images (ignored), and entries refused or skipped with a reason."""

    files: list[tuple[Path, Path | None]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


@dataclass
class _Walk:
    """One named folder's walk: every entry is a file to restore, an ignored non-image,
    or a job refused or skipped with a reason (FIFOs, devices, loops, odd folders)."""

    root: Path
    recursive: bool
    suffix: str
    #: (st_dev, st_ino) of folders never walked into: the output folder.
    skip: frozenset[tuple[int, int]]
    into: _Found
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

    def _add(self, job: Job) -> None:
        self.into.jobs.append(job)
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
        elif path.suffix.lower() in IMAGE_SUFFIXES or _image_format(path) is not None:
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
            self._add(Job(path, None, state="skip", reason=LINKED_FOLDER))
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


def _expand(inputs: Sequence[str], recursive: bool, suffix: str, output: str | None) -> _Found:
    """Expand files, folders and glob patterns into the files to process."""
    found = _Found()
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
                found.jobs.append(_fail(path, "no such file or folder" if missing
                                        else stat_reason(path, exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            walk = _Walk(path, recursive, suffix, skip, found)
            first = len(found.files)
            walk.run(st)
            found.files[first:] = sorted(found.files[first:])
            if (why := walk.empty_reason()) is not None:
                found.jobs.append(_fail(path, why))
        elif stat.S_ISREG(st.st_mode):
            found.files.append((path, None))
        else:
            found.jobs.append(_fail(path, not_regular_reason(st.st_mode) or "not a regular file"))
    return found


def _expand_glob(pattern: str, recursive: bool, found: _Found) -> None:
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=recursive))
    files = 0
    for match in matches:
        try:
            st = os.stat(match)
        except OSError as exc:
            found.jobs.append(_fail(match, stat_reason(match, exc)))
            continue
        if stat.S_ISREG(st.st_mode):
            found.files.append((match, None))
            files += 1
        elif not stat.S_ISDIR(st.st_mode):  # folders matched by a pattern are passed over
            found.jobs.append(_fail(match, not_regular_reason(st.st_mode) or "not a file"))
    if not matches:
        found.jobs.append(_fail(Path(pattern), "no file matches this pattern"))


def _once_each(found: list[tuple[Path, Path | None]]) -> list[tuple[Path, Path | None]]:
    """``found`` without repeats: a file named twice, or by name and by its folder, runs once."""
    seen: set[str] = set()
    unique = []
    for src, base in found:
        key = os.path.abspath(src)
        if key not in seen:
            seen.add(key)
            unique.append((src, base))
    return unique


def plan_jobs(
    inputs: Sequence[str],
    *,
    suffix: str,
    output: str | None = None,
    recursive: bool = False,
    format: str | None = None,
    overwrite: bool = False,
    pairs: bool = False,
) -> Plan:
    """Plan the jobs for ``inputs`` (files, folders, glob patterns, or ``-`` for stdin).

    Outputs go beside their input as ``<stem><suffix><ext>`` unless ``output`` names a
    file (one input) or a folder (created if needed; with ``recursive`` the folder
    tree under each input folder is mirrored). Existing outputs are skipped unless
    ``overwrite``; an output that would replace an input is refused; two inputs that
    would share an output name are told apart by their original extension.

    ``pairs``: the inputs are files taken two by two, (left view, right view) of
    dual-pixel captures; each pair gives one output, named after the left view.
    """
    fmt = normalize_format(format) if format else None
    if STDIO in inputs:
        if len(inputs) != 1:
            raise UsageError("'-' (stdin) cannot be combined with other inputs")
        dest = None if output in (None, STDIO) else Path(output)
        return Plan([Job(None, dest, fmt)])
    if output == STDIO:
        raise UsageError("'-o -' (stdout) needs '-' (stdin) as the input")

    if pairs:
        if len(inputs) % 2 or any(Path(i).is_dir() for i in inputs):
            raise UsageError("dual-pixel input is files in pairs: LEFT RIGHT [LEFT RIGHT ...]")
        lefts, rights = inputs[::2], inputs[1::2]
        partners = {Path(a): Path(b) for a, b in zip(lefts, rights, strict=True)}
        expanded = _expand(inputs[::2], False, suffix, output)
        found = expanded.files
    else:
        partners = {}
        expanded = _expand(inputs, recursive, suffix, output)
        found = _once_each(expanded.files)
    named = list(inputs[::2]) if pairs else list(inputs)
    out = _single_output(output, named, found)
    jobs = expanded.jobs
    sources = {src.resolve() for src, _ in found} | {p.resolve() for p in partners.values()}
    claimed: dict[Path, Path] = {}
    for src, base in found:
        if out is not None:
            dest = out
        else:
            ext = output_suffix_for(src, fmt)
            folder = src.parent if output is None else Path(output)
            if output is not None and base is not None and recursive:
                folder = Path(output) / src.parent.relative_to(base)
            dest = folder / f"{src.stem}{suffix}{ext}"
            if dest.resolve() in claimed:
                dest = folder / f"{src.stem}_{src.suffix.lstrip('.')}{suffix}{ext}"
        key = dest.resolve()
        if key in sources:
            jobs.append(Job(src, dest, fmt, "fail", "output would overwrite an input; refused"))
        elif key in claimed:
            jobs.append(Job(src, dest, fmt, "fail", f"same output as {claimed[key]}; refused"))
        else:
            claimed[key] = src
            jobs.append(_existing_output(Job(src, dest, fmt, partner=partners.get(src)),
                                         overwrite))
    return Plan(jobs, expanded.ignored)


def _single_output(
    output: str | None, named: list[str], found: list[tuple[Path, Path | None]]
) -> Path | None:
    """The one output file ``-o`` names, or None when ``-o`` is a folder (or not given).

    ``-o`` names a file when it has a suffix and is not an existing folder; that needs
    one input file. A file name for several inputs (or a folder) is a usage error, never
    a folder created under that name.
    """
    if output is None:
        return None
    out = Path(output)
    as_folder = out.is_dir() or output.endswith(("/", os.sep)) or out.suffix == ""
    several = len(named) > 1 or len(found) > 1 or any(Path(n).is_dir() for n in named)
    if as_folder:
        if out.exists() and not out.is_dir():
            raise UsageError(f"{out}: exists and is not a folder (several outputs go there)")
        return None
    if several:
        raise UsageError(
            f"-o {out}: names one file, but the inputs are several files or a folder; "
            "name a folder for the outputs instead (e.g. -o restored/)"
        )
    if found and out.resolve() == found[0][0].resolve():
        raise UsageError(f"{out}: output would overwrite the input; refused (choose another -o)")
    return out if found else None


def _existing_output(job: Job, overwrite: bool) -> Job:
    """``job`` as planned given what already stands at its output path."""
    assert job.dest is not None
    state = output_state(job.dest)
    if state is None:
        return job
    if state == "complete":
        return job if overwrite else replace(job, state="skip", reason=OUTPUT_EXISTS)
    if state == "incomplete":
        return replace(job, note=INCOMPLETE_OUTPUT)
    if overwrite and state.startswith("is not an image"):
        return job
    return replace(job, state="fail", reason=f"output {job.dest} {state}")


def make_parent(dest: Path) -> None:
    """Create the folder an output goes into."""
    os.makedirs(dest.parent, exist_ok=True)
