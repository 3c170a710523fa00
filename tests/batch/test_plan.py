"""Planning: inputs to outputs, without reading pixels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from imgrestore.batch.plan import plan_jobs
from imgrestore.errors import UsageError


def _img(path: Path, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path, format=fmt)
    return path


def _plan(inputs, **kw):
    kw.setdefault("suffix", "-denoised")
    return plan_jobs([str(i) for i in inputs], **kw)


def test_beside_the_input_with_the_task_suffix(tmp_path):
    src = _img(tmp_path / "photo.jpg")
    (job,) = _plan([src]).jobs
    assert job.state == "todo" and job.dest == tmp_path / "photo-denoised.jpg"


def test_single_file_output(tmp_path):
    src = _img(tmp_path / "a.png")
    (job,) = _plan([src], output=str(tmp_path / "out" / "b.png")).jobs
    assert job.dest == tmp_path / "out" / "b.png"


def test_folder_output_and_recursive_mirror(tmp_path):
    _img(tmp_path / "in" / "x.png")
    _img(tmp_path / "in" / "sub" / "y.jpg")
    flat = _plan([tmp_path / "in"], output=str(tmp_path / "out"))
    assert [j.dest for j in flat.jobs] == [tmp_path / "out" / "x-denoised.png"]
    deep = _plan([tmp_path / "in"], output=str(tmp_path / "out"), recursive=True)
    assert sorted(j.dest for j in deep.jobs) == [
        tmp_path / "out" / "sub" / "y-denoised.jpg", tmp_path / "out" / "x-denoised.png"
    ]


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path):
    src = _img(tmp_path / "p.png")
    _img(tmp_path / "p-denoised.png")
    (job,) = [j for j in _plan([src]).jobs]
    assert job.state == "skip"
    (job,) = _plan([src], overwrite=True).jobs
    assert job.state == "todo"


def test_earlier_outputs_in_the_folder_are_not_inputs(tmp_path):
    _img(tmp_path / "p.png")
    _img(tmp_path / "p-denoised.png")
    plan = _plan([tmp_path])
    assert [j.source.name for j in plan.jobs] == ["p.png"]


def test_non_images_in_folders_are_ignored_but_named_files_fail_later(tmp_path):
    _img(tmp_path / "p.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_text("not an image")
    plan = _plan([tmp_path])
    assert plan.ignored == [tmp_path / "notes.txt"]
    assert sorted(j.source.name for j in plan.jobs) == ["fake.jpg", "p.png"]


def test_extensionless_image_in_a_folder_is_found_by_content(tmp_path):
    _img(tmp_path / "scan", fmt="PNG")
    (job,) = _plan([tmp_path]).jobs
    assert job.dest == tmp_path / "scan-denoised.png"


def test_missing_inputs_and_empty_globs_fail(tmp_path):
    plan = _plan([tmp_path / "nope.jpg", str(tmp_path / "*.png")])
    assert [j.state for j in plan.jobs] == ["fail", "fail"]
    assert "no such file" in plan.jobs[0].reason
    assert "matches" in plan.jobs[1].reason


def test_a_file_named_twice_runs_once(tmp_path):
    a = _img(tmp_path / "a.png")
    _img(tmp_path / "b.png")
    plan = _plan([a, str(tmp_path), str(tmp_path / "*.png"), f"{tmp_path}/./a.png"])
    assert [j.source.name for j in plan.jobs] == ["a.png", "b.png"]
    assert all(j.state == "todo" for j in plan.jobs)


def test_glob(tmp_path):
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.png")
    _img(tmp_path / "c.jpg")
    plan = _plan([str(tmp_path / "*.png")])
    assert [j.source.name for j in plan.jobs] == ["a.png", "b.png"]


def test_output_may_not_overwrite_an_input(tmp_path):
    a = _img(tmp_path / "a.png")
    with pytest.raises(UsageError, match="overwrite the input"):
        _plan([a], output=str(a))
    b = _img(tmp_path / "b-denoised.png")
    jobs = _plan([a, b], output=str(tmp_path), suffix="-denoised").jobs
    # a -> a-denoised.png (new); b-denoised.png -> b-denoised-denoised.png
    assert all(j.state == "todo" for j in jobs)


def test_name_clashes_get_the_original_extension(tmp_path):
    a = _img(tmp_path / "a.jpg")
    b = _img(tmp_path / "a.jpeg", fmt="JPEG")
    jobs = _plan([a, b], format="png").jobs
    assert [j.dest.name for j in jobs] == ["a-denoised.png", "a_jpeg-denoised.png"]


def test_raw_becomes_tiff_and_format_option(tmp_path):
    raw = tmp_path / "shot.dng"
    raw.write_bytes(b"II*\x00" + b"\x00" * 60)
    (job,) = _plan([raw]).jobs
    assert job.dest.suffix == ".tif"
    src = _img(tmp_path / "p.png")
    (job,) = _plan([src], format="webp").jobs
    assert job.dest.suffix == ".webp" and job.format == "WEBP"


def test_content_decides_the_suffix(tmp_path):
    src = _img(tmp_path / "really-png.jpg", fmt="PNG")
    (job,) = _plan([src]).jobs
    assert job.dest.name == "really-png-denoised.png"


def test_stdin_and_stdout(tmp_path):
    (job,) = plan_jobs(["-"], suffix="-x", output="-").jobs
    assert job.source is None and job.dest is None
    with pytest.raises(UsageError):
        plan_jobs(["-", "a.png"], suffix="-x")
    with pytest.raises(UsageError):
        plan_jobs([str(_img(tmp_path / "a.png"))], suffix="-x", output="-")


def test_unknown_format_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown output format"):
        _plan([_img(tmp_path / "a.png")], format="exr")


def test_format_dng_applies_to_raw_inputs(tmp_path):
    from imgrestore.testing import bayer_dng

    raw = tmp_path / "shot.dng"
    raw.write_bytes(bayer_dng(16, 16))
    jpeg = _img(tmp_path / "snap.jpg")
    plan = _plan([raw, jpeg], format="dng", output=str(tmp_path / "o"))
    jobs = {j.source.name: j for j in plan.jobs}
    assert jobs["shot.dng"].dest.name == "shot-denoised.dng"
    assert jobs["snap.jpg"].dest.name == "snap-denoised.jpg"  # not a RAW: keeps its format
