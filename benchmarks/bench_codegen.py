"""Forward + full BPTT, median time per call, in one process: symrnn's generated NumPy code
against peers. Run: python benchmarks/bench_codegen.py [--quick]

Peers: a per-step NumPy BPTT (min-char-rnn style, below), lambdify of the SymPy gradient (S
only), PyTorch (autograd on the same math; nn.RNN + Linear + cross_entropy) and JAX (jit of
lax.scan) when installed. Also: a GEMM-bound estimate (FLOPs / measured matmul rate) and peak
memory (tracemalloc) for tau = 100 and 1000 on config M.

GEMM FLOPs: the forward pass has three products per step and sequence, U x(t), W h(t-1) and
V h(t): fwd = 2 tau batch (n_in n_h + n_h n_h + n_h n_out). The backward pass has, per forward
product, one for the weight gradient (grad_U, grad_W, grad_V) and one for the gradient w.r.t.
the product's input (W^T grad_a(t+1), V^T grad_o(t)), except U^T grad_a(t): nothing needs the
gradient w.r.t. x. Total = 3 fwd - 2 tau batch n_in n_h (elementwise work not counted).

Timing is sensitive to other processes: the 2-thread OpenBLAS calls slow down sharply when
another process is busy, so check the load (uptime) and compare rows of one run only;
--repeat N reports for every row the best of N medians (a burst of load then spoils one of
them, not the row).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from symrnn import RNNSpec, emit_numpy  # noqa: E402

CONFIGS = {"S": (8, 16, 8, 10, 1), "M": (64, 128, 64, 50, 32), "L": (256, 512, 256, 100, 64)}
REPEAT = 1  # medians per row; the best is reported (--repeat)


def load(spec, form):
    m = types.ModuleType(f"bench_{form}")
    exec(compile(emit_numpy(spec, form), m.__name__, "exec"), m.__dict__)
    return m


def median_time(fn, budget=1.0, min_runs=5, max_runs=200):
    """The median time of fn per call; with REPEAT > 1 the best of REPEAT such medians."""
    return min(_median_time(fn, budget, min_runs, max_runs) for _ in range(REPEAT))


def _median_time(fn, budget, min_runs, max_runs):
    fn()  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def inputs(cfg, dtype, seed=0):
    n_in, n_h, n_out, tau, batch = cfg
    rng = np.random.default_rng(seed)
    P = {"U": rng.normal(size=(n_h, n_in)) / np.sqrt(n_in), "W": rng.normal(size=(n_h, n_h)) / np.sqrt(n_h),
         "V": rng.normal(size=(n_out, n_h)) / np.sqrt(n_h), "b": np.zeros(n_h), "c": np.zeros(n_out)}
    P = {k: v.astype(dtype) for k, v in P.items()}
    x = rng.normal(size=(tau, batch, n_in)).astype(dtype)
    y = rng.integers(0, n_out, size=(tau, batch))
    return P, x, y


def per_step_numpy(P, x, y):
    """min-char-rnn style: one step at a time, forward and backward, per-step outer products."""
    U, W, V, b, c = P["U"], P["W"], P["V"], P["b"], P["c"]
    tau, batch = x.shape[0], x.shape[1]
    hs, ps = {-1: np.zeros((batch, W.shape[0]), x.dtype)}, {}
    loss = 0.0
    for t in range(tau):
        hs[t] = np.tanh(x[t] @ U.T + hs[t - 1] @ W.T + b)
        o = hs[t] @ V.T + c
        e = np.exp(o - o.max(axis=1, keepdims=True))
        ps[t] = e / e.sum(axis=1, keepdims=True)
        loss -= np.log(ps[t][np.arange(batch), y[t]]).sum()
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    db, dc = np.zeros_like(b), np.zeros_like(c)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(tau)):
        do = ps[t].copy()
        do[np.arange(batch), y[t]] -= 1  # backprop into softmax
        dV += do.T @ hs[t]
        dc += do.sum(axis=0)
        dh = do @ V + dhnext  # backprop into h
        da = (1 - hs[t] ** 2) * dh  # backprop through tanh
        db += da.sum(axis=0)
        dU += da.T @ x[t]
        dW += da.T @ hs[t - 1]
        dhnext = da @ W
    return loss, (dU, dW, dV, db, dc, dhnext)


def matmul_rate(dtype):
    a = np.random.default_rng(1).normal(size=(512, 512)).astype(dtype)
    t = median_time(lambda: a @ a, budget=0.5)
    return 2 * 512 ** 3 / t


def gemm_flops(cfg):
    n_in, n_h, n_out, tau, batch = cfg
    fwd = 2 * tau * batch * (n_in * n_h + n_h * n_h + n_h * n_out)
    # backward: a weight-gradient and an input-gradient product per forward product, but no
    # gradient w.r.t. x, so U^T grad_a(t) is never computed (see the module docstring)
    return 3 * fwd - 2 * tau * batch * n_in * n_h


def lambdify_sympy(cfg):
    """The SymPy gradient of the element-level derivation, lambdified (single sequence)."""
    import sympy as sp
    from symrnn import derive
    n_in, n_h, n_out, tau, batch = cfg
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out, h0="zeros")
    r = derive(spec)
    g, d = r.graph, r.derivation
    keys = ("U", "W", "V", "b", "c")
    inputs_ = [s for k in keys for s in g.params[k]] + \
        [s for t in range(1, tau + 1) for s in g.value("x", t)]
    defined = [*g.order, *d.order]
    exprs = {**g.defs, **d.defs}
    rename = {s: sp.Symbol(f"v{i}") for i, s in enumerate(inputs_ + defined)}
    steps = [(rename[s], exprs[s].xreplace(rename)) for s in defined]
    outs = [rename[d.adj[s]] for k in keys for s in g.params[k]] + [rename[g.L]]
    f = sp.lambdify([rename[s] for s in inputs_], outs, modules="math", cse=lambda e: (steps, e))
    return f


def torch_peers(cfg, dtype):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(2)
    n_in, n_h, n_out, tau, batch = cfg
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    P, x, y = inputs(cfg, dtype)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)

    def same_math():
        h = torch.zeros(batch, n_h, dtype=tdt)
        loss = 0
        for t in range(tau):
            h = torch.tanh(tx[t] @ tp["U"].T + h @ tp["W"].T + tp["b"])
            o = h @ tp["V"].T + tp["c"]
            loss = loss + torch.nn.functional.cross_entropy(o, ty[t], reduction="sum")
        for v in tp.values():
            v.grad = None
        loss.backward()

    rnn = torch.nn.RNN(n_in, n_h, nonlinearity="tanh", dtype=tdt)
    lin = torch.nn.Linear(n_h, n_out, dtype=tdt)

    def nn_rnn():
        rnn.zero_grad()
        lin.zero_grad()
        out, _ = rnn(tx)
        loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, n_out), ty.reshape(-1),
                                                 reduction="sum")
        loss.backward()

    return {"PyTorch autograd, same math": median_time(same_math),
            "PyTorch nn.RNN+Linear+CE": median_time(nn_rnn)}


def jax_peer(cfg, dtype):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    P, x, y = inputs(cfg, dtype)

    def loss_fn(P, x, y):
        def step(h, xy):
            xt, yt = xy
            h = jnp.tanh(xt @ P["U"].T + h @ P["W"].T + P["b"])
            o = h @ P["V"].T + P["c"]
            lp = jax.nn.log_softmax(o)
            return h, -jnp.take_along_axis(lp, yt[:, None], axis=1).sum()
        _, ls = jax.lax.scan(step, jnp.zeros((x.shape[1], P["W"].shape[0]), x.dtype), (x, y))
        return ls.sum()
    f = jax.jit(jax.value_and_grad(loss_fn))
    jf = lambda: jax.block_until_ready(f(P, x, y))
    return {"JAX jit lax.scan": median_time(jf)}


def fmt(t):
    return f"{t * 1e6:8.0f} us" if t < 1e-3 else f"{t * 1e3:8.2f} ms"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="S and M only")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="report for every row the best of N medians (default 1)")
    args = ap.parse_args(argv)
    global REPEAT
    REPEAT = max(1, args.repeat)
    names = ["S", "M"] if args.quick else ["S", "M", "L"]
    print(f"numpy {np.__version__}; times are medians of forward + full BPTT per call"
          + (f" (best of {REPEAT} medians)" if REPEAT > 1 else ""))
    for dtype in (np.float64, np.float32):
        rate = matmul_rate(dtype)
        print(f"\n== {np.dtype(dtype).name} (NumPy matmul rate {rate / 1e9:.1f} GFLOP/s) ==")
        print(f"{'config':6} {'peer':32} {'time':>11} {'ratio ours/peer':>16}")
        for name in names:
            cfg = CONFIGS[name]
            n_in, n_h, n_out, tau, batch = cfg
            spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out)
            P, x, y = inputs(cfg, dtype)
            loop = load(spec, "loop")
            ours = median_time(lambda: loop.loss_and_grad(P, x, y))
            rows = {"symrnn loop form": ours}
            if name in ("S", "M"):
                unrolled = load(spec, "unrolled")
                rows["symrnn unrolled form"] = median_time(lambda: unrolled.loss_and_grad(P, x, y))
            rows["per-step NumPy (min-char-rnn)"] = median_time(lambda: per_step_numpy(P, x, y))
            if name == "S" and dtype == np.float64:
                f = lambdify_sympy(cfg)
                flat = [v for k in ("U", "W", "V", "b", "c") for v in P[k].ravel()]
                xs = list(x[:, 0].ravel())
                rows["lambdify of SymPy gradient"] = median_time(lambda: f(*flat, *xs), budget=0.5)
            rows.update(torch_peers(cfg, dtype))
            rows.update(jax_peer(cfg, dtype))
            rows["GEMM-bound estimate"] = gemm_flops(cfg) / rate
            for peer, t in rows.items():
                print(f"{name:6} {peer:32} {fmt(t):>11} {ours / t:15.2f}x")
    # memory: O(tau) states kept for the backward pass
    cfg = CONFIGS["M"]
    line = []
    for tau in (100, 1000):
        c = (*cfg[:3], tau, cfg[4])
        spec = RNNSpec(n_in=c[0], n_hidden=c[1], n_out=c[2])
        loop = load(spec, "loop")
        P, x, y = inputs(c, np.float64)
        tracemalloc.start()
        loop.loss_and_grad(P, x, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        line.append((tau, peak))
    (t1, p1), (t2, p2) = line
    print(f"\nmemory (config M, float64, loop form, tracemalloc peak): tau={t1}: {p1 / 2**20:.1f} MiB, "
          f"tau={t2}: {p2 / 2**20:.1f} MiB, ratio {p2 / p1:.2f} for {t2 // t1}x tau (O(tau))")


if __name__ == "__main__":
    main()
