"""The general checks: identities for symbolic sizes and every step, in index form.

What holds for every tau and every size rests on three kinds of obligations, each an identity
proved in index form (``symrnn.certificate.indexform``) with the sizes left as symbols:

* the rules: for each equation N(t) = R of the model and each quantity or parameter Q that R
  reads, the contribution the matrix-level reverse rules give to grad_Q L equals
  sum_i dR_i/dQ_j (grad_N(t) L)_i, the partials taken by ``sympy.diff`` of R written entry by
  entry. With the one lemma taken as given (reverse accumulation over the unrolled graph gives
  the total derivative), the derived matrix equations then hold at every step of their
  ranges (t = tau, 1 <= t < tau, t = 0 are separate equations) and for every size;
* the Jacobians a formula writes (dh(t+1)/dh(t), do(t)/dh(t), the rank-3 dh(k)/dW) equal
  the ``sympy.diff`` of the model's equations through one step;
* each printed formula (or reading) equals the derived gradient, with the gradients it takes
  as given kept as symbols and the others replaced by their own equations.

A step is the symbol t (or k), so one identity covers every step; a recursion is closed by
induction over the step, each case (base, step) one such identity.
"""

from __future__ import annotations

import sympy as sp

from ..core.chains import jacobian
from ..models.base import DIMS, Model, steps_of
from ..naming import TAU, T, At, Grad, Steps, StepSum
from ..functions import Apply, Deriv
from ..core.equations import pullback
from .claims import Contraction, LossGradient
from .indexform import Context, Term, from_sympy, normal_form, scalar, to_index

Obligation = tuple[str, bool]  # (what was proved, proved)


def _key(e) -> tuple:
    e = sp.expand(sp.sympify(e))
    return (e.coeff(TAU), e.subs(TAU, 0))


def _contains(outer: Steps, lo, hi) -> bool:
    return _key(outer.lo) <= _key(lo) and _key(hi) <= _key(outer.hi)


