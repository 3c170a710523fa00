"""Command-line interface. Parsing and display only; the work lives in the library.

One module per command (:mod:`.tasks`, :mod:`.models`, :mod:`.train`, :mod:`.eval`,
:mod:`.compare`, :mod:`.info`), shared options in :mod:`.options`, everything shown in
:mod:`._output`, and errors in :mod:`._errors`: :func:`main` turns the project's
exceptions into one red line on stderr and their exit code. Usage errors of the command
line itself are Typer's (exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``imgrestore``); ``argv`` defaults to ``sys.argv[1:]``."""
    import warnings

    from imgrestore.cli._errors import reported
    from imgrestore.cli.app import app

    # Library warnings (e.g. Pillow on damaged EXIF) as one line, without source code.
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    with reported():
        app(args=list(argv) if argv is not None else None)
