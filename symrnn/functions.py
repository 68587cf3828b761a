"""Activations and losses: each defined once, with every fact the stages need.

An activation is phi in h(t) = phi(a(t)) (the note's first section; tanh in 10.9), or a gate's
sigma. An entry carries its SymPy definition (its derivative always comes from ``sympy.diff``),
the derivative written with its output where that is possible (1 - h^2 for tanh; checked
against ``sympy.diff`` by the tests and by every derivation that uses it), its LaTeX and plain
names, and its NumPy kernel.

A loss turns the output o(t) into y^(t) (10.11) and defines the per-step loss L(t). An entry
carries both element-level definitions, the gradient grad_o(t) L written with y^ and y, the
LaTeX and plain text of each, and the stable NumPy kernels of the generated code.

Adding one is adding one entry to ``ACTIVATIONS`` or ``LOSSES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

Expr = sp.Expr


@dataclass(frozen=True)
class Activation:
    """phi applied entrywise: h = phi(a).

    ``dphi_from_h`` writes phi'(a) with the output h = phi(a) (1 - h^2 for tanh), where that is
    possible. ``numpy`` is the NumPy ufunc that computes phi in one call, if there is one;
    otherwise generated code prints ``phi`` itself (a stable form: see the NumPy printer).
    ``note_form`` is True for the one activation the note's printed formulas assume (tanh).
    """

    name: str
    phi: Callable[[Expr], Expr]
    dphi_from_h: Callable[[Expr], Expr] | None
    latex: str
    text: str
    summary: str
    numpy: str | None = None
    note_form: bool = False
    symbolic_only: bool = False
    #: phi computed in place, in an array {x} holding its argument, by ufuncs with out= (no
    #: temporaries), when it is not one ufunc: the lines, {x} replaced by the array's code
    numpy_in_place: tuple[str, ...] = ()

    def dphi(self, z: Expr) -> Expr:
        """phi'(z) from ``sympy.diff``."""
        d = sp.Dummy("d", real=True)
        return sp.diff(self.phi(d), d).subs(d, z)

    def dphi_from_output(self, h: Expr) -> Expr:
        if self.dphi_from_h is None:
            raise ValueError(f"phi' of {self.name} cannot be written with its output")
        return self.dphi_from_h(h)


_phi_generic = sp.Function("phi", real=True)

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("tanh", sp.tanh, lambda h: 1 - h**2, r"\tanh", "tanh",
                   "hyperbolic tangent, the note's choice (10.9)", numpy="numpy.tanh",
                   note_form=True),
        Activation("sigmoid", lambda a: 1 / (1 + sp.exp(-a)), lambda h: h * (1 - h), r"\sigma",
                   "sigmoid", "logistic sigmoid 1/(1+exp(-a))",
                   # sigma(a) = (1 + tanh(a/2))/2: no overflow, one tanh, four passes in place
                   numpy_in_place=("numpy.multiply({x}, 0.5, out={x})",
                                   "numpy.tanh({x}, out={x})",
                                   "numpy.multiply({x}, 0.5, out={x})",
                                   "numpy.add({x}, 0.5, out={x})")),
        Activation("relu", lambda a: sp.Piecewise((a, a > 0), (0, True)),
                   lambda h: sp.Piecewise((1, h > 0), (0, True)), r"\operatorname{ReLU}", "relu",
                   "max(0, a); derivative 0 at a = 0 as in PyTorch, JAX and TensorFlow"),
        Activation("identity", lambda a: a, lambda h: sp.Integer(1), r"\operatorname{id}",
                   "identity", "h = a (a linear RNN)"),
        Activation("phi", _phi_generic, None, r"\phi", "phi",
                   "a generic, undefined activation phi (symbolic only)", symbolic_only=True),
    )
}


