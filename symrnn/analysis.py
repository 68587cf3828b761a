"""Gradient flow through time: why the note picks tanh (issue 6, item 4).

Symbolic part: from the unrolled graph, the one-step Jacobian dh(j)/dh(j-1) is computed by
``sympy.diff`` of the local definitions h(j) = phi(a(j)), a(j) = b + W h(j-1) + U x(j), and
checked exactly against the closed form diag(phi'(a(j))) W; the product over a lag,
    dh(t)/dh(k) = prod_{j=k+1..t} dh(j)/dh(j-1) = diag(phi'(a(t))) W ... diag(phi'(a(k+1))) W,
is checked the same way for a lag of two steps.

Numerical part: grad_h(k) L = (dh(t)/dh(k))^T grad_h(t) L for a loss at step t only, pushed back
one step at a time with phi' lambdified from the SymPy derivative, on a random W scaled to a
chosen spectral radius. The per-step factor is exp(slope) of the least-squares line through
mean log ||grad_h(k) L|| / ||grad_h(t) L|| against the lag t - k.
"""

from __future__ import annotations

import functools
import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import sympy as sp

from .core.graph import unroll
from .core.zero import is_zero, visibly_nonzero
from .functions import ACTIVATIONS
from .io import MARKER, check_writable, write_atomic
from .models import get_model
from .spec import RNNSpec, check_int

#: Activations measured numerically (``phi`` is generic and symbolic only).
CONCRETE = ("tanh", "sigmoid", "relu", "identity")
#: Spectral radii of W (below, at and above 1); ``None`` is W as drawn, unscaled.
RADII: tuple[float | None, ...] = (None, 0.5, 1.0, 1.5, 3.0)
#: phi'(a) below this counts as saturated (tanh, sigmoid).
SATURATION = 0.1
#: max_lag 500 keeps a linear RNN at radius 3 finite (3^520 < 1e308) in the forward pass.
LIMITS = {"max_lag": 500, "hidden": 1024}
DEFAULTS = {"max_lag": 100, "hidden": 32, "seed": 0, "sequences": 8, "inputs": 8, "burn_in": 20}
#: The plot's file name; documents refer to it relative to themselves.
GRAPHICS = "gradient_flow.png"
FILES = (GRAPHICS, "gradient_flow.svg", "summary.txt", "rates.json", "analysis.tex")

Claim = Callable[[sp.Matrix, sp.Matrix, Callable[[sp.Expr], sp.Expr]], sp.Matrix]


# ------------------------------------------------------------------------------ symbolic

def dphi(name: str) -> Callable[[sp.Expr], sp.Expr]:
    """phi'(a) as ``sympy.diff`` of the activation's definition, evaluated at ``a``."""
    z = sp.Symbol("z", real=True)
    d = sp.diff(ACTIVATIONS[name].phi(z), z)
    return lambda a: d.subs(z, a)


def diag_dphi_W(a: sp.Matrix, W: sp.Matrix, dphi_at: Callable[[sp.Expr], sp.Expr]) -> sp.Matrix:
    """The closed form of dh(j)/dh(j-1): diag(phi'(a(j))) W."""
    return sp.diag(*[dphi_at(v) for v in a]) * W


def _indicator_form(p: sp.Piecewise) -> sp.Expr:
    """Piecewise((e, c), (0, True)) -> e * Piecewise((1, c), (0, True)): one canonical form."""
    if len(p.args) == 2 and p.args[1] == (0, True) and p.args[0][0] != 1:
        e, c = p.args[0]
        return e * sp.Piecewise((1, c), (0, True))
    return p


def exactly_zero(expr: sp.Expr) -> bool:
    """True only when SymPy proves ``expr`` == 0 (ReLU's Piecewise put in indicator form)."""
    expr = sp.sympify(expr).replace(lambda p: isinstance(p, sp.Piecewise), _indicator_form)
    if sp.expand(expr) == 0:
        return True
    if not expr.atoms(sp.core.function.AppliedUndef) and \
            visibly_nonzero(expr, seeds=range(12)):  # several points, so ReLU units switch
        return False
    return is_zero(expr)


