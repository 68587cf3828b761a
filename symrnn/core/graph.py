"""Unrolling: a model's per-step equations as a computational graph over tau steps.

Element level: one SymPy symbol per step, quantity and entry (a(t)_i, h(t)_i, o(t)_i, y^(t)_i,
L(t)), each with its local definition in terms of earlier symbols, so the size of everything
is linear in tau. Each symbol's identity (quantity, step, entry) is kept in ``Graph.where``;
nothing reads it back from the symbol's name.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import sympy as sp

from ..functions import ACTIVATIONS, LOSSES
from ..models.base import DIMS, Model, Quantity, steps_of
from ..naming import TAU, T, At, explicit

LOSS_NODES = ("yhat", "L")


def _real(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


@dataclass(frozen=True)
class Where:
    """What an element symbol stands for: ``name`` (a quantity, a parameter, "yhat" or "L"),
    its step (None for a parameter or L), and its entry (row, column)."""

    name: str
    step: int | None
    entry: tuple[int, int]
    param: bool = False


@dataclass
class Graph:
    """The unrolled graph of one spec (element level).

    ``params`` maps each parameter name to its matrix of symbols; ``value(name, t)`` is the
    column of symbols (or constants: zero initial values, one-hot targets) of a quantity at a
    step; ``L_t[t]`` and ``L`` are scalar symbols. ``defs`` maps every node symbol to its local
    definition and ``order`` lists node symbols so that each comes after its inputs.
    """

    spec: object
    model: Model
    sizes: dict
    params: dict[str, sp.Matrix]
    values: dict[tuple[str, int], sp.Matrix]
    L_t: dict[int, sp.Symbol]
    L: sp.Symbol
    defs: dict[sp.Symbol, sp.Expr]
    order: list[sp.Symbol]
    where: dict[sp.Symbol, Where]
    initial: list[sp.Symbol] = field(default_factory=list)  # symbolic initial values

    @property
    def tau(self) -> int:
        return self.spec.tau

    @property
    def leaves(self) -> list[sp.Symbol]:
        """Symbols we differentiate with respect to: parameters, then symbolic initial values."""
        return [s for p in self.model.params for s in self.params[p.name]] + list(self.initial)

    def value(self, name: str, t: int) -> sp.Matrix:
        """The column of a quantity (or "yhat") at step t; L(t) as a 1x1 matrix."""
        if name == "L":
            return sp.Matrix([[self.L_t[t]]])
        return self.values[(name, t)]

    node = value

    def has(self, name: str, t: int) -> bool:
        return (name, t) in self.values or (name == "L" and t in self.L_t)

    def matrix_value(self, m):
        """The explicit matrix of a matrix-level name (a parameter or an ``At`` at a number)."""
        if isinstance(m, At):
            return self.values[(m.name, int(m.step))]
        return self.params[m.name]

    def forward_subs(self) -> dict[sp.Symbol, sp.Expr]:
        """Each node that is not a polynomial of its inputs (h = phi(a)), is a plain copy (h = a
        for the identity), or belongs to the loss (y^ = out(o), L(t)), written in the nodes of
        its own step that are polynomials (a(t), o(t)) and of earlier steps, so one
        ``xreplace`` puts an expression into that basis (linear in tau, never composed)."""
        one = {s: self.defs[s] for s in self.order if s != self.L and (
            self.where[s].name in LOSS_NODES or _substituted(self.defs[s]))}
        step = {s: self.where[s].step for s in one}
        out = {}
        for s, v in one.items():
            same = {r: one[r] for r in v.free_symbols if r in one and step[r] == step[s]}
            while same:
                v = v.xreplace(same)
                same = {r: one[r] for r in v.free_symbols if r in one and step[r] == step[s]}
            out[s] = v
        return out

    def canonical(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every step-indexed symbol renamed relative to the earliest step in it
        (h(7), h(8) -> h(T), h(T+1)): identities are invariant under renaming, so checks that
        repeat at every step are decided once per pattern."""
        syms = [(s, self.where.get(s)) for s in expr.free_symbols]
        steps = [w.step for _, w in syms if w is not None and w.step is not None]
        if not steps:
            return expr
        base = min(steps)
        return expr.xreplace({s: sp.Symbol(f"{w.name}(T+{w.step - base})[{w.entry}]",
                                           **s.assumptions0)
                              for s, w in syms if w is not None and w.step is not None})


