"""NumPy code generation: the certified BPTT equations, printed for batched arrays.

Pipeline: ``matrix_equations`` (checked exactly against ``sympy.diff``) -> statements, each a
line of code printed by ``BatchedNumPyPrinter`` with the math it implements as a comment ->
Jinja templates ``numpy_loop.py.jinja`` / ``numpy_unrolled.py.jinja`` (structure only).

Optimizations, all decided here and none depending on tau being small:
- terms of a recursion that do not depend on the recursion (b + U x(t) in a(t), V^T grad_o(t)
  in grad_h(t)) are hoisted out of the time loop and computed for all steps in one GEMM;
- parameter gradients (the summed equations) are single GEMMs over stacked time steps;
- phi'(a(t)) is written with the stored h(t) (1 - h^2 for tanh), as the derivation gives it;
- few large arrays per call (fresh memory costs page faults): b + U x(t) is computed into the
  storage of h(t) and a(t) = (b + U x(t)) + W h(t-1) completed there; V^T grad_o(t) goes into
  the storage of grad_a(t); softmax works in place on o(t) and grad_o(t) in place on y^(t),
  with a one-hot y(t) subtracted at the label positions (no dense one-hot array); the time
  loops put each step's product and phi'(h(t)) in one small scratch array; loss_and_grad
  holds h(0..tau) and grad_a(1..tau) in one allocation (the C allocator then reuses it on
  the next call instead of faulting fresh pages in); nothing is kept across calls;
- the output layer and loss use stable kernels (max-shifted softmax, log-sum-exp,
  logaddexp-form sigmoid and BCE); they are the one part written here by hand, each with
  the identity it implements, and are checked numerically against the SymPy definitions.

The generic activation ``phi`` has no numeric value: codegen refuses it with a one-line error
that suggests a concrete activation (it does not take callables).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.str import StrPrinter

from .derive import MatrixEquation, matrix_equations
from .functions import ACTIVATIONS, LOSSES
from .graph import MatrixSymbols
from .numpy_printer import print_batched, print_batched_into
from .spec import LIMITS, RNNSpec
from .templating import render

FORMS = ("loop", "unrolled")
TEMPLATES = {"loop": "numpy_loop.py.jinja", "unrolled": "numpy_unrolled.py.jinja"}


@dataclass(frozen=True)
class Stmt:
    """One line of generated code and the comment lines (math) printed above it."""

    code: str
    comments: tuple[str, ...] = ()


# ---------------------------------------------------------------- sizes beyond certification

@dataclass(frozen=True)
class CodegenSpec(RNNSpec):
    """An ``RNNSpec`` for code generation only, with sizes up to 100000.

    ``RNNSpec`` limits sizes for exact element-level certification. Emitted code does not
    need that: its equations are certified on a small instance and hold for every size.
    Everything else is validated by ``RNNSpec`` itself.
    """

    def __post_init__(self) -> None:
        for name in ("n_in", "n_hidden", "n_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100000:
                raise ValueError(f"{name} must be an integer in 1..100000, got {value!r}")
        RNNSpec(**{**{f.name: getattr(self, f.name) for f in dataclasses.fields(RNNSpec)},
                   **{k: min(getattr(self, k), LIMITS[k]) for k in ("n_in", "n_hidden", "n_out")}})


# ---------------------------------------------------------------- equations

def certified_spec(activation: str, loss: str) -> RNNSpec:
    """The small instance the equations are certified on (every equation occurs at tau = 2)."""
    return RNNSpec(tau=2, n_in=3, n_hidden=4, n_out=3, activation=activation, loss=loss,
                   h0="symbol")


@functools.lru_cache(maxsize=None)
def certified_equations(activation: str, loss: str) -> dict[str, MatrixEquation]:
    """The BPTT equations for ``activation`` and ``loss``, checked exactly against sympy.diff.

    The equations do not depend on the sizes or on tau (t is a label in them), so they are
    certified once on a small instance (tau = 2, sizes 3, 4, 3) that exercises every one;
    all symbolic work here uses that instance's MatrixSymbols, and the printed code takes
    its sizes from the module's constants.
    """
    return {eq.name: eq for eq in matrix_equations(certified_spec(activation, loss))}


# ---------------------------------------------------------------- names: math -> arrays

#: node kind -> (array, index of step t in it): hs[t] is h(t); the others start at t = 1.
#: b + U x(t) is held in hs[t] and V^T grad_o(t) in das[t-1] until the step completes them.
ARRAYS = {"x": ("xs", -1), "h": ("hs", 0), "grad_o": ("dos", -1), "grad_a": ("das", -1),
          "a_in": ("hs", 0), "dh_o": ("das", -1), "yhat": ("yhats", -1), "y": ("ys", -1)}
#: the same nodes for all steps at once (stacked (tau, batch, n) arrays)
STACKED = {"x^(t)": "xs", "h^(t)": "hs[1:]", "h^(t-1)": "hs[:-1]", "grad_o^(t)": "dos",
           "grad_a^(t)": "das", "yhat^(t)": "yhats", "y^(t)": "ys", "o^(t)": "os"}
#: ... and flattened to (tau * batch, n): one row per step and sequence, for the summed GEMMs
FLAT = {"x^(t)": ("x_all", "xs", "N_IN"), "h^(t)": ("h_all", "hs[1:]", "N_HIDDEN"),
        "h^(t-1)": ("hprev_all", "hs[:-1]", "N_HIDDEN"),
        "grad_o^(t)": ("do_all", "dos", "N_OUT"), "grad_a^(t)": ("da_all", "das", "N_HIDDEN")}
#: values of the current step kept in a plain variable
CURRENT = {"grad_h": "dh", "a": "a"}
PARAMS = ("U", "W", "V", "b", "c")
_NAME = re.compile(r"^([A-Za-z_]+)\^\((.+)\)$")
_T, _TAU = sp.Symbol("t", integer=True), sp.Symbol("tau", integer=True)


def _split(name: str) -> tuple[str, sp.Expr]:
    m = _NAME.match(name)
    if not m:
        raise NotImplementedError(f"matrix symbol {name!r} is not a node at a step")
    return m.group(1), sp.sympify(m.group(2), locals={"t": _T, "tau": _TAU})


def _step_value(step) -> sp.Expr:
    """A step as SymPy: an int, or the loop variable "t", or "tau" (the last step)."""
    return {"t": _T, "tau": _TAU}.get(step, None) if isinstance(step, str) else sp.Integer(step)


def at_step(expr, step, tau=None):
    """``expr`` with the step label t set to ``step`` and tau to ``tau`` (None: keep tau)."""
    subs = {_T: _step_value(step)}
    if tau is not None:
        subs[_TAU] = sp.Integer(tau)
    rep = {}
    for m in expr.atoms(sp.MatrixSymbol):
        if m.name in PARAMS or not _NAME.match(m.name):
            continue
        kind, tag = _split(m.name)
        rep[m] = sp.MatrixSymbol(f"{kind}^({sp.sstr(tag.subs(subs))})", *m.shape)
    return expr.xreplace(rep)


def step_names(expr, step) -> dict[str, str]:
    """Code for every MatrixSymbol in ``expr`` (already ``at_step``) at step ``step``."""
    current = _step_value(step)
    names = {}
    for m in sorted(expr.atoms(sp.MatrixSymbol), key=lambda s: s.name):
        if m.name in PARAMS:
            names[m.name] = m.name
            continue
        kind, k = _split(m.name)
        if kind in CURRENT and sp.expand(k - current) == 0:
            names[m.name] = CURRENT[kind]
        elif kind in ARRAYS:
            array, base = ARRAYS[kind]
            names[m.name] = f"{array}[{sp.sstr(k + base)}]"
        else:
            raise NotImplementedError(f"no array holds {m.name}")
    return names


def stacked_names(expr, flat: bool = False) -> dict[str, str]:
    names = {}
    for m in sorted(expr.atoms(sp.MatrixSymbol), key=lambda s: s.name):
        if m.name in PARAMS:
            names[m.name] = m.name
        elif flat and m.name in FLAT:
            names[m.name] = FLAT[m.name][0]
        elif not flat and m.name in STACKED:
            names[m.name] = STACKED[m.name]
        else:
            raise NotImplementedError(f"no stacked array holds {m.name}")
    return names


# ---------------------------------------------------------------- math as comment text

class _MathText(StrPrinter):
    """Plain text for comments: grad_h(t+1) L, W^T, diag(1 - h(t)^2), products by spaces."""

    def _print_MatrixSymbol(self, expr):
        m = _NAME.match(expr.name)
        if not m:
            return expr.name
        kind, tag = m.groups()
        tag = sp.sstr(sp.sympify(tag, locals={"t": _T, "tau": _TAU}))
        if kind == "dh_o":
            return f"V^T grad_o({tag}) L"
        if kind == "a_in":
            return f"(b + U x({tag}))"
        kind = "y^" if kind == "yhat" else kind
        return f"{kind}({tag}) L" if kind.startswith("grad_") else f"{kind}({tag})"

    def _print_Transpose(self, expr):
        return f"{self._print(expr.arg)}^T"

    def _print_MatAdd(self, expr):
        """Terms in the note's order (b, c, W, V, U first), subtracted terms last."""
        def key(term):
            coeff = term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else 1
            names = sorted(m.name for m in term.atoms(sp.MatrixSymbol) if m.name in PARAMS)
            rank = min(("bcWVU".index(n) for n in names), default=9)
            return (bool(coeff < 0), rank, sp.sstr(term))
        text = ""
        for term in sorted(expr.args, key=key):
            part = self._print(term)
            text += (" - " + part[1:] if part.startswith("-") else " + " + part) if text else part
        return text

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        text = " ".join(self._print(f) for f in factors)
        return text if coeff == 1 else ("-" + text if coeff == -1 else f"{coeff} {text}")

    def _print_DiagMatrix(self, expr):
        return f"diag({self._print(expr.args[0])})"

    def _print_ElementwiseApplyFunction(self, expr):
        z, body = expr.function.variables[0], expr.function.expr
        arg = sp.Symbol(self._print(expr.expr))
        return sp.sstr(body.xreplace({z: arg})).replace("**", "^").replace("Piecewise", "")

    def _print_Symbol(self, expr):
        return expr.name


