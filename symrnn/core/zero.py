"""Exact zero tests, and the one rational-point probe every check uses.

``is_zero`` says True only when SymPy proves an expression identically zero (expand, then
cancel, then simplify). A probe at a rational point can only say "not zero": a clearly
nonzero value there ends the search early; it never confirms anything.
"""

from __future__ import annotations

import random
from typing import Callable

import sympy as sp

#: Undefined functions (a generic phi) are evaluated as this concrete function in probes.
PROBE_FUNCTION = sp.sin


def rational_point(symbols, seed: int, low: int = -97, high: int = 97, den: int = 101,
                   nonzero: bool = True) -> dict[sp.Symbol, sp.Rational]:
    """A reproducible rational value per symbol (sorted by name), none of them 0 by default."""
    rng = random.Random(seed)
    out = {}
    for s in sorted(symbols, key=lambda v: v.name):
        k = 0
        while k == 0:
            k = rng.randint(low, high)
            if not nonzero:
                break
        out[s] = sp.Rational(k, den)
    return out


def evaluate(expr: sp.Expr, point: dict, digits: int = 30) -> sp.Expr:
    """``expr`` at ``point``, undefined functions taken as ``PROBE_FUNCTION``, to ``digits``."""
    e = sp.sympify(expr)
    funcs = {f.func for f in e.atoms(sp.core.function.AppliedUndef)}
    if funcs:  # before the point: phi'(a) must still be a derivative in a
        z = sp.Dummy("z")
        e = e.subs({f: sp.Lambda(z, PROBE_FUNCTION(z)) for f in funcs}).doit()
    return sp.N(e.xreplace(point), digits)


def visibly_nonzero(expr: sp.Expr, seeds=(1729,)) -> bool:
    """True if ``expr`` is clearly nonzero at one of the probe points."""
    syms = expr.free_symbols
    for seed in seeds:
        try:
            value = evaluate(expr, rational_point(syms, seed))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if value.is_number and abs(value) > 1e-15:
            return True
    return False


def prove_zero(expr: sp.Expr) -> bool:
    expr = sp.expand(expr)
    if expr == 0:
        return True
    if visibly_nonzero(expr):
        return False
    for step in (lambda e: sp.cancel(sp.together(e)), sp.simplify):
        expr = step(expr)
        if expr == 0:
            return True
    return False


class ZeroTest:
    """``is_zero`` with a cache keyed by ``canonical(expr)`` (the same identity at every step
    is decided once)."""

    def __init__(self, canonical: Callable[[sp.Expr], sp.Expr] = lambda e: e):
        self.canonical = canonical
        self.cache: dict[sp.Expr, bool] = {}

    def __call__(self, expr: sp.Expr) -> bool:
        key = self.canonical(sp.sympify(expr))
        if key not in self.cache:
            self.cache[key] = prove_zero(key)
        return self.cache[key]


def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy proves ``expr`` identically zero (no cache)."""
    return prove_zero(sp.sympify(expr))
