"""What a catalogue is made of: formulas written as printed, the claims they make, and the
algebra that builds them and refuses what does not type-check.

A ``Formula`` is one printed formula: its id, its LaTeX and plain text as printed, a builder
that writes it in matrix form with symbolic sizes (``build``), the readings to try when the
print does not hold or is not a matrix formula, and the facts its verdict's wording needs
(what it assumes, which gradient it prints). A builder gets a ``Builder`` (the model's
quantities at symbolic sizes) and returns ``GClaim``s: ``about == formula`` at every step of a
range. Building is itself a check: ``product`` raises ``IllFormed`` when the factors'
shapes do not multiply, ``Shorthand`` for a rank-3 Jacobian inside a product, and
``Ambiguous`` for a product over steps of matrices that do not commute, printed without an
order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import sympy as sp

from ..naming import TAU, T, At, Grad, Steps
from .indexform import Context, Term, to_index


class IllFormed(Exception):
    """A printed formula that does not type-check; ``only_when`` names the sizes (= 1) for
    which it would."""

    def __init__(self, message: str, only_when: tuple[str, ...] = (), factors: tuple = (),
                 at: int | None = None):
        super().__init__(message)
        self.only_when = only_when
        #: the factors of the product as printed, and the index of the first factor that does
        #: not multiply with the product of those before it
        self.factors = factors
        self.at = at


class Shorthand(Exception):
    """A rank-3 Jacobian inside a matrix product: the tensor convention of Deep Learning
    section 6.5.2, not a matrix product. ``rank3`` is that Jacobian."""

    def __init__(self, message: str, rank3=None):
        super().__init__(message)
        self.rank3 = rank3


class Ambiguous(Exception):
    """A product over steps of matrices that do not commute, printed without an order."""

    def __init__(self, message: str, product=None):
        super().__init__(message)
        self.product = product


#: The matrix products built since ``record_products()`` (each a tuple of factors): what a
#: verdict's explanation shows (which factor a reading moved).
_PRODUCTS: list = []


def record_products() -> list:
    """Start recording the products ``product`` builds; returns the (cleared) record."""
    _PRODUCTS.clear()
    return _PRODUCTS


# ------------------------------------------------------------------ printed objects

@dataclass(frozen=True)
class Rank3:
    """The rank-3 Jacobian d node / d P (entries x P's rows x P's columns)."""

    node: At
    param: sp.MatrixSymbol

    @property
    def shape(self) -> tuple:
        return (self.node.rows, *self.param.shape)

    def text(self) -> str:
        return f"d{sp.sstr(self.node).replace(' ', '')}/d{self.param.name}"


@dataclass(frozen=True)
class StepProduct:
    """prod_{j=lo}^{hi} J(j), printed without saying in which order the factors stand."""

    factor: Callable[[sp.Expr], sp.MatrixExpr]
    lo: sp.Expr
    hi: sp.Expr
    label: str

    def ordered(self, descending: bool) -> "OrderedProduct":
        return OrderedProduct(self, descending)


@dataclass(frozen=True)
class OrderedProduct:
    """A reading of a ``StepProduct``: J(hi) ... J(lo) (descending) or J(lo) ... J(hi)."""

    product: StepProduct
    descending: bool


def _dim_name(d) -> str:
    return sp.sstr(d)


def product(*factors):
    """The matrix product of ``factors`` as printed (symbolic sizes), refusing what is not a
    matrix product."""
    for f in factors:
        if isinstance(f, Rank3):
            raise Shorthand(f"{f.text()} is a rank-3 Jacobian ({' x '.join(map(_dim_name, f.shape))})"
                            f" inside a matrix product", f)
        if isinstance(f, StepProduct):
            raise Ambiguous(f"{f.label} is a product over steps of matrices that do not commute, "
                            f"printed without an order", f)
    out = factors[0]
    for k, f in enumerate(factors[1:], 1):
        a, b = out.shape[1], f.shape[0]
        if sp.simplify(a - b) != 0:
            sizes = tuple(_dim_name(d) for d in (a, b) if not d.is_Integer)
            raise IllFormed(f"the factors {sp.sstr(out)} ({_shape(out)}) and {sp.sstr(f)} "
                            f"({_shape(f)}) do not multiply", sizes if 1 in (a, b) else (),
                            tuple(factors), k)
        out = sp.MatMul(out, f)
    _PRODUCTS.append(tuple(factors))
    return out


def add(*terms):
    """A sum of matrices of equal shape as printed (IllFormed otherwise)."""
    out = terms[0]
    for t in terms[1:]:
        if any(sp.simplify(x - y) != 0 for x, y in zip(out.shape, t.shape)):
            raise IllFormed(f"adding a {_shape(out)} to a {_shape(t)} matrix")
    return sp.MatAdd(*terms)


def _shape(m) -> str:
    return " x ".join(_dim_name(d) for d in m.shape)


def same_shapes(claims) -> None:
    """Refuse (``IllFormed``) a claim whose two sides have different shapes at symbolic
    sizes: an equation between a vector of n_out entries and one of n_hidden entries is a
    type error, not a formula an entry-by-entry comparison could refute."""
    for c in claims:
        about, formula = c.about, c.formula
        if about is None or not hasattr(about, "shape") or not hasattr(formula, "shape"):
            continue
        if any(sp.simplify(a - b) != 0 for a, b in zip(about.shape, formula.shape)):
            raise IllFormed(f"the two sides of {c.label} have shapes {_shape(about)} and "
                            f"{_shape(formula)}")


# ------------------------------------------------------------------ claims

@dataclass
class GClaim:
    """``about == formula`` at every step t of ``within`` (None: no step), for every size.

    ``about`` is what the formula gives: a gradient ``Grad(...)`` (compared with the derived
    matrix equations, and at the instance with the element-level derivation), or a quantity
    ``At`` (a definition: compared with the model's equation). ``given`` are the gradients
    kept as symbols (default: those the formula names). ``general``/``instance`` replace the
    default checks for claims that are not of that form (the cases of an induction)."""

    about: object
    formula: object
    within: Steps | None
    label: str
    given: frozenset | None = None
    general: Callable | None = None
    instance: Callable | None = None
    key: tuple | None = None  # claims shared between entries are decided once

    def given_grads(self) -> frozenset:
        if self.given is not None:
            return self.given
        return frozenset(self.formula.atoms(Grad)) if hasattr(self.formula, "atoms") \
            else frozenset()


Builder = Callable[[object], list[GClaim]]


@dataclass(frozen=True)
class Reading:
    """A reading of a printed formula that may hold when the print does not."""

    latex: str
    text: str
    build: Builder
    what: str = ""  # the reading in words (which contraction, which order)
    conditions: tuple[str, ...] = ()  # the sizes it depends on, in words


@dataclass(frozen=True)
class Formula:
    """One printed formula of a source text, and how to check it.

    ``method``: "identity" (an equality with the derivation), "definition" (an equation that
    defines the model: compared with the model, not counted as a confirmation) or
    "induction" (the cases of an induction over steps). ``assumes``: what the printed form
    takes for granted ("tanh", "tanh-forward", "softmax", "class"), the reason a refutation
    gives when the spec differs. ``gradient_of``/``steps``: the derived equation the formula
    prints (a name and ``Steps``), so a document can show them together. ``note``: how the
    print is read where it leaves something open (the note's n read as tau).
    """

    id: str
    part: str
    title: str
    printed: str
    text: str
    build: Builder
    readings: tuple[Reading, ...] = ()
    needs_tau: int = 1
    method: str = "identity"
    assumes: str | None = None
    gradient_of: str | None = None
    steps: object = None
    note: str | None = None
    ref: str | None = None  # the equation number(s) in Deep Learning, chapter 10

    def __post_init__(self):
        object.__setattr__(self, "readings", tuple(
            r if isinstance(r, Reading) else Reading(*r) for r in self.readings))


#: Why a formula that assumes something fails for another choice.
ASSUMPTIONS = {
    "tanh": "holds only for tanh: diag(1 - h^2) is tanh's Jacobian, and {activation}' differs",
    "tanh-forward": "holds only for tanh, the note's choice; the activation is {activation}",
    "softmax": "holds only for the softmax output; the loss is {loss}",
    "class": "y(t) is a target vector for loss {loss}, not a class index",
}

ALL = Steps(1, TAU)
INTERIOR = Steps(1, TAU - 1)
LAST = Steps(TAU, TAU)


# ------------------------------------------------------------------ element-level algebra
# (the instance checks of the induction cases, written entry by entry)

def mul(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    """A B entry by entry, skipping zero terms (SymPy's generic product is slow on symbols)."""
    n = A.shape[1]
    return sp.Matrix(A.shape[0], B.shape[1],
                     lambda i, j: sp.Add(*[A[i, k] * B[k, j] for k in range(n)
                                           if A[i, k] != 0 and B[k, j] != 0]))


def contract(row: sp.Matrix, tensor: sp.NDimArray) -> sp.Matrix:
    """sum_i row_i * tensor[i, ...]: a row contracted with a rank-3 Jacobian's first index."""
    n = tensor.shape[0]
    rest = tensor.shape[1:]
    return sp.Matrix(*rest, lambda p, q: sp.Add(*[row[0, i] * tensor[i, p, q] for i in range(n)]))


def given(*mats: Iterable) -> frozenset:
    return frozenset(s for m in mats for s in m)


@dataclass
class Claim:
    """An instance claim: ``truth == formula`` entry by entry (explicit matrices);
    ``given`` gradient symbols are not expanded."""

    truth: sp.Matrix
    formula: sp.Matrix
    label: str
    given: frozenset = frozenset()
    key: tuple | None = None
    step: int | None = None
    instance: object = None  # the instance to decide it in (default: the checker's)
    refute_first: bool = False  # search a counterexample before trying a proof
    #: a placeholder for a general claim with no step at the instance (nothing to check)
    empty: bool = False


# ------------------------------------------------------------------ objects with an index form

class Contraction(sp.MatrixExpr):
    """sum_i row_i d node_i / d P: a row vector contracted with the first index of the rank-3
    Jacobian of ``node`` with respect to the parameter ``P`` (its direct dependence: the
    quantities of other steps held fixed). Deep Learning section 6.5.2's convention for a
    tensor in a product."""

    def __new__(cls, row, node, param):
        return sp.Basic.__new__(cls, row, node, param)

    @property
    def row(self):
        return self.args[0]

    @property
    def node(self):
        return self.args[1]

    @property
    def param(self):
        return self.args[2]

    @property
    def shape(self):
        return self.param.shape

    def index_terms(self, p, r, ctx: Context) -> list[Term]:
        g = ctx.general
        i = ctx.index()
        idx = (p,) if self.param.shape[1] == 1 else (p, r)
        jac = g.tangent(self.node, self.param, i, idx, ctx)
        row = to_index(self.row, 0, i, ctx)  # a 1 x n row: entry (0, i)
        out = []
        for a in row:
            for b in jac:
                out.append(Term(a.coeff * b.coeff, a.bound + b.bound +
                                ((i, self.node.rows),)))
        return g._in_basis_terms(out, ctx)

    def _sympystr(self, printer):
        return (f"contract({printer._print(self.row)}, d{printer._print(self.node)}"
                f"/d{printer._print(self.param)})")


class LossGradient(sp.MatrixExpr):
    """dL(s)/do(s) as a column: the gradient of the per-step loss with respect to the output
    it reads. In index form it is the loss entry's grad_o (y^ - y), whose rule is proved
    (``General.loss_rule``); at an instance it is the derivation's own partials."""

    def __new__(cls, output):
        return sp.Basic.__new__(cls, output)

    @property
    def output(self) -> At:
        return self.args[0]

    @property
    def shape(self):
        return self.output.shape

    def index_terms(self, i, j, ctx: Context) -> list[Term]:
        g = ctx.general
        o = self.output
        yhat = g.node("yhat", o.step) if g.sizes is None else At("yhat", o.rows, 1, o.step)
        y = g.node(g.model.target.name, o.step)
        return to_index(g.basis(g.loss.grad_matrix(yhat, y)), i, j, ctx)

    def _sympystr(self, printer):
        return f"dL({printer._print(self.output.step)})/d{printer._print(self.output)}"
