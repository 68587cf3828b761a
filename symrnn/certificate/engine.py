"""The certificate engine: every formula of a catalogue, built as printed, checked against the
derivation. A verdict always comes out of a check that can say no:

* ``confirmed``: SymPy reduces (formula - derived) to zero, entry by entry (an exact identity);
* ``refuted``: it does not, and a concrete point shows the two values differ;
* ``ill-formed``: the formula does not type-check with column vectors (a ShapeError from the
  matrix product, or a rank-3 Jacobian inside a matrix product);
* ``not-applicable``: the formula needs a step the chosen tau does not have (L(3) for tau < 3).

Symbols in a formula stand for the true values of the nodes they name (grad_h(t+1) L is the
derived gradient of h(t+1)); checks substitute one level of definitions (h = phi(a),
y^ = out(o), gradients not taken as given) and ask SymPy whether the difference vanishes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import sympy as sp

from ..core.derive import Derivation, gc_paused
from ..core.graph import Graph
from ..core.zero import ZeroTest, evaluate, rational_point
from ..functions import ACTIVATIONS, LOSSES
from .claims import ASSUMPTIONS, Claim, Formula, IllFormed, mul

STATUSES = ("confirmed", "refuted", "ill-formed", "not-applicable", "unproven")
#: The seed of the counterexample point (``symrnn.core.zero.rational_point``).
POINT_SEED = 20261127


class Context:
    """What builders see: the graph, the derivation, Jacobians by ``sympy.diff``."""

    def __init__(self, graph: Graph, derivation: Derivation, zero: ZeroTest | None = None):
        self.spec = graph.spec
        self.g = graph
        self.d = derivation
        self.act = ACTIVATIONS[self.spec.activation]
        self.loss = LOSSES[self.spec.loss]
        self.fwd = graph.forward_subs()
        self.zero = zero or ZeroTest(graph.canonical)
        self._point: dict | None = None
        self.cache: dict = {}

    # nodes and gradients
    def node(self, name: str, t: int) -> sp.Matrix:
        return self.g.value(name, t)

    def grad(self, name: str, t: int) -> sp.Matrix:
        return self.d.node_grad(name, t)

    def P(self, name: str) -> sp.Matrix:
        return self.g.params[name]

    # Jacobians by sympy.diff of local definitions (numerator layout: out x in)
    def local_jacobian(self, out: sp.Matrix, inp: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(len(out), len(inp), lambda i, j: self.d.partial(out[i], inp[j]))

    def jacobian(self, out_name: str, t_out: int, in_name: str, t_in: int) -> sp.Matrix:
        """d out(t_out) / d in(t_in): the chain rule over every path between them in the graph
        (forward accumulation over the nodes of steps t_in..t_out)."""
        key = ("jacobian", out_name, t_out, in_name, t_in)
        if key not in self.cache:
            self.cache[key] = self._accumulate(self.node(out_name, t_out),
                                               list(self.node(in_name, t_in)), t_in, t_out)
        return self.cache[key]

    def _accumulate(self, out: sp.Matrix, inputs: list, lo: int, hi: int,
                    same_step_only: bool = False) -> sp.Matrix:
        g = self.g
        n = len(inputs)
        tangent: dict[sp.Symbol, list] = {s: [sp.Integer(int(i == j)) for j in range(n)]
                                          for i, s in enumerate(inputs)}
        targets = set(out)
        for s in g.order:
            w = g.where[s]
            if w.step is None or not lo <= w.step <= hi or s in tangent:
                continue
            row = [sp.Integer(0)] * n
            for v in g.defs[s].free_symbols:
                if v in tangent and any(x != 0 for x in tangent[v]):
                    p = self.d.partial(s, v)
                    row = [r + p * tv for r, tv in zip(row, tangent[v])]
            tangent[s] = row
            if targets <= tangent.keys():
                break
        return sp.Matrix(len(out), n, lambda i, j: tangent.get(out[i], [0] * n)[j])

    def param_jacobian(self, name: str, t: int, param: str) -> sp.NDimArray:
        """d name(t) / d P through the nodes of step t only (the quantities of other steps
        held fixed): a rank-3 array (entries x P's rows x P's columns)."""
        key = ("param_jacobian", name, t, param)
        if key not in self.cache:
            P = self.P(param)
            node = self.node(name, t)
            if not any(isinstance(s, sp.Symbol) and s in self.g.defs for s in node):
                arr = sp.MutableDenseNDimArray.zeros(len(node), *P.shape)
            else:
                J = self._accumulate(node, list(P), t, t)
                arr = sp.MutableDenseNDimArray(
                    [[[J[i, p * P.shape[1] + q] for q in range(P.shape[1])]
                      for p in range(P.shape[0])] for i in range(len(node))])
            self.cache[key] = arr
        return self.cache[key]

    def memo(self, key: tuple, build: Callable[[], Claim]) -> Claim:
        """A claim built once per context (shared by several entries)."""
        full = ("claim",) + key
        if full not in self.cache:
            self.cache[full] = build()
        return self.cache[full]

    # deciding a claim
    def difference(self, claim: Claim, i: int) -> sp.Expr:
        return self.d.reduce(claim.formula[i] - claim.truth[i], set(claim.given), self.fwd)

    def holds(self, claim: Claim) -> bool:
        if claim.truth.shape != claim.formula.shape:
            raise IllFormed(f"the formula is {claim.formula.shape[0]}x{claim.formula.shape[1]} "
                            f"but {claim.label} is {claim.truth.shape[0]}x{claim.truth.shape[1]}")
        if claim.key is not None and claim.key in self.cache:
            return self.cache[claim.key]
        result = all(self.zero(self.difference(claim, i)) for i in range(len(claim.truth)))
        if claim.key is not None:
            self.cache[claim.key] = result
        return result

    # counterexamples
    def point(self) -> dict:
        """A concrete rational point (parameters, inputs, initial values, targets) and every
        node's and gradient's value there, at 50 digits."""
        if self._point is None:
            g = self.g
            free = [s for key in sorted(g.values, key=lambda k: (k[1], k[0]))
                    for s in g.values[key] if isinstance(s, sp.Symbol) and s not in g.defs]
            target = g.model.target.name
            others = set(g.leaves) | {s for s in free if g.where[s].name != target}
            leaves = rational_point(others, POINT_SEED, -8, 8, 8)
            leaves.update({s: abs(v) for s, v in rational_point(  # targets inside (0, 1)
                [s for s in free if g.where[s].name == target], POINT_SEED, -7, 7, 8).items()})
            values = dict(leaves)

            def ev(expr):
                return evaluate(sp.sympify(expr), values, 50)

            for s in self.g.order:
                values[s] = ev(self.g.defs[s])
            for s in self.d.order:
                values[s] = ev(self.d.defs[s])
            self._point = {"leaves": leaves, "values": values, "ev": ev}
        return self._point

    def counterexample(self, claim: Claim) -> dict | None:
        p = self.point()
        for i in range(len(claim.truth)):
            truth, formula = p["ev"](claim.truth[i]), p["ev"](claim.formula[i])
            if abs(truth - formula) > sp.Float("1e-30", 50):
                syms = sorted((claim.truth[i] - claim.formula[i]).free_symbols |
                              set(claim.formula[i].free_symbols), key=lambda s: s.name)
                generic = self.act.symbolic_only
                return {
                    "claim": claim.label,
                    "entry": i,
                    "formula_value": f"{sp.N(formula, 15)}",
                    "true_value": f"{sp.N(truth, 15)}",
                    "point": f"rational parameters and inputs k/8, k in -8..8 and not 0 "
                             f"(symrnn.core.zero.rational_point, seed {POINT_SEED})"
                             + (", phi = sin" if generic else ""),
                    "at": {s.name: f"{sp.N(p['values'][s], 12)}" for s in syms[:8]
                           if s in p["values"]},
                }
        return None


# ------------------------------------------------------------------ verdicts

@dataclass
class Entry:
    """One formula's verdict. ``status`` is about the formula as printed; ``reading`` is the
    first reading that was confirmed when the printed form was not."""

    id: str
    part: str
    title: str
    printed: str
    text: str
    status: str
    reading: str | None
    reading_text: str | None
    reading_status: str | None
    reason: str | None
    method: str
    seconds: float
    counterexample: dict | None = None
    formula: Formula | None = field(default=None, repr=False, compare=False)

    @property
    def holds(self) -> bool:
        """Confirmed as printed, or through a confirmed reading (or not applicable)."""
        return self.status in ("confirmed", "not-applicable") or self.reading_status == "confirmed"


def _decide(ctx: Context, claims: list[Claim]) -> tuple[str, dict | None, int]:
    """'confirmed' if every claim is an identity; else 'refuted' with a counterexample
    ('unproven' when no point separates the two sides)."""
    n = 0
    for claim in claims:
        if not ctx.holds(claim):
            cex = ctx.counterexample(claim)
            return ("refuted" if cex else "unproven"), cex, n
        n += len(claim.truth)
    return "confirmed", None, n


def _method(f: Formula, status: str, n: int, ctx: Context) -> str:
    if status == "confirmed":
        if f.method == "induction":
            return (f"exact: induction over k ({n} identities: base, Jacobian step, term), "
                    f"every t <= {ctx.spec.tau}")
        against = "the unrolled graph" if f.method == "definition" else "derivation"
        return f"exact: SymPy reduces formula - {against} to 0 ({n} entries)"
    if status == "refuted":
        return "SymPy leaves a nonzero difference; a rational point separates the values"
    if status == "ill-formed":
        return "type check with column vectors"
    if status == "unproven":
        return "SymPy could not reduce the difference and no point separated the values"
    return f"needs tau >= {f.needs_tau}"


def _assumption_broken(f: Formula, ctx: Context) -> str | None:
    """The reason a refutation gives when the spec differs from what the formula assumes."""
    if f.assumes in ("tanh", "tanh-forward") and not ctx.act.note_form:
        return ASSUMPTIONS[f.assumes].format(activation=ctx.act.name)
    if f.assumes in ("softmax", "class") and not ctx.loss.note_form:
        return ASSUMPTIONS[f.assumes].format(loss=ctx.loss.name)
    return None


def run_formula(f: Formula, ctx: Context) -> Entry:
    start = time.perf_counter()
    reason = cex = None
    reading = reading_text = reading_status = None
    if ctx.spec.tau < f.needs_tau:
        status = "not-applicable"
        reason = f"the formula needs step {f.needs_tau}; tau = {ctx.spec.tau}"
        method = _method(f, status, 0, ctx)
    else:
        try:
            status, cex, n = _decide(ctx, f.build(ctx))
        except IllFormed as e:
            status, reason, n = "ill-formed", f"as printed, {e}", 0
        method = _method(f, status, n, ctx)
        if status != "confirmed":
            for r in f.readings:
                try:
                    rs, _rcex, rn = _decide(ctx, r.build(ctx))
                except IllFormed:  # a reading that does not type-check is not confirmed
                    rs, rn = "ill-formed", 0
                reading_status = rs
                if rs == "confirmed":
                    reading, reading_text = r.latex, r.text
                    method += "; reading " + _method(f, rs, rn, ctx)
                    break
            if status == "refuted":
                reason = _assumption_broken(f, ctx) or "the two sides differ at the point given"
    return Entry(f.id, f.part, f.title, f.printed, f.text, status, reading, reading_text,
                 reading_status, reason, method, round(time.perf_counter() - start, 3), cex, f)


@dataclass
class Certificate:
    """The verdict on every formula of a catalogue for one spec."""

    spec: object
    entries: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(e.holds for e in self.entries)

    def to_json(self) -> list[dict]:
        keys = ("id", "title", "part", "printed", "status", "reading", "reading_status", "reason",
                "method", "seconds", "counterexample")
        return [{k: getattr(e, k) for k in keys} for e in self.entries]

    def summary(self) -> str:
        if not self.entries:
            return "0 formulas: this model has no printed formulas to certify"
        counts = {s: sum(e.status == s for e in self.entries) for s in STATUSES}
        with_reading = sum(e.status != "confirmed" and e.reading_status == "confirmed"
                           for e in self.entries)
        parts = [f"{v} {k}" for k, v in counts.items() if v]
        return (f"{len(self.entries)} formulas: " + ", ".join(parts) +
                f"; {with_reading} with a confirmed reading")

    def _repr_latex_(self) -> str:
        from ..document.printer import certificate_repr_latex  # lazy: documents read this
        return certificate_repr_latex(self)


_WORK: tuple[Context, list[Formula]] | None = None  # what forked workers inherit


def _run_index(i: int) -> tuple[int, Entry]:
    ctx, formulas = _WORK
    entry = run_formula(formulas[i], ctx)
    entry.formula = None  # builders are closures: the parent puts the Formula back
    return i, entry


def certify_context(ctx: Context, catalogue: Iterable[Formula],
                    progress: Callable[[str], None] | None = None,
                    workers: int | None = None, heavy_first: tuple[str, ...] = ()
                    ) -> Certificate:
    """Check every formula of ``catalogue`` in ``ctx``.

    ``workers``: processes to spread the entries over (default: 2 when tau >= 32 and the
    machine has 2 cores, else 1). Entries are independent, so the result is the same.
    """
    global _WORK
    formulas = list(catalogue)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if ctx.spec.tau >= 32 else 1
    entries: dict[int, Entry] = {}
    with gc_paused():
        if workers > 1 and len(formulas) > 1 and "fork" in multiprocessing.get_all_start_methods():
            rank = {fid: k for k, fid in enumerate(heavy_first)}
            order = sorted(range(len(formulas)), key=lambda i: (rank.get(formulas[i].id, 99), i))
            _WORK = (ctx, formulas)
            try:
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    for i, entry in pool.imap_unordered(_run_index, order):
                        entries[i] = entry
                        if progress:
                            progress(entry.id)
            finally:
                _WORK = None
            for i, f in enumerate(formulas):  # the Formula objects do not cross processes
                entries[i].formula = f
        else:
            for i, f in enumerate(formulas):
                if progress:
                    progress(f.id)
                entries[i] = run_formula(f, ctx)
    return Certificate(ctx.spec, [entries[i] for i in range(len(formulas))])
