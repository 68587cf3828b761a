"""Progress in a pipe or a log (issue 22: a gated run showed nothing for 43 minutes): a stage
that runs longer than ``symrnn.progress.SLOW`` seconds is named on stderr with its time so far;
a quick one prints nothing; --quiet prints nothing."""

import io
import sys
import time

import symrnn.progress as progress


def _wait_for(buf: io.StringIO, text: str, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:  # polls the condition, not a fixed sleep
        if text in buf.getvalue():
            return True
        time.sleep(0.01)
    return False


def test_a_slow_stage_is_named_in_a_pipe(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    monkeypatch.setattr(progress, "SLOW", 0.05)
    with progress.progress_for("symrnn run") as tick:
        tick("equations")
        assert _wait_for(buf, "symrnn run: equations (")
    line = buf.getvalue().splitlines()[0]
    assert line.startswith("symrnn run: equations (") and line.endswith(" s)")


def test_a_quick_run_prints_nothing_and_quiet_nothing_at_all(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    with progress.progress_for("symrnn run") as tick:
        tick("unroll")
        tick("derive")
    with progress.progress_for("symrnn run", quiet=True) as tick:
        tick("x")
    assert buf.getvalue() == ""
