"""A recurrent model as data: parameters, quantities, per-step equations, output and loss.

Everything downstream (unrolling, derivation, matrix equations, certificate, code, documents)
reads a ``Model`` and nothing else; none of it knows which network it is. A model module
builds its parameters and quantities with the helpers here and writes its equations as
SymPy matrix expressions over them::

    h, a = state("h", N_HIDDEN, "hidden state"), node("a", N_HIDDEN, "pre-activation")
    W = param("W", N_HIDDEN, N_HIDDEN, "recurrent weights")
    Equation(a, b + W * h.prev + U * x.now)      # a(t) = b + W h(t-1) + U x(t)
    Equation(h, Apply(PHI, a.now))               # h(t) = phi(a(t)), phi chosen by the user

A quantity read at a step before 1 (or after tau) is an initial value (h(0)): given, and
differentiated when the spec says ``h0="symbol"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable

import sympy as sp

from ..naming import TAU, T, At

from ..functions import Apply

#: The placeholder for the activation the user chooses (``--activation``).
PHI = "phi"


@dataclass(frozen=True, eq=False)
class Dim:
    """A size: its SymPy symbol (integer, positive) and the spec field that sets it."""

    name: str  # the RNNSpec field: n_in, n_hidden, n_out
    latex: str
    text: str

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, integer=True, positive=True)


N_IN = Dim("n_in", r"n_{\mathrm{in}}", "n_in")
N_HIDDEN = Dim("n_hidden", r"n_{\mathrm{h}}", "n_hidden")
N_OUT = Dim("n_out", r"n_{\mathrm{out}}", "n_out")
DIMS = (N_IN, N_HIDDEN, N_OUT)


@dataclass(frozen=True, eq=False)
class Param:
    """A parameter: a matrix (rows x cols) or a bias vector (cols None)."""

    name: str
    rows: Dim
    cols: Dim | None
    text: str
    init: str = "weight"  # "weight", "recurrent" or "bias": scale of random test values

    @property
    def symbol(self) -> sp.MatrixSymbol:
        return sp.MatrixSymbol(self.name, self.rows.symbol,
                               1 if self.cols is None else self.cols.symbol)

    @property
    def dims(self) -> tuple[Dim, ...]:
        return (self.rows,) if self.cols is None else (self.rows, self.cols)

    @property
    def T(self):
        return self.symbol.T

    # arithmetic reads as math in model modules: W * h.prev, b + ...
    def __mul__(self, other):
        return self.symbol * _sym(other)

    def __add__(self, other):
        return self.symbol + _sym(other)

    __radd__ = __add__


ROLES = ("input", "target", "node")


@dataclass(frozen=True, eq=False)
class Quantity:
    """A vector per step: an input x(t), a target y(t), or a node computed by an equation
    (a(t), h(t), o(t)); a node that some equation reads at another step is a state."""

    name: str
    size: Dim
    role: str
    text: str
    latex: str | None = None  # default: \boldsymbol{name}

    def at(self, step) -> At:
        return At(self.name, self.size.symbol, 1, step)

    @property
    def now(self) -> At:
        return self.at(T)

    @property
    def prev(self) -> At:
        return self.at(T - 1)

    @property
    def next(self) -> At:
        return self.at(T + 1)


def _sym(v):
    return v.symbol if isinstance(v, Param) else v


def add(*terms) -> sp.MatAdd:
    """A sum that keeps the order it is written in (b + W h(t-1) + U x(t), as the book
    prints it); ``+`` would sort the terms."""
    return sp.MatAdd(*[_sym(t) for t in terms])


def hadamard(*factors) -> sp.HadamardProduct:
    """The elementwise (Hadamard) product u (.) v (.) ... of vectors of one size: a gate
    applied to a state, f(t) (.) s(t-1). The reverse rule, the printers (\\odot in LaTeX,
    ``*`` in NumPy) and the index-form proofs know ``sympy.HadamardProduct``."""
    if len(factors) < 2:
        raise ValueError(f"hadamard needs at least two factors, got {len(factors)}")
    return sp.HadamardProduct(*[_sym(f) for f in factors], evaluate=False)


def ones(size: Dim) -> sp.OneMatrix:
    """The vector of ones of ``size`` entries, for 1 - u(t) (a gate's complement)."""
    return sp.OneMatrix(size.symbol, 1)


def one_minus(v) -> sp.MatAdd:
    """1 - v entrywise (the GRU's 1 - u(t)), with 1 the all-ones vector of v's size."""
    v = _sym(v)
    return sp.MatAdd(sp.OneMatrix(*v.shape), -v)


def param(name, rows, cols, text, init=None) -> Param:
    return Param(name, rows, cols, text,
                 init or ("bias" if cols is None else "weight"))


def node(name, size, text, latex=None) -> Quantity:
    return Quantity(name, size, "node", text, latex)


def state(name, size, text, latex=None) -> Quantity:
    """A node that an equation reads at another step (h(t-1)): the same as ``node``."""
    return Quantity(name, size, "node", text, latex)


def inp(name, size, text, latex=None) -> Quantity:
    return Quantity(name, size, "input", text, latex)


def target(name, size, text, latex=None) -> Quantity:
    """The loss's target y(t): a class label (its one-hot vector) or a vector."""
    return Quantity(name, size, "target", text, latex)


@dataclass(frozen=True, eq=False)
class Equation:
    """``target(t) = rhs`` for the steps ``when`` ("all": t = 1..tau; "last": t = tau)."""

    target: Quantity
    rhs: sp.MatrixExpr
    text: str  # what the equation is, in a few words
    ref: str = ""  # the book's equation number, if it has one
    when: str = "all"

    def __post_init__(self):
        object.__setattr__(self, "rhs", _sym(self.rhs))
        if self.when not in ("all", "last"):
            raise ValueError(f"when must be 'all' or 'last', got {self.when!r}")


@functools.lru_cache(maxsize=64)
def _check_activation(model: "Model", activation: str) -> None:
    """``Model.check_activation``, once per model object and activation (a spec is made often)."""
    model._check_activation(activation)


@dataclass(frozen=True)
class TorchWeights:
    """How a model's parameters map to a PyTorch module's ``state_dict``: the recurrent layer
    ``module`` (``torch.nn.RNN``, ...), then ``nn.Linear(n_hidden, n_out)`` for the output
    layer (``linear``: its weight and bias). Each torch tensor of ``weights`` stacks the listed
    parameters along its rows, in order (PyTorch's gate order); a parameter listed under two
    tensors is their sum (nn.RNN keeps two biases where the model has one). ``activations``:
    the choices of phi the torch module offers (nn.RNN's nonlinearity), None when the model
    fixes its functions."""

    module: str
    weights: tuple[tuple[str, tuple[str, ...]], ...]
    linear: tuple[str, str]
    activations: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Model:
    """A recurrent network: everything the pipeline needs to know about it.

    ``equations`` run in order at each step; ``output`` is the quantity the loss reads
    (y^(t) = out(o(t)), L(t) = loss(y^(t), y(t))) at the steps ``loss_when`` ("all" or
    "last"). ``uses_activation`` says whether ``PHI`` appears (then ``--activation`` chooses
    it). ``catalogue`` holds the printed formulas of a source text to certify (the note's
    for ``rnn``); ``describe``/``reference`` are a line for ``symrnn models``.
    """

    name: str
    title: str
    reference: str
    describe: str
    params: tuple[Param, ...]
    quantities: tuple[Quantity, ...]
    equations: tuple[Equation, ...]
    output: Quantity
    target: Quantity
    loss_when: str = "all"
    catalogue: tuple = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    torch: TorchWeights | None = None  # the PyTorch module it equals, where there is one
    #: where each equation was written, in the writer's words ("cell.toml:13: h = ...";
    #: a cell file's), for messages; empty for a built-in model
    origins: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        names = [p.name for p in self.params] + [q.name for q in self.quantities]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"model {self.name}: names used twice: {', '.join(sorted(dup))}")
        for eq in self.equations:
            if eq.target.role in ("input", "target"):
                raise ValueError(f"model {self.name}: {eq.target.name} is an {eq.target.role}, "
                                 f"not computed by an equation")
            for m in eq.rhs.atoms(At):
                if m.name == self.target.name and sp.expand(m.step - T).is_positive:
                    raise ValueError(f"model {self.name}: the equation of {eq.target.name} reads "
                                     f"the target at {sp.sstr(m.step)}, a later step; a target "
                                     f"is read at its own step or an earlier one "
                                     f"({self.target.name}(t-1) in teacher forcing)")

    # lookups by object -------------------------------------------------------------------

    def param(self, name: str) -> Param:
        return self._params[name]

    def quantity(self, name: str) -> Quantity:
        return self._quantities[name]

    def param_of(self, m: sp.MatrixSymbol) -> Param | None:
        return self._params.get(m.name) if not isinstance(m, At) else None

    def quantity_of(self, m: At) -> Quantity:
        return self._quantities[m.name]

    @property
    def _params(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    @property
    def _quantities(self) -> dict[str, Quantity]:
        return {q.name: q for q in self.quantities}

    @property
    def inputs(self) -> tuple[Quantity, ...]:
        return tuple(q for q in self.quantities if q.role == "input")

    def equation(self, q: Quantity) -> Equation:
        return next(e for e in self.equations if e.target is q)

    @property
    def reads_target(self) -> bool:
        """An equation reads the target (teacher forcing: y(t-1) feeds the hidden layer);
        the target is then an input of the forward pass, the zero vector before step 1."""
        return any(m.name == self.target.name for e in self.equations for m in e.rhs.atoms(At))

    @property
    def uses_activation(self) -> bool:
        return any(a.f == PHI for e in self.equations for a in e.rhs.atoms(Apply))

    @property
    def fixed_functions(self) -> tuple[str, ...]:
        """The functions the equations apply that the user does not choose (a gate's
        sigmoid, the tanh of an LSTM's state), in a fixed order."""
        return tuple(sorted({a.f for e in self.equations for a in e.rhs.atoms(Apply)
                             if a.f != PHI}))

    @property
    def states(self) -> tuple[Quantity, ...]:
        """The quantities an equation reads at another step (h, and s in an LSTM)."""
        return tuple(dict.fromkeys(q for q, _side in self.initial_values()))

    def with_activation(self, activation: str) -> tuple[Equation, ...]:
        """The equations with ``PHI`` replaced by the chosen activation."""
        if activation == PHI:
            return self.equations
        return tuple(Equation(e.target, _replace_phi(e.rhs, activation), e.text, e.ref, e.when)
                     for e in self.equations)

    def check_activation(self, activation: str) -> None:
        """ValueError unless every piecewise function (relu) of the equations, with PHI as
        ``activation``, is a whole right side applied to a quantity (h(t) = relu(a(t))): the
        exact checks differentiate it only there, through its output."""
        _check_activation(self, activation)

    def _check_activation(self, activation: str) -> None:
        from ..functions import FUNCTIONS
        z = sp.Dummy("z", real=True)
        for n, (e, written) in enumerate(zip(self.with_activation(activation), self.equations)):
            for a in sorted(e.rhs.atoms(Apply), key=sp.default_sort_key):
                if not FUNCTIONS[a.f].phi(z).has(sp.Piecewise):
                    continue
                if a == e.rhs and isinstance(a.arg, At):
                    continue
                chosen = a.f not in {b.f for b in written.rhs.atoms(Apply)}
                if n < len(self.origins):  # the writer's file, line and words
                    via = f" (phi is --activation {activation})" if chosen else ""
                    raise ValueError(
                        f"{self.origins[n]}: {a.f}{via} is piecewise, and symrnn "
                        f"differentiates it only as the whole right side of an equation "
                        f"applied to one node (a = ..., then h = {a.f}(a)); give its argument "
                        f"a node of its own" + (", or choose another --activation" if chosen
                                                else ""))
                where = "activation" if chosen else "model"
                raise ValueError(
                    f"{where}: {a.f} is piecewise, and symrnn differentiates it only as the "
                    f"whole right side of an equation applied to one quantity (h = {a.f}(a)); "
                    f"the equation of {e.target.name} is {e.target.name} = {sp.sstr(e.rhs)}: "
                    f"give the argument its own node, or choose another activation")

    def reads(self) -> list[tuple[Equation, At]]:
        """Every (equation, quantity-at-offset) an equation reads, in equation order."""
        out = []
        for e in self.equations:
            for m in sorted(e.rhs.atoms(At), key=sp.default_sort_key):
                out.append((e, m))
        return out

    def initial_values(self) -> list[tuple[Quantity, str]]:
        """Quantities read before step 1 ("start") or after tau ("end"): h(0), g(tau+1)."""
        out = []
        for e, m in self.reads():
            q = self.quantity_of(m)
            if q.role in ("input", "target"):
                continue
            k = m.step - T
            side = "start" if k.is_negative else "end" if k.is_positive else None
            if side and (q, side) not in out:
                out.append((q, side))
        return out


def _replace_phi(expr, activation: str):
    return expr.replace(lambda e: isinstance(e, Apply) and e.f == PHI,
                        lambda e: Apply(activation, e.arg))


def steps_of(when: str):
    """(lo, hi) of an equation's or the loss's steps."""
    return (sp.Integer(1), TAU) if when == "all" else (TAU, TAU)


def all_names(models: Iterable[Model]) -> list[str]:
    return [m.name for m in models]
