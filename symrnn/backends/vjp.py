"""The vector-Jacobian product of a model: what the framework backends (torch, JAX) compute.

A framework trains with any loss, so its module exposes the recurrence itself:

    out, final = apply(params, x, **initial)
    out:   the model's output o(t) at the loss's steps and every carried state q(t) at 1..tau
    final: each carried state at tau, keyed like the initial values ("h0": h(tau))

and its backward pass takes the gradients of ``out`` (any of them) and returns those of the
parameters and of the initial values. That backward pass is the run's checked BPTT: the matrix
equations of the derivation (each checked exactly against ``sympy.diff``), with two changes
that follow from reverse accumulation being linear in its seeds:

- grad_o(t) L receives the loss's y^(t) - y(t) from the loss entry; here that contribution is
  replaced by the caller's cotangent d_o(t) (``Cotangent``); every other reader of o(t)
  (the recurrence of ``output-recurrence``) contributes as before;
- a state q(t) exposed in ``out`` gets d_q(t) added to grad_q(t) L for t in 1..tau (a piece
  of an equation that covers steps outside 1..tau is split there).

Nothing else is derived here: the pieces below are the model's equations (forward) and the
checked matrix equations (backward) as data for the step schedule (``schedule.py``); each
backend prints them. The tests compare every backend with its framework's own autograd.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..functions import LOSSES
from ..models.base import Equation, Model, Param, Quantity, steps_of
from ..naming import TAU, T, At, Grad, StepSum
from .schedule import Piece, key


class Cotangent(At):
    """d_q(t): the gradient the caller gives for ``out[q]`` at step t (an input of the
    backward pass, not a quantity of the model)."""

    def _sympystr(self, printer):
        return f"d_{self.name}({printer._print(self.step)})"

    def _mathtext(self, printer):
        return f"d_{self.name}({sp.sstr(self.step).replace(' ', '')})"


@dataclass(frozen=True)
class Initial:
    """An initial value the model reads: h(0) ("start", argument ``h0``) or g(tau+1)
    ("end", argument ``g_end``)."""

    quantity: Quantity
    side: str
    arg: str

    @property
    def step(self) -> sp.Expr:
        return sp.Integer(0) if self.side == "start" else TAU + 1


@dataclass
class VJP:
    """Everything a backend prints for one model (see the module docstring)."""

    model: Model
    spec: object
    equations: tuple[Equation, ...]  # the model's, with the activation chosen
    forward: list[Piece]
    backward: list[Piece]
    param_grads: list[tuple[Param, list[StepSum]]]  # each gradient as sums over steps
    outputs: list[Quantity]  # the keys of ``out``: the output first, then the states
    out_steps: dict[str, tuple[sp.Expr, sp.Expr]]
    initial: list[Initial]
    q_steps: dict[str, tuple[sp.Expr, sp.Expr]]  # the steps each quantity's array holds
    g_steps: dict[str, tuple[sp.Expr, sp.Expr]]  # the steps each gradient's array holds
    target_steps: tuple[sp.Expr, sp.Expr] | None = None  # y(t) as vectors (teacher forcing)
    notes: list[str] = field(default_factory=list)

    @property
    def input(self) -> Quantity:
        return self.model.inputs[0]

    @property
    def forward_order(self) -> list[str]:
        return [eq.target.name for eq in self.equations]

    @property
    def backward_order(self) -> list[str]:
        return list(reversed(self.forward_order))

    @property
    def carried(self) -> list[Initial]:
        """The initial values at the start, whose state at tau is ``final``."""
        return [i for i in self.initial if i.side == "start"]


def _terms(expr) -> list:
    return list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]


def _sum(terms: list):
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def _within(lo, hi, a, b) -> bool:
    return key(a) <= key(lo) and key(hi) <= key(b)


def _split(p: Piece, bounds) -> list[Piece]:
    """``p`` cut at each bound c (a piece for steps < c and one for steps >= c)."""
    pieces = [p]
    for c in bounds:
        out = []
        for q in pieces:
            if key(q.lo) < key(c) <= key(q.hi):
                out += [Piece(q.target, q.lo, c - 1, q.expr, q.note),
                        Piece(q.target, c, q.hi, q.expr, q.note)]
            else:
                out.append(q)
        pieces = out
    return pieces


def build(model: Model, spec, equations: list) -> VJP:
    """The forward and backward pieces of ``model``'s vjp from its checked matrix
    ``equations`` (``pipeline.equations_for_code``: with the initial values' gradients)."""
    if len(model.inputs) != 1:
        raise NotImplementedError(f"model {model.name} has {len(model.inputs)} inputs "
                                  f"({', '.join(q.name for q in model.inputs)}); the framework "
                                  f"backends take one input sequence x")
    eqs = model.with_activation(spec.activation)
    initial = [Initial(q, side, f"{q.name}0" if side == "start" else f"{q.name}_end")
               for q, side in model.initial_values()]
    starts = {i.quantity.name for i in initial if i.side == "start"}
    ends = {i.quantity.name for i in initial if i.side == "end"}

    forward = []
    q_steps: dict[str, tuple] = {}
    for eq in eqs:
        lo, hi = steps_of(eq.when)
        forward.append(Piece(eq.target.name, lo, hi, eq.rhs, eq))
        q_steps[eq.target.name] = (lo - 1 if eq.target.name in starts else lo,
                                   hi + 1 if eq.target.name in ends else hi)
    for eq in eqs:  # a quantity read further back than its initial value has no value there
        for a in eq.rhs.atoms(At):
            if a.name in q_steps:
                k = sp.expand(a.step - T)
                lo, hi = steps_of(eq.when)
                qlo, qhi = q_steps[a.name]
                if key(lo + k) < key(qlo) or key(qhi) < key(hi + k):
                    raise NotImplementedError(
                        f"the equation of {eq.target.name} reads {a.name}({sp.sstr(a.step)}), "
                        f"outside the steps {sp.sstr(qlo)}..{sp.sstr(qhi)} that {a.name} and its "
                        f"initial value cover; read it at t-1 or t+1")

    states = [q for q in model.states if q is not model.output]
    outputs = [model.output, *states]
    llo, lhi = steps_of(model.loss_when)
    out_steps = {model.output.name: (llo, lhi)}
    for q in states:
        out_steps[q.name] = (sp.Integer(1), TAU)

    loss = LOSSES[spec.loss]
    yhat = At("yhat", model.output.size.symbol, 1, T)
    seed_terms = _terms(loss.grad_matrix(yhat, model.target.now))
    backward: list[Piece] = []
    param_grads: list[tuple[Param, list[StepSum]]] = []
    for e in equations:
        if e.is_param:
            sums = [s for s in _terms(e.generic)]
            for s in sums:
                if not isinstance(s, StepSum):
                    raise NotImplementedError(f"the gradient of {e.about.name} is not a sum over "
                                              f"steps: {sp.sstr(e.generic)}")
            param_grads.append((e.about, sums))
            continue
        name = e.about.name
        piece = Piece(name, e.steps.lo, e.steps.hi, e.generic, e)
        if name == model.output.name:
            terms = _terms(piece.expr)
            has = [t in terms for t in seed_terms]
            inside = _within(piece.lo, piece.hi, llo, lhi)
            if all(has) and inside:
                rest = [t for t in terms if t not in seed_terms]
                piece = Piece(name, piece.lo, piece.hi,
                              _sum(rest + [vjp_cotangent(model, name)]), e)
            elif any(has) or inside:
                raise NotImplementedError(f"grad_{name}: the loss's contribution "
                                          f"{sp.sstr(loss.grad_matrix(yhat, model.target.now))} "
                                          f"is not a term of {sp.sstr(piece.expr)} at steps "
                                          f"{sp.sstr(piece.lo)}..{sp.sstr(piece.hi)}")
            backward.append(piece)
            continue
        if name in out_steps:
            lo, hi = out_steps[name]
            for p in _split(piece, (lo, hi + 1)):
                if _within(p.lo, p.hi, lo, hi):
                    expr = p.expr
                    extra = vjp_cotangent(model, name)
                    expr = extra if isinstance(expr, sp.ZeroMatrix) else _sum(_terms(expr) + [extra])
                    p = Piece(name, p.lo, p.hi, expr, p.note)
                backward.append(p)
            continue
        backward.append(piece)
    g_steps: dict[str, tuple] = {}
    for p in backward:
        if p.target in g_steps:
            lo, hi = g_steps[p.target]
            g_steps[p.target] = (min(lo, p.lo, key=key), max(hi, p.hi, key=key))
        else:
            g_steps[p.target] = (p.lo, p.hi)
    target_steps = None
    if model.reads_target:
        offsets = [sp.expand(a.step - T) for eq in eqs for a in eq.rhs.atoms(At)
                   if a.name == model.target.name]
        target_steps = (1 + min(min(offsets), 0), TAU)
    return VJP(model, spec, eqs, forward, backward, param_grads, outputs, out_steps, initial,
               q_steps, g_steps, target_steps)


def vjp_cotangent(model: Model, name: str) -> Cotangent:
    q = model.quantity(name)
    return Cotangent(q.name, q.size.symbol, 1, T)


def reads_cotangent(expr) -> list[Cotangent]:
    return sorted((a for a in expr.atoms(At) if isinstance(a, Cotangent)),
                  key=sp.default_sort_key)


def grad_of(expr) -> list[Grad]:
    """The gradients of quantities ``expr`` reads."""
    return sorted((g for g in expr.atoms(Grad) if isinstance(g.of, At)), key=sp.default_sort_key)


__all__ = ["Cotangent", "Initial", "VJP", "build", "vjp_cotangent"]
