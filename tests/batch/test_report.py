"""The JSON report: written atomically, and never over something that is not a report."""

from __future__ import annotations

import json

import pytest

from imgrestore.batch.report import FileResult, Report
from imgrestore.errors import ImgRestoreError
from imgrestore.files import check_report_path


def _report() -> Report:
    report = Report(task="denoise")
    report.results.append(FileResult("a.jpg", "a-denoised.jpg", "done", notes=("CMYK",)))
    report.results.append(FileResult("b.jpg", None, "failed", "b.jpg: not an image"))
    return report


def test_save_writes_the_report_and_replaces_an_earlier_one(tmp_path):
    dest = tmp_path / "reports" / "run.json"
    _report().save(dest)
    first = json.loads(dest.read_text())
    assert first["exit_code"] == 1
    assert first["summary"] == {"done": 1, "skipped": 0, "failed": 1,
                                 "planned": 0, "interrupted": 0}
    assert first["files"][0]["notes"] == ["CMYK"]
    check_report_path(dest, "--json")  # an earlier report may be replaced
    Report(task="denoise").save(dest)
    assert json.loads(dest.read_text())["files"] == []
    assert [p.name for p in dest.parent.iterdir()] == ["run.json"]  # no temporary left


def test_an_unwritable_report_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ImgRestoreError, match="run.json: cannot write"):
        _report().save(blocker / "run.json")


def test_interrupted_and_planned_files_have_their_own_status():
    report = Report(task="denoise")
    report.results.append(FileResult("a.jpg", "a-denoised.jpg", "done"))
    report.results.append(FileResult("b.jpg", "b-denoised.jpg", "interrupted",
                                     "interrupted (Ctrl-C): rerun to resume"))
    report.results.append(FileResult("c.jpg", "c-denoised.jpg", "planned"))
    assert report.to_json()["summary"] == {"done": 1, "skipped": 0, "failed": 0,
                                           "planned": 1, "interrupted": 1}
    assert int(report.exit_code) == 0  # stopped by --fail-fast: the failure sets the code
    report.interrupted = True
    assert int(report.exit_code) == 130


def test_a_report_never_replaces_a_link(tmp_path):
    import os

    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    os.symlink(target.name, tmp_path / "run.json")
    with pytest.raises(ImgRestoreError, match="run.json: is a symbolic link"):
        _report().save(tmp_path / "run.json")
    assert target.read_text() == "{}" and (tmp_path / "run.json").is_symlink()
