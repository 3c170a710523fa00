"""Command-line interface. Parsing and display only; the work lives in the library.

Errors have one home: :func:`main` turns the project's exceptions into one red line on
stderr and their exit code (see :class:`imgrestore.errors.ExitCode`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``imgrestore``)."""
    import click

    from imgrestore.cli.app import app
    from imgrestore.errors import ExitCode, ImgRestoreError

    try:
        code = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("\ninterrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except ImgRestoreError as error:
        from imgrestore.cli.display import print_error

        print_error(str(error))
        sys.exit(int(error.exit_code))
    sys.exit(code if isinstance(code, int) else 0)
