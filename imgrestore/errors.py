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


class DownloadError(WeightsError):
    """An automatic download of a model's weights failed.

    The message is the one line a user reads; the parts stay available as data, for a
    notice or a JSON report to show: ``model`` (a card name), ``reason`` (a few words:
    "connection refused", "Google Drive refused the download: Too many users ..."),
    ``source`` (the URL or ``hf:`` reference that failed last) and ``refused`` (the host
    answered but would not hand the file over: a quota, a confirmation page).
    """

    def __init__(self, message: str, *, model: str = "", reason: str = "", source: str = "",
                 refused: bool = False) -> None:
        self.model = model
        self.reason = reason or message
        self.source = source
        self.refused = refused
        super().__init__(message)


class DeviceError(ImgRestoreError):
    """The requested device is unusable, or memory ran out even at the smallest tile."""


class UsageError(ImgRestoreError):
    """Options that cannot work together, or an output that would overwrite an input."""


class NonFiniteOutputError(ImgRestoreError):
    """The network gave NaN or infinite values, even recomputed in fp32: that file fails
    (instead of being written black)."""
