"""LaTeX printing in the textbook's notation (Goodfellow, Bengio and Courville, chapter 10).

``ModelLatexPrinter`` is a SymPy ``LatexPrinter`` subclass for the matrix-level objects of
``symrnn.naming``:

    At("h", .., t)      -> \\boldsymbol{h}^{(t)}     At("yhat", ..) -> \\hat{\\boldsymbol{y}}^{(t)}
    Grad(h(t+1))        -> \\nabla_{\\boldsymbol{h}^{(t+1)}} L      Grad(W) -> \\nabla_{\\boldsymbol{W}} L
    X.T                 -> X^{\\top}                 DiagMatrix -> \\operatorname{diag}(...)
    HadamardProduct     -> \\odot                    Deriv(tanh, h, output) -> 1 - (h)^2
    StepSum             -> \\sum_{t=1}^{\\tau}

Every name that reaches LaTeX must match ``NAME``; anything else raises ``ValueError``, so
nothing user-written is ever pasted into a document raw. LaTeX that comes from inside symrnn as
text (registry entries, the certificate's printed formulas) goes through ``check_math``, which
rejects control sequences that read or write files or redefine things. Prose goes through
``escape_text``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..functions import FUNCTIONS
from ..naming import TAU, T, At, Grad, StepSum
from ..functions import Apply, Deriv

#: Names allowed to reach LaTeX (symbols, matrix symbols, functions).
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: Control sequences that have no business in a formula: file access, redefinition, output.
_FORBIDDEN = re.compile(
    r"\\(input|include|includeonly|InputIfFileExists|openin|openout|read|readline|write|"
    r"immediate|newwrite|newread|closein|closeout|special|catcode|def|edef|gdef|xdef|let|"
    r"futurelet|csname|endcsname|expandafter|newcommand|renewcommand|providecommand|"
    r"DeclareRobustCommand|usepackage|RequirePackage|documentclass|begin\{document\}|"
    r"end\{document\}|makeatletter|directlua|luaexec|pdfobj|pdfliteral|shipout|jobname|"
    r"verbatiminput|href|url|html|write18|ShellEscape|font|loop|repeat|uppercase|"
    r"lowercase|scantokens|everypar|everymath|everydisplay|output)(?![A-Za-z])")

#: Symbols a step may be written with.
STEP_NAMES = ("t", "tau", "j", "k")

#: File types a document may include next to itself.
GRAPHICS_SUFFIXES = (".png", ".svg")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"name {name!r} cannot be printed: names must match {NAME.pattern}")
    return name


def check_graphics(filename: str) -> str:
    """A file name a document may refer to (``\\includegraphics``, a Markdown image link):
    a bare name in the same folder whose stem matches ``NAME``, with a known suffix."""
    if not isinstance(filename, str) or "." not in filename:
        raise ValueError(f"graphics file {filename!r}: give a name like gradient_flow.png")
    stem, _dot, suffix = filename.rpartition(".")
    if "." + suffix not in GRAPHICS_SUFFIXES or not NAME.fullmatch(stem):
        raise ValueError(f"graphics file {filename!r} cannot be referenced: the name must "
                         f"match {NAME.pattern} plus one of {', '.join(GRAPHICS_SUFFIXES)}")
    return filename


def step_latex(step) -> str:
    """A step (a SymPy expression in t and tau, or an int) as LaTeX: t+1, \\tau-1, 0."""
    e = sp.expand(sp.sympify(step))
    if any(v.name not in STEP_NAMES for v in e.free_symbols):
        raise ValueError(f"step {e} cannot be printed: only {', '.join(STEP_NAMES)} may appear")
    text = sp.sstr(e).replace(" ", "")
    return text.replace("tau", r"\tau")


def base_latex(name: str) -> str:
    """The bold symbol of a quantity or parameter: ``h`` -> ``\\boldsymbol{h}``."""
    check_name(name)
    if name == "yhat":
        return r"\hat{\boldsymbol{y}}"
    head, _, sub = name.partition("_")
    if sub:
        return rf"\boldsymbol{{{head}}}_{{\mathrm{{{sub.replace('_', ' ')}}}}}"
    return rf"\boldsymbol{{{name}}}"


def node_latex(name: str, step=None, transpose: bool = False) -> str:
    """``\\boldsymbol{h}^{(t)}``; with ``transpose`` the superscripts merge: ``^{(t)\\top}``."""
    sup = [] if step is None else [f"({step_latex(step)})"]
    if transpose:
        sup.append(r"\top")
    return base_latex(name) + (f"^{{{''.join(sup)}}}" if sup else "")


def grad_latex(name: str, step=None, of: str = "L") -> str:
    return rf"\nabla_{{{node_latex(name, step)}}} {of}"


def partial_latex(num: str, den: str) -> str:
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def function_latex(f: str) -> str:
    act = FUNCTIONS.get(f)
    return act.latex if act is not None else rf"\operatorname{{{check_name(f)}}}"


class ModelLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the textbook's notation for model quantities."""

    printmethod = "_symrnn_latex"
    _default_settings = {**LatexPrinter._default_settings, "mat_symbol_style": "bold"}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._placeholders: dict[sp.Symbol, str] = {}

    # ---- names
    def _print_At(self, expr):
        return node_latex(expr.name, expr.step)

    def _print_MatrixSymbol(self, expr):
        return base_latex(expr.name)

    def _print_Grad(self, expr):
        of = expr.of
        if isinstance(of, At):
            return grad_latex(of.name, of.step)
        return grad_latex(of.name)

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._placeholders:
            return self._placeholders[expr]
        if expr == T:
            return "t"
        if expr == TAU:
            return r"\tau"
        check_name(expr.name)
        head, _, sub = expr.name.partition("_")
        return head + (rf"_{{\mathrm{{{sub.replace('_', ' ')}}}}}" if sub else "")

    _print_Dummy = _print_Symbol

    def _print_Function(self, expr, exp=None):
        check_name(type(expr).__name__)
        return super()._print_Function(expr, exp)

    # ---- matrix algebra
    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, At):
            return node_latex(arg.name, arg.step, transpose=True)
        if isinstance(arg, sp.MatrixSymbol):
            return base_latex(arg.name) + r"^{\top}"
        return rf"\left({self._print(arg)}\right)^{{\top}}"

    def _factor(self, arg, last: bool) -> str:
        text = self._print(arg)
        if isinstance(arg, Grad) and not last:
            return rf"\left({text}\right)"  # the note's W^T (grad_h L) ...
        if isinstance(arg, (sp.MatAdd, sp.HadamardProduct)):
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
        def factor(a):
            text = self._print(a)
            if isinstance(a, sp.MatAdd) or (isinstance(a, Deriv) and
                                            (" - " in text or " + " in text)):
                return rf"\left({text}\right)"
            return text
        return r" \odot ".join(factor(a) for a in expr.args)

    def _print_HadamardPower(self, expr):
        """Entrywise power, written as the note does: (h)^2 (the exponent outside)."""
        base = expr.args[0]
        inner = self._print(base)
        return rf"({inner})^{{{self._print(expr.args[1])}}}"

    def _print_OneMatrix(self, expr):
        return r"\boldsymbol{1}"

    def _print_Apply(self, expr):
        arg = self._print(expr.arg)
        if isinstance(expr.arg, (At, sp.MatrixSymbol)):  # one symbol: parentheses its size
            return rf"{function_latex(expr.f)}({arg})"
        return rf"{function_latex(expr.f)}\left({arg}\right)"

    def _print_Deriv(self, expr):
        """f' entrywise, written as the note does: 1 - (h)^2, with odot for products."""
        arg = self._print(expr.arg)
        if not expr.from_output:
            return rf"{function_latex(expr.f)}'\left({arg}\right)"
        z = sp.Dummy("z", real=True)
        body = expr.scalar(z)
        printer = _ElementwisePrinter()
        printer._placeholders = {**self._placeholders, z: arg}
        if not body.has(z):
            return r"\boldsymbol{1}" if body == 1 else printer._print(body) + r"\boldsymbol{1}"
        return printer._print(body)

    def _print_Piecewise(self, expr):
        """An indicator 1[cond] (relu's derivative), not cases with English words."""
        if len(expr.args) == 2 and expr.args[0].expr == 1 and expr.args[1].expr == 0 \
                and expr.args[1].cond == sp.true:
            return rf"\mathbf{{1}}\left[{self._print(expr.args[0].cond)}\right]"
        return super()._print_Piecewise(expr)

    def _print_StepSum(self, expr):
        s = expr.steps
        inner = self._print(expr.expr)
        if isinstance(expr.expr, sp.MatAdd):
            inner = rf"\left({inner}\right)"
        return rf"\sum_{{t={step_latex(s.lo)}}}^{{{step_latex(s.hi)}}} {inner}"


