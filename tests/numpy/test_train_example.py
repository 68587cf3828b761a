"""examples/train_char.py, run as a user would: a character model over windows of a small
text (state carried, Adam, clipping) whose loss falls, the loss plot, and a sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from support import ROOT, import_file


def test_the_training_example_learns(tmp_path, capsys):
    ex = import_file(ROOT / "examples" / "train_char.py", "train_char_example")
    text = "the cat sat on the mat. the rat sat on the hat. " * 3
    plot = tmp_path / "loss.png"
    assert ex.main(["--steps", "150", "--hidden", "32", "--batch", "4", "--window", "16",
                    "--lr", "1e-2", "--sample", "40", "--plot", str(plot)]) == 0
    m, params, chars, losses = ex.train(text, hidden=32, window=16, batch=4, steps=150,
                                        lr=1e-2, log=None)
    assert m.INPUT == "index" and m.REDUCTION == "mean"
    assert abs(losses[0] - np.log(len(chars))) < 0.2  # starts at uniform guessing
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10]), losses[::15]
    out = capsys.readouterr().out
    assert "nats/char" in out and "sample: " in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = ex.sample_text(m, params, chars, "the ", 30, seed=1)
    assert s.startswith("the ") and len(s) == 34 and set(s) <= set(chars)
