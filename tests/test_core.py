"""The symbolic core: spec validation, derivation against the fully composed loss, the
certificate (statuses from checks that can say no), determinism, and the verify command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sympy as sp

from symrnn import functions as F
from symrnn.certificate import CATALOGUE, Formula, certify, product, Claim, IllFormed
from symrnn.derive import derive, is_zero, matrix_equations
from symrnn.graph import compose, unroll
from symrnn.spec import RNNSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- spec

@pytest.mark.parametrize("kwargs, exc, words", [
    ({"tau": 0}, ValueError, ["tau", "1..", "got 0"]),
    ({"tau": -3}, ValueError, ["tau", "got -3"]),
    ({"n_hidden": -1}, ValueError, ["n_hidden", "got -1"]),
    ({"n_in": 0}, ValueError, ["n_in", "got 0"]),
    ({"n_out": 17}, ValueError, ["n_out", "..16", "got 17"]),
    ({"tau": 2.5}, TypeError, ["tau", "integer", "2.5", "float"]),
    ({"tau": "3"}, TypeError, ["tau", "integer", "'3'", "str"]),
    ({"n_hidden": True}, TypeError, ["n_hidden", "integer", "True"]),
    ({"activation": "softplus"}, ValueError, ["activation", "tanh", "'softplus'"]),
    ({"loss": "hinge"}, ValueError, ["loss", "softmax-ce", "'hinge'"]),
    ({"h0": "ones"}, ValueError, ["h0", "zeros", "'ones'"]),
    ({"labels": (0, 1)}, ValueError, ["labels", "tau=3"]),
    ({"labels": (0, 1, 3)}, ValueError, ["labels[3]", "0..2", "got 3"]),
    ({"loss": "mse", "labels": (0, 1, 2)}, ValueError, ["labels", "mse"]),
])
def test_invalid_spec_names_field_value_and_range(kwargs, exc, words):
    with pytest.raises(exc) as info:
        RNNSpec(**kwargs)
    for w in words:
        assert w in str(info.value)


# ---------------------------------------------------------------- derivation

def _generic_softmax_loss() -> None:
    """softmax with an undefined positive function E in place of exp: identities proved for it
    hold for exp too, and SymPy cannot merge E's the way it rewrites exp(o)**2."""
    if "softmax-E" in F.LOSSES:
        return
    E = sp.Function("E", positive=True)

    def out(o):
        s = sp.Add(*[E(v) for v in o])
        return [E(v) / s for v in o]

    base = F.LOSSES["softmax-ce"]
    F.LOSSES["softmax-E"] = F.Loss("softmax-E", out, base.per_step, base.grad_o, "class", "", "")


def _atomize(expr: sp.Expr) -> sp.Expr:
    """Every function application -> a fresh symbol (outermost first); exact, and it turns the
    difference into a rational function that ``cancel`` decides quickly."""
    atoms = sorted(expr.atoms(sp.Function, sp.Derivative, sp.Subs),
                   key=lambda f: (-sp.count_ops(f), sp.default_sort_key(f)))
    return expr.xreplace({f: sp.Symbol(f"F{k}") for k, f in enumerate(atoms)})


def _agrees_with_composed_diff(spec: RNNSpec, atomize: bool = True) -> None:
    g = unroll(spec)
    d = derive(g)
    loss = compose(g, g.L)
    assert len(g.leaves) > 0
    for s in g.leaves:
        naive = sp.diff(loss, s)
        graph = compose(g, d.expand_adjoints(d.adj[s]))
        diff = naive - graph
        if atomize:
            assert diff == 0 or sp.cancel(sp.together(_atomize(diff))) == 0, s
        else:  # exp(o)**2 becomes exp(2 o): atoms differ, so SymPy's full zero test
            assert diff == 0 or is_zero(diff), s


@pytest.mark.parametrize("tau", [1, 2, 3, 4])
def test_graph_derivation_equals_composed_diff_generic(tau):
    """Chain rule over the unrolled graph == sympy.diff of the fully composed loss, exactly,
    for a generic activation phi and softmax (so for tanh and exp among all others)."""
    _generic_softmax_loss()
    _agrees_with_composed_diff(RNNSpec(tau=tau, n_in=1, n_hidden=2 if tau < 4 else 1, n_out=2,
                                       activation="phi", loss="softmax-E"))


@pytest.mark.parametrize("activation, loss", [("tanh", "softmax-ce"), ("sigmoid", "mse"),
                                              ("identity", "mse")])
def test_graph_derivation_equals_composed_diff_concrete(activation, loss):
    _agrees_with_composed_diff(RNNSpec(tau=1, n_in=1, n_hidden=1, n_out=2,
                                       activation=activation, loss=loss), atomize=False)


