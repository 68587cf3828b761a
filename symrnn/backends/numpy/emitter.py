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
"""

from __future__ import annotations

import keyword
import re
import shlex
from dataclasses import dataclass, field

import sympy as sp

from ...functions import ACTIVATIONS, FUNCTIONS, LOSSES, REDUCTIONS
from ...models.base import DIMS, Model, steps_of
from ...naming import TAU, T, At, Grad, values_read
from ...functions import Apply
from ...templating import render
from ...sanitize import python_comment
from ...text import equation_text, math_text, step_text
from ..schedule import Block, Piece, key, schedule
from .printer import ordered_terms, print_batched, print_into

FORMS = ("loop", "unrolled", "checkpointed")
TEMPLATES = {form: "numpy/module.py.jinja" for form in FORMS}
SIZE_CODE = {d.name: f"N_{d.name[2:].upper()}" for d in DIMS}  # n_hidden -> N_HIDDEN


@dataclass(frozen=True)
class Stmt:
    """Lines of generated code and the comment lines (math) printed above them; a loop's
    ``code`` is its head and ``body`` its statements."""

    code: str
    comments: tuple[str, ...] = ()
    body: tuple["Stmt", ...] | None = None


@dataclass
class Array:
    """Rows for steps lo..hi of a quantity (or gradient), (rows, batch, ``size``)."""

    name: str
    size: str
    lo: sp.Expr
    hi: sp.Expr
    what: str

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

    def __init__(self, tau_value: int | None):
        self.tau_value = tau_value
        self.arrays: dict[object, Array] = {}  # key: ("q", name) or ("g", name)
        self.views: dict[tuple, str] = {}
        self.view_lines: list[Stmt] = []

    def row(self, k, step) -> str:
        a = self.arrays[k]
        return f"{a.name}[{_code(step - a.lo, self.tau_value)}]"

    def slice(self, k, lo, hi) -> str:
        a = self.arrays[k]
        start, stop = sp.expand(lo - a.lo), sp.expand(hi - a.lo + 1)
        s = "" if start == 0 else _code(start, self.tau_value)
        e = "" if sp.expand(stop - a.rows()) == 0 else _code(stop, self.tau_value)
        return f"{a.name}[{s}:{e}]" if (s or e) else a.name

    def flat(self, k, lo, hi, label: str) -> str:
        """A (steps * batch, n) view of rows lo..hi, defined once per function."""
        a = self.arrays[k]
        vk = (a.name, sp.expand(lo - a.lo), sp.expand(hi - a.lo))
        if vk not in self.views:
            name = label
            taken = set(self.views.values())
            i = 2
            while name in taken:
                name, i = f"{label}{i}", i + 1
            self.views[vk] = name
            self.view_lines.append(Stmt(f"{name} = {self.slice(k, lo, hi)}.reshape(-1, {a.size})",
                                        (f"{a.what} for steps {step_text(lo)}..{step_text(hi)}, "
                                         f"one row per step and sequence",)))
        return self.views[vk]

    def take_views(self) -> list[Stmt]:
        out, self.view_lines = self.view_lines, []
        return out


def _array_name(name: str) -> str:
    """hs for h(t), dhs for its gradient (a_s where the plural would be a Python keyword)."""
    return f"{name}s" if not keyword.iskeyword(f"{name}s") else f"{name}_s"


def _label(base: str, k) -> str:
    """A view's name: the array's (hs -> h_all, h_prev_all; dhs -> dh_all)."""
    base = base[:-2] if base.endswith("_s") else base[:-1]
    return base + {0: "_all", -1: "_prev_all", 1: "_next_all"}.get(int(k), f"_all{int(k)}")


@dataclass
class _Emitter:
    model: Model
    spec: object
    form: str
    equations: list
    catalogue: tuple = ()
    layout: _Layout = field(init=False)

    def __post_init__(self):
        self.tau_value = self.spec.tau if self.form == "unrolled" else None
        self.layout = _Layout(self.tau_value)
        self.loss = LOSSES[self.spec.loss]
        self.model_eqs = self.model.with_activation(self.spec.activation)
        self.class_target = self.loss.target == "class"
        self.size = {d.symbol: SIZE_CODE[d.name] for d in DIMS}
        # checkpointed: the gradient that reaches each state q(tau) from the steps after the
        # segment (d<q>_end, None for the last segment) is added where grad_q(tau) is formed
        self.carried = {q.name for q, side in self.model.initial_values() if side == "start"} \
            if self.form == "checkpointed" else set()
        self.injected: set[str] = set()

    # ---------------------------------------------------------------- storage

    def plan(self) -> None:
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
        self.tvec = None
        if m.reads_target:  # the targets as vectors, zero rows before step 1 (y(0) = 0)
            offsets = [sp.expand(a.step - T) for eq in self.model_eqs for a in eq.rhs.atoms(At)
                       if a.name == m.target.name]
            lo = 1 + min(min(offsets), 0)
            self.tvec = _array_name(m.target.name + "v")
            L.arrays[("q", m.target.name)] = Array(self.tvec, self.size[m.target.size.symbol],
                                                   lo, TAU, f"{m.target.name}(t) as vectors")
        for x in m.inputs:
            L.arrays[("q", x.name)] = Array(_array_name(x.name), self.size[x.size.symbol], 1, TAU,
                                            f"{x.name}(t)")
        for eq in self.model_eqs:
            q = eq.target
            lo, hi = steps_of(eq.when)
            lo = lo - 1 if q.name in starts else lo
            hi = hi + 1 if q.name in ends else hi
            L.arrays[("q", q.name)] = Array(_array_name(q.name), self.size[q.size.symbol], lo, hi,
                                            f"{q.name}(t)")
        for k, owner in self.alias.items():
            own, me = L.arrays[owner], L.arrays[k]
            own.lo = min(own.lo, me.lo, key=key)
            own.hi = max(own.hi, me.hi, key=key)
            L.arrays[k] = own
        out = m.output
        llo, lhi = steps_of(m.loss_when)
        L.arrays[("q", "yhat")] = Array("yhats", self.size[out.size.symbol], llo, lhi, "y^(t)")
        # gradients: the union of each quantity's equation ranges
        for e in grads:
            k = ("g", e.about.name)
            lo, hi = e.steps.lo, e.steps.hi
            if k in L.arrays:
                a = L.arrays[k]
                a.lo, a.hi = min(a.lo, lo, key=key), max(a.hi, hi, key=key)
            else:
                q = e.about
                L.arrays[k] = Array(_array_name("d" + q.name), self.size[q.size.symbol], lo, hi,
                                    f"grad_{q.name}(t) L")
        # grad_o(t) L in place of y^(t) when it covers the same steps
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

    # ---------------------------------------------------------------- names

    def names_at(self, expr, step=None) -> dict:
        """Code for every quantity, gradient and parameter in ``expr`` at one step."""
        L, names = self.layout, {}
        for p in self.model.params:
            names[p.symbol] = p.name
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
            names[p.symbol] = p.name
        for a in sorted(values_read(expr), key=sp.default_sort_key):  # deterministic views
            k = sp.expand(a.step - T)
            if a.name == self.model.target.name and not self.tvec:
                names[a] = self._target_flat(lo + k, hi + k)
            else:
                names[a] = L.flat(("q", a.name), lo + k, hi + k, _label(L.arrays[("q", a.name)].name, k))
        for g in expr.atoms(Grad):
            if isinstance(g.of, At):
                k = sp.expand(g.of.step - T)
                names[g] = L.flat(("g", g.of.name), lo + k, hi + k, _label(L.arrays[("g", g.of.name)].name, k))
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

    # ---------------------------------------------------------------- comments

    def forward_comment(self, piece: Piece, step) -> str:
        eq = piece.note
        rhs = eq.rhs if step is None else eq.rhs.xreplace({T: step})
        lhs = eq.target.at(T if step is None else step)
        ref = f"  ({eq.ref})" if eq.ref else ""
        return equation_text(lhs, rhs) + ref

    def backward_comment(self, piece: Piece, step) -> tuple[str, ...]:
        eq = piece.note
        if step is None:
            text = equation_text(eq.lhs, eq.generic)
        else:
            text = equation_text(Grad(eq.about.at(step)), eq.generic.xreplace({T: step}))
        lines = (text,)
        printed = [f.id for f in self.catalogue if f.gradient_of == eq.about.name and (
            f.steps is None or eq.steps is None or f.steps == eq.steps)]
        if printed:
            lines += (f"(the note prints this gradient: {', '.join(printed)})",)
        return lines

    # ---------------------------------------------------------------- blocks

    def hold(self, grad: bool, target) -> sp.MatrixExpr:
        q = self.model.quantity(target)
        return Grad(q.now) if grad else q.now

    def stacked(self, p: Piece, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", p.target)
        target = self.layout.flat(k, p.lo, p.hi, _label(self.layout.arrays[k].name, 0))
        names = self.names_over(p.expr, p.lo, p.hi)
        held = self.hold(grad, p.target)
        expr = p.expr
        if grad and self.grad_o_in_yhat and p.target == self.model.output.name:
            yhat = At("yhat", held.shape[0], 1, T)
            names[yhat] = target  # grad_o(t) L is built in place of y^(t)
        code = print_into(expr, target, names, onehot=self.onehot(names))
        views = self.layout.take_views()
        comment = (self.backward_comment(p, None) if grad else (self.forward_comment(p, None),))
        rng = f"for steps {step_text(p.lo)}..{step_text(p.hi)} at once"
        return views + [Stmt("\n".join(code), comment[:1] + (rng,) + comment[1:])]

    def hoisted(self, h, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", h.target)
        target = self.layout.flat(k, h.lo, h.hi, _label(self.layout.arrays[k].name, 0))
        names = self.names_over(h.expr, h.lo, h.hi)
        code = print_into(h.expr, target, names, onehot=self.onehot(names))
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
            scratch = _scratch(self.layout.arrays[k].size)
            if expr is not None:
                lines += print_into(expr, target, names, transposes=self.transposes,
                                    scratch=scratch, onehot=self.onehot(names))
            if inside:
                f = piece.expr.f
                act = FUNCTIONS[f]
                if act.numpy is not None:
                    lines.append(f"{act.numpy}({target}, out={target})")
                elif act.numpy_in_place:
                    lines += [line.format(x=target) for line in act.numpy_in_place]
                else:
                    lines += print_into(Apply(f, hold_at), target, {**names, hold_at: target})
            shown = None if step is None else at
            comments = self.backward_comment(piece, shown) if grad else \
                (self.forward_comment(piece, shown),)
            if grad and piece.target in self.carried and step is not None and \
                    key(step) == key(TAU):
                end = f"d{piece.target}_end"
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
                for e in self.equations if not e.is_param]

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
        m, L = self.model, self.layout
        order_f = [eq.target.name for eq in self.model_eqs]
        fblocks = schedule(self.forward_pieces(), order_f, grad=False)
        self.transposes = {}
        f_loop = self.loop_params(fblocks, False)
        prelude_f = []
        for name in f_loop:
            P = m.param(name).symbol
            self.transposes[P] = f"{name}T"
            prelude_f.append(Stmt(f"{name}T = _aligned({name}.T)",
                                  (f"{name}^T once, contiguous, for the GEMM of every step",)))
        forward = self.blocks(fblocks, grad=False)
        # backward (its own function: views are defined anew)
        self.transposes = {}
        L.views = {}
        order_b = list(reversed(order_f))
        bblocks = schedule(self.backward_pieces(), order_b, grad=True)
        b_loop = self.loop_params(bblocks, True)
        prelude_b = [Stmt(f"{name} = _aligned({name})",
                          ("contiguous and aligned, for the GEMM of every step",))
                     for name in b_loop]
        backward = self.blocks(bblocks, grad=True)
        missing = self.carried - self.injected
        if missing:
            raise ValueError(f"form checkpointed: the gradient of {', '.join(sorted(missing))} "
                             f"at step tau is not formed in a step of its own, so the gradient "
                             f"from a later segment has nowhere to enter; use --form loop")
        grads = []
        done: dict = {}  # a sum already computed (two biases of one gate have the same)
        for e in self.equations:
            if not e.is_param:
                continue
            if e.generic in done:
                grads.append(Stmt(f"grad_{e.about.name} = grad_{done[e.generic]}.copy()",
                                  (equation_text(e.lhs, e.rhs) + f", the same sum as "
                                   f"grad_{done[e.generic]}",)))
                continue
            done[e.generic] = e.about.name
            parts = []
            for s in (e.generic.args if isinstance(e.generic, sp.MatAdd) else (e.generic,)):
                names = self.names_over(s.expr, s.steps.lo, s.steps.hi)
                parts.append(print_batched(s.expr, names, summed=True))
            views = L.take_views()
            grads += views + [Stmt(f"grad_{e.about.name} = {' + '.join(parts)}",
                                   (equation_text(e.lhs, e.rhs) + ", as one GEMM or column sum "
                                    "over all steps",))]
        # arrays allocated by each pass
        f_arrays = self._arrays("q", [eq.target.name for eq in self.model_eqs])
        b_arrays = [a for a in self._arrays("g", [q for q in order_b]) if a.name != "yhats"]
        init = [(q, side) for q, side in m.initial_values()]
        return {
            "forward": prelude_f + forward, "backward": prelude_b + backward, "grads": grads,
            "f_arrays": f_arrays, "b_arrays": b_arrays, "init": init,
            "loop_sizes_f": self._loop_sizes(fblocks, "q", prelude_f + forward),
            "loop_sizes_b": self._loop_sizes(bblocks, "g", prelude_b + backward),
            "tvec": self.tvec,
        }

    def _arrays(self, kind: str, names: list[str]) -> list[Array]:
        out = []
        for n in names:
            k = (kind, n)
            if k in self.layout.arrays and self.layout.arrays[k] not in out:
                out.append(self.layout.arrays[k])
        return out

    def _loop_sizes(self, blocks, kind, stmts: list[Stmt]) -> list[str]:
        """The sizes of the scratch arrays (tmp_hidden, ...) the loop statements use."""
        code = "\n".join(_all_code(stmts))
        sizes = []
        for b in blocks:
            if b.direction != 0:
                for t in b.targets:
                    s = self.layout.arrays[(kind, t)].size
                    if s not in sizes and re.search(rf"\b{_scratch(s)}\b", code):
                        sizes.append(s)
        return sizes


def _scratch(size: str) -> str:
    """The scratch array of one step's values of a size: N_HIDDEN -> tmp_hidden."""
    return f"tmp_{size.lower()[2:]}"