@dataclass
class JacobianCheck:
    activation: str
    n_hidden: int
    one_step: bool  # diff-derived dh(2)/dh(1) == claim at j = 2
    two_step: bool  # diff-derived dh(3)/dh(1) == claim(3) claim(2)
    latex_entry: str  # LaTeX of the closed form's (0, 0) entry, a(j) written as a symbol

    @property
    def ok(self) -> bool:
        return self.one_step and self.two_step


def _local(graph, t: int) -> list[sp.Expr]:
    """h(t) in terms of h(t-1): the definitions of h(t) with a(t) replaced by its definition."""
    a_defs = {s: graph.defs[s] for s in graph.value("a", t)}
    return [graph.defs[s].xreplace(a_defs) for s in graph.value("h", t)]


def check_jacobian(activation: str, n_hidden: int = 2, claim: Claim = diag_dphi_W
                   ) -> JacobianCheck:
    """Compare ``sympy.diff`` of the unrolled graph with ``claim(a(j), W, phi')`` exactly.

    ``claim`` defaults to diag(phi'(a(j))) W; a test passes a wrong one to see the check fail.
    """
    spec = RNNSpec(tau=3, n_in=1, n_hidden=n_hidden, n_out=1, activation=activation,
                   loss="mse", h0="symbol")
    g = unroll(get_model(spec.model), spec)
    W, d = g.params["W"], dphi(activation)
    a_full = {t: sp.Matrix([g.defs[s] for s in g.value("a", t)]) for t in (2, 3)}

    def differs(lhs: sp.Matrix, rhs: sp.Matrix) -> bool:
        return any(not exactly_zero(x) for x in (lhs - rhs))

    # one step: h(2) as a function of h(1)
    h2 = _local(g, 2)
    J2 = sp.Matrix(n_hidden, n_hidden, lambda i, k: sp.diff(h2[i], g.value("h", 1)[k]))
    one = not differs(J2, claim(a_full[2], W, d))
    # two steps: h(3) as a function of h(1), through h(2)
    h3 = [e.xreplace(dict(zip(g.value("h", 2), h2))) for e in _local(g, 3)]
    J31 = sp.Matrix(n_hidden, n_hidden, lambda i, k: sp.diff(h3[i], g.value("h", 1)[k]))
    a3_of_h1 = a_full[3].xreplace(dict(zip(g.value("h", 2), h2)))
    two = not differs(J31, claim(a3_of_h1, W, d) * claim(a_full[2], W, d))
    aj = sp.Symbol("a_{1}^{(j)}", real=True)
    entry = sp.latex(diag_dphi_W(sp.Matrix([aj]), sp.Matrix([[sp.Symbol("W_{11}")]]), d)[0])
    return JacobianCheck(activation, n_hidden, one, two, entry)


@functools.lru_cache(maxsize=None)
def symbolic_checks(n_hidden: int = 2) -> tuple[JacobianCheck, ...]:
    """The exact check for every activation (about 2 s; cached, the result is deterministic)."""
    return tuple(check_jacobian(name, n_hidden) for name in ACTIVATIONS)


# ----------------------------------------------------------------------------- numerical

def numeric_activation(name: str) -> tuple[Callable, Callable]:
    """phi and phi' for NumPy, both lambdified from SymPy (phi' from ``sympy.diff``)."""
    z = sp.Symbol("z", real=True)
    expr = ACTIVATIONS[name].phi(z)
    f = sp.lambdify(z, expr, "numpy")
    df = sp.lambdify(z, sp.diff(expr, z), "numpy")

    def phi(a):
        return np.asarray(f(a), dtype=float) + np.zeros_like(a)

    def dphi_np(a):
        return np.asarray(df(a), dtype=float) + np.zeros_like(a)  # identity: phi' = 1 broadcast

    return phi, dphi_np


def scale_to_radius(W0: np.ndarray, radius: float | None) -> np.ndarray:
    if radius is None:
        return W0
    return W0 * (radius / float(np.max(np.abs(np.linalg.eigvals(W0)))))


