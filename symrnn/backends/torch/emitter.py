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

from dataclasses import dataclass

import sympy as sp

from ...functions import LOSSES, REDUCTIONS, Apply
from ...models.base import DIMS, Model
from ...naming import TAU, T, At, Grad, values_read
from ...sanitize import python_comment
from ...templating import render
from ...text import equation_text, math_text, step_text
from ..code import Names, Stmt, left_matrices, step_code
from ..files import codegen_command, loss_rows, wrap
from ..schedule import Block, Piece, key, schedule
from ..fuse import Factor, hoist_factors, inline
from ..vjp import VJP, Cotangent, build
from .groups import Group, backward_groups, forward_groups
from .printer import Filler, Statements, apply_inplace, inplace_method, print_torch

TEMPLATE = "torch/module.py.jinja"
SIZE_CODE = {d.name: f"N_{d.name[2:].upper()}" for d in DIMS}
#: Names the module's functions use themselves; arrays never take them.
RESERVED = {"torch", "P", "xs", "tau", "batch", "t", "new", "tape", "d_out", "grads", "out",
            "final", "params", "x", "y", "ctx", "math", "zeros", "self"}


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
    view_of: tuple | None = None  # (group tensor, column block j): columns of a group's tensor

    def count(self) -> sp.Expr:
        return sp.expand(self.hi - self.lo + 1)


_code = step_code


