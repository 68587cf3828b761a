"""What the framework emitters share to write code: statements with their comments, names
that never collide, step expressions as code, and the parameters a loop multiplies with."""

from __future__ import annotations

import keyword
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Stmt:
    """Lines of code and the comment lines (math) printed above them; a loop's or a
    function's ``code`` is its head and ``body`` its statements."""

    code: str
    comments: tuple[str, ...] = ()
    body: tuple["Stmt", ...] | None = None


class Names:
    """Names for the arrays and helpers of generated code: each new one differs from every
    name given before and from ``reserved`` (the module's own), and is never a keyword."""

    def __init__(self, reserved=()):
        self.taken = set(reserved)

    def __call__(self, base: str) -> str:
        name = base if not keyword.iskeyword(base) else base + "_"
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name


def step_code(e) -> str:
    """A step expression as code: t - 1, tau + 1."""
    return sp.sstr(sp.expand(sp.sympify(e)))


def left_matrices(terms, model) -> list:
    """The parameter matrices that act as A v (not A^T v) in ``terms``, in a fixed order:
    a loop's per-step products, whose A^T is worth naming once before the loop."""
    out = []
    for t in terms:
        for mm in sorted(t.atoms(sp.MatMul), key=sp.default_sort_key):
            for f in mm.as_coeff_matrices()[1][:-1]:
                p = model.param_of(f) if type(f) is sp.MatrixSymbol else None
                if p is not None and p.cols is not None and f not in out:
                    out.append(f)
    return out
