"""Shared fixtures. Tests are grouped by the stage they test: core/ (unrolling, derivation,
matrix equations), certificate/, numpy/ (generated code), document/, analysis/, cli/."""

from __future__ import annotations

import signal

import pytest

from support import results_for

# A shell starts a background job (``pytest &``, some CI runners) with SIGINT ignored, and a
# child inherits that: the Ctrl-C tests' symrnn would never see their SIGINT. Restore Python's
# handler here so every subprocess starts with the default, as under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def default_results():
    """``symrnn.analyse`` of the note's example (tau 3, sizes 3/4/3, tanh, softmax-ce)."""
    from symrnn import RNNSpec
    return results_for(RNNSpec())
