"""Which degraded image goes with which clean image: matched by file name.

``clean/kite.png`` pairs with ``degraded/kite.png``, or else with the one degraded file
whose name without extension is ``kite`` (``kite.jpg``). Two files one file: paired as
given. A clean image without a partner is an error (a metric over part of a set would
mislead); degraded images without a clean partner are ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from imgrestore.errors import UsageError


@dataclass(frozen=True)
class Pair:
    """One clean image and its degraded version (``None`` when it will be synthesized)."""

    clean: Path
    degraded: Path | None = None

    @property
    def name(self) -> str:
        return self.clean.name


def list_images(path: str | Path, *, option: str = "--clean") -> list[Path]:
    """The image files in folder ``path`` (sorted, not recursive), or ``[path]`` for a file."""
    from imgrestore.imaging.formats import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{option} {path}: no such file or folder")
    images = sorted(
        p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not images:
        raise UsageError(f"{option} {path}: no images in this folder")
    return images


def pair_by_name(clean: list[Path], degraded: list[Path], *, where: str | Path = "") -> list[Pair]:
    """Pair every clean image with its degraded namesake (see the module's rules)."""
    if len(clean) == 1 and len(degraded) == 1:
        return [Pair(clean[0], degraded[0])]
    by_name = {p.name: p for p in degraded}
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for p in degraded:
        by_stem[p.stem].append(p)
    pairs, missing = [], []
    for c in clean:
        if c.name in by_name:
            pairs.append(Pair(c, by_name[c.name]))
        elif len(by_stem[c.stem]) == 1:
            pairs.append(Pair(c, by_stem[c.stem][0]))
        elif by_stem[c.stem]:
            names = ", ".join(p.name for p in by_stem[c.stem])
            raise UsageError(f"--degraded {where}: {names} could all be {c.name}'s partner; "
                             "keep one, or give it the same extension")
        else:
            missing.append(c.name)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise UsageError(f"--degraded {where}: no image named like {missing[0]}{more} "
                         "(clean and degraded images are paired by file name)")
    return pairs


__all__ = ["Pair", "list_images", "pair_by_name"]
