"""Child processes die with their parent and stay quiet.

``die_with_parent()`` runs in a child (a certification worker, pdflatex via ``preexec_fn``):
on Linux it asks the kernel for SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``),
so ``kill`` or ``kill -9`` of symrnn never leaves a worker running; elsewhere a daemon thread
polls the parent's pid. ``quiet_worker()`` also ignores SIGINT (Ctrl-C to the process group is
the parent's to handle: it stops the pool) and sends the worker's stderr to /dev/null, so no
traceback reaches the user from a worker.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _prctl_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int | None = None) -> None:
    """Make this (child) process end when its parent ends. ``parent``: the parent's pid as
    the parent saw it (a parent that died before this call is detected too)."""
    parent = os.getppid() if parent is None else parent
    if not _prctl_pdeathsig():
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def quiet_worker(parent: int) -> None:
    """Pool initializer of the certification workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = open(os.devnull, "w")
    except OSError:
        pass


def child_preexec() -> None:
    """``preexec_fn`` of a tool symrnn runs (pdflatex): killed with its parent."""
    _prctl_pdeathsig()
