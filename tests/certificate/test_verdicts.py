"""The verdicts of the note's certificate, from the real engine: what holds for every size and
every tau, what is ill-formed, shorthand or ambiguous and which reading holds, what a
non-tanh activation refutes (with an exact or interval-verified counterexample), the exit
codes of ``symrnn verify``, the JSON contract, and determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from certificate_runs import by_id, sigmoid_json, without_seconds
from support import ROOT, certificate_for, env

import symrnn
from symrnn import RNNSpec
from symrnn.certificate.engine import KINDS, SCHEMA_VERSION
from symrnn.certificate.note import CATALOGUE

SUBSTANTIVE = [k for k in KINDS if k != "not-applicable"]
MIDDLE = ("bptt.grad_c.middle", "bptt.grad_b.middle", "bptt.grad_V.middle",
          "bptt.grad_W.middle", "bptt.grad_U.middle")
SHORTHAND = ("chain.dLt_dV", "chain.dL_dV", "chain.dL3_dW", "chain.dL3_dU")
TANH_ONLY = ("bptt.grad_b", "bptt.grad_W", "bptt.grad_U", "fwd.10.9")


@pytest.fixture(scope="module")
def cert(default_results):
    """The certificate of the note's example: RNNSpec(), tau 3, sizes 3/4/3."""
    return default_results.certificate


@pytest.fixture(scope="module")
def entries(cert):
    return by_id(cert.entries)


# ---------------------------------------------------------------- the note's example

def test_catalogue_order_and_kinds(cert):
    assert [e.id for e in cert.entries] == [f.id for f in CATALOGUE]
    assert len(cert.entries) == 31
    assert all(e.kind in KINDS and e.status == e.kind for e in cert.entries)


def test_printed_recursion_is_ill_formed_with_a_confirmed_reading(entries):
    e = entries["bptt.grad_h"]
    assert e.kind == "ill-formed" and e.scope == "all"
    assert "do not multiply" in e.reason
    assert e.conditions == ["well-formed only when n_hidden = 1"]
    assert e.readings, "the ill-formed recursion must carry its readings"
    first = e.readings[0]
    assert first["kind"] == "confirmed" and first["scope"] == "all"
    assert "diag(1 - h(t+1)^2) grad_h(t+1)" in first["text"]
    assert e.confirmed_reading is first and e.holds
    # the reading with phi' holds too (for tanh it is the same formula)
    assert e.readings[1]["kind"] == "confirmed" and "phi'" in e.readings[1]["text"]


@pytest.mark.parametrize("fid", SHORTHAND)
def test_rank3_products_are_shorthand_with_a_confirmed_contraction(entries, fid):
    e = entries[fid]
    assert e.kind == "shorthand" and e.scope == "all"
    assert "rank-3" in e.reason
    (r,) = e.readings
    assert r["kind"] == "confirmed" and r["scope"] == "all"
    assert "contracted with the Jacobian's first index" in r["what"]
    assert "sum_i" in r["text"]
    assert e.holds


@pytest.mark.parametrize("param", ["W", "U"])
def test_general_expansion_is_ambiguous_descending_confirmed_ascending_refuted(entries, param):
    e = entries[f"chain.dLt_d{param}"]
    assert e.kind == "ambiguous" and e.scope == "all"
    assert "without an order" in e.reason
    descending, ascending = e.readings
    assert descending["text"].startswith("descending")
    assert descending["kind"] == "confirmed" and descending["scope"] == "all"
    assert ascending["text"].startswith("ascending")
    assert ascending["kind"] == "refuted" and ascending["scope"] == "all"
    cex = ascending["counterexample"]
    assert cex is not None and cex["verified"] in ("exact", "interval")
    assert cex["lhs"] != cex["rhs"] and cex["point"]
    assert any("tau >= 3" in c and "n_hidden >= 2" in c for c in ascending["conditions"])
    assert any("tau >= 3" in c and "n_hidden >= 2" in c for c in e.conditions)
    assert e.holds  # in its confirmed (descending) reading


def test_forward_and_loss_equations_are_definitions(entries):
    ids = [i for i in entries if i.startswith(("fwd.", "loss."))]
    assert len(ids) == 10
    for i in ids:
        e = entries[i]
        assert e.kind == "definition" and e.scope == "all", i
        assert e.readings == [] and e.counterexample is None, i


@pytest.mark.parametrize("fid", MIDDLE)
def test_middle_forms_are_confirmed_for_every_size_and_tau(entries, fid):
    e = entries[fid]
    assert e.kind == "confirmed" and e.scope == "all"
    assert e.method.startswith("identity in index form for every size")
    assert e.instance == "confirmed at tau = 3, sizes 3/4/3"


