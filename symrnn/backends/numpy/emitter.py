"""NumPy code generation: a model's equations and its checked BPTT equations, printed for
batched arrays into the templates of ``templates/numpy/``.

Input: the model (its per-step equations) and the matrix equations of the derivation (each
checked exactly against ``sympy.diff`` before it gets here); nothing symbolic is computed here
beyond printing. The step schedule (``symrnn.backends.schedule``) decides what runs in a time
loop and what runs for all steps at once; this module decides the NumPy memory layout:

- one array per quantity and per gradient, (steps, batch, n), a row per step;
- a node read only by the function applied to it (a(t) in h(t) = phi(a(t)), when the backward
  pass writes phi' with h) lives in that function's array and is turned into it in place;
  the same for a gradient read only by the entrywise factor of another (grad_a(t) is
  computed in place of grad_h(t));
- terms hoisted out of a loop, and parameter gradients, are single GEMMs over the stacked
  steps, on (steps * batch, n) views;
- loop statements write in place (``out=``), with one scratch array per loop;
- the output layer and loss use the loss entry's stable kernels (``symrnn.functions``).

The backward pass is a vector-Jacobian product: it takes the gradient reaching o(t) from
outside (``dos``; for the module's own loss y^(t) - y(t), the loss entry's ``grad_matrix``,
printed by itself) and, optionally, the gradients reaching each state from outside (the
``vjp_backward`` interface), so the module composes with any loss and windows chain exactly.

Names: the generated code uses a fixed vocabulary of its own (``TEMPLATE_NAMES``: tau, batch,
p, the loss kernels' z and s, ...) and names derived from the model (hs for h(t), dhs for its
gradient, WT, grad_W, h_all, ...). Every derived name, and every parameter's name in code, is
claimed from one ``_Namer`` per module, so none of them can be another (a cell whose
parameter is called ``hs``, ``h0`` or ``WT`` gets a module whose internals step aside).
"""

from __future__ import annotations

import keyword
import re
import shlex
from dataclasses import dataclass, field, replace

import sympy as sp

from ...functions import ACTIVATIONS, FUNCTIONS, LOSSES, REDUCTIONS
from ...models.base import DIMS, Model, steps_of
from ...naming import TAU, T, At, Grad, values_read
from ...functions import Apply
from ...templating import render
from ...sanitize import python_comment
from ...text import equation_text, math_text, step_text
from ..schedule import Block, Piece, key, schedule
from .printer import helpers_used, ordered_terms, print_batched, print_into

FORMS = ("loop", "unrolled", "checkpointed")
INPUTS = ("vector", "index")
TEMPLATES = {form: "numpy/module.py.jinja" for form in FORMS}
SIZE_CODE = {d.name: f"N_{d.name[2:].upper()}" for d in DIMS}  # n_hidden -> N_HIDDEN

#: The identifiers of the loss kernels (``symrnn.functions``) and ``_loss_gradient``: used
#: only inside those functions, where no model-derived name appears, so a derived name may be
#: one of them (the o(t) array is os, as the kernels' argument).
KERNEL_NAMES = frozenset("os z s z_y log_p labels ys yhat_rows".split())

#: Every identifier the templates write themselves (module constants, functions, arguments,
#: locals) outside the kernels. Names derived from the model never take one of these; a test
#: checks that a generated module uses no other identifier than these, the kernels' and the
#: claimed ones, and that the kernels' functions use none of the claimed ones.
TEMPLATE_NAMES = frozenset("""
ACTIVATION CHECKPOINT_EVERY FINAL FORM INITIAL INPUT LOSS LOSS_STEPS MODEL N_HIDDEN N_IN N_OUT
OUT_SIZES OUTPUT PARAM_SHAPES REDUCTION TARGET_INITIAL TAU TORCH a arrays bad batch bias bounds
buf copied d_ext d_final d_initial d_out dos dos_all dtype e ends Exception expected extra
final forward from_torch g given grads greedy hasattr hint i index init init_params int
isinstance k keys known lead len linear list logits loss loss_and_grad loss_value map max min
missing n name names need_grad need_y numpy out p params part parts prefix previous probs range
repr return_state rng round rows s sample scale seed seen segment_loss self set shape size
sorted start starts state state_dict state_name steps t tape target tau temperature to_torch
torch_name tuple tv type TypeError v validate value ValueError vjp_backward vjp_forward weight
what x xs y yhats zip __init__ _aligned _backward _check_tape _Checked _checkpointed _detach
_finite _float_array _forward _gradient_in _index_sum _inputs _layout_hint _loss_gradient
_output _output_and_loss _previous _segments_backward _segments_forward _state_of
_target_vectors _targets _Trusted _vjp_out
""".split())


class _Namer:
    """Identifiers of one generated module: ``claim`` gives the preferred name when it is free
    (not a template name, a keyword, a builtin the module uses, or claimed before), else the
    preferred name with ``_2``, ``_3``, ... A view name is unique only within its function:
    ``view`` checks it against the module's names and ``local`` (the function's views)."""

    def __init__(self):
        self.taken: set[str] = set(TEMPLATE_NAMES)

    def _free(self, name: str, also=()) -> bool:
        return name not in self.taken and name not in also and not keyword.iskeyword(name)

    def claim(self, preferred: str) -> str:
        name, i = preferred, 2
        while not self._free(name):
            name, i = f"{preferred}_{i}", i + 1
        self.taken.add(name)
        return name

    def keep(self, name: str) -> str:
        """A name that must stay as it is (an argument of the public API)."""
        if not self._free(name):
            raise ValueError(f"the generated module would use the name {name!r} twice")
        self.taken.add(name)
        return name

    def view(self, preferred: str, local: set) -> str:
        name, i = preferred, 2
        while not self._free(name, local):
            name, i = f"{preferred}{i}", i + 1
        return name


@dataclass(frozen=True)
class Stmt:
    """Lines of generated code and the comment lines (math) printed above them; a loop's
    ``code`` is its head and ``body`` its statements."""

    code: str
    comments: tuple[str, ...] = ()
    body: tuple["Stmt", ...] | None = None


@dataclass
class Array:
    """Rows for steps lo..hi of a quantity (or gradient), (rows, batch, ``size``); ``label``
    is the base of its views' names (h -> h_all, h_prev_all); ``size`` None for an integer
    index input (rows, batch)."""

    name: str
    size: str | None
    lo: sp.Expr
    hi: sp.Expr
    what: str
    label: str = ""

    def rows(self) -> sp.Expr:
        return sp.expand(self.hi - self.lo + 1)


def _code(e, tau_value: int | None = None) -> str:
    """A step expression as code: t, tau, t - 1 (tau a number in the unrolled form)."""
    e = sp.sympify(e)
    if tau_value is not None:
        e = e.subs(TAU, tau_value)
    return sp.sstr(sp.expand(e))


