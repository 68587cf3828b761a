"""The step schedule, for any backend: which values are computed for all steps at once,
which in a time loop (in which direction), and what each loop can hoist out.

Both passes are the same problem. The forward pass computes quantities (``At``) from the
model's equations; the backward pass computes gradients (``Grad``) from the matrix
equations. Each is a list of ``Piece``s: a target, the steps lo..hi it is computed for, and
its expression at the generic step t. A target that reads another target at another step
(h(t) reads h(t-1); grad_h(t) reads grad_a(t+1)) is recurrent: the strongly connected
components of the "reads" relation are time loops (ascending when they read earlier steps,
descending when they read later ones); everything else is computed for all its steps at
once, after what it reads. Inside a loop, the terms of a sum that read nothing of the loop
(b + U x(t), V^T grad_o(t)) are hoisted and computed for all steps before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..naming import TAU, T, At, Grad

from ..functions import Apply


@dataclass(frozen=True)
class Piece:
    """``target(t) = expr`` for lo <= t <= hi (``expr`` written at the generic step t)."""

    target: object  # a hashable key: the quantity's name for both passes
    lo: sp.Expr
    hi: sp.Expr
    expr: sp.MatrixExpr
    note: object = None  # what the piece implements (an Equation or a MatrixEquation)


def key(e) -> tuple:
    """Order of step bounds for large tau: by the coefficient of tau, then the constant."""
    e = sp.expand(sp.sympify(e))
    return (e.coeff(TAU), e.subs(TAU, 0))


@dataclass
class Hoist:
    """The terms of ``target``'s pieces that read nothing of their loop, for lo..hi."""

    target: object
    lo: sp.Expr
    hi: sp.Expr
    expr: sp.MatrixExpr
    inside: bool = False  # the piece is f(...): the hoisted sum goes inside f


@dataclass
class Segment:
    """Steps lo..hi of a loop, and the piece of each target that covers them (body order),
    with the expression left for the loop (hoisted terms already in the target)."""

    lo: sp.Expr
    hi: sp.Expr
    body: list[tuple[Piece, sp.MatrixExpr, bool]]  # (piece, loop expr, holds hoisted terms)


@dataclass
class Block:
    """Stacked pieces (``direction`` 0), or a time loop (+1 ascending, -1 descending)."""

    direction: int
    pieces: list[Piece]
    hoists: list[Hoist] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def targets(self) -> list:
        return list(dict.fromkeys(p.target for p in self.pieces))


def _reads(expr, own: set, grad: bool) -> list[tuple[object, sp.Expr]]:
    """(target, offset) for every target in ``own`` that ``expr`` reads."""
    out = []
    if grad:
        for g in expr.atoms(Grad):
            if isinstance(g.of, At) and g.of.name in own:
                out.append((g.of.name, sp.expand(g.of.step - T)))
    else:
        for m in expr.atoms(At):
            if m.name in own:
                out.append((m.name, sp.expand(m.step - T)))
    return out


def _sccs(nodes: list, edges: dict) -> list[list]:
    """Strongly connected components (Tarjan), in an order where every component comes after
    the components it reads; ties keep the order of ``nodes``."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp, key=nodes.index))
    for v in nodes:
        if v not in index:
            visit(v)
    return comps  # Tarjan emits a component after everything it reaches (what it reads)


def _terms(expr) -> list:
    return list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]


def _has_gemm(terms) -> bool:
    """A term that is a matrix product with a vector operand (worth one stacked GEMM)."""
    for t in terms:
        if isinstance(t, sp.MatMul):
            factors = t.as_coeff_matrices()[1]
            if len(factors) >= 2 and not isinstance(factors[0], sp.DiagMatrix):
                return True
    return False


def schedule(pieces: list[Piece], order: list, grad: bool, hoist_all=False) -> list[Block]:
    """Blocks that compute every piece after what it reads (see the module docstring).
    ``order`` lists the targets in their order within a step; ``grad`` says whether the
    pieces read each other through ``Grad`` (backward) or ``At`` (forward). ``hoist_all``:
    hoist every term that reads nothing of its loop (a bias alone too), not only sums with a
    matrix product (a framework pays per operation and step, NumPy per pass); a function of
    a term instead of True hoists only the terms it accepts."""
    own = set(order)
    edges: dict = {t: set() for t in order}
    offsets: dict = {}
    for p in pieces:
        for src, k in _reads(p.expr, own, grad):
            edges[p.target].add(src)
            offsets.setdefault((p.target, src), set()).add(k)
    blocks = []
    for comp in _sccs(order, edges):
        comp_set = set(comp)
        ks = {k for (a, b), kk in offsets.items() if a in comp_set and b in comp_set
              for k in kk if k != 0}
        mine = [p for p in pieces if p.target in comp_set]
        if not ks:
            blocks.append(Block(0, sorted(mine, key=lambda p: order.index(p.target))))
            continue
        if len({1 if k > 0 else -1 for k in ks}) > 1:
            raise NotImplementedError(f"{', '.join(map(str, comp))} read both earlier and later "
                                      f"steps of each other: no single time loop computes them")
        direction = -1 if next(iter(ks)) > 0 else 1  # reading t+1: run t downwards
        blocks.append(_loop(mine, comp, comp_set, direction, grad, hoist_all))
    return blocks


def _split(p: Piece, comp_set: set, grad: bool, hoist_all=False):
    """(hoisted terms, loop terms, inside f) of a piece."""
    expr, inside = p.expr, False
    if isinstance(expr, Apply):
        expr, inside = expr.arg, True
    hoisted, loop = [], []
    for t in _terms(expr):
        keep = _reads(t, comp_set, grad) or (callable(hoist_all) and not hoist_all(t))
        (loop if keep else hoisted).append(t)
    if not hoisted or (not hoist_all and not _has_gemm(hoisted)):
        return [], _terms(expr), inside
    return hoisted, loop, inside


def _loop(pieces: list[Piece], comp: list, comp_set: set, direction: int, grad: bool,
          hoist_all=False) -> Block:
    hoists: list[Hoist] = []
    loop_expr = {}
    for p in sorted(pieces, key=lambda q: (comp.index(q.target), key(q.lo))):
        hoisted, loop, inside = _split(p, comp_set, grad, hoist_all)
        if hoisted:
            h_expr = sp.MatAdd(*hoisted) if len(hoisted) > 1 else hoisted[0]
            last = hoists[-1] if hoists else None
            if last is not None and last.target == p.target and last.expr == h_expr \
                    and key(last.hi + 1) == key(p.lo):
                last.hi = p.hi
            else:
                hoists.append(Hoist(p.target, p.lo, p.hi, h_expr, inside))
        loop_expr[id(p)] = (loop, bool(hoisted), inside)
    # segments: every bound of every piece cuts the loop's range
    cuts = sorted({b for p in pieces for b in (p.lo, p.hi + 1)}, key=key)
    segments = []
    for a, b in zip(cuts, cuts[1:]):
        body = []
        for target in comp:
            covering = [p for p in pieces if p.target == target
                        and key(p.lo) <= key(a) and key(b - 1) <= key(p.hi)]
            if covering:
                p = covering[0]
                loop, held, inside = loop_expr[id(p)]
                body.append((p, (loop, inside), held))
        if body:
            segments.append(Segment(a, b - 1, body))
    if direction < 0:
        segments.reverse()
    return Block(direction, pieces, hoists, segments)
