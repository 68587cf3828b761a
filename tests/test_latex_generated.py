"""generated/ holds the document for the default configuration (RNNSpec(), tau = 3) as a
standalone article and as Markdown, registered in ``symrnn.regenerate.outputs()``; this test
regenerates them and fails with a unified diff when one is stale.

Update: python -m symrnn.regenerate  (or SYMRNN_UPDATE_GENERATED=1 python -m pytest
tests/test_latex_generated.py)
"""

import difflib
import os
from pathlib import Path

import pytest

from symrnn.io import MARKER, write_atomic
from symrnn.regenerate import outputs

ROOT = Path(__file__).resolve().parent.parent
LATEX_GENERATED = [(rel, produce) for rel, produce in outputs()
                   if rel.startswith("generated/bptt_")]


def test_the_default_documents_are_registered():
    assert sorted(rel for rel, _ in LATEX_GENERATED) == ["generated/bptt_tau3.md",
                                                         "generated/bptt_tau3.tex"]


@pytest.mark.parametrize("rel, produce", LATEX_GENERATED, ids=[r for r, _ in LATEX_GENERATED])
def test_generated_document_is_fresh(rel, produce):
    path = ROOT / rel
    fresh = produce()
    if os.environ.get("SYMRNN_UPDATE_GENERATED") == "1":
        write_atomic(path, fresh)
    assert path.exists(), f"{rel} is missing; run python -m symrnn.regenerate"
    old = path.read_text(encoding="utf-8")
    head = "\n".join(old.splitlines()[:3])
    assert MARKER in head and "do not edit" in head and f"Regenerate: symrnn latex" in head
    assert f"--out {rel}" in head
    if old != fresh:
        diff = "".join(difflib.unified_diff(old.splitlines(True), fresh.splitlines(True),
                                            f"a/{rel}", f"b/{rel}"))
        pytest.fail(f"{rel} is stale (python -m symrnn.regenerate to rewrite):\n{diff[:6000]}")