@dataclass
class Curve:
    """One activation at one spectral radius."""

    activation: str
    radius: float  # the actual spectral radius of W used
    label: str  # "0.5", ..., or "random"
    log_norms: np.ndarray  # mean over sequences of ln(||grad_h(t-lag) L|| / ||grad_h(t) L||)
    #                        (over those whose gradient stays nonzero, see ``zeroed``)
    factor: float  # exp(slope) of the fit: per-step factor
    saturated: float | None  # fraction of phi'(a) < SATURATION (tanh, sigmoid)
    inactive: float | None  # ReLU: fraction of (unit, step) with phi'(a) = 0
    dead: float | None  # ReLU: fraction of units with phi' = 0 at every step of the window
    mean_dphi: float
    mean_h: float
    max_abs_h: float
    zeroed: int = 0  # sequences whose gradient became exactly 0 (every ReLU unit off at a step)
    norm2: float = 0.0  # ||W||_2, the largest singular value (the bound's; >= the radius)

    def as_dict(self) -> dict:
        out = {"activation": self.activation, "radius": round(self.radius, 6),
               "W": self.label, "spectral_norm": round(self.norm2, 6),
               "per_step_factor": round(self.factor, 6),
               "log10_per_step": round(math.log10(self.factor), 6) if self.factor > 0 else None,
               "norm_ratio_at_max_lag": float(f"{math.exp(self.log_norms[-1]):.4g}"),
               "mean_dphi": round(self.mean_dphi, 6), "mean_h": round(self.mean_h, 6),
               "max_abs_h": float(f"{self.max_abs_h:.4g}")}
        if self.zeroed:
            out["sequences_with_zero_gradient"] = self.zeroed
        if self.saturated is not None:
            out["saturated_fraction"] = round(self.saturated, 6)
        if self.inactive is not None:
            out["relu_inactive_fraction"] = round(self.inactive, 6)
            out["relu_dead_fraction"] = round(self.dead, 6)
        return out


def fit_factor(log_norms: np.ndarray) -> float:
    """exp(slope) of the least-squares line through (lag, ln norm), lag = 0..len-1."""
    lags = np.arange(len(log_norms), dtype=float)
    slope = np.polyfit(lags, log_norms, 1)[0]
    return float(math.exp(slope))


def backprop_log_norms(W: np.ndarray, dphis: np.ndarray, g: np.ndarray) -> np.ndarray:
    """ln ||grad_h(t-lag) L|| - ln ||grad_h(t) L|| for lag = 0..len(dphis).

    ``dphis[i]`` is phi'(a(t-i)); one step is grad_h(j-1) = W^T (phi'(a(j)) * grad_h(j)).
    The vector is renormalised each step and the logs summed, so nothing under- or overflows.
    """
    out = np.zeros(len(dphis) + 1)
    g = g / np.linalg.norm(g)
    for i, d in enumerate(dphis):
        g = W.T @ (d * g)  # (dh(j)/dh(j-1))^T g = W^T diag(phi'(a(j))) g
        n = np.linalg.norm(g)
        if n == 0.0:  # every unit off (ReLU): the gradient is exactly zero from here on
            out[i + 1:] = -np.inf
            return out
        out[i + 1] = out[i] + math.log(n)
        g = g / n
    return out


