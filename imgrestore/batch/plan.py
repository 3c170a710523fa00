"""From command-line inputs to a plan: which file goes where, and what is skipped.

Planning reads no pixels (at most the first bytes of a file, to tell images from other
files), so ``--dry-run`` is instant and a rerun that only skips finished outputs costs
almost nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from imgrestore import storage
from imgrestore.batch.expand import expand, image_format, once_each
from imgrestore.errors import UsageError
from imgrestore.imaging.complete import output_state
from imgrestore.imaging.formats import (
    CANONICAL_SUFFIX,
    RAW_SUFFIXES,
    SUFFIX_FORMAT,
    normalize_format,
)
from imgrestore.storage import Location

STDIO = "-"

JobState = Literal["todo", "skip", "fail"]
#: Why a job whose output is already there is skipped.
OUTPUT_EXISTS = "output exists; --overwrite redoes it"
#: The note of a job whose earlier output was empty or cut short.
INCOMPLETE_OUTPUT = "the existing output was incomplete (empty or cut short): redone"


@dataclass(frozen=True)
class Job:
    """One image to restore. ``source``/``dest`` None mean stdin/stdout."""

    source: Location | None
    dest: Location | None
    #: Output format for the writer (canonical name), or None for "same as the input".
    format: str | None = None
    state: JobState = "todo"
    #: Why the job is skipped or failed before it starts.
    reason: str | None = None
    #: The right view of a dual-pixel pair (``source`` is the left one).
    partner: Location | None = None
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
    ignored: list[Location] = field(default_factory=list)

    @property
    def todo(self) -> list[Job]:
        return [j for j in self.jobs if j.state == "todo"]


def output_suffix_for(source: Location, format: str | None) -> str:
    """The suffix an output of ``source`` gets: ``--format``'s, else the input's own.

    Camera RAW files become 16-bit TIFF. A file whose content disagrees with its
    extension gets the suffix of its content. ``DNG`` applies to camera RAW files only;
    other files keep their own format.
    """
    kind = image_format(source)
    is_raw = kind == "RAW" or source.suffix.lower() in RAW_SUFFIXES
    if format == "DNG" and not is_raw:
        format = None
    if format is not None:
        return CANONICAL_SUFFIX[format]
    if is_raw:
        return CANONICAL_SUFFIX["TIFF"]
    if kind is None or SUFFIX_FORMAT.get(source.suffix.lower()) == kind:
        return source.suffix
    return CANONICAL_SUFFIX.get(kind, source.suffix)


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
        dest = None if output in (None, STDIO) else storage.location(output)
        return Plan([Job(None, dest, fmt)])
    if output == STDIO:
        raise UsageError("'-o -' (stdout) needs '-' (stdin) as the input")
    if pairs:
        if len(inputs) % 2 or any(storage.location(i).is_dir() for i in inputs):
            raise UsageError("dual-pixel input is files in pairs: LEFT RIGHT [LEFT RIGHT ...]")
        partners = {storage.location(a): storage.location(b)
                    for a, b in zip(inputs[::2], inputs[1::2], strict=True)}
        expanded = expand(inputs[::2], False, suffix, output)
        found = expanded.files
    else:
        partners = {}
        expanded = expand(inputs, recursive, suffix, output)
        found = once_each(expanded.files)
    single = _single_output(output, list(inputs[::2]) if pairs else list(inputs), found)
    out = storage.location(output) if output else None
    targets = _Targets(found, partners, overwrite)
    jobs = [Job(r.path, None, state=r.state, reason=r.reason) for r in expanded.refused]
    for src, base in found:
        dest = single or _destination(src, base, out, recursive, suffix, fmt, targets)
        jobs.append(targets.job(src, dest, fmt))
    return Plan(jobs, expanded.ignored)


def _single_output(
    output: str | None, named: list[str], found: list[tuple[Location, Location | None]]
) -> Location | None:
    """The one output file ``-o`` names, or None when ``-o`` is a folder (or not given).

    ``-o`` names a file when it has a suffix and is not an existing folder; that needs
    one input file. A file name for several inputs (or a folder) is a usage error, never
    a folder created under that name.
    """
    if output is None:
        return None
    out = storage.location(output)
    as_folder = out.is_dir() or output.endswith(("/", os.sep)) or out.suffix == ""
    several = len(named) > 1 or len(found) > 1 or any(storage.location(n).is_dir() for n in named)
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


def _destination(src: Location, base: Location | None, out: Location | None,
                 recursive: bool, suffix: str, fmt: str | None, targets: _Targets) -> Location:
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

    def __init__(self, found: list[tuple[Location, Location | None]],
                 partners: dict[Location, Location],
                 overwrite: bool) -> None:
        self.sources = {src.resolve() for src, _ in found} | {
            p.resolve() for p in partners.values()}
        self.partners = partners
        self.overwrite = overwrite
        self.claimed: dict[Location, Location] = {}
        #: Remote output folders are listed once, not asked per file.
        self.exists = storage.Existing()

    def taken(self, dest: Location) -> bool:
        return dest.resolve() in self.claimed

    def job(self, src: Location, dest: Location, fmt: str | None) -> Job:
        """The job writing ``src`` to ``dest``: to do, skipped (output exists) or failed."""
        key = dest.resolve()
        if key in self.sources:
            return Job(src, dest, fmt, "fail", "output would overwrite an input; refused")
        if key in self.claimed:
            return Job(src, dest, fmt, "fail", f"same output as {self.claimed[key]}; refused")
        self.claimed[key] = src
        job = Job(src, dest, fmt, partner=self.partners.get(src))
        if storage.is_remote(dest):  # a remote output is whole or absent (atomic uploads)
            if self.exists(dest) and not self.overwrite:
                return replace(job, state="skip", reason=OUTPUT_EXISTS)
            return job
        return _existing_output(job, self.overwrite)


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


def make_parent(dest: Location) -> None:
    """Create the folder an output goes into."""
    storage.make_parent(dest)


def remove_stale_parts_of(jobs: Sequence[Job]) -> None:
    """Delete what interrupted writes of the planned outputs left behind (``.part``)."""
    from imgrestore.files import remove_stale_parts

    dests = [job.dest for job in jobs if isinstance(job.dest, Path)]  # local outputs
    # an image with alpha headed for JPEG is written as PNG
    remove_stale_parts(*dests, *(d.with_suffix(".png") for d in dests if d.suffix != ".png"))
