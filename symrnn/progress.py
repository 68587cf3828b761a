"""Progress: a rich spinner on a terminal; in a log or a pipe, a line on stderr while a stage
runs long; nothing with --quiet.

``announce(stage)`` also writes each stage's name, one per line, to the file descriptor named
by the environment variable ``SYMRNN_PROGRESS_FD`` when it is set (a wrapper or a test that
waits for a stage reads them: "started" once the signal handlers are in place, then each stage
``tick`` reports). It never blocks and never fails the run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Callable, Iterator

#: In a log or a pipe: the first line after this many seconds in one stage, then one per
#: ``EVERY`` seconds while it lasts (a run of a few minutes whose stages are short prints
#: nothing: a log stays the summary).
EVERY = 60.0


def announce(stage: str) -> None:
    """Write ``stage`` as a line to ``$SYMRNN_PROGRESS_FD`` (if set); never blocks or raises."""
    fd = os.environ.get("SYMRNN_PROGRESS_FD")
    if not fd:
        return
    try:
        n = int(fd)
        os.set_blocking(n, False)
        os.write(n, stage.replace("\n", " ").encode("utf-8", "replace") + b"\n")
    except (ValueError, OSError):
        pass


class _Heartbeat:
    """A daemon thread that prints ``symrnn: <label>: <stage>, <seconds> s`` on stderr when
    the current stage has lasted ``every`` seconds, and again every ``every`` seconds."""

    def __init__(self, label: str, every: float, stream):
        self.label = label.removeprefix("symrnn ")
        self.every, self.stream = every, stream
        self.stage, self.since = "starting", time.monotonic()
        self.start = self.since
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def tick(self, name: str) -> None:
        with self.lock:
            self.stage, self.since = name, time.monotonic()

    def _run(self) -> None:
        while not self.stop.wait(self.every / 4):
            with self.lock:
                now = time.monotonic()
                if now - self.since < self.every:
                    continue
                stage, self.since = self.stage, now
            try:
                print(f"symrnn: {self.label}: {stage}, {now - self.start:.0f} s so far",
                      file=self.stream, flush=True)
            except (OSError, ValueError):
                return


@contextlib.contextmanager
def progress_for(label: str, quiet: bool = False,
                 every: float | None = None) -> Iterator[Callable[[str], None]]:
    """Yield ``tick(step_name)``: a spinner on stderr when it is a terminal; otherwise a line
    when a stage lasts ``every`` seconds (default ``EVERY``); nothing but ``announce`` with
    ``quiet``."""
    if quiet:
        yield announce
        return
    if not sys.stderr.isatty():
        beat = _Heartbeat(label, EVERY if every is None else every, sys.stderr)
        beat.thread.start()
        try:
            def tick(name: str) -> None:
                announce(name)
                beat.tick(name)
            yield tick
        finally:
            beat.stop.set()
            beat.thread.join()
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label)

        def tick(name: str) -> None:
            announce(name)
            bar.update(task, description=f"{label}: {name}")
        yield tick
