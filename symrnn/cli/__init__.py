"""Command line: ``symrnn run | verify | codegen | latex | analyze | models``.

Exit codes: 0 done; 1 a check failed (a formula refuted, a numeric check) or an error that is
not the user's (one line; a bug asks to be reported, ``--debug`` shows the traceback); 2 bad
input (``UsageError`` raised at this boundary, ``OutputError`` for an output path: one line);
130 Ctrl-C; 143 SIGTERM. Never a traceback without ``--debug``. Each subcommand is one
module here with ``register(subparsers)``.

Start-up: this module imports nothing heavy. ``main`` installs the SIGTERM handler (SIGINT is
Python's KeyboardInterrupt) before it imports the subcommands (SymPy takes seconds to import),
so Ctrl-C at any moment gives one line and exit 130; ``symrnn --version`` answers without
importing them at all.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from ..io import OutputError, WriteError
from ..progress import announce
from .parser import UsageError


def _registry() -> list:
    from . import analyze, codegen, latex, models, run, verify
    return [run.register, verify.register, codegen.register, latex.register, analyze.register,
            models.register]


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as _version
    try:
        return _version("symrnn")
    except PackageNotFoundError:
        return "unknown"


def build_parser():
    import argparse

    from .parser import Parser
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
    parser.add_argument("--version", action="version", version=f"symrnn {version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for register in _registry():
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

    def write_utf8(self, text: str) -> None:
        """A generated file's text (code, LaTeX, Markdown, a notebook) as the UTF-8 bytes the
        file would hold, whatever the stream's encoding (PYTHONIOENCODING=ascii)."""
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None:  # a text-only stream (an embedding application's)
            return self.write(text)
        try:
            self._stream.flush()
            buffer.write(text.encode("utf-8"))
            buffer.flush()
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
    try:  # the summary and tables: a character the stream cannot encode is escaped, not fatal
        stdout.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError, OSError):
        pass
    sys.stdout = _Stdout(stdout)
    previous = previous_int = None
    if threading.current_thread() is threading.main_thread():
        # before anything heavy is imported: Ctrl-C and kill give one line from here on
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        announce("started")
        if argv[:1] == ["--version"]:  # without importing SymPy (seconds)
            print(f"symrnn {version()}")
            sys.stdout.flush()
            return 0
        if "numpy" not in sys.modules:
            # the command line's numeric work is small matrices (checks, the gradient-flow
            # measurement), where a threaded OpenBLAS only waits for a core another process
            # holds (analyze --hidden 512 took 210 s with threads on a loaded 2-core machine);
            # a value the user set is kept
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        parser = build_parser()  # the heavy imports start here
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
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