def _substituted(d: sp.Expr) -> bool:
    """A definition that is a plain copy of one symbol, or not a polynomial of its symbols."""
    if d.is_Symbol:
        return True
    return bool(d.atoms(sp.Function, sp.Piecewise)) or any(
        not (p.exp.is_Integer and p.exp > 0) for p in d.atoms(sp.Pow))


def unroll(model: Model, spec) -> Graph:
    """Unroll ``model`` with the sizes, tau, activation, loss and h(0) of ``spec``."""
    loss = LOSSES[spec.loss]
    sizes = {d.symbol: getattr(spec, d.name) for d in DIMS}
    tau = spec.tau
    where: dict[sp.Symbol, Where] = {}
    params = {}
    for p in model.params:
        rows, cols = sizes[p.rows.symbol], 1 if p.cols is None else sizes[p.cols.symbol]

        def sym(i, j, p=p):
            s = _real(f"{p.name}[{i},{j}]" if p.cols is not None else f"{p.name}[{i}]")
            where[s] = Where(p.name, None, (i, j), param=True)
            return s
        params[p.name] = sp.Matrix(rows, cols, sym)

    values: dict[tuple[str, int], sp.Matrix] = {}
    defs: dict[sp.Symbol, sp.Expr] = {}
    order: list[sp.Symbol] = []
    initial: list[sp.Symbol] = []

    def column(name: str, t: int, n: int) -> sp.Matrix:
        def sym(i, _j):
            s = _real(f"{name}({t})[{i}]")
            where[s] = Where(name, t, (i, 0))
            return s
        return sp.Matrix(n, 1, sym)

    def size(q: Quantity) -> int:
        return sizes[q.size.symbol]

    def lookup(m):
        if not isinstance(m, At):
            return params[m.name]
        key = (m.name, int(m.step))
        if key not in values:  # an initial value (h(0), o(0), g(tau+1)), or an input
            q = model.quantity_of(m)
            if q.role == "target":  # y(0) read by teacher forcing: no target before step 1
                values[key] = sp.zeros(size(q), 1)
            elif q.role == "input" or spec.h0 == "symbol":
                values[key] = column(m.name, key[1], size(q))
                if q.role != "input":
                    initial.extend(values[key])
            else:
                values[key] = sp.zeros(size(q), 1)
        return values[key]

    equations = model.with_activation(spec.activation)
    target = model.target
    loss_lo, loss_hi = (e.subs(TAU, tau) for e in steps_of(model.loss_when))
    L_t: dict[int, sp.Symbol] = {}

    def start_step(t: int) -> None:
        """The inputs and the target of step t (its one-hot vector for a class label)."""
        if (target.name, t) in values:
            return
        for q in model.inputs:
            if (q.name, t) not in values:
                values[(q.name, t)] = column(q.name, t, size(q))
        if loss.target == "class":
            yl = spec.class_labels[t - 1]
            values[(target.name, t)] = sp.Matrix([int(i == yl) for i in range(size(target))])
        else:
            values[(target.name, t)] = column(target.name, t, size(target))

    def equation_at(t: int, eq) -> None:
        rhs = explicit(eq.rhs.xreplace({T: t, TAU: tau, **sizes}), lookup)
        col = column(eq.target.name, t, size(eq.target))
        values[(eq.target.name, t)] = col
        for s, v in zip(col, rhs):
            defs[s] = v
            order.append(s)

    def loss_at(t: int) -> None:
        o = values[(model.output.name, t)]
        yhat = column("yhat", t, len(o))
        values[("yhat", t)] = yhat
        for s, v in zip(yhat, loss.output(list(o))):
            defs[s] = v
            order.append(s)
        L_t[t] = _real(f"L({t})")
        where[L_t[t]] = Where("L", t, (0, 0))
        defs[L_t[t]] = loss.per_step(list(yhat), list(values[(target.name, t)]))
        order.append(L_t[t])

    for t, eq in _schedule(model, equations, tau, loss_lo, loss_hi):
        start_step(t)
        if eq is None:
            loss_at(t)
        else:
            equation_at(t, eq)
    for t in range(1, tau + 1):  # the inputs of steps where nothing is computed
        start_step(t)
    L = _real("L")
    where[L] = Where("L", None, (0, 0))
    defs[L] = sp.Add(*L_t.values())
    order.append(L)
    return Graph(spec, model, {d.name: getattr(spec, d.name) for d in DIMS}, params, values,
                 L_t, L, defs, order, where, initial)


