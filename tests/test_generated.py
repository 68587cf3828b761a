"""Every committed generated file (code, documents, the gradient-flow outputs) equals a fresh
regeneration; on failure the unified diff is shown (``python -m symrnn.regenerate`` fixes it)."""

from __future__ import annotations

from symrnn.io import MANIFEST
from symrnn.regenerate import ROOT, check, outputs


def test_every_generated_file_is_registered():
    registered = {rel for rel, _ in outputs()}
    committed = {str(p.relative_to(ROOT)) for p in (ROOT / "generated").rglob("*")
                 if p.is_file() and p.name not in (".keep", MANIFEST)}
    assert committed == registered


def test_committed_generated_files_are_fresh():
    diffs = check(ROOT)
    assert not diffs, "stale generated files (run python -m symrnn.regenerate):\n" + "".join(diffs)
