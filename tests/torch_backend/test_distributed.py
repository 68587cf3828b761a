"""The emitted torch module trained under DistributedDataParallel: two CPU processes (gloo),
each on half of the batch, end a few SGD steps with the parameters of one process trained on
the whole batch (reduction mean: DDP averages the two halves' gradients, which is the whole
batch's mean). The ranks meet at a file rendezvous and the test waits for them to exit; both
are killed if either fails or the time runs out, so no process outlives the test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framework_reference import framework_module, random_problem
from symrnn import RNNSpec

torch = pytest.importorskip("torch", reason="torch is not installed (the torch extra: "
                                            "pip install -e '.[torch]')")
if not torch.distributed.is_available():
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)

WORKER = Path(__file__).with_name("ddp_worker.py")
STEPS, LR, WORLD = 3, 0.5, 2


def test_ddp_two_processes_match_one_process(tmp_path):
    spec = RNNSpec(model="gru-torch", n_in=3, n_hidden=5, n_out=4, reduction="mean")
    mod = framework_module("torch", spec)
    module_path = tmp_path / "gru_torch_torch.py"
    module_path.write_text(mod.SOURCE)
    rng = np.random.default_rng(0)
    P, x, _init, y = random_problem(mod, rng, tau=6, batch=8)
    np.savez(tmp_path / "data.npz", x=x, y=y, **{f"P_{k}": v for k, v in P.items()})

    procs = []
    try:
        for rank in range(WORLD):
            procs.append(subprocess.Popen(
                [sys.executable, str(WORKER), str(rank), str(WORLD), str(tmp_path / "rendezvous"),
                 str(module_path), str(tmp_path / "data.npz"), str(tmp_path / f"rank{rank}.pt"),
                 str(STEPS), str(LR)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True))
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]

    # one process, the whole batch
    net = mod.Model(dtype=torch.float64)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(P[name]))
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        net.loss(torch.from_numpy(x), torch.from_numpy(y)).backward()
        opt.step()
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        for name, p in net.named_parameters():
            assert not torch.equal(p.detach(), torch.from_numpy(P[name])), name  # it trained
            err = float((got[name] - p.detach()).abs().max())
            assert err < 1e-12, (rank, name, err)