class _Emitter:
    def __init__(self, v: VJP, catalogue=()):
        self.v, self.m, self.catalogue = v, v.model, catalogue
        self.size = {d.symbol: SIZE_CODE[d.name] for d in DIMS}
        self.new = Names(RESERVED)
        self.arrays: dict[tuple, Arr] = {}
        self.views: dict[tuple, str] = {}
        self.view_lines: list[Stmt] = []
        self.used_rows: set[str] = set()
        self.transposes: dict = {}
        self.view_names: list[str] = []
        self.groups: list[Group] = []
        self.group_of: dict[str, Group] = {}
        self.extra_lines: list[str] = []  # row views the loops use, made with the tensors
        self.scaled_rows: dict = {}
        self.bcast: dict = {}

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
        for p in self.bpieces:
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
        for p in self.bpieces:
            for g in p.expr.atoms(Grad):
                if isinstance(g.of, At):
                    g_readers.setdefault(g.of.name, set()).add(id(p))
        self.galias: dict[str, str] = {}
        for p in self.bpieces:  # grad_a(t) in grad_h's tensor when only d (.) grad_h reads it
            e = p.expr
            src = None
            if isinstance(e, sp.MatMul) and len(e.args) == 2 and \
                    isinstance(e.args[0], sp.DiagMatrix) and isinstance(e.args[1], Grad):
                src = e.args[1].of
            elif isinstance(e, sp.HadamardProduct) and len(e.args) == 2 and \
                    any(isinstance(a, Factor) for a in e.args) and \
                    any(isinstance(a, Grad) for a in e.args):
                src = next(a for a in e.args if isinstance(a, Grad)).of
            if src is not None:
                if src.step == T and src.name not in param_reads and \
                        src.name not in self.cot_alias and \
                        g_readers.get(src.name) == {id(p)} and len(pieces[p.target]) == 1:
                    slo, shi = self.g_steps[src.name]
                    lo, hi = self.g_steps[p.target]
                    if key(slo) <= key(lo) and key(hi) <= key(shi):
                        self.galias[p.target] = src.name
        for name in v.backward_order:
            if name not in self.g_steps or name in self.cot_alias or name in self.galias:
                continue
            q = m.quantity(name)
            lo, hi = self.g_steps[name]
            self._arr(("g", name), "d" + name, q.size.symbol, lo, hi, f"grad_{name}(t) L")
        for name, src in self.galias.items():
            self.arrays[("g", name)] = self.arrays[("g", src)]
        self.factor_home: dict[str, Arr] = {}
        for fp in self.factors:
            home = self._factor_home(fp)
            if home is not None:  # K(t) (.) grad(t) is the whole piece: K in its target's tensor
                self.arrays[("k", fp.factor.name)] = home
                self.factor_home[fp.factor.name] = home
                continue
            self.arrays[("k", fp.factor.name)] = Arr(
                self.new(f"{fp.factor.name}s"), self.new(fp.factor.name), self.size[
                    fp.factor.shape[0]], fp.lo, fp.hi, f"{fp.factor.name}(t)", False,
                fp.factor.name)

    def _factor_home(self, fp):
        """The target's own tensor when the only piece reading the factor K is target(t) =
        K(t) (.) grad(t) for K's steps: K is computed there and multiplied in place."""
        users = [p for p in self.bpieces if fp.factor.name in {a.name for a in p.expr.atoms(At)
                                                               if isinstance(a, Factor)}]
        if len(users) != 1:
            return None
        p = users[0]
        e = p.expr
        if not (isinstance(e, sp.HadamardProduct) and len(e.args) == 2 and fp.factor in e.args
                and any(isinstance(a, Grad) for a in e.args)):
            return None
        k = ("g", p.target)
        a = self.arrays.get(k)
        if a is None or a.given or sum(1 for b in self.arrays.values() if b is a) != 1:
            return None
        if key(a.lo) != key(fp.lo) or key(a.hi) != key(fp.hi):
            return None
        return a

    # ---------------------------------------------------------------- names

    def _key(self, a) -> tuple:
        if isinstance(a, Cotangent):
            return ("d", a.name)
        if isinstance(a, Factor):
            return ("k", a.name)
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

    def names_slices(self, expr, lo, hi) -> dict:
        """Code for every leaf of ``expr`` (written at t) over steps lo..hi: (steps, batch, n)
        slices, for elementwise work."""
        names = self._params({})
        for a in self._leaves(expr):
            k = sp.expand(self._step_of(a) - T)
            names[a] = slice_code(self.arrays[self._key(a)], lo + k, hi + k)
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

    def _runs(self, g: Group, seg) -> list:
        """Adjacent complete members whose function has one in-place method, applied to
        their columns at once: (rows name, first column, end column, method, pieces)."""
        if hasattr(g, "runs"):
            return g.runs
        acts = {}
        body = {p.target: (terms, inside) for p, (terms, inside), _h in seg.body}
        for q in g.members:
            target, method = self._activation(q)
            if q in g.complete and method and target in body and body[target][1] and \
                    [t for t in body[target][0]] == [self.m.quantity(q).now]:
                acts[q] = (target, method)
        g.runs, run = [], []
        for j, q in enumerate(g.members + [None]):
            if run and (q not in acts or acts[q][1] != acts[run[-1][1]][1]):
                method = acts[run[0][1]][1]
                cols = _cols(run[0][0], run[-1][0] + 1, g.size)
                name = self.new(f"{g.name}_{method.rstrip('_')}")
                g.runs.append((name, cols, None, method, [acts[m][0] for _j, m in run]))
                run = []
            if q in acts:
                run.append((j, q))
        return g.runs

    def group_product(self, g: Group, seg, at, held: bool) -> Stmt:
        row = f"{g.rows}[{_code(at - g.lo)}]"
        self.used_rows.add(g.name)
        v = g.operand.xreplace({T: at})
        vcode = self.names_at(v, None)[v]
        lines = [f"{row}.addmm_({vcode}, {g.weights})" if held
                 else f"torch.mm({vcode}, {g.weights}, out={row})"]
        comments = [f"{', '.join(f'{self.m.param_of(P).name} {math_text(v)}' for P in g.params)}"
                    f": one product into {', '.join(g.members)} side by side"]
        for name, _lo, _hi, method, targets in self._runs(g, seg):
            lines.append(apply_inplace(method, f"{name}[{_code(at - g.lo)}]"))
            comments.append(f"{', '.join(f'{t}(t)' for t in targets)} = "
                            f"{method.rstrip('_')}(...) at once, in place")
        return Stmt("\n".join(lines), tuple(comments))

    def group_hoist(self, g: Group, hoists):
        """The members' hoisted parts P'_j u(t) + biases as one product into the group's
        tensor, when each member's is one product of the same u and parameter vectors."""
        from .groups import _forward_gemm
        mine = {}
        for h in hoists:
            if h.target in g.members and h.target not in mine and not h.inside:
                mine[h.target] = h
        if set(mine) != set(g.members) or len({(key(h.lo), key(h.hi)) for h in mine.values()}) != 1:
            return None, []
        mats, biases, u = [], [], None
        for q in g.members:
            terms = list(mine[q].expr.args) if isinstance(mine[q].expr, sp.MatAdd) else [mine[q].expr]
            gemms = [x for x in map(_forward_gemm, terms) if x]
            vecs = [x for x in terms if type(x) is sp.MatrixSymbol and x.shape[1] == 1]
            if len(gemms) != 1 or len(gemms) + len(vecs) != len(terms) or \
                    (u is not None and gemms[0][1] != u):
                return None, []
            u = gemms[0][1]
            mats.append(gemms[0][0])
            biases.append(vecs)
        h0 = mine[g.members[0]]
        name = self.new(f"{g.weights}_in")
        cat = ", ".join(f'P["{self.m.param_of(P).name}"]' for P in mats)
        lines = [f"{name} = torch.cat([{cat}]).T"]
        whole = self.new(f"{g.name}_all")
        lines.append(f"{whole} = {slice_code_group(g, h0.lo, h0.hi)}"
                     f".view(-1, {len(g.members)} * {g.size})")
        ucode = self.names_over(u, h0.lo, h0.hi)[u]
        lines.append(f"torch.mm({ucode}, {name}, out={whole})")
        if any(biases):
            parts = [" + ".join(f'P["{self.m.param_of(b).name}"]' for b in bs)
                     if bs else f"torch.zeros({g.size}, **new)" for bs in biases]
            lines.append(f"{whole}.add_(torch.cat([{', '.join(parts)}]))")
        comments = (f"{', '.join(math_text(mine[q].expr) for q in g.members)}: the parts of "
                    f"{', '.join(g.members)} that do not depend on the loop,",
                    f"for steps {step_text(h0.lo)}..{step_text(h0.hi)} at once, one product into "
                    f"{g.name}")
        return self.take_views() + [Stmt("\n".join(lines), comments)], list(mine.values())

    def step_body(self, seg, grad: bool, step) -> list[Stmt]:
        out = []
        at = T if step is None else step
        started, applied = set(), {}
        if not grad:
            for g in self.groups:
                for name, _lo, _hi, method, targets in self._runs(g, seg):
                    for t in targets:
                        applied[t] = g
        scaled = self._scaled_runs(seg) if grad else {}
        for piece, (loop_terms, inside), held in seg.body:
            k = ("g" if grad else "q", piece.target)
            arr = self.arrays[k]
            target = f"{arr.rows}[{_code(at - arr.lo)}]"
            comments = self.comment(piece, grad, None if step is None else at)
            if piece.target in scaled:
                run = scaled[piece.target]
                if run["first"] == piece.target:
                    G = run["grad"].xreplace({T: at})
                    gb = self.broadcast_rows(G)
                    out.append(Stmt(f"{run['rows']}[{_code(at - run['lo'])}].mul_({gb})", comments + (
                        f"with {', '.join(run['members'][1:])}: their factors in {run['name']}'s "
                        f"columns times {math_text(G)}, one operation",)))
                else:
                    out.append(Stmt("", comments + (f"(with {run['first']})",)))
                continue
            if piece.target in applied:
                out.append(Stmt("", comments + (f"(applied with {applied[piece.target].name})",)))
                continue
            self.used_rows.add(arr.name)
            grp = None if grad else self.group_of.get(piece.target)
            if grp is not None:
                loop_terms = [t for t in loop_terms if not _gemm_of(t, grp)]
                if id(grp) not in started:
                    started.add(id(grp))
                    out.append(self.group_product(grp, seg, at, held))
            terms = [t.xreplace({T: at}) for t in loop_terms]
            extra = {}
            if grad:
                terms, extra = self.backward_group_terms(terms, at)
            lines: list[str] = []
            if terms:
                expr = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
                names = {**self.names_at(expr, None), **extra}
                if not (len(terms) == 1 and names.get(terms[0]) == target):
                    lines += self.write(expr, target, names, held or grp is not None)
            if inside:
                method = inplace_method(piece.expr.f)
                if method:
                    lines.append(apply_inplace(method, target))
                elif method is None:
                    q = self.m.quantity(piece.target)
                    now = q.at(at)
                    lines.append(f"{target}.copy_("
                                 f"{print_torch(Apply(piece.expr.f, now), {now: target})})")
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

    def _scaled_runs(self, seg) -> dict:
        """Adjacent members of a backward group whose pieces are all K(t) (.) grad(t), K in the
        member's own columns and grad the same: one in-place product with grad broadcast over
        the members. {member: run}."""
        out = {}
        body = [(p, terms) for p, (terms, _inside), _h in seg.body]
        for g in self.groups:
            found = {}
            for p, terms in body:
                if p.target not in g.members or len(terms) != 1:
                    continue
                e = terms[0]
                if not (isinstance(e, sp.HadamardProduct) and len(e.args) == 2):
                    continue
                f = next((a for a in e.args if isinstance(a, Factor)), None)
                G = next((a for a in e.args if isinstance(a, Grad)), None)
                if f is None or G is None or self.factor_home.get(f.name) is not \
                        self.arrays[("g", p.target)] or f.step != T:
                    continue
                found[p.target] = G
            by_grad: dict = {}
            for q, G in found.items():
                by_grad.setdefault(G, []).append(g.members.index(q))
            for G, cols in by_grad.items():
                cols.sort()
                runs, run = [], [cols[0]]
                for c in cols[1:]:
                    if c == run[-1] + 1:
                        run.append(c)
                    else:
                        runs.append(run)
                        run = [c]
                runs.append(run)
                for run in runs:
                    if len(run) < 2:
                        continue
                    members = [g.members[c] for c in run]
                    order = [p.target for p, _t in body if p.target in members]
                    key_ = (g.name, run[0], run[-1])
                    if key_ not in self.scaled_rows:
                        name = self.new(f"{g.name}_{''.join(str(c) for c in run)}")
                        self.scaled_rows[key_] = name
                        self.extra_lines.append(
                            f"{name} = {g.name}.view({g.name}.shape[0], batch, {len(g.members)}, "
                            f"{g.size})[:, :, {run[0]}:{run[-1] + 1}].unbind(0)")
                    info = {"first": order[0], "members": order, "grad": G, "name": g.name,
                            "rows": self.scaled_rows[key_], "lo": g.lo}
                    for q in members:
                        out[q] = info
        return out

    def broadcast_rows(self, G) -> str:
        """The row of the gradient G with a member axis, (batch, 1, n), for broadcasting."""
        a = self.arrays[self._key(G)]
        if a.name not in self.bcast:
            self.bcast[a.name] = self.new(f"{a.rows}_b")
            self.extra_lines.append(f"{self.bcast[a.name]} = {a.name}[:, :, None].unbind(0)")
        return f"{self.bcast[a.name]}[{_code(G.of.step - a.lo)}]"

    def backward_group_terms(self, terms, at):
        """``terms`` with each backward group's products P_j^T grad_qj(t+k), all of them, as
        one product of the stacked matrix and the group's row (placeholders named)."""
        from .groups import _backward_gemm
        extra = {}
        for g in self.groups:
            found = {}
            for t in terms:
                b = _backward_gemm(t)
                if b and b[1] in g.members and g.params[g.members.index(b[1])] == b[0]:
                    found.setdefault(sp.expand(b[2] - (at - T) if at != T else b[2]), []).append(t)
            for kk, ts in found.items():
                if len(ts) != len(g.members):
                    continue
                n = g.params[0].shape[1]
                W = sp.MatrixSymbol(f"_{g.weights}", len(g.members) * g.params[0].shape[0], n)
                G = sp.MatrixSymbol(f"_{g.rows}_{kk}", len(g.members) * g.params[0].shape[0], 1)
                extra[W] = g.weights
                step = ts[0].atoms(Grad).pop().of.step
                extra[G] = f"{g.rows}[{_code(step - g.lo)}]"
                self.used_rows.add(g.name)
                terms = [t for t in terms if t not in ts] + [W.T * G]
        return terms, extra

    def loop(self, block: Block, grad: bool) -> list[Stmt]:
        out = []
        hoists = list(block.hoists)
        if not grad:
            for g in self.groups:
                st, used = self.group_hoist(g, hoists)
                if st is not None:
                    out += st
                    hoists = [h for h in hoists if h not in used]
        for h in hoists:
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
        terms = []
        for b in blocks:
            for seg in b.segments:
                for piece, (ts, _inside), _held in seg.body:
                    grp = self.group_of.get(piece.target)
                    terms += [t for t in ts if grp is None or not _gemm_of(t, grp)]
        lines = []
        for f in left_matrices(terms, self.m):
            if f not in self.transposes:
                name = self.new(f"{f.name}_T")
                self.transposes[f] = name
                lines.append(Stmt(f'{name} = P["{f.name}"].T', (f"{f.name}^T, for every step",)))
        return lines

    # ---------------------------------------------------------------- passes

    def forward_pass(self) -> dict:
        v = self.v
        self.plan()
        blocks = schedule(v.forward, v.forward_order, grad=False, hoist_all=True)
        self.set_groups(forward_groups(blocks, self._is_param), "q")
        pre = self.loop_transposes(blocks)
        body = self.blocks(blocks, grad=False)
        allocated = []
        for eq in v.equations:
            a = self.arrays[("q", eq.target.name)]
            if a not in allocated:
                allocated.append(a)
        return {"f_body": self.take_setup() + pre + body, "f_arrays": allocated,
                "f_alloc": self.allocation(allocated),
                "f_rows": [a for a in [self.arrays[("q", v.input.name)], *allocated]
                           + ([self.arrays[("q", self.m.target.name)]]
                              if v.target_steps is not None else [])
                           if a.name in self.used_rows]}

    # ---------------------------------------------------------------- groups

    def _is_param(self, P) -> bool:
        p = self.m.param_of(P)
        return p is not None and p.cols is not None

    def _activation(self, member: str):
        """(the piece applying a function to ``member`` in place, its in-place method)."""
        for p in self.v.forward:
            e = p.expr
            if isinstance(e, Apply) and isinstance(e.arg, At) and e.arg.name == member and \
                    e.arg.step == T and self.alias.get(("q", member)) == ("q", p.target):
                return p.target, inplace_method(e.f)
        return None, None

    def set_groups(self, groups: list[Group], kind: str) -> None:
        """Lay out each group's members as columns of one tensor (when their tensors allow:
        their own, of one size and the same steps)."""
        self.groups, self.group_of = [], {}
        owners_taken = set()
        for g in groups:
            arrs = [self.arrays[(kind, q)] for q in g.members]
            own = [a for k, a in self.arrays.items() if k[0] != "k"]
            if len({id(a) for a in arrs}) != len(arrs) or any(a.given or a.view_of for a in arrs) \
                    or len({(a.size, key(a.lo), key(a.hi)) for a in arrs}) != 1 \
                    or owners_taken & {id(a) for a in arrs}:
                continue
            if kind == "g" and any(sum(1 for b in own if b is a) > 1 for a in arrs):
                continue  # a tensor shared with another gradient (grad_a in grad_h's)
            if kind == "q":  # complete members first, by their function, for one op per run
                order = {q: i for i, q in enumerate(g.members)}
                g.members.sort(key=lambda q: (q not in g.complete,
                                              self._activation(q)[1] or "~", order[q]))
                g.params = [dict(zip(list(order), g.params))[q] for q in g.members]
                arrs = [self.arrays[(kind, q)] for q in g.members]
            a0 = arrs[0]
            stem = _stem([a.base for a in arrs])
            g.name = self.new(f"stack_{stem}")
            g.rows = self.new(f"stack_{stem}_t")
            g.weights = self.new(f"W_{stem}")
            g.stem = stem
            g.size, g.lo, g.hi = a0.size, a0.lo, a0.hi
            for j, a in enumerate(arrs):
                a.view_of = (g.name, j, len(arrs))
            owners_taken |= {id(a) for a in arrs}
            self.groups.append(g)
            for q in g.members:
                self.group_of[q] = g
        self.setup = []
        for g in self.groups:
            cat = ", ".join(f'P["{self.m.param_of(P).name}"]' for P in g.params)
            code = f"{g.weights} = torch.cat([{cat}])" + (".T" if kind == "q" else "")
            self.setup.append(Stmt(code, (
                f"{', '.join(self.m.param_of(P).name for P in g.params)} stacked: one product "
                f"per step for {', '.join(g.members)}",)))

    def group_param_grads(self) -> tuple[list[Stmt], dict]:
        """The gradients of the parameters that multiply a backward group's members, one
        product (or column sum) over all steps for the whole group, split by rows. Returns the
        statements and {sum: parameter} of the gradients written."""
        out, done, written, flats = [], {}, set(), {}
        for g in self.groups:
            by_operand: dict = {}
            for p, sums in self.v.param_grads:
                if len(sums) != 1:
                    continue
                e, lo, hi = sums[0].expr, sums[0].steps.lo, sums[0].steps.hi
                if isinstance(e, Grad) and e.of.name in g.members and e.of.step == T:
                    by_operand.setdefault((None, lo, hi), {}).setdefault(e.of.name, []).append(
                        (p, sums[0]))
                    continue
                if isinstance(e, sp.MatMul) and len(e.args) == 2 and isinstance(e.args[0], Grad) \
                        and e.args[0].of.name in g.members and e.args[0].of.step == T:
                    by_operand.setdefault((e.args[1], lo, hi), {}).setdefault(
                        e.args[0].of.name, []).append((p, sums[0]))
            for (operand, lo, hi), members in by_operand.items():
                if set(members) != set(g.members):
                    continue
                flat_key = (g.name, key(lo), key(hi))
                if flat_key not in flats:
                    flats[flat_key] = self.new(f"{g.name}_all")
                    out.append(Stmt(f"{flats[flat_key]} = {slice_code_group(g, lo, hi)}"
                                    f".view(-1, {len(g.members)} * {g.size})",
                                    (f"{g.name} for steps {step_text(lo)}..{step_text(hi)}, one "
                                     f"row per step and sequence",)))
                rows = flats[flat_key]
                if operand is None:  # column sums of a wide matrix: a product with ones
                    code = f"{rows}.new_ones({rows}.shape[0]) @ {rows}"  # (2.4x sum(0) at L)
                    what = "column sums"
                    name = self.new(f"sum_{g.stem}")
                else:
                    vt = operand.T
                    vcode = self.names_over(vt, lo, hi)[vt]
                    code = f"{rows}.T @ {vcode}"
                    what = f"one product with {math_text(vt)}"
                    base = "_".join(sorted(a.name for a in operand.atoms(At)))
                    name = self.new(f"prod_{g.stem}_{base}")
                lines = [f"{name} = {code}"]
                for j, q in enumerate(g.members):
                    first, *rest = members[q]
                    lines.append(f'grads["{first[0].name}"] = {name}[{_cols(j, j + 1, g.size)}]')
                    done[first[1]] = first[0].name
                    for p, s_ in rest:
                        lines.append(f'grads["{p.name}"] = grads["{first[0].name}"].clone()')
                        written.add(p.name)
                    written.add(first[0].name)
                out += self.take_views() + [Stmt("\n".join(lines), (
                    f"the gradients of {', '.join(p.name for q in g.members for p, _s in members[q])}"
                    f": {what} over all steps of {g.name}, split by rows",))]
        self.written = written
        return out, done

    def take_setup(self) -> list[Stmt]:
        out, self.setup = self.setup, []
        return out

    def allocation(self, arrays: list[Arr]) -> list[str]:
        """The lines allocating ``arrays`` (a group's tensor once, its members as views)."""
        lines, done = [], set()
        for a in arrays:
            if a.view_of is None:
                lines.append(f"{a.name} = torch.empty(({_code(a.count())}, batch, {a.size}), "
                             f"**new)  # {a.what}, steps {step_text(a.lo)}..{step_text(a.hi)}")
                continue
            gname, j, k = a.view_of
            if gname not in done:
                g = next(g for g in self.groups if g.name == gname)
                members = sorted((x for x in arrays if x.view_of and x.view_of[0] == gname),
                                 key=lambda x: x.view_of[1])
                lines.append(f"{gname} = torch.empty(({_code(a.count())}, batch, {k} * {a.size}), "
                             f"**new)  # {', '.join(x.what for x in members)} side by side")
                if gname in self.used_rows:
                    lines.append(f"{g.rows} = {gname}.unbind(0)")
                done.add(gname)
            lines.append(f"{a.name} = {gname}[..., {_cols(j, j + 1, a.size)}]")
        for g in self.groups:
            for rows, cols, _none, _m, _t in getattr(g, "runs", []):
                lines.append(f"{rows} = {g.name}[..., {cols}].unbind(0)")
        return lines + self.extra_lines

    def backward_pass(self) -> dict:
        v = self.v
        self.views, self.view_lines, self.used_rows, self.transposes = {}, [], set(), {}
        self.new.taken -= set(self.view_names)  # views are local to each function
        keep = {g.of.name for _p, sums in v.param_grads for s in sums
                for g in s.expr.atoms(Grad) if isinstance(g.of, At)}
        keep |= {i.quantity.name for i in v.initial}
        pieces = inline(v.backward, keep)
        self.bpieces, self.factors = hoist_factors(pieces, v.backward_order)
        self.g_steps = {}
        for p in self.bpieces:
            lo, hi = self.g_steps.get(p.target, (p.lo, p.hi))
            self.g_steps[p.target] = (min(lo, p.lo, key=key), max(hi, p.hi, key=key))
        self.plan_backward()
        # a state's given gradient stays in the loop: it is usually None, and then costs
        # nothing there (hoisted, it would need the tensor zeroed first)
        blocks = schedule(self.bpieces, v.backward_order, grad=True,
                          hoist_all=lambda term: not isinstance(term, Cotangent))
        self.set_groups(backward_groups(blocks, self._is_param), "g")
        loops = self.take_setup() + self.blocks(blocks, grad=True)
        body, scratch = [], {}
        for fp in self.factors:
            a = self.arrays[("k", fp.factor.name)]
            home = fp.factor.name in self.factor_home
            names = self.names_slices(fp.expr, fp.lo, fp.hi)
            rows = _code(fp.hi - fp.lo + 1)

            def tmp(level, size=a.size, rows=rows):
                if (level, size) not in scratch:
                    scratch[(level, size)] = self.new(f"scratch{level}_{size.lower()[2:]}")
                return f"{scratch[(level, size)]}[:{rows}]"
            lines = [] if home else [f"{a.name} = torch.empty(({rows}, batch, {a.size}), **new)"]
            lines += Filler(names, tmp).fill(fp.expr, a.name)
            if a.name in self.used_rows and not home:
                lines.append(f"{a.rows} = {a.name}.unbind(0)")
                self.used_rows.discard(a.name)
            where = f", in {a.name} (multiplied in place in the loop)" if home else ", in place"
            body.append(Stmt("\n".join(lines), (
                f"{fp.factor.name}(t) = {math_text(fp.expr)}, for steps {step_text(fp.lo)}.."
                f"{step_text(fp.hi)} at once{where} (a factor of the loop below)",)))
        body = [Stmt(f"{name} = torch.empty((tau + 2, batch, {size}), **new)",
                     ("scratch for the factors",)) for (_l, size), name in scratch.items()] + body
        body += loops
        grads, done = self.group_param_grads()
        for p, sums in v.param_grads:
            if p.name in self.written:
                continue
            total = sp.MatAdd(*sums) if len(sums) > 1 else sums[0]
            if total in done:
                grads.append(Stmt(f'grads["{p.name}"] = grads["{done[total]}"].clone()',
                                  (f"grad_{p.name} L: the same sum as grad_{done[total]} L",)))
                continue
            done[total] = p.name
            parts = []
            for s_ in sums:
                names = self.names_over(s_.expr, s_.steps.lo, s_.steps.hi)
                parts.append(print_torch(s_.expr, names, summed=True))
            grads += self.take_views() + [Stmt(
                f'grads["{p.name}"] = {" + ".join(parts)}',
                (f"grad_{p.name} L = {math_text(total)}, as one product or column sum over "
                 f"all steps",))]
        allocated = []
        for name in v.backward_order:
            k = ("g", name)
            if name not in self.g_steps:
                continue
            if k in self.arrays and not self.arrays[k].given and self.arrays[k] not in allocated:
                allocated.append(self.arrays[k])
        inits = []
        for i in v.initial:
            a = self.arrays[("g", i.quantity.name)]
            inits.append((i.arg, f"{a.name}[{_code(i.step - a.lo)}]"))
        rows = [a for a in {id(a): a for a in self.arrays.values()}.values()
                if a.name in self.used_rows]
        return {"b_body": body, "b_arrays": allocated, "b_alloc": self.allocation(allocated), "grads": grads, "d_inits": inits,
                "b_rows": rows}


def _cols(j: int, k: int, size: str) -> str:
    """The columns of blocks j..k-1 of width ``size``: ":N", "N:2 * N", ..."""
    lo = "" if j == 0 else size if j == 1 else f"{j} * {size}"
    hi = size if k == 1 else f"{k} * {size}"
    return f"{lo}:{hi}"


def _stem(bases: list[str]) -> str:
    """A short name for bases side by side: i, f, q, g -> ifqg; da_i, da_f -> da_if."""
    prefix = bases[0]
    for b in bases[1:]:
        while not b.startswith(prefix):
            prefix = prefix[:-1]
    rest = [b[len(prefix):] for b in bases]
    if all(len(r) == 1 for r in rest):
        return prefix + "".join(rest)
    return "_".join(bases)


def slice_code_group(g, lo, hi) -> str:
    """The rows of steps lo..hi of a group's tensor."""
    a = Arr(g.name, g.rows, g.size, g.lo, g.hi, "")
    return slice_code(a, lo, hi)


def _gemm_of(term, grp) -> bool:
    """Is ``term`` the member's product in the forward group ``grp``?"""
    from .groups import _forward_gemm
    g = _forward_gemm(term)
    return g is not None and g[1] == grp.operand and g[0] in grp.params


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