def measure(activation: str, W: np.ndarray, radius_label: str, max_lag: int, rng_seed: int,
            sequences: int = DEFAULTS["sequences"], n_in: int = DEFAULTS["inputs"],
            burn_in: int = DEFAULTS["burn_in"]) -> Curve:
    """Run ``sequences`` random input sequences forward for burn_in + max_lag steps, then
    back-propagate a loss at the last step t down to h(t - max_lag)."""
    phi, dphi_np = numeric_activation(activation)
    n = W.shape[0]
    rng = np.random.default_rng(rng_seed)  # same inputs for every activation and radius
    U = rng.standard_normal((n, n_in)) / math.sqrt(n_in)
    V = rng.standard_normal((n_in, n)) / math.sqrt(n)  # n_out = n_in classes
    T = burn_in + max_lag
    logs, dp_all, h_all, sat, inact, dead = [], [], [], [], [], []
    for _ in range(sequences):
        x = rng.standard_normal((T, n_in))
        r = rng.standard_normal(n_in)
        h = np.zeros(n)
        a_hist = np.empty((T, n))
        h_hist = np.empty((T, n))
        with np.errstate(over="ignore", invalid="ignore"):
            for s in range(T):
                a = W @ h + U @ x[s]
                h = phi(a)
                a_hist[s], h_hist[s] = a, h
        # grad_h(t) L = V^T grad_o(t) L for a loss at step t only; grad_o(t) L is a random
        # direction (a linear loss r^T o(t)): softmax-CE's y^ - 1[y] is exactly 0 once the
        # logits of an exploding linear RNN saturate the softmax, and only the direction matters
        g = V.T @ r
        window = a_hist[burn_in - 1:]  # a(t - max_lag) .. a(t)
        dp = dphi_np(window)
        logs.append(backprop_log_norms(W, dp[::-1][:max_lag], g))
        dp_all.append(dp)
        h_all.append(h_hist[burn_in - 1:])
        sat.append(np.mean(dp < SATURATION))
        inact.append(np.mean(dp == 0.0))
        dead.append(np.mean(np.all(dp == 0.0, axis=0)))
    # geometric mean over the sequences whose gradient stays nonzero (ReLU can switch every
    # unit off at one step, which zeroes the gradient for good: counted in ``zeroed``)
    alive = [l for l in logs if np.isfinite(l[-1])]
    log_norms = np.mean(alive, axis=0) if alive else logs[0]
    dps, hs = np.concatenate(dp_all), np.concatenate(h_all)
    is_relu, saturating = activation == "relu", activation in ("tanh", "sigmoid")
    # every sequence's gradient exactly 0 from some lag on: it vanished completely, factor 0
    factor = fit_factor(log_norms) if np.all(np.isfinite(log_norms)) else 0.0
    return Curve(activation, float(np.max(np.abs(np.linalg.eigvals(W)))), radius_label,
                 log_norms, factor,
                 float(np.mean(sat)) if saturating else None,
                 float(np.mean(inact)) if is_relu else None,
                 float(np.mean(dead)) if is_relu else None,
                 float(np.mean(dps)), float(np.mean(hs)), float(np.max(np.abs(hs))),
                 int(sum(np.isneginf(l[-1]) for l in logs)), norm2=float(np.linalg.norm(W, 2)))


@dataclass
class Analysis:
    max_lag: int
    hidden: int
    seed: int
    checks: tuple[JacobianCheck, ...]
    curves: list[Curve] = field(default_factory=list)
    #: phi'(a) of each measured activation, from ``sympy.diff`` (a the symbol ``a``)
    dphi_exprs: dict = field(default_factory=dict)

    def curve(self, activation: str, label: str) -> Curve:
        return next(c for c in self.curves if c.activation == activation and c.label == label)

    @property
    def labels(self) -> list[str]:
        """The radii measured, smallest spectral radius first (the random W, as drawn, where
        its radius falls)."""
        first = {}
        for c in self.curves:
            first.setdefault(c.label, c.radius)
        return sorted(first, key=lambda l: (first[l], l))

    def as_dict(self) -> dict:
        return {"_generator": MARKER,
                "settings": {"max_lag": self.max_lag, "hidden": self.hidden, "seed": self.seed,
                             "sequences": DEFAULTS["sequences"], "inputs": DEFAULTS["inputs"],
                             "burn_in": DEFAULTS["burn_in"], "saturation_threshold": SATURATION,
                             "fit": "per_step_factor = exp(slope of least-squares line through "
                                    "mean ln(||grad_h(t-lag) L|| / ||grad_h(t) L||) vs lag)"},
                "jacobian": {"formula": "dh(t)/dh(k) = prod_{j=k+1..t} diag(phi'(a(j))) W",
                             "checks": {c.activation: c.ok for c in self.checks}},
                "curves": [c.as_dict() for c in self.curves]}


def radius_label(r: float | None) -> str:
    return "random" if r is None else f"{r:g}"


def random_W(hidden: int, seed: int) -> np.ndarray:
    """W with i.i.d. N(0, 1/n) entries (spectral radius near 1 for large n)."""
    return np.random.default_rng([seed, 1]).standard_normal((hidden, hidden)) / math.sqrt(hidden)


