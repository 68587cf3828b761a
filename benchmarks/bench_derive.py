"""Cost of derivation + certification against tau, beside the naive route.

Ours: unroll (one symbol per step, node and entry), derive by the chain rule over the graph,
certify every formula of the note. Naive: compose the whole loss into one expression of the
leaves and differentiate it with respect to every parameter (SymPy's diff), for the tau where
that finishes within the time budget.

    python benchmarks/bench_derive.py [--taus 4 16 64 256] [--budget 60]

Prints seconds, expression sizes (SymPy operation counts) and ratios. Machines are noisy:
read the ratios (doubling tau should cost about 2x for ours, more for naive).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy as sp  # noqa: E402

from symrnn.core.graph import compose, unroll  # noqa: E402
from symrnn.models import get_model  # noqa: E402
from symrnn.pipeline import analyse  # noqa: E402
from symrnn.spec import RNNSpec  # noqa: E402


def ours(tau: int, n_in: int, n_h: int, n_out: int) -> dict:
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out)
    t0 = time.perf_counter()
    r = analyse(spec)
    t2 = time.perf_counter()
    derive_s = sum(r.timings.get(k, 0.0) for k in ("unroll", "derive", "equations"))
    cert = r.certificate
    return {"derive": derive_s, "certify": r.timings["certify"], "total": t2 - t0,
            "ops": r.derivation.size(), "ok": cert.ok, "summary": cert.summary()}


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
    p.add_argument("--taus", type=int, nargs="+", default=[4, 16, 64, 256])
    p.add_argument("--naive-taus", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    p.add_argument("--budget", type=float, default=60.0, help="seconds for one naive run")
    p.add_argument("--sizes", type=int, nargs=3, default=[3, 4, 3], metavar=("N_IN", "N_H", "N_OUT"))
    a = p.parse_args()
    n_in, n_h, n_out = a.sizes
    print(f"sizes n_in={n_in} n_hidden={n_h} n_out={n_out}, tanh + softmax-ce\n")
    print(f"{'route':6} {'tau':>5} {'derive s':>9} {'certify s':>10} {'total s':>8} "
          f"{'x prev':>7} {'x/2tau':>7} {'ops':>10} {'ops x prev':>10}  result")
    prev = None
    for tau in a.taus:
        r = ours(tau, n_in, n_h, n_out)
        ratio = f"{r['total'] / prev['total']:.2f}" if prev else "-"
        # time ratio per doubling of tau: (t / t_prev) ** (1 / log2(tau / tau_prev))
        per_doubling = (f"{(r['total'] / prev['total']) ** (1 / math.log2(tau / prev['tau'])):.2f}"
                        if prev else "-")
        ops_ratio = f"{r['ops'] / prev['ops']:.2f}" if prev else "-"
        print(f"{'ours':6} {tau:>5} {r['derive']:>9.2f} {r['certify']:>10.2f} {r['total']:>8.2f} "
              f"{ratio:>7} {per_doubling:>7} {r['ops']:>10} {ops_ratio:>10}  {r['summary']}",
              flush=True)
        prev = dict(r, tau=tau)
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
