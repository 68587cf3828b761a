"""Command line: ``symrnn run | verify | codegen | latex | analyze | models``.

Exit codes: 0 done; 1 a check failed (a formula refuted, a numeric check) or an error that is
not the user's (one line; a bug asks to be reported, ``--debug`` shows the traceback); 2 bad
input (``UsageError`` raised at this boundary, ``OutputError`` for an output path: one line);
130 Ctrl-C; 143 SIGTERM. Never a traceback without ``--debug``. Each subcommand is one
module here with ``register(subparsers)``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from . import analyze, codegen, latex, models, run, verify
from ..io import OutputError, WriteError
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
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for register in REGISTRY:
        register(sub)
    return parser


class _Stdout:
    """Standard output that names itself when writing fails (``> /dev/full``)."""

    def __init__(self, stream):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def _fail(self, e: OSError):
        if isinstance(e, BrokenPipeError):
            raise e
        # later flushes (at exit) go nowhere instead of printing "Exception ignored"
        os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        raise WriteError(e.errno, f"cannot write standard output: {e.strerror or e}") from e

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as e:
            self._fail(e)

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as e:
            self._fail(e)


class Terminated(BaseException):
    """SIGTERM (``kill``): unwind like Ctrl-C, so temporaries and workers are cleaned up."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code: 0 done, 1 a failed check or an error that is
    not the user's (one line; ``--debug`` shows the traceback), 2 bad input (one line)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or bool(os.environ.get("SYMRNN_DEBUG"))
    argv = [a for a in argv if a != "--debug"]
    err = lambda line: print(f"symrnn: {line}", file=sys.stderr)
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except (UsageError, OutputError) as e:
        err(f"error: {e}")
        return 2
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except OSError as e:  # the disk filled up, a folder vanished while writing, ...
        if debug:
            raise
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        err(f"error: {e.strerror or e}{where}")
        return 1
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except Terminated:
        err("terminated")
        return 143
    except Exception as e:  # a bug: still one line (--debug shows the traceback)
        if debug:
            raise
        err(f"internal error: {type(e).__name__}: {' '.join(str(e).split())} -- this is a bug "
            f"in symrnn, please report it with the command line; --debug shows the traceback")
        return 1
    finally:
        sys.stdout = stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