def test_the_note_matrix_formulas_are_confirmed(entries):
    for i in ("bptt.dL_dLt", "bptt.grad_o", "bptt.grad_h_tau", "bptt.grad_h.jacobian",
              "bptt.grad_c", "bptt.grad_b", "bptt.grad_V", "bptt.grad_W", "bptt.grad_U"):
        e = entries[i]
        assert e.kind == "confirmed" and e.scope == "all", i
        assert e.readings == [] and e.holds, i


def test_every_substantive_entry_is_decided_for_every_size_and_tau(cert):
    for e in cert.entries:
        assert e.kind in SUBSTANTIVE, e.id
        assert e.scope == "all", e.id
        for r in e.readings:
            assert r["scope"] == "all", (e.id, r["text"])


def test_ok_summary_and_counts(cert):
    assert cert.ok
    assert cert.counts() == {"confirmed": 14, "refuted": 0, "ill-formed": 1, "shorthand": 4,
                             "ambiguous": 2, "definition": 10, "checked-instance": 0, "unproven": 0,
                             "not-applicable": 0}
    assert cert.summary() == ("31 formulas: 14 confirmed, 1 ill-formed, 4 shorthand, "
                              "2 ambiguous, 10 definition; 7 with a confirmed reading; 31 "
                              "decided for every size and tau")


def test_rules_are_all_proved(cert):
    assert len(cert.rules) >= 10
    assert all(r["proved"] is True for r in cert.rules), [r for r in cert.rules
                                                          if not r["proved"]]
    assert any("softmax-ce" in r["rule"] for r in cert.rules)  # the loss rule


def test_the_lemma_is_named_and_cross_checked(cert):
    (lemma,) = cert.lemmas
    assert lemma["taken_as_given"] is True and "reverse accumulation" in lemma["lemma"]
    check = lemma["cross_check"]
    assert check["holds"] is True and "sympy.diff" in check["method"]


# ---------------------------------------------------------------- other sizes and choices

def test_one_hidden_unit_keeps_the_recursion_ill_formed():
    cert = certificate_for(RNNSpec(tau=3, n_in=1, n_hidden=1, n_out=2))
    e = by_id(cert.entries)["bptt.grad_h"]
    assert e.kind == "ill-formed" and e.scope == "all"
    assert e.conditions == ["well-formed only when n_hidden = 1"]
    assert "only because 1 x 1 matrices commute" in e.instance
    assert "sizes 1/1/2" in e.instance
    assert e.confirmed_reading is not None and cert.ok


def test_softmax_over_one_class_is_refused_by_the_api():
    with pytest.raises(ValueError, match="n_out"):
        symrnn.certify(RNNSpec(n_out=1))


