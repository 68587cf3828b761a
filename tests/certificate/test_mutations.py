"""Planted wrong variants of the note's formulas (``mutants.py``): each must be refuted for
every size and tau, with an exact or interval-verified counterexample, never confirmed; the
right variants they are mutated from stay confirmed (definitions for the model's own
equations), scope "all". ``benchmarks/mutation_table.py`` prints the same as a table."""

from __future__ import annotations

import pytest

from mutants import CORRECT, MUTATIONS, OUTSIDE, SPECS, TYPE_ERRORS, checker, run


@pytest.fixture(scope="module")
def checkers():
    """One Checker per spec for the whole module (its General context caches the rules and
    the Jacobians, its Instance the element-level claims)."""
    return {key: checker(key) for key in SPECS}


def test_the_catalogue_of_mutations():
    ids = [p.id for p in CORRECT + MUTATIONS + TYPE_ERRORS + OUTSIDE]
    assert len(ids) == len(set(ids))
    assert len(MUTATIONS) >= 40
    families = {p.family for p in MUTATIONS}
    assert {"bptt.grad_o", "bptt.grad_h_tau", "bptt.grad_h", "bptt.grad_h.jacobian",
            "bptt.grad_c", "bptt.grad_b", "bptt.grad_V", "bptt.grad_W", "bptt.grad_U",
            "fwd.10.8", "fwd.10.10", "loss.nll", "loss.total", "chain.dL_dV",
            "chain.dLt_dW"} <= families
    # every family mutated has its right form checked too
    assert families <= {p.family for p in CORRECT} | {"fwd.10.9", "fwd.10.11",
                                                         "chain.dLt_dU"}
    # wrong only at a boundary step: t = 1 and t = tau
    assert sum("t = 1 only" in p.what for p in MUTATIONS) >= 5
    assert sum("t = tau only" in p.what for p in MUTATIONS) >= 5


@pytest.mark.parametrize("planted", CORRECT, ids=lambda p: p.id)
def test_the_right_forms_are_confirmed_for_every_size_and_tau(planted, checkers):
    e = run(planted, checkers[planted.spec])
    want = "definition" if planted.method == "definition" else "confirmed"
    assert e.kind == want, (e.kind, e.reason, e.method)
    assert e.scope == "all" and e.counterexample is None


@pytest.mark.parametrize("planted", MUTATIONS, ids=lambda p: p.id)
def test_a_wrong_variant_is_refuted_for_every_size_and_tau(planted, checkers):
    e = run(planted, checkers[planted.spec])
    assert e.kind == "refuted", (e.kind, e.reason, e.method)
    assert e.scope == "all"
    cex = e.counterexample
    assert cex is not None and cex["verified"] in ("exact", "interval")
    assert cex["point"] and cex["lhs"] != cex["rhs"]
    assert all(v != "0" for v in cex["point"].values())
    assert e.reason == "the two sides differ at the point given"
    assert not e.holds


@pytest.mark.parametrize("planted", TYPE_ERRORS, ids=lambda p: p.id)
def test_a_variant_whose_shapes_do_not_match_is_ill_formed(planted, checkers):
    e = run(planted, checkers[planted.spec])
    assert e.kind == "ill-formed" and e.scope == "all", (e.kind, e.reason)
    assert "do not multiply" in e.reason or "have shapes" in e.reason
    assert e.counterexample is None and not e.holds


@pytest.mark.parametrize("planted", OUTSIDE, ids=lambda p: p.id)
def test_a_variant_that_reads_a_step_the_network_lacks_is_ill_formed(planted, checkers):
    """At an instance h(tau + 1) would be 0, and W^T h(tau + 1) added to grad_h(tau) L would
    hold there: the engine refuses the formula before any check."""
    e = run(planted, checkers[planted.spec])
    assert e.kind == "ill-formed" and e.scope == "all", (e.kind, e.reason)
    assert "the network has no" in e.reason
    assert "(4)" in e.reason or "a(0)" in e.reason
    assert e.counterexample is None and not e.holds


def test_on_a_rational_network_the_counterexamples_are_exact(checkers):
    """Identity activation and mse: no function but +, -, *, /, so every value at the point
    is an exact rational, and the refutation says "exact"."""
    rational = [p for p in MUTATIONS if p.spec == "rational"]
    assert len(rational) >= 5
    for p in rational:
        e = run(p, checkers[p.spec])
        assert e.kind == "refuted" and e.counterexample["verified"] == "exact", p.id
        for key in ("lhs", "rhs", "difference"):
            assert "+/-" not in e.counterexample[key], (p.id, key)


def test_the_table_lists_every_planted_formula(checkers):
    from mutants import table
    rows = [(p, run(p, checkers[p.spec])) for p in MUTATIONS[:3] + TYPE_ERRORS[:1]]
    text, refuted = table(rows)
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split("|")] == ["id", "mutation", "kind", "scope",
                                                        "verified"]
    assert len(lines) == 2 + 4 and refuted == 3
    assert [line.split("|")[0].strip() for line in lines[2:]] == [p.id for p, _e in rows]
    assert lines[-1].split("|")[2].strip() == "ill-formed"
