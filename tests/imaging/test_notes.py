"""Warnings, log lines and LibRaw's stderr while a file is read become that file's notes."""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings

from imgrestore.imaging.notes import collect_notes, libraw_messages


def test_warnings_and_log_lines_in_the_collecting_thread_are_notes(recwarn) -> None:
    with collect_notes("a.jpg") as notes:
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)  # once per file
        logging.getLogger("tifffile").warning("<tifffile.TiffPage 0 @8> odd tag %d", 5)
        logging.getLogger("imgrestore.imaging.writer").warning("a.jpg: EXIF left out")
    assert notes == ["Corrupt EXIF data", "odd tag 5", "EXIF left out"]
    assert not list(recwarn)


def test_another_threads_warnings_are_not_this_files() -> None:
    seen: list[warnings.WarningMessage] = []
    started, done = threading.Event(), threading.Event()

    def other() -> None:
        started.wait()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.warn("not about a.jpg", UserWarning, stacklevel=1)
        seen.extend(caught)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with collect_notes("a.jpg") as notes:
        started.set()
        done.wait()
    thread.join()
    assert notes == [] and [str(w.message) for w in seen] == ["not about a.jpg"]


def test_outside_a_collection_warnings_are_left_alone(recwarn) -> None:
    with collect_notes("a.jpg"):
        pass
    warnings.warn("for the caller", UserWarning, stacklevel=1)
    assert [str(w.message) for w in recwarn] == ["for the caller"]


def test_libraw_lines_are_kept_and_other_stderr_passed_on(capfd) -> None:
    fd = sys.__stderr__.fileno()
    with libraw_messages() as said:
        os.write(fd, b"unknown file: Unexpected end of file\n")
        os.write(fd, b"someone else's line\n")
    assert said == ["LibRaw: Unexpected end of file"]
    assert capfd.readouterr().err == "someone else's line\n"
