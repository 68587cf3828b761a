"""LaTeX printing in the textbook's notation (Goodfellow, Bengio and Courville, chapter 10).

``RNNLatexPrinter`` is a SymPy ``LatexPrinter`` subclass for the matrix-level names of
``symrnn.graph.MatrixSymbols`` and ``symrnn.derive.matrix_equations``:

    h^(t)       -> \\boldsymbol{h}^{(t)}          yhat^(t) -> \\hat{\\boldsymbol{y}}^{(t)}
    grad_h^(t)  -> \\nabla_{\\boldsymbol{h}^{(t)}} L   grad_W  -> \\nabla_{\\boldsymbol{W}} L
    X.T         -> X^{\\top}                      DiagMatrix -> \\operatorname{diag}(...)
    HadamardProduct -> \\odot, phi' applied elementwise -> 1 - (\\boldsymbol{h}^{(t)})^{2}

Every name that reaches LaTeX must match ``NAME`` (and step labels ``STEP``); anything else
raises ``ValueError``, so nothing user-written is ever pasted into a document raw. LaTeX that
comes from inside symrnn as text (registry entries, the certificate's printed formulas) goes
through ``check_math``, which rejects control sequences that read or write files or redefine
things. Prose goes through ``escape_text``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter

#: Names allowed to reach LaTeX (symbols, matrix symbols, functions).
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Step labels: t, tau or a number, with an optional integer offset (t+1, tau-1, 0, 12).
STEP = re.compile(r"(t|tau|j|k|\d+)([+-]\d+)?")
#: Matrix-level node names: ``kind^(step)``.
NODE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\^\((.+)\)")

#: How the note writes each node and parameter (vectors and matrices in bold).
_BASE = {"yhat": r"\hat{\boldsymbol{y}}"}
_GREEK = {"tau": r"\tau"}

#: Control sequences that have no business in a formula: file access, redefinition, output.
_FORBIDDEN = re.compile(
    r"\\(input|include|includeonly|InputIfFileExists|openin|openout|read|readline|write|"
    r"immediate|newwrite|newread|closein|closeout|special|catcode|def|edef|gdef|xdef|let|"
    r"futurelet|csname|endcsname|expandafter|newcommand|renewcommand|providecommand|"
    r"DeclareRobustCommand|usepackage|RequirePackage|documentclass|begin\{document\}|"
    r"end\{document\}|makeatletter|directlua|luaexec|pdfobj|pdfliteral|shipout|jobname|"
    r"verbatiminput|href|url|html|write18|ShellEscape|font|loop|repeat|uppercase|"
    r"lowercase|scantokens|everypar|everymath|everydisplay|output)(?![A-Za-z])")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"name {name!r} cannot be printed: names must match {NAME.pattern}")
    return name


#: File types a document may include next to itself.
GRAPHICS_SUFFIXES = (".png",)


def check_graphics(filename: str) -> str:
    """A file name a document may refer to (``\\includegraphics``, a Markdown image link):
    a bare name in the same folder whose stem matches ``NAME``, with a known suffix."""
    if not isinstance(filename, str) or "." not in filename:
        raise ValueError(f"graphics file {filename!r}: give a name like gradient_flow.png")
    stem, dot, suffix = filename.rpartition(".")
    if "." + suffix not in GRAPHICS_SUFFIXES or not NAME.fullmatch(stem):
        raise ValueError(f"graphics file {filename!r} cannot be referenced: the name must "
                         f"match {NAME.pattern} plus one of {', '.join(GRAPHICS_SUFFIXES)}")
    return filename


def step_latex(label: str) -> str:
    """``t+1`` -> ``t+1``, ``tau-1`` -> ``\\tau-1``; anything else is refused."""
    m = STEP.fullmatch(label)
    if not m:
        raise ValueError(f"step label {label!r} cannot be printed: must match {STEP.pattern}")
    base, offset = m.group(1), m.group(2) or ""
    return _GREEK.get(base, base) + offset


def step_offset(label: str) -> int:
    m = STEP.fullmatch(label)
    return int(m.group(2) or 0) if m else 0


def base_latex(kind: str) -> str:
    """The bold symbol of a node or parameter: ``h`` -> ``\\boldsymbol{h}``."""
    check_name(kind)
    if kind in _BASE:
        return _BASE[kind]
    head, _, sub = kind.partition("_")
    if sub:
        return rf"\boldsymbol{{{head}}}_{{\mathrm{{{sub.replace('_', ' ')}}}}}"
    return rf"\boldsymbol{{{kind}}}"


def split_name(name: str) -> tuple[bool, str, str | None]:
    """``grad_h^(t+1)`` -> (True, "h", "t+1"); ``W`` -> (False, "W", None)."""
    m = NODE.fullmatch(name)
    kind, label = (m.group(1), m.group(2)) if m else (name, None)
    check_name(kind)
    if label is not None:
        step_latex(label)
    grad = kind.startswith("grad_")
    return grad, kind[5:] if grad else kind, label


def node_latex(kind: str, label: str | None, transpose: bool = False) -> str:
    """``\\boldsymbol{h}^{(t)}``; with ``transpose`` the superscripts merge: ``^{(t)\\top}``."""
    sup = [] if label is None else [f"({step_latex(label)})"]
    if transpose:
        sup.append(r"\top")
    return base_latex(kind) + (f"^{{{''.join(sup)}}}" if sup else "")


def grad_latex(kind: str, label: str | None, of: str = "L") -> str:
    return rf"\nabla_{{{node_latex(kind, label)}}} {of}"


def partial_latex(num: str, den: str) -> str:
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


class RNNLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the textbook's notation for the RNN's matrix names."""

    printmethod = "_rnn_latex"
    _default_settings = {**LatexPrinter._default_settings, "mat_symbol_style": "bold"}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._placeholders: dict[sp.Symbol, str] = {}

    # ---- names
    def _print_MatrixSymbol(self, expr):
        grad, kind, label = split_name(expr.name)
        if grad:
            return grad_latex(kind, label)
        return node_latex(kind, label)

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._placeholders:
            return self._placeholders[expr]
        check_name(expr.name)
        grad, kind, label = split_name(expr.name)
        if grad:
            return rf"\frac{{\partial L}}{{\partial {kind}}}"
        head, _, sub = expr.name.partition("_")
        return head + (rf"_{{\mathrm{{{sub.replace('_', ' ')}}}}}" if sub else "")

    _print_Dummy = _print_Symbol

    def _print_Function(self, expr, exp=None):
        check_name(type(expr).__name__)
        return super()._print_Function(expr, exp)

    # ---- matrix algebra
    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, sp.MatrixSymbol):
            grad, kind, label = split_name(arg.name)
            if not grad:
                return node_latex(kind, label, transpose=True)
        return rf"\left({self._print(arg)}\right)^{{\top}}"

    def _factor(self, arg, last: bool) -> str:
        text = self._print(arg)
        if isinstance(arg, sp.MatrixSymbol) and split_name(arg.name)[0] and not last:
            return rf"\left({text}\right)"  # the note's W^T (grad_h L) ...
        if isinstance(arg, sp.MatAdd):
            return rf"\left({text}\right)"
        return text

    def _print_MatMul(self, expr):
        coeff, factors = sp.Integer(1), []
        for a in expr.args:
            if isinstance(a, sp.MatrixExpr):
                factors.append(a)
            else:
                coeff *= a
        body = " ".join(self._factor(f, i == len(factors) - 1) for i, f in enumerate(factors))
        if coeff == 1:
            return body
        if coeff == -1:
            return "- " + body
        return f"{self._print(coeff)} {body}"

    def _print_MatAdd(self, expr):
        # positive terms first, otherwise in the given order (the caller decides the order)
        terms = sorted(expr.args, key=lambda a: bool(a.could_extract_minus_sign()))
        out = ""
        for i, term in enumerate(terms):
            if term.could_extract_minus_sign():
                out += " - " + self._print(-term)
            else:
                out += ("" if i == 0 else " + ") + self._print(term)
        return out

    def _print_DiagMatrix(self, expr):
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self._factor(a, True) for a in expr.args)

    def _print_HadamardPower(self, expr):
        return rf"\left({self._print(expr.base)}\right)^{{\circ {self._print(expr.exp)}}}"

    def _print_ElementwiseApplyFunction(self, expr):
        """f applied entrywise, written as the note does: 1 - (h)^2, with odot for products."""
        lam = expr.function
        (z,) = lam.variables
        arg = self._print(expr.expr)
        printer = _ElementwisePrinter()
        printer._placeholders = {**self._placeholders, z: arg}
        if not lam.expr.has(z):
            return r"\boldsymbol{1}" if lam.expr == 1 else printer._print(lam.expr) + r"\boldsymbol{1}"
        return printer._print(lam.expr)


