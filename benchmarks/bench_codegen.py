"""Forward + full BPTT, median time per call, in one process: symrnn's generated NumPy code
against peers; then time and peak memory of the loop and checkpointed forms on a long sequence.

Run: python benchmarks/bench_codegen.py [--quick] [--configs S M L] [--repeat N] [--threads N]
[--long-tau T]
(peers: pip install -e ".[bench]"; torch from a CPU wheel, see README)

Rows: the loop form with its default validating call and with validate=False (the fast
path), the checkpointed and unrolled forms, a per-step NumPy BPTT (min-char-rnn style,
below), the same algorithm as the loop form written by hand with nothing around it
(``fused_numpy``: the floor of per-call overhead), lambdify of the SymPy gradient (S only),
PyTorch nn.RNN + Linear + cross_entropy and autograd of the same math, JAX
jit(value_and_grad) of lax.scan, and a GEMM bound: the GEMM FLOPs of forward + BPTT over the matmul rate measured on 512^3 at the same thread count, and
the same products as our loop form makes, with its shapes and layouts, timed alone (no
elementwise work): how far below that no NumPy code of this algorithm can go.
The ratio columns are ours (validating, fast path) over each row.

GEMM FLOPs: the forward pass has three products per step and sequence, U x(t), W h(t-1) and
V h(t): fwd = 2 tau batch (n_in n_h + n_h n_h + n_h n_out). The backward pass has, per forward
product, one for the weight gradient (grad_U, grad_W, grad_V) and one for the gradient w.r.t.
the product's input (W^T grad_a(t+1), V^T grad_o(t)), except U^T grad_a(t): nothing needs the
gradient w.r.t. x. Total = 3 fwd - 2 tau batch n_in n_h (elementwise work not counted).

Threads: --threads N (default 1) sets OpenBLAS (threadpoolctl), torch and XLA (JAX) to N
threads, so every row uses the same cores. On this 2-core machine shared with other
processes, a threaded OpenBLAS call waits for a second thread that another process holds:
a step's 32x128x128 GEMM, and even the stacked ones, then cost milliseconds instead of
microseconds (forward + BPTT of config M measured 20 ms on one thread and 300 ms on two
under a load average of 8). Compare rows of one run only (uptime is printed); --repeat N
reports for every row the best of N medians.

Memory: tracemalloc's peak (NumPy reports its buffers to it) during one loss_and_grad, at
tau = --long-tau (default 10000) on config M's sizes and batch, loop against checkpointed;
the inputs are allocated before tracing starts.
"""

from __future__ import annotations

import argparse
import os
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
THREADS = 1  # for OpenBLAS, torch and XLA (--threads)


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


def fused_numpy(P, x, y):
    """The same algorithm as the emitted loop form, written by hand with nothing around it:
    U x(t) for all steps in one GEMM, one GEMM per step forward and backward, the output
    layer and every weight gradient as GEMMs over the stacked steps, no checks, no dicts
    built beyond the result: the floor of per-call overhead for NumPy code of this algorithm."""
    U, W, V, b, c = P["U"], P["W"], P["V"], P["b"], P["c"]
    tau, batch, n_in = x.shape
    n_h = W.shape[0]
    hs = np.empty((tau + 1, batch, n_h), x.dtype)
    hs[0] = 0
    h_all = hs[1:].reshape(-1, n_h)
    np.matmul(x.reshape(-1, n_in), U.T, out=h_all)
    h_all += b
    WT = W.T
    for t in range(1, tau + 1):
        hs[t] += hs[t - 1] @ WT
        np.tanh(hs[t], out=hs[t])
    o = h_all @ V.T
    o += c
    o -= o.max(axis=1, keepdims=True)
    np.exp(o, out=o)
    s = o.sum(axis=1, keepdims=True)
    o /= s
    rows = np.arange(len(o))
    labels = y.ravel()
    loss = -np.log(o[rows, labels]).sum()
    o[rows, labels] -= 1  # grad_o
    dhs = np.empty_like(hs)
    dh_all = dhs[1:].reshape(-1, n_h)
    np.matmul(o, V, out=dh_all)
    for t in range(tau, 0, -1):
        if t < tau:
            dhs[t] += dhs[t + 1] @ W
        dhs[t] *= 1 - hs[t] ** 2
    return loss, (dh_all.T @ x.reshape(-1, n_in), dh_all.T @ hs[:tau].reshape(-1, n_h),
                  o.T @ h_all, dh_all.sum(axis=0), o.sum(axis=0), dhs[1] @ W)


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