class _Layout:
    """Arrays and their names; the code of a quantity or gradient at a step or over steps."""

    def __init__(self, tau_value: int | None, namer: _Namer):
        self.tau_value = tau_value
        self.namer = namer
        self.arrays: dict[object, Array] = {}  # key: ("q", name), ("g", name) or ("x", name)
        self.views: dict[tuple, str] = {}
        self.view_lines: list[Stmt] = []
        self.all_views: set[str] = set()  # every view name of every function

    def row(self, k, step) -> str:
        a = self.arrays[k]
        return f"{a.name}[{_code(step - a.lo, self.tau_value)}]"

    def slice(self, k, lo, hi) -> str:
        return L_slice(self.arrays[k], lo, hi, self.tau_value)

    def flat(self, k, lo, hi, offset=0) -> str:
        """A (steps * batch, n) view of rows lo..hi, defined once per function (an index input:
        (steps * batch,)); ``offset`` names it (h_all, h_prev_all, h_next_all)."""
        a = self.arrays[k]
        vk = (a.name, sp.expand(lo - a.lo), sp.expand(hi - a.lo))
        if vk not in self.views:
            label = a.label + {0: "_all", -1: "_prev_all", 1: "_next_all"}.get(
                int(offset), f"_all{int(offset)}")
            name = self.namer.view(label, set(self.views.values()))
            self.views[vk] = name
            self.all_views.add(name)
            shape = "-1" if a.size is None else f"-1, {a.size}"
            self.view_lines.append(Stmt(f"{name} = {self.slice(k, lo, hi)}.reshape({shape})",
                                        (f"{a.what} for steps {step_text(lo)}..{step_text(hi)}, "
                                         f"one row per step and sequence",)))
        return self.views[vk]

    def take_views(self) -> list[Stmt]:
        out, self.view_lines = self.view_lines, []
        return out


def _plural(name: str) -> str:
    """hs for h(t), dhs for its gradient (a_s where the plural would be a Python keyword)."""
    return f"{name}s" if not keyword.iskeyword(f"{name}s") else f"{name}_s"


def _flat_terms(expr) -> list:
    return list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]


