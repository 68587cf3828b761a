"""``symrnn run --model NAME --quiet`` for each chapter-10 model beyond the note's: exit 0
with every check passed, and ``symrnn models`` lists each with the book's numbers."""

from __future__ import annotations

import json

import pytest

from symrnn.cli import main


@pytest.mark.parametrize("model", [  # a network with a backward state by default, all with -m slow
    pytest.param("single-output", marks=pytest.mark.slow),
    pytest.param("teacher-forcing", marks=pytest.mark.slow), "bidirectional",
    pytest.param("deep", marks=pytest.mark.slow)])
def test_run_quiet_passes(model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--model", model, "--quiet", "--no-pdf", "--json", "--out",
                 str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["checks"] and all(c["passed"] for c in summary["checks"])
    stem = model.replace("-", "_")
    assert (out / f"{stem}_loop.py").exists() and (out / f"bptt_{stem}_tau3.tex").exists()


def test_models_lists_the_chapter_10_networks(capsys):
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m["reference"]
              for m in json.loads(capsys.readouterr().out)["models"]}
    assert listed["single-output"] == "Fig. 10.5" and listed["teacher-forcing"] == "Fig. 10.6"
    assert "Fig. 10.11" in listed["bidirectional"] and "10.5" in listed["deep"]