def gemms_alone(cfg, dtype):
    """The matrix products of one forward + BPTT call of the loop form, with its shapes and
    layouts (transposed views where it passes them), timed alone: what the call costs with
    every elementwise operation, allocation and Python statement removed."""
    n_in, n_h, n_out, tau, batch = cfg
    rng = np.random.default_rng(1)
    r = lambda *shape: rng.normal(size=shape).astype(dtype)
    U, W, V = r(n_h, n_in), r(n_h, n_h), r(n_out, n_h)
    WT = np.ascontiguousarray(W.T)
    x_all, h_all, d_all = r(tau * batch, n_in), r(tau * batch, n_h), r(tau * batch, n_h)
    y_all, h, out_h = r(tau * batch, n_out), r(batch, n_h), np.empty((batch, n_h), dtype)
    o_all, a_all = np.empty((tau * batch, n_out), dtype), np.empty((tau * batch, n_h), dtype)

    def run():
        np.matmul(x_all, U.T, out=a_all)  # the hoisted U x(t)
        for _ in range(tau):  # W h(t-1)
            np.matmul(h, WT, out=out_h)
        np.matmul(h_all, V.T, out=o_all)  # V h(t)
        np.matmul(y_all, V, out=d_all)  # V^T grad_o(t)
        for _ in range(tau):  # W^T grad_a(t+1), and grad_h(0)
            np.matmul(h, W, out=out_h)
        return y_all.T @ h_all, d_all.T @ h_all, d_all.T @ x_all  # grad_V, grad_W, grad_U
    return median_time(run)


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


def torch_peers(cfg, dtype, same_math=True):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(THREADS)
    n_in, n_h, n_out, tau, batch = cfg
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    P, x, y = inputs(cfg, dtype)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)

    def autograd_same_math():
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

    rows = {"PyTorch nn.RNN+Linear+CE": median_time(nn_rnn)}
    if same_math:
        rows["PyTorch autograd, same math"] = median_time(autograd_same_math)
    return rows


def jax_peer(cfg, dtype):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", dtype == np.float64)
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
    P, x, y = jax.device_put((P, x, y))  # on the device once, as a training loop keeps them
    jf = lambda: jax.block_until_ready(f(P, x, y))
    return {"JAX jit(value_and_grad) lax.scan": median_time(jf)}


def fmt(t):
    return f"{t * 1e6:8.0f} us" if t < 1e-3 else f"{t * 1e3:8.2f} ms"


def time_table(names, dtype):
    rate = matmul_rate(dtype)
    print(f"\n== {np.dtype(dtype).name}, {THREADS} thread(s) (NumPy matmul rate "
          f"{rate / 1e9:.1f} GFLOP/s on 512^3) ==")
    print(f"{'config':6} {'row':34} {'time':>11} {'default/row':>12} {'fast/row':>9}")
    for name in names:
        cfg = CONFIGS[name]
        n_in, n_h, n_out, tau, batch = cfg
        spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out)
        P, x, y = inputs(cfg, dtype)
        loop = load(spec, "loop")
        L0, g0 = loop.loss_and_grad(P, x, y)
        L1, g1 = fused_numpy(P, x, y)
        err = max(abs(L1 - L0) / abs(L0), *(np.max(np.abs(a - g0[k])) / np.max(np.abs(g0[k]))
                                           for k, a in zip(("U", "W", "V", "b", "c", "h0"), g1)))
        assert err < 1e-10, f"the hand-fused peer disagrees with the module: {err:.1e}"
        ours = median_time(lambda: loop.loss_and_grad(P, x, y))
        fast = median_time(lambda: loop.loss_and_grad(P, x, y, validate=False))
        rows = {"symrnn loop form": ours, "symrnn loop form, validate=False": fast}
        ck = load(spec, "checkpointed")
        rows["symrnn checkpointed form"] = median_time(lambda: ck.loss_and_grad(P, x, y))
        if name in ("S", "M"):
            unrolled = load(spec, "unrolled")
            rows["symrnn unrolled form"] = median_time(lambda: unrolled.loss_and_grad(P, x, y))
        rows["per-step NumPy (min-char-rnn)"] = median_time(lambda: per_step_numpy(P, x, y))
        rows["hand-fused NumPy, same algorithm"] = median_time(lambda: fused_numpy(P, x, y))
        if name == "S" and dtype == np.float64:
            f = lambdify_sympy(cfg)
            flat = [v for k in ("U", "W", "V", "b", "c") for v in P[k].ravel()]
            xs = list(x[:, 0].ravel())
            rows["lambdify of SymPy gradient"] = median_time(lambda: f(*flat, *xs), budget=0.5)
        rows.update(torch_peers(cfg, dtype, same_math=name != "L"))
        rows.update(jax_peer(cfg, dtype))
        rows["GEMMs alone, measured"] = gemms_alone(cfg, dtype)
        rows["GEMM bound (FLOPs / rate)"] = gemm_flops(cfg) / rate
        for peer, t in rows.items():
            print(f"{name:6} {peer:34} {fmt(t):>11} {ours / t:11.2f}x {fast / t:8.2f}x")


