"""Every model x activation x loss through the main job: certified, code emitted and checked."""

from __future__ import annotations

import json

import pytest

from symrnn import cli
from symrnn.backends.numpy.emitter import module_filename
from symrnn.functions import ACTIVATIONS, LOSSES
from symrnn.models import MODELS
from symrnn.pipeline import doc_stem
from symrnn.spec import RNNSpec


ALL = [(m, a, l) for m in MODELS for a in ACTIVATIONS for l in LOSSES]
#: one of each kind in the default run: every activation and every loss once (tanh with
#: softmax-ce is the default run of tests/cli/test_run.py; sigmoid and relu through a network
#: without printed formulas: the note's refuted under them are tests/certificate's), and one
#: gated cell (its functions are fixed: the activation is ignored).
#: The other chapter-10 networks run once each elsewhere (tests/cli/test_run.py,
#: test_chapter10_run.py); each model with every activation and loss, and the whole product,
#: are the slow sweeps (-m slow)
QUICK = [("output-recurrence", "sigmoid", "mse"), ("output-recurrence", "relu", "bce"),
         ("rnn", "identity", "softmax-ce"), ("rnn", "phi", "mse"), ("gru", "tanh", "bce")]
#: every activation and every loss at least once for each model
COVER = [(m, a, l) for m in ("rnn", "output-recurrence")
         for a, l in zip(ACTIVATIONS, list(LOSSES) * 2)] + [
    (m, a, l) for m in MODELS if m not in ("rnn", "output-recurrence")
    and MODELS[m].uses_activation for a, l in (("relu", "mse"), ("sigmoid", "bce"))]
#: a model whose functions are fixed (a gated cell) ignores the activation: each loss once
COVER += [(m, "tanh", l) for m in MODELS if not MODELS[m].uses_activation for l in LOSSES]


@pytest.mark.parametrize("model, activation, loss", QUICK)
def test_run_every_activation_and_loss_once(model, activation, loss, tmp_path, capsys):
    check_run(model, activation, loss, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("model, activation, loss", [c for c in COVER if c not in QUICK])
def test_run_every_model_with_every_activation_and_loss(model, activation, loss, tmp_path,
                                                        capsys):
    check_run(model, activation, loss, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("model, activation, loss", [c for c in ALL if c not in COVER])
def test_run_every_model_activation_and_loss(model, activation, loss, tmp_path, capsys):
    check_run(model, activation, loss, tmp_path, capsys)


def check_run(model, activation, loss, tmp_path, capsys):
    code = cli.main(["run", "--model", model, "--activation", activation, "--loss", loss,
                     "--out", str(tmp_path), "--form", "loop", "--no-pdf", "--quiet", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    assert report["ok"] and report["certificate"]["ok"]
    assert report["spec"]["model"] == model
    spec = RNNSpec(activation=activation, loss=loss, model=model)
    statuses = {e["id"]: e for e in report["certificate"]["entries"]}
    if model == "rnn":
        assert len(statuses) == 31
        # the note's diag(1 - h^2) holds for tanh only; elsewhere its phi' reading is confirmed
        grad_w = statuses["bptt.grad_W"]
        if activation == "tanh":
            assert grad_w["kind"] == "confirmed" and grad_w["scope"] == "all"
        else:
            assert grad_w["kind"] == "refuted" and grad_w["counterexample"]
            assert grad_w["readings"][0]["kind"] == "confirmed"
    else:  # the printed formulas attached to the model, if any (single-output: 10.8, 10.9;
        # a gated cell: the book's equations, definitions for every size)
        assert set(statuses) == {f.id for f in MODELS[model].catalogue}
        if MODELS[model].catalogue and not MODELS[model].uses_activation:
            assert all(e["kind"] == "definition" and e["scope"] == "all"
                       for e in statuses.values())
    names = {p.name for p in tmp_path.iterdir()}
    stem = doc_stem(spec)
    assert {f"{stem}.tex", f"{stem}.md", f"{stem}_certificate.json"} <= names
    if activation == "phi":  # symbolic phi: no numeric code, said so
        assert report["checks"] == [] and report["notes"]
        assert not any(n.endswith(".py") for n in names)
        return
    assert report["checks"] and all(c["passed"] for c in report["checks"])
    assert max(c["max_rel_err"] for c in report["checks"]) < 1e-6
    module = module_filename(spec, "loop")
    assert module.startswith(model.replace("-", "_") + "_loop") and module in names
    assert {c["module"] for c in report["checks"]} == {module}
