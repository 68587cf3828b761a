"""Command line: ``symrnn run | verify | codegen | latex | analyze | models``.

Bad input gets one line on stderr and exit code 2, never a traceback. Each subcommand is one
module here with ``register(subparsers)``.
"""

from __future__ import annotations

import os
import sys

from . import analyze, codegen, latex, models, run, verify
from .options import Parser, UsageError

REGISTRY = [run.register, verify.register, codegen.register, latex.register, analyze.register,
            models.register]


def build_parser() -> Parser:
    import argparse
    parser = Parser(prog="symrnn", description="Symbolic BPTT for the recurrent networks of "
                    "Goodfellow et al., ch. 10: derive, certify the note's formulas, emit NumPy "
                    "and LaTeX.",
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog="examples:\n"
                           "  symrnn run                 # the whole job on the note's example\n"
                           "  symrnn run --tau 8 --json  # 8 steps, summary as JSON\n"
                           "  symrnn verify --tau 64     # certify only\n"
                           "  symrnn models              # the networks symrnn knows\n"
                           "  symrnn COMMAND --help      # options of one command")
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version("symrnn")
    except PackageNotFoundError:
        v = "unknown"
    parser.add_argument("--version", action="version", version=f"symrnn {v}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for register in REGISTRY:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"symrnn: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as e:
        print(f"symrnn: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # e.g. the disk filled up or a folder vanished while writing
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        print(f"symrnn: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symrnn: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line (SYMRNN_DEBUG=1 shows the traceback)
        if os.environ.get("SYMRNN_DEBUG"):
            raise
        print(f"symrnn: internal error: {type(e).__name__}: {e} (please report it; "
              f"SYMRNN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
