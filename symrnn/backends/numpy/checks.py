"""Numeric checks of an emitted NumPy module against independent computations.

Two references, neither of them the emitted code:

- the derivation: the element-level gradients of ``derive`` (every partial from
  ``sympy.diff``), handed to ``lambdify`` in derivation order as common subexpressions (so
  nothing is composed and the size stays linear in tau) and evaluated with mpmath at 50 digits;
- central finite differences (eps 1e-6, float64) of the module's own loss.

Errors are normwise per array: max |got - want| / max |want| (with a floor, so an array of
zero gradients, e.g. softmax over one class, does not divide by zero); the reported error is
the largest over the loss and every gradient.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from ...core.derive import Derivation
from ...core.graph import Graph
from ...functions import LOSSES

#: Float64 code against a 50-digit evaluation of the derivation.
TOL_DERIVATION = 1e-10
#: Central differences at eps 1e-6 (truncation ~eps^2, rounding ~1e-16/eps).
TOL_DIFFERENCES = 1e-6
EPS = 1e-6
#: At most this many entries are perturbed per array (chosen at random, reproducibly).
MAX_FD_ENTRIES = 64
DIGITS = 50
#: Random test values per kind of parameter (the recurrent weights smaller).
SCALES = {"weight": 1.0, "recurrent": 0.6, "bias": 0.3}


@dataclass
class Check:
    """One comparison: the module file, the reference, the error and the tolerance."""

    module: str
    against: str
    max_rel_err: float
    tol: float
    passed: bool
    worst: str  # which array had the largest error

    def to_json(self) -> dict:
        return asdict(self)


def load_module(path: Path):
    """Import the emitted file itself (not a re-rendering), without touching sys.modules."""
    name = f"_symrnn_check_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rel_err(got, want, floor: float) -> float:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    diff = np.max(np.abs(got - want))
    if not np.isfinite(diff):
        return float("inf")
    return float(diff / max(float(np.max(np.abs(want))), floor))


def initial_names(graph: Graph) -> list[tuple[str, int, str]]:
    """(quantity, step, argument name) of every symbolic initial value (h0, o0, g_end)."""
    out = []
    for q, side in graph.model.initial_values():
        step = 0 if side == "start" else graph.tau + 1
        out.append((q.name, step, f"{q.name}0" if side == "start" else f"{q.name}_end"))
    return out


class DerivationOracle:
    """The loss and every gradient of ``derive``, evaluated at 50 digits with mpmath."""

    def __init__(self, graph: Graph, derivation: Derivation):
        g, d = graph, derivation
        self.graph = g
        defined = [*g.order, *d.order]
        exprs = {**g.defs, **d.defs}
        self.params = [p.name for p in g.model.params]
        self.h0_symbolic = g.spec.h0 == "symbol"
        self.init = initial_names(g) if self.h0_symbolic else []
        inputs = [s for k in self.params for s in g.params[k]]
        for name, step, _ in self.init:
            inputs += list(g.value(name, step))
        self.x = [x.name for x in g.model.inputs]
        inputs += [s for name in self.x for t in range(1, g.tau + 1) for s in g.value(name, t)]
        self.vector_targets = LOSSES[g.spec.loss].target != "class"
        target = g.model.target.name
        if self.vector_targets:
            inputs += [s for t in range(1, g.tau + 1) for s in g.value(target, t)]
        # plain names: lambdify prints its arguments, and ours look like U[0,1]
        rename = {s: sp.Symbol(f"v{i}") for i, s in enumerate(inputs + defined)}
        steps = [(rename[s], exprs[s].xreplace(rename)) for s in defined]
        outputs = [[rename[d.adj[s]] for s in g.params[k]] for k in self.params]
        for name, step, _ in self.init:
            outputs.append([rename[d.adj[s]] for s in g.value(name, step)])
        outputs.append([rename[g.L]])
        # the arguments of relu's kinks, to keep finite differences away from them
        kinks = sorted({c.lhs for e in g.defs.values() for pw in e.atoms(sp.Piecewise)
                        for c in [pw.args[0].cond] if isinstance(c, sp.core.relational.Relational)
                        and c.lhs in rename}, key=lambda s: s.name)
        outputs.append([rename[s] for s in kinks])
        self._f = sp.lambdify([rename[s] for s in inputs], outputs, modules="mpmath",
                              cse=lambda e: (steps, e))

    def __call__(self, P: dict, xs: np.ndarray, init: dict, ys: np.ndarray | None):
        """(L, grads, kink distance) for one sequence: xs (tau, n_in), init {"h0": ...},
        ys (tau, n_out)."""
        import mpmath

        args = [v for k in self.params for v in np.ravel(P[k])]
        for _name, _step, arg in self.init:
            args += list(init[arg])
        args += list(np.ravel(xs))
        if self.vector_targets:
            args += list(np.ravel(ys))
        with mpmath.workdps(DIGITS):
            out = self._f(*[mpmath.mpf(float(v)) for v in args])
            grads = {k: np.array([float(v) for v in out[i]]).reshape(np.shape(P[k]))
                     for i, k in enumerate(self.params)}
            for j, (_name, _step, arg) in enumerate(self.init):
                grads[arg] = np.array([float(v) for v in out[len(self.params) + j]])
            loss = float(out[-2][0])
            kink = min((abs(float(v)) for v in out[-1]), default=float("inf"))
        return loss, grads, kink


def random_point(graph: Graph, rng: np.random.Generator):
    """Parameters, one input sequence, initial values and targets (the graph's labels for
    softmax-ce)."""
    spec, m = graph.spec, graph.model
    sizes = graph.sizes
    P = {}
    for p in m.params:
        shape = (sizes[p.rows.name],) if p.cols is None else (sizes[p.rows.name], sizes[p.cols.name])
        P[p.name] = rng.normal(size=shape) * SCALES[p.init]
    xs = rng.normal(size=(spec.tau, spec.n_in))
    init = {}
    for name, _step, arg in initial_names(graph):
        n = sizes[m.quantity(name).size.name]
        init[arg] = rng.normal(size=n) * 0.5 if spec.h0 == "symbol" else np.zeros(n)
    if LOSSES[spec.loss].target == "class":
        y = np.array(spec.class_labels, dtype=np.int64)  # the labels the derivation used
        ys = None
    else:
        y = ys = rng.uniform(size=(spec.tau, spec.n_out))
    return P, xs, init, y, ys


def check_module(path: Path, graph: Graph, oracle: DerivationOracle, seed: int = 0) -> list[Check]:
    """Compare the module at ``path`` with the derivation and with central differences."""
    module = load_module(path)
    spec = graph.spec
    rng = np.random.default_rng(seed)
    for _ in range(20):  # finite differences need a point away from relu's kink
        P, xs, init, y, ys = random_point(graph, rng)
        want_loss, want, kink = oracle(P, xs, init, ys)
        if kink > 1e3 * EPS:
            break
    init_arg = init if spec.h0 == "symbol" else {}
    loss, grads = module.loss_and_grad(P, xs, y, **init_arg)
    keys = [*oracle.params] + list(init_arg)

    errs = {"loss": _rel_err(loss, want_loss, 1e-300)}
    errs.update({k: _rel_err(grads[k], want[k], 1e-300) for k in keys})
    worst = max(errs, key=errs.get)
    name = Path(path).name
    checks = [Check(name, f"SymPy derivation (lambdify, mpmath {DIGITS} digits)",
                    errs[worst], TOL_DERIVATION, errs[worst] <= TOL_DERIVATION, worst)]

    fd_errs = {}
    pick = np.random.default_rng(seed + 1)
    for k in keys:
        base = init[k] if k in init_arg else P[k]
        entries = list(np.ndindex(np.shape(base)))
        if len(entries) > MAX_FD_ENTRIES:
            entries = [entries[i] for i in sorted(pick.choice(len(entries), MAX_FD_ENTRIES,
                                                              replace=False))]
        got, fd = [], []
        for idx in entries:
            def at(delta):
                Q = {q: v.copy() for q, v in P.items()}
                I = {q: v.copy() for q, v in init_arg.items()}
                (I[k] if k in I else Q[k])[idx] += delta
                return float(module.loss(Q, xs, y, **I))
            fd.append((at(EPS) - at(-EPS)) / (2 * EPS))
            got.append(grads[k][idx])
        # floor 1e-3: differences carry ~1e-10 of absolute noise, meaningless against zeros
        fd_errs[k] = _rel_err(got, fd, 1e-3)
    worst = max(fd_errs, key=fd_errs.get)
    checks.append(Check(name, f"central differences (eps {EPS:g}, float64)", fd_errs[worst],
                        TOL_DIFFERENCES, fd_errs[worst] <= TOL_DIFFERENCES, worst))
    return checks
