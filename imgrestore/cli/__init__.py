"""Command-line interface. Parsing and display only; the work lives in the library.

Errors have one home: :func:`main` turns the project's exceptions into one red line on
stderr and their exit code (see :class:`imgrestore.errors.ExitCode`). Usage errors are
Typer's (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``imgrestore``); ``argv`` defaults to ``sys.argv[1:]``."""
    import warnings

    from imgrestore.cli.app import app
    from imgrestore.errors import ImgRestoreError

    # Library warnings (e.g. Pillow on damaged EXIF) as one line, without source code.
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    from imgrestore.cli.options import ray_address_optional

    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        app(args=ray_address_optional(args))
    except ImgRestoreError as error:
        from imgrestore.cli.display import print_error

        print_error(str(error))
        sys.exit(int(error.exit_code))
