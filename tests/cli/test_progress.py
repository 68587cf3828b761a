"""Progress in a pipe or a log (issue 22: a gated run showed nothing for 43 minutes): a stage
that lasts ``symrnn.progress.EVERY`` seconds is named on stderr with its time so far (tested in
tests/cli/test_hostile.py); a quick run prints nothing; --quiet prints nothing."""

import io
import sys

import symrnn.progress as progress


def test_a_quick_run_prints_nothing_and_quiet_nothing_at_all(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    with progress.progress_for("symrnn run") as tick:
        tick("unroll")
        tick("derive")
    with progress.progress_for("symrnn run", quiet=True) as tick:
        tick("x")
    assert buf.getvalue() == ""