def _all_code(stmts) -> list[str]:
    out = []
    for st in stmts:
        out.append(st.code)
        out += _all_code(st.body or ())
    return out


# ---------------------------------------------------------------- public entry points

def module_filename(spec, form: str, every: int | None = None) -> str:
    """``rnn_loop.py``, ``rnn_checkpointed[_k<K>].py`` or ``rnn_unrolled_tau<N>.py``, plus the
    non-default choices."""
    from ...spec import RNNSpec
    parts = [spec.model_def.name.replace("-", "_"), form] + ([f"tau{spec.tau}"] if form == "unrolled" else [])
    if form == "checkpointed" and every is not None:
        parts.append(f"k{every}")
    default = RNNSpec()
    for name, flag in (("n_in", "in"), ("n_hidden", "h"), ("n_out", "out")):
        if getattr(spec, name) != getattr(default, name):
            parts.append(f"{flag}{getattr(spec, name)}")
    for name in ("activation", "loss", "reduction"):
        if getattr(spec, name) != getattr(default, name):
            parts.append(getattr(spec, name).replace("-", "_"))
    return "_".join(parts) + ".py"


def codegen_command(spec, form: str, out: str | None = None, every: int | None = None) -> str:
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
    if out is not None:
        words += ["--out", out]
    return shlex.join(words)