def test_softmax_over_one_class_is_refused_by_verify(capsys):
    from symrnn.cli import main
    assert main(["verify", "--outputs", "1", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("symrnn: error: ")
    assert "--outputs 1" in captured.err and "Traceback" not in captured.err


def test_sigmoid_refutes_the_tanh_forms_and_confirms_their_phi_readings():
    rc, data = sigmoid_json()
    entries = by_id(data["entries"])
    for i in TANH_ONLY:
        e = entries[i]
        assert e["kind"] == "refuted" and e["scope"] == "all", i
        assert "with the activation tanh (checked: proved" in e["reason"], i
        cex = e["counterexample"]
        assert cex["verified"] in ("exact", "interval"), i
        assert cex["lhs"] != cex["rhs"] and cex["point"], i
        (r,) = e["readings"]
        assert r["kind"] in ("confirmed", "definition") and r["scope"] == "all", i
        assert "phi" in r["text"], i
    # the recursion: still ill-formed; its diag(1 - h^2) reading refuted, phi' confirmed
    gh = entries["bptt.grad_h"]
    assert gh["kind"] == "ill-formed"
    assert [r["kind"] for r in gh["readings"]] == ["refuted", "confirmed"]
    assert "phi'" in gh["readings"][1]["text"]
    # everything that does not name tanh is as for tanh
    for i in MIDDLE + ("bptt.grad_c", "bptt.grad_V", "bptt.grad_h.jacobian"):
        assert entries[i]["kind"] == "confirmed" and entries[i]["scope"] == "all", i
    assert all(e["scope"] == "all" for e in data["entries"])
    assert data["summary"].startswith("31 formulas: 11 confirmed, 4 refuted, 1 ill-formed")


def test_verify_exit_code_follows_the_documented_rule_for_sigmoid():
    """0 when every formula holds as printed or in a confirmed reading: with sigmoid the
    tanh-only prints are refuted but their phi' readings are confirmed."""
    rc, data = sigmoid_json()
    assert rc == 0 and data["ok"] is True


def _planted_catalogue(with_reading: bool):
    """A correct formula and a wrong one (grad_c L = -sum_t grad_o(t) L), with or without a
    reading that holds."""
    from mutants import CORRECT, MUTATIONS
    from symrnn.certificate.claims import Formula
    ok = next(p for p in CORRECT if p.id == "ok.grad_c")
    wrong = next(p for p in MUTATIONS if p.id == "c.sign")
    readings = (("x", "grad_c L = sum_t grad_o(t) L", ok.build),) if with_reading else ()
    return (CATALOGUE[0], ok.formula(),
            Formula("planted.c", "bptt", "planted", "x", "grad_c L = -sum_t grad_o(t) L",
                    wrong.build, readings))


@pytest.mark.parametrize("with_reading, code", [(False, 1), (True, 0)])
def test_verify_exits_1_when_a_formula_fails_in_every_reading(with_reading, code, capsys):
    from symrnn.cli import main
    from symrnn.models import get_model
    model = get_model("rnn")
    saved = model.catalogue
    object.__setattr__(model, "catalogue", _planted_catalogue(with_reading))
    try:
        rc = main(["verify", "--tau", "2", "--inputs", "1", "--hidden", "2", "--outputs", "2",
                   "--json", "--quiet"])
    finally:
        object.__setattr__(model, "catalogue", saved)
    data = json.loads(capsys.readouterr().out)["certificate"]
    assert rc == code
    assert [e["id"] for e in data["entries"]] == [CATALOGUE[0].id, "ok.grad_c", "planted.c"]
    planted = data["entries"][-1]
    assert planted["kind"] == "refuted" and planted["scope"] == "all"
    assert planted["counterexample"]["verified"] in ("exact", "interval")
    assert data["ok"] is (code == 0)
    if with_reading:
        assert planted["readings"][0]["kind"] == "confirmed"


# ---------------------------------------------------------------- the JSON

ENTRY_KEYS = {"id", "printed", "kind", "status", "scope", "conditions", "readings",
              "counterexample", "method", "seconds"}


def _check_contract(data):
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert isinstance(data["ok"], bool) and isinstance(data["summary"], str)
    assert data["lemmas"] and data["rules"]
    for e in data["entries"]:
        assert ENTRY_KEYS <= set(e), e["id"]
        assert e["status"] == e["kind"] and e["kind"] in KINDS
        assert e["scope"] in ("all", "instance", None)
        assert isinstance(e["conditions"], list) and isinstance(e["method"], str)
        assert isinstance(e["seconds"], (int, float))
        for r in e["readings"]:
            assert {"text", "kind", "scope"} <= set(r)
        if e["kind"] == "refuted":
            assert {"point", "lhs", "rhs", "verified"} <= set(e["counterexample"]), e["id"]
        for r in e["readings"]:
            if r["kind"] == "refuted":
                assert {"point", "lhs", "rhs", "verified"} <= set(r["counterexample"])
    json.dumps(data)  # plain JSON all the way down


def test_json_contract(cert):
    data = cert.to_json()
    _check_contract(data)
    rc, sig = sigmoid_json()
    _check_contract(sig)
    assert sum(e["kind"] == "refuted" for e in sig["entries"]) == 4


def test_json_is_identical_across_runs_and_hash_seeds(cert):
    first = without_seconds(cert.to_json())
    procs = [subprocess.Popen([sys.executable, "-m", "symrnn", "verify", "--json", "--quiet"],
                              cwd=ROOT, env={**env(), "PYTHONHASHSEED": seed},
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for seed in ("1", "987654")]
    try:
        again = without_seconds(symrnn.certify(RNNSpec()).to_json())  # meanwhile, in-process
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert again == first
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert without_seconds(json.loads(out)["certificate"]) == first


def test_sizes_beyond_the_instance_cap_are_certified_with_a_capped_cross_check(capsys):
    """The general proofs hold for every size, so verify takes any size; the instance
    cross-check runs at its own cap and the JSON says where."""
    from symrnn.cli import main
    code = main(["verify", "--tau", "40", "--inputs", "65", "--hidden", "100", "--outputs", "65",
                 "--instance-tau", "2", "--instance-size", "2", "--json", "--quiet"])
    data = json.loads(capsys.readouterr().out)["certificate"]
    assert code == 0 and data["ok"]
    assert data["spec"]["n_hidden"] == 100 and data["spec"]["tau"] == 40
    # tau never below 3: the note prints dL(3)/dW, which the instance must reach
    assert {k: data["instance"][k] for k in ("tau", "n_in", "n_hidden", "n_out")} == \
        {"tau": 3, "n_in": 2, "n_hidden": 2, "n_out": 2}
    substantive = [e for e in data["entries"] if e["kind"] != "definition"]
    assert substantive and all(e["scope"] == "all" for e in substantive)


def test_instance_size_cap_below_two_is_refused():
    from symrnn.pipeline import instance_spec
    with pytest.raises(ValueError, match="size must be at least 2"):
        instance_spec(RNNSpec(), None, 1)
