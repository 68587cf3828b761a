"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import codegen

try:  # the lead adds verify on main; until it is merged here, run without it
    from . import verify
except ImportError:  # pragma: no cover
    verify = None

REGISTRY = [m.register for m in (verify, codegen) if m is not None]
