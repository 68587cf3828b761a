"""The certificate says only what it proved (issue 18): instance-only results are their own
kind and never hold, the lemma's cross-checks count, reasons come from checks, the instance's
labels are random and recorded, the mean reduction is part of what is checked."""

from __future__ import annotations

import sympy as sp

from mutants import D, Planted, gh, go, h, param, run
from symrnn.certificate.engine import Certificate
from symrnn.certificate.note import gives_param
from symrnn.naming import TAU, T, StepSum


def _planted(id, build, expect="checked-instance"):
    return Planted(id, "planted", id, build, expect=expect)


def test_a_sum_over_the_instance_steps_only_is_checked_instance_not_confirmed():
    # grad_c L = sum_{t=1}^{3} grad_o(t) L: right at tau = 3 (the instance), wrong at tau 4
    e = run(_planted("c.first3", gives_param("c", lambda G: StepSum(go(G, T), 1, 3))))
    assert e.kind == "checked-instance" and e.scope == "instance", (e.kind, e.reason)
    assert not e.holds and e.holds_at_instance
    assert "no proof for every size and tau" in e.reason
    cert = Certificate(None, [e])
    assert not cert.ok
    assert "checked at the instance only" in cert.summary()
    accepted = Certificate(None, [e], accept_instance=True)
    assert accepted.ok and "accepted (--accept-instance)" in accepted.summary()


def test_a_factor_that_is_one_at_the_instance_sizes_is_not_confirmed():
    # (n_hidden - 2) grad_o(t) ... is 1 at n_hidden = 3: the instance cannot tell
    nh = sp.Symbol("n_hidden", integer=True, positive=True)

    def build(G):
        factor = (G.node("h", T).rows - 2)
        return gives_param("c", lambda G: StepSum(factor * go(G, T), 1, TAU))(G)
    e = run(_planted("c.factor", build))
    assert e.kind in ("checked-instance", "refuted") and not e.holds, (e.kind, e.reason)


def test_a_claim_with_no_step_at_the_instance_says_so():
    from symrnn.certificate.note import gives
    from symrnn.naming import Steps
    from mutants import recursion
    e = run(_planted("h.late", gives("h", T, recursion, Steps(17, TAU - 1))))
    # the recursion holds where it is stated (a proof for every tau), and nothing was
    # checked at tau = 3: the instance words say not applicable
    assert e.kind == "confirmed" and e.scope == "all"
    assert "not applicable" in e.instance and "no step" in e.instance


def test_the_lemma_counts_in_ok():
    good = {"cross_check": {"holds": True}}
    bad = {"cross_check": {"holds": False}}
    assert Certificate(None, [], [good]).ok
    cert = Certificate(None, [], [bad])
    assert not cert.ok


def test_verify_exits_1_when_the_lemma_cross_check_fails(monkeypatch, capsys):
    import symrnn.core.composed as composed
    from symrnn.cli import main
    monkeypatch.setattr(composed, "forward_matches_reverse", lambda g, d, seeds=(1, 2): False)
    code = main(["verify", "--model", "single-output", "--quiet", "--json"])
    out = capsys.readouterr().out
    assert code == 1 and '"ok": false' in out


def test_the_forward_cross_check_sees_a_transposed_gradient():
    from symrnn.core.composed import forward_matches_reverse
    from symrnn.core.derive import derive
    from symrnn.core.graph import unroll
    from symrnn.models import get_model
    from symrnn.pipeline import LEMMA_SIZES
    from symrnn.spec import RNNSpec
    spec = RNNSpec(**LEMMA_SIZES, h0="symbol")
    g = unroll(get_model("rnn"), spec)
    d = derive(g)
    assert forward_matches_reverse(g, d)
    W = g.params["W"]
    a, b = d.adj[W[0, 1]], d.adj[W[1, 0]]
    d.defs[a], d.defs[b] = d.defs[b], d.defs[a]  # grad_W transposed in two entries
    assert not forward_matches_reverse(g, d)


def test_the_lemma_runs_where_indices_show():
    from symrnn.pipeline import lemma
    from symrnn.spec import RNNSpec
    for model in ("rnn", "gru-torch"):
        lem = lemma(RNNSpec(model=model))
        fwd = lem["cross_check"]["forward"]
        assert fwd["holds"] and fwd["tau"] >= 3
        sizes = list(fwd["sizes"].values())
        assert len(set(sizes)) == 3 and min(sizes) >= 2


def test_a_refutation_says_tanh_only_where_tanh_was_checked():
    from certificate_runs import by_id, sigmoid_json
    _rc, data = sigmoid_json()
    e = by_id(data["entries"])["bptt.grad_b"]
    assert e["kind"] == "refuted"
    assert "with the activation tanh (checked" in e["reason"]


def test_a_wrong_formula_under_sigmoid_gets_the_difference_not_a_tanh_reason():
    import mutants
    p = Planted("W.no_T", "bptt.grad_h", "W for W^T",
                mutants.grad_h(lambda G: mutants.recursion(G, W=lambda G: G.P("W"))))
    e = run(p, mutants_checker_sigmoid())
    assert e.kind == "refuted", e.kind
    assert "tanh" not in e.reason and "differ" in e.reason


def mutants_checker_sigmoid():
    import mutants
    from symrnn.spec import RNNSpec
    mutants.SPECS.setdefault("tau3-sigmoid", RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2,
                                                     activation="sigmoid"))
    return mutants.checker("tau3-sigmoid")


def test_the_instance_labels_are_random_and_recorded():
    from certificate_runs import verify_json
    from symrnn.spec import LABELS_SEED, RNNSpec
    _rc, data = verify_json()
    inst = data["instance"]
    assert inst["labels_seed"] == LABELS_SEED
    spec = RNNSpec(tau=inst["tau"], n_out=inst["n_out"])
    assert tuple(inst["labels"]) == spec.class_labels
    long = RNNSpec(tau=16, n_out=3).class_labels
    assert any(long[t] != long[t - 3] for t in range(3, 16))  # not of period n_out


def test_the_mean_reduction_is_what_is_checked():
    from certificate_runs import by_id, verify_json
    rc, data = verify_json("--reduction", "mean")
    es = by_id(data["entries"])
    for fid in ("loss.total", "bptt.dL_dLt", "bptt.grad_o"):  # 1/(tau B) of the sum's
        assert es[fid]["kind"] == "refuted", (fid, es[fid]["kind"])
    for fid in ("bptt.grad_h_tau", "bptt.grad_c", "bptt.grad_W"):  # in the gradients
        assert es[fid]["kind"] == "confirmed" and es[fid]["scope"] == "all", fid
    dW = es["chain.dLt_dW"]  # about L(t) alone: no reduction changes it
    assert any(r["kind"] == "confirmed" and r["scope"] == "all" for r in dW["readings"])
    assert rc == 1 and not data["ok"]


def test_bce_with_one_output_is_certified_not_a_crash():
    from certificate_runs import verify_json
    rc, data = verify_json("--loss", "bce", "--outputs", "1")
    assert rc in (0, 1) and data["entries"]
