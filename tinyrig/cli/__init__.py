"""The command line: `tinyrig ...`."""

from tinyrig.cli.main import main

__all__ = ["main"]
