"""Cost of certification against tau: the general proofs (every size and every tau, so their
cost does not depend on tau), the instance cross-check (entry by entry at tau, or at most at
--instance-tau), and the naive route (differentiating the fully composed loss) beside them.

    python benchmarks/bench_derive.py [--taus 4 16 64 256 1000] [--instance-tau 16] [--budget 60]

Prints seconds and ratios (workers = 1, so the split between the parts is measured). Machines
are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy as sp  # noqa: E402

from symrnn.api import certify  # noqa: E402
from symrnn.core.graph import compose, unroll  # noqa: E402
from symrnn.models import get_model  # noqa: E402
from symrnn.spec import RNNSpec  # noqa: E402


def ours(tau: int, n_in: int, n_h: int, n_out: int, instance_tau: int) -> dict:
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out)
    t0 = time.perf_counter()
    cert = certify(spec, workers=1, instance_tau=instance_tau)
    total = time.perf_counter() - t0
    return {"general": cert.seconds["general"], "instance": cert.seconds["instance"],
            "total": total, "instance_tau": min(tau, instance_tau), "ok": cert.ok,
            "summary": cert.summary()}


def naive(tau: int, n_in: int, n_h: int, n_out: int) -> dict:
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out)
    g = unroll(get_model(spec.model), spec)
    t0 = time.perf_counter()
    loss = compose(g, g.L)
    grads = [sp.diff(loss, s) for s in g.leaves]
    t1 = time.perf_counter()
    return {"total": t1 - t0, "ops": sum(sp.count_ops(e) for e in grads)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--taus", type=int, nargs="+", default=[4, 16, 64, 256, 1000])
    p.add_argument("--instance-tau", type=int, default=16,
                   help="largest tau of the instance cross-check (default 16)")
    p.add_argument("--naive-taus", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    p.add_argument("--budget", type=float, default=60.0, help="seconds for one naive run")
    p.add_argument("--sizes", type=int, nargs=3, default=[3, 4, 3], metavar=("N_IN", "N_H", "N_OUT"))
    a = p.parse_args()
    n_in, n_h, n_out = a.sizes
    print(f"sizes n_in={n_in} n_hidden={n_h} n_out={n_out}, tanh + softmax-ce\n")
    print(f"{'route':6} {'tau':>5} {'general s':>10} {'inst tau':>9} {'instance s':>11} "
          f"{'total s':>8}  result")
    for tau in a.taus:
        r = ours(tau, n_in, n_h, n_out, a.instance_tau)
        print(f"{'ours':6} {tau:>5} {r['general']:>10.2f} {r['instance_tau']:>9} "
              f"{r['instance']:>11.2f} {r['total']:>8.2f}  {r['summary']}", flush=True)
    prev = None
    for tau in a.naive_taus:
        if prev and prev["total"] * 3 > a.budget:
            print(f"{'naive':6} {tau:>5}  skipped: the last run took {prev['total']:.1f} s and the "
                  f"next would exceed the {a.budget:.0f} s budget")
            break
        r = naive(tau, n_in, n_h, n_out)
        ratio = f"{r['total'] / prev['total']:.2f}" if prev else "-"
        ops_ratio = f"{r['ops'] / prev['ops']:.2f}" if prev else "-"
        print(f"{'naive':6} {tau:>5} {'':>9} {'':>10} {r['total']:>8.2f} {ratio:>7} {ratio:>7} {r['ops']:>10} "
              f"{ops_ratio:>10}  diff of the composed loss only (no certification)", flush=True)
        prev = r


if __name__ == "__main__":
    main()