def math_text(expr) -> str:
    return _MathText().doprint(expr)


def equation_text(lhs, rhs) -> str:
    return f"{math_text(lhs)} = {math_text(rhs)}"


# ---------------------------------------------------------------- the note's formulas

def _note(name: str, spec: RNNSpec, dphi_text: str) -> str:
    """Which formula of the note a backward statement implements (as it reads for this spec)."""
    tanh = spec.activation == "tanh"
    act = "" if tanh else f" with phi' = {dphi_text} for {spec.activation}"
    if name == "grad_o":
        return {"softmax-ce": "note: (grad_o(t) L)_i = y^_i(t) - 1[i = y(t)]",
                "mse": "mse (not in the note): grad_o(t) L = o(t) - y(t)",
                "bce": "sigmoid + BCE (not in the note): grad_o(t) L = y^(t) - y(t)"}[spec.loss]
    d1 = dphi_text.replace("(t)", "(t+1)")
    return {
        "grad_h_last": "note: grad_h(tau) L = V^T grad_o(tau) L",
        "grad_h": f"note (BPTT): grad_h(t) L = W^T diag({d1}) grad_h(t+1) L + V^T grad_o(t) L"
                  f"{act}",
        "grad_a": f"note: the factor diag({dphi_text}) of the recursion{act}",
        "grad_h0": "not in the note (h(0) is given there): h(0) feeds a(1)",
        "grad_c": "note: grad_c L = sum_t grad_o(t) L",
        "grad_b": f"note: grad_b L = sum_t diag({dphi_text}) grad_h(t) L",
        "grad_V": "note: grad_V L = sum_t (grad_o(t) L) h(t)^T",
        "grad_W": f"note: grad_W L = sum_t diag({dphi_text}) (grad_h(t) L) h(t-1)^T",
        "grad_U": f"note: grad_U L = sum_t diag({dphi_text}) (grad_h(t) L) x(t)^T",
    }[name]


