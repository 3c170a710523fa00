"""From command-line inputs to a plan: which file goes where, and what is skipped.

Planning reads no pixels (at most the first bytes of a file, to tell images from other
files), so ``--dry-run`` is instant and a rerun that only skips finished outputs costs
almost nothing.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imgrestore.errors import UsageError
from imgrestore.imaging.formats import (
    CANONICAL_SUFFIX,
    IMAGE_SUFFIXES,
    RAW_SUFFIXES,
    SUFFIX_FORMAT,
    normalize_format,
    sniff_format,
)

STDIO = "-"

JobState = Literal["todo", "skip", "fail"]
#: Why a job whose output is already there is skipped.
OUTPUT_EXISTS = "output exists; --overwrite redoes it"


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
    """Canonical format of ``path`` by content (``RAW`` for camera files), or None."""
    try:
        with path.open("rb") as f:
            kind = sniff_format(f.read(64))
    except OSError:
        return None
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
    return path.stem.endswith(suffix)


def _expand(
    inputs: Sequence[str], recursive: bool, suffix: str
) -> tuple[list[tuple[Path, Path | None]], list[Path], list[Job]]:
    """Files to process as (file, folder it was found in), ignored files, failed inputs."""
    found: list[tuple[Path, Path | None]] = []
    ignored: list[Path] = []
    failed: list[Job] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            walker = sorted(path.rglob("*") if recursive else path.iterdir())
            for child in walker:
                if not child.is_file() or child.name.startswith("."):
                    continue
                if _looks_like_our_output(child, suffix):
                    continue  # an earlier run's output beside its input
                known = child.suffix.lower() in IMAGE_SUFFIXES
                if known or _image_format(child) is not None:
                    found.append((child, path))
                else:
                    ignored.append(child)
        elif path.exists():
            found.append((path, None))
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=recursive))
            files = [m for m in matches if m.is_file()]
            if not files:
                failed.append(Job(path, None, state="fail", reason="no file matches this pattern"))
            found.extend((m, None) for m in files)
        else:
            failed.append(Job(path, None, state="fail", reason="no such file or folder"))
    return found, ignored, failed


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
        partners = {Path(a): Path(b) for a, b in zip(inputs[::2], inputs[1::2], strict=True)}
        found, ignored, jobs = _expand(inputs[::2], False, suffix)
    else:
        partners = {}
        found, ignored, jobs = _expand(inputs, recursive, suffix)
        found = _once_each(found)
    out = Path(output) if output else None
    single = _is_single_file_output(out, found, list(inputs[::2]) if pairs else list(inputs))
    if single and out is not None and out.resolve() == found[0][0].resolve():
        raise UsageError(f"{out}: output would overwrite the input; refused (choose another -o)")
    if out is not None and not single and out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder (several outputs go there)")
    targets = _Targets(found, partners, overwrite)
    for src, base in found:
        dest = out if single else _destination(src, base, out, recursive, suffix, fmt, targets)
        assert dest is not None
        jobs.append(targets.job(src, dest, fmt))
    return Plan(jobs, ignored)


def _is_single_file_output(out: Path | None, found: list[tuple[Path, Path | None]],
                           named: list[str]) -> bool:
    """Whether ``-o`` names the one output file of one input file (not a folder)."""
    return (
        out is not None and len(found) == 1 and len(named) == 1 and not Path(named[0]).is_dir()
        and not out.is_dir() and out.suffix != ""
    )


def _destination(src: Path, base: Path | None, out: Path | None, recursive: bool,
                 suffix: str, fmt: str | None, targets: _Targets) -> Path:
    """Where ``src``'s output goes: beside it or under ``out`` (mirroring ``base``'s tree
    with ``recursive``), told apart by its extension when another input took the name."""
    ext = output_suffix_for(src, fmt)
    folder = src.parent if out is None else out
    if out is not None and base is not None and recursive:
        folder = out / src.parent.relative_to(base)
    dest = folder / f"{src.stem}{suffix}{ext}"
    if targets.taken(dest):
        dest = folder / f"{src.stem}_{src.suffix.lstrip('.')}{suffix}{ext}"
    return dest


class _Targets:
    """The outputs claimed so far, and the inputs no output may replace."""

    def __init__(self, found: list[tuple[Path, Path | None]], partners: dict[Path, Path],
                 overwrite: bool) -> None:
        self.sources = {src.resolve() for src, _ in found} | {
            p.resolve() for p in partners.values()}
        self.partners = partners
        self.overwrite = overwrite
        self.claimed: dict[Path, Path] = {}

    def taken(self, dest: Path) -> bool:
        return dest.resolve() in self.claimed

    def job(self, src: Path, dest: Path, fmt: str | None) -> Job:
        """The job writing ``src`` to ``dest``: to do, skipped (output exists) or failed."""
        key = dest.resolve()
        if key in self.sources:
            return Job(src, dest, fmt, "fail", "output would overwrite an input; refused")
        if key in self.claimed:
            return Job(src, dest, fmt, "fail", f"same output as {self.claimed[key]}; refused")
        self.claimed[key] = src
        if dest.exists() and not self.overwrite:
            return Job(src, dest, fmt, "skip", OUTPUT_EXISTS)
        return Job(src, dest, fmt, partner=self.partners.get(src))


def make_parent(dest: Path) -> None:
    """Create the folder an output goes into."""
    os.makedirs(dest.parent, exist_ok=True)
