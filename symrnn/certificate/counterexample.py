"""Exact counterexamples: a rational point at which two sides provably differ.

The point gives every parameter, input, initial value and target a small rational value,
none of them 0 (``symrnn.core.zero.rational_point``); several points are tried, each from its
own seed. Every node and gradient of the unrolled graph is then evaluated at the point in
ball arithmetic (python-flint's ``arb``, 256 bits): each value is a ball that certainly holds
the exact value. The two sides differ when the ball of their difference excludes 0; that is
a proof. Where no function other than +, -, *, / and integer powers occurs, every ball has
radius 0 and the values are exact rationals ("exact"); otherwise the proof is by the
enclosure ("interval"). The point is written out exactly, so anyone can evaluate again.
"""

from __future__ import annotations

import sympy as sp
from flint import arb, ctx, fmpq

from fractions import Fraction

from ..core.zero import PROBE_FUNCTION, rational_point

PRECISION = 256
SEEDS = tuple(range(1, 9))


class Undecided(Exception):
    """A branch condition (relu's a > 0) whose ball contains 0: try another point."""


def _arb(expr, values: dict) -> arb:
    if expr in values:
        return values[expr]
    if expr.is_Integer or expr.is_Rational:
        return arb(fmpq(int(expr.p), int(expr.q)))
    if expr is sp.E:
        return arb(1).exp()
    if expr.is_Add:
        out = arb(0)
        for a in expr.args:
            out += _arb(a, values)
        return out
    if expr.is_Mul:
        out = arb(1)
        for a in expr.args:
            out *= _arb(a, values)
        return out
    if expr.is_Pow:
        base, e = _arb(expr.base, values), expr.exp
        if e.is_Integer:
            n = int(e)
            return base ** n if n >= 0 else 1 / (base ** -n)
        return base ** _arb(e, values)
    if isinstance(expr, sp.exp):
        return _arb(expr.args[0], values).exp()
    if isinstance(expr, sp.log):
        return _arb(expr.args[0], values).log()
    if isinstance(expr, sp.tanh):
        return _arb(expr.args[0], values).tanh()
    if isinstance(expr, sp.sin):
        return _arb(expr.args[0], values).sin()
    if isinstance(expr, sp.cos):
        return _arb(expr.args[0], values).cos()
    if isinstance(expr, sp.Piecewise):
        for value, cond in expr.args:
            if cond == sp.true or _condition(cond, values):
                return _arb(value, values)
        return arb(0)
    raise NotImplementedError(f"no ball arithmetic for {type(expr).__name__}")


def _condition(cond, values) -> bool:
    if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan,
                         sp.LessThan)):
        d = _arb(cond.lhs - cond.rhs, values)
        if d > 0:
            return isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan))
        if d < 0:
            return isinstance(cond, (sp.StrictLessThan, sp.LessThan))
        raise Undecided(f"{cond} is undecided at the point")
    raise NotImplementedError(f"condition {cond}")


def _concrete(expr):
    """Undefined functions (the generic phi) as ``PROBE_FUNCTION`` before evaluation."""
    funcs = {f.func for f in expr.atoms(sp.core.function.AppliedUndef)}
    if not funcs:
        return expr
    z = sp.Dummy("z")
    return expr.subs({f: sp.Lambda(z, PROBE_FUNCTION(z)) for f in funcs}).doit()


def _fraction(expr, values: dict) -> Fraction:
    """Exact rational evaluation (+, -, *, / and integer powers only)."""
    if expr in values:
        return values[expr]
    if expr.is_Integer or expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if expr.is_Add:
        return sum((_fraction(a, values) for a in expr.args), Fraction(0))
    if expr.is_Mul:
        out = Fraction(1)
        for a in expr.args:
            out *= _fraction(a, values)
        return out
    if expr.is_Pow and expr.exp.is_Integer:
        return _fraction(expr.base, values) ** int(expr.exp)
    raise NotImplementedError(f"not rational: {type(expr).__name__}")


def _rational_only(exprs) -> bool:
    return all(not e.atoms(sp.Function, sp.Piecewise) and
               all(p.exp.is_Integer for p in e.atoms(sp.Pow)) for e in exprs)


def _text(b) -> str:
    if isinstance(b, Fraction):
        return str(b.numerator) if b.denominator == 1 else f"{b.numerator}/{b.denominator}"
    return b.str(30, radius=True)


def search(graph, derivation, truth: sp.Matrix, formula: sp.Matrix, label: str,
           seeds=SEEDS) -> dict | None:
    """A point where some entry of ``truth`` and ``formula`` (expressions in the graph's
    leaves, nodes and gradient symbols) provably differ, or None."""
    old = ctx.prec
    ctx.prec = PRECISION
    try:
        return _search(graph, derivation, truth, formula, label, seeds)
    finally:
        ctx.prec = old


def _search(graph, derivation, truth, formula, label, seeds):
    target = graph.model.target.name
    free = [s for key in sorted(graph.values, key=lambda k: (k[1], k[0]))
            for s in graph.values[key] if isinstance(s, sp.Symbol) and s not in graph.defs]
    leaves = list(dict.fromkeys([*graph.leaves, *[s for s in free
                                                 if graph.where[s].name != target]]))
    targets = [s for s in free if graph.where[s].name == target and s not in leaves]
    defs = [(s, _concrete(graph.defs[s])) for s in graph.order] + \
        [(s, _concrete(derivation.defs[s])) for s in derivation.order]
    pairs = [(i, _concrete(sp.sympify(truth[i])), _concrete(sp.sympify(formula[i])))
             for i in range(len(truth))]
    exact = _rational_only([d for _s, d in defs] + [e for _i, t, f in pairs for e in (t, f)])
    for seed in seeds:
        point = rational_point(leaves, seed, -8, 8, 8)
        point.update({s: abs(v) for s, v in rational_point(targets, seed, -7, 7, 8).items()})
        # a symbol of the loss that is no node (B, the sequences of a batch, in the mean's
        # 1/(tau B)): a whole number, part of the point
        known = set(point) | set(graph.defs) | set(derivation.defs)
        for extra in sorted({v for _s, d in defs for v in d.free_symbols} |
                            {v for _i, t, f in pairs for v in (t.free_symbols | f.free_symbols)},
                            key=lambda v: v.name):
            if extra not in known and extra.is_integer and extra.is_positive:
                point[extra] = sp.Integer(2)
        if exact:
            values = {s: Fraction(int(v.p), int(v.q)) for s, v in point.items()}
            evaluate = _fraction
        else:
            values = {s: arb(fmpq(int(v.p), int(v.q))) for s, v in point.items()}
            evaluate = _arb
        try:
            for s, d in defs:
                values[s] = evaluate(d, values)
            for i, t, f in pairs:
                lhs, rhs = evaluate(f, values), evaluate(t, values)
                diff = lhs - rhs
                if (diff == 0) if exact else diff.contains(0):
                    continue
                return {
                    "claim": label,
                    "entry": [int(x) for x in divmod(i, truth.shape[1])],
                    "point": {s.name: str(v) for s, v in point.items()},
                    "seed": seed,
                    "lhs": _text(lhs), "rhs": _text(rhs), "difference": _text(diff),
                    "verified": "exact" if exact else "interval",
                }
        except (Undecided, ZeroDivisionError, ValueError):
            continue
    return None
