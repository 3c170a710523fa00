"""``imgrestore models export``, as a library: a model, by any name the zoo resolves, to
an ONNX graph and its JSON sidecar.

Both files are written through :func:`imgrestore.files.atomic_write`: each is either
absent, the old file or the complete new one, and only a regular file is ever replaced
(a link, folder, FIFO or device at either path is refused before the export starts).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgrestore.errors import UsageError


def parse_size(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (``--size``) as two integers."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--size {text}: use HEIGHTxWIDTH, e.g. 512x512")
    return int(parts[0]), int(parts[1])


def default_target(name: str, task: str | None, scale: int | None) -> Path:
    """``NAME.onnx`` in the current folder, named after the model (``builtin_upscale_x2``)."""
    base = name.split("/")[-1].split("@")[0].replace(":", "_") or "model"
    if base == "builtin" and task:
        base = f"builtin_{task}" + (f"_x{scale}" if scale else "")
    return Path(f"{base}.onnx")


def check_targets(target: Path) -> None:
    """A UsageError unless ``target`` names a ``.onnx`` file and neither it nor its sidecar
    path holds anything but a regular file."""
    from imgrestore.files import kind_of

    if target.suffix.lower() != ".onnx":
        raise UsageError(f"--output {target}: name a .onnx file")
    for dest in (target, target.with_suffix(".json")):
        try:
            what = kind_of(os.lstat(dest).st_mode)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"--output {dest}: cannot be checked ({exc.strerror or exc})") \
                from None
        if what is not None:
            raise UsageError(f"--output {dest}: is {what}, not a regular file; refused")


def export_model(
    name: str,
    target: Path,
    *,
    task: str | None = None,
    scale: int | None = None,
    height: int = 256,
    width: int = 256,
    dynamic: bool = False,
    opset: int = 17,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Export model ``name`` to ``target`` (``.onnx``) and ``target.with_suffix('.json')``;
    returns the sidecar's record."""
    from imgrestore.engine.export import export_onnx, sidecar
    from imgrestore.files import atomic_write
    from imgrestore.zoo.loading import load_model

    check_targets(target)
    loaded = load_model(name, task=task, scale=scale, notify=notify)
    record = sidecar(
        loaded.spec, model=loaded.name, scale=loaded.scale, height=height, width=width,
        dynamic=dynamic, opset=opset, task=loaded.task,
        licence=loaded.card.licence if loaded.card else loaded.meta.licence,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="imgrestore-export-") as folder:
        graph = export_onnx(loaded.net, loaded.spec, Path(folder) / "graph.onnx",
                            scale=loaded.scale, height=height, width=width, dynamic=dynamic,
                            opset=opset)  # fmt: skip
        atomic_write(target, graph.read_bytes())
    atomic_write(target.with_suffix(".json"),
                 (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return record


__all__ = ["check_targets", "default_target", "export_model", "parse_size"]
