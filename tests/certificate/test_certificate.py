"""The certificate of the note's printed formulas: statuses come from checks that can say no
(confirmed, refuted with a counterexample, ill-formed, not-applicable), the output is the same
across runs and hash seeds, and ``symrnn verify`` prints it with its exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import sympy as sp

from support import ROOT, certificate_for, env, results_for
from symrnn.certificate.claims import Claim, Formula, IllFormed, given, msum, product
from symrnn.certificate.engine import STATUSES, Context, Certificate, certify_context
from symrnn.certificate.note import CATALOGUE, one_minus_h2
from symrnn.models import get_model
from symrnn.spec import RNNSpec


@pytest.fixture(scope="module")
def default_cert(default_results):
    return default_results.certificate


def _by_id(cert) -> dict:
    return {e.id: e for e in cert.entries}


def test_catalogue_is_attached_to_the_note_model_only():
    assert get_model("rnn").catalogue is CATALOGUE and len(CATALOGUE) == 24
    assert len({f.id for f in CATALOGUE}) == len(CATALOGUE)
    assert get_model("output-recurrence").catalogue == ()
    cert = certificate_for(RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2,
                                   model="output-recurrence"))
    assert cert.entries == [] and cert.ok
    assert cert.summary() == "0 formulas: this model has no printed formulas to certify"


def test_default_certificate(default_cert):
    by_id = _by_id(default_cert)
    assert [e.id for e in default_cert.entries] == [f.id for f in CATALOGUE]
    assert default_cert.ok
    assert all(e.status in STATUSES for e in default_cert.entries)
    # the note's recursion multiplies a column by a matrix on the right
    g = by_id["bptt.grad_h"]
    assert g.status == "ill-formed" and "do not multiply" in g.reason
    assert g.reading_status == "confirmed" and r"\text{diag}" in g.reading
    for i in ("bptt.grad_o", "bptt.grad_h_tau", "bptt.grad_W", "bptt.grad_U", "bptt.grad_b",
              "bptt.grad_V", "bptt.grad_c", "fwd.10.8", "loss.nll", "bptt.grad_h.jacobian"):
        assert by_id[i].status == "confirmed", i
        assert by_id[i].method.startswith("exact"), i
        assert by_id[i].holds and by_id[i].reading is None
    for i in ("chain.dL3_dW", "chain.dLt_dU", "chain.dL_dV"):
        assert by_id[i].status == "ill-formed" and "rank 3" in by_id[i].reason
        assert by_id[i].reading_status == "confirmed"
    assert by_id["chain.dLt_dW"].method.endswith("every t <= 3")  # induction, per tau
    assert default_cert.summary() == ("24 formulas: 17 confirmed, 7 ill-formed; "
                                      "7 with a confirmed reading")


def test_hidden_size_one_makes_the_printed_recursion_well_formed():
    cert = certificate_for(RNNSpec(tau=3, n_in=1, n_hidden=1, n_out=2))
    assert _by_id(cert)["bptt.grad_h"].status == "confirmed"


def test_short_sequences_mark_the_three_step_expansions_not_applicable():
    cert = certificate_for(RNNSpec(tau=2))
    by_id = _by_id(cert)
    for i in ("chain.dL3_dW", "chain.dL3_dU"):
        assert by_id[i].status == "not-applicable" and "tau = 2" in by_id[i].reason
        assert by_id[i].holds
    assert cert.ok
    one = _by_id(certificate_for(RNNSpec(tau=1, n_in=1, n_hidden=2, n_out=2)))
    assert one["bptt.grad_h"].status == "not-applicable"  # needs a step t + 1 <= tau


# ---------------------------------------------------------------- planted formulas

def _planted(id_: str, build) -> Formula:
    return Formula(id_, "bptt", "planted", "x", "planted", build)


def _context(spec) -> Context:
    r = results_for(spec)
    return Context(r.graph, r.derivation)


def test_planted_sign_error_is_refuted_with_a_counterexample():
    spec = RNNSpec(tau=3)

    def wrong_V(c):  # grad_V L = - sum_t grad_o(t) h(t)^T
        terms = [-product(c.grad("o", t), c.node("h", t).T) for t in range(1, 4)]
        return [Claim(c.d.grad("V"), msum(terms, terms[0].shape), "grad_V L",
                      given(*[c.grad("o", t) for t in range(1, 4)]))]

    def wrong_W(c):  # grad_h(t) L with W instead of W^T
        claims = []
        for t in (1, 2):
            gh1, go = c.grad("h", t + 1), c.grad("o", t)
            f = product(c.P("W"), one_minus_h2(c, t + 1), gh1) + product(c.P("V").T, go)
            claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", given(gh1, go)))
        return claims

    cert = certify_context(_context(spec), [_planted("planted.sign", wrong_V),
                                            _planted("planted.transpose", wrong_W)])
    assert isinstance(cert, Certificate) and not cert.ok
    for e in cert.entries:
        assert e.status == "refuted", e.id
        assert e.reason == "the two sides differ at the point given"
        cx = e.counterexample
        assert float(cx["formula_value"]) != pytest.approx(float(cx["true_value"]), abs=1e-6)
        assert cx["at"] and cx["claim"].startswith("grad_")
    assert cert.summary().startswith("2 formulas: 2 refuted")


def test_planted_shape_error_is_ill_formed():
    def wrong(c):
        return [Claim(c.d.grad("V"), product(c.node("h", 1), c.grad("o", 1).T), "grad_V L")]
    cert = certify_context(_context(RNNSpec(tau=2)), [_planted("planted.shape", wrong)])
    (e,) = cert.entries
    assert e.status == "ill-formed" and "4x3" in e.reason and not cert.ok
    assert e.method == "type check with column vectors"


def test_product_refuses_rank_three():
    with pytest.raises(IllFormed, match="rank 3"):
        product(sp.Matrix([[1, 2]]), sp.MutableDenseNDimArray.zeros(2, 2, 2))
    with pytest.raises(IllFormed, match="do not multiply"):
        product(sp.Matrix([[1, 2]]), sp.Matrix([[1, 2]]))
    assert product(sp.Matrix([[1, 2]]), sp.Matrix([[3], [4]])) == sp.Matrix([[11]])


# ---------------------------------------------------------------- other choices

def test_non_tanh_activation_refutes_tanh_only_forms_and_confirms_the_generic_reading():
    cert = certificate_for(RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2, activation="sigmoid"))
    by_id = _by_id(cert)
    for i in ("bptt.grad_W", "bptt.grad_b", "bptt.grad_U", "fwd.10.9"):
        assert by_id[i].status == "refuted", i
        assert by_id[i].reading_status == "confirmed"
        assert "only for tanh" in by_id[i].reason
        assert by_id[i].counterexample is not None
    assert "phi'" in by_id["bptt.grad_h"].reading_text
    assert cert.ok


def test_vector_targets_make_the_indicator_ill_formed():
    cert = certificate_for(RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2, loss="mse"))
    by_id = _by_id(cert)
    e = by_id["bptt.grad_o"]
    assert e.status == "ill-formed" and "class index" in e.reason
    assert e.reading_status == "confirmed"
    assert by_id["fwd.10.11"].status == "refuted" and "softmax" in by_id["fwd.10.11"].reason
    assert cert.ok


# ---------------------------------------------------------------- determinism, CLI

def _strip_seconds(text: str) -> list:
    data = json.loads(text)
    for e in data:
        e.pop("seconds")
    return data


def test_certificate_output_identical_across_runs_and_hash_seeds():
    outs = []
    for seed in ("0", "1", "12345"):
        r = subprocess.run([sys.executable, "-m", "symrnn", "verify", "--tau", "3", "--json"],
                           capture_output=True, text=True, env={**env(), "PYTHONHASHSEED": seed},
                           cwd=ROOT, stdin=subprocess.DEVNULL, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        outs.append(_strip_seconds(r.stdout))
    assert outs[0] == outs[1] == outs[2]
    first = json.loads(r.stdout)[0]
    assert {"id", "printed", "status", "reading", "method", "seconds"} <= set(first)


def test_two_workers_give_the_same_certificate():
    """Entries are independent: spreading them over forked workers changes nothing."""
    spec = RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2)
    ticks: list[str] = []
    one = certify_context(_context(spec), CATALOGUE, workers=1)
    two = certify_context(_context(spec), CATALOGUE, progress=ticks.append, workers=2,
                          heavy_first=("chain.dLt_dW",))
    strip = lambda cert: [{k: v for k, v in e.items() if k != "seconds"} for e in cert.to_json()]
    assert strip(one) == strip(two)
    assert [e.formula for e in two.entries] == list(CATALOGUE)
    assert sorted(ticks) == sorted(f.id for f in CATALOGUE)


def test_verify_table_and_exit_codes(capsys):
    from symrnn.cli import main
    assert main(["verify", "--tau", "2", "--hidden", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bptt.grad_h" in out and "ill-formed" in out and "confirmed" in out
    assert "y^(t)[y(t)]" in out  # markup-like brackets are printed, not swallowed
    assert "24 formulas" in out


def test_verify_exits_1_when_a_formula_is_refuted(monkeypatch, capsys):
    import symrnn
    from symrnn.cli import main
    from symrnn.cli import verify

    def wrong(c):
        return [Claim(c.d.grad("c"), -c.grad("o", 1), "grad_c L")]

    def planted_certify(spec, progress=None, workers=None):
        r = symrnn.derive(spec)
        return certify_context(Context(r.graph, r.derivation),
                               list(CATALOGUE[:2]) + [_planted("planted", wrong)], progress)

    monkeypatch.setattr(verify, "certify", planted_certify)
    assert main(["verify", "--tau", "1", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in data] == [CATALOGUE[0].id, CATALOGUE[1].id, "planted"]
    assert data[-1]["status"] == "refuted" and data[-1]["counterexample"]


def test_verify_refuses_bad_input_with_exit_2(capsys):
    from symrnn.cli import main
    assert main(["verify", "--tau", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symrnn: error: ") and "--tau" in err and "Traceback" not in err


def test_repr_latex_of_certificate(default_cert):
    text = default_cert._repr_latex_()
    # ids are text: their underscores are escaped (a bare _ in \text is a LaTeX error)
    assert text.startswith("$$") and r"\text{bptt.grad\_h}" in text and "ill-formed" in text
    assert not re.search(r"\\text\{[^}]*[^\\]_", text)
    assert text.count(r"\text{bptt.") == sum(e.id.startswith("bptt.")
                                               for e in default_cert.entries)
