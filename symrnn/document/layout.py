"""Display layout for documents: rows of aligned math, long sums broken into lines within a
width budget, and the order of terms the note uses. Works on printed LaTeX and on SymPy
matrix expressions (printed by ``symrnn.document.printer``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from ..naming import T, At, Grad
from .printer import latex

#: Above this tau, step-by-step listings show the first and last steps around a \vdots.
MAX_WRITTEN = 12
#: Above this many Jacobians, a chain is written with \cdots in the middle.
MAX_CHAIN = 10
#: Rough width budget of one display line, in estimated glyphs.
LINE_BUDGET = 62
#: Width budget of one column of the side-by-side comparison (printed | reading).
HALF_BUDGET = 34



def approx_width(tex: str) -> int:
    """A rough count of the glyphs ``tex`` typesets (fractions count their wider part)."""
    tex = re.sub(r"\\(left|right|boldsymbol|operatorname|mathrm|mathbf|text|hat|quad)"
                 r"(?![A-Za-z])", "", tex)
    while True:  # \frac{a}{b} -> the wider of a and b, innermost first
        m = re.search(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", tex)
        if not m:
            break
        a, b = m.group(1), m.group(2)
        tex = tex[:m.start()] + (a if len(a) >= len(b) else b) + tex[m.end():]
    tex = re.sub(r"\\[A-Za-z]+", "x", tex)
    return len(re.sub(r"[{}^_ ]", "", tex))


@dataclass
class Row:
    """One line of a display: ``lhs rel chunks[0]`` then continuation lines ``chunks[1:]``."""

    lhs: str
    chunks: list[str]
    rel: str = "="
    note: str | None = None  # a short right-hand remark, in math (e.g. t = 3)
    gap: bool = False  # a little space after this row (between steps)


@dataclass
class Display:
    rows: list[Row] = field(default_factory=list)

    def _lines(self) -> list[str]:
        out = []
        for r in self.rows:
            note = rf" && {r.note}" if r.note else ""
            first = f"{r.lhs} &{r.rel} {r.chunks[0]}" if r.lhs else f"& {r.chunks[0]}"
            out.append(first + (note if len(r.chunks) == 1 else ""))
            for i, c in enumerate(r.chunks[1:], start=2):
                out.append(rf"&\quad {c}" + (note if i == len(r.chunks) else ""))
            if r.gap and r is not self.rows[-1]:
                out[-1] += r" \\[3pt]" + "\n%GAP%"
        return out

    def _join(self) -> str:
        text = " \\\\\n".join(self._lines())
        return text.replace(" \\\\[3pt]\n%GAP% \\\\\n", " \\\\[3pt]\n")

    def _single(self) -> str | None:
        if len(self.rows) == 1 and len(self.rows[0].chunks) == 1 and not self.rows[0].note:
            r = self.rows[0]
            return f"{r.lhs} {r.rel} {r.chunks[0]}" if r.lhs else r.chunks[0]
        return None

    @property
    def math(self) -> str:
        """The display as one formula (``aligned`` when it has several lines)."""
        single = self._single()
        if single is not None:
            return single
        return "\\begin{aligned}\n" + self._join() + "\n\\end{aligned}"

    @property
    def tex(self) -> str:
        single = self._single()
        if single is not None:
            return f"\\[\n  {single}\n\\]"
        return "\\begin{align*}\n" + self._join() + "\n\\end{align*}"

    @property
    def md(self) -> str:
        """A ```math fence: GitHub hands its content to the math renderer untouched (a
        ``$$`` block goes through Markdown first, which eats ``\\\\`` and ``\\{``)."""
        return f"```math\n{self.math}\n```"


def break_terms(terms: list[str], budget: int = LINE_BUDGET, first_budget: int | None = None
                ) -> list[str]:
    """Join signed terms ("+ x", "- y"; the first unsigned) into lines within ``budget``."""
    lines, cur, width = [], "", 0
    limit = first_budget if first_budget is not None else budget
    for term in terms:
        w = approx_width(term)
        if cur and width + w > limit:
            lines.append(cur)
            cur, width, limit = "", 0, budget
        cur = f"{cur} {term}".strip()
        width += w
    lines.append(cur)
    return lines


def top_level_pieces(tex: str) -> list[tuple[str, str]]:
    """``tex`` split at its top-level ``=``, ``+`` and binary ``-`` (outside braces, brackets
    and parentheses): (separator, piece) pairs, the first separator empty."""
    pieces, sep, cur, depth, i = [], "", "", 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            tok = re.match(r"\\([A-Za-z]+|.)", tex[i:]).group(0)
            depth += {r"\{": 1, r"\}": -1}.get(tok, 0)
            cur += tok
            i += len(tok)
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0 and ch in "=+-":
            before = cur.strip()
            if ch == "=" or (before and not before.endswith(("=", "^", "_"))):
                pieces.append((sep, before))
                sep, cur, i = ch, "", i + 1
                continue
        cur += ch
        i += 1
    pieces.append((sep, cur.strip()))
    return pieces


def formula_lines(tex: str, budget: int = LINE_BUDGET) -> list[str]:
    """A formula as ``aligned`` lines within ``budget``: one relation per line (``&=``), long
    sides broken before a top-level + or -. A formula that fits comes back as itself."""
    if approx_width(tex) <= budget:
        return [tex]
    groups: list[list[str]] = [[]]
    for sep, piece in top_level_pieces(tex):
        if sep == "=":
            groups.append([piece])
        else:
            groups[-1].append(f"{sep} {piece}" if sep else piece)
    lhs, sides = (" ".join(groups[0]), groups[1:]) if len(groups) > 1 else ("", groups)
    lines = []
    for n, terms in enumerate(sides):
        head = (f"{lhs} &= " if n == 0 else "&= ") if lhs else "& "
        first = budget - (approx_width(lhs) if n == 0 else 0)
        chunks = break_terms(terms, budget - 2, max(first, budget // 3))
        lines.append(head + chunks[0])
        lines += [rf"&\quad {c}" for c in chunks[1:]]
    return lines if len(lines) > 1 else [tex]


def aligned(lines: list[str]) -> str:
    """One line as is, several in an ``aligned`` block."""
    if len(lines) == 1:
        return lines[0]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def lines_width(lines: list[str]) -> int:
    return max(approx_width(l) for l in lines)


def signed_terms(expr) -> list[str]:
    """The terms of a sum, each printed with its sign (the first without a plus)."""
    args = list(expr.args) if isinstance(expr, (sp.MatAdd, sp.Add)) else [expr]
    args.sort(key=lambda a: bool(a.could_extract_minus_sign()))
    out = []
    for i, a in enumerate(args):
        if a.could_extract_minus_sign():
            out.append("- " + latex(-a))
        else:
            out.append(("" if i == 0 else "+ ") + latex(a))
    return out


def textbook_order(expr):
    """A sum with the later step first (W^T grad_a(t+1) + V^T grad_o(t), as the note writes)."""
    if not isinstance(expr, sp.MatAdd):
        return expr

    def latest(term) -> int:
        offs = []
        for m in term.atoms(At):
            k = sp.expand(m.step - T)
            offs.append(int(k) if k.is_Integer else 0)
        return max(offs, default=0)

    args = sorted(expr.args, key=lambda a: (bool(a.could_extract_minus_sign()), -latest(a)))
    return sp.MatAdd(*args, evaluate=False)


def shown_steps(tau: int) -> list[int | None]:
    """tau, tau-1, ..., 1, with None (a \\vdots row) in the middle when tau > MAX_WRITTEN."""
    steps = list(range(tau, 0, -1))
    if tau <= MAX_WRITTEN:
        return steps
    return steps[:3] + [None] + steps[-3:]
