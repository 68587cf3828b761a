"""Every activation x loss through the main job: certified, code emitted and checked."""

from __future__ import annotations

import json

import pytest

from symrnn import cli
from symrnn.functions import ACTIVATIONS, LOSSES


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_run_every_activation_and_loss(activation, loss, tmp_path, capsys):
    code = cli.main(["run", "--activation", activation, "--loss", loss, "--out", str(tmp_path),
                     "--form", "loop", "--no-pdf", "--quiet", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    assert report["certificate"]["ok"]
    statuses = {e["id"]: e for e in report["certificate"]["entries"]}
    # the note's diag(1 - h^2) holds for tanh only; elsewhere its phi' reading is confirmed
    grad_w = statuses["bptt.grad_W"]
    if activation == "tanh":
        assert grad_w["status"] == "confirmed"
    else:
        assert grad_w["status"] == "refuted" and grad_w["reading_status"] == "confirmed"
    if activation == "phi":  # symbolic phi: no numeric code, said so
        assert report["checks"] == [] and report["notes"]
        return
    assert report["checks"] and all(c["passed"] for c in report["checks"])
    assert max(c["max_rel_err"] for c in report["checks"]) < 1e-6
    names = {p.name for p in tmp_path.iterdir()}
    assert any(n.startswith("rnn_loop") and n.endswith(".py") for n in names)