class _ElementwisePrinter(RNNLatexPrinter):
    """Prints a scalar function of one placeholder vector: products become ``\\odot``."""

    def _has_placeholder(self, e) -> bool:
        return any(e.has(p) for p in self._placeholders)

    def _print_Mul(self, expr):
        parts = [a for a in expr.args if self._has_placeholder(a)]
        if len(parts) < 2:
            return super()._print_Mul(expr)
        rest = [a for a in expr.args if not self._has_placeholder(a)]
        factors = [self._print(sp.Mul(*rest))] if rest else []
        factors += [self.parenthesize(p, 1000) if isinstance(p, sp.Add) else self._print(p)
                    for p in parts]
        return r" \odot ".join(factors)

    def _print_Pow(self, expr):
        if expr.base in self._placeholders:
            return rf"\left({self._placeholders[expr.base]}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_Piecewise(self, expr):
        if len(expr.args) == 2 and expr.args[0].expr == 1 and expr.args[1].expr == 0 \
                and expr.args[1].cond == sp.true:
            return rf"\mathbf{{1}}\left[{self._print(expr.args[0].cond)}\right]"
        return super()._print_Piecewise(expr)

    def _print_Derivative(self, expr):
        f = expr.expr
        if isinstance(f, sp.core.function.AppliedUndef) and len(expr.variables) == 1 \
                and f.args == expr.variables:
            name = check_name(type(f).__name__)
            head = r"\phi" if name == "phi" else rf"\operatorname{{{name}}}"
            return rf"{head}'\left({self._print(f.args[0])}\right)"
        return super()._print_Derivative(expr)


