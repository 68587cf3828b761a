"""JAX code generation: a model's vjp (``symrnn.backends.vjp``) printed as pure functions of
jax.numpy arrays into ``templates/jax/module.py.jinja``: a ``jax.custom_vjp`` whose forward
pass and backward pass (the run's checked BPTT) are ``lax.scan`` loops.

The step schedule (``symrnn.backends.schedule``) orders the pieces; this emitter writes them
without mutation:

- a piece computed for all its steps at once is one expression over stacked arrays
  (steps, batch, n), never flattened (a batch sharded over devices stays sharded); terms
  hoisted out of a loop (b + U x(t), V^T grad_o(t)) likewise;
- a time loop is a ``lax.scan`` per range of steps (``reverse=True`` for a loop that runs
  down): the carry holds the loop's own values of the previous step, the scanned inputs the
  hoisted parts and every other value read at each step, and the scan stacks each value of
  the loop for the steps after it; a single step (t = tau, t = 0) is written out;
- each quantity's array is the concatenation of its parts (the initial value, the scans'
  outputs, single steps) in step order, made once its loop is done;
- parameter gradients are single products over the stacked steps (``jnp.einsum`` over the
  step and batch axes).

Nothing symbolic is computed here beyond printing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ...functions import LOSSES, REDUCTIONS, Apply
from ...models.base import DIMS, Model
from ...naming import TAU, T, At, Grad, values_read
from ...sanitize import python_comment
from ...templating import render
from ...text import equation_text, math_text, step_text
from ..code import Names, Stmt, left_matrices, step_code
from ..schedule import Block, Piece, key, schedule
from ..vjp import VJP, Cotangent, build
from .printer import print_jax

TEMPLATE = "jax/module.py.jinja"
SIZE_CODE = {d.name: f"N_{d.name[2:].upper()}" for d in DIMS}
RESERVED = {"jax", "jnp", "lax", "P", "xs", "tau", "batch", "t", "dtype", "res", "d_out",
            "grads", "out", "final", "params", "x", "y", "math", "carry", "inp", "zeros"}


@dataclass
class Arr:
    """Steps lo..hi of a quantity or gradient: ``name`` once assembled, ``parts`` (lo, hi,
    code) until then."""

    name: str
    base: str
    size: str
    lo: sp.Expr
    hi: sp.Expr
    what: str
    parts: list = field(default_factory=list)
    done: bool = False

    def count(self) -> sp.Expr:
        return sp.expand(self.hi - self.lo + 1)


_code = step_code


def rows(a: Arr, lo, hi) -> str:
    """The rows of steps lo..hi of the assembled array ``a`` (a bound that depends on tau
    counted from the end where it can be)."""
    start, stop = sp.expand(sp.sympify(lo) - a.lo), sp.expand(sp.sympify(hi) - a.lo + 1)
    end = sp.expand(stop - a.count())
    if start == 0 and end == 0:
        return a.name
    s = "" if start == 0 else _code(start)
    e = "" if end == 0 else _code(end) if not end.has(TAU) else _code(stop)
    return f"{a.name}[{s}:{e}]"


class _Emitter:
    def __init__(self, v: VJP, catalogue=()):
        self.v, self.m, self.catalogue = v, v.model, catalogue
        self.size = {d.symbol: SIZE_CODE[d.name] for d in DIMS}
        self.new = Names(RESERVED)
        self.arrays: dict[tuple, Arr] = {}
        self.cur: dict[tuple, str] = {}  # the latest single value of a loop's target
        self.transposes: dict = {}

    def _arr(self, k, base, size, lo, hi, what, name=None) -> Arr:
        a = Arr(name or self.new(base + "s"), base, self.size[size], lo, hi, what)
        self.arrays[k] = a
        return a

    def _key(self, a) -> tuple:
        if isinstance(a, Cotangent):
            return ("d", a.name)
        if isinstance(a, Grad):
            return ("g", a.of.name)
        return ("q", a.name)

    def _leaves(self, expr) -> list:
        out = list(values_read(expr)) + [g for g in expr.atoms(Grad) if isinstance(g.of, At)]
        return sorted(out, key=sp.default_sort_key)

    def _step_of(self, a):
        return a.of.step if isinstance(a, Grad) else a.step

    def _params(self) -> dict:
        return {p.symbol: f'P["{p.name}"]' for p in self.m.params}

    # ---------------------------------------------------------------- assembling

    def assemble(self, k) -> list[Stmt]:
        a = self.arrays[k]
        if a.done:
            return []
        parts = sorted(a.parts, key=lambda p: key(p[0]))
        covered = a.lo
        for lo, hi, _c in parts:
            if key(lo) != key(covered):
                raise NotImplementedError(f"{a.what}: steps {step_text(covered)}.. are not "
                                          f"computed before they are read")
            covered = hi + 1
        if key(covered) != key(a.hi + 1):
            raise NotImplementedError(f"{a.what}: steps {step_text(covered)}..{step_text(a.hi)} "
                                      f"are not computed")
        a.done = True
        if len(parts) == 1 and parts[0][2] == a.name:
            return []
        code = parts[0][2] if len(parts) == 1 else \
            f"jnp.concatenate([{', '.join(p[2] for p in parts)}], 0)"
        return [Stmt(f"{a.name} = {code}",
                     (f"{a.what}, steps {step_text(a.lo)}..{step_text(a.hi)}",))]

    def names_over(self, expr, lo, hi) -> dict:
        names = self._params()
        for leaf in self._leaves(expr):
            k = sp.expand(self._step_of(leaf) - T)
            a = self.arrays[self._key(leaf)]
            if not a.done:
                raise NotImplementedError(f"{a.what} is read before it is computed")
            names[leaf] = rows(a, lo + k, hi + k)
        return names

    def value(self, expr, names: dict, shape_code: str) -> str:
        """Code of ``expr``; a zero matrix is an array of zeros."""
        if isinstance(expr, sp.ZeroMatrix):
            return f"jnp.zeros({shape_code}, dtype)"
        return print_jax(expr, names, transposes=self.transposes)

    # ---------------------------------------------------------------- comments

    def comment(self, piece: Piece, grad: bool, step=None) -> tuple[str, ...]:
        eq = piece.note
        at = T if step is None else step
        if not grad:
            ref = f"  ({eq.ref})" if eq.ref else ""
            return (equation_text(eq.target.at(at), eq.rhs.xreplace({T: at})) + ref,)
        lines = (f"{math_text(Grad(eq.about.at(at)))} = {math_text(piece.expr.xreplace({T: at}))}",)
        printed = [f.id for f in self.catalogue if f.gradient_of == eq.about.name and (
            f.steps is None or eq.steps is None or f.steps == eq.steps)]
        if printed:
            lines += (f"(the note prints this gradient: {', '.join(printed)})",)
        return lines

    # ---------------------------------------------------------------- blocks

    def stacked(self, p: Piece, grad: bool) -> list[Stmt]:
        k = ("g" if grad else "q", p.target)
        a = self.arrays[k]
        names = self.names_over(p.expr, p.lo, p.hi)
        var = self.new(f"{a.base}_{len(a.parts)}") if len(self._pieces(k)) > 1 else a.name
        code = self.value(p.expr, names, f"({_code(p.hi - p.lo + 1)}, batch, {a.size})")
        a.parts.append((p.lo, p.hi, var))
        c = self.comment(p, grad)
        return [Stmt(f"{var} = {code}",
                     c[:1] + (f"for steps {step_text(p.lo)}..{step_text(p.hi)} at once",)
                     + c[1:])]

    def _pieces(self, k) -> list[Piece]:
        ps = self.v.backward if k[0] == "g" else self.v.forward
        return [p for p in ps if p.target == k[1]]

    def loop(self, block: Block, grad: bool) -> list[Stmt]:
        out = []
        kind = "g" if grad else "q"
        own = set(block.targets)
        hoist_vars = []
        for h in block.hoists:
            a = self.arrays[(kind, h.target)]
            names = self.names_over(h.expr, h.lo, h.hi)
            var = self.new(f"{a.base}_hoisted")
            what = f"grad_{h.target}(t) L" if grad else f"{h.target}(t)"
            inside = " (inside the function applied to it)" if h.inside else ""
            out.append(Stmt(f"{var} = {self.value(h.expr, names, '')}",
                            (f"{math_text(h.expr)}: the part of {what} that does not depend on "
                             f"the loop{inside}, for steps {step_text(h.lo)}..{step_text(h.hi)} "
                             f"at once",)))
            hoist_vars.append((h, var, a.size))
        for seg in block.segments:
            single = sp.expand(seg.hi - seg.lo) == 0
            out += self.segment(block, seg, own, hoist_vars, grad, single)
        for t in block.targets:
            if t in self.needed:
                out += self.assemble((kind, t))
        return out

    def segment(self, block, seg, own, hoist_vars, grad, single) -> list[Stmt]:
        kind = "g" if grad else "q"
        d = block.direction
        names = self._params()
        inputs: list[tuple[str, str]] = []  # (name in the body, array rows over the segment)
        carried: list[str] = []  # own targets read at the previous step
        local: dict[str, str] = {}  # own targets computed at this step

        def leaf_code(leaf, k_read):
            key_ = self._key(leaf)
            if key_[0] == kind and key_[1] in own:
                if k_read == 0:
                    if key_[1] not in local:
                        raise NotImplementedError(f"{leaf} is read before it is computed in "
                                                  f"its step")
                    return local[key_[1]]
                if k_read == -d and single:
                    if self.cur.get(key_) is None:
                        raise NotImplementedError(f"{leaf}: no value before step {seg.lo}")
                    return self.cur[key_]
                if k_read == -d:
                    if key_[1] not in carried:
                        carried.append(key_[1])
                    return f"prev_{self.arrays[key_].base}"
                raise NotImplementedError(f"a loop reads {leaf}: only the previous step of "
                                          f"its own values is carried")
            a = self.arrays[key_]
            if not a.done:
                raise NotImplementedError(f"{a.what} is read before it is computed")
            if single:
                return f"{a.name}[{_code(seg.lo + k_read - a.lo)}]"
            r = rows(a, seg.lo + k_read, seg.hi + k_read)
            for name, rr in inputs:
                if rr == r:
                    return name
            label = {0: "_t", -1: "_prev", 1: "_next"}.get(int(k_read), f"_t{int(k_read)}")
            name = self.new(f"{a.base}{label}")
            inputs.append((name, r))
            return name

        body: list[Stmt] = []
        for piece, (terms, inside), held in seg.body:
            a = self.arrays[(kind, piece.target)]
            at = seg.lo if single else T
            expr_terms = [t.xreplace({T: at}) for t in terms]
            nm = dict(names)
            for t in expr_terms:
                for leaf in self._leaves(t):
                    nm[leaf] = leaf_code(leaf, sp.expand(self._step_of(leaf) - at))
            if held:
                h = next(h for h, _v, _s in hoist_vars if h.target == piece.target
                         and key(h.lo) <= key(seg.lo) and key(seg.hi) <= key(h.hi))
                var = [v for hh, v, _s in hoist_vars if hh is h][0]
                hv = sp.MatrixSymbol(f"_hoisted_{piece.target}", piece.expr.shape[0], 1)
                if single:
                    nm[hv] = f"{var}[{_code(seg.lo - h.lo)}]"
                else:
                    hname = self.new(f"{a.base}_hoisted_t")
                    inputs.append((hname, f"{var}[{_code(seg.lo - h.lo)}:"
                                          f"{_code(seg.hi - h.lo + 1)}]"))
                    nm[hv] = hname
                expr_terms = [hv] + expr_terms
            if not expr_terms:
                expr = sp.ZeroMatrix(*piece.expr.shape)
            else:
                expr = expr_terms[0] if len(expr_terms) == 1 else sp.MatAdd(*expr_terms)
            if inside:
                expr = Apply(piece.expr.f, expr)
            var = self.new(f"{a.base}_{'s' if single else 't'}{len(a.parts)}") if single \
                else self.new(f"{a.base}_now")
            local[piece.target] = var
            body.append(Stmt(f"{var} = {self.value(expr, nm, f'(batch, {a.size})')}",
                             self.comment(piece, grad, None if not single else seg.lo)))
        targets = [p.target for p, _t, _h in seg.body]
        if single:
            for name in targets:
                if name in self.needed:
                    self.arrays[(kind, name)].parts.append((seg.lo, seg.hi,
                                                            f"{local[name]}[None]"))
                self.cur[(kind, name)] = local[name]
            return [Stmt("", (f"step t = {step_text(seg.lo)}",))] + body
        # a lax.scan over the segment's steps
        fn = self.new("step")
        carry_in = [f"prev_{self.arrays[(kind, n)].base}" for n in carried]
        for n in carried:
            if (kind, n) not in self.cur:
                raise NotImplementedError(f"{n}: no value before the steps "
                                          f"{step_text(seg.lo)}..{step_text(seg.hi)}")
        kept = [n for n in targets if n in self.needed]  # stacked only when read after the loop
        ys = [local[n] for n in kept]
        head = [Stmt(f"def {fn}(carry, inp):",
                     (f"steps {step_text(seg.lo)}..{step_text(seg.hi)}, "
                      f"{'ascending' if block.direction > 0 else 'descending'}",))]
        inner = []
        if carried:
            inner.append(Stmt(f"{', '.join(carry_in)}, = carry",
                              ("the loop's own values at the step before",)))
        if inputs:
            inner.append(Stmt(f"{', '.join(n for n, _r in inputs)}, = inp",
                              ("this step's rows of the values computed before the loop",)))
        inner += body
        carry_out = ", ".join(local[n] for n in carried)
        inner.append(Stmt(f"return ({carry_out}{',' if carried else ''}), "
                          f"({', '.join(ys)}{',' if ys else ''})"))
        out = [Stmt(head[0].code, head[0].comments, tuple(inner))]
        lasts = [self.new(f"{self.arrays[(kind, n)].base}_last") for n in carried]
        stacks = [self.new(f"{self.arrays[(kind, n)].base}_{len(self.arrays[(kind, n)].parts)}")
                  for n in kept]
        init = ", ".join(self.cur[(kind, n)] for n in carried)
        xs_code = ", ".join(r for _n, r in inputs)
        rev = ", reverse=True" if block.direction < 0 else ""
        length = "" if inputs else f", length={_code(seg.hi - seg.lo + 1)}"
        out.append(Stmt(f"({', '.join(lasts)}{',' if lasts else ''}), "
                        f"({', '.join(stacks)}{',' if stacks else ''}) = "
                        f"lax.scan({fn}, ({init}{',' if carried else ''}), "
                        f"({xs_code}{',' if inputs else ''}){length}{rev})"))
        for n, s_ in zip(kept, stacks):
            self.arrays[(kind, n)].parts.append((seg.lo, seg.hi, s_))
        for n, last in zip(carried, lasts):
            self.cur[(kind, n)] = last
        for n in targets:
            if n not in carried:
                self.cur[(kind, n)] = None  # not carried: no single value is kept
        return out

    def blocks(self, blocks: list[Block], grad: bool) -> list[Stmt]:
        out = []
        kind = "g" if grad else "q"
        for b in blocks:
            if b.direction == 0:
                for p in b.pieces:
                    out += self.stacked(p, grad)
                for t in b.targets:
                    out += self.assemble((kind, t))
            else:
                out += self.loop(b, grad)
        return out

    def loop_transposes(self, blocks) -> list[Stmt]:
        terms = [t for b in blocks for seg in b.segments
                 for _p, (ts, _inside), _held in seg.body for t in ts]
        lines = []
        for f in left_matrices(terms, self.m):
            name = self.new(f"{f.name}_T")
            self.transposes[f] = name
            lines.append(Stmt(f'{name} = P["{f.name}"].T', (f"{f.name}^T",)))
        return lines

    # ---------------------------------------------------------------- passes

    def forward_pass(self) -> dict:
        v, m = self.v, self.m
        x = v.input
        xa = self._arr(("q", x.name), x.name, x.size.symbol, 1, TAU, f"{x.name}(t)", name="xs")
        xa.done = True
        if v.target_steps is not None:
            lo, hi = v.target_steps
            ta = self._arr(("q", m.target.name), m.target.name + "v", m.target.size.symbol, lo,
                           hi, f"{m.target.name}(t) as vectors", name="tv")
            ta.done = True
        for eq in v.equations:
            q = eq.target
            lo, hi = v.q_steps[q.name]
            a = self._arr(("q", q.name), q.name, q.size.symbol, lo, hi, f"{q.name}(t)")
        for i in v.initial:
            a = self.arrays[("q", i.quantity.name)]
            a.parts.append((i.step, i.step, f"{i.arg}[None]"))
            self.cur[("q", i.quantity.name)] = i.arg
        blocks = schedule(v.forward, v.forward_order, grad=False)
        self.needed = {a.name for p in v.backward for a in values_read(p.expr)}
        self.needed |= {a.name for _p, sums in v.param_grads for s_ in sums
                        for a in values_read(s_.expr)}
        self.needed |= {q.name for q in v.outputs} | {i.quantity.name for i in v.initial}
        self.needed |= _read_across(blocks, grad=False)
        pre = self.loop_transposes(blocks)
        body = self.blocks(blocks, grad=False)
        f_arrays = [self.arrays[("q", eq.target.name)] for eq in v.equations
                    if eq.target.name in self.needed]
        return {"f_body": pre + body, "f_arrays": f_arrays}

    def backward_pass(self) -> dict:
        v, m = self.v, self.m
        self.transposes, self.cur = {}, {}
        for q in v.outputs:
            lo, hi = v.out_steps[q.name]
            a = self._arr(("d", q.name), f"d_{q.name}", q.size.symbol, lo, hi,
                          f"the given gradient of out[{q.name!r}]", name=self.new(f"d_{q.name}"))
            a.done = True
        for name in v.backward_order:
            if name in v.g_steps:
                q = m.quantity(name)
                lo, hi = v.g_steps[name]
                self._arr(("g", name), "d" + name, q.size.symbol, lo, hi, f"grad_{name}(t) L")
        blocks = schedule(v.backward, v.backward_order, grad=True)
        self.needed = {g.of.name for _p, sums in v.param_grads for s_ in sums
                       for g in s_.expr.atoms(Grad) if isinstance(g.of, At)}
        self.needed |= {i.quantity.name for i in v.initial} | _read_across(blocks, grad=True)
        body = self.blocks(blocks, grad=True)
        grads, done = [], {}
        for p, sums in v.param_grads:
            total = sp.MatAdd(*sums) if len(sums) > 1 else sums[0]
            if total in done:
                grads.append(Stmt(f'grads["{p.name}"] = grads["{done[total]}"]',
                                  (f"grad_{p.name} L: the same sum as grad_{done[total]} L",)))
                continue
            done[total] = p.name
            parts = []
            for s in sums:
                names = self.names_over(s.expr, s.steps.lo, s.steps.hi)
                parts.append(print_jax(s.expr, names, summed=True))
            grads.append(Stmt(f'grads["{p.name}"] = {" + ".join(parts)}',
                              (f"grad_{p.name} L = {math_text(total)}, one product or column "
                               f"sum over all steps",)))
        inits = []
        for i in v.initial:
            a = self.arrays[("g", i.quantity.name)]
            inits.append((i.arg, f"{a.name}[{_code(i.step - a.lo)}]"))
        d_args = [self.arrays[("d", q.name)].name for q in v.outputs]
        return {"b_body": body, "grads": grads, "d_inits": inits, "d_args": d_args}


def _read_across(blocks, grad: bool) -> set:
    """The targets a piece of another block (or a hoist) reads: their arrays are needed."""
    owner = {t: i for i, b in enumerate(blocks) for t in b.targets}
    out = set()
    for i, b in enumerate(blocks):
        exprs = [p.expr for p in b.pieces] if b.direction == 0 else [h.expr for h in b.hoists]
        exprs += [] if b.direction == 0 else [t for seg in b.segments
                                               for _p, (terms, _in), _h in seg.body for t in terms]
        for e in exprs:
            names = {g.of.name for g in e.atoms(Grad) if isinstance(g.of, At)} if grad else \
                {a.name for a in values_read(e)}
            out |= {n for n in names if n in owner and (owner[n] != i or b.direction == 0)}
    return out


# ---------------------------------------------------------------- public entry points

def emit_jax(model: Model, spec, equations: list, command: str | None = None,
             catalogue: tuple = ()) -> str:
    """Python source of a module importing only JAX: the model's forward pass as a
    ``jax.custom_vjp`` whose backward pass is the checked BPTT, both ``lax.scan`` loops,
    ``loss`` and ``loss_and_grad``, for the sizes, activation, loss and reduction of
    ``spec``."""
    from ...functions import ACTIVATIONS
    from ..files import codegen_command, loss_rows, wrap
    from .kernels import LOSS_KERNELS
    if ACTIVATIONS[spec.activation].symbolic_only and model.uses_activation:
        raise ValueError(f"codegen needs a concrete activation: {spec.activation} is a generic, "
                         f"undefined function with no numeric value; use --activation tanh "
                         f"(or sigmoid, relu, identity)")
    v = build(model, spec, equations)
    em = _Emitter(v, catalogue)
    ctx = {**em.forward_pass(), **em.backward_pass()}
    loss = LOSSES[spec.loss]
    yhat = At("yhat", model.output.size.symbol, 1, T)
    gm = loss.grad_matrix(yhat, model.target.now)
    onehot = "jax.nn.one_hot(labels, N_OUT, dtype=yhat.dtype)"
    grad_code = print_jax(gm, {yhat: "yhat", model.target.now:
                               onehot if loss.target == "class" else "ys"})
    out_code = [(q.name, rows(em.arrays[("q", q.name)], *v.out_steps[q.name]))
                for q in v.outputs]
    return render(TEMPLATE, **ctx, **{
        "m": model, "v": v, "spec": spec, "loss": loss, "reduction": REDUCTIONS[spec.reduction],
        "command": python_comment(command or codegen_command(spec, None, "jax")),
        "template": TEMPLATE, "class_target": loss.target == "class", "dims": DIMS,
        "size_code": SIZE_CODE, "arr": em.arrays, "code": _code, "step_text": step_text,
        "wrap": wrap, "loss_rows": loss_rows(*v.out_steps[model.output.name]),
        "params": model.params, "kernels": LOSS_KERNELS[spec.loss], "out_code": out_code,
        "loss_grad_code": grad_code, "loss_grad_text": math_text(gm),
        "equations_text": [equation_text(eq.target.now, eq.rhs) for eq in v.equations],
    })


__all__ = ["emit_jax"]
