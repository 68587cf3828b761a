"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

import importlib

from . import analyze

REGISTRY = [analyze.register]

try:  # verify lands on main separately; until it is merged here, run without it
    verify = importlib.import_module(f"{__name__}.verify")
except ModuleNotFoundError as e:
    if e.name != f"{__name__}.verify":
        raise
else:
    REGISTRY.insert(0, verify.register)
