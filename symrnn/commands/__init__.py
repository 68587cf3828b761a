"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import verify

REGISTRY = [verify.register]
