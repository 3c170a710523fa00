"""The README as a user runs it: every command block that can run offline is run, in a
folder holding the files it names, on a machine whose network is gone (a proxy on
127.0.0.1 that refuses every connection), with an empty weights cache.

A ``console`` block is a transcript: its ``$`` lines are run and what they print must
match what the README shows (times aside; ``...`` skips lines). A ``bash`` block's lines
must each succeed, unless the line says what it needs beyond the install (``# needs``).
The set-up lines (``pip install ...``) are the README's two set-up commands; ``.ci/run``
must run the second one exactly.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PHOTOS = ROOT / "tests" / "data" / "photos"
BLOCK = re.compile(r"^```(bash|console)\n(.*?)^```", re.S | re.M)
SETUP = ("pip ", "python -m pytest")


@dataclass
class Step:
    """One command of a block, and the output the README shows for it (console only)."""

    line: str
    shown: list[str] = field(default_factory=list)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def steps(kind: str, body: str) -> list[Step]:
    if kind == "bash":
        return [Step(line) for line in body.splitlines() if line.strip()]
    found: list[Step] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            found.append(Step(line[2:]))
        elif found:
            found[-1].shown.append(line)
    return found


#: The install half of the README's run command; the restore half is run here.
INSTALL = "pip install . && "


def command(step: Step) -> str | None:
    """What is run for ``step``: None for set-up lines and lines that say they need more
    than the install."""
    if step.line.startswith(INSTALL):
        return step.line.removeprefix(INSTALL)
    if step.line.startswith(SETUP) or "needs" in step.line.partition(" # ")[2]:
        return None
    return step.line


def runnable(step: Step) -> bool:
    return command(step) is not None


RUN_BLOCKS = [(kind, body) for kind, body in blocks()
              if any(runnable(s) for s in steps(kind, body))]


@pytest.fixture
def refusing_proxy() -> Iterator[str]:
    """A 127.0.0.1 port bound but never listening: every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with every file the README's examples name."""
    from PIL import Image

    photos = sorted(PHOTOS.glob("*.jpg"))
    shutil.copytree(PHOTOS, tmp_path / "tests" / "data" / "photos")
    shutil.copytree(PHOTOS, tmp_path / "photos")
    shutil.copytree(PHOTOS, tmp_path / "demo")
    (tmp_path / "demo" / "broken.jpg").write_bytes(b"this is not a JPEG\n" * 4)
    for name in ("photo.jpg", "shaky.jpg", "night.jpg"):
        shutil.copy(photos[3], tmp_path / name)
    Image.open(photos[4]).save(tmp_path / "small.png")
    for i, sub in enumerate(("day1", "day2/evening")):
        (tmp_path / "shoot" / sub).mkdir(parents=True)
        shutil.copy(photos[i], tmp_path / "shoot" / sub / photos[i].name)
    return tmp_path


def _env(home: Path, proxy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith("_PROXY") and not k.startswith(("IMGRESTORE_", "HF_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        IMGRESTORE_HOME=str(home / "imgrestore"), HF_HOME=str(home / "hf"),
        HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy,
        NO_COLOR="1", COLUMNS="400", OMP_NUM_THREADS="1",
    )
    return env


def _normal(line: str) -> str:
    """A line with times (``0.1s``, ``1.8s``) as ``Ts`` and runs of spaces as one."""
    return " ".join(re.sub(r"\b\d+\.\d+s\b", "Ts", line).split())


def check_shown(shown: list[str], printed: str, line: str) -> None:
    """Every line the README shows is printed, in order; ``...`` stands for any lines."""
    actual = [_normal(a) for a in printed.splitlines() if a.strip()]
    at = 0
    skipping = False
    for want in (_normal(s) for s in shown if s.strip()):
        if want == "...":
            skipping = True
            continue
        rest = actual[at:] if skipping else actual[at:at + 1]
        assert want in rest, (
            f"README shows for `{line}`:\n  {want}\nbut it printed:\n" + "\n".join(actual))
        at += rest.index(want) + 1
        skipping = False
    assert skipping or at == len(actual), (
        f"`{line}` printed more than the README shows:\n" + "\n".join(actual[at:]))


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "body"), RUN_BLOCKS,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(RUN_BLOCKS)])
def test_readme_block_runs_offline(kind: str, body: str, workdir: Path,
                                   refusing_proxy: str, tmp_path_factory) -> None:
    env = _env(tmp_path_factory.mktemp("home"), refusing_proxy)
    last_code = 0
    for step in steps(kind, body):
        if not runnable(step):
            continue
        if step.line.strip() == "echo $?":
            assert [str(last_code)] == [s for s in step.shown if s.strip()], step.shown
            continue
        done = subprocess.run(["bash", "-c", f"set -o pipefail\n{command(step)}\n"],
                              cwd=workdir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=600)
        printed = done.stdout.decode("utf-8", "replace")
        last_code = done.returncode
        if kind == "console":
            check_shown(step.shown, printed, step.line)
        else:
            assert done.returncode == 0, f"`{step.line}` exited {done.returncode}:\n{printed}"


def test_lines_not_run_say_what_they_need() -> None:
    skipped = [s.line for kind, body in blocks() for s in steps(kind, body)
               if not s.line.startswith(SETUP) and not runnable(s)]
    assert skipped, "the README names no command that needs network or a download"
    for line in skipped:
        assert re.search(r"# needs \w+", line), line


def test_ci_runs_the_readme_test_command() -> None:
    setup = [s.line for kind, body in blocks() if kind == "bash"
             for s in steps(kind, body) if s.line.startswith(SETUP)]
    assert len(setup) == 2, setup
    run_command, test_command = setup
    assert run_command.startswith("pip install . && imgrestore ")
    assert '-e ".[test,' in test_command and test_command.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
    # The CPU build of torch goes in first, as the README's note tells CPU-only users.
    torch_first = next(i for i, line in enumerate(ci) if "torch" in line and "install" in line)
    assert torch_first < ci.index(test_command)
