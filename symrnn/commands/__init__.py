"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import analyze, codegen, latex, verify

REGISTRY = [verify.register, codegen.register, latex.register, analyze.register]