def test_planted_derivation_error_is_caught():
    """The comparison above can fail: a derivation with one wrong partial disagrees."""
    spec = RNNSpec(tau=2, n_in=1, n_hidden=1, n_out=2)
    g = unroll(spec)
    d = derive(g)
    W = g.params["W"][0, 0]
    d.defs[d.adj[W]] = 2 * d.defs[d.adj[W]]
    naive = sp.diff(compose(g, g.L), W)
    graph = compose(g, d.expand_adjoints(d.adj[W]))
    assert not is_zero(naive - graph)


def test_is_zero_says_no():
    x = sp.Symbol("x", real=True)
    assert is_zero(sp.tanh(x) ** 2 + 1 / sp.cosh(x) ** 2 - 1)
    assert not is_zero(sp.tanh(x) - x)
    assert not is_zero(1 - sp.tanh(x) ** 2 - sp.exp(-x) / (1 + sp.exp(-x)) ** 2)


def test_size_is_linear_in_tau():
    sizes = [derive(unroll(RNNSpec(tau=t))).size() for t in (8, 16, 32)]
    # size(t) = alpha + beta t: the step from 16 to 32 adds twice the step from 8 to 16
    assert sizes[2] - sizes[1] == pytest.approx(2 * (sizes[1] - sizes[0]), rel=0.01)
    assert sizes[2] < 2.2 * sizes[1]


@pytest.mark.parametrize("activation", list(F.ACTIVATIONS))
@pytest.mark.parametrize("loss", list(F.LOSSES)[:3])
def test_matrix_equations_checked_for_every_activation_and_loss(activation, loss):
    eqs = matrix_equations(RNNSpec(tau=2, n_in=2, n_hidden=3, n_out=2, activation=activation,
                                   loss=loss))
    names = [e.name for e in eqs]
    assert names[:4] == ["grad_o", "grad_h_last", "grad_h", "grad_a"]
    text = {e.name: str(e.rhs) for e in eqs}
    assert text["grad_h"] == "V.T*grad_o^(t) + W.T*grad_a^(t+1)"
    assert text["grad_W"] == "grad_a^(t)*h^(t-1).T"


def test_matrix_equation_check_can_fail():
    from symrnn.derive import MatrixEquation, check_equation, _equations
    spec = RNNSpec(tau=2, n_in=2, n_hidden=3, n_out=2)
    d = derive(unroll(spec))
    eq = next(e for e in _equations(spec) if e.name == "grad_h")
    W = next(a for a in eq.rhs.atoms(sp.MatrixSymbol) if a.name == "W")
    wrong = MatrixEquation(eq.name, eq.lhs, eq.rhs.subs(W, W.T), eq.summed, eq.steps,
                           eq.comment)
    assert check_equation(eq, d)
    assert not check_equation(wrong, d)


# ---------------------------------------------------------------- certificate

@pytest.fixture(scope="module")
def default_cert():
    return certify(RNNSpec())


def test_default_certificate(default_cert):
    by_id = {e.id: e for e in default_cert.entries}
    assert set(by_id) == {f.id for f in CATALOGUE}
    assert default_cert.ok
    # the note's recursion multiplies a column by a matrix on the right
    g = by_id["bptt.grad_h"]
    assert g.status == "ill-formed" and "do not multiply" in g.reason
    assert g.reading_status == "confirmed" and r"\text{diag}" in g.reading
    for i in ("bptt.grad_o", "bptt.grad_h_tau", "bptt.grad_W", "bptt.grad_U", "bptt.grad_b",
              "bptt.grad_V", "bptt.grad_c", "fwd.10.8", "loss.nll", "bptt.grad_h.jacobian"):
        assert by_id[i].status == "confirmed", i
        assert by_id[i].method.startswith("exact")
    for i in ("chain.dL3_dW", "chain.dLt_dU", "chain.dL_dV"):
        assert by_id[i].status == "ill-formed" and "rank 3" in by_id[i].reason
        assert by_id[i].reading_status == "confirmed"


def test_hidden_size_one_makes_the_printed_recursion_well_formed():
    cert = certify(RNNSpec(tau=3, n_in=1, n_hidden=1, n_out=2))
    assert {e.id: e.status for e in cert.entries}["bptt.grad_h"] == "confirmed"


def test_short_sequences_mark_the_three_step_expansions_not_applicable():
    cert = certify(RNNSpec(tau=2))
    by_id = {e.id: e for e in cert.entries}
    assert by_id["chain.dL3_dW"].status == "not-applicable"
    assert cert.ok


def _planted(id_: str, build) -> Formula:
    return Formula(id_, "bptt", "planted", "x", "planted", build)


