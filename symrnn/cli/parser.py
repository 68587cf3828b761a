"""The argument parser and the usage error, importing nothing heavy (``symrnn --version`` and
the signal handlers come before SymPy is imported)."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise UsageError(f"{message} (see '{self.prog} --help')")


def write_generated(text: str) -> None:
    """A generated file's text on standard output, as the UTF-8 bytes the file would hold."""
    import sys
    write = getattr(sys.stdout, "write_utf8", None)
    (write or sys.stdout.write)(text)
