"""Forward + full BPTT (loss and every gradient) of symrnn's NumPy, PyTorch and JAX modules
against the frameworks, median time per call, interleaved, in one process.

Run: python benchmarks/bench_backends.py [--configs S M L] [--dtypes float32 float64]
         [--models rnn lstm-torch gru-torch peephole mgu] [--rounds N] [--threads N]
         [--skip compile ...]

Rows, each a loss (softmax cross-entropy summed over steps and batch) and its gradients:

- symrnn numpy   the emitted NumPy module, ``loss_and_grad(..., validate=False)``
- symrnn torch   the emitted torch module: ``loss(...).backward()`` (its autograd.Function)
- symrnn jax     the emitted JAX module: ``jax.jit(jax.value_and_grad(loss))``
- torch fused    nn.RNN / nn.LSTM / nn.GRU + Linear + cross_entropy (for the peephole LSTM
                 and the MGU, which no framework fuses, the nearest built-in cell, nn.LSTM
                 and nn.GRU, as a reference time for a different cell)
- torch loop     the same cell written as torch operations and a Python loop, autograd
- torch.compile  that cell compiled with torch.compile (the loop in Python), where it compiles
- jax scan       that cell in JAX, lax.scan, jax.jit(jax.value_and_grad)
- GEMMs alone    the matrix products the symrnn torch module makes (recorded from one call,
                 with their shapes and dtypes), replayed alone: the floor of its algorithm

Configs (n_in, n_hidden, n_out, tau, batch): S (8, 16, 8, 10, 1), M (64, 128, 64, 50, 32),
L (256, 512, 256, 100, 64). Before timing, every row that computes the same cell is checked
against the symrnn torch module (largest relative error of the loss and gradients, printed).
Each round runs every row once, in a rotating order (a call under 50 ms after an untimed
one, so no row pays for waking the other framework's threads); the tables give the median
over the rounds and the ratio to the reference row (symrnn torch / torch fused, and symrnn torch over
each other peer). ``--threads N`` (default 2) gives torch, OpenBLAS and XLA the same threads.
CUDA rows are added when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

CONFIGS = {"S": (8, 16, 8, 10, 1), "M": (64, 128, 64, 50, 32), "L": (256, 512, 256, 100, 64)}
ROOT = Path(__file__).resolve().parent.parent
MODELS = {"rnn": "rnn", "lstm-torch": "lstm-torch", "gru-torch": "gru-torch",
          "peephole": str(ROOT / "examples" / "peephole_lstm.toml"),
          "mgu": str(ROOT / "examples" / "mgu.toml")}
ROWS = ("symrnn numpy", "symrnn torch", "symrnn jax", "torch fused", "torch loop",
        "torch.compile", "jax scan", "GEMMs alone")


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__[__doc__.index("Rows"):])
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=["S", "M", "L"])
    p.add_argument("--dtypes", nargs="+", choices=["float32", "float64"],
                   default=["float32", "float64"])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    p.add_argument("--threads", type=int, default=2, help="threads for every framework")
    p.add_argument("--skip", nargs="*", default=[], choices=[r.split()[-1] for r in ROWS],
                   help="rows to leave out (by their last word: numpy, torch, jax, fused, loop, "
                        "torch.compile, scan, alone)")
    return p.parse_args()


ARGS = parse()
# thread counts before the frameworks start
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("MKL_NUM_THREADS", str(ARGS.threads))
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                           f"{'true' if ARGS.threads > 1 else 'false'} "
                           f"intra_op_parallelism_threads={ARGS.threads}").strip()

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

sys.path.insert(0, str(ROOT))
from symrnn import RNNSpec  # noqa: E402
from symrnn.backends.registry import get_backend  # noqa: E402
from symrnn.models import get_model  # noqa: E402
from symrnn.pipeline import equations_for_code  # noqa: E402

jax.config.update("jax_enable_x64", True)


# ---------------------------------------------------------------- the cells as a user writes them

class NS:
    """The few operations a cell needs, for torch or jax.numpy."""

    def __init__(self, lib):
        self.torch = lib == "torch"
        self.sigmoid = torch.sigmoid if self.torch else jax.nn.sigmoid
        self.tanh = torch.tanh if self.torch else jnp.tanh
        self.cat = (lambda xs: torch.cat(xs, 0)) if self.torch else (lambda xs: jnp.concatenate(xs, 0))


def _stack(ns, P, names):
    return ns.cat([P[k] for k in names])


def prepare(model, ns, P):
    """Weights the cell reads, stacked once per call (as a competent user does)."""
    if model == "rnn":
        return P
    if model == "lstm-torch":
        return {"Wi": _stack(ns, P, [f"W_i{g}" for g in "ifgo"]),
                "Wh": _stack(ns, P, [f"W_h{g}" for g in "ifgo"]),
                "b": _stack(ns, P, [f"b_i{g}" for g in "ifgo"]) +
                _stack(ns, P, [f"b_h{g}" for g in "ifgo"])}
    if model == "gru-torch":
        return {"Wi": _stack(ns, P, [f"W_i{g}" for g in "rzn"]),
                "Wh": _stack(ns, P, [f"W_h{g}" for g in "rzn"]),
                "bi": _stack(ns, P, [f"b_i{g}" for g in "rzn"]),
                "bh": _stack(ns, P, [f"b_h{g}" for g in "rzn"])}
    if model == "peephole":
        return {"U": _stack(ns, P, ["Uf", "Ug", "U", "Uq"]), "W": _stack(ns, P, ["Wf", "Wg", "W", "Wq"]),
                "b": _stack(ns, P, ["bf", "bg", "b", "bq"]), "pf": P["pf"], "pg": P["pg"],
                "pq": P["pq"]}
    if model == "mgu":
        return {"Uf": P["Uf"], "U": P["U"], "Wf": P["Wf"], "W": P["W"], "bf": P["bf"],
                "b": P["b"]}
    raise ValueError(model)


def cell(model, ns, W, x, state):
    """One step: (h(t), the state after it) from x(t) and the state before."""
    if model == "rnn":
        (h,) = state
        h = ns.tanh(x @ W["U"].T + h @ W["W"].T + W["b"])
        return h, (h,)
    if model == "lstm-torch":
        h, s = state
        n = h.shape[-1]
        a = x @ W["Wi"].T + h @ W["Wh"].T + W["b"]
        i, f, g, q = ns.sigmoid(a[:, :n]), ns.sigmoid(a[:, n:2 * n]), \
            ns.tanh(a[:, 2 * n:3 * n]), ns.sigmoid(a[:, 3 * n:])
        s = f * s + i * g
        h = q * ns.tanh(s)
        return h, (h, s)
    if model == "gru-torch":
        (h,) = state
        n = h.shape[-1]
        ai, ah = x @ W["Wi"].T + W["bi"], h @ W["Wh"].T + W["bh"]
        r = ns.sigmoid(ai[:, :n] + ah[:, :n])
        z = ns.sigmoid(ai[:, n:2 * n] + ah[:, n:2 * n])
        nn_ = ns.tanh(ai[:, 2 * n:] + r * ah[:, 2 * n:])
        h = (1 - z) * nn_ + z * h
        return h, (h,)
    if model == "peephole":
        h, s = state
        n = h.shape[-1]
        a = x @ W["U"].T + h @ W["W"].T + W["b"]
        f = ns.sigmoid(a[:, :n] + W["pf"] * s)
        g = ns.sigmoid(a[:, n:2 * n] + W["pg"] * s)
        z = ns.tanh(a[:, 2 * n:3 * n])
        s = f * s + g * z
        q = ns.sigmoid(a[:, 3 * n:] + W["pq"] * s)
        h = ns.tanh(s) * q
        return h, (h, s)
    if model == "mgu":
        (h,) = state
        f = ns.sigmoid(W["bf"] + h @ W["Wf"].T + x @ W["Uf"].T)
        hc = ns.tanh(W["b"] + (f * h) @ W["W"].T + x @ W["U"].T)
        h = (1 - f) * h + f * hc
        return h, (h,)
    raise ValueError(model)


def torch_loop_loss(model, P, x, y, init, step):
    ns = NS("torch")
    W = prepare(model, ns, P)
    state, hs = tuple(init), []
    for t in range(x.shape[0]):
        h, state = step(W, x[t], state)
        hs.append(h)
    o = torch.stack(hs) @ P["V"].T + P["c"]
    return torch.nn.functional.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1),
                                             reduction="sum")


def jax_scan_loss(model, P, x, y, init):
    ns = NS("jax")
    W = prepare(model, ns, P)

    def body(state, xt):
        h, state = cell(model, ns, W, xt, state)
        return state, h

    _final, hs = lax.scan(body, tuple(init), x)
    o = hs @ P["V"].T + P["c"]
    return -jnp.take_along_axis(jax.nn.log_softmax(o, -1), y[..., None], -1).sum()


# ---------------------------------------------------------------- timing

def interleaved(fns: dict, rounds: int) -> dict:
    """Median seconds per call of each function, rounds run in a rotating order. A call
    under 50 ms is preceded by an untimed one: switching from torch to JAX wakes XLA's
    threads (measured: a 0.13 ms JAX call takes ~0.9 ms right after a torch call), which would
    charge whichever row follows the other framework."""
    short = {}
    for k, f in fns.items():
        f()  # warm up (compiles)
        t0 = time.perf_counter()
        f()
        short[k] = time.perf_counter() - t0 < 0.05
    times = {k: [] for k in fns}
    keys = list(fns)
    for r in range(rounds):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        for k in order:
            if short[k]:
                fns[k]()
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-300))


class GemmRecorder(torch.overrides.TorchFunctionMode):
    """Records the matrix products a call makes: (function, argument shapes, dtype)."""

    NAMES = {"mm", "addmm", "addmm_", "matmul", "__matmul__", "__rmatmul__", "bmm"}

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.NAMES:
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            self.calls.append((name, [tuple(t.shape) for t in tensors], tensors[0].dtype,
                               tensors[0].device))
        return func(*args, **(kwargs or {}))


def gemms_alone(calls):
    """A function replaying the recorded products on fresh tensors of the same shapes."""
    ops = []
    for name, shapes, dtype, device in calls:
        ts = [torch.randn(s, dtype=dtype, device=device) for s in shapes]
        if name in ("addmm", "addmm_"):
            a, b, c = ts[-3:] if len(ts) >= 3 else (None, *ts)
            out = torch.empty(b.shape[0], c.shape[1], dtype=dtype, device=device)
            ops.append((torch.mm, (b, c), out))
        else:
            a, b = ts[-2], ts[-1]
            out = torch.empty(torch.matmul(a, b).shape, dtype=dtype, device=device)
            ops.append((torch.matmul, (a, b), out))

    def run():
        for f, args, out in ops:
            f(*args, out=out)
    return run


# ---------------------------------------------------------------- one model, config, dtype

def load(backend, spec, cache={}):
    key = (backend, spec)
    if key not in cache:
        b = get_backend(backend)
        m = get_model(spec.model)
        if spec.model not in cache:
            cache[spec.model] = equations_for_code(spec)
        src = b.emit(m, spec, cache[spec.model], b.forms[0], None, m.catalogue)
        mod = types.ModuleType(f"bench_{backend}")
        exec(compile(src, mod.__name__, "exec"), mod.__dict__)
        cache[key] = mod
    return cache[key]


def problem(mod, cfg, seed=0):
    n_in, n_h, n_out, tau, batch = cfg
    rng = np.random.default_rng(seed)
    P = {}
    for k, shape in mod.PARAM_SHAPES.items():
        if len(shape) == 2:
            P[k] = rng.normal(size=shape) / np.sqrt(shape[1])
        else:
            P[k] = rng.normal(size=shape) * 0.1
    x = rng.normal(size=(tau, batch, n_in))
    y = rng.integers(0, n_out, size=(tau, batch))
    return P, x, y


def builtin(model, cfg, device, dtype):
    n_in, n_h, n_out, _tau, _batch = cfg
    cls = {"rnn": torch.nn.RNN, "lstm-torch": torch.nn.LSTM, "gru-torch": torch.nn.GRU,
           "peephole": torch.nn.LSTM, "mgu": torch.nn.GRU}[model]
    return cls(n_in, n_h).to(device=device, dtype=dtype), \
        torch.nn.Linear(n_h, n_out).to(device=device, dtype=dtype)


def run_case(model, cfg_name, dtype_name, device):
    cfg = CONFIGS[cfg_name]
    n_in, n_h, n_out, tau, batch = cfg
    spec = RNNSpec(model=MODELS[model], n_in=n_in, n_hidden=n_h, n_out=n_out)
    tmod, jmod = load("torch", spec), load("jax", spec)
    nmod = load("numpy", spec) if device == "cpu" else None
    P, x, y = problem(tmod, cfg)
    tdt = getattr(torch, dtype_name)
    dev = torch.device(device)
    Pt = {k: torch.tensor(v, dtype=tdt, device=dev, requires_grad=True) for k, v in P.items()}
    xt, yt = torch.tensor(x, dtype=tdt, device=dev), torch.tensor(y, device=dev)
    init_t = [torch.zeros(batch, n_h, dtype=tdt, device=dev) for _ in tmod.INITIAL]
    fns = {}

    def symrnn_torch():
        for p in Pt.values():
            p.grad = None
        L = tmod.loss(Pt, xt, yt, validate=False)
        L.backward()
        return L, {k: p.grad for k, p in Pt.items()}
    fns["symrnn torch"] = symrnn_torch

    if nmod is not None and "numpy" not in ARGS.skip:
        Pn = {k: v.astype(dtype_name) for k, v in P.items()}
        xn = x.astype(dtype_name)
        fns["symrnn numpy"] = lambda: nmod.loss_and_grad(Pn, xn, y, validate=False)
    if "jax" not in ARGS.skip and device == "cpu":
        jdt = jnp.dtype(dtype_name)
        Pj = {k: jnp.asarray(v, jdt) for k, v in P.items()}
        xj, yj = jnp.asarray(x, jdt), jnp.asarray(y)
        vg = jax.jit(jax.value_and_grad(jmod.loss))
        fns["symrnn jax"] = lambda: jax.block_until_ready(vg(Pj, xj, yj))
        init_j = [jnp.zeros((batch, n_h), jdt) for _ in tmod.INITIAL]
        sg = jax.jit(jax.value_and_grad(
            lambda P, x, y, init: jax_scan_loss(model, P, x, y, init)))  # data as arguments,
        fns["jax scan"] = lambda: jax.block_until_ready(sg(Pj, xj, yj, init_j))  # as symrnn jax
    if "fused" not in ARGS.skip:
        rnn, lin = builtin(model, cfg, dev, tdt)
        if hasattr(tmod, "from_torch"):
            params = tmod.to_torch({k: v.detach() for k, v in Pt.items()})
            rnn, lin = params
        ps = list(rnn.parameters()) + list(lin.parameters())

        def fused():
            for p in ps:
                p.grad = None
            out, _h = rnn(xt)
            o = lin(out)
            L = torch.nn.functional.cross_entropy(o.reshape(-1, n_out), yt.reshape(-1),
                                                  reduction="sum")
            L.backward()
            return L, rnn
        fns["torch fused"] = fused
    ns = NS("torch")
    step = lambda W, xs, st: cell(model, ns, W, xs, st)  # noqa: E731
    if "loop" not in ARGS.skip:
        def loop():
            for p in Pt.values():
                p.grad = None
            L = torch_loop_loss(model, Pt, xt, yt, init_t, step)
            L.backward()
            return L, {k: p.grad for k, p in Pt.items()}
        fns["torch loop"] = loop
    notes = []
    if "torch.compile" not in ARGS.skip:
        try:
            compiled = torch.compile(step, dynamic=False)

            def comp():
                for p in Pt.values():
                    p.grad = None
                L = torch_loop_loss(model, Pt, xt, yt, init_t, compiled)
                L.backward()
                return L, {k: p.grad for k, p in Pt.items()}
            comp()
            fns["torch.compile"] = comp
        except Exception as e:  # noqa: BLE001 (a peer that does not compile here is a row's note)
            notes.append(f"torch.compile: does not compile here ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:120]})")
    if "alone" not in ARGS.skip:
        rec = GemmRecorder()
        with rec:
            symrnn_torch()
        fns["GEMMs alone"] = gemms_alone(rec.calls)
        notes.append(f"GEMMs alone: {len(rec.calls)} matrix products per call")

    # the same computation: every row of this cell against the symrnn torch module
    L0, g0 = symrnn_torch()
    g0 = {k: v.detach().cpu().double() for k, v in g0.items()}
    errs = {}
    if dtype_name == "float64":
        for name in ("torch loop", "torch.compile"):
            if name in fns:
                L, g = fns[name]()
                errs[name] = max([rel(L.detach().cpu(), L0.detach().cpu())] +
                                 [rel(g[k].cpu(), g0[k]) for k in g0])
        if "symrnn numpy" in fns:
            L, g = fns["symrnn numpy"]()
            errs["symrnn numpy"] = max([rel(L, L0.detach())] + [rel(g[k], g0[k]) for k in g0])
        if "symrnn jax" in fns:
            L, g = vg(Pj, xj, yj)
            errs["symrnn jax"] = max([rel(L, L0.detach())] + [rel(g[k], g0[k]) for k in g0])
            L, g = sg(Pj, xj, yj, init_j)
            errs["jax scan"] = max([rel(L, L0.detach())] + [rel(g[k], g0[k]) for k in g0])
        if "torch fused" in fns and hasattr(tmod, "from_torch"):
            L, _ = fns["torch fused"]()
            errs["torch fused"] = rel(L.detach().cpu(), L0.detach().cpu())
    times = interleaved(fns, ARGS.rounds)
    return times, errs, notes


def main():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, jax {jax.__version__}, numpy {np.__version__}; "
          f"{ARGS.threads} thread(s); rounds {ARGS.rounds}; devices {', '.join(devices)}")
    for model in ARGS.models:
        for device in devices:
            print(f"\n## {model} ({device})  ms per forward + backward call, median; "
                  f"ratio = symrnn torch / row")
            head = "| config | dtype | " + " | ".join(ROWS) + " |"
            print(head)
            print("|" + "---|" * (len(ROWS) + 2))
            for cfg in ARGS.configs:
                for dt in ARGS.dtypes:
                    times, errs, notes = run_case(model, cfg, dt, device)
                    ours = times["symrnn torch"]
                    cells = []
                    for r in ROWS:
                        if r not in times:
                            cells.append("-")
                        elif r == "symrnn torch":
                            cells.append(f"**{ours * 1e3:.3g}**")
                        else:
                            cells.append(f"{times[r] * 1e3:.3g} ({ours / times[r]:.2f}x)")
                    print(f"| {cfg} | {dt} | " + " | ".join(cells) + " |", flush=True)
                    if errs:
                        print("|  | check | " + ", ".join(f"{k} {v:.0e}" for k, v in errs.items())
                              + " |")
                    for n in notes:
                        print(f"|  | note | {n} |")


if __name__ == "__main__":
    main()
