"""Progress display: a rich spinner on a terminal, nothing otherwise or with --quiet."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator


@contextlib.contextmanager
def progress_for(label: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Yield ``tick(step_name)``; shows a spinner on stderr when it is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield lambda _name: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label)
        yield lambda name: bar.update(task, description=f"{label}: {name}")
