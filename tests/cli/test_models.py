"""``imgrestore models ...`` through the real app."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from imgrestore.archs import COMPACT_SPECS, SPECS
from imgrestore.cli.app import app
from tests.zoo.weights import seeded_state

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IMGRESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_OFFLINE", "1")  # never the real network from tests
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["models", *args])

    return invoke


def test_help_imports_neither_torch_nor_the_hub() -> None:
    code = (
        "import sys\n"
        "from imgrestore.cli.app import app\n"
        "for args in (['--help'], ['models', '--help'], ['models', 'list', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, exit.code\n"
        "heavy = [m for m in ('torch', 'huggingface_hub') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


def test_list_json_has_every_configuration(run) -> None:
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["configuration"] for r in rows} == set(SPECS) | set(COMPACT_SPECS)
    assert len(rows) == 15 + 6
    for r in rows:
        assert {"name", "task", "family", "params", "licence", "cached", "default"} <= set(r)
        assert r["cached"] is False
        assert ("non-commercial" in r["licence"]) != r["builtin"]
    assert sum(r["default"] for r in rows) == 8
    assert sum(r["builtin"] for r in rows) == 6
    table = run("list")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split() == ["name", "task", "params", "licence", "cached", "default", "get"]
    assert len(lines) == 1 + len(rows) and "…" not in table.output  # nothing clipped
    dual = next(line for line in lines if line.startswith("mirnetv2_defocus_deblurring_dualpixel"))
    assert dual.split() == ["mirnetv2_defocus_deblurring_dualpixel", "deblur", "(dual-pixel)",
                            "5.9M", "non-commercial", "auto"]


def test_builtin_models_need_no_download_and_verify(run) -> None:
    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.loading import builtin_dir

    got = run("download", "builtin-denoise")
    assert got.exit_code == 0
    assert got.output.strip() == f"builtin-denoise: {builtin_dir(CARDS['builtin_denoise'])}"
    where = run("path", "builtin_upscale_x2")
    assert where.output.strip() == str(builtin_dir(CARDS["builtin_upscale_x2"]))
    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    assert "builtin_enhance: ok" in verified.output and "6 of 6 models verified" in verified.output
    removed = run("remove", "builtin_deblur")
    assert removed.exit_code == 3 and "built into imgrestore" in removed.output


def test_import_verify_path_remove(run, tmp_path: Path) -> None:
    file = tmp_path / "model_deraining.pth"
    buffer = io.BytesIO()
    torch.save({"state_dict": {"module." + k: v
                               for k, v in seeded_state("mprnet_deraining").items()}}, buffer)
    file.write_bytes(buffer.getvalue())

    result = run("import", str(file), "--as", "mprnet-derain")
    assert result.exit_code == 0, result.output
    assert "Academic Public License" in result.output
    folder = tmp_path / "home" / "models" / "mprnet_deraining"
    assert (folder / "model.safetensors").is_file()
    rows = {r["name"]: r for r in json.loads(run("list", "--json").output)}
    assert rows["mprnet_deraining"]["cached"] is True

    assert run("path").output.strip() == str(tmp_path / "home")
    assert run("path", "mprnet_deraining").output.strip() == str(folder)
    verified = run("verify")
    assert verified.exit_code == 0 and "mprnet_deraining: ok" in verified.output

    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(data))
    verified = run("verify")
    assert verified.exit_code == 3 and "mprnet_deraining: corrupt" in verified.output

    assert run("remove", "mprnet_deraining").exit_code == 0
    assert not folder.exists()
    gone = run("remove", "mprnet_deraining")
    assert gone.exit_code == 3 and "not in the cache" in gone.output


def test_import_refuses_the_wrong_file(run, tmp_path: Path) -> None:
    file = tmp_path / "model_deraining.pth"
    torch.save({"state_dict": seeded_state("mprnet_deraining")}, file)
    result = run("import", str(file), "--as", "mprnet_deblurring")
    assert result.exit_code == 3
    assert "mprnet_deblurring expects mprnet(" in result.output
    assert not (tmp_path / "home" / "models" / "mprnet_deblurring").exists()


def test_download_explains_what_to_do(run) -> None:
    result = run("download", "mprnet_deblurring")
    assert result.exit_code == 3
    assert "imgrestore models import model_deblurring.pth --as mprnet_deblurring" in (
        result.output
    )
    offline = run("download", "denoise", "hf:me/absent")
    assert offline.exit_code == 3
    assert "offline mode is on" in offline.output and "hf:me/absent" in offline.output


def test_export_writes_a_graph_and_its_sidecar(run, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    out = tmp_path / "export" / "x2.onnx"
    done = run("export", "builtin", "--task", "upscale", "-s", "2", "-o", str(out),
               "--size", "16x24", "--opset", "17")  # fmt: skip
    assert done.exit_code == 0, done.output
    record = json.loads(out.with_suffix(".json").read_text())
    assert (record["model"], record["scale"], record["multiple"]) == ("builtin_upscale_x2", 2, 4)
    assert record["input"]["shape"] == [1, 3, 16, 24] and record["opset"] == 17
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"input": np.full((1, 3, 16, 24), 0.5, np.float32)})
    assert result.shape == (1, 3, 32, 48) and abs(float(result.mean()) - 0.5) < 0.05
    assert not list(out.parent.glob(".*.part"))


def test_export_refuses_bad_requests(run, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff not really")
    for args, message in (
        (("--format", "ncnn"), "only onnx"),
        (("--size", "30x32"), "multiples of 4"),
        (("--size", "big"), "HEIGHTxWIDTH"),
        (("-o", str(photo)), "name a .onnx file"),
    ):
        done = run("export", "builtin", "--task", "denoise", *args)
        assert done.exit_code == 2 and message in done.output, done.output
    assert photo.read_bytes() == b"\xff\xd8\xff not really"
