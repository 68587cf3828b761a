"""The emitted JAX module with the batch sharded over two host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2, in a process of its own since the flag
must be set before JAX starts) gives the unsharded results: the loss, every gradient, out
and final, under jax.jit, with the outputs left sharded over the batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framework_reference import framework_module, random_problem
from symrnn import RNNSpec

pytest.importorskip("jax", reason="jax is not installed (the jax extra: pip install -e '.[jax]')")

WORKER = Path(__file__).with_name("shard_worker.py")


def test_batch_sharded_over_two_devices(tmp_path):
    spec = RNNSpec(model="gru-torch", n_in=3, n_hidden=5, n_out=4)
    mod = framework_module("jax", spec)
    path = tmp_path / "gru_torch_jax.py"
    path.write_text(mod.SOURCE)
    rng = np.random.default_rng(0)
    P, x, init, y = random_problem(mod, rng, tau=6, batch=8)
    np.savez(tmp_path / "data.npz", x=x, y=y, h0=init["h0"],
             **{f"P_{k}": v for k, v in P.items()})
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(WORKER), str(path), str(tmp_path / "data.npz")],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2 and report["x_devices"] == 2
    assert report["out_devices"] == 2 and report["out_sharded_over_batch"]
    worst = max(report["errors"], key=report["errors"].get)
    assert report["errors"][worst] < 1e-12, (worst, report["errors"][worst])
