"""Random argument lists to every subcommand (hypothesis): exit 0, 1 or 2, no traceback, one
line on stderr for an error, and no file written outside ``--out``.

Kept quick: few examples, small taus and sizes, no PDF for ``run``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.cli import main

VALUES = {
    "--tau": ["1", "2", "0", "-1", "x", "2.5", "5000", ""],
    "--inputs": ["1", "2", "0", "17", "1e3"],
    "--hidden": ["1", "2", "0", "17", "-2"],
    "--outputs": ["1", "2", "3", "0", "17"],
    "--model": ["rnn", "output-recurrence", "lstm", ""],
    "--activation": ["tanh", "relu", "sigmoid", "identity", "phi", "sin"],
    "--loss": ["softmax-ce", "mse", "bce", "hinge"],
    "--form": ["loop", "unrolled", "both", "spiral"],
    "--format": ["tex", "md", "pdf"],
    "--seed": ["0", "1", "-1", "x"],
    "--max-lag": ["1", "2", "0", "x"],
    "--instance-tau": ["1", "2", "0"],
    "--out": ["o", "o/", "o/sub/", "o/x.py", "o/d.tex", "o/d.md", "o/d.pdf", "", "o\nx",
              "o/$(touch PWNED)", "o/--!>.md", "o/a b.tex"],
}
FLAGS = ["--force", "--json", "--quiet", "--table", "--standalone", "--analysis", "--no-pdf",
         "--pdf", "--help", "--debug", "--bogus", "extra", "-x"]
COMMANDS = ["run", "verify", "codegen", "latex", "analyze", "models", "nope"]
#: every command runs small: the fuzzed options come after these (a later value wins)
PREFIX = {"run": ["--no-pdf", "--tau", "1"], "verify": ["--tau", "1"],
          "analyze": ["--max-lag", "2", "--hidden", "2"], "latex": ["--tau", "1"]}

_option = st.sampled_from(sorted(VALUES)).flatmap(
    lambda name: st.sampled_from(VALUES[name]).map(lambda v: [name, v]))
_token = st.one_of(_option, st.sampled_from(FLAGS).map(lambda f: [f]),
                   st.sampled_from(sorted(VALUES)).map(lambda n: [n]))  # an option, no value


def _out_of(command: str, argv: list[str]) -> str | None:
    out = None
    for i, word in enumerate(argv):
        if word == "--out" and i + 1 < len(argv):
            out = argv[i + 1]
    if out is None and command in ("run", "analyze"):
        out = "symrnn-out"
    return out


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(tokens=st.lists(_token, max_size=5))
def test_random_command_lines(command, tokens):
    argv = [command, *PREFIX.get(command, []), *[w for t in tokens for w in t]]
    if "--pdf" in argv:  # keep it quick: pdflatex is exercised elsewhere
        argv.remove("--pdf")
    if "--analysis" in argv and command == "run":
        argv.remove("--analysis")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp, "work")
        work.mkdir()
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(work)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main([a for a in argv if a != "--debug"])
                except SystemExit as e:  # --help, --version: argparse's own exit
                    code = e.code
        finally:
            os.chdir(cwd)
        err = err.getvalue()
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("symrnn: error: "), (argv, err)
        written = [p for p in Path(tmp).rglob("*") if not p.is_dir()]
        target = _out_of(command, argv)
        if not written:
            return
        assert target, (argv, written)
        allowed = work / target
        if not allowed.is_dir():
            allowed = allowed.parent
        for p in written:
            assert p.is_relative_to(allowed), (argv, p)
        assert not (work / "PWNED").exists() and not Path(tmp, "PWNED").exists()