class General:
    """Checks for every size and every step, for one model, activation and loss."""

    def __init__(self, model: Model, activation: str, loss, equations, sizes: dict | None = None,
                 scale=sp.Integer(1)):
        self.model = model
        #: L = scale * sum_t L(t): 1 for the sum (the note's L), 1/(tau B) for the mean
        self.scale = sp.sympify(scale)
        #: the checks of facts about one step's loss L(t) (the chain rule of the note's first
        #: part), which no reduction changes: this one for the sum, else one set by the caller
        self.per_step = self
        self.activation = activation
        self.loss = loss
        self.eqs = model.with_activation(activation)
        self.defining = {eq.target.name: eq for eq in self.eqs}
        self.equations = equations
        self.cache: dict = {}
        #: concrete sizes (the instance's), or None for symbols
        self.sizes = None if sizes is None else {d.symbol: sizes[d.name] for d in DIMS}
        self.jacobians_used: list = []
        self.contractions: list = []  # (node, param) of every contraction a formula wrote

    # ---------------------------------------------------------------- what builders use

    def _size(self, e):
        return e.xreplace(self.sizes) if self.sizes is not None else e

    def node(self, name: str, step) -> At:
        """A quantity (or y^, L) at a step, with this context's sizes."""
        if name == "yhat":
            rows = self.model.output.size.symbol
        elif name == "L":
            return At("L", 1, 1, step)
        else:
            rows = self.model.quantity(name).size.symbol
        return At(name, self._size(rows), 1, step)

    def grad(self, name: str, step) -> Grad:
        return Grad(self.node(name, step))

    def P(self, name: str) -> sp.MatrixSymbol:
        return self._size(self.model.param(name).symbol)

    def jac(self, out: At, wrt):
        """d out / d wrt (same step, by the forward rules; proved by ``jacobians_hold``)."""
        value = jacobian(self.model, self.activation, self._symbolic(out), self._symbolic(wrt))
        if value is None:
            value = sp.ZeroMatrix(out.rows, wrt.rows)
        self.jacobians_used.append((self._symbolic(out), self._symbolic(wrt), value))
        return self._size(value)

    def _symbolic(self, m):
        """The same object with symbolic sizes (the model's equations are symbolic)."""
        if self.sizes is None:
            return m
        if isinstance(m, At):
            return At(m.name, self._rows_symbol(m.name), 1, m.step)
        return self.model.param(m.name).symbol

    def _rows_symbol(self, name: str):
        if name == "yhat":
            return self.model.output.size.symbol
        return self.model.quantity(name).size.symbol

    def jacobians_hold(self) -> bool:
        """Every Jacobian a formula wrote equals the derivative of the model's equations."""
        for out, wrt, value in self.jacobians_used:
            key = ("jacobian", out, wrt)
            if key not in self.cache:
                self.cache[key] = self.jacobian_holds(out, wrt, value)
            if not self.cache[key]:
                return False
        return True

    def rank3(self, node: At, param) -> "Rank3":
        from .claims import Rank3
        return Rank3(node, param)

    def contract(self, row, node: At, param) -> "Contraction":
        self.contractions.append((self._symbolic(node), self._symbolic(param)
                                  if isinstance(param, sp.MatrixSymbol) else param))
        return Contraction(row, node, param)

    def direct(self, name: str, param) -> sp.MatrixExpr | None:
        """d name_i(t) / d P, the direct dependence, in matrix form: the summand of the
        derived grad_P L with grad_name(t) L replaced by the unit vector e_i (None when
        grad_P L does not read grad_name(t) L). What a contraction sum_i r_i d name_i/dP
        stands for, written out."""
        try:
            truth = self.truth(param, None)
        except Exception:  # noqa: BLE001 - an explanation only; the verdict does not use it
            return None
        if truth is None:
            return None
        node = self.node(name, T)
        grad = Grad(node)
        e_i = sp.MatrixSymbol("e_i", node.rows, 1)
        for s in (truth.args if isinstance(truth, sp.MatAdd) else (truth,)):
            expr = s.expr if isinstance(s, StepSum) else s
            if not isinstance(s, StepSum) or s.steps.lo != 1:
                continue
            out = self.expand(expr, frozenset({grad}), ALL_STEPS)
            if out.has(grad):
                return out.xreplace({grad: e_i})
        return None

    def label(self):
        """y(t) as a class label (its one-hot vector); refused for vector targets."""
        from .claims import IllFormed
        if self.loss.target != "class":
            raise IllFormed(f"y(t) is a target vector for loss {self.loss.name}, not a class "
                            f"index, so y^(t)[y(t)] and 1[i = y(t)] have no meaning")

    def unfold(self, expr):
        """Definitions written out within a step: a node at the step of the formula replaced
        by its equation (y^ by the loss's output, L(t) by the loss, L by the sum), until only
        quantities of other steps, inputs and parameters are left."""
        for _ in range(12):
            rep = {}
            for m in expr.atoms(At):
                if m.name == "yhat":
                    rep[m] = self.loss.matrix_output(self.node(self.model.output.name, m.step))
                elif m.name == "L":
                    rep[m] = self.loss.matrix_loss(self.node("yhat", m.step),
                                                   self.node(self.model.target.name, m.step))
                elif m.name in self.defining and m.step == T:
                    rep[m] = self._size(self.defining[m.name].rhs)
            for m in expr.atoms(sp.MatrixSymbol):
                if type(m) is sp.MatrixSymbol and m.name == "L":
                    lo, hi = steps_of(self.model.loss_when)
                    total = StepSum(self.node("L", T), lo, hi)
                    rep[m] = total if self.scale == 1 else self.scale * total
            if not rep:
                return expr
            expr = expr.xreplace(rep)
        return expr

    # ---------------------------------------------------------------- values in one basis

    def basis(self, expr, named: dict | None = None):
        """Nodes defined as f(another node) (h(t) = tanh(a(t))) written as that: the two sides
        of a claim then name the same things. ``named``: more such replacements (a rule's
        function arguments named, ``_named_arguments``), applied first."""
        names = sorted(expr.atoms(Grad, Contraction), key=sp.default_sort_key)
        grads = {g: sp.MatrixSymbol(f"_G{n}", *g.shape) for n, g in enumerate(names)}
        expr = expr.xreplace(grads)  # a gradient's (a contraction's) node is a name
        if named:
            expr = expr.xreplace(named)
        back = {v: k for k, v in grads.items()}
        for _ in range(len(self.defining) + 1):  # a chain of f(node) nodes, to its end
            rep = {}
            for m in expr.atoms(At):
                eq = self.defining.get(m.name)
                if eq is not None and isinstance(eq.rhs, Apply) and isinstance(eq.rhs.arg, At):
                    rep[m] = eq.rhs.xreplace({T: m.step})
            if not rep:
                break
            expr = expr.xreplace(rep)
        return expr.xreplace(back)

    # ---------------------------------------------------------------- the derived truth

    def truth(self, of, within: Steps | None):
        """The derived value of grad_of L: a parameter's sum, or the equation of the
        quantity's range that holds at every step of ``within`` (None: none does)."""
        for eq in self.equations:
            if isinstance(of, At) and not eq.is_param and eq.about.name == of.name:
                k = sp.expand(of.step - T)
                if of.step.has(T):
                    if within is None or not _contains(eq.steps, within.lo + k, within.hi + k):
                        continue
                    return eq.generic.xreplace({T: T + k})
                if _contains(eq.steps, of.step, of.step):
                    return eq.generic.xreplace({T: of.step})
            elif not isinstance(of, At) and eq.is_param and eq.about.name == of.name:
                return eq.generic
        return None

    def expand(self, expr, given: set, within: Steps | None, depth: int = 6):
        """Gradients not ``given`` replaced by their derived values (inside a step sum, at the
        steps of that sum)."""
        if isinstance(expr, StepSum):
            s = expr.steps
            return StepSum(self.expand(expr.expr, given, s, depth), s.lo, s.hi)
        if isinstance(expr, sp.MatAdd) and any(isinstance(a, StepSum) for a in expr.args):
            return sp.MatAdd(*[self.expand(a, given, within, depth) for a in expr.args])
        for _ in range(depth):
            rep = {}
            for g in expr.atoms(Grad):
                if g in given:
                    continue
                value = self.truth(g.of, within)
                if value is not None:
                    rep[g] = value
            if not rep:
                break
            expr = expr.xreplace(rep)
        return expr

    # ---------------------------------------------------------------- entries, derivatives

    def local(self, node: At, i, ctx: Context):
        """Entry i of the equation defining ``node`` (other quantities as symbols), with its
        functions as themselves, to be differentiated."""
        eq = self.defining[node.name]
        opaque, ctx.opaque = ctx.opaque, False
        try:
            return scalar(eq.rhs.xreplace({T: node.step}), i, 0, ctx)
        finally:
            ctx.opaque = opaque

    def computed(self, node) -> bool:
        """Is ``node`` computed by an equation (not an initial value such as h(0))?"""
        if not isinstance(node, At) or node.name not in self.defining:
            return False
        lo, hi = steps_of(self.defining[node.name].when)
        step = node.step
        if step.has(T):  # a step relative to t: inside the range
            return True
        return _key(lo) <= _key(step) <= _key(hi)

    def tangent(self, node: At, wrt, i, idx: tuple, ctx: Context, seen=()) -> list[Term]:
        """d node_i / d wrt[idx] through the equations of node's step (quantities of other
        steps held fixed), as index-form terms."""
        if node == wrt:
            return [Term(sp.KroneckerDelta(i, idx[0]))]
        if not self.computed(node) or node in seen:
            return []
        expr = self.local(node, i, ctx)
        base = ctx.base(wrt)
        out = from_sympy(sp.diff(expr, base[idx if len(idx) > 1 else idx[0]]), ctx)
        for m in sorted(self._same_step_reads(node), key=sp.default_sort_key):
            if m == wrt:  # read directly: the partial above counts it
                continue
            j = ctx.index()
            partial = from_sympy(sp.diff(expr, ctx.base(m)[j]), ctx)
            if not partial:
                continue
            inner = self.tangent(m, wrt, j, idx, ctx, seen + (node,))
            out += [Term(a.coeff * b.coeff, a.bound + b.bound + ((j, m.rows),))
                    for a in partial for b in inner]
        return out

    def _same_step_reads(self, node: At) -> set:
        eq = self.defining[node.name]
        return {m.xreplace({T: node.step}) for m in eq.rhs.atoms(At)
                if m.step == T and m.name in self.defining}

    # ---------------------------------------------------------------- proofs

    def equal(self, truth, formula, within: Steps | None = None) -> bool:
        """truth == formula for every size (step sums compared summand by summand over equal
        ranges)."""
        t_parts, f_parts = _by_range(truth), _by_range(formula)
        if set(t_parts) != set(f_parts):
            return False
        for key in t_parts:
            a, b = t_parts[key], f_parts[key]
            if a.shape != b.shape:
                return False
            ctx = Context(general=self)
            i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
            terms = to_index(self.basis(a), i, j, ctx) + \
                [Term(-t.coeff, t.bound) for t in to_index(self.basis(b), i, j, ctx)]
            if normal_form(terms):
                return False
        return True

    def rules(self) -> list[Obligation]:
        """Each reverse rule the matrix equations are made of, proved in index form."""
        if "rules" in self.cache:
            return self.cache["rules"]
        out = []
        for eq in self.eqs:
            g = Grad(eq.target.now)
            by_leaf: dict = {}  # a leaf read twice (1 - f and f in a gated sum): one rule
            for leaf, contrib in pullback(eq.rhs, g, out=eq.target.now):
                by_leaf.setdefault(leaf, []).append(contrib)
            for leaf, parts in by_leaf.items():
                contrib = parts[0] if len(parts) == 1 else sp.MatAdd(*parts)
                ctx = Context(general=self)
                i, p, r = (sp.Symbol(n, integer=True) for n in ("i", "p", "r"))
                idx = (p,) if leaf.shape[1] == 1 else (p, r)
                rhs, args, named = self._named_arguments(eq)
                partial = self._partial(rhs, args, leaf, i, idx, ctx)
                gi = ctx.base(g)[i]
                want = [Term(t.coeff * gi, t.bound + ((i, eq.target.size.symbol),))
                        for t in partial]
                # functions as themselves, as in the partial (tanh, not an opaque tanh_of),
                # but a piecewise one (relu) opaque, as the basis writes it
                got = to_index(self.basis(contrib, named), p, r,
                               Context(counter=ctx.counter, bases=ctx.bases, general=self,
                                       opaque="piecewise"))
                want = [Term(t.coeff, t.bound) for t in want]
                ok = not normal_form(got + [Term(-t.coeff, t.bound) for t in
                                            self._in_basis_terms(want, ctx)])
                out.append((f"{sp.sstr(eq.target.now)} = ... reads {sp.sstr(leaf)}: "
                            f"contribution {sp.sstr(contrib)}", ok))
        self.cache["rules"] = out
        return out

    def _named_arguments(self, eq):
        """The equation's right side with each function argument that is not a quantity
        (tanh(W h(t-1) + U x(t))) named by a quantity of its own, z(t) -> (rhs, {z: argument},
        {N(t): f(z(t))} or {argument: z(t)} to write the reverse rule with the names).

        The partial of the right side is then taken by the chain rule through z: sympy.diff of
        the right side in z, times sympy.diff of the argument; the rule writes f' with f's
        output N(t) (1 - h(t)^2), which is f(z(t)) by the equation."""
        found = [a for a in eq.rhs.atoms(Apply) if not isinstance(a.arg, At)]
        # the outermost only: a function inside another's argument is differentiated there
        applies = sorted((a for a in found if not any(b != a and b.arg.has(a) for b in found)),
                         key=sp.default_sort_key)
        if not applies:
            return eq.rhs, {}, {}
        args, rep, named = {}, {}, {}
        for n, a in enumerate(applies):
            # a name no model can take (names are identifiers): the argument of f, numbered
            z = At(f"{eq.target.name}<{n}>", a.arg.shape[0], 1, eq.target.now.step)
            args[z] = a.arg
            rep[a] = Apply(a.f, z)
            named[a.arg] = z
        rhs = eq.rhs.xreplace(rep)
        if isinstance(eq.rhs, Apply) and eq.rhs in rep:
            named = {eq.target.now: rep[eq.rhs], **named}
        return rhs, args, named

    def _partial(self, rhs, args: dict, leaf, i, idx, ctx: Context) -> list[Term]:
        """d rhs_i / d leaf[idx] in index form, through the named arguments ``args``."""
        opaque, ctx.opaque = ctx.opaque, False
        try:
            R = scalar(rhs, i, 0, ctx)
            wrt = ctx.base(leaf)[idx if len(idx) > 1 else idx[0]]
            out = from_sympy(sp.diff(R, wrt), ctx)
            for z, arg in args.items():
                j = ctx.index()
                outer = from_sympy(sp.diff(R, ctx.base(z)[j]), ctx)
                if not outer:
                    continue
                inner = from_sympy(sp.diff(scalar(arg, j, 0, ctx), wrt), ctx)
                out += [Term(a.coeff * b.coeff, a.bound + b.bound + ((j, z.rows),))
                        for a in outer for b in inner]
            return out
        finally:
            ctx.opaque = opaque

    def loss_rule(self) -> Obligation:
        """grad_o(t) L of the loss entry equals dL(t)/do(t) by ``sympy.diff`` of the loss
        written entry by entry (for a class label, y(t) is one-hot: its entries sum to 1)."""
        if "loss_rule" in self.cache:
            return self.cache["loss_rule"]
        out = self.model.output
        o, y = out.now, self.model.target.now
        yhat = At("yhat", out.size.symbol, 1, T)
        ctx = Context(general=self, opaque=False)  # differentiated: functions as themselves
        j = sp.Symbol("j", integer=True)
        L = scalar(self.loss.matrix_loss(self.loss.matrix_output(o), y), 0, 0, ctx)
        want = from_sympy(sp.diff(L, ctx.base(o)[j]), ctx)
        got = to_index(self.loss.grad_matrix(self.loss.matrix_output(o), y), j, 0, ctx)
        one_hot = (ctx.base(y),) if self.loss.target == "class" else ()
        ok = not normal_form(got + [Term(-t.coeff, t.bound) for t in want], one_hot)
        cond = " (y(t) one-hot: its entries sum to 1)" if one_hot else ""
        result = (f"grad_o(t) L = {sp.sstr(self.loss.grad_matrix(yhat, y))} is dL(t)/do(t) of "
                  f"the {self.loss.name} loss{cond}", ok)
        self.cache["loss_rule"] = result
        return result

    def _in_basis_terms(self, terms: list[Term], ctx: Context) -> list[Term]:
        """Terms whose node entries are replaced by their basis values (h_i -> tanh(a_i))."""
        rep = {}
        for leaf, base in list(ctx.bases.items()):
            if isinstance(leaf, At):
                value = self.basis(leaf)
                if value != leaf:
                    k = sp.Dummy("k", integer=True)
                    rep[base] = (value, k)
        if not rep:
            return terms
        out = []
        for t in terms:
            coeff = t.coeff
            for ix in coeff.atoms(sp.Indexed):
                if ix.base in rep:
                    value, _ = rep[ix.base]
                    coeff = coeff.xreplace({ix: scalar(value, ix.indices[0], 0, ctx)})
            out.append(Term(coeff, t.bound))
        return out

    def jacobian_holds(self, out: At, wrt, matrix) -> bool:
        """The matrix form of d out / d wrt (a formula's Jacobian) equals the derivative of
        the model's equations, for every size."""
        ctx = Context(general=self)
        i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
        want = self._in_basis_terms(self.tangent(out, wrt, i, (j,), ctx), ctx)
        got = to_index(self.basis(matrix), i, j, ctx)
        return not normal_form(got + [Term(-t.coeff, t.bound) for t in want])


ALL_STEPS = Steps(1, TAU)


def _by_range(expr) -> dict:
    """Summands grouped by step range ((lo, hi) of a step sum; None for the rest)."""
    parts: dict = {}
    for a in (expr.args if isinstance(expr, sp.MatAdd) else (expr,)):
        if isinstance(a, StepSum):
            k = (sp.expand(a.steps.lo), sp.expand(a.steps.hi))
            parts.setdefault(k, []).append(a.expr)
        else:
            parts.setdefault(None, []).append(a)
    return {k: (v[0] if len(v) == 1 else sp.MatAdd(*v)) for k, v in parts.items()}


__all__ = ["General", "Contraction", "LossGradient", "Obligation", "Deriv"]
