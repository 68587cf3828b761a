"""Fixtures of the document tests."""

from __future__ import annotations

import pytest

from support import results_for


@pytest.fixture
def cached_results(monkeypatch):
    """Make ``symrnn latex`` / ``symrnn run`` (and ``to_latex`` without ``results``) take
    ``symrnn.analyse`` from ``results_for``: computed once per session."""
    import symrnn.api
    import symrnn.pipeline

    def analyse(spec, certify=True, tick=lambda _s: None, workers=None):
        results = results_for(spec)
        if not certify:
            results.certificate = None
        return results

    monkeypatch.setattr(symrnn.api, "analyse", analyse)
    monkeypatch.setattr(symrnn.pipeline, "analyse", analyse)
