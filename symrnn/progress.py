"""Progress display: a rich spinner on a terminal; in a pipe or a log, one line on stderr for
each stage that runs longer than ``SLOW`` seconds (so a quick run prints nothing there); nothing
with --quiet."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator


@contextlib.contextmanager
def progress_for(label: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Yield ``tick(step_name)``; shows a spinner on stderr when it is a terminal."""
    if quiet:
        yield lambda _name: None
        return
    if not sys.stderr.isatty():
        with _slow_stages(label) as tick:
            yield tick
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label)
        yield lambda name: bar.update(task, description=f"{label}: {name}")


#: In a pipe, a stage running this long is named on stderr, and again every ``REPEAT`` seconds.
SLOW = 10.0
REPEAT = 30.0


@contextlib.contextmanager
def _slow_stages(label: str) -> Iterator[Callable[[str], None]]:
    """``tick`` for a pipe: a daemon thread names the current stage once it has run ``SLOW``
    seconds (with the time so far), and ends with the block."""
    import threading
    import time

    lock, changed, done = threading.Lock(), threading.Event(), threading.Event()
    current = {"name": None, "since": time.monotonic()}

    def tick(name: str) -> None:
        with lock:
            current["name"], current["since"] = name, time.monotonic()
        changed.set()

    def watch() -> None:
        while not done.is_set():
            changed.clear()
            with lock:
                name, since = current["name"], current["since"]
            wait = SLOW
            while not done.is_set() and not changed.wait(wait):
                if name is not None:
                    try:
                        print(f"{label}: {name} ({time.monotonic() - since:.0f} s)",
                              file=sys.stderr, flush=True)
                    except (OSError, ValueError):
                        return
                wait = REPEAT

    thread = threading.Thread(target=watch, name="symrnn-progress", daemon=True)
    thread.start()
    try:
        yield tick
    finally:
        done.set()
        changed.set()
        thread.join(timeout=1)
