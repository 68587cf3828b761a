"""The instance cross-check: a claim at the chosen tau and sizes, entry by entry, against the
element-level derivation (every partial from ``sympy.diff``).

Symbols in a claim stand for the true values of the nodes they name (grad_h(t+1) L is the
derived gradient of h(t+1)); the check substitutes one level of definitions (h = phi(a),
y^ = out(o), gradients not taken as given) and asks SymPy whether the difference vanishes
(``ZeroTest``). When it does not, ``counterexample.search`` looks for a rational point where
the two sides provably differ.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from ..core.derive import Derivation
from ..core.equations import explicit_at
from ..core.graph import Graph
from ..core.zero import ZeroTest
from ..functions import ACTIVATIONS, LOSSES
from ..naming import At, Grad
from . import counterexample
from .claims import Claim, GClaim, contract, mul
from .claims import Contraction, LossGradient


class Instance:
    """What instance checks see: the graph, the derivation, Jacobians by ``sympy.diff``."""

    def __init__(self, graph: Graph, derivation: Derivation, zero: ZeroTest | None = None):
        self.spec = graph.spec
        self.g = graph
        self.d = derivation
        self.act = ACTIVATIONS[self.spec.activation]
        self.loss = LOSSES[self.spec.loss]
        self.fwd = graph.forward_subs()
        self.zero = zero or ZeroTest(graph.canonical)
        self.cache: dict = {}

    @staticmethod
    def empty(label: str) -> Claim:
        """The claim ``label`` has no step at this instance: nothing to check there."""
        return Claim(sp.Matrix(), sp.Matrix(), label, empty=True)

    # nodes and gradients
    def node(self, name: str, t: int) -> sp.Matrix:
        return self.g.value(name, t)

    def grad(self, name: str, t: int) -> sp.Matrix:
        return self.d.node_grad(name, t)

    def P(self, name: str) -> sp.Matrix:
        return self.g.params[name]

    # Jacobians by sympy.diff of local definitions (numerator layout: out x in)
    def jacobian(self, out_name: str, t_out: int, in_name: str, t_in: int) -> sp.Matrix:
        """d out(t_out) / d in(t_in): the chain rule over every path between them in the graph
        (forward accumulation over the nodes of steps t_in..t_out)."""
        key = ("jacobian", out_name, t_out, in_name, t_in)
        if key not in self.cache:
            self.cache[key] = self._accumulate(self.node(out_name, t_out),
                                               list(self.node(in_name, t_in)), t_in, t_out)
        return self.cache[key]

    def _accumulate(self, out: sp.Matrix, inputs: list, lo: int, hi: int) -> sp.Matrix:
        g = self.g
        n = len(inputs)
        tangent: dict = {s: [sp.Integer(int(i == j)) for j in range(n)]
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
        full = ("claim",) + key
        if full not in self.cache:
            self.cache[full] = build()
        return self.cache[full]

    # definitions written out within a step
    def unfold(self, expr, steps: set) -> sp.Expr:
        """Node symbols of ``steps`` replaced by their definitions until none is left."""
        g = self.g
        expr = sp.sympify(expr)
        for _ in range(16):
            rep = {s: g.defs[s] for s in expr.free_symbols
                   if s in g.defs and g.where[s].step in steps}
            if not rep:
                return expr
            expr = expr.xreplace(rep)
        return expr

    # matrix-level claims, at the instance
    def explicit(self, expr, step: int | None) -> sp.Matrix:
        """A matrix-level formula at a step of this instance (sums over steps written out,
        contractions computed)."""
        from ..core.equations import instance as sized
        from ..naming import T, StepSum, _expand_sum
        expr = sized(expr if step is None else expr.xreplace({T: step}), self.spec)
        expr = expr.replace(lambda e: isinstance(e, StepSum), _expand_sum)
        rep = {}
        for c in expr.atoms(LossGradient):  # the derivation's own dL(s)/do(s)
            k = int(c.output.step)
            rep[c] = sp.ImmutableMatrix(self.jacobian("L", k, c.output.name, k).T)
        if rep:
            expr = expr.xreplace(rep)
            rep = {}
        for c in expr.atoms(Contraction):
            row = self.explicit(c.row, None)
            J = self.param_jacobian(c.node.name, int(c.node.step), c.param.name)
            rep[c] = sp.ImmutableMatrix(contract(row, J))
        if rep:
            expr = expr.xreplace(rep)
        return explicit_at(expr, self.d, None)

    def claims(self, gc: GClaim) -> list[Claim]:
        """The instance claims of a general claim, one per step of its range."""
        if gc.instance is not None:
            return gc.instance(self)
        tau = self.spec.tau
        steps = [None] if gc.within is None else gc.within.points(tau)
        out = []
        for s in steps:
            formula = self.explicit(gc.formula, s)
            label = gc.label if s is None else f"{gc.label} at t = {s}"
            if isinstance(gc.about, (Grad,)):
                truth = self.explicit(gc.about, s)
                given = frozenset(v for v in formula.free_symbols if v in self.d.defs)
                out.append(Claim(truth, formula, label, given, step=s))
            else:  # a definition: both sides written out within the step
                truth = self.explicit(gc.about, s)
                where = {s, None} if s is not None else {None, *range(0, tau + 2)}
                truth = truth.applyfunc(lambda e: self.unfold(e, where))
                formula = formula.applyfunc(lambda e: self.unfold(e, where))
                out.append(Claim(truth, formula, label, frozenset(), step=s))
        return out

    # deciding a claim
    def difference(self, claim: Claim, i: int) -> sp.Expr:
        return self.d.reduce(claim.formula[i] - claim.truth[i], set(claim.given), self.fwd)

    def holds(self, claim: Claim) -> bool:
        if claim.truth.shape != claim.formula.shape:
            return False
        if claim.key is not None and ("holds",) + claim.key in self.cache:
            return self.cache[("holds",) + claim.key]
        result = all(self.zero(self.difference(claim, i)) for i in range(len(claim.truth)))
        if claim.key is not None:
            self.cache[("holds",) + claim.key] = result
        return result

    def counterexample(self, claim: Claim) -> dict | None:
        return counterexample.search(self.g, self.d, claim.truth, claim.formula, claim.label)


__all__ = ["Instance", "mul", "At"]
