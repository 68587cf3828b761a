"""PyTorch code generation: a model's vjp (``symrnn.backends.vjp``) printed for torch tensors
into ``templates/torch/module.py.jinja``.

The module holds a ``torch.autograd.Function`` whose backward is the run's checked BPTT and an
``nn.Module`` with the model's parameters. This emitter decides the memory layout and prints
the pieces the step schedule (``symrnn.backends.schedule``) orders:

- one tensor per quantity and per gradient, (steps, batch, n), allocated on the device and in
  the dtype of x; ``h[t]`` is the row of step t (the views ``hs.unbind(0)``, made once, so a
  step indexes a tuple);
- a node read only by the function applied to it (a(t) in h(t) = tanh(a(t))) lives in that
  function's tensor and is turned into it in place (``tanh_``); a gradient read only by the
  entrywise factor of another (grad_h(t) by grad_a(t)) holds that one too;
- terms that read nothing of their loop (b + U x(t), V^T grad_o(t)) and the parameter
  gradients are single matrix products over the stacked steps (``(steps * batch, n)`` views);
- a loop step writes in place (``addmm_``, ``addcmul_``, ``out=``);
- the caller's gradients of the outputs (``Cotangent``) are read where they enter; a state's
  may be None (no gradient flows to it), and its terms are then skipped.

Nothing symbolic is computed here beyond printing.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

import sympy as sp

from ...functions import LOSSES, REDUCTIONS, Apply
from ...models.base import DIMS, Model
from ...naming import TAU, T, At, Grad, values_read
from ...sanitize import python_comment
from ...templating import render
from ...text import equation_text, math_text, step_text
from ..files import codegen_command, loss_rows, wrap
from ..schedule import Block, Piece, key, schedule
from ..vjp import VJP, Cotangent, build
from .printer import Statements, print_torch, inplace_method

TEMPLATE = "torch/module.py.jinja"
SIZE_CODE = {d.name: f"N_{d.name[2:].upper()}" for d in DIMS}
#: Names the module's functions use themselves; arrays never take them.
RESERVED = {"torch", "P", "xs", "tau", "batch", "t", "new", "tape", "d_out", "grads", "out",
            "final", "params", "x", "y", "ctx", "math", "zeros", "self"}


@dataclass(frozen=True)
class Stmt:
    """Lines of code and the comment lines (math) printed above them; a loop's ``code`` is
    its head and ``body`` its statements."""

    code: str
    comments: tuple[str, ...] = ()
    body: tuple["Stmt", ...] | None = None


@dataclass
class Arr:
    """A tensor (rows, batch, ``size``) holding steps lo..hi of a quantity or gradient;
    ``rows`` names the tuple of its per-step views."""

    name: str
    rows: str
    size: str
    lo: sp.Expr
    hi: sp.Expr
    what: str
    given: bool = False  # an argument (x, a cotangent): not allocated here
    base: str = ""  # the stem of its views' names (h: h_all, h_prev_all)
    optional: bool = False  # may be None (a state's given gradient)

    def count(self) -> sp.Expr:
        return sp.expand(self.hi - self.lo + 1)


def _code(e) -> str:
    return sp.sstr(sp.expand(sp.sympify(e)))


class _Names:
    def __init__(self, taken=()):
        self.taken = set(RESERVED) | set(taken)

    def __call__(self, base: str) -> str:
        name = base if not keyword.iskeyword(base) else base + "_"
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name


class _Emitter:
    def __init__(self, v: VJP, catalogue=()):
        self.v, self.m, self.catalogue = v, v.model, catalogue
        self.size = {d.symbol: SIZE_CODE[d.name] for d in DIMS}
        self.new = _Names()
        self.arrays: dict[tuple, Arr] = {}
        self.views: dict[tuple, str] = {}
        self.view_lines: list[Stmt] = []
        self.used_rows: set[str] = set()
        self.transposes: dict = {}
        self.view_names: list[str] = []

    # ---------------------------------------------------------------- storage

    def _arr(self, k, base: str, size, lo, hi, what: str, given: bool = False) -> Arr:
        name = self.new(base + "s")
        a = Arr(name, self.new(base), self.size[size], lo, hi, what, given, base)
        self.arrays[k] = a
        return a

    def plan(self) -> None:
        v, m = self.v, self.m
        x = v.input
        self.arrays[("q", x.name)] = Arr("xs", self.new(x.name), self.size[x.size.symbol], 1,
                                          TAU, f"{x.name}(t)", True, x.name)
        if v.target_steps is not None:
            lo, hi = v.target_steps
            self._arr(("q", m.target.name), m.target.name + "v", m.target.size.symbol, lo, hi,
                      f"{m.target.name}(t) as vectors", given=True)
        back_reads = {a.name for p in v.backward for a in values_read(p.expr)}
        back_reads |= {a.name for _p, sums in v.param_grads for s in sums
                       for a in values_read(s.expr)}
        exposed = {q.name for q in v.outputs} | {i.quantity.name for i in v.initial}
        readers: dict[str, int] = {}
        for eq in v.equations:
            for a in eq.rhs.atoms(At):
                readers[a.name] = readers.get(a.name, 0) + 1
        self.alias: dict[tuple, tuple] = {}
        for eq in v.equations:  # a(t) lives in h's tensor when only phi(a(t)) reads it
            if isinstance(eq.rhs, Apply) and isinstance(eq.rhs.arg, At) and \
                    eq.rhs.arg.step == T and inplace_method(eq.rhs.f) is not None:
                src = eq.rhs.arg.name
                if src not in back_reads and readers.get(src) == 1 and src not in exposed:
                    self.alias[("q", src)] = ("q", eq.target.name)
        for eq in v.equations:
            q = eq.target
            if ("q", q.name) in self.alias:
                continue
            lo, hi = v.q_steps[q.name]
            self._arr(("q", q.name), q.name, q.size.symbol, lo, hi, f"{q.name}(t)")
        for k, owner in self.alias.items():
            own = self.arrays[owner]
            lo, hi = v.q_steps[k[1]]
            own.lo, own.hi = min(own.lo, lo, key=key), max(own.hi, hi, key=key)
            self.arrays[k] = own

    def plan_backward(self) -> None:
        v, m = self.v, self.m
        for q in v.outputs:
            lo, hi = v.out_steps[q.name]
            a = Arr(f"d_{q.name}", self.new(f"d_{q.name}_t"), self.size[q.size.symbol], lo, hi,
                    f"the given gradient of out[{q.name!r}]", True, f"d_{q.name}",
                    optional=q is not m.output)
            self.new.taken.add(a.name)
            self.arrays[("d", q.name)] = a
        # grad_o(t) L = d_o(t) at the loss's steps, and nothing else: the given tensor itself
        self.cot_alias: dict[str, str] = {}
        pieces: dict[str, list[Piece]] = {}
        for p in v.backward:
            pieces.setdefault(p.target, []).append(p)
        for name, ps in pieces.items():
            if len(ps) == 1 and isinstance(ps[0].expr, Cotangent) and ("d", name) in self.arrays:
                d = self.arrays[("d", name)]
                if key(d.lo) == key(ps[0].lo) and key(d.hi) == key(ps[0].hi):
                    self.cot_alias[name] = d.name
                    self.arrays[("g", name)] = d
        param_reads = {g.of.name for _p, sums in v.param_grads for s in sums
                       for g in s.expr.atoms(Grad) if isinstance(g.of, At)}
        g_readers: dict[str, set] = {}
        for p in v.backward:
            for g in p.expr.atoms(Grad):
                if isinstance(g.of, At):
                    g_readers.setdefault(g.of.name, set()).add(id(p))
        self.galias: dict[str, str] = {}
        for p in v.backward:  # grad_a(t) in grad_h's tensor when only diag(phi') grad_h reads it
            e = p.expr
            if isinstance(e, sp.MatMul) and len(e.args) == 2 and \
                    isinstance(e.args[0], sp.DiagMatrix) and isinstance(e.args[1], Grad):
                src = e.args[1].of
                if src.step == T and src.name not in param_reads and \
                        src.name not in self.cot_alias and \
                        g_readers.get(src.name) == {id(p)} and len(pieces[p.target]) == 1:
                    slo, shi = v.g_steps[src.name]
                    lo, hi = v.g_steps[p.target]
                    if key(slo) <= key(lo) and key(hi) <= key(shi):
                        self.galias[p.target] = src.name
        for name in v.backward_order:
            if name not in v.g_steps or name in self.cot_alias or name in self.galias:
                continue
            q = m.quantity(name)
            lo, hi = v.g_steps[name]
            self._arr(("g", name), "d" + name, q.size.symbol, lo, hi, f"grad_{name}(t) L")
        for name, src in self.galias.items():
            self.arrays[("g", name)] = self.arrays[("g", src)]

    # ---------------------------------------------------------------- names

    def _key(self, a) -> tuple:
        if isinstance(a, Cotangent):
            return ("d", a.name)
        if isinstance(a, Grad):
            return ("g", a.of.name)
        return ("q", a.name)

    def _leaves(self, expr) -> list:
        out = [a for a in values_read(expr)]
        out += [g for g in expr.atoms(Grad) if isinstance(g.of, At)]
        return sorted(out, key=sp.default_sort_key)

    def _step_of(self, a):
        return a.of.step if isinstance(a, Grad) else a.step

    def _params(self, names: dict) -> dict:
        for p in self.m.params:
            names[p.symbol] = f'P["{p.name}"]'
        return names

    def names_at(self, expr, step) -> dict:
        """Code for every leaf of ``expr`` at one step (a row view)."""
        names = self._params({})
        for a in self._leaves(expr):
            arr = self.arrays[self._key(a)]
            s = self._step_of(a)
            if step is not None:
                s = s.xreplace({T: step})
            names[a] = f"{arr.rows}[{_code(s - arr.lo)}]"
            self.used_rows.add(arr.name)
        return names

    def flat(self, k, lo, hi, off=0) -> str:
        """A (steps * batch, n) view of rows lo..hi, defined once per function (``off``: the
        step it is read at, relative to t, for its name: h_prev_all is h(t-1))."""
        a = self.arrays[k]
        vk = (a.name, sp.expand(lo - a.lo), sp.expand(hi - a.lo))
        if vk not in self.views:
            start, stop = sp.expand(lo - a.lo), sp.expand(hi - a.lo + 1)
            s = "" if start == 0 else _code(start)
            e = "" if sp.expand(stop - a.count()) == 0 else _code(stop)
            part = f"{a.name}[{s}:{e}]" if (s or e) else a.name
            label = {0: "_all", -1: "_prev_all", 1: "_next_all"}.get(int(off), f"_all{int(off)}")
            name = self.new(a.base + label)
            self.view_names.append(name)
            self.views[vk] = name
            code = f"{part}.reshape(-1, {a.size})"
            if a.optional:  # a state's gradient may be None
                code += f" if {a.name} is not None else None"
            self.view_lines.append(Stmt(f"{name} = {code}",
                                        (f"{a.what} for steps {step_text(lo)}..{step_text(hi)}, "
                                         f"one row per step and sequence",)))
        return self.views[vk]

    def names_over(self, expr, lo, hi) -> dict:
        """Code for every leaf of ``expr`` (written at t) over steps lo..hi (flat views)."""
        names = self._params({})
        for a in self._leaves(expr):
            k = sp.expand(self._step_of(a) - T)
            names[a] = self.flat(self._key(a), lo + k, hi + k, k)
        return names

    def take_views(self) -> list[Stmt]:
        out, self.view_lines = self.view_lines, []
        return out

    # ---------------------------------------------------------------- comments

    def comment(self, piece: Piece, grad: bool, step) -> tuple[str, ...]:
        eq = piece.note
        if not grad:
            rhs = eq.rhs if step is None else eq.rhs.xreplace({T: step})
            ref = f"  ({eq.ref})" if eq.ref else ""
            return (equation_text(eq.target.at(T if step is None else step), rhs) + ref,)
        expr = piece.expr if step is None else piece.expr.xreplace({T: step})
        lhs = Grad(eq.about.at(T if step is None else step))
        lines = (_text(lhs, expr),)
        printed = [f.id for f in self.catalogue if f.gradient_of == eq.about.name and (
            f.steps is None or eq.steps is None or f.steps == eq.steps)]
        if printed:
            lines += (f"(the note prints this gradient: {', '.join(printed)})",)
        return lines

    # ---------------------------------------------------------------- statements

    def _split_cot(self, expr):
        """(the expression without the caller's gradients, the cotangents it adds)."""
        terms = list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]
        cots = [t for t in terms if isinstance(t, Cotangent)]
        rest = [t for t in terms if not isinstance(t, Cotangent)]
        body = None if not rest else rest[0] if len(rest) == 1 else sp.MatAdd(*rest)
        return body, cots

    def _cot_lines(self, cots, target: str, names: dict) -> list[str]:
        lines = []
        for c in cots:
            arg = self.arrays[("d", c.name)].name
            lines += [f"if {arg} is not None:", f"    {target}.add_({names[c]})"]
        return lines

    def write(self, expr, target: str, names: dict, held: bool = False) -> list[str]:
        """Lines writing ``expr`` into ``target`` (``held``: target already holds a part of
        the sum, the terms of ``expr`` are added)."""
        body, cots = self._split_cot(expr)
        st = Statements(names, self.transposes)
        if body is None:
            lines = [] if held else [f"{target}.zero_()"]
        elif held:
            lines = st.add(list(body.args) if isinstance(body, sp.MatAdd) else [body], target)
        elif isinstance(body, sp.ZeroMatrix):
            lines = [f"{target}.zero_()"]
        else:
            lines = st.into(body, target)
        return lines + self._cot_lines(cots, target, names)

    def stacked(self, p: Piece, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", p.target)
        if grad and p.target in self.cot_alias:
            return [Stmt("", self.comment(p, grad, None) + (
                f"(the given tensor {self.cot_alias[p.target]} itself)",))]
        target = self.flat(k, p.lo, p.hi)
        names = self.names_over(p.expr, p.lo, p.hi)
        lines = self.write(p.expr, target, names)
        rng = f"for steps {step_text(p.lo)}..{step_text(p.hi)} at once"
        c = self.comment(p, grad, None)
        return self.take_views() + [Stmt("\n".join(lines), c[:1] + (rng,) + c[1:])]

    def hoisted(self, h, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", h.target)
        target = self.flat(k, h.lo, h.hi)
        names = self.names_over(h.expr, h.lo, h.hi)
        lines = self.write(h.expr, target, names)
        what = f"grad_{h.target}(t) L" if grad else f"{h.target}(t)"
        inside = " (inside the function applied to it)" if h.inside else ""
        return self.take_views() + [Stmt("\n".join(lines), (
            f"{math_text(h.expr)}: the part of {what} that does not depend on the loop{inside},",
            f"for steps {step_text(h.lo)}..{step_text(h.hi)} at once, in the storage of {what}"))]

    def step_body(self, seg, grad: bool, step) -> list[Stmt]:
        out = []
        at = T if step is None else step
        for piece, (loop_terms, inside), held in seg.body:
            k = ("g" if grad else "q", piece.target)
            arr = self.arrays[k]
            target = f"{arr.rows}[{_code(at - arr.lo)}]"
            self.used_rows.add(arr.name)
            terms = [t.xreplace({T: at}) for t in loop_terms]
            lines: list[str] = []
            if terms:
                expr = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
                names = self.names_at(expr, None)
                if not (len(terms) == 1 and names.get(terms[0]) == target):
                    lines += self.write(expr, target, names, held)
            if inside:
                method = inplace_method(piece.expr.f)
                if method:
                    lines.append(f"{target}.{method}()")
                elif method is None:
                    q = self.m.quantity(piece.target)
                    now = q.at(at)
                    lines.append(f"{target}.copy_("
                                 f"{print_torch(Apply(piece.expr.f, now), {now: target})})")
            comments = self.comment(piece, grad, None if step is None else at)
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
            if sp.expand(seg.hi - seg.lo) == 0:
                out.append(Stmt("", (f"step t = {step_text(seg.lo)}",)))
                out += self.step_body(seg, grad, seg.lo)
                continue
            if block.direction > 0:
                head = f"for t in range({_code(seg.lo)}, {_code(seg.hi + 1)}):"
            else:
                head = f"for t in range({_code(seg.hi)}, {_code(seg.lo - 1)}, -1):"
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

    def loop_transposes(self, blocks: list[Block]) -> list[Stmt]:
        """A^T of each parameter a loop step multiplies with (W h(t-1) is h[t-1] @ W^T), a
        view named once before the loops (each .T is a new view)."""
        lines = []
        for b in blocks:
            for seg in b.segments:
                for _p, (terms, _inside), _held in seg.body:
                    for t in terms:
                        for f in sorted(t.atoms(sp.MatrixSymbol), key=sp.default_sort_key):
                            p = self.m.param_of(f)
                            if p is None or p.cols is None or f in self.transposes or \
                                    not any(m == f for m in _left_factors(t)):
                                continue
                            name = self.new(f"{p.name}_T")
                            self.transposes[f] = name
                            lines.append(Stmt(f'{name} = P["{p.name}"].T',
                                              (f"{p.name}^T, for every step",)))
        return lines

    # ---------------------------------------------------------------- passes

    def forward_pass(self) -> dict:
        v = self.v
        self.plan()
        blocks = schedule(v.forward, v.forward_order, grad=False)
        pre = self.loop_transposes(blocks)
        body = self.blocks(blocks, grad=False)
        allocated = []
        for eq in v.equations:
            a = self.arrays[("q", eq.target.name)]
            if a not in allocated:
                allocated.append(a)
        return {"f_body": pre + body, "f_arrays": allocated,
                "f_rows": [a for a in [self.arrays[("q", v.input.name)], *allocated]
                           + ([self.arrays[("q", self.m.target.name)]]
                              if v.target_steps is not None else [])
                           if a.name in self.used_rows]}

    def backward_pass(self) -> dict:
        v, m = self.v, self.m
        self.views, self.view_lines, self.used_rows, self.transposes = {}, [], set(), {}
        self.new.taken -= set(self.view_names)  # views are local to each function
        self.plan_backward()
        blocks = schedule(v.backward, v.backward_order, grad=True)
        body = self.blocks(blocks, grad=True)
        grads, done = [], {}
        for p, sums in v.param_grads:
            total = sp.MatAdd(*sums) if len(sums) > 1 else sums[0]
            if total in done:
                grads.append(Stmt(f'grads["{p.name}"] = grads["{done[total]}"].clone()',
                                  (f"grad_{p.name} L: the same sum as grad_{done[total]} L",)))
                continue
            done[total] = p.name
            parts = []
            for s in sums:
                names = self.names_over(s.expr, s.steps.lo, s.steps.hi)
                parts.append(print_torch(s.expr, names, summed=True))
            grads += self.take_views() + [Stmt(
                f'grads["{p.name}"] = {" + ".join(parts)}',
                (f"grad_{p.name} L = {math_text(total)}, as one product or column sum over "
                 f"all steps",))]
        allocated = []
        for name in v.backward_order:
            k = ("g", name)
            if k in self.arrays and not self.arrays[k].given and self.arrays[k] not in allocated:
                allocated.append(self.arrays[k])
        inits = []
        for i in v.initial:
            a = self.arrays[("g", i.quantity.name)]
            inits.append((i.arg, f"{a.name}[{_code(i.step - a.lo)}]"))
        rows = [a for a in {id(a): a for a in self.arrays.values()}.values()
                if a.name in self.used_rows]
        return {"b_body": body, "b_arrays": allocated, "grads": grads, "d_inits": inits,
                "b_rows": rows}


def _left_factors(expr) -> list:
    """The parameter matrices that act on a vector in ``expr`` as A v (not A^T v)."""
    out = []
    for mm in expr.atoms(sp.MatMul):
        factors = mm.as_coeff_matrices()[1]
        out += [f for f in factors[:-1] if isinstance(f, sp.MatrixSymbol)]
    return out


def slice_code(a: Arr, lo, hi) -> str:
    """The rows of steps lo..hi of the tensor ``a``, counted from its end where a bound
    depends on tau (the code has no tau)."""
    start, stop = sp.expand(sp.sympify(lo) - a.lo), sp.expand(sp.sympify(hi) - a.lo + 1)
    end = sp.expand(stop - a.count())
    if start.has(TAU):
        start = sp.expand(start - a.count())
    if start.has(TAU) or end.has(TAU):
        raise NotImplementedError(f"rows {lo}..{hi} of {a.name}")
    s = "" if start == 0 else _code(start)
    e = "" if end == 0 else _code(end)
    return f"{a.name}[{s}:{e}]" if (s or e) else a.name


def loss_gradient(model: Model, spec, target_code: str) -> tuple[str, str]:
    """grad_o(t) L of the loss entry (y^(t) - y(t)) as code over the tensors ``yhat`` and
    ``target_code`` (the targets as vectors), and as text."""
    loss = LOSSES[spec.loss]
    yhat = At("yhat", model.output.size.symbol, 1, T)
    expr = loss.grad_matrix(yhat, model.target.now)
    return print_torch(expr, {yhat: "yhat", model.target.now: target_code}), math_text(expr)


def _text(lhs, rhs) -> str:
    return f"{math_text(lhs)} = {math_text(rhs)}"


# ---------------------------------------------------------------- public entry points

def emit_torch(model: Model, spec, equations: list, command: str | None = None,
               catalogue: tuple = ()) -> str:
    """Python source of a module importing only torch: the model's forward pass and its
    checked BPTT as a ``torch.autograd.Function``, an ``nn.Module``, ``loss`` and
    ``loss_and_grad``, for the sizes, activation, loss and reduction of ``spec``."""
    from ...functions import ACTIVATIONS
    if ACTIVATIONS[spec.activation].symbolic_only and model.uses_activation:
        raise ValueError(f"codegen needs a concrete activation: {spec.activation} is a generic, "
                         f"undefined function with no numeric value; use --activation tanh "
                         f"(or sigmoid, relu, identity)")
    v = build(model, spec, equations)
    em = _Emitter(v, catalogue)
    ctx = {**em.forward_pass(), **em.backward_pass()}
    from .builtin import converter
    from .kernels import LOSS_KERNELS
    m = model
    loss = LOSSES[spec.loss]
    onehot = "torch.nn.functional.one_hot(labels, N_OUT).to(yhat.dtype)"
    grad_code, grad_text = loss_gradient(m, spec, onehot if loss.target == "class" else "ys")
    out_code = [(q.name, slice_code(em.arrays[("q", q.name)], *v.out_steps[q.name]))
                for q in v.outputs]
    return render(TEMPLATE, **ctx, **{
        "m": m, "v": v, "spec": spec, "loss": loss, "reduction": REDUCTIONS[spec.reduction],
        "command": python_comment(command or codegen_command(spec, None, "torch")),
        "template": TEMPLATE,
        "class_target": loss.target == "class", "dims": DIMS, "size_code": SIZE_CODE,
        "arr": em.arrays, "code": _code, "T": T, "TAU": TAU, "step_text": step_text,
        "wrap": wrap, "loss_rows": loss_rows(*v.out_steps[model.output.name]),
        "params": m.params, "equations_text": [equation_text(eq.target.now, eq.rhs)
                                               for eq in v.equations],
        "converter": converter(model, spec), "kernels": LOSS_KERNELS[spec.loss],
        "loss_grad_code": grad_code, "loss_grad_text": grad_text, "out_code": out_code,
    })


__all__ = ["emit_torch"]