#: Every entrywise function a formula may apply (``symrnn.naming.Apply``): the activations,
#: and log and exp, which printed formulas use (log y^, exp o) but nobody chooses as phi.
FUNCTIONS: dict[str, Activation] = {
    **ACTIVATIONS,
    "log": Activation("log", sp.log, None, r"\log", "log", "natural logarithm",
                      numpy="numpy.log"),
    "exp": Activation("exp", sp.exp, lambda y: y, r"\exp", "exp", "exponential",
                      numpy="numpy.exp"),
}


# ------------------------------------------------------------------ entrywise, matrix level

def _name(name) -> Str:
    return name if isinstance(name, Str) else Str(name)


class Apply(MatrixExpr):
    """The registered function ``f`` applied to every entry of ``arg``."""

    def __new__(cls, f, arg):
        return sp.Basic.__new__(cls, _name(f), arg)

    @property
    def f(self) -> str:
        return self.args[0].name

    @property
    def arg(self):
        return self.args[1]

    @property
    def shape(self):
        return self.arg.shape

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(FUNCTIONS[self.f].phi)
        return Apply(self.f, arg)

    def _entry(self, i, j, **kwargs):  # SymPy indexes 1 x 1 products entry by entry
        return FUNCTIONS[self.f].phi(self.arg._entry(i, j, **kwargs))

    def _sympystr(self, printer):
        return f"{self.f}({printer._print(self.arg)})"


class Deriv(MatrixExpr):
    """f' entrywise: at ``arg`` (``from_output`` false), or written with the output of f
    (``from_output`` true, ``arg`` is then f's output: 1 - h^2 for tanh with arg h)."""

    def __new__(cls, f, arg, from_output):
        return sp.Basic.__new__(cls, _name(f), arg, sp.true if from_output else sp.false)

    @property
    def f(self) -> str:
        return self.args[0].name

    @property
    def arg(self):
        return self.args[1]

    @property
    def from_output(self) -> bool:
        return bool(self.args[2])

    @property
    def shape(self):
        return self.arg.shape

    def scalar(self, z: sp.Expr) -> sp.Expr:
        """The entry for an entry ``z`` of ``arg``."""
        act = FUNCTIONS[self.f]
        return act.dphi_from_output(z) if self.from_output else act.dphi(z)

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(self.scalar)
        return Deriv(self.f, arg, self.from_output)

    def _entry(self, i, j, **kwargs):  # SymPy indexes 1 x 1 products entry by entry
        return self.scalar(self.arg._entry(i, j, **kwargs))

    def _sympystr(self, printer):
        z = sp.Symbol(printer._print(self.arg))
        return printer._print(self.scalar(z))


class Softmax(MatrixExpr):
    """softmax(o) = exp(o) / sum_i exp(o_i), of a column vector."""

    def __new__(cls, arg):
        return sp.Basic.__new__(cls, arg)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape

    def doit(self, **hints):
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            s = sp.Add(*[sp.exp(v) for v in arg])
            return arg.applyfunc(lambda v: sp.exp(v) / s)
        return Softmax(arg)

    def _sympystr(self, printer):
        return f"softmax({printer._print(self.arg)})"



@dataclass(frozen=True)
class Kernel:
    """A line of generated NumPy code and the identity it implements (comment lines)."""

    code: str
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loss:
    """Output function y^ = out(o) and per-step loss L(t) = ell(y^, y).

    ``target`` is "class" (y(t) is an integer index, the note's case; its vector is the
    one-hot e_y(t)) or "vector" (y(t) is a real vector of length n_out). ``grad_o`` writes
    grad_o(t) L with y^ and the target vector; the derivation checks it against
    ``sympy.diff``. ``output_kernel`` and ``loss_kernel`` are the stable NumPy lines
    (names: ``os`` the logits, may be overwritten; ``yhats``; ``labels`` or ``ys``;
    ``loss``), each with the identity it implements; tests check them against the SymPy
    definitions.
    """

    name: str
    output: Callable[[list[Expr]], list[Expr]]
    per_step: Callable[[list[Expr], list[Expr]], Expr]
    grad_o: Callable[[list[Expr], list[Expr]], list[Expr]]
    target: str
    output_latex: str
    output_text: str
    loss_latex: str
    loss_text: str
    summary: str
    output_kernel: tuple[Kernel, ...]
    loss_kernel: tuple[Kernel, ...]
    note_form: bool = False
    #: grad_o(t) L in matrix form, from the matrix names of y^(t) and y(t)
    grad_matrix: Callable = lambda yhat, y: yhat - y
    #: y^(t) = out(o(t)) and L(t) (a 1 x 1 matrix) in matrix form, for the general checks
    matrix_output: Callable | None = None
    matrix_loss: Callable | None = None


