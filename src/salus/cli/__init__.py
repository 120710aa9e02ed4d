"""The ``salus`` command line (Typer + Rich)."""
