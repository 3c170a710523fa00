from __future__ import annotations

from pathlib import Path

import pytest

from imgrestore.errors import UsageError
from imgrestore.evaluation.pairs import list_images, pair_by_name


def _touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return sorted(folder / n for n in names)


def test_pairs_by_name_then_by_stem(tmp_path: Path) -> None:
    clean = _touch(tmp_path / "clean", "a.png", "b.png", "notes.txt")
    degraded = _touch(tmp_path / "deg", "a.png", "b.jpg", "c.png")
    images = list_images(tmp_path / "clean")
    assert [p.name for p in images] == ["a.png", "b.png"]
    pairs = pair_by_name(images, list_images(tmp_path / "deg"))
    assert [(p.clean.name, p.degraded.name) for p in pairs] == [("a.png", "a.png"),
                                                                 ("b.png", "b.jpg")]
    assert clean and degraded


def test_missing_and_ambiguous_partners(tmp_path: Path) -> None:
    clean = _touch(tmp_path / "clean", "a.png", "b.png", "c.png")
    with pytest.raises(UsageError, match="no image named like b.png and 1 more"):
        pair_by_name(clean, _touch(tmp_path / "deg", "a.png"), where="deg")
    with pytest.raises(UsageError, match="could all be"):
        pair_by_name(clean[:1] + clean[1:], _touch(tmp_path / "two", "a.png", "b.jpg", "b.tif",
                                                   "c.png"))


def test_single_files_pair_whatever_their_names(tmp_path: Path) -> None:
    (clean,) = _touch(tmp_path, "x.png")
    (other,) = _touch(tmp_path, "y.jpg")
    assert pair_by_name([clean], [other])[0].degraded == other


def test_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        list_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="--degraded .*no images"):
        list_images(tmp_path / "empty", option="--degraded")
