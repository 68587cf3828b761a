"""generated/ holds the document for the default configuration (RNNSpec(), tau = 3); this test
regenerates it and fails with a unified diff when it is stale.

Update: SYMRNN_UPDATE_GENERATED=1 python -m pytest tests/test_latex_generated.py
"""

import difflib
import os
from pathlib import Path

import pytest

from symrnn import RNNSpec, to_latex
from symrnn.io import write_atomic

ROOT = Path(__file__).resolve().parent.parent

#: (path relative to the repository, producer): ready to join the shared freshness list.
LATEX_GENERATED = [
    ("generated/bptt_tau3.tex", lambda: to_latex(RNNSpec(), standalone=True)),
    ("generated/bptt_tau3.md", lambda: to_latex(RNNSpec(), fmt="md")),
]

pytest.importorskip("symrnn.certificate", reason="symrnn.certificate not merged yet")


@pytest.mark.parametrize("rel, produce", LATEX_GENERATED, ids=[r for r, _ in LATEX_GENERATED])
def test_generated_document_is_fresh(rel, produce):
    path = ROOT / rel
    fresh = produce()
    if os.environ.get("SYMRNN_UPDATE_GENERATED") == "1":
        write_atomic(path, fresh)
    assert path.exists(), f"{rel} is missing; run with SYMRNN_UPDATE_GENERATED=1"
    old = path.read_text(encoding="utf-8")
    if old != fresh:
        diff = "".join(difflib.unified_diff(old.splitlines(True), fresh.splitlines(True),
                                            f"a/{rel}", f"b/{rel}"))
        pytest.fail(f"{rel} is stale (SYMRNN_UPDATE_GENERATED=1 to rewrite):\n{diff[:6000]}")