class _ElementwisePrinter(ModelLatexPrinter):
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
            return rf"({self._placeholders[expr.base]})^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_Piecewise(self, expr):
        if len(expr.args) == 2 and expr.args[0].expr == 1 and expr.args[1].expr == 0 \
                and expr.args[1].cond == sp.true:
            return rf"\mathbf{{1}}\left[{self._print(expr.args[0].cond)}\right]"
        return super()._print_Piecewise(expr)


def latex(expr) -> str:
    """``expr`` in the textbook's notation."""
    return ModelLatexPrinter().doprint(expr)


# ---------------------------------------------------------------- text and trusted LaTeX

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                 "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%",
                 "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "|": r"\textbar{}"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$~])")


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


# ---------------------------------------------------------------- Jupyter reprs

def steps_latex(steps) -> str:
    """The steps of an equation as math: 1 \\le t \\le \\tau - 1, t = \\tau."""
    if steps.is_point:
        return f"t = {step_latex(steps.lo)}"
    if sp.expand(steps.hi - TAU + 1) == 0:
        return rf"{step_latex(steps.lo)} \le t < \tau"
    return rf"{step_latex(steps.lo)} \le t \le {step_latex(steps.hi)}"


def equation_repr_latex(eq) -> str:
    """``$$ lhs = rhs \\qquad (steps) $$`` for Jupyter (``MatrixEquation._repr_latex_``)."""
    tail = rf" \qquad \left({steps_latex(eq.steps)}\right)" if eq.steps is not None and \
        not eq.steps.is_point else ""
    return f"$${latex(eq.lhs)} = {latex(eq.rhs)}{tail}$$"