def _schedule(model: Model, equations, tau: int, loss_lo, loss_hi) -> list[tuple[int, object]]:
    """(step, equation) in an order where every node comes after the nodes it reads, and
    (step, None) for the loss of a step after the output it reads.

    Step by step, each step's equations in the model's order, whenever that order is valid
    (every state read at an earlier step: h(t-1)). A state read at a later step (g(t+1), a
    backward-running recurrence) cannot follow it: then each next item is the earliest one,
    in that order, whose inputs are all computed (the smallest valid order)."""
    ranges = [tuple(int(e.subs(TAU, tau)) for e in steps_of(eq.when)) for eq in equations]
    # what each equation reads: (name, offset from t, or None and the step for tau + k)
    reads_of = []
    for eq in equations:
        reads = []
        for m in eq.rhs.atoms(At):
            k = sp.expand(m.step - T)
            fixed = k.has(T) or not k.is_Integer
            reads.append((m.name, None if fixed else int(k), m.step))
        reads_of.append(reads)
    items: list[tuple[int, object]] = []
    item_reads: list[list[tuple[str, int]]] = []
    producer: dict[tuple[str, int], int] = {}
    for t in range(1, tau + 1):
        for eq, (lo, hi), reads in zip(equations, ranges, reads_of):
            if lo <= t <= hi:
                producer[(eq.target.name, t)] = len(items)
                items.append((t, eq))
                item_reads.append([(name, t + k if k is not None
                                    else int(step.xreplace({T: t, TAU: tau})))
                                   for name, k, step in reads])
        if loss_lo <= t <= loss_hi:
            items.append((t, None))
            item_reads.append([(model.output.name, t)])
    after: list[list[int]] = [[] for _ in items]
    waits = [0] * len(items)
    for k, reads in enumerate(item_reads):
        for key in set(reads):
            j = producer.get(key)
            if j is not None:  # j == k: a node that reads itself, never ready
                after[j].append(k)
                waits[k] += 1
    ready = [k for k in range(len(items)) if waits[k] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        j = heapq.heappop(ready)
        out.append(items[j])
        for k in after[j]:
            waits[k] -= 1
            if waits[k] == 0:
                heapq.heappush(ready, k)
    if len(out) != len(items):  # follow what a stuck item waits for until it repeats
        stuck = {k for k in range(len(items)) if waits[k] > 0}
        k, path, at = min(stuck), [], {}
        while k not in at:
            at[k] = len(path)
            path.append(k)
            k = min(j for j in (producer.get(key) for key in item_reads[k]) if j in stuck)
        names = [f"{items[j][1].target.name}({items[j][0]})" for j in path[at[k]:] + [k]]
        raise ValueError(f"model {model.name}: the equations read each other in a circle "
                         f"({' <- '.join(names)}); no order computes them")
    return out


def compose(graph: Graph, expr: sp.Expr) -> sp.Expr:
    """``expr`` with every node symbol replaced by its definition, down to the leaves.

    The size of the result grows exponentially with tau: this is the naive route, kept as
    ground truth for small tau.
    """
    full: dict[sp.Symbol, sp.Expr] = {}
    for s in graph.order:
        full[s] = _point_derivatives(graph.defs[s]).xreplace(full)
    return _point_derivatives(sp.sympify(expr)).xreplace(full)


def _point_derivatives(expr: sp.Expr) -> sp.Expr:
    """phi'(a) as Subs(d phi(z)/dz, z, a), so that a can be replaced by an expression."""
    def point(d: sp.Derivative) -> sp.Expr:
        (var, n), = d.variable_count
        z = sp.Dummy("z", real=True)
        return sp.Subs(sp.Derivative(d.expr.xreplace({var: z}), (z, n)), z, var)

    # a Dummy variable is already bound by a Subs (sympy.diff of phi(expression) gives
    # Subs(d phi(xi)/dxi, xi, expression)); wrapping it again would nest the Subs
    return expr.replace(lambda e: isinstance(e, sp.Derivative) and len(e.variable_count) == 1
                        and e.variable_count[0][0].is_Symbol
                        and not isinstance(e.variable_count[0][0], sp.Dummy), point)
