"""``models export`` as a library: sizes, names, and only regular files replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgrestore.batch.export import check_targets, default_target, export_model, parse_size
from imgrestore.errors import UsageError

from ..specialfiles import fifo, link_loop, null_device


def test_size_and_default_name() -> None:
    assert parse_size("24x40") == (24, 40) and parse_size("16X16") == (16, 16)
    for bad in ("big", "24x", "24x40x3", "-1x4"):
        with pytest.raises(UsageError, match="HEIGHTxWIDTH"):
            parse_size(bad)
    assert default_target("builtin", "upscale", 2) == Path("builtin_upscale_x2.onnx")
    assert default_target("hf:me/denoiser@v1", None, None) == Path("denoiser.onnx")


def test_what_is_not_a_regular_file_is_never_replaced(tmp_path: Path) -> None:
    device = null_device(tmp_path)
    targets = [fifo(tmp_path / "pipe.onnx"), link_loop(tmp_path / "loop.onnx"),
               tmp_path / "folder.onnx"]
    targets[2].mkdir()
    for target in targets:
        with pytest.raises(UsageError, match="not a regular file; refused"):
            check_targets(target)
    sidecar_fifo = fifo(tmp_path / "graph.json")
    with pytest.raises(UsageError, match=r"graph\.json: is a FIFO"):
        export_model("builtin", tmp_path / "graph.onnx", task="denoise", height=16, width=16)
    assert not (tmp_path / "graph.onnx").exists() and sidecar_fifo.is_fifo()
    with pytest.raises(UsageError, match="name a .onnx file"):
        check_targets(device)
    check_targets(tmp_path / "new.onnx")  # nothing there: fine


def test_export_writes_the_graph_and_sidecar_atomically(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    target = tmp_path / "out" / "d.onnx"
    target.parent.mkdir()
    target.write_bytes(b"an older export")
    record = export_model("builtin", target, task="denoise", height=16, width=24)
    assert target.read_bytes()[:2] != b"an" and target.stat().st_size > 1000
    assert json.loads(target.with_suffix(".json").read_text()) == record
    assert record["input"]["shape"] == [1, 3, 16, 24]
    assert sorted(p.name for p in target.parent.iterdir()) == ["d.json", "d.onnx"]