def _math_text(text: str) -> str:
    r"""Plain text inside math, valid in KaTeX and pdflatex alike: ``\text{...}`` with only
    letters, digits, spaces and ``.,:;()=-/`` (an underscore, which both refuse in
    ``\text`` without an escape, is written as ``\_``)."""
    safe = "".join(ch if ch.isalnum() or ch in " .,:;()=-/" else ("\\_" if ch == "_" else " ")
                   for ch in str(text))
    return rf"\text{{{safe}}}"


def entry_repr_latex(e) -> str:
    """One certificate entry for Jupyter: id, verdict, the printed form (and the reading
    that holds)."""
    head = _math_text(f"{e.id}: {e.kind}")
    body = rf"{head} \quad {check_math(e.printed, e.id)}"
    if e.kind not in ("confirmed", "definition", "not-applicable") and e.reading:
        body += rf" \\ {_math_text('reading that holds:')} \quad {check_math(e.reading, e.id)}"
    return r"$$\begin{gathered}" + body + r"\end{gathered}$$"


def certificate_repr_latex(cert) -> str:
    rows = []
    for e in cert.entries:
        status = e.kind + (", reading confirmed" if e.kind not in (
            "confirmed", "definition", "not-applicable") and e.reading else "")
        rows.append(rf"{_math_text(e.id)} & {check_math(e.printed, e.id)} & "
                    rf"{_math_text(status)}")
    return r"$$\begin{array}{lll}" + r" \\ ".join(rows) + r"\end{array}$$"