def _softmax(o: list[Expr]) -> list[Expr]:
    s = sp.Add(*[sp.exp(v) for v in o])
    return [sp.exp(v) / s for v in o]


def _sigmoid(o: list[Expr]) -> list[Expr]:
    return [1 / (1 + sp.exp(-v)) for v in o]


def _minus_y(yhat: list[Expr], y: list[Expr]) -> list[Expr]:
    return [p - q for p, q in zip(yhat, y)]


_SHIFT = (Kernel("z = os", ("softmax is unchanged by a shift: z = o(t) - max_i o_i(t) <= 0, "
                            "so exp(z) <= 1", "(z in place of o(t))")),
          Kernel("z -= z.max(axis=-1, keepdims=True)"))
_SOFTMAX = (Kernel("yhats = numpy.exp(z, out=z)", ("exp(z), no overflow (in place of z)",)),
            Kernel("s = yhats.sum(axis=-1, keepdims=True)", ("sum_i exp(z_i), at least 1",)),
            Kernel("yhats /= s", ("y^(t) = softmax(o(t)) = exp(z) / sum_i exp(z_i), in place",)))
_STABLE_SIGMOID = Kernel("yhats = numpy.exp(-numpy.logaddexp(0, -os))",
                         ("y^(t) = sigmoid(o(t)) = exp(-log(1 + exp(-o(t)))), no overflow",))

