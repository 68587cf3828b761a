"""Numeric checks of an emitted NumPy module against independent computations.

Two references, neither of them the emitted code:

- the derivation: the element-level adjoints of ``derive`` (every partial from ``sympy.diff``),
  handed to ``lambdify`` in derivation order as common subexpressions (so nothing is composed
  and the size stays linear in tau) and evaluated with mpmath at 50 digits;
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

from .derive import Derivation
from .functions import LOSSES
from .graph import PARAMS, Graph
from .spec import RNNSpec

#: Float64 code against a 50-digit evaluation of the derivation.
TOL_DERIVATION = 1e-10
#: Central differences at eps 1e-6 (truncation ~eps^2, rounding ~1e-16/eps).
TOL_DIFFERENCES = 1e-6
EPS = 1e-6
#: At most this many entries are perturbed per array (chosen at random, reproducibly).
MAX_FD_ENTRIES = 64
DIGITS = 50


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


class DerivationOracle:
    """The loss and every gradient of ``derive``, evaluated at 50 digits with mpmath."""

    def __init__(self, graph: Graph, derivation: Derivation):
        g, d = graph, derivation
        self.spec = g.spec
        defined = [*g.order, *d.order]
        exprs = {**g.defs, **d.defs}
        self.h0_symbolic = g.spec.h0 == "symbol"
        inputs = [s for k in PARAMS for s in g.params[k]]
        if self.h0_symbolic:
            inputs += list(g.h[0])
        inputs += [s for t in sorted(g.x) for s in g.x[t]]
        self.vector_targets = LOSSES[g.spec.loss].target != "class"
        if self.vector_targets:
            inputs += [s for t in sorted(g.targets) for s in g.targets[t]]
        # plain names: lambdify prints its arguments, and ours look like U[0,1]
        rename = {s: sp.Symbol(f"v{i}") for i, s in enumerate(inputs + defined)}
        steps = [(rename[s], exprs[s].xreplace(rename)) for s in defined]
        outputs = [[rename[d.adj[s]] for s in g.params[k]] for k in PARAMS]
        if self.h0_symbolic:
            outputs.append([rename[d.adj[s]] for s in g.h[0]])
        outputs.append([rename[g.L]])
        self._f = sp.lambdify([rename[s] for s in inputs], outputs, modules="mpmath",
                              cse=lambda e: (steps, e))

    def __call__(self, P: dict, xs: np.ndarray, h0: np.ndarray, ys: np.ndarray | None):
        """(L, grads) for one sequence: xs (tau, n_in), h0 (n_hidden,), ys (tau, n_out)."""
        import mpmath

        args = [v for k in PARAMS for v in np.ravel(P[k])]
        if self.h0_symbolic:
            args += list(h0)
        args += list(np.ravel(xs))
        if self.vector_targets:
            args += list(np.ravel(ys))
        with mpmath.workdps(DIGITS):
            out = self._f(*[mpmath.mpf(float(v)) for v in args])
            grads = {k: np.array([float(v) for v in out[i]]).reshape(np.shape(P[k]))
                     for i, k in enumerate(PARAMS)}
            if self.h0_symbolic:
                grads["h0"] = np.array([float(v) for v in out[len(PARAMS)]])
            loss = float(out[-1][0])
        return loss, grads


def random_point(spec: RNNSpec, rng: np.random.Generator):
    """Parameters, one input sequence, h(0) and targets (the spec's labels for softmax-ce)."""
    n_in, n_h, n_out, tau = spec.n_in, spec.n_hidden, spec.n_out, spec.tau
    P = {"U": rng.normal(size=(n_h, n_in)), "W": rng.normal(size=(n_h, n_h)) * 0.6,
         "V": rng.normal(size=(n_out, n_h)), "b": rng.normal(size=n_h) * 0.3,
         "c": rng.normal(size=n_out) * 0.3}
    xs = rng.normal(size=(tau, n_in))
    h0 = rng.normal(size=n_h) * 0.5 if spec.h0 == "symbol" else np.zeros(n_h)
    if LOSSES[spec.loss].target == "class":
        y = np.array(spec.class_labels, dtype=np.int64)  # the labels the derivation used
        ys = None
    else:
        y = ys = rng.uniform(size=(tau, n_out))
    return P, xs, h0, y, ys


def _kink_distance(spec: RNNSpec, P, xs, h0) -> float:
    """Smallest |a_i(t)| along the sequence (relu's derivative jumps at a = 0)."""
    h, least = h0, np.inf
    for t in range(spec.tau):
        a = P["W"] @ h + P["U"] @ xs[t] + P["b"]
        least = min(least, float(np.min(np.abs(a))))
        h = np.maximum(a, 0)
    return least


def check_module(path: Path, spec: RNNSpec, oracle: DerivationOracle, seed: int = 0) -> list[Check]:
    """Compare the module at ``path`` with the derivation and with central differences."""
    module = load_module(path)
    rng = np.random.default_rng(seed)
    for _ in range(20):  # finite differences need a point away from relu's kink
        P, xs, h0, y, ys = random_point(spec, rng)
        if spec.activation != "relu" or _kink_distance(spec, P, xs, h0) > 1e3 * EPS:
            break
    h0_arg = h0 if spec.h0 == "symbol" else None
    loss, grads = module.loss_and_grad(P, xs, y, h0_arg)
    keys = [*PARAMS] + (["h0"] if spec.h0 == "symbol" else [])

    want_loss, want = oracle(P, xs, h0, ys)
    errs = {"loss": _rel_err(loss, want_loss, 1e-300)}
    errs.update({k: _rel_err(grads[k], want[k], 1e-300) for k in keys})
    worst = max(errs, key=errs.get)
    name = Path(path).name
    checks = [Check(name, f"SymPy derivation (lambdify, mpmath {DIGITS} digits)",
                    errs[worst], TOL_DERIVATION, errs[worst] <= TOL_DERIVATION, worst)]

    fd_errs = {}
    pick = np.random.default_rng(seed + 1)
    for k in keys:
        base = h0 if k == "h0" else P[k]
        entries = list(np.ndindex(np.shape(base)))
        if len(entries) > MAX_FD_ENTRIES:
            entries = [entries[i] for i in sorted(pick.choice(len(entries), MAX_FD_ENTRIES,
                                                              replace=False))]
        got, fd = [], []
        for idx in entries:
            def at(delta):
                Q = {q: v.copy() for q, v in P.items()}
                hh = h0.copy()
                (hh if k == "h0" else Q[k])[idx] += delta
                return float(module.loss(Q, xs, y, hh if spec.h0 == "symbol" else None))
            fd.append((at(EPS) - at(-EPS)) / (2 * EPS))
            got.append(grads[k][idx])
        # floor 1e-3: differences carry ~1e-10 of absolute noise, meaningless against zeros
        fd_errs[k] = _rel_err(got, fd, 1e-3)
    worst = max(fd_errs, key=fd_errs.get)
    checks.append(Check(name, f"central differences (eps {EPS:g}, float64)", fd_errs[worst],
                        TOL_DIFFERENCES, fd_errs[worst] <= TOL_DIFFERENCES, worst))
    return checks