# ---------------------------------------------------------------- stable output kernels

#: loss -> (output lines, output-and-loss lines); names: os (logits), yhats, labels / ys
#: (targets), loss. Each line's comment is the identity it implements; tests check them against
#: the SymPy definitions in ``functions.LOSSES``. Softmax works in place on os (the caller's
#: logits are not needed again); for mse and bce the loss lines follow the output line.
_SHIFT = [Stmt("z = os", ("softmax is unchanged by a shift: z = o(t) - max_i o_i(t) <= 0, "
                          "so exp(z) <= 1",
                          "(z in place of o(t))")),
          Stmt("z -= z.max(axis=-1, keepdims=True)", ())]
_SOFTMAX = [Stmt("yhats = numpy.exp(z, out=z)", ("exp(z), no overflow (in place of z)",)),
            Stmt("s = yhats.sum(axis=-1, keepdims=True)", ("sum_i exp(z_i), at least 1",)),
            Stmt("yhats /= s", ("y^(t) = softmax(o(t)) = exp(z) / sum_i exp(z_i), in place",))]
KERNELS = {
    "softmax-ce": (
        _SHIFT + _SOFTMAX,
        _SHIFT
        + [Stmt("z_y = numpy.take_along_axis(z, labels[..., None], axis=-1)",
                ("z[y(t)], before exp(z) overwrites z",))]
        + _SOFTMAX
        + [Stmt("log_p = z_y - numpy.log(s)",
                ("log y^(t)[y(t)] = z[y(t)] - log sum_i exp(z_i)  (log-sum-exp)",)),
           Stmt("loss = -log_p.sum()",
                ("L = sum_t L(t), L(t) = -log y^(t)[y(t)], summed over the batch too",))]),
    "mse": (
        [Stmt("yhats = os", ("y^(t) = o(t)",))],
        [Stmt("loss = 0.5 * ((os - ys)**2).sum()",
              ("L = sum_t L(t), L(t) = 1/2 ||o(t) - y(t)||^2, summed over the batch too",))]),
    "bce": (
        [Stmt("yhats = numpy.exp(-numpy.logaddexp(0, -os))",
              ("y^(t) = sigmoid(o(t)) = exp(-log(1 + exp(-o(t)))), no overflow",))],
        [Stmt("loss = (numpy.logaddexp(0, os) - ys * os).sum()",
              ("L(t) = -sum_i y_i log y^_i + (1 - y_i) log(1 - y^_i)"
               " = sum_i log(1 + exp(o_i)) - y_i o_i",))]),
}


