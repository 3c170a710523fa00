"""Command-line interface. Parsing and display only; the work lives in the library."""


def main() -> None:
    """Console-script entry point (``imgrestore``)."""
    from imgrestore.cli.app import app

    app()
