"""Byte-identical output across runs and hash seeds, in fresh interpreters."""

import os
import subprocess
import sys

import pytest

from support import ROOT

SNIPPET = """
import hashlib, sys
sys.path.insert(0, "tests")
from support import results_for
from symrnn import RNNSpec, to_latex
out = []
for spec in ({specs}):
    results = results_for(spec)
    for fmt, standalone in (("tex", True), ("md", False)):
        out.append(hashlib.sha256(to_latex(spec, standalone=standalone, fmt=fmt,
                                           results=results).encode()).hexdigest())
print(" ".join(out))
"""


#: the note's network by default; another activation and loss, and the output-recurrence
#: network, with -m slow
SPECS = [pytest.param("RNNSpec(tau=3)", id="rnn"),
         pytest.param('RNNSpec(tau=2, activation="sigmoid", loss="bce")', id="sigmoid-bce",
                      marks=pytest.mark.slow),
         pytest.param('RNNSpec(model="output-recurrence")', id="output-recurrence",
                      marks=pytest.mark.slow)]


@pytest.mark.parametrize("spec", SPECS)
def test_same_bytes_across_hash_seeds(spec):
    """Two fresh interpreters with different hash seeds, run side by side."""
    procs = {}
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        procs[seed] = subprocess.Popen([sys.executable, "-c", SNIPPET.replace("{specs}",
                                                                              spec + ",")],
                                       cwd=ROOT, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for seed, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results[seed] = out.strip()
    assert len(set(results.values())) == 1, results
    assert len(next(iter(results.values())).split()) == 2
