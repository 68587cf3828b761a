"""Forward + full BPTT of the gated cells, median time per call, in one process: symrnn's
emitted ``lstm-torch`` and ``gru-torch`` NumPy code against PyTorch's ``nn.LSTM``/``nn.GRU``
(+ Linear + cross_entropy, forward and backward) and a per-step NumPy implementation with
stacked gates (the classical hand-written BPTT, below); and the emitted code's matrix products
timed alone (``gemms_alone``), the floor of any NumPy code of this algorithm.

Run: python benchmarks/bench_gated.py [--quick] [--repeat N]

Configs (n_in, n_hidden, n_out, tau, batch): M = (64, 128, 64, 50, 32) and
L = (256, 512, 256, 100, 64), float64 and float32. Every peer gets the same weights and data;
before timing, each peer's loss and gradients are compared with the emitted code's (the
largest relative error is printed), so the rows time the same computation. Ratios are
time / torch time (below 1: faster than torch). Timing is sensitive to other processes (2
cores here): compare rows of one run; --repeat N reports the best of N medians per row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from symrnn import RNNSpec, emit_numpy  # noqa: E402

CONFIGS = {"M": (64, 128, 64, 50, 32), "L": (256, 512, 256, 100, 64)}
GATES = {"lstm-torch": ("i", "f", "g", "o"), "gru-torch": ("r", "z", "n")}
REPEAT = 1


def median_time(fn, budget=2.0, min_runs=5, max_runs=100):
    best = None
    for _ in range(REPEAT):
        fn()  # warm up
        times, start = [], time.perf_counter()
        while len(times) < min_runs or (time.perf_counter() - start < budget
                                        and len(times) < max_runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        m = statistics.median(times)
        best = m if best is None else min(best, m)
    return best


def load(model, cfg):
    n_in, n_h, n_out, _tau, _batch = cfg
    spec = RNNSpec(tau=3, n_in=n_in, n_hidden=n_h, n_out=n_out, model=model)
    m = types.ModuleType(f"bench_{model}")
    exec(compile(emit_numpy(spec, "loop"), m.__name__, "exec"), m.__dict__)
    return m


def inputs(model, cfg, dtype, seed=0):
    n_in, n_h, n_out, tau, batch = cfg
    rng = np.random.default_rng(seed)
    P = {}
    for k in GATES[model]:
        P[f"W_i{k}"] = rng.normal(size=(n_h, n_in)) / np.sqrt(n_in)
        P[f"W_h{k}"] = rng.normal(size=(n_h, n_h)) / np.sqrt(n_h)
        P[f"b_i{k}"] = rng.normal(size=n_h) * 0.1
        P[f"b_h{k}"] = rng.normal(size=n_h) * 0.1
    P["V"] = rng.normal(size=(n_out, n_h)) / np.sqrt(n_h)
    P["c"] = np.zeros(n_out)
    P = {k: v.astype(dtype) for k, v in P.items()}
    x = rng.normal(size=(tau, batch, n_in)).astype(dtype)
    y = rng.integers(0, n_out, size=(tau, batch))
    init = {"h0": (rng.normal(size=(batch, n_h)) * 0.5).astype(dtype)}
    if model == "lstm-torch":
        init["s0"] = (rng.normal(size=(batch, n_h)) * 0.5).astype(dtype)
    return P, x, y, init


def _stack(P, model, kind):
    return np.concatenate([P[kind + k] for k in GATES[model]], axis=0)


def _softmax_ce(o, y):
    """loss summed over the batch and grad_o, per step."""
    z = o - o.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    rows = np.arange(len(y))
    loss = -(z[rows, y] - np.log(s[:, 0])).sum()
    p[rows, y] -= 1
    return loss, p


def _sig(a):
    return 1 / (1 + np.exp(-a))


def per_step_lstm(P, x, y, init):
    """A hand-written per-step LSTM BPTT, gates stacked i, f, g, o as in nn.LSTM."""
    Wx, Wh = _stack(P, "lstm-torch", "W_i"), _stack(P, "lstm-torch", "W_h")
    b = _stack(P, "lstm-torch", "b_i") + _stack(P, "lstm-torch", "b_h")
    V, c = P["V"], P["c"]
    tau, H = x.shape[0], Wh.shape[1]
    hs, cs, gates, dys = [init["h0"]], [init["s0"]], [], []
    loss = 0.0
    for t in range(tau):
        a = x[t] @ Wx.T + hs[-1] @ Wh.T + b
        i, f, g, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), \
            _sig(a[:, 3 * H:])
        cs.append(f * cs[-1] + i * g)
        hs.append(o * np.tanh(cs[-1]))
        gates.append((i, f, g, o))
        lt, dy = _softmax_ce(hs[-1] @ V.T + c, y[t])
        loss += lt
        dys.append(dy)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dV, dc = np.zeros_like(V), np.zeros_like(c)
    dh_next, dc_next = np.zeros_like(hs[0]), np.zeros_like(cs[0])
    for t in reversed(range(tau)):
        i, f, g, o = gates[t]
        dV += dys[t].T @ hs[t + 1]
        dc += dys[t].sum(axis=0)
        dh = dys[t] @ V + dh_next
        tc = np.tanh(cs[t + 1])
        dcell = dh * o * (1 - tc * tc) + dc_next
        da = np.concatenate([dcell * g * i * (1 - i), dcell * cs[t] * f * (1 - f),
                             dcell * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        dc_next = dcell * f
        dWx += da.T @ x[t]
        dWh += da.T @ hs[t]
        db += da.sum(axis=0)
        dh_next = da @ Wh
    grads = {"V": dV, "c": dc, "h0": dh_next, "s0": dc_next}
    for kind, arr in (("W_i", dWx), ("W_h", dWh), ("b_i", db), ("b_h", db)):
        for k, part in zip(GATES["lstm-torch"], np.split(arr, 4)):
            grads[kind + k] = part
    return loss, grads


def per_step_gru(P, x, y, init):
    """A hand-written per-step GRU BPTT, gates stacked r, z, n as in nn.GRU."""
    Wx, Wh = _stack(P, "gru-torch", "W_i"), _stack(P, "gru-torch", "W_h")
    bx, bh = _stack(P, "gru-torch", "b_i"), _stack(P, "gru-torch", "b_h")
    V, c = P["V"], P["c"]
    tau, H = x.shape[0], Wh.shape[1]
    hs, saved, dys = [init["h0"]], [], []
    loss = 0.0
    for t in range(tau):
        gx, gh = x[t] @ Wx.T + bx, hs[-1] @ Wh.T + bh
        r = _sig(gx[:, :H] + gh[:, :H])
        z = _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        hs.append((1 - z) * n + z * hs[-1])
        saved.append((r, z, n, gh[:, 2 * H:]))
        lt, dy = _softmax_ce(hs[-1] @ V.T + c, y[t])
        loss += lt
        dys.append(dy)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    dbx, dbh = np.zeros_like(bx), np.zeros_like(bh)
    dV, dc = np.zeros_like(V), np.zeros_like(c)
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(tau)):
        r, z, n, ghn = saved[t]
        dV += dys[t].T @ hs[t + 1]
        dc += dys[t].sum(axis=0)
        dh = dys[t] @ V + dh_next
        dan = dh * (1 - z) * (1 - n * n)
        dar = dan * ghn * r * (1 - r)
        daz = dh * (hs[t] - n) * z * (1 - z)
        dgx = np.concatenate([dar, daz, dan], axis=1)
        dgh = np.concatenate([dar, daz, dan * r], axis=1)
        dWx += dgx.T @ x[t]
        dWh += dgh.T @ hs[t]
        dbx += dgx.sum(axis=0)
        dbh += dgh.sum(axis=0)
        dh_next = dh * z + dgh @ Wh
    grads = {"V": dV, "c": dc, "h0": dh_next}
    for kind, arr in (("W_i", dWx), ("W_h", dWh), ("b_i", dbx), ("b_h", dbh)):
        for k, part in zip(GATES["gru-torch"], np.split(arr, 3)):
            grads[kind + k] = part
    return loss, grads


PER_STEP = {"lstm-torch": per_step_lstm, "gru-torch": per_step_gru}


def torch_peer(model, P, x, y, init):
    """A closure: nn.LSTM / nn.GRU + Linear + cross_entropy (sum), forward and backward."""
    import torch
    n_h, n_in = P[f"W_i{GATES[model][0]}"].shape
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    net = (torch.nn.LSTM if model == "lstm-torch" else torch.nn.GRU)(n_in, n_h).to(dtype)
    with torch.no_grad():
        for name, kind in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                           ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
            getattr(net, name).copy_(torch.from_numpy(_stack(P, model, kind)))
    V = torch.tensor(P["V"], requires_grad=True)
    c = torch.tensor(P["c"], requires_grad=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1)
    h0 = {k: torch.tensor(v[None], requires_grad=True) for k, v in init.items()}

    def step():
        for p in (*net.parameters(), V, c, *h0.values()):
            p.grad = None
        hx = (h0["h0"], h0["s0"]) if model == "lstm-torch" else h0["h0"]
        out, _ = net(xt, hx)
        logits = out @ V.T + c
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yt,
                                                 reduction="sum")
        loss.backward()
        return loss

    def result():
        loss = step().item()
        g = {"V": V.grad.numpy(), "c": c.grad.numpy(),
             **{k: v.grad.numpy()[0] for k, v in h0.items()}}
        for name, kind in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                           ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
            for k, part in zip(GATES[model], np.split(getattr(net, name).grad.numpy(),
                                                      len(GATES[model]))):
                g[kind + k] = part
        return loss, g
    return step, result


def gemms_alone(model, cfg, dtype):
    """The matrix products of the emitted loop form, timed alone (no elementwise work): per
    gate (k = 4 for the LSTM, 3 for the GRU) the hoisted W_i* x(t) over all steps, W_h* h(t-1)
    at every step, W_h*^T grad(t+1) at every step and the two weight gradients over all steps;
    and V h(t), V^T grad_o(t) and grad_V. How far below that no code of this algorithm with
    this BLAS goes."""
    n_in, n_h, n_out, tau, batch = cfg
    k = len(GATES[model])
    rng = np.random.default_rng(1)
    r = lambda *shape: rng.normal(size=shape).astype(dtype)
    Wi, Wh, V = r(n_h, n_in), r(n_h, n_h), r(n_out, n_h)
    x_all, a_all, y_all = r(tau * batch, n_in), r(tau * batch, n_h), r(tau * batch, n_out)
    h, out_h = r(batch, n_h), np.empty((batch, n_h), dtype)
    o_all, d_all = np.empty((tau * batch, n_out), dtype), np.empty((tau * batch, n_h), dtype)

    def run():
        for _ in range(k):
            np.matmul(x_all, Wi.T, out=d_all)
        for _ in range(tau * k):
            np.matmul(h, Wh.T, out=out_h)
        np.matmul(a_all, V.T, out=o_all)
        np.matmul(y_all, V, out=d_all)
        for _ in range(tau * k):
            np.matmul(h, Wh, out=out_h)
        for _ in range(k):
            a_all.T @ a_all, a_all.T @ x_all
        return y_all.T @ a_all
    return run


def max_rel(a, b):
    La, Ga = a
    Lb, Gb = b
    errs = [abs(La - Lb) / abs(Lb)]
    errs += [float(np.abs(Ga[k] - Gb[k]).max() / max(np.abs(Gb[k]).max(), 1e-30)) for k in Gb]
    return max(errs)


def main(argv=None):
    global REPEAT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="config M only")
    ap.add_argument("--repeat", type=int, default=1, help="best of N medians per row")
    args = ap.parse_args(argv)
    REPEAT = args.repeat
    try:
        import torch
        torch_version = torch.__version__
        threads = torch.get_num_threads()
    except ImportError:
        torch = None
    print(f"numpy {np.__version__}; torch {torch_version + f' ({threads} threads)' if torch else 'not installed'}")
    head = f"{'model':<11} {'config':<6} {'dtype':<8} {'peer':<16} {'ms/call':>9} {'vs torch':>9} {'max rel err':>12}"
    print(head)
    print("-" * len(head))
    configs = {"M": CONFIGS["M"]} if args.quick else CONFIGS
    for model in GATES:
        for cname, cfg in configs.items():
            gen = load(model, cfg)
            for dtype in (np.float64, np.float32):
                P, x, y, init = inputs(model, cfg, dtype)
                ours = lambda: gen.loss_and_grad(P, x, y, **init)
                ref = ours()
                rows = [("symrnn (emitted)", ours, 0.0)]
                step_fn = lambda: PER_STEP[model](P, x, y, init)
                rows.append(("per-step numpy", step_fn, max_rel(step_fn(), ref)))
                if torch is not None:
                    tstep, tres = torch_peer(model, P, x, y, init)
                    rows.append(("torch nn", tstep, max_rel(tres(), ref)))
                rows.append(("GEMMs alone", gemms_alone(model, cfg, dtype), None))
                times = {name: median_time(fn) for name, fn, _e in rows}
                base = times.get("torch nn")
                for name, _fn, err in rows:
                    ratio = f"{times[name] / base:8.2f}x" if base else "      -"
                    err = f"{err:12.1e}" if err is not None else f"{'-':>12}"
                    print(f"{model:<11} {cname:<6} {np.dtype(dtype).name:<8} {name:<16} "
                          f"{times[name] * 1e3:9.2f} {ratio:>9} {err}", flush=True)


if __name__ == "__main__":
    main()
