"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import latex

try:  # verify lands on main with symrnn/certificate.py
    from . import verify
except ImportError:  # pragma: no cover - until the merge
    verify = None

REGISTRY = ([verify.register] if verify is not None else []) + [latex.register]