def peak_and_time(fn):
    """(peak bytes traced during one call, median seconds per call untraced)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, median_time(fn, budget=0.0, min_runs=3)


def memory_table(long_tau):
    n_in, n_h, n_out, _tau, batch = CONFIGS["M"]
    cfg = (n_in, n_h, n_out, long_tau, batch)
    spec = RNNSpec(n_in=n_in, n_hidden=n_h, n_out=n_out)
    P, x, y = inputs(cfg, np.float64)
    print(f"\n== long sequence: ({n_in}, {n_h}, {n_out}), batch {batch}, tau {long_tau}, "
          f"float64, {THREADS} thread(s) ==")
    print(f"{'form':34} {'peak memory':>12} {'time':>11} {'memory/loop':>12} {'time/loop':>10}")
    rows = {}
    for form, label in (("loop", "loop"), ("checkpointed", "checkpointed, k = round(sqrt(tau))")):
        m = types.ModuleType(f"bench_long_{form}")
        exec(compile(emit_numpy(spec, form), m.__name__, "exec"), m.__dict__)
        rows[label] = peak_and_time(lambda: m.loss_and_grad(P, x, y))
    (p0, t0) = next(iter(rows.values()))
    for name, (p, t) in rows.items():
        print(f"{name:34} {p / 2**20:9.1f} MiB {fmt(t):>11} {p / p0:11.1%} {t / t0:9.2f}x")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="S and M only, no long sequence")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="report for every row the best of N medians (default 1)")
    ap.add_argument("--threads", type=int, default=1, metavar="N",
                    help="threads for OpenBLAS, torch and XLA alike (default 1)")
    ap.add_argument("--long-tau", type=int, default=10000, metavar="T",
                    help="tau of the memory table (default 10000)")
    ap.add_argument("--float32", action="store_true", help="also the float32 table")
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS), metavar="NAME",
                    help="only these configs (S, M, L), and no long sequence")
    args = ap.parse_args(argv)
    global REPEAT, THREADS
    REPEAT, THREADS = max(1, args.repeat), max(1, args.threads)
    # XLA reads its flags when JAX starts: before any import of jax
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                               + ("true" if THREADS > 1 else "false")
                               + f" intra_op_parallelism_threads={THREADS}").strip()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        sys.exit("bench_codegen needs threadpoolctl (pip install -e '.[bench]')")
    limits = threadpool_limits(THREADS)
    names = args.configs or (["S", "M"] if args.quick else ["S", "M", "L"])
    print(f"numpy {np.__version__}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          f"cores; times are medians of forward + full BPTT per call"
          + (f" (best of {REPEAT} medians)" if REPEAT > 1 else ""))
    for dtype in (np.float64, np.float32) if args.float32 else (np.float64,):
        time_table(names, dtype)
    if not args.quick and not args.configs:
        memory_table(args.long_tau)
    limits.restore_original_limits()


if __name__ == "__main__":
    main()
