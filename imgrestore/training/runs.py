"""A run folder's own recipe, for ``--resume``: what may change, and what may not.

A resumed run continues with the recipe it was started with (``RUN/recipe.json``);
``--set`` values that would change what it computes are refused, all named in one
message. Only settings that change how it runs, not what it computes, may differ.

This module is torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from imgrestore.errors import UsageError
from imgrestore.training.recipe import Recipe, apply_overrides, recipe_from_dict

RECIPE_FILE = "recipe.json"

#: Keys a resumed run may change: where the data now is, how it is read, where the run
#: runs and how it reports. (``model.pretrained`` only matters when a run starts.)
RUNTIME_KEYS = frozenset({
    "data.train", "data.val", "data.workers", "data.cache", "data.cache_gb", "data.check",
    "train.device", "train.log_every", "train.save_every", "train.tensorboard",
    "model.pretrained",
})


def stored_recipe(run_dir: Path) -> Recipe | None:
    """The recipe ``run_dir`` was started with, or None when it holds no run."""
    path = Path(run_dir) / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({exc})") from None
    return recipe_from_dict(data, where=path)


def differences(old: Recipe, new: Recipe) -> list[tuple[str, Any, Any]]:
    """``(section.key, old value, new value)`` for every key that differs, runtime keys
    excepted."""
    a, b = old.to_dict(), new.to_dict()
    found = []
    for key in _keys(a):
        section, _, name = key.partition(".")
        before = a[section][name] if name else a[section]
        after = b[section][name] if name else b[section]
        if before != after and key not in RUNTIME_KEYS:
            found.append((key, before, after))
    return found


def _keys(data: Mapping[str, Any]) -> Iterable[str]:
    for section, value in data.items():
        if isinstance(value, Mapping):
            yield from (f"{section}.{name}" for name in value)
        else:
            yield section


def resume_recipe(run_dir: Path, overrides: Iterable[str]) -> Recipe:
    """The run's own recipe with ``overrides``, refusing any that change what it computes."""
    stored = stored_recipe(run_dir)
    if stored is None:
        raise UsageError(
            f"{run_dir}: no run to resume (no {RECIPE_FILE}); give a RECIPE to start one"
        )
    new = apply_overrides(stored, overrides)
    check_unchanged(stored, new, "--set")
    return new


def check_unchanged(stored: Recipe, new: Recipe, what: str) -> None:
    changed = differences(stored, new)
    if changed:
        listed = "; ".join(f"{k} = {n!r} (the run has {o!r})" for k, o, n in changed)
        raise UsageError(
            f"--resume continues the run with its own recipe, but {what} changes it: "
            f"{listed}. Drop these, or start a new run with another --output"
        )


__all__ = ["RECIPE_FILE", "RUNTIME_KEYS", "check_unchanged", "differences", "resume_recipe",
           "stored_recipe"]
