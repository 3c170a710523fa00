"""``python -m imgrestore`` runs the command-line interface."""

from imgrestore.cli import main

if __name__ == "__main__":
    main()
