"""Running the CLI as a user does: ``python -m symrnn ...`` in a subprocess."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}


def symrnn(*argv: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m symrnn argv`` in ``cwd``; stdin closed, output captured as text."""
    return subprocess.run([sys.executable, "-m", "symrnn", *argv], cwd=cwd, env=env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def import_file(path: Path, name: str = "generated_module"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def no_temp_files(folder: Path) -> bool:
    return not [p for p in Path(folder).rglob("*") if p.name.endswith(".tmp")]
