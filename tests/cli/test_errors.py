"""The CLI's one error table, and errors reaching the user as one line and an exit code."""

from __future__ import annotations

import pytest

from imgrestore.cli import main
from imgrestore.cli._errors import EXIT_CODES, exit_code_of, reported
from imgrestore.errors import (
    DeviceError,
    ExitCode,
    ImageError,
    ImgRestoreError,
    UsageError,
    WeightsError,
)


def test_every_project_error_has_its_documented_exit_code() -> None:
    assert exit_code_of(UsageError("x")) == ExitCode.USAGE == 2
    assert exit_code_of(WeightsError("x")) == ExitCode.WEIGHTS_UNAVAILABLE == 3
    assert exit_code_of(DeviceError("x")) == ExitCode.DEVICE_UNUSABLE == 4
    assert exit_code_of(ImageError("a.jpg", "corrupt")) == ExitCode.SOME_FAILED == 1
    assert exit_code_of(ImgRestoreError("x")) == ExitCode.SOME_FAILED

    class NarrowerError(WeightsError):
        pass

    assert exit_code_of(NarrowerError("x")) == ExitCode.WEIGHTS_UNAVAILABLE  # by the MRO
    assert set(EXIT_CODES) == {UsageError, WeightsError, DeviceError, ImageError,
                               ImgRestoreError}


def test_reported_prints_one_line_and_exits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done, reported():
        raise WeightsError("denoise: weights [not] downloaded")
    assert done.value.code == 3
    assert capsys.readouterr().err == "error: denoise: weights [not] downloaded\n"
    with reported():  # nothing raised: nothing shown
        pass
    with pytest.raises(KeyError), reported():  # not the project's: not swallowed
        raise KeyError("bug")


def test_main_turns_a_library_error_into_its_exit_code(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["denoise", str(tmp_path / "a.png"), "--tile", "big"])
    assert done.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --tile big: use 'auto', 0 (whole image) or a size in pixels")
