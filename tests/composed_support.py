"""Test helpers for the derivation against ``sympy.diff`` of the composed loss: the exact
comparison itself is ``symrnn.core.composed``; here, a generic softmax for the tests."""

from __future__ import annotations

import dataclasses

import sympy as sp

from symrnn import functions as F
from symrnn.core.composed import Atoms, RationalZero, composed_gradients, equal  # noqa: F401
from symrnn.core.derive import derive
from symrnn.core.graph import compose, unroll
from symrnn.models import get_model

GENERIC_LOSS = "softmax-E"
E = sp.Function("E", positive=True)


def _softmax_E(o):
    s = sp.Add(*[E(v) for v in o])
    return [E(v) / s for v in o]


def generic_softmax(monkeypatch) -> str:
    """Register, for one test, the loss "softmax-E": softmax with an undefined positive
    function E in place of exp. Identities proved for it hold for exp too (and for every
    other positive E). Returns its name."""
    base = F.LOSSES["softmax-ce"]
    monkeypatch.setitem(F.LOSSES, GENERIC_LOSS,
                        dataclasses.replace(base, name=GENERIC_LOSS, output=_softmax_E,
                                            note_form=False))
    return GENERIC_LOSS


def check_against_composed_diff(spec, leaves=None) -> int:
    """Assert that, for every leaf (parameter entries, symbolic initial values), the derived
    gradient equals ``sympy.diff`` of the fully composed loss; returns how many were compared."""
    graph = unroll(get_model(spec.model), spec)
    d = derive(graph)
    loss = compose(graph, graph.L)
    full = composed_gradients(graph, d)
    atoms = Atoms()
    chosen = graph.leaves if leaves is None else leaves(graph)
    assert chosen
    for s in chosen:
        assert equal(sp.diff(loss, s), full[d.adj[s]], atoms), (spec.describe(), s)
    return len(chosen)
