"""The data a verdict's explanation is built from comes out of the check itself: the factors
(and shapes) of the product that did not multiply, the factor a reading moved, the rank-3
Jacobian of a shorthand and its contraction written out, the Jacobians a formula wrote, the
elementwise form of a diagonal times a vector."""

import sympy as sp

from support import certificate_for
from symrnn import RNNSpec
from symrnn.certificate.engine import elementwise
from symrnn.naming import Grad


def entries(spec=RNNSpec()):
    return {e.id: e for e in certificate_for(spec).entries}


def test_ill_formed_names_the_factors_and_the_moved_one():
    e = entries()["bptt.grad_h"]
    assert e.kind == "ill-formed"
    factors, at = e.details["factors"], e.details["at"]
    shapes = [tuple(sp.sstr(d) for d in f.shape) for f in factors]
    assert shapes == [("n_hidden", "n_hidden"), ("n_hidden", "1"), ("n_hidden", "n_hidden")]
    assert at == 2 and isinstance(factors[1], Grad) and isinstance(factors[2], sp.DiagMatrix)
    reading = e.readings[0]
    assert reading["kind"] == "confirmed" and reading["moved"] == [1]
    moved = reading["details"]["moved_product"]
    assert isinstance(moved[1], sp.DiagMatrix) and isinstance(moved[2], Grad)
    js = e.to_json()
    assert js["details"]["factors"][1] == {"text": "grad_h(t + 1) L", "shape": ["n_hidden", "1"]}
    assert js["readings"][0]["moved"] == [1]
    # the phi' reading writes other factors (diag(phi'(a))): nothing "moved"
    assert e.readings[1]["moved"] is None


def test_the_jacobian_form_carries_its_transposed_jacobian():
    e = entries()["bptt.grad_h.jacobian"]
    jacs = {(sp.sstr(a), sp.sstr(b)): (v, vt) for a, b, v, vt in e.details["jacobians"]}
    value, transposed = jacs[("h(t + 1)", "h(t)")]
    assert isinstance(value, sp.MatMul) and isinstance(value.args[0], sp.DiagMatrix)
    assert sp.sstr(transposed).startswith("W.T*DiagMatrix(")


def test_shorthand_gives_the_rank3_jacobian_and_the_contraction_written_out():
    es = entries()
    e = es["chain.dLt_dV"]
    assert e.kind == "shorthand"
    assert [sp.sstr(x) for x in e.details["rank3"].shape] == ["n_out", "n_out", "n_hidden"]
    (node, param, direct), = e.confirmed_reading["details"]["contractions"]
    assert sp.sstr(direct) == "e_i*h(t).T" and param.name == "V"
    (node, param, direct), = es["chain.dL3_dW"].confirmed_reading["details"]["contractions"]
    assert sp.sstr(direct) == "(DiagMatrix(1 - h(t)**2)*e_i)*h(t - 1).T"


def test_ambiguous_builds_both_orders_and_refutes_one_by_a_point():
    e = entries()["chain.dLt_dW"]
    assert e.kind == "ambiguous" and "prod_{j=k+1}^{t}" in e.details["product"]
    kinds = [r["kind"] for r in e.readings]
    assert kinds == ["confirmed", "refuted"] and e.readings[1]["counterexample"] is not None


def test_elementwise_form():
    e = entries()["bptt.grad_b"]
    (form,) = e.details["elementwise"]
    assert form.has(sp.HadamardProduct) and not form.has(sp.DiagMatrix)
    x = sp.MatrixSymbol("x", 3, 1)
    assert elementwise(sp.MatMul(sp.MatrixSymbol("A", 3, 3), x)) is None
