"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import codegen, verify

REGISTRY = [verify.register, codegen.register]
