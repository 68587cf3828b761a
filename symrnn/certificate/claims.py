"""What a catalogue is made of: formulas, claims, and matrix algebra that refuses what does
not type-check (a catalogue builds each printed formula with these, as printed).

A ``Formula`` is one printed formula: its id, its LaTeX and plain text as printed, a builder
that encodes it as printed (same factors, same order, same index ranges), the readings to try
when the printed form does not hold, and the facts about it that the verdict's wording needs
(what it assumes, how it is proved, which gradient it prints). A builder gets the checking
context and returns ``Claim``s: ``truth == formula`` entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import sympy as sp


class IllFormed(Exception):
    """A printed formula that does not type-check; the message says why."""


@dataclass
class Claim:
    """``truth == formula`` entry by entry; ``given`` gradient symbols are not expanded."""

    truth: sp.Matrix
    formula: sp.Matrix
    label: str
    given: frozenset = frozenset()
    key: tuple | None = None  # claims shared between entries are decided once


Builder = Callable[[object], list[Claim]]


@dataclass(frozen=True)
class Reading:
    """A reading of a printed formula that may hold when the print does not."""

    latex: str
    text: str
    build: Builder


@dataclass(frozen=True)
class Formula:
    """One printed formula of a source text, and how to check it.

    ``method`` is how a confirmation is shown: "identity" (the difference reduces to 0 entry
    by entry), "definition" (compared with the model's own definitions) or "induction" (over
    k, for every t <= tau). ``assumes`` names what the printed form takes for granted
    ("tanh": diag(1 - h^2) is tanh's Jacobian; "softmax": the softmax output; "class": a class
    label y(t)); when the spec differs, that is the reason a refutation gives. ``gradient_of``
    and ``steps`` say which derived equation the formula prints (the quantity or parameter
    name, and the steps as ``symrnn.naming.Steps``), so a document can show them together.
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


# ------------------------------------------------------------------ algebra, as printed

def product(*factors) -> sp.Matrix:
    """The matrix product of ``factors`` as printed, refusing what is not a matrix product."""
    for f in factors:
        if isinstance(f, sp.NDimArray) and f.rank() != 2:
            raise IllFormed(f"a Jacobian of rank {f.rank()} (shape "
                            f"{' x '.join(map(str, f.shape))}) stands in a matrix product")
    out = None
    for f in factors:
        f = f.tomatrix() if isinstance(f, sp.NDimArray) else f
        if out is None:
            out = f
            continue
        if out.shape[1] != f.shape[0]:
            raise IllFormed(f"shapes {out.shape[0]}x{out.shape[1]} and {f.shape[0]}x{f.shape[1]} "
                            f"do not multiply")
        out = mul(out, f)
    return out


def mul(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    """A B entry by entry, skipping zero terms (SymPy's generic product is slow on symbols)."""
    n = A.shape[1]
    return sp.Matrix(A.shape[0], B.shape[1],
                     lambda i, j: sp.Add(*[A[i, k] * B[k, j] for k in range(n)
                                           if A[i, k] != 0 and B[k, j] != 0]))


def add(*terms) -> sp.Matrix:
    """Sum of matrices of equal shape (IllFormed otherwise)."""
    out = terms[0]
    for t in terms[1:]:
        if out.shape != t.shape:
            raise IllFormed(f"adding a {out.shape[0]}x{out.shape[1]} to a "
                            f"{t.shape[0]}x{t.shape[1]} matrix")
        out = out + t
    return out


def msum(terms: Iterable[sp.Matrix], shape: tuple[int, int]) -> sp.Matrix:
    """sum_t of matrices, built as one Add per entry (linear in the number of terms)."""
    terms = list(terms)
    for t in terms:
        if t.shape != shape:
            raise IllFormed(f"a {t.shape[0]}x{t.shape[1]} term in a sum of "
                            f"{shape[0]}x{shape[1]} matrices")
    return sp.Matrix(*shape, lambda i, j: sp.Add(*[t[i, j] for t in terms]))


def contract(row: sp.Matrix, tensor: sp.NDimArray) -> sp.Matrix:
    """sum_i row_i * tensor[i, ...]: the reading of 'row . rank-3 Jacobian'."""
    n = tensor.shape[0]
    if row.shape != (1, n):
        raise IllFormed(f"contracting a {row.shape[0]}x{row.shape[1]} row with a Jacobian of "
                        f"leading size {n}")
    rest = tensor.shape[1:]
    return sp.Matrix(*rest, lambda p, q: sp.Add(*[row[0, i] * tensor[i, p, q] for i in range(n)]))


def diag(v: sp.Matrix) -> sp.Matrix:
    return sp.diag(*list(v))


def given(*mats: sp.Matrix) -> frozenset:
    return frozenset(s for m in mats for s in m)