# ---------------------------------------------------------------- statements

class _Nodes(MatrixSymbols):
    """Matrix-level names, including adjoints grad_<node>^(t) (same size as the node)."""

    def node(self, kind: str, t) -> sp.MatrixSymbol:
        if kind.startswith("grad_"):
            return sp.MatrixSymbol(f"{kind}^({t})", *super().node(kind[5:], t).shape)
        return super().node(kind, t)


def _activation_stmt(spec: RNNSpec, step) -> Stmt:
    act = ACTIVATIONS[spec.activation]
    z = sp.Dummy("z", real=True)
    ms = _Nodes(certified_spec(spec.activation, spec.loss))
    a = ms.node("a", "t")
    h_t = ms.node("h", "t")
    expr = at_step(ElementwiseApplyFunction(sp.Lambda(z, act.phi(z)), a), step)
    target = step_names(at_step(h_t, step), step)[at_step(h_t, step).name]
    names = {**step_names(expr, step), at_step(a, step).name: target}  # a(t) is held in h(t)
    label = sp.sstr(_step_value(step))
    return Stmt("\n".join(print_batched_into(expr, target, names)),
                (f"h({label}) = {spec.activation}(a({label})), in place",))


def _hoist(rhs, recurrent: str):
    """Split a sum into the terms with the recurrent symbol kind and the others."""
    terms = rhs.args if isinstance(rhs, sp.MatAdd) else (rhs,)
    keep = [x for x in terms if any(m.name.startswith(recurrent) for m in x.atoms(sp.MatrixSymbol))]
    out = [x for x in terms if x not in keep]
    return keep, out