def emit_numpy(model: Model, spec, equations: list, form: str = "loop",
               command: str | None = None, catalogue: tuple = (),
               every: int | None = None) -> str:
    """Python source of a NumPy-only module with ``forward``, ``loss`` and ``loss_and_grad``
    for ``model`` (the sizes, activation, loss and reduction of ``spec``), from its checked
    matrix ``equations``. ``form`` is "loop" (any tau), "unrolled" (straight-line code for
    ``spec.tau``) or "checkpointed" (any tau; the backward pass keeps the states only every
    ``every`` steps, about sqrt(tau) when None, and recomputes each segment). ``command`` is
    the regenerate line of the header."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
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
    em = _Emitter(model, spec, form, equations, catalogue)
    ctx = em.build()
    loss = LOSSES[spec.loss]
    m = model
    init = [(q, side, f"{q.name}0" if side == "start" else f"{q.name}_end")
            for q, side in ctx["init"]]
    L = em.layout
    out_arr = L.arrays[("q", m.output.name)]
    llo, lhi = steps_of(m.loss_when)
    yhat_needed_o = any(a.name == m.output.name for e in equations for a in
                        values_read(e.generic or e.rhs))
    hidden = [q for q in m.quantities if q.role == "node" and any(
        a.name == q.name for a in m.equation(m.output).rhs.atoms(At))] if m.output in [
        eq.target for eq in m.equations] else []
    reduction = REDUCTIONS[spec.reduction]
    carried = [(q, name) for q, side, name in init if side == "start"]
    return render(TEMPLATES[form], **{
        "m": m, "spec": spec, "form": form, "loss": loss, "command": python_comment(
        command or codegen_command(spec, form, every=every)), "template": TEMPLATES[form],
        "reduction": reduction, "every": every, "carried": carried,
        "loss_steps": "p.tau" if m.loss_when == "all" else "1",
        "class_target": loss.target == "class", "bounded_target": spec.loss == "bce",
        "params": m.params, "size_code": SIZE_CODE, "dims": DIMS, "wrap": wrap,
        "param_docs": [f"{p.name} ({p.rows.name}, {p.cols.name})" if p.cols else
                       f"{p.name} ({p.rows.name},)" for p in m.params],
        "param_shapes": [f'"{p.name}": ({SIZE_CODE[p.rows.name]}, {SIZE_CODE[p.cols.name]})'
                         if p.cols else f'"{p.name}": ({SIZE_CODE[p.rows.name]},)'
                         for p in m.params],
        "inputs": m.inputs, "init": init,
        "f_arrays": ctx["f_arrays"], "b_arrays": ctx["b_arrays"],
        "forward": ctx["forward"], "backward": ctx["backward"], "grads": ctx["grads"],
        "loop_sizes_f": ctx["loop_sizes_f"], "loop_sizes_b": ctx["loop_sizes_b"],
        "rows": lambda a: _code(a.rows(), em.tau_value),
        "row": lambda a, s: _code(sp.sympify(s) - a.lo, em.tau_value),
        "rowslice": lambda a, lo, hi: L_slice(a, lo, hi, em.tau_value),
        "out_arr": out_arr, "loss_lo": llo, "loss_hi": lhi, "tvec": ctx["tvec"],
        "tvec_pad": (_code(1 - L.arrays[("q", m.target.name)].lo) if ctx["tvec"] else None),
        "loss_target": _target_rows(llo, lhi, em.tau_value),
        "loss_sum": "L = sum_t L(t)" if llo != lhi else f"L = L({_code(llo)})",
        "copy_o": yhat_needed_o, "hidden": hidden, "arr": L.arrays,
        "equations_text": [equation_text(eq.target.now, eq.rhs) for eq in em.model_eqs],
        "tau": spec.tau, "T": T, "TAU": TAU,
    })


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


__all__ = ["emit_numpy", "module_filename", "codegen_command", "FORMS", "Stmt",
           "ordered_terms"]
