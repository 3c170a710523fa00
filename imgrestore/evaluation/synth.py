"""``--synthesize SPEC``: degrade clean images with the training code, seeded.

A spec is written one of two ways:

- inline, ``KIND[:KEY=VALUE,...]``, several steps joined by ``+`` (a chain)::

      gaussian_noise:sigma=25
      gaussian_noise:sigma=5..50,clip=true      # LOW..HIGH: drawn per image
      bicubic:scale=4,reupsample=false          # true super-resolution input
      motion_blur:kernel=line,size=15+gaussian_noise:sigma=2

  VALUE is a number, ``LOW..HIGH`` (a range), ``true``/``false``, or a word;
- a TOML or JSON file holding the spec table (``kind = "gaussian_noise"``, ``sigma = 25``),
  a ``degradation`` table, or a training recipe (its ``data.degradation`` is used).

The kinds and parameters are :data:`imgrestore.ops.degrade.DEFAULTS`. Image number
``i`` (in the sorted list of clean images) is degraded with the generator
``numpy.random.default_rng([seed, i])``, as training's validation set does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from imgrestore.errors import UsageError

Spec = dict[str, Any]


def parse_spec(text: str) -> Spec:
    """The checked degradation spec ``text`` names (inline syntax or a file)."""
    from imgrestore.ops.degrade import check_spec

    text = text.strip()
    path = Path(text)
    spec = _read_file(path) if path.suffix.lower() in (".toml", ".json") else _parse_inline(text)
    try:
        return check_spec(spec)
    except ValueError as exc:
        raise UsageError(f"--synthesize {text}: {exc}") from None


def _parse_inline(text: str) -> Spec:
    steps = [_parse_step(part.strip(), text) for part in text.split("+")]
    return steps[0] if len(steps) == 1 else {"kind": "chain", "steps": steps}


def _parse_step(step: str, text: str) -> Spec:
    kind, _, params = step.partition(":")
    if not kind.strip():
        raise UsageError(f"--synthesize {text}: expected KIND[:KEY=VALUE,...], e.g. "
                         "gaussian_noise:sigma=25")
    spec: Spec = {"kind": kind.strip()}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--synthesize {text}: {item!r} is not KEY=VALUE")
        spec[key.strip()] = parse_value(value.strip())
    return spec


def parse_value(value: str) -> Any:
    """``25`` -> 25, ``2.5`` -> 2.5, ``5..50`` -> [5, 50], ``true`` -> True, else the word."""
    low, sep, high = value.partition("..")
    if sep:
        return [_number(low, value), _number(high, value)]
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return _number(value, value)
    except UsageError:
        return value


def _number(text: str, whole: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--synthesize: {whole!r} is not a number or LOW..HIGH range") from None


def _read_file(path: Path) -> Spec:
    if not path.is_file():
        raise UsageError(f"--synthesize {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            from imgrestore._toml import tomllib

            data = tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--synthesize {path}: cannot read ({exc})") from None
    if isinstance(data, dict) and "kind" not in data:
        if isinstance(data.get("degradation"), dict):
            data = data["degradation"]
        elif isinstance(data.get("data"), dict) and isinstance(
            data["data"].get("degradation"), dict
        ):
            data = data["data"]["degradation"]
    if not isinstance(data, dict) or "kind" not in data:
        raise UsageError(f"--synthesize {path}: no degradation found (a table with 'kind', "
                         "a [degradation] table, or a recipe's data.degradation)")
    return data


def describe(spec: Spec) -> str:
    """``spec`` in the inline syntax (what the report and table show)."""
    if spec["kind"] == "chain":
        return "+".join(describe(step) for step in spec["steps"])
    params = ",".join(f"{k}={_show(v)}" for k, v in spec.items() if k != "kind")
    return f"{spec['kind']}:{params}" if params else spec["kind"]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "..".join(str(v) for v in value)
    return str(value)


def synthesis_rng(seed: int, index: int) -> np.random.Generator:
    """The generator that degrades clean image number ``index``."""
    return np.random.default_rng([seed, index])


def synthesize(spec: Spec, clean: np.ndarray, *, seed: int, index: int) -> np.ndarray:
    """Degrade ``clean`` (float32 H x W x 3) as training would, with image ``index``'s
    generator."""
    from imgrestore.ops.degrade import degrade

    return degrade(spec, clean, synthesis_rng(seed, index))


def output_scale(spec: Spec) -> int:
    """How much smaller the synthesized input is than the clean image (1 unless true SR)."""
    from imgrestore.ops.degrade import output_scale as scale

    return scale(spec)


__all__ = ["describe", "output_scale", "parse_spec", "parse_value", "synthesis_rng", "synthesize"]