def build(spec: RNNSpec, form: str) -> dict:
    """Everything the templates need: statements for each block, sizes and documentation."""
    if spec.activation == "phi":
        raise ValueError("codegen needs a concrete activation: phi is a generic, undefined "
                         "function with no numeric value; use --activation tanh (or sigmoid, "
                         "relu, identity)")
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    eqs = certified_equations(spec.activation, spec.loss)
    ms = _Nodes(certified_spec(spec.activation, spec.loss))
    U, W, V, b, c = (ms.param(k) for k in PARAMS)
    n_h = ms.spec.n_hidden
    tau = spec.tau if form == "unrolled" else None
    dphi = ACTIVATIONS[spec.activation].dphi_from_h
    dphi_text = sp.sstr(dphi(sp.Symbol("h(t)"))).replace("**", "^").replace("Piecewise", "")

    def array_at(kind, step):
        m = at_step(ms.node(kind, "t"), step, tau)
        return step_names(m, step)[m.name]

    # forward: a(t) = b + W h(t-1) + U x(t); the terms without h(t-1) for all steps at once
    a_rhs = sp.MatAdd(b, W * ms.node("h", "t-1"), U * ms.node("x", "t"))
    rec, hoisted = _hoist(a_rhs, "h^")
    hoisted_expr = sp.MatAdd(*hoisted)
    a_in = sp.MatrixSymbol("a_in^(t)", n_h, 1)
    # stacked GEMMs run on (tau * batch, n) views: one BLAS call (a 3-D matmul loops over t)
    forward_pre = [
        Stmt("x_all = xs.reshape(-1, N_IN)", ("x(t) for every t and sequence, one row each",)),
        Stmt("h_all = hs[1:].reshape(-1, N_HIDDEN)",
             ("h(t) for every t and sequence, one row each (a view of hs)",)),
        Stmt("\n".join(print_batched_into(hoisted_expr, "h_all",
                                          stacked_names(hoisted_expr, flat=True))),
             (f"{math_text(hoisted_expr)} for every t in one GEMM, in the storage of h(t)",
              "(the part of a(t) without h(t-1))"))]
    a_step = sp.MatAdd(a_in, *rec)

    def forward_step(step):  # a(t) is computed in the storage of h(t), then phi in place
        expr = at_step(a_step, step, tau)
        h_code = array_at("h", step)
        lines = print_batched_into(expr, h_code, step_names(expr, step), transposes={"W": "WT"},
                                   scratch="prod")
        return [Stmt("\n".join(lines),
                     (equation_text(at_step(ms.node("a", "t"), step),
                                    at_step(a_rhs, step, tau))
                      + f", in {h_code}, which holds {math_text(at_step(a_in, step, tau))[1:-1]}",)),
                _activation_stmt(spec, step)]

    o_rhs = sp.MatAdd(c, V * ms.node("h", "t"))
    forward_post = [
        Stmt("\n".join(print_batched_into(o_rhs, "os", stacked_names(o_rhs, flat=True), new=True)
                       + ["os = os.reshape(-1, batch, N_OUT)"]),
             ("o(t) = c + V h(t) for every t in one GEMM",))]
    out_lines, out_loss_lines = KERNELS[spec.loss]
    if spec.loss != "softmax-ce":  # elementwise outputs come from the loss definition
        o = sp.Symbol("o", real=True)
        out_expr = LOSSES[spec.loss].output([o])[0]
        out_lines = [dataclasses.replace(out_lines[0],
                                         code=f"yhats = {print_batched(out_expr, {'o': 'os'})}")]
        out_loss_lines = out_lines + out_loss_lines

    # backward: grad_o(t) for all steps, then V^T grad_o(t) for all steps in one GEMM
    def stmt(eq, lhs_code, rhs, step="t", names=None, note=True, into=False, scratch=None):
        rhs_s = at_step(rhs, step, tau)
        names = names if names is not None else step_names(rhs_s, step)
        if into:  # written into the existing array lhs_code
            lines = (_note(eq.name, spec, dphi_text),) if note else ()
            lines += (equation_text(at_step(eq.lhs, step, tau), rhs_s),)
            return Stmt("\n".join(print_batched_into(rhs_s, lhs_code, names, scratch=scratch)),
                        lines)
        code = print_batched(rhs_s, names)
        lines = (_note(eq.name, spec, dphi_text),) if note else ()
        lines += (equation_text(at_step(eq.lhs, step, tau), rhs_s),)
        return Stmt(f"{lhs_code} = {code}", lines)

    go = eqs["grad_o"]
    class_target = LOSSES[spec.loss].target == "class"
    # grad_o(t) L = y^(t) - y(t) in place on y^(t), one row per step and sequence
    go_names = {"yhat^(t)": "do_all", "y^(t)": "labels.ravel()" if class_target
                else "ys.reshape(-1, N_OUT)"}
    go_onehot = {"y^(t)": "labels.ravel()"} if class_target else {}
    go_lines = (_note(go.name, spec, dphi_text), equation_text(go.lhs, go.rhs)
                + (", y(t) one-hot: 1 subtracted at the label of each row" if class_target else ""))
    backward_pre = [
        Stmt("do_all = yhats.reshape(-1, N_OUT)",
             ("grad_o(t) L for every t and sequence, one row each, in the storage of y^(t)",)),
        Stmt("\n".join(print_batched_into(go.rhs, "do_all", go_names, onehot=go_onehot)),
             go_lines)]
    last, gh, ga = eqs["grad_h_last"], eqs["grad_h"], eqs["grad_a"]
    go_t = ms.node("grad_o", "t")
    dh_o_term = last.rhs.xreplace({ms.node("grad_o", "tau"): go_t})  # V^T grad_o(t)
    backward_pre.append(Stmt("da_all = das.reshape(-1, N_HIDDEN)",
                             ("grad_a(t) L for every t and sequence, one row each (a view of das)",)))
    backward_pre.append(Stmt("\n".join(print_batched_into(dh_o_term, "da_all",
                                                          stacked_names(dh_o_term, flat=True))),
                             (f"{math_text(dh_o_term)} for every t in one GEMM, in the storage of "
                              f"grad_a(t) L",
                              "(the part of grad_h(t) L without grad_a(t+1) L)")))
    dh_o = sp.MatrixSymbol("dh_o^(t)", n_h, 1)

    def backward_last(step):  # grad_h(tau) L, then grad_a(tau) L
        rhs = last.rhs.xreplace({ms.node("grad_o", "tau"): go_t}).xreplace({dh_o_term: dh_o})
        s1 = stmt(last, "dh", at_step(rhs, step, tau), step=step)
        return [s1, stmt(ga, array_at("grad_a", step), ga.rhs, step=step, into=True,
                         scratch="prod")]

    def backward_step(step):  # grad_h(t) L for t < tau, then grad_a(t) L, both in das[t-1]
        da = array_at("grad_a", step)
        rhs = gh.rhs.xreplace({dh_o_term: dh_o})
        names = {**step_names(at_step(rhs, step, tau), step), at_step(dh_o, step, tau).name: "dh"}
        return [Stmt(f"dh = {da}", ("grad_h(t) L is built in the storage of grad_a(t) L, "
                                    "which holds V^T grad_o(t) L",)),
                stmt(gh, "dh", rhs, step=step, names=names, into=True, scratch="prod"),
                stmt(ga, da, ga.rhs, step=step, into=True, scratch="prod")]

    h0 = eqs["grad_h0"]
    backward_post = [stmt(h0, "grad_h0", h0.rhs, step=1)]
    flat = [Stmt(f"{name} = {src}.reshape(-1, {size})", (f"{math_text(sp.MatrixSymbol(key, 1, 1))}"
                                                         f" for every t and sequence, one row each",))
            for key, (name, src, size) in sorted(FLAT.items(), key=lambda kv: kv[1][0])
            if name not in ("do_all", "da_all")]  # those two are made before the time loop
    grads = []
    for p in ("U", "W", "V", "b", "c"):
        eq = eqs[f"grad_{p}"]
        code = print_batched(eq.rhs, stacked_names(eq.rhs, flat=True), summed=True)
        grads.append(Stmt(f"grad_{p} = {code}",
                          (_note(eq.name, spec, dphi_text),
                           f"grad_{p} L = sum_t {math_text(eq.rhs)}, as one GEMM or column sum "
                           f"over all steps")))
    return {
        "spec": spec, "form": form, "forward_pre": forward_pre, "forward_step": forward_step,
        "forward_post": forward_post, "output_lines": out_lines,
        "output_loss_lines": out_loss_lines,
        "backward_pre": backward_pre, "backward_last": backward_last,
        "backward_step": backward_step, "backward_post": backward_post, "flat": flat,
        "grads": grads, "class_target": class_target,
        "bounded_target": spec.loss == "bce",
    }