def analyze(max_lag: int = DEFAULTS["max_lag"], hidden: int = DEFAULTS["hidden"],
            seed: int = DEFAULTS["seed"], radii=RADII, activations=CONCRETE,
            symbolic: bool = True) -> Analysis:
    check_int("max_lag", max_lag, 1, LIMITS["max_lag"])
    check_int("hidden", hidden, 1, LIMITS["hidden"])
    check_int("seed", seed, 0)
    checks = symbolic_checks() if symbolic else ()
    bad = [c.activation for c in checks if not c.ok]
    if bad:
        raise AssertionError(f"dh(j)/dh(j-1) from sympy.diff disagrees with diag(phi'(a)) W "
                             f"for {', '.join(bad)}")
    a = sp.Symbol("a")
    result = Analysis(max_lag, hidden, seed, checks,
                      dphi_exprs={name: dphi(name)(a) for name in activations})
    W0 = random_W(hidden, seed)
    for r in radii:
        W = scale_to_radius(W0, r)
        for name in activations:
            result.curves.append(measure(name, W, radius_label(r), max_lag, seed))
    return result


# ------------------------------------------------------------------------------- outputs

def summary_text(result: Analysis) -> str:
    lines = [f"# {MARKER} (symrnn analyze); do not edit by hand",
             "Gradient flow through time: ||grad_h(k) L|| / ||grad_h(t) L|| for a loss at step t,",
             "back-propagated through dh(t)/dh(k) = prod_{j=k+1..t} diag(phi'(a(j))) W.",
             f"hidden={result.hidden}, lags 0..{result.max_lag}, seed={result.seed}, "
             f"{DEFAULTS['sequences']} random sequences; W ~ N(0, 1/n) scaled to each radius.",
             "Symbolic check (sympy.diff of the unrolled graph == diag(phi'(a(j))) W, "
             "one and two steps): "
             + ", ".join(f"{c.activation} {'ok' if c.ok else 'FAILED'}" for c in result.checks),
             "",
             "per-step factor = exp(slope of ln norm vs lag); <1 vanishes, >1 explodes.",
             f"{'W':>8} {'rho':>6} {'activation':>10} {'factor':>8} {'norm@lag' + str(result.max_lag):>12} "
             f"{'mean phi':>9} {'mean h':>8} {'max|h|':>9}  notes"]
    for c in result.curves:
        notes = []
        if c.saturated is not None:
            notes.append(f"saturated (phi'<{SATURATION:g}) {c.saturated:.1%}")
        if c.inactive is not None:
            notes.append(f"inactive {c.inactive:.1%}, dead {c.dead:.1%}")
        if c.zeroed:
            notes.append(f"gradient exactly 0 in {c.zeroed} of {DEFAULTS['sequences']} sequences")
        lines.append(f"{c.label:>8} {c.radius:6.3f} {c.activation:>10} {c.factor:8.4f} "
                     f"{math.exp(c.log_norms[-1]):12.3e} {c.mean_dphi:9.3f} {c.mean_h:8.3g} "
                     f"{c.max_abs_h:9.3g}  {'; '.join(notes)}")
    return "\n".join(lines) + "\n"