@dataclass
class _Emitter:
    model: Model
    spec: object
    form: str
    equations: list
    catalogue: tuple = ()
    index_input: bool = False
    layout: _Layout = field(init=False)

    def __post_init__(self):
        self.tau_value = self.spec.tau if self.form == "unrolled" else None
        self.namer = _Namer()
        self.layout = _Layout(self.tau_value, self.namer)
        self.loss = LOSSES[self.spec.loss]
        self.model_eqs = self.model.with_activation(self.spec.activation)
        self.class_target = self.loss.target == "class"
        self.size = {d.symbol: SIZE_CODE[d.name] for d in DIMS}
        m = self.model
        self.init = [(q, side, f"{q.name}0" if side == "start" else f"{q.name}_end")
                     for q, side in m.initial_values()]
        # checkpointed: the gradient that reaches each state q(tau) from the steps after the
        # segment (d<q>_end, None for the last segment) is added where grad_q(tau) is formed
        self.carried = {q.name for q, side in m.initial_values() if side == "start"} \
            if self.form == "checkpointed" else set()
        self.injected: set[str] = set()
        # the states the vjp exposes (each quantity read at another step, but the output,
        # whose outside gradient is dos): the gradient reaching them from outside, per step
        self.exposed = [q for q in m.states if q is not m.output]
        self.ext_done: list[tuple] = []  # (state, lo, hi) whose outside gradient is added

    # ---------------------------------------------------------------- names

    def derived_names(self) -> set[str]:
        """Every identifier taken from the model (after ``build``): claimed names and views."""
        return (self.namer.taken - TEMPLATE_NAMES) | self.layout.all_views

    def claim_names(self) -> None:
        """Every model-derived identifier, claimed once in a fixed order: the public API's
        initial values (h0, g_end, y0), the parameters, then the arrays and helpers."""
        m, n = self.model, self.namer
        for _q, _side, name in self.init:
            n.keep(name)
        self.target_init = n.keep(f"{m.target.name}0") if m.reads_target else None
        self.pcode = {p.name: n.claim(p.name) for p in m.params}
        self.arr_names = {}
        for q in m.quantities:
            if q.role == "node":
                self.arr_names[("q", q.name)] = n.claim(_plural(q.name))
        for q in m.inputs:  # the one input: the template's xs
            self.arr_names[("q", q.name)] = "xs"
        for q in m.quantities:
            if q.role in ("node",):
                self.arr_names[("g", q.name)] = n.claim(_plural("d" + q.name))
        self.tvec = n.claim(_plural(m.target.name + "v")) if m.reads_target else None
        self.transpose_names = {p.name: n.claim(f"{self.pcode[p.name]}T") for p in m.params
                                if p.cols is not None}
        self.grad_names = {p.name: n.claim(f"grad_{p.name}") for p in m.params}
        self.scratch = {d.name: n.claim(f"tmp_{d.name[2:]}") for d in DIMS}
        self.ext_names = {q.name: n.claim(f"d{q.name}_out") for q in self.exposed}
        self.end_names = {q: n.claim(f"d{q}_end") for q in sorted(self.carried)}

    # ---------------------------------------------------------------- storage

    def plan(self) -> None:
        self.claim_names()
        m, L = self.model, self.layout
        grads = [e for e in self.equations if not e.is_param]
        read_back = {a.name for e in self.equations for a in values_read(e.generic or e.rhs)}
        starts = {q.name for q, side in m.initial_values() if side == "start"}
        ends = {q.name for q, side in m.initial_values() if side == "end"}
        self.alias: dict[object, object] = {}
        readers: dict[str, list] = {}
        for eq in self.model_eqs:
            for a in eq.rhs.atoms(At):
                readers.setdefault(a.name, []).append((eq, a))
        for eq in self.model_eqs:  # a(t) lives in h's array when only phi(a(t)) reads it
            if isinstance(eq.rhs, Apply) and isinstance(eq.rhs.arg, At) and eq.rhs.arg.step == T:
                src = eq.rhs.arg.name
                if src not in read_back and len(readers.get(src, [])) == 1 and \
                        src not in starts | ends:
                    self.alias[("q", src)] = ("q", eq.target.name)
        self.tvec_lo = None
        if m.reads_target:  # the targets as vectors, rows before step 1 from y0
            offsets = [sp.expand(a.step - T) for eq in self.model_eqs for a in eq.rhs.atoms(At)
                       if a.name == m.target.name]
            lo = 1 + min(min(offsets), 0)
            self.tvec_lo = lo
            L.arrays[("q", m.target.name)] = Array(self.tvec, self.size[m.target.size.symbol],
                                                   lo, TAU, f"{m.target.name}(t) as vectors",
                                                   m.target.name + "v")
        for x in m.inputs:
            L.arrays[("q", x.name)] = Array(self.arr_names[("q", x.name)],
                                            None if self.index_input else
                                            self.size[x.size.symbol], 1, TAU,
                                            f"{x.name}(t)" + (" (class indices)"
                                                              if self.index_input else ""),
                                            x.name)
        for eq in self.model_eqs:
            q = eq.target
            lo, hi = steps_of(eq.when)
            lo = lo - 1 if q.name in starts else lo
            hi = hi + 1 if q.name in ends else hi
            L.arrays[("q", q.name)] = Array(self.arr_names[("q", q.name)],
                                            self.size[q.size.symbol], lo, hi, f"{q.name}(t)",
                                            q.name)
        for k, owner in self.alias.items():
            own, me = L.arrays[owner], L.arrays[k]
            own.lo = min(own.lo, me.lo, key=key)
            own.hi = max(own.hi, me.hi, key=key)
            L.arrays[k] = own
        out = m.output
        llo, lhi = steps_of(m.loss_when)
        # y^(t), or the gradient reaching o(t) from outside: dos (the backward pass's input)
        L.arrays[("q", "yhat")] = Array("dos", self.size[out.size.symbol], llo, lhi,
                                        "grad_o(t) L from outside", "do")
        for q in self.exposed:  # the gradients reaching the states from outside (vjp)
            L.arrays[("x", q.name)] = Array(self.ext_names[q.name], self.size[q.size.symbol],
                                            1, TAU, f"the gradient reaching {q.name}(t) from "
                                            f"outside", f"d{q.name}_out")
        # gradients: the union of each quantity's equation ranges
        for e in grads:
            k = ("g", e.about.name)
            lo, hi = e.steps.lo, e.steps.hi
            if k in L.arrays:
                a = L.arrays[k]
                a.lo, a.hi = min(a.lo, lo, key=key), max(a.hi, hi, key=key)
            else:
                q = e.about
                L.arrays[k] = Array(self.arr_names[k], self.size[q.size.symbol], lo, hi,
                                    f"grad_{q.name}(t) L", "d" + q.name)
        # grad_o(t) L in place of dos when it covers the same steps
        go = L.arrays[("g", out.name)]
        yh = L.arrays[("q", "yhat")]
        self.grad_o_in_yhat = key(go.lo) == key(yh.lo) and key(go.hi) == key(yh.hi)
        if self.grad_o_in_yhat:
            self.alias[("g", out.name)] = ("q", "yhat")
            L.arrays[("g", out.name)] = yh
        # grad_a(t) L in place of grad_h(t) L when only diag(phi') grad_h reads grad_h
        param_reads = {g.of.name for e in self.equations if e.is_param
                       for g in (e.generic or e.rhs).atoms(Grad) if isinstance(g.of, At)}
        g_readers: dict[str, list] = {}
        for e in grads:
            for g in (e.generic or e.rhs).atoms(Grad):
                if isinstance(g.of, At):
                    g_readers.setdefault(g.of.name, []).append(e)
        for e in grads:
            expr = e.generic
            if isinstance(expr, sp.MatMul) and len(expr.args) == 2 and \
                    isinstance(expr.args[0], sp.DiagMatrix) and isinstance(expr.args[1], Grad):
                src = expr.args[1].of
                if src.step == T and src.name not in param_reads and \
                        {id(r) for r in g_readers.get(src.name, [])} == {id(e)}:
                    s_arr, me = L.arrays[("g", src.name)], L.arrays[("g", e.about.name)]
                    if key(s_arr.lo) <= key(me.lo) and key(me.hi) <= key(s_arr.hi):
                        self.alias[("g", e.about.name)] = ("g", src.name)
                        L.arrays[("g", e.about.name)] = s_arr

    def without_loss_term(self, equations: list) -> list:
        """The equations of grad_o(t) L with the loss's term y^(t) - y(t) read as dos, the
        gradient reaching o(t) from outside (y^(t) stands for it; the target's term goes):
        the backward pass is then a vector-Jacobian product, and the loss's gradient is
        printed once by itself (``_loss_gradient``)."""
        m = self.model
        yhat = At("yhat", m.output.size.symbol, 1, T)
        loss_terms = _flat_terms(self.loss.grad_matrix(yhat, m.target.now))
        out = []
        for e in equations:
            if e.is_param or e.about is not m.output:
                out.append(e)
                continue
            terms = _flat_terms(e.generic)
            keep = [t for t in terms if t not in loss_terms]
            found = len(terms) - len(keep)
            if found == 0:
                out.append(e)
                continue
            if found != len(loss_terms):
                raise NotImplementedError(f"grad_{m.output.name}: the loss's gradient "
                                          f"{sp.sstr(self.loss.grad_matrix(yhat, m.target.now))}"
                                          f" is not a whole part of {sp.sstr(e.generic)}")
            generic = sp.MatAdd(yhat, *keep) if keep else yhat
            out.append(replace(e, generic=generic))
        return out

    # ---------------------------------------------------------------- names of values

    def names_at(self, expr, step=None) -> dict:
        """Code for every quantity, gradient and parameter in ``expr`` at one step."""
        L, names = self.layout, {}
        for p in self.model.params:
            names[p.symbol] = self.pcode[p.name]
        for a in sorted(values_read(expr), key=sp.default_sort_key):  # deterministic views
            if a.name == self.model.target.name and not self.tvec:
                names[a] = self._target_row(a.step)
            else:
                names[a] = L.row(("q", a.name), a.step)
        for g in expr.atoms(Grad):
            if isinstance(g.of, At):
                names[g] = L.row(("g", g.of.name), g.of.step)
        return names

    def _target_row(self, step) -> str:
        k = _code(step - 1, self.tau_value)
        return f"labels[{k}]" if self.class_target else f"ys[{k}]"

    def names_over(self, expr, lo, hi) -> dict:
        """Code for every quantity and gradient in ``expr`` (written at t) over steps lo..hi."""
        L, names = self.layout, {}
        for p in self.model.params:
            names[p.symbol] = self.pcode[p.name]
        for a in sorted(values_read(expr), key=sp.default_sort_key):  # deterministic views
            k = sp.expand(a.step - T)
            if a.name == self.model.target.name and not self.tvec:
                names[a] = self._target_flat(lo + k, hi + k)
            else:
                names[a] = L.flat(("q", a.name), lo + k, hi + k, k)
        for g in expr.atoms(Grad):
            if isinstance(g.of, At):
                k = sp.expand(g.of.step - T)
                names[g] = L.flat(("g", g.of.name), lo + k, hi + k, k)
        return names

    def _target_flat(self, lo, hi) -> str:
        s, e = _code(lo - 1, self.tau_value), _code(hi, self.tau_value)
        rows = f"{'' if s == '0' else s}:{'' if e in ('tau', str(self.tau_value)) else e}"
        sel = "" if rows == ":" else f"[{rows}]"
        if self.class_target:
            return f"labels{sel}.ravel()"
        return f"ys{sel}.reshape(-1, N_OUT)"

    def onehot(self, names: dict) -> dict:
        if not self.class_target or self.tvec:  # dense target vectors: subtracted as arrays
            return {}
        return {a: code for a, code in names.items()
                if isinstance(a, At) and a.name == self.model.target.name}

    def printing(self) -> dict:
        """Printer settings every statement shares: the index inputs and the helper that
        sums rows by index (the gradient of U x(t) when x(t) is an index)."""
        if not self.index_input:
            return {}
        return {"index": {x.name: self.size[x.size.symbol] for x in self.model.inputs}}

    # ---------------------------------------------------------------- comments

    def forward_comment(self, piece: Piece, step) -> str:
        eq = piece.note
        rhs = eq.rhs if step is None else eq.rhs.xreplace({T: step})
        lhs = eq.target.at(T if step is None else step)
        ref = f"  ({eq.ref})" if eq.ref else ""
        return equation_text(lhs, rhs) + ref

    def backward_comment(self, piece: Piece, step) -> tuple[str, ...]:
        eq = piece.note
        whole = self.original[id(eq)]
        if step is None:
            text = equation_text(whole.lhs, whole.generic)
        else:
            text = equation_text(Grad(whole.about.at(step)), whole.generic.xreplace({T: step}))
        lines = (text,)
        if whole.generic != eq.generic:
            yhat = At("yhat", self.model.output.size.symbol, 1, T)
            term = math_text(self.loss.grad_matrix(yhat, self.model.target.now))
            lines += (f"(its term {term} is dos, the gradient given from outside)",)
        printed = [f.id for f in self.catalogue if f.gradient_of == eq.about.name and (
            f.steps is None or eq.steps is None or f.steps == eq.steps)]
        if printed:
            lines += (f"(the note prints this gradient: {', '.join(printed)})",)
        return lines

    # ---------------------------------------------------------------- outside gradients

    def ext_lines(self, target_q: str, lo, hi, step=None) -> list[str]:
        """Lines adding the gradient given from outside to grad_q over steps lo..hi (at
        ``step``, t in a loop over lo..hi or a step), when q is an exposed state and the
        caller gave one (the argument is None otherwise, and nothing is added)."""
        fix = (lambda e: sp.sympify(e).subs(TAU, self.tau_value)) if self.tau_value else sp.sympify
        lo, hi = fix(lo), fix(hi)
        if target_q not in self.ext_names or not (key(1) <= key(lo) and
                                                  key(hi) <= key(fix(TAU))):
            return []
        if any(q == target_q and key(a) <= key(lo) and key(hi) <= key(b)
               for q, a, b in self.ext_done):
            return []
        L, ext = self.layout, self.ext_names[target_q]
        self.ext_done.append((target_q, lo, hi))
        if step is None:
            add = f"{L.slice(('g', target_q), lo, hi)} += {L.slice(('x', target_q), lo, hi)}"
        else:
            add = f"{L.row(('g', target_q), step)} += {L.row(('x', target_q), step)}"
        return [f"if {ext} is not None:", f"    {add}"]

    # ---------------------------------------------------------------- blocks

    def hold(self, grad: bool, target) -> sp.MatrixExpr:
        q = self.model.quantity(target)
        return Grad(q.now) if grad else q.now

    def stacked(self, p: Piece, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", p.target)
        target = self.layout.flat(k, p.lo, p.hi)
        names = self.names_over(p.expr, p.lo, p.hi)
        held = self.hold(grad, p.target)
        expr = p.expr
        if grad and self.grad_o_in_yhat and p.target == self.model.output.name:
            yhat = At("yhat", held.shape[0], 1, T)
            names[yhat] = target  # grad_o(t) L is built in place of dos
        code = print_into(expr, target, names, onehot=self.onehot(names), **self.printing())
        if grad:
            code += self.ext_lines(p.target, p.lo, p.hi)
        views = self.layout.take_views()
        comment = (self.backward_comment(p, None) if grad else (self.forward_comment(p, None),))
        rng = f"for steps {step_text(p.lo)}..{step_text(p.hi)} at once"
        if not code:
            return views + [Stmt("", comment[:1] + (rng,) + comment[1:] + (
                "(already in place: nothing to compute)",))]
        return views + [Stmt("\n".join(code), comment[:1] + (rng,) + comment[1:])]

    def hoisted(self, h, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", h.target)
        target = self.layout.flat(k, h.lo, h.hi)
        names = self.names_over(h.expr, h.lo, h.hi)
        code = print_into(h.expr, target, names, onehot=self.onehot(names), **self.printing())
        if grad:
            code += self.ext_lines(h.target, h.lo, h.hi)
        views = self.layout.take_views()
        what = f"grad_{h.target}(t) L" if grad else f"{h.target}(t)"
        inside = " (inside the function applied to it)" if h.inside else ""
        return views + [Stmt("\n".join(code), (
            f"{math_text(h.expr)}: the part of {what} that does not depend on the loop{inside},",
            f"for steps {step_text(h.lo)}..{step_text(h.hi)} at once, in the storage of {what}"))]

    def step_body(self, segment, grad: bool, step) -> list[Stmt]:
        """One step of a loop (``step`` the loop variable T, or a number / tau)."""
        out = []
        for piece, (loop_terms, inside), held in segment.body:
            k = ("g" if grad else "q", piece.target)
            at = step if step is not None else T
            target = self.layout.row(k, at)
            held_sym = self.hold(grad, piece.target)
            terms = [t.xreplace({T: at}) for t in loop_terms]
            hold_at = held_sym.xreplace({T: at})
            lines: list[str] = []
            if held and terms:
                expr = sp.MatAdd(hold_at, *terms)
            elif held or not terms:
                expr = None
            else:
                expr = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
            names = self.names_at(sp.MatAdd(hold_at, *terms) if terms else hold_at, at)
            if expr is not None and expr in names and names[expr] == target:
                expr = None  # already in the target's storage (a(t) computed in h's)
            scratch = self.scratch[self._size_name(self.layout.arrays[k].size)]
            if expr is not None:
                lines += print_into(expr, target, names, transposes=self.transposes,
                                    scratch=scratch, onehot=self.onehot(names), **self.printing())
            if inside:
                f = piece.expr.f
                act = FUNCTIONS[f]
                if act.numpy is not None:
                    lines.append(f"{act.numpy}({target}, out={target})")
                elif act.numpy_in_place:
                    lines += [line.format(x=target, s=scratch) for line in act.numpy_in_place]
                else:
                    lines += print_into(Apply(f, hold_at), target, {**names, hold_at: target})
            if grad and not held:
                seg_lo, seg_hi = (segment.lo, segment.hi) if step is None else (step, step)
                lines += self.ext_lines(piece.target, seg_lo, seg_hi, at)
            shown = None if step is None else at
            comments = self.backward_comment(piece, shown) if grad else \
                (self.forward_comment(piece, shown),)
            if grad and piece.target in self.carried and step is not None and \
                    key(step) == key(TAU):
                end = self.end_names[piece.target]
                lines += [f"if {end} is not None:", f"    {target} += {end}"]
                comments += (f"plus {end}, the gradient from the steps after this segment",)
                self.injected.add(piece.target)
            if not lines:
                out.append(Stmt("", comments + ("(already in place: nothing to add at this "
                                                "step)",)))
                continue
            if held:
                comments += (f"in {target}, which holds the hoisted part",)
            elif inside:
                comments += (f"in place, in {target}",)
            out.append(Stmt("\n".join(lines), comments))
        return out

    @staticmethod
    def _size_name(size_code: str) -> str:
        return next(name for name, code in SIZE_CODE.items() if code == size_code)

    def loop(self, block: Block, grad: bool) -> list[Stmt]:
        out = []
        for h in block.hoists:
            out += self.hoisted(h, grad)
        for seg in block.segments:
            if self.form == "unrolled" or sp.expand(seg.hi - seg.lo) == 0:
                steps = [seg.lo] if sp.expand(seg.hi - seg.lo) == 0 else \
                    [sp.Integer(s) for s in range(int(seg.lo.subs(TAU, self.spec.tau)),
                                                  int(seg.hi.subs(TAU, self.spec.tau)) + 1)]
                if block.direction < 0:
                    steps = steps[::-1]
                for s in steps:
                    s_code = _code(s, self.tau_value)
                    out.append(Stmt("", (f"step t = {s_code}",)))
                    out += self.step_body(seg, grad, s if self.form != "unrolled"
                                          else sp.sympify(s).subs(TAU, self.spec.tau))
                continue
            lo, hi = _code(seg.lo, self.tau_value), _code(seg.hi, self.tau_value)
            if block.direction > 0:
                head = f"for t in range({lo}, {_code(seg.hi + 1, self.tau_value)}):"
            else:
                head = f"for t in range({hi}, {_code(seg.lo - 1, self.tau_value)}, -1):"
            body = self.step_body(seg, grad, None)
            if any(st.code for st in body):
                out.append(Stmt(head, (), tuple(body)))
        return out

    def blocks(self, blocks: list[Block], grad: bool) -> list[Stmt]:
        out = []
        for b in blocks:
            if b.direction == 0:
                for p in b.pieces:
                    out += self.stacked(p, grad)
            else:
                out += self.loop(b, grad)
        return out

    # ---------------------------------------------------------------- passes

    def forward_pieces(self) -> list[Piece]:
        out = []
        for eq in self.model_eqs:
            lo, hi = steps_of(eq.when)
            out.append(Piece(eq.target.name, lo, hi, eq.rhs, eq))
        return out

    def backward_pieces(self) -> list[Piece]:
        return [Piece(e.about.name, e.steps.lo, e.steps.hi, e.generic, e)
                for e in self.grad_equations if not e.is_param]

    def loop_params(self, blocks: list[Block], grad: bool) -> list[str]:
        """Parameters used as A v (forward) or A^T v (backward) in loop statements."""
        used = []
        for b in blocks:
            if b.direction == 0:
                continue
            for seg in b.segments:
                for _p, (terms, _inside), _held in seg.body:
                    for t in terms:
                        for f in t.atoms(sp.MatrixSymbol):
                            p = self.model.param_of(f) if not isinstance(f, At) else None
                            if p is not None and p.cols is not None and p.name not in used:
                                used.append(p.name)
        return used

    def build(self) -> dict:
        self.plan()
        self.grad_equations = self.without_loss_term(self.equations)
        self.original = {id(new): old for new, old in zip(self.grad_equations, self.equations)}
        m, L = self.model, self.layout
        order_f = [eq.target.name for eq in self.model_eqs]
        fblocks = schedule(self.forward_pieces(), order_f, grad=False)
        self.transposes = {}
        f_loop = self.loop_params(fblocks, False)
        prelude_f = []
        for name in f_loop:
            P = m.param(name).symbol
            self.transposes[P] = self.transpose_names[name]
            prelude_f.append(Stmt(f"{self.transpose_names[name]} = _aligned({self.pcode[name]}.T)",
                                  (f"{name}^T once, contiguous, for the GEMM of every step",)))
        forward = self.blocks(fblocks, grad=False)
        # backward (its own function: views are defined anew)
        self.transposes = {}
        L.views = {}
        order_b = list(reversed(order_f))
        bblocks = schedule(self.backward_pieces(), order_b, grad=True)
        b_loop = self.loop_params(bblocks, True)
        prelude_b = [Stmt(f"{self.pcode[name]} = _aligned({self.pcode[name]})",
                          ("contiguous and aligned, for the GEMM of every step",))
                     for name in b_loop]
        backward = self.blocks(bblocks, grad=True)
        missing = self.carried - self.injected
        if missing:
            raise ValueError(f"form checkpointed: the gradient of {', '.join(sorted(missing))} "
                             f"at step tau is not formed in a step of its own, so the gradient "
                             f"from a later segment has nowhere to enter; use --form loop")
        last = TAU if self.tau_value is None else sp.Integer(self.tau_value)
        for q in self.exposed:  # every step of an exposed state gets its outside gradient
            if not any(s == q.name and key(a) <= key(1) and key(last) <= key(b)
                       for s, a, b in self._ext_cover()):
                raise NotImplementedError(f"the outside gradient of {q.name}(t) is not added "
                                          f"at every step 1..tau")
        grads = []
        done: dict = {}  # a sum already computed (two biases of one gate have the same)
        for e in self.equations:
            if not e.is_param:
                continue
            gname = self.grad_names[e.about.name]
            if e.generic in done:
                grads.append(Stmt(f"{gname} = {self.grad_names[done[e.generic]]}.copy()",
                                  (equation_text(e.lhs, e.rhs) + f", the same sum as "
                                   f"grad_{done[e.generic]}",)))
                continue
            done[e.generic] = e.about.name
            parts = []
            for s in (e.generic.args if isinstance(e.generic, sp.MatAdd) else (e.generic,)):
                names = self.names_over(s.expr, s.steps.lo, s.steps.hi)
                parts.append(print_batched(s.expr, names, summed=True, **self.printing()))
            views = L.take_views()
            grads += views + [Stmt(f"{gname} = {' + '.join(parts)}",
                                   (equation_text(e.lhs, e.rhs) + ", as one GEMM or column sum "
                                    "over all steps",))]
        # arrays allocated by each pass
        f_arrays = self._arrays("q", [eq.target.name for eq in self.model_eqs])
        b_arrays = [a for a in self._arrays("g", [q for q in order_b]) if a.name != "dos"]
        return {
            "forward": prelude_f + forward, "backward": prelude_b + backward, "grads": grads,
            "f_arrays": f_arrays, "b_arrays": b_arrays,
            "loop_sizes_f": self._loop_sizes(fblocks, "q", prelude_f + forward),
            "loop_sizes_b": self._loop_sizes(bblocks, "g", prelude_b + backward),
        }

    def _ext_cover(self) -> list[tuple]:
        """The ranges of each exposed state whose outside gradient is added, merged."""
        merged: list[list] = []
        for q, a, b in sorted(self.ext_done, key=lambda r: (r[0], key(r[1]))):
            if merged and merged[-1][0] == q and key(merged[-1][2] + 1) >= key(a):
                merged[-1][2] = max(merged[-1][2], b, key=key)
            else:
                merged.append([q, a, b])
        return [tuple(r) for r in merged]

    def _arrays(self, kind: str, names: list[str]) -> list[Array]:
        out = []
        for n in names:
            k = (kind, n)
            if k in self.layout.arrays and self.layout.arrays[k] not in out:
                out.append(self.layout.arrays[k])
        return out

    def _loop_sizes(self, blocks, kind, stmts: list[Stmt]) -> list[tuple[str, str]]:
        """(size, name) of the scratch arrays (tmp_hidden, ...) the loop statements use."""
        code = "\n".join(_all_code(stmts))
        sizes = []
        for b in blocks:
            if b.direction != 0:
                for t in b.targets:
                    s = self.layout.arrays[(kind, t)].size
                    name = self.scratch[self._size_name(s)]
                    if (s, name) not in sizes and re.search(rf"\b{name}\b", code):
                        sizes.append((s, name))
        return sizes


def _all_code(stmts) -> list[str]:
    out = []
    for st in stmts:
        out.append(st.code)
        out += _all_code(st.body or ())
    return out


# ---------------------------------------------------------------- public entry points

def module_filename(spec, form: str, every: int | None = None, inputs: str = "vector") -> str:
    """``rnn_loop.py``, ``rnn_checkpointed[_k<K>].py`` or ``rnn_unrolled_tau<N>.py``, plus the
    non-default choices."""
    from ...spec import RNNSpec
    parts = [spec.model_def.name.replace("-", "_"), form] + (
        [f"tau{spec.tau}"] if form == "unrolled" else [])
    if form == "checkpointed" and every is not None:
        parts.append(f"k{every}")
    default = RNNSpec()
    for name, flag in (("n_in", "in"), ("n_hidden", "h"), ("n_out", "out")):
        if getattr(spec, name) != getattr(default, name):
            parts.append(f"{flag}{getattr(spec, name)}")
    for name in ("activation", "loss", "reduction"):
        if getattr(spec, name) != getattr(default, name):
            parts.append(getattr(spec, name).replace("-", "_"))
    if inputs != "vector":
        parts.append(inputs)
    return "_".join(parts) + ".py"


def codegen_command(spec, form: str, out: str | None = None, every: int | None = None,
                    inputs: str = "vector") -> str:
    """The CLI command that writes this module (only options that differ from the defaults),
    shell-quoted."""
    from ...spec import RNNSpec
    words = ["symrnn", "codegen"]
    default = RNNSpec()
    if spec.model != default.model:
        words += ["--model", spec.model]
    words += ["--form", form]
    if form == "unrolled":
        words += ["--tau", str(spec.tau)]
    if form == "checkpointed" and every is not None:
        words += ["--checkpoint-every", str(every)]
    for name, flag in (("n_in", "--inputs"), ("n_hidden", "--hidden"), ("n_out", "--outputs"),
                       ("activation", "--activation"), ("loss", "--loss"),
                       ("reduction", "--reduction")):
        if getattr(spec, name) != getattr(default, name):
            words += [flag, str(getattr(spec, name))]
    if inputs != "vector":
        words += ["--input", inputs]
    if out is not None:
        words += ["--out", out]
    return shlex.join(words)


def _check_emittable(model: Model, spec, form: str, every, inputs: str) -> None:
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, got {inputs!r}")
    if every is not None:
        from ...spec import check_int
        check_int("every", every, 1)
        if form != "checkpointed":
            raise ValueError(f"every: the checkpoint interval is for form checkpointed, "
                             f"got form {form!r}")
    if form == "checkpointed":
        if model.loss_when != "all":
            raise ValueError(f"form checkpointed needs a loss at every step; model {model.name} "
                             f"has its loss at {model.loss_when}; use --form loop")
        if any(side == "end" for _q, side in model.initial_values()):
            raise ValueError(f"form checkpointed carries states forward in time; model "
                             f"{model.name} also reads values after tau; use --form loop")
    if ACTIVATIONS[spec.activation].symbolic_only and model.uses_activation:
        raise ValueError(f"codegen needs a concrete activation: {spec.activation} is a generic, "
                         f"undefined function with no numeric value; use --activation tanh "
                         f"(or sigmoid, relu, identity)")
    xs = model.inputs
    if len(xs) != 1 or xs[0].size.name != "n_in":
        got = ", ".join(f"{x.name} ({x.size.name})" for x in xs)
        raise ValueError(f"codegen: a NumPy module takes one input x(t) of size n_in; model "
                         f"{model.name} has {got or 'none'}")


def emit_numpy(model: Model, spec, equations: list, form: str = "loop",
               command: str | None = None, catalogue: tuple = (),
               every: int | None = None, inputs: str = "vector") -> str:
    """Python source of a NumPy-only module with ``forward``, ``loss``, ``loss_and_grad``,
    ``vjp_forward``/``vjp_backward`` and ``init_params`` for ``model`` (the sizes, activation,
    loss and reduction of ``spec``), from its checked matrix ``equations``. ``form`` is "loop"
    (any tau), "unrolled" (straight-line code for ``spec.tau``) or "checkpointed" (any tau;
    the backward pass keeps the states only every ``every`` steps, about sqrt(tau) when None,
    and recomputes each segment). ``inputs`` "index": x(t) is an integer class index (its
    one-hot vector), U x(t) a gather and its gradient a sum of rows by index. ``command`` is
    the regenerate line of the header."""
    _check_emittable(model, spec, form, every, inputs)
    index_input = inputs == "index"
    em = _Emitter(model, spec, form, equations, catalogue, index_input)
    try:
        ctx = em.build()
    except NotImplementedError as e:
        if index_input:
            raise ValueError(f"inputs index: x(t) must be read only as a matrix product P x(t) "
                             f"(a gather); model {model.name} reads it otherwise ({e})") from e
        raise
    loss = LOSSES[spec.loss]
    m = model
    L = em.layout
    out_arr = L.arrays[("q", m.output.name)]
    llo, lhi = steps_of(m.loss_when)
    tau_value = em.tau_value
    yhat_needed_o = any(a.name == m.output.name for e in equations for a in
                        values_read(e.generic or e.rhs))
    hidden = [q for q in m.quantities if q.role == "node" and any(
        a.name == q.name for a in m.equation(m.output).rhs.atoms(At))] if m.output in [
        eq.target for eq in m.equations] else []
    reduction = REDUCTIONS[spec.reduction]
    carried = [(q, name) for q, side, name in em.init if side == "start"]
    rowslice = lambda a, lo, hi: L_slice(a, lo, hi, tau_value)
    out_code = rowslice(out_arr, llo, lhi)
    size_of = lambda q: SIZE_CODE[q.size.name]
    one_out = m.loss_when != "all"
    out_rows = [(m.output.name, out_code, f"{m.output.name}(tau)" if one_out else
                 f"{m.output.name}(t)", size_of(m.output))]
    out_rows += [(q.name, rowslice(L.arrays[("q", q.name)], 1, TAU), f"{q.name}(t)", size_of(q))
                 for q in em.exposed]
    finals = [f"{a.name}[{_code(TAU - a.lo, tau_value)}].copy()"
              for a in (L.arrays[("q", q.name)] for q, _n in carried)]
    finals_tuple = "(" + ", ".join(finals) + ("," if len(finals) == 1 else "") + ")"
    pad = int(1 - em.tvec_lo) if em.tvec else None
    tinit = em.target_init
    state_keys = [(n, f"{q.name}(tau)") for q, n in carried]
    if tinit:
        state_keys.append((tinit, f"{m.target.name}(tau)" if pad == 1 else
                           f"{m.target.name}(tau-{pad - 1}..tau)"))
    used = ({spec.activation} if m.uses_activation else set()) | set(m.fixed_functions)
    kinks = ", ".join(f"{f}'(0) = 0" for f in sorted(used) if f == "relu")
    loss_sum = "L = sum_t L(t)" if llo != lhi else f"L = L({_code(llo)})"
    if reduction.count is None:
        loss_doc = f"{loss_sum}, summed over the batch"
    elif one_out:
        loss_doc = f"L = sum_b L({_code(llo)})_b / batch, the mean over the batch (reduction mean)"
    else:
        loss_doc = ("L = sum_t sum_b L(t)_b / (tau * batch), the mean over the steps and the "
                    "batch (reduction mean)")
    # the loss's gradient, printed by itself into dos
    yhat, y = At("yhat", m.output.size.symbol, 1, T), m.target.now
    grad_o = loss.grad_matrix(yhat, y)
    names = {yhat: "yhat_rows"}
    onehot = {}
    if loss.target == "class":
        onehot[y] = "labels.ravel()"
    else:
        names[y] = "ys.reshape(-1, N_OUT)"
    loss_grad = [Stmt("yhat_rows = dos.reshape(-1, N_OUT)", ("one row per step and sequence",)),
                 Stmt("\n".join(print_into(grad_o, "yhat_rows", names, onehot=onehot)),
                      (f"grad_o(t) L = {math_text(grad_o)}, in place",))]
    torch = m.torch if m.torch is not None and (
        m.torch.activations is None or spec.activation in m.torch.activations) else None
    torch_code = None
    if torch is not None:
        weights = [f'("{name}", ({", ".join(f"{chr(34)}{p}{chr(34)}" for p in parts)}'
                   f'{"," if len(parts) == 1 else ""}))' for name, parts in torch.weights]
        torch_code = (wrap('TORCH = {"module": "' + torch.module + '", "weights": (', weights,
                           "),", 11) + f'\n         "linear": ("{torch.linear[0]}", '
                                       f'"{torch.linear[1]}")}}')
    sample_ok = (loss.target == "class" and m.loss_when == "all" and not m.reads_target
                 and all(side == "start" for _q, side in m.initial_values())
                 and spec.n_in == spec.n_out)
    target_init_doc = None
    if tinit:
        when = "y(0), the target before step 1" if pad == 1 else \
            f"y(1-{pad}..0), the {pad} targets before step 1"
        lead = "" if pad == 1 else f"{pad}, "
        if loss.target == "class":
            target_init_doc = (f"{when} (teacher forcing reads y(t-1)): labels ({lead}batch,), "
                               f"or ({lead.rstrip(', ')}) shared by the batch; -1 or None: none "
                               f"(the zero vector).").replace("()", "an int" if pad == 1 else "()")
        else:
            target_init_doc = (f"{when} (teacher forcing reads y(t-1)): ({lead}batch, n_out), "
                               f"or ({lead}n_out) shared by the batch; None means zeros.")
    shapes = [f"{q.name} (tau, batch, {q.size.name})" for q in hidden]
    shapes.append("yhat (1, batch, n_out): y^(tau), the model's one output" if one_out
                  else "yhat (tau, batch, n_out)")
    vjp_shapes = [f"{k} (1, batch, n_out): o(tau), the model's one output"
                  if one_out and k == m.output.name else f"{k} (tau, batch, {SIZE_CODE_NAME[size]})"
                  for k, _c, _w, size in out_rows]
    out_note = ("the logits of the output step (the loss is read at tau only)" if one_out else
                "the logits o(t) of every step") + (
        f" and the state{'s' if len(em.exposed) > 1 else ''} "
        f"{', '.join(q.name + '(t)' for q in em.exposed)} of every step 1..tau" if em.exposed
        else "")
    functions = ["forward", "loss", "loss_and_grad (the loss above and its gradients)",
                 "vjp_forward and vjp_backward (the BPTT as a vector-Jacobian product, for any "
                 "loss of your own)", "init_params"] + (["sample"] if sample_ok else []) + (
        ["to_torch and from_torch (PyTorch's state_dict)"] if torch else [])
    return reflow(render(TEMPLATES[form], **{
        "m": m, "spec": spec, "form": form, "loss": loss, "command": python_comment(
        command or codegen_command(spec, form, every=every, inputs=inputs)),
        "template": TEMPLATES[form],
        "reduction": reduction, "every": every, "carried": carried, "init": em.init,
        "loss_steps": "p.tau" if m.loss_when == "all" else "1", "loss_all": not one_out,
        "class_target": loss.target == "class", "bounded_target": spec.loss == "bce",
        "index_input": index_input,
        "params": m.params, "pnames": ", ".join(em.pcode[p.name] for p in m.params),
        "grad_names": em.grad_names, "end_names": em.end_names,
        "exposed": [(q, em.ext_names[q.name]) for q in em.exposed],
        "ext_none": "None, " * len(em.exposed),
        "size_code": SIZE_CODE, "dims": DIMS, "wrap": wrap,
        "param_docs": [f"{p.name} ({p.rows.name}, {p.cols.name})" if p.cols else
                       f"{p.name} ({p.rows.name},)" for p in m.params],
        "param_shapes": [f'"{p.name}": ({SIZE_CODE[p.rows.name]}, {SIZE_CODE[p.cols.name]})'
                         if p.cols else f'"{p.name}": ({SIZE_CODE[p.rows.name]},)'
                         for p in m.params],
        "f_arrays": ctx["f_arrays"], "b_arrays": ctx["b_arrays"],
        "forward": ctx["forward"], "backward": ctx["backward"], "grads": ctx["grads"],
        "loop_sizes_f": ctx["loop_sizes_f"], "loop_sizes_b": ctx["loop_sizes_b"],
        "fdtype": f"{em.pcode[m.params[0].name]}.dtype" if index_input else "xs.dtype",
        "rows": lambda a: _code(a.rows(), tau_value),
        "row": lambda a, s: _code(sp.sympify(s) - a.lo, tau_value),
        "rowslice": rowslice, "out_code": out_code, "out_rows": out_rows,
        "finals_tuple": finals_tuple, "state_keys": state_keys,
        "grad_keys": [p.name for p in m.params] + [n for _q, _s, n in em.init],
        "tvec": em.tvec, "tvec_pad": pad, "tinit": tinit, "target_init_doc": target_init_doc,
        "loss_target": _target_rows(llo, lhi, tau_value),
        "loss_sum": loss_sum, "loss_doc": loss_doc, "loss_grad": loss_grad,
        "loss_grad_text": math_text(grad_o), "kinks": kinks,
        "copy_o": yhat_needed_o, "hidden": hidden, "arr": L.arrays,
        "forward_shapes": ", ".join(shapes) + ";", "forward_shapes_vjp": ", ".join(vjp_shapes),
        "out_note": out_note,
        "equations_text": [equation_text(eq.target.now, eq.rhs) for eq in em.model_eqs],
        "sample_ok": sample_ok, "torch": torch_code,
        "torch_module": torch.module if torch else None,
        "torch_prefix": torch.module.rsplit(".", 1)[-1].lower() + "." if torch else None,
        "functions_doc": wrap("Functions: ", functions, ".", 0, 91), "fill": _fill,
        "helpers": helpers_used("\n".join(_all_code(ctx["forward"] + ctx["backward"]
                                                     + ctx["grads"]))),
        "inamesdoc": "{" + ", ".join(f'"{n}"' for _q, _s, n in em.init) + "}" if em.init
        else "{} (the model has no initial values)",
        "finaldoc": "{" + ", ".join(f'"{n}": {q.name}(tau)' for q, n in carried) + "}" if carried
        else "{} (nothing in final is differentiable)",
        "hiddendoc": ", ".join(f"{q.name}(1..tau)" for q in hidden) + (" " if hidden else ""),
        "hiddennames": "".join(f"{q.name}, " for q in hidden),
        "tau": spec.tau, "T": T, "TAU": TAU,
    }))


SIZE_CODE_NAME = {code: name for name, code in SIZE_CODE.items()}


def _fill(text: str, indent: int = 0, first: bool = False) -> str:
    """A docstring paragraph in lines of at most 95 characters, indented by ``indent`` (not
    the first line with ``first``: it follows the opening quotes)."""
    import textwrap
    pad = " " * indent
    out = textwrap.fill(text, width=95, initial_indent=pad, subsequent_indent=pad,
                        break_long_words=False, break_on_hyphens=False)
    return out[indent:] if first else out


def _target_rows(lo, hi, tau_value) -> str:
    """``p.target`` restricted to the loss's steps lo..hi (rows 1..tau, indexed from 0): the
    whole array, or a slice counted from the end when the steps are tau-relative (the loop
    form has no tau outside its functions)."""
    lo, hi = sp.sympify(lo), sp.sympify(hi)
    if lo == 1 and hi == TAU:
        return "p.target"
    if tau_value is not None:
        lo, hi = lo.subs(TAU, tau_value), hi.subs(TAU, tau_value)
    start, stop = sp.expand(lo - 1), sp.expand(hi)
    if start.has(TAU) or stop.has(TAU):
        start, stop = sp.expand(start - TAU), sp.expand(stop - TAU)
        if start.has(TAU) or stop.has(TAU):
            raise NotImplementedError(f"loss steps {lo}..{hi} mix fixed and tau-relative steps")
    s, e = sp.sstr(start), "" if stop == 0 and (hi - TAU) == 0 else sp.sstr(stop)
    return f"p.target[{s}:{e}]"


def wrap(head: str, items: list[str], tail: str = "", indent: int = 4, width: int = 99) -> str:
    """``head`` and the comma-separated ``items`` then ``tail``, in lines of at most ``width``
    characters (continuation lines indented by ``indent``; an item is never split)."""
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + (", " if i < len(items) - 1 else tail)
        if line.strip() and line != head and len(line + piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = " " * indent
        line += piece
    lines.append(line.rstrip())
    return "\n".join(lines)


def L_slice(a: Array, lo, hi, tau_value) -> str:
    start, stop = sp.expand(sp.sympify(lo) - a.lo), sp.expand(sp.sympify(hi) - a.lo + 1)
    s = "" if start == 0 else _code(start, tau_value)
    e = "" if sp.expand(stop - a.rows()) == 0 else _code(stop, tau_value)
    return f"{a.name}[{s}:{e}]" if (s or e) else a.name


__all__ = ["emit_numpy", "module_filename", "codegen_command", "FORMS", "INPUTS", "Stmt",
           "ordered_terms", "TEMPLATE_NAMES"]


# ---------------------------------------------------------------- line lengths

WIDTH = 99


def _top_level_split(text: str) -> list[str] | None:
    """``text`` split at its commas outside brackets and strings (None when it has none)."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if not parts:
        return None
    last = text[start:].strip()
    return parts + ([last] if last else [])


def _wrap_code(line: str) -> list[str]:
    """A code line longer than ``WIDTH``, broken after the commas of its first bracket that
    holds some, continuation lines aligned with the bracket (PEP 8)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            close, depth, q = None, 0, None
            for j in range(i, len(line)):
                c = line[j]
                if q:
                    if c == q:
                        q = None
                elif c in "\"'":
                    q = c
                elif c in "([{":
                    depth += 1
                elif c in ")]}":
                    depth -= 1
                    if depth == 0:
                        close = j
                        break
            if close is None:
                return [line]
            items = _top_level_split(line[i + 1:close])
            if items is None:
                continue
            head, tail = line[:i + 1], line[close:]
            pieces = [it + "," for it in items[:-1]] + [items[-1] + tail]
            out, cur = [], head
            for piece in pieces:
                sep = "" if cur == head else " "
                if cur != head and len(cur + sep + piece) > WIDTH:
                    out.append(cur)
                    cur, sep = " " * (i + 1), ""
                cur += sep + piece
            out.append(cur)
            return out if all(len(x) <= WIDTH for x in out) else [line]
    return [line]


def _wrap_comment(line: str) -> list[str]:
    indent = line[:len(line) - len(line.lstrip())]
    words = line.strip()[2:].split(" ")
    out, cur = [], ""
    for w in words:
        if cur and len(indent + "# " + cur + " " + w) > WIDTH:
            out.append(indent + "# " + cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(indent + "# " + cur)
    return out


def reflow(src: str) -> str:
    """Code and comment lines longer than ``WIDTH`` broken (docstrings are written to fit);
    the module's syntax tree is unchanged (checked)."""
    import ast
    out, in_doc = [], False
    for line in src.split("\n"):
        toggles = line.count('"""') % 2 == 1
        if not in_doc and len(line) > WIDTH and not line.lstrip().startswith('"""') \
                and line.startswith("#") is False:
            if line.lstrip().startswith("# "):
                out += _wrap_comment(line)
            else:
                out += _wrap_code(line)
        else:
            out.append(line)
        if toggles:
            in_doc = not in_doc
    new = "\n".join(out)
    if ast.dump(ast.parse(new)) != ast.dump(ast.parse(src)):
        raise AssertionError("reflow changed the generated module's syntax tree")
    return new