def test_planted_sign_error_is_refuted_with_a_counterexample():
    from symrnn.certificate import Context, msum, _given
    spec = RNNSpec(tau=3)
    ctx = Context(spec)

    def wrong_V(c):  # grad_V L = - sum_t grad_o(t) h(t)^T
        terms = [-product(c.grad("o", t), c.node("h", t).T) for t in range(1, 4)]
        return [Claim(c.d.grad("V"), msum(terms, terms[0].shape), "grad_V L",
                      _given(*[c.grad("o", t) for t in range(1, 4)]))]

    def wrong_W(c):  # grad_h(t) L with W instead of W^T
        claims = []
        for t in (1, 2):
            gh1, go = c.grad("h", t + 1), c.grad("o", t)
            f = product(c.P("W"), c.one_minus_h2(t + 1), gh1) + product(c.P("V").T, go)
            claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", _given(gh1, go)))
        return claims

    cert = certify(spec, context=ctx, catalogue=[_planted("planted.sign", wrong_V),
                                                 _planted("planted.transpose", wrong_W)])
    assert not cert.ok
    for e in cert.entries:
        assert e.status == "refuted", e.id
        cx = e.counterexample
        assert float(cx["formula_value"]) != pytest.approx(float(cx["true_value"]), abs=1e-6)
        assert cx["at"]


def test_planted_shape_error_is_ill_formed():
    def wrong(c):
        return [Claim(c.d.grad("V"), product(c.node("h", 1), c.grad("o", 1).T), "grad_V L")]
    cert = certify(RNNSpec(tau=2), catalogue=[_planted("planted.shape", wrong)])
    (e,) = cert.entries
    assert e.status == "ill-formed" and "4x3" in e.reason and not cert.ok


def test_product_refuses_rank_three():
    with pytest.raises(IllFormed, match="rank 3"):
        product(sp.Matrix([[1, 2]]), sp.MutableDenseNDimArray.zeros(2, 2, 2))


def test_non_tanh_activation_refutes_tanh_only_forms_and_confirms_the_generic_reading():
    cert = certify(RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2, activation="sigmoid"))
    by_id = {e.id: e for e in cert.entries}
    for i in ("bptt.grad_W", "bptt.grad_b", "bptt.grad_U", "fwd.10.9"):
        assert by_id[i].status == "refuted", i
        assert by_id[i].reading_status == "confirmed"
        assert "only for tanh" in by_id[i].reason
    assert "phi'" in by_id["bptt.grad_h"].reading_text
    assert cert.ok


def test_vector_targets_make_the_indicator_ill_formed():
    cert = certify(RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2, loss="mse"))
    e = {e.id: e for e in cert.entries}["bptt.grad_o"]
    assert e.status == "ill-formed" and "class index" in e.reason
    assert e.reading_status == "confirmed"


def _strip_seconds(text: str) -> list:
    data = json.loads(text)
    for e in data:
        e.pop("seconds")
    return data


def test_certificate_output_identical_across_runs_and_hash_seeds():
    outs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        r = subprocess.run([sys.executable, "-m", "symrnn", "verify", "--tau", "3", "--json"],
                           capture_output=True, text=True, env=env, cwd=ROOT, check=False)
        assert r.returncode == 0, r.stderr
        outs.append(_strip_seconds(r.stdout))
    assert outs[0] == outs[1] == outs[2]
    assert {"id", "printed", "status", "reading", "method", "seconds"} <= set(
        json.loads(r.stdout)[0])


def test_verify_table_and_exit_codes():
    r = subprocess.run([sys.executable, "-m", "symrnn", "verify", "--tau", "2", "--hidden", "2"],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr
    assert "bptt.grad_h" in r.stdout and "ill-formed" in r.stdout and "confirmed" in r.stdout
    assert "y^(t)[y(t)]" in r.stdout  # markup-like brackets are printed, not swallowed


def test_verify_exits_1_when_a_formula_is_refuted(monkeypatch, capsys):
    from symrnn import cli
    from symrnn.commands import verify

    def wrong(c):
        return [Claim(c.d.grad("c"), -c.grad("o", 1), "grad_c L")]
    real = verify.certify
    monkeypatch.setattr(verify, "certify", lambda spec, progress=None: real(
        spec, progress, catalogue=list(CATALOGUE[:2]) + [_planted("planted", wrong)]))
    assert cli.main(["verify", "--tau", "1", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[-1]["status"] == "refuted"


def test_repr_latex_of_certificate(default_cert):
    text = default_cert._repr_latex_()
    assert text.startswith("$$") and r"\text{bptt.grad_h}" in text and "ill-formed" in text