# ---------------------------------------------------------------- public entry points

def module_filename(spec: RNNSpec, form: str) -> str:
    """``rnn_loop.py`` or ``rnn_unrolled_tau<N>.py``, plus the non-default choices."""
    parts = ["rnn", form] + ([f"tau{spec.tau}"] if form == "unrolled" else [])
    default = RNNSpec()
    for name, flag in (("n_in", "in"), ("n_hidden", "h"), ("n_out", "out")):
        if getattr(spec, name) != getattr(default, name):
            parts.append(f"{flag}{getattr(spec, name)}")
    for name in ("activation", "loss"):
        if getattr(spec, name) != getattr(default, name):
            parts.append(getattr(spec, name).replace("-", "_"))
    return "_".join(parts) + ".py"


def codegen_command(spec: RNNSpec, form: str, out: str | None = None) -> str:
    """The CLI command that writes this module (only the options that differ from defaults)."""
    words = ["symrnn", "codegen", "--form", form]
    if form == "unrolled":
        words += ["--tau", str(spec.tau)]
    default = RNNSpec()
    for name, flag in (("n_in", "--inputs"), ("n_hidden", "--hidden"), ("n_out", "--outputs"),
                       ("activation", "--activation"), ("loss", "--loss")):
        if getattr(spec, name) != getattr(default, name):
            words += [flag, str(getattr(spec, name))]
    if out is not None:
        words += ["--out", out]
    return " ".join(words)


def emit_numpy(spec: RNNSpec, form: str = "loop", command: str | None = None) -> str:
    """Python source of a NumPy-only module with ``forward``, ``loss`` and ``loss_and_grad``.

    ``form`` is "loop" (any tau, read from the input) or "unrolled" (straight-line code for
    ``spec.tau``). ``command`` is written in the header as the way to regenerate the file.
    """
    if not isinstance(spec, RNNSpec):
        raise TypeError(f"spec must be an RNNSpec, got {type(spec).__name__}")
    ctx = build(spec, form)
    ctx["template"] = TEMPLATES[form]
    ctx["command"] = command or codegen_command(spec, form)
    ctx["steps"] = list(range(1, spec.tau + 1))
    return render(TEMPLATES[form], **ctx)
