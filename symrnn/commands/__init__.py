"""Subcommands: each module has ``register(subparsers)`` that adds its parser and handler."""

from . import analyze, codegen, latex, run, verify

REGISTRY = [run.register, verify.register, codegen.register, latex.register, analyze.register]
