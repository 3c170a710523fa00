"""``imgrestore models ...`` through the real app."""

from __future__ import annotations

import hashlib
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
from tests.zoo.hfcache import hf_cache_files
from tests.zoo.weights import official_pth, seeded_state

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
    assert lines[0].split() == ["name", "aliases", "task", "params", "licence", "cached",
                                "default", "source"]
    assert len(lines) == 1 + len(rows) and "…" not in table.output  # nothing clipped
    by_name = {line.split()[0]: line.split() for line in lines[1:]}
    assert by_name["mirnetv2_defocus_deblurring_dualpixel"] == [
        "mirnetv2_defocus_deblurring_dualpixel", "dual-pixel-defocus", "deblur", "(dual-pixel)",
        "5.9M", "non-commercial", "github"]
    assert by_name["mprnet_deblurring"] == ["mprnet_deblurring", "mprnet-deblur", "deblur",
                                            "20.1M", "non-commercial", "yes", "drive+hf?"]
    assert by_name["builtin_upscale_x4"][:2] == ["builtin_upscale_x4", "builtin-upscale-x4"]


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


def test_usage_errors_exit_2_in_one_line(run, tmp_path: Path) -> None:
    file = tmp_path / "w.pth"
    torch.save({"state_dict": seeded_state("mprnet_deraining")}, file)
    for args, words in ((["path", "nosuch"], "nosuch: no such model"),
                        (["import", str(tmp_path / "nothere.pth"), "--as", "mprnet_deraining"],
                         "nothere.pth: no such file"),
                        (["import", str(file), "--as", "nosuch"], "nosuch: no such model"),
                        (["import", str(tmp_path), "--as", "mprnet_deraining"],
                         "not a regular file")):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_a_text_file_is_refused_as_weights_in_one_line(run, tmp_path: Path) -> None:
    notes = tmp_path / "notes.pth"
    notes.write_text("These are not weights.\n")
    result = run("import", str(notes), "--as", "mprnet_deraining")
    assert result.exit_code == 3
    assert result.output.strip() == (f"error: {notes}: not a weights file (neither a PyTorch "
                                     "checkpoint nor safetensors)")


def test_push_without_a_network_is_one_line(tmp_path: Path) -> None:
    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.loading import builtin_dir

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "IMGRESTORE_"))}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_TOKEN="hf_not_a_real_token",
               HF_HOME=str(tmp_path / "hf"), IMGRESTORE_HOME=str(tmp_path / "home"),
               OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "imgrestore", "models", "push",
         str(builtin_dir(CARDS["builtin_denoise"])), "hf:me/denoiser"],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: hf:me/denoiser: push failed (") and "Traceback" not in line
@pytest.fixture
def online(run, monkeypatch: pytest.MonkeyPatch, drive):
    """``run`` with the network on, Google Drive played by ``drive``, GitHub unreachable."""
    monkeypatch.delenv("IMGRESTORE_OFFLINE")
    return run


DERAIN_ID = "1O3WEJbcat7eTY6doXWeorAbQ1l_WmMnM"


def test_download_task_then_all_then_pin(online, drive, tmp_path: Path) -> None:
    from imgrestore.zoo.cards import CARDS

    body = official_pth(seeded_state("mprnet_deraining"), "state_dict", prefix=True)
    drive.add(DERAIN_ID, "model_deraining.pth", body)
    drive.confirm.add(DERAIN_ID)
    home = tmp_path / "home"

    task = online("download", "--task", "derain")
    assert task.exit_code == 0, task.output
    rows = [line.split(maxsplit=2) for line in task.stdout.splitlines()]
    assert rows == [["mprnet_deraining", "fetched", str(home / "models" / "mprnet_deraining")],
                    ["builtin_derain", "skipped", rows[1][2]]]
    assert rows[1][2].startswith("built in: ")
    assert "Academic Public License" in task.stderr
    assert task.stderr.strip().endswith("1 fetched, 1 skipped, 0 failed")

    everything = online("download", "--all")  # one cached, six built in, the rest missing
    assert everything.exit_code == 3
    table = {line.split()[0]: line.split(maxsplit=2)[1:] for line in everything.stdout.splitlines()}
    assert list(table) == list(CARDS)
    cached = home / "models" / "mprnet_deraining"
    assert table["mprnet_deraining"] == ["skipped", f"already cached: {cached}"]
    assert {n for n, (status, _) in table.items() if status == "skipped"} == {
        "mprnet_deraining", *(c.name for c in CARDS.values() if c.builtin)}
    failed = {n: why for n, (status, why) in table.items() if status == "failed"}
    assert len(failed) == 14
    assert failed["mprnet_deblurring"].startswith("Google Drive refused the download")
    assert everything.stderr.strip().endswith("0 fetched, 7 skipped, 14 failed")
    assert everything.stderr.count("error: ") == 14

    pinned = online("pin")
    assert pinned.exit_code == 0, pinned.output
    digest = hashlib.sha256(body).hexdigest()
    assert pinned.stdout == (f'    "mprnet_deraining": (  # first-use\n'
                             f'        "{digest}", {len(body):_}),\n')
    assert eval("{" + pinned.stdout + "}") == {"mprnet_deraining": (digest, len(body))}
    assert max(len(line) for line in pinned.stdout.splitlines()) <= 100  # ruff's limit
    assert "paste into PINS in imgrestore/zoo/cards.py" in pinned.stderr
    as_json = json.loads(online("pin", "--json").stdout)
    assert as_json == [{"name": "mprnet_deraining", "sha256": digest, "size": len(body),
                        "trust": "first-use",
                        "from": CARDS["mprnet_deraining"].sources[0].location}]


def test_download_needs_names_or_a_selection(run) -> None:
    assert run("download").exit_code == 2
    assert run("download", "--task", "sharpen").exit_code == 2


def test_pin_says_when_there_is_nothing_to_pin(run) -> None:
    result = run("pin")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no cached official model to pin" in result.stderr


def test_hub_mirror_is_opt_in_and_served_from_the_hf_cache(tmp_path: Path) -> None:
    body = official_pth(seeded_state("mprnet_deraining"), "state_dict", prefix=True)
    hf_cache_files(tmp_path / "hf", "deepinv/MPRNet", {"model_deraining.pth": body})
    env = {k: v for k, v in os.environ.items() if k not in ("IMGRESTORE_OFFLINE", "HF_HOME")}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "hf"), OMP_NUM_THREADS="1",
               IMGRESTORE_HOME=str(tmp_path / "home"))

    def download(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "imgrestore", "models", "download",
                               "mprnet_deraining", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    plain = download()  # the mirror is unverified: not tried unless asked for
    assert plain.returncode == 3
    assert "offline mode is on" in plain.stderr
    assert not (tmp_path / "home" / "models" / "mprnet_deraining").exists()
    mirrored = download("--unverified")
    assert mirrored.returncode == 0, mirrored.stderr
    meta = json.loads((tmp_path / "home" / "models" / "mprnet_deraining" /
                       "imgrestore.json").read_text())
    assert meta["source"] == {"url": "hf:deepinv/MPRNet/model_deraining.pth",
                              "filename": "model_deraining.pth",
                              "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
                              "trust": "first-use"}
