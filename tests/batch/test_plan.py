"""Planning: inputs to outputs, without reading pixels."""

from __future__ import annotations

import os
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


# ---------------------------------------------------------------- every entry a file or a line


def _by_name(plan):
    return {j.source.name: j for j in plan.jobs}


def test_fifos_devices_and_link_loops_each_get_a_line(tmp_path):
    from ..specialfiles import ZERO, broken_link, fifo, link_loop, returns, unix_socket

    folder = tmp_path / "in"
    _img(folder / "good.png")
    pipe = fifo(folder / "pipe.jpg")
    link_loop(folder / "loop.jpg")
    broken_link(folder / "gone.png")
    (folder / "folder.jpg").mkdir()
    sock = unix_socket(folder / "s.png")
    named = fifo(tmp_path / "named.png")

    plan = returns(_plan, [folder, named, ZERO], unblock=pipe)

    jobs = _by_name(plan)
    assert jobs["good.png"].state == "todo"
    expected = {"pipe.jpg": "is a FIFO (named pipe), not a regular file",
                "loop.jpg": "symbolic link loop", "gone.png": "broken symbolic link",
                "folder.jpg": "is a folder, not an image (add -r to go into it)",
                "named.png": "is a FIFO", "zero": "is a character device"}
    if sock is not None:
        expected["s.png"] = "is a socket"
    for name, reason in expected.items():
        assert jobs[name].state == "fail" and reason in jobs[name].reason, name
    assert len(plan.jobs) == len(expected) + 1 and not plan.ignored


def test_a_folder_without_images_says_so_and_suggests_r(tmp_path):
    _img(tmp_path / "trip" / "day1" / "a.jpg")
    (tmp_path / "empty").mkdir()
    _img(tmp_path / "done" / "a-denoised.jpg")
    plan = _plan([tmp_path / "trip", tmp_path / "empty", tmp_path / "done"])
    reasons = {j.source.name: j.reason for j in plan.jobs}
    assert all(j.state == "fail" for j in plan.jobs)
    assert reasons["trip"] == ("no images in this folder, only 1 sub-folder: add -r to go "
                               "into them")
    assert reasons["empty"] == "no images in this folder (it is empty)"
    assert "1 earlier output(s)" in reasons["done"]
    (job,) = _plan([tmp_path / "trip"], recursive=True).jobs
    assert job.state == "todo" and job.source.name == "a.jpg"


def test_a_linked_folder_is_not_followed_and_says_so(tmp_path):
    _img(tmp_path / "elsewhere" / "b.png")
    _img(tmp_path / "in" / "a.png")
    os.symlink(tmp_path / "elsewhere", tmp_path / "in" / "link")
    plan = _plan([tmp_path / "in"], recursive=True)
    jobs = _by_name(plan)
    assert jobs["a.png"].state == "todo"
    assert jobs["link"].state == "skip" and "not followed" in jobs["link"].reason


def test_o_naming_one_file_needs_one_input(tmp_path):
    a, b = _img(tmp_path / "a.png"), _img(tmp_path / "b.png")
    for inputs in ([a, b], [tmp_path], [str(tmp_path / "*.png")]):
        with pytest.raises(UsageError, match=r"-o .*single\.png: names one file"):
            _plan(inputs, output=str(tmp_path / "single.png"))
    assert not (tmp_path / "single.png").exists()
    jobs = _plan([a, b], output=str(tmp_path / "restored.d") + os.sep).jobs
    assert [j.dest.parent.name for j in jobs] == ["restored.d", "restored.d"]
    (job,) = _plan([str(tmp_path / "a.*")], output=str(tmp_path / "one.png")).jobs
    assert job.dest == tmp_path / "one.png"


def test_outputs_of_ours_in_the_input_tree_are_never_inputs(tmp_path):
    _img(tmp_path / "in" / "sub" / "a.jpg")
    out = tmp_path / "in" / "restored"
    _img(out / "sub" / "a-denoised.jpg")  # an earlier run with -o inside the tree
    _img(out / "sub" / "a_clean.jpg")  # one with --suffix _clean
    _img(tmp_path / "in" / "sub" / "a-x2.jpg")  # an upscale beside its input
    plan = _plan([tmp_path / "in"], output=str(out), recursive=True, suffix="_sharp")
    assert [j.source.name for j in plan.jobs] == ["a.jpg"]
    assert plan.jobs[0].dest == out / "sub" / "a_sharp.jpg"


def test_existing_outputs_that_are_incomplete_are_redone(tmp_path):
    from imgrestore.batch.plan import INCOMPLETE_OUTPUT

    src = _img(tmp_path / "p.jpg")
    out = tmp_path / "p-denoised.jpg"
    for data in (b"", src.read_bytes()[:200]):
        out.write_bytes(data)
        (job,) = _plan([src]).jobs
        assert job.state == "todo" and job.note == INCOMPLETE_OUTPUT
    out.write_bytes(src.read_bytes())
    assert _plan([src]).jobs[0].state == "skip"


def test_what_is_not_an_image_at_an_output_path_is_never_replaced(tmp_path):
    src = _img(tmp_path / "p.jpg")
    out = tmp_path / "p-denoised.jpg"
    out.write_text("my notes, saved under an unlucky name")
    (job,) = _plan([src]).jobs
    assert job.state == "fail" and "is not an image; refused" in job.reason
    assert _plan([src], overwrite=True).jobs[0].state == "todo"
    out.unlink()
    out.mkdir()
    for overwrite in (False, True):
        (job,) = _plan([src], overwrite=overwrite).jobs
        assert job.state == "fail" and "is a folder" in job.reason
