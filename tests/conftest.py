"""Shared fixtures. Tests are grouped by the stage they test: core/ (unrolling, derivation,
matrix equations), certificate/, numpy/ (generated code), document/, analysis/, cli/."""

from __future__ import annotations

import pytest

from support import results_for


@pytest.fixture(scope="session")
def default_results():
    """``symrnn.analyse`` of the note's example (tau 3, sizes 3/4/3, tanh, softmax-ce)."""
    from symrnn import RNNSpec
    return results_for(RNNSpec())
