"""The project's exception types and its exit codes.

Every error a user can cause or meet derives from :class:`ImgRestoreError`; its
message is one line that names the file (or model) and the reason. The CLI turns
them into exit codes in one place, :data:`imgrestore.cli._errors.EXIT_CODES`; a batch
report computes its own (:attr:`imgrestore.batch.report.Report.exit_code`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in ``imgrestore --help`` and the README."""

    OK = 0
    SOME_FAILED = 1
    USAGE = 2
    WEIGHTS_UNAVAILABLE = 3
    DEVICE_UNUSABLE = 4
    INTERRUPTED = 130


class ImgRestoreError(Exception):
    """Base class: a one-line, user-facing message."""


class ImageError(ImgRestoreError):
    """An image could not be read or written (corrupt, truncated, unsupported, ...)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class WeightsError(ImgRestoreError):
    """Weights are missing, corrupt, of the wrong shape, or cannot be fetched."""


class DeviceError(ImgRestoreError):
    """The requested device is unusable, or memory ran out even at the smallest tile."""


class UsageError(ImgRestoreError):
    """Options that cannot work together, or an output that would overwrite an input."""