LOSSES: dict[str, Loss] = {
    l.name: l
    for l in (
        Loss("softmax-ce", _softmax,
             lambda yhat, y: -sp.Add(*[q * sp.log(p) for p, q in zip(yhat, y) if q != 0]),
             _minus_y, "class", r"\operatorname{softmax}", "softmax",
             r"L^{(t)} = -\log p_{\text{model}}\left(y^{(t)} \mid \boldsymbol{x}^{(1)}, "
             r"\ldots, \boldsymbol{x}^{(t)}\right) = -\log \hat{y}^{(t)}_{y^{(t)}}",
             "L(t) = -log y^(t)[y(t)]",
             "softmax and the negative log-likelihood of the label, as in the note",
             _SHIFT + _SOFTMAX,
             _SHIFT + (Kernel("z_y = numpy.take_along_axis(z, labels[..., None], axis=-1)",
                              ("z[y(t)], before exp(z) overwrites z",)),) + _SOFTMAX
             + (Kernel("log_p = z_y - numpy.log(s)",
                       ("log y^(t)[y(t)] = z[y(t)] - log sum_i exp(z_i)  (log-sum-exp)",)),
                Kernel("loss = -log_p.sum()",
                       ("L = sum_t L(t), L(t) = -log y^(t)[y(t)], summed over the batch too",))),
             note_form=True,
             matrix_output=lambda o: Softmax(o),
             matrix_loss=lambda yhat, y: -(y.T * Apply("log", yhat))),
        Loss("mse", lambda o: list(o),
             lambda yhat, y: sp.Rational(1, 2) * sp.Add(*[(p - q) ** 2 for p, q in zip(yhat, y)]),
             _minus_y, "vector", r"\operatorname{id}", "identity",
             r"L^{(t)} = \tfrac{1}{2} \left\lVert \hat{\boldsymbol{y}}^{(t)} - "
             r"\boldsymbol{y}^{(t)} \right\rVert^{2}",
             "L(t) = 1/2 ||y^(t) - y(t)||^2",
             "mean squared error 1/2 ||o - y||^2 on o(t), for regression",
             (Kernel("yhats = os", ("y^(t) = o(t)",)),),
             (Kernel("yhats = os", ("y^(t) = o(t)",)),
              Kernel("loss = 0.5 * ((os - ys)**2).sum()",
                     ("L = sum_t L(t), L(t) = 1/2 ||o(t) - y(t)||^2, summed over the batch "
                      "too",))),
             matrix_output=lambda o: o,
             matrix_loss=lambda yhat, y: sp.Rational(1, 2) * ((yhat - y).T * (yhat - y))),
        Loss("bce", _sigmoid,
             lambda yhat, y: -sp.Add(*[q * sp.log(p) + (1 - q) * sp.log(1 - p)
                                       for p, q in zip(yhat, y)]),
             _minus_y, "vector", r"\sigma", "sigmoid",
             r"L^{(t)} = -\sum_{i} \left( y^{(t)}_{i} \log \hat{y}^{(t)}_{i} + "
             r"\left(1 - y^{(t)}_{i}\right) \log\left(1 - \hat{y}^{(t)}_{i}\right) \right)",
             "L(t) = -sum_i y_i(t) log y^_i(t) + (1 - y_i(t)) log(1 - y^_i(t))",
             "sigmoid and binary cross-entropy per output, for multi-label targets",
             (_STABLE_SIGMOID,),
             (_STABLE_SIGMOID,
              Kernel("loss = (numpy.logaddexp(0, os) - ys * os).sum()",
                     ("L(t) = -sum_i y_i log y^_i + (1 - y_i) log(1 - y^_i)"
                      " = sum_i log(1 + exp(o_i)) - y_i o_i",))),
             matrix_output=lambda o: Apply("sigmoid", o),
             matrix_loss=lambda yhat, y: -(y.T * Apply("log", yhat)
                                          + (sp.OneMatrix(*y.shape) - y).T
                                          * Apply("log", sp.OneMatrix(*y.shape) - yhat))),
    )
}


@dataclass(frozen=True)
class Reduction:
    """How the per-step losses L(t) of every sequence make the loss L. The derivation (and
    every BPTT equation) is of the sum, the note's L; another reduction divides L and every
    gradient by ``count``. ``latex(lo)`` is L's definition (steps lo..tau), ``sentence`` the
    document's words before it, ``text`` the code's comment."""

    name: str
    latex: Callable[[str], str]
    sentence: str
    text: str
    summary: str
    #: the divisor as code, from ``steps`` (the number of loss steps) and ``batch``
    count: str | None = None


REDUCTIONS: dict[str, Reduction] = {
    r.name: r
    for r in (
        Reduction("sum", lambda lo: rf"\sum_{{t={lo}}}^{{\tau}} L^{{(t)}}",
                  "The loss is the sum of the per-step losses:",
                  "L = sum_t L(t), summed over the batch",
                  "the sum over steps and sequences (the note's L, the default)"),
        Reduction("mean", lambda lo: (r"\frac{1}{\tau B} \sum_{t=1}^{\tau} \sum_{b=1}^{B} "
                                      r"L^{(t)}_{b}" if lo == "1" else
                                      r"\frac{1}{B} \sum_{b=1}^{B} L^{(\tau)}_{b}"),
                  "The loss is the mean of the per-step losses over the steps and the $B$ "
                  "sequences of a batch; each gradient below is that of the sum "
                  "(one sequence, $B = 1$), and the mean's is it divided by the same count:",
                  "L = mean of L(t) over the steps and the batch",
                  "the mean over steps and sequences (the sum divided by their count)",
                  "steps * batch"),
    )
}