def latex(expr) -> str:
    """``expr`` in the textbook's notation."""
    return RNNLatexPrinter().doprint(expr)


# ---------------------------------------------------------------- text and trusted LaTeX

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                 "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%",
                 "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "|": r"\textbar{}"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|$~])")


def escape_text(text: str, fmt: str = "tex") -> str:
    """Prose for a document: every character that means something to LaTeX (or Markdown)
    is escaped; non-ASCII is refused in .tex (pdflatex without extra fonts)."""
    text = " ".join(str(text).split())
    if fmt == "md":
        return _MD_SPECIAL.sub(r"\\\1", text)
    out = "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)
    return out.encode("ascii", "replace").decode("ascii")


def check_math(tex: str, where: str) -> str:
    """Accept LaTeX math produced inside symrnn only if it is plain math: balanced braces,
    no ``$``, no ``%`` comment, no control sequence that touches files or definitions."""
    if not isinstance(tex, str) or not tex.strip():
        raise ValueError(f"{where}: empty formula")
    if not tex.isascii():
        raise ValueError(f"{where}: formula has non-ASCII characters")
    bad = _FORBIDDEN.search(tex)
    if bad:
        raise ValueError(f"{where}: formula uses the control sequence {bad.group(0)}")
    if re.search(r"(?<!\\)[$%#]", tex):
        raise ValueError(f"{where}: formula contains $, % or #")
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and i and tex[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        raise ValueError(f"{where}: unbalanced braces in formula")
    return tex