def _decade_ticks(lo: float, hi: float, most: int = 7) -> tuple[list[float], list[float]]:
    """Labelled ticks at 10^(step k) (always 10^0; at most ``most`` labels) and a minor tick
    at every decade between ``lo`` and ``hi`` (decades), or every step/5 decades when the
    range is wider than 40."""
    lo, hi = math.floor(min(lo, 0)), math.ceil(max(hi, 0))
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if (hi - lo) / s <= most)
    major = [10.0 ** e for e in range(lo - lo % step, hi + 1, step) if lo <= e <= hi]
    every = 1 if hi - lo <= 40 else max(1, step // 5)  # a comb of 100 ticks reads as a bar
    minor = [10.0 ** e for e in range(lo, hi + 1) if e % every == 0]
    return major, minor


#: The figure's words in each language (the panels' titles, axes and legend).
LABELS = {
    "en": {"as_drawn": " (W as drawn)", "lag": "lag t − k", "activation": "activation",
           "one": "1 (no change)"},
    "zh": {"as_drawn": "（W 为原始抽样）", "lag": "时间差 t − k", "activation": "激活函数",
           "one": "1（不变）"},
}
#: Fonts with Chinese glyphs, in order of preference (Debian: fonts-wqy-microhei, 5 MB).
CJK_FONTS = ("wqy-microhei", "wqy-zenhei", "NotoSansCJK", "NotoSerifCJK", "uming", "ukai")


def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs (added to matplotlib's font
    list), or None."""
    from matplotlib import font_manager as fm
    files = fm.findSystemFonts()
    for want in CJK_FONTS:
        for path in sorted(files):
            if want.lower() in Path(path).name.lower():
                fm.fontManager.addfont(path)
                return fm.FontProperties(fname=path).get_name()
    return None


def plot(result: Analysis, lang: str = "en"):
    """The figure, for a page: one panel per spectral radius in a grid of three columns, in
    increasing radius, one line per activation, log scale with a tick at every decade (labels
    include 10^0, where every curve starts), a dashed line at 1, and one legend for all panels;
    its words in ``lang`` (Chinese needs a CJK font, ``cjk_font``; English without one)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, LogFormatterMathtext, NullFormatter

    if lang not in LABELS:
        raise ValueError(f"lang must be one of {', '.join(LABELS)}, got {lang!r}")
    font = cjk_font() if lang == "zh" else None
    words = LABELS[lang if font or lang == "en" else "en"]
    if font:
        plt.rcParams["font.family"] = ["DejaVu Sans", font]

    labels = result.labels
    cols = 3
    rows = max(1, math.ceil((len(labels) + 1) / cols))  # one cell for the legend
    fig, axes = plt.subplots(rows, cols, figsize=(7.0, 2.35 * rows + 0.2), sharey=True,
                             sharex=True, squeeze=False)
    lags = np.arange(result.max_lag + 1)
    styles = {"tanh": "-", "sigmoid": "--", "relu": "-.", "identity": ":"}
    logs = [c.log_norms[np.isfinite(c.log_norms)] / math.log(10) for c in result.curves]
    lo = min((float(l.min()) for l in logs if l.size), default=-1.0)
    hi = max((float(l.max()) for l in logs if l.size), default=1.0)
    major, minor = _decade_ticks(lo, hi)
    handles = {}
    flat = [ax for row in axes for ax in row]
    for ax, label in zip(flat, labels):
        rho = None
        for c in (c for c in result.curves if c.label == label):
            rho = c.radius
            y = np.exp(c.log_norms)
            (line,) = ax.plot(lags, np.where(y > 0, y, np.nan), styles.get(c.activation, "-"),
                              lw=1.2, label=c.activation)
            handles.setdefault(c.activation, line)
        ax.axhline(1.0, color="0.35", lw=0.8, ls=(0, (4, 3)), zorder=0)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(FixedLocator(major))
        ax.yaxis.set_minor_locator(FixedLocator(minor))
        ax.yaxis.set_major_formatter(LogFormatterMathtext())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(10.0 ** math.floor(min(lo, 0)), 10.0 ** math.ceil(max(hi, 0)))
        ax.set_title(f"ρ = {rho:.2f}" + (words["as_drawn"] if label == "random" else ""),
                     fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, which="major", alpha=0.3)
    for ax in flat[len(labels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(words["lag"], fontsize=9)
        ax.xaxis.set_tick_params(labelbottom=True)
    for row in axes:
        row[0].set_ylabel("‖∇h(k) L‖ / ‖∇h(t) L‖", fontsize=9)
    legend_ax = flat[len(labels)] if len(flat) > len(labels) else None
    entries = list(handles.values()) + [plt.Line2D([], [], color="0.35", lw=0.8,
                                                   ls=(0, (4, 3)))]
    names = list(handles) + [words["one"]]
    if legend_ax is not None:
        legend_ax.legend(entries, names, loc="center", fontsize=9, frameon=False,
                         title=words["activation"], title_fontsize=9)
    else:
        fig.legend(entries, names, loc="lower center", ncol=len(names), fontsize=9)
    fig.tight_layout()
    return fig


#: Settings under which the figure is drawn (deterministic SVG ids, paths as drawn).
_RC = {"svg.hashsalt": "symrnn", "svg.fonttype": "path", "path.simplify": True}


def _png(fig) -> bytes:
    """The PNG of ``fig``, with the marker in its metadata (``symrnn.io.is_generated``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": MARKER})
    return buf.getvalue()


def figure_png(result: Analysis, lang: str = "en") -> bytes:
    """The PNG of the plot alone (the same bytes as ``figure_bytes(result)["png"]``), its
    words in ``lang``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(_RC):
        fig = plot(result, lang)
        try:
            return _png(fig)
        finally:
            plt.close(fig)


def figure_bytes(result: Analysis) -> dict[str, bytes]:
    """PNG and SVG of the plot, byte-for-byte deterministic (no dates, versions or random ids)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    with matplotlib.rc_context(_RC):
        fig = plot(result)
        try:
            out["png"] = _png(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": MARKER,
                                                     "Format": None, "Type": None})
            svg = buf.getvalue().decode("utf-8")
        finally:
            plt.close(fig)
    head, sep, rest = svg.partition("\n")  # the marker right after the XML declaration
    out["svg"] = (head + sep + f"<!-- {MARKER}; do not edit by hand -->\n" + rest).encode()
    return out


def write_outputs(result: Analysis, out: Path, section_tex: str, force: bool = False
                  ) -> list[Path]:
    """The plot (PNG, SVG), the rates and the summary, and ``section_tex`` (the document's
    section on gradient flow, rendered by ``symrnn.document``) as analysis.tex."""
    out = Path(out)
    for name in FILES:  # refuse before writing anything, so a refusal leaves no partial set
        check_writable(out / name, force)
    figs = figure_bytes(result)
    data = {"gradient_flow.png": figs["png"], "gradient_flow.svg": figs["svg"],
            "summary.txt": summary_text(result),
            "rates.json": json.dumps(result.as_dict(), indent=1) + "\n",
            "analysis.tex": section_tex}
    return [write_atomic(out / name, data[name], force) for name in FILES]


def step_gradient_norms(results, seed: int = 0) -> dict[str, list[float]]:
    """||grad_q(t) L|| for each state q the chain rule follows and each step t = 1..tau, at a
    random point (``symbol`` initial values, the derivation's labels): the derivation of
    ``results`` (its adjoints) evaluated in floating point, node by node in graph order."""
    from .backends.numpy.checks import initial_names, random_point
    from .core.chains import followed
    from .functions import LOSSES
    g, d = results.graph, results.derivation
    P, xs, init, _y, ys = random_point(g, np.random.default_rng(seed))
    vals: dict = {}
    for name, entries in g.params.items():
        vals.update(zip(entries, np.ravel(P[name])))
    for name, step, arg in initial_names(g):
        vals.update(zip(g.value(name, step), init[arg]))
    for x in g.model.inputs:
        for t in range(1, g.tau + 1):
            vals.update(zip(g.value(x.name, t), xs[t - 1]))
    if ys is not None and LOSSES[g.spec.loss].target != "class":
        for t in range(1, g.tau + 1):
            vals.update(zip(g.value(g.model.target.name, t), ys[t - 1]))
    vals = {k: sp.Float(v) for k, v in vals.items()}
    defs = {**g.defs, **d.defs}
    for s in [*g.order, *d.order]:
        vals[s] = sp.Float(defs[s].xreplace(vals).evalf())
    keep = followed(g.model) - {"L", g.model.output.name}
    out = {}
    for q in g.model.quantities:
        if q.name not in keep:
            continue
        norms = []
        for t in range(1, g.tau + 1):
            if not g.has(q.name, t):
                continue
            adj = [vals.get(d.adj.get(s), sp.Float(0)) if d.adj.get(s) is not None else 0.0
                   for s in g.value(q.name, t)]
            norms.append(float(math.sqrt(sum(float(a) ** 2 for a in adj))))
        out[q.name] = norms
    return out
