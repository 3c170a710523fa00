"""The one place the CLI turns the project's exceptions into a message and an exit code.

Library code raises :class:`~imgrestore.errors.ImgRestoreError` subclasses with one-line
messages; :data:`EXIT_CODES` says which exit code each means, and :func:`reported` shows
the message (one red line on stderr) and exits with it. Usage errors of the command line
itself (an unknown option, a missing argument) are Typer's, exit code 2 as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from imgrestore.errors import (
    DeviceError,
    ExitCode,
    ImageError,
    ImgRestoreError,
    UsageError,
    WeightsError,
)

#: Exit code of each project exception (the most specific class in an error's MRO wins).
EXIT_CODES: Mapping[type[ImgRestoreError], ExitCode] = MappingProxyType({
    UsageError: ExitCode.USAGE,
    WeightsError: ExitCode.WEIGHTS_UNAVAILABLE,
    DeviceError: ExitCode.DEVICE_UNUSABLE,
    ImageError: ExitCode.SOME_FAILED,
    ImgRestoreError: ExitCode.SOME_FAILED,
})


def exit_code_of(error: BaseException) -> ExitCode:
    """The exit code ``error`` means (1 for anything the table does not name)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]  # type: ignore[index]
    return ExitCode.SOME_FAILED


@contextmanager
def reported() -> Iterator[None]:
    """Show a project error raised in the block as one line and exit with its code."""
    try:
        yield
    except ImgRestoreError as error:
        from imgrestore.cli._output import error as show

        show(str(error))
        raise SystemExit(int(exit_code_of(error))) from None


__all__ = ["EXIT_CODES", "exit_code_of", "reported"]
