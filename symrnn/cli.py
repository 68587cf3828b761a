"""Command line: ``symrnn verify | codegen | latex | analyze | run``.

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .functions import ACTIVATIONS, LOSSES
from .spec import LIMITS, RNNSpec


class UsageError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive(name: str, limit: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        if value > limit:
            raise argparse.ArgumentTypeError(
                f"{name} must be at most {limit}, got {value}: exact element-level "
                f"certification grows with it; use a smaller value")
        return value
    return parse


def nonnegative(name: str, limit: int = 2**32 - 1):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
        if not 0 <= value <= limit:
            raise argparse.ArgumentTypeError(f"{name} must be in 0..{limit}, got {value}")
        return value
    return parse


def output_path(name: str):
    """A path for output: not empty, and no control characters (a newline in a path would
    end up in the regenerate command that generated files carry in their header)."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{name} must not be empty")
        bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
        if bad is not None:
            raise argparse.ArgumentTypeError(f"{name} must not contain control characters "
                                             f"(found {bad!r}); rename the folder")
        return text
    return parse


def add_spec_options(p: argparse.ArgumentParser, tau_default: int = 3) -> None:
    """The options that make an ``RNNSpec``; shared by every subcommand."""
    p.add_argument("--tau", type=_positive("--tau", LIMITS["tau"]), default=tau_default,
                   help=f"sequence length (default {tau_default})")
    p.add_argument("--inputs", type=_positive("--inputs", LIMITS["n_in"]), default=3,
                   help="n_in, size of x(t) (default 3)")
    p.add_argument("--hidden", type=_positive("--hidden", LIMITS["n_hidden"]), default=4,
                   help="n_hidden, size of h(t) (default 4)")
    p.add_argument("--outputs", type=_positive("--outputs", LIMITS["n_out"]), default=3,
                   help="n_out, size of o(t) (default 3)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="tanh",
                   help="phi in h(t) = phi(a(t)) (default tanh, as in the note)")
    p.add_argument("--loss", choices=list(LOSSES), default="softmax-ce",
                   help="per-step loss (default softmax-ce, as in the note)")


def spec_from_args(args: argparse.Namespace) -> RNNSpec:
    return RNNSpec(tau=args.tau, n_in=args.inputs, n_hidden=args.hidden, n_out=args.outputs,
                   activation=args.activation, loss=args.loss)


def require_document_spec(spec: RNNSpec) -> None:
    """The document writes the chain rule along the paths from L(t) to the parameters;
    with softmax over one class there is none (y^ = 1, L(t) = 0)."""
    if spec.loss == "softmax-ce" and spec.n_out == 1:
        raise UsageError("--outputs 1 with --loss softmax-ce: the softmax of one class is "
                         "always 1, so every L(t) is 0 and there is no gradient to write; "
                         "use --outputs 2 or more, or --loss mse or bce")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symrnn", description="Symbolic BPTT for the vanilla RNN of Goodfellow "
                     "et al., ch. 10: derive, certify the note's formulas, emit NumPy and LaTeX.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="examples:\n"
                            "  symrnn run                 # the whole job on the note's example\n"
                            "  symrnn run --tau 8 --json  # 8 steps, summary as JSON\n"
                            "  symrnn verify --tau 64     # certify only\n"
                            "  symrnn COMMAND --help      # options of one command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    from . import commands
    for register in commands.REGISTRY:
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
        import os
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
        import os
        if os.environ.get("SYMRNN_DEBUG"):
            raise
        print(f"symrnn: internal error: {type(e).__name__}: {e} (please report it; "
              f"SYMRNN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
