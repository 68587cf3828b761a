"""The LaTeX / Markdown document: forward pass, BPTT in matrix form with certificate statuses,
the note's chain-rule expansions generated from the unrolled graph, the adjoint recursion
written out step by step, and the certificate table.

Every formula is printed here by ``symrnn.latex`` from SymPy objects (or, for the note's printed
forms, taken from the certificate after ``check_math``); the templates in ``templates/``
(``bptt.tex.jinja``, ``bptt_standalone.tex.jinja``, ``bptt.md.jinja``) hold only structure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from .derive import dphi_vector, matrix_equations
from .functions import ACTIVATIONS, LOSSES
from .graph import Graph, unroll
from .io import MARKER
from .latex import (STEP, base_latex, check_graphics, check_math, escape_text, grad_latex, latex,
                    node_latex, partial_latex, split_name, step_offset)
from .spec import RNNSpec
from .templating import render

FORMATS = ("tex", "md")
#: Above this tau, step-by-step listings show the first and last steps around a \vdots.
MAX_WRITTEN = 12
#: Above this many Jacobians, a chain is written with \cdots in the middle.
MAX_CHAIN = 10
#: Rough width budget of one display line, in estimated glyphs.
LINE_BUDGET = 62
#: Width budget of one column of the side-by-side comparison (printed | reading).
HALF_BUDGET = 34

STATUSES = ("confirmed", "refuted", "ill-formed", "not-applicable", "unproven")
#: The certificate entries that print each matrix equation (the note has no grad_a, grad_h0).
EQUATION_ENTRIES = {
    "grad_o": ("bptt.grad_o",),
    "grad_h_last": ("bptt.grad_h_tau",),
    "grad_h": ("bptt.grad_h.jacobian", "bptt.grad_h"),
    "grad_c": ("bptt.grad_c",),
    "grad_b": ("bptt.grad_b",),
    "grad_V": ("bptt.grad_V",),
    "grad_W": ("bptt.grad_W",),
    "grad_U": ("bptt.grad_U",),
}
#: Counterexample fields in the order they are told, with their labels.
_CEX_FIELDS = (("claim", "claim"), ("entry", "entry"), ("formula_value", "formula gives"),
               ("true_value", "derivation gives"), ("point", "point"), ("at", "values there"))
#: At most this many node values of a counterexample point are listed.
MAX_CEX_VALUES = 10
#: What each matrix equation is about (inline math); unknown names fall back on the comment.
EQUATION_TITLES = {
    "grad_o": r"the output, through $\operatorname{softmax}$ and the loss",
    "grad_h_last": r"the last state: $\boldsymbol{h}^{(\tau)}$ feeds only $\boldsymbol{o}^{(\tau)}$",
    "grad_h": r"the states: $\boldsymbol{h}^{(t)}$ feeds $\boldsymbol{a}^{(t+1)}$ and "
              r"$\boldsymbol{o}^{(t)}$",
    "grad_a": r"back through the activation, $\operatorname{diag}(\phi'(\boldsymbol{a}^{(t)}))$",
    "grad_c": r"the output bias $\boldsymbol{c}$",
    "grad_b": r"the hidden bias $\boldsymbol{b}$",
    "grad_V": r"$\boldsymbol{V}$, a sum of outer products",
    "grad_W": r"$\boldsymbol{W}$, a sum of outer products",
    "grad_U": r"$\boldsymbol{U}$, a sum of outer products",
    "grad_h0": r"the initial state: $\boldsymbol{h}^{(0)}$ feeds $\boldsymbol{a}^{(1)}$",
}
_STEPS_TEXT = {"1 <= t <= tau": r"1 \le t \le \tau", "1 <= t < tau": r"1 \le t < \tau",
               "t = tau": r"t = \tau", "t = 0": r"t = 0", "sum": r"t = 1, \ldots, \tau"}
#: The per-step loss L(t) of each registered loss, in the note's notation.
LOSS_LATEX = {
    "softmax-ce": r"L^{(t)} = -\log p_{\text{model}}\left(y^{(t)} \mid \boldsymbol{x}^{(1)}, "
                  r"\ldots, \boldsymbol{x}^{(t)}\right) = -\log \hat{y}^{(t)}_{y^{(t)}}",
    "mse": r"L^{(t)} = \tfrac{1}{2} \left\lVert \hat{\boldsymbol{y}}^{(t)} - "
           r"\boldsymbol{y}^{(t)} \right\rVert^{2}",
    "bce": r"L^{(t)} = -\sum_{i} \left( y^{(t)}_{i} \log \hat{y}^{(t)}_{i} + "
           r"\left(1 - y^{(t)}_{i}\right) \log\left(1 - \hat{y}^{(t)}_{i}\right) \right)",
}


# ---------------------------------------------------------------- displays

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
        return f"$$\n{self.math}\n$$"


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
        labels = [split_name(m.name)[2] for m in term.atoms(sp.MatrixSymbol)]
        offs = [int(l) if l.isdigit() else step_offset(l) for l in labels if l is not None]
        return max(offs, default=0)

    args = sorted(expr.args, key=lambda a: (bool(a.could_extract_minus_sign()), -latest(a)))
    return sp.MatAdd(*args, evaluate=False)


def equation_display(eq) -> Display:
    """A ``MatrixEquation`` in the textbook's form: terms in the note's order, long sums
    broken across lines, summed equations under one sum over t = 1, ..., tau."""
    terms = signed_terms(textbook_order(eq.rhs))
    if eq.summed:
        inner = " ".join(terms)
        chunks = [rf"\sum_{{t=1}}^{{\tau}} " + (rf"\left({inner}\right)" if len(terms) > 1
                                                 else inner)]
    else:
        chunks = break_terms(terms)
    return Display([Row(latex(eq.lhs), chunks)])


def equation_repr_latex(eq) -> str:
    """``$$ lhs = rhs \\qquad (steps) $$`` for Jupyter (``MatrixEquation._repr_latex_``)."""
    steps = _STEPS_TEXT.get(eq.steps)
    tail = rf" \qquad \left({steps}\right)" if steps and not eq.summed else ""
    return f"$${equation_display(eq).math}{tail}$$"


def at_step(expr, t: int, tau: int):
    """``expr`` with step labels t, t+1, tau, ... replaced by numbers (t = ``t``)."""
    rep = {}
    for m in expr.atoms(sp.MatrixSymbol):
        grad, kind, label = split_name(m.name)
        if label is None:
            continue
        mm = STEP.match(label)
        base = {"t": t, "tau": tau}.get(mm.group(1))
        k = int(mm.group(1)) if base is None else base
        k += int(mm.group(2) or 0)
        rep[m] = sp.MatrixSymbol(m.name.split("^(")[0] + f"^({k})", *m.shape)
    return expr.xreplace(rep)


def shown_steps(tau: int) -> list[int | None]:
    """tau, tau-1, ..., 1, with None (a \\vdots row) in the middle when tau > MAX_WRITTEN."""
    steps = list(range(tau, 0, -1))
    if tau <= MAX_WRITTEN:
        return steps
    return steps[:3] + [None] + steps[-3:]


# ---------------------------------------------------------------- chain rule from the graph

def _node_index(graph: Graph) -> dict[sp.Symbol, tuple[str, int | None]]:
    node_of: dict[sp.Symbol, tuple[str, int | None]] = {}
    for kind in ("x", "a", "h", "o", "yhat"):
        for t, m in getattr(graph, kind).items():
            for s in m:
                if isinstance(s, sp.Symbol):
                    node_of[s] = (kind, t)
    for t, s in graph.L_t.items():
        node_of[s] = ("L", t)
    for name, m in graph.params.items():
        for s in m:
            node_of[s] = (name, None)
    return node_of


def chain_paths(graph: Graph, step: int, param: str) -> list[list[tuple[str, int | None]]]:
    """Every path from L(step) down to ``param`` in the unrolled graph, written with the note's
    nodes only (o and h; y^ and a are folded into their neighbours' Jacobians), shortest first."""
    node_of = _node_index(graph)
    parents: dict[tuple, set] = defaultdict(set)
    for s, d in graph.defs.items():
        if s in node_of:
            for v in d.free_symbols:
                if v in node_of:
                    parents[node_of[s]].add(node_of[v])
    target, paths = (param, None), []
    stack = [[("L", step)]]
    while stack:
        path = stack.pop()
        for p in sorted(parents[path[-1]], key=lambda n: (n[0], -1 if n[1] is None else n[1])):
            if p == target:
                paths.append(path + [p])
            elif p[0] not in graph.params:
                stack.append(path + [p])
    kept = [[n for n in path if n[0] not in ("yhat", "a")] for path in paths]
    return sorted(kept, key=lambda p: (len(p), [(n[0], n[1] or 0) for n in p]))


def _node_tex(node: tuple[str, int | None]) -> str:
    kind, t = node
    if kind == "L":
        return f"L^{{({t})}}"
    return node_latex(kind, None if t is None else str(t))


def chain_term(path: list[tuple[str, int | None]]) -> str:
    """The product of Jacobians along one path (\\cdots in the middle of long chains)."""
    factors = [partial_latex(_node_tex(a), _node_tex(b)) for a, b in zip(path, path[1:])]
    if len(factors) > MAX_CHAIN:
        factors = factors[:3] + [r"\cdots"] + factors[-2:]
    return " ".join(factors)


def expansion_display(graph: Graph, step: int, param: str) -> tuple[Display, list[int]]:
    """d L(step) / d param as the sum over graph paths, one term per line."""
    paths = chain_paths(graph, step, param)
    terms = [chain_term(p) for p in paths]
    ks = [p[-2][1] for p in paths]  # the step of the h that uses the parameter directly
    if len(terms) > MAX_WRITTEN:
        terms = terms[:3] + [r"\vdots"] + terms[-2:]
    if not terms:  # no path: L(step) does not depend on param (softmax over one class)
        terms = ["0"]
    chunks = [terms[0]] + [("+ " + t) if t != r"\vdots" else t for t in terms[1:]]
    lhs = partial_latex(f"L^{{({step})}}", base_latex(param))
    return Display([Row(lhs, chunks)]), ks


# ---------------------------------------------------------------- certificate

@dataclass
class EntryView:
    id: str
    title: str
    part: str
    status: str
    method: str
    printed: str  # the note's LaTeX, as checked (for tests and Markdown)
    display: str  # printed, broken into aligned lines for a full-width display
    reading: str | None
    reading_display: str | None
    side_by_side: bool  # printed and reading fit in two columns
    printed_half: str | None  # the column forms, when side by side
    reading_half: str | None
    reading_status: str | None
    verdict: str  # one line of prose: the status and what holds instead
    reason: str | None
    counterexample: str | None

    @property
    def mismatch(self) -> bool:
        return self.status not in ("confirmed", "not-applicable")


def _number(value) -> str:
    """Numbers to 6 significant digits (the certificate gives them as strings or floats)."""
    if isinstance(value, (bool, int)) or not isinstance(value, (float, str)):
        return str(value)
    try:
        return f"{float(value):.6g}"
    except ValueError:
        return str(value)


def counterexample_text(cex: dict) -> str:
    """A counterexample in one sentence of plain text (escape it for the document)."""
    cex = dict(cex)
    parts = []
    claim, entry = cex.pop("claim", None), cex.pop("entry", None)
    if claim is not None:
        parts.append(f"for {claim}" + (f", entry {entry}" if entry is not None else ""))
    f, t = cex.pop("formula_value", None), cex.pop("true_value", None)
    if f is not None or t is not None:
        parts.append(f"the formula gives {_number(f)} where the derivation gives {_number(t)}")
    point = cex.pop("point", None)
    if point is not None:
        parts.append(f"at {point}")
    at = cex.pop("at", None)
    if isinstance(at, dict) and at:
        keys = sorted(at)
        shown = [f"{k} = {_number(at[k])}" for k in keys[:MAX_CEX_VALUES]]
        more = len(keys) - len(shown)
        parts.append("where " + ", ".join(shown) + (f" and {more} more" if more > 0 else ""))
    elif at is not None:
        parts.append(f"where {at}")
    for k in sorted(cex):
        parts.append(f"{k} = {_number(cex[k])}")
    text = "; ".join(parts)
    return text[:600] + " ..." if len(text) > 600 else text


def _verdict(e) -> str:
    """The status as prose; a reading is mentioned when the printed form does not hold."""
    if e.status == "confirmed":
        return "holds as printed"
    if e.status == "not-applicable":
        return "not applicable for this tau"
    if e.reading and e.reading_status == "confirmed":
        return "does not hold as printed; the reading below is confirmed"
    return "does not hold as printed, and no reading was confirmed"


def _entry_view(e, fmt: str) -> EntryView:
    where = f"certificate entry {e.id!r}"
    if e.status not in STATUSES:
        raise ValueError(f"{where}: unknown status {e.status!r}")
    printed = check_math(e.printed, where)
    reading = check_math(e.reading, where) if e.reading else None
    cex = None
    if e.counterexample:
        cex = escape_text(counterexample_text(e.counterexample), fmt)
    side = False
    p_half = r_half = None
    if reading is not None:
        pl, rl = formula_lines(printed, HALF_BUDGET), formula_lines(reading, HALF_BUDGET)
        side = max(lines_width(pl), lines_width(rl)) <= HALF_BUDGET
        if side:
            p_half, r_half = aligned(pl), aligned(rl)
    return EntryView(escape_text(e.id, fmt), escape_text(e.title, fmt), e.part, e.status,
                     escape_text(e.method, fmt), printed, aligned(formula_lines(printed)),
                     reading, aligned(formula_lines(reading)) if reading else None,
                     side, p_half, r_half, e.reading_status, escape_text(_verdict(e), fmt),
                     escape_text(e.reason, fmt) if e.reason else None, cex)


def _load_certificate(spec: RNNSpec):
    from .certificate import certify  # lands on main with the verify command
    return certify(spec)


# ---------------------------------------------------------------- the document

def context(spec: RNNSpec, fmt: str = "tex", certificate=None) -> dict:
    """Everything the templates place, already printed."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cert = certificate if certificate is not None else _load_certificate(spec)
    if cert.spec != spec:
        raise ValueError("the certificate was made for another spec")
    act, loss = ACTIVATIONS[spec.activation], LOSSES[spec.loss]
    if spec.loss not in LOSS_LATEX:
        raise ValueError(f"no LaTeX for loss {spec.loss!r}: add it to LOSS_LATEX")
    tau = spec.tau
    esc = lambda s: escape_text(s, fmt)
    M = lambda k, t, n: sp.MatrixSymbol(f"{k}^({t})", n, 1)
    nh, ni, no = spec.n_hidden, spec.n_in, spec.n_out
    U, W, V = (sp.MatrixSymbol(k, *s) for k, s in (("U", (nh, ni)), ("W", (nh, nh)),
                                                      ("V", (no, nh))))
    b, c = sp.MatrixSymbol("b", nh, 1), sp.MatrixSymbol("c", no, 1)

    # forward and loss (10.8 - 10.11)
    phi = check_math(act.latex, f"activation {act.name!r}")
    out = check_math(loss.output_latex, f"loss {loss.name!r}")
    forward = Display([
        Row(latex(M("a", "t", nh)), [latex(sp.MatAdd(b, W * M("h", "t-1", nh), U * M("x", "t", ni),
                                                     evaluate=False))]),
        Row(latex(M("h", "t", nh)), [rf"{phi}\left({latex(M('a', 't', nh))}\right)"]),
        Row(latex(M("o", "t", no)), [latex(sp.MatAdd(c, V * M("h", "t", nh), evaluate=False))]),
        Row(latex(M("yhat", "t", no)), [rf"{out}\left({latex(M('o', 't', no))}\right)"]),
    ])
    per_step_lhs, per_step_rhs = check_math(LOSS_LATEX[spec.loss], "loss").split(" = ", 1)
    loss_display = Display([Row("L", [r"\sum_{t=1}^{\tau} L^{(t)}"]),
                            Row(per_step_lhs, [per_step_rhs])])

    # BPTT in matrix form, each equation with the note's status where the note has it
    by_id = {e.id: e for e in cert.entries}
    eqs = matrix_equations(spec)
    bptt = []
    for eq in eqs:
        notes = []
        for eid in EQUATION_ENTRIES.get(eq.name, ()):
            if eid in by_id:
                n = by_id[eid]
                notes.append({"id": esc(eid), "status": n.status,
                              "reading": n.status not in ("confirmed", "not-applicable")
                              and n.reading_status == "confirmed"})
        title = EQUATION_TITLES.get(eq.name)
        if title is not None and eq.name == "grad_o" and spec.loss != "softmax-ce":
            title = "the output, through the output function and the loss"
        bptt.append({"name": esc(eq.name), "comment": title or esc(eq.comment),
                     "steps": _STEPS_TEXT[eq.steps],
                     "notes": notes,
                     "display": equation_display(eq)})

    # the note's formulas as printed, with statuses; mismatches side by side
    views = [_entry_view(e, fmt) for e in cert.entries]
    mismatches = [v for v in views if v.mismatch]
    parts = []
    for part, title in (("forward", "Forward pass"), ("loss", "Loss"),
                        ("bptt", "Gradients by recursion (the note's second part)"),
                        ("chain", "Chain rule written out (the note's first part)")):
        items = [v for v in views if v.part == part]
        if items:
            parts.append({"title": title, "entries": items})
    known = {"forward", "loss", "bptt", "chain"}
    others = [v for v in views if v.part not in known]
    if others:
        parts.append({"title": "Other claims", "entries": others})

    # the note's first part, generated from the unrolled graph
    graph = unroll(spec)
    exp_w, ks_w = expansion_display(graph, tau, "W")
    exp_u, ks_u = expansion_display(graph, tau, "U")
    v_paths = [chain_paths(graph, t, "V") for t in range(1, tau + 1)]
    assert all(len(p) == 1 for p in v_paths), "L(t) reaches V along one path only"
    v_general = Display([Row(partial_latex("L", base_latex("V")),
                             [r"\sum_{t=1}^{\tau} " + chain_term(
                                 [("L", "t"), ("o", "t"), ("V", None)])])])
    j = "j"
    jacobians = Display([
        Row(partial_latex(node_latex("o", "t"), node_latex("h", "t")), [latex(V)]),
        Row(partial_latex(node_latex("h", j), node_latex("h", "j-1")),
            [latex(sp.DiagMatrix(dphi_vector(spec, j)) * W)]),
        Row(partial_latex("L^{(t)}", node_latex("o", "t")),
            [rf"\left({latex(textbook_order(eqs[0].rhs))}\right)^{{\top}}"]),
    ])
    no_h0_path = 0 not in ks_w

    # the adjoint recursion for this tau, written out
    eq = {e.name: e for e in eqs}
    rec = Display()
    for t in shown_steps(tau):
        if t is None:
            rec.rows.append(Row("", [r"\vdots"], rel=""))
            continue
        names = ["grad_o", "grad_h_last" if t == tau else "grad_h", "grad_a"]
        for name in names:
            e = eq[name]
            rhs = textbook_order(at_step(e.rhs, t, tau))
            rec.rows.append(Row(latex(at_step(e.lhs, t, tau)), break_terms(signed_terms(rhs)),
                                gap=name == "grad_a"))
    if "grad_h0" in eq:
        e = eq["grad_h0"]
        rec.rows.append(Row(latex(e.lhs), [latex(at_step(e.rhs, 0, tau))]))
    sums = Display()
    for e in eqs:
        if not e.summed:
            continue
        terms = []
        for t in shown_steps(tau)[::-1]:
            terms.append(r"+ \cdots" if t is None else
                         ("+ " if terms else "") + latex(at_step(e.rhs, t, tau)))
        sums.rows.append(Row(latex(e.lhs), break_terms(terms)))

    table = [{"id": v.id, "status": v.status, "method": v.method} for v in views]
    return {
        "marker": MARKER,
        "fmt": fmt,
        "tau": tau,
        "tau_big": tau > MAX_WRITTEN,
        "max_written": MAX_WRITTEN,
        "spec_text": esc(spec.describe()),
        "activation": esc(act.summary),
        "loss": esc(loss.summary),
        "h0_zero": spec.h0 == "zeros",
        "forward": forward,
        "loss_display": loss_display,
        "bptt": bptt,
        "parts": parts,
        "mismatches": mismatches,
        "v_general": v_general,
        "exp_w": exp_w,
        "exp_u": exp_u,
        "n_paths_w": len(ks_w),
        "no_h0_path": no_h0_path,
        "jacobians": jacobians,
        "recursion": rec,
        "sums": sums,
        "table": table,
        "cert_ok": bool(cert.ok),
        "counts": {s: sum(v.status == s for v in views) for s in STATUSES},
        "n_entries": len(views),
        "n_reading": sum(v.mismatch and v.reading is not None for v in views),
        "n_failing": sum(v.mismatch and v.reading is None for v in views),
    }


# ---------------------------------------------------------------- gradient flow (issue 6)

def _analysis_result(analysis):
    """``True`` -> the analysis with ``symrnn analyze``'s defaults (seed 0, deterministic);
    an ``Analysis`` is used as given."""
    from .analyze import Analysis, analyze
    if analysis is True:
        return analyze()
    if isinstance(analysis, Analysis):
        return analysis
    raise TypeError(f"analysis must be True, False or an Analysis, got {type(analysis).__name__}")


def analysis_context(spec: RNNSpec, result, fmt: str = "tex", graphics: str | None = None
                     ) -> dict:
    """The section "Gradient flow: why tanh and not ReLU?": the Jacobian product in the
    document's notation, phi' of each measured activation (``sympy.diff``, checked exactly
    against the unrolled graph by ``symrnn.analyze``), the plot (when ``graphics`` names the
    PNG next to the document) and the fitted per-step factors of ``result``."""
    from .analyze import CONCRETE, DEFAULTS, dphi

    n = spec.n_hidden
    W = sp.MatrixSymbol("W", n, n)
    h = lambda t: node_latex("h", t)
    diag_w = lambda s: latex(sp.DiagMatrix(dphi_vector(s, "j")) * W)
    prod = r"\prod_{j=k+1}^{t} "
    rows = [Row(partial_latex(h("t"), h("k")), [prod + partial_latex(h("j"), h("j-1"))]),
            Row("", ["= " + prod + diag_w(RNNSpec(tau=1, n_hidden=n, activation="phi"))])]
    if spec.activation != "phi":  # this document's activation, as the BPTT section writes it
        rows.append(Row("", ["= " + prod + diag_w(spec)],
                        note=rf"\phi = {check_math(ACTIVATIONS[spec.activation].latex, 'phi')}"))
    rows[-1].gap = True
    rows.append(Row(grad_latex("h", "k", "L^{(t)}"),
                    [rf"\left({partial_latex(h('t'), h('k'))}\right)^{{\top}} "
                     + grad_latex("h", "t", "L^{(t)}")]))
    product = Display(rows)

    checks = {c.activation: c for c in result.checks}
    acts = [a for a in CONCRETE if any(c.activation == a for c in result.curves)]
    a = sp.Symbol("a")
    dphis = Display([Row(rf"\phi = {check_math(ACTIVATIONS[name].latex, name)}",
                         [rf"\phi'(a) = " + check_math(sp.latex(dphi(name)(a)), name)],
                         rel=r"\implies") for name in acts])
    n_checked = sum(checks[x].ok for x in acts if x in checks)

    table = []
    for label in result.labels:
        curve = result.curve(acts[0], label)
        rho = rf"\rho = {curve.radius:.2f}"
        table.append({"rho": rho, "random": label == "random",
                      "factors": [f"{result.curve(x, label).factor:.3f}" for x in acts]})

    # what the numbers say about tanh against ReLU, worded from the numbers themselves
    facts = None
    if "tanh" in acts and "relu" in acts:
        top = max(result.labels, key=lambda l: result.curve("tanh", l).radius)
        t, r = result.curve("tanh", top), result.curve("relu", top)
        by_radius = sorted(result.labels, key=lambda l: result.curve("tanh", l).radius)
        below = [l for l in by_radius
                 if result.curve("tanh", l).factor < result.curve("relu", l).factor]
        vanish = [l for l in by_radius if result.curve("tanh", l).factor < 1]
        facts = {
            "rho_top": f"{t.radius:.2f}",
            "tanh_factor": f"{t.factor:.3f}", "relu_factor": f"{r.factor:.3f}",
            "tanh_max_h": f"{max(c.max_abs_h for c in result.curves if c.activation == 'tanh'):.3g}",
            "relu_max_h": _sci(r.max_abs_h),
            "tanh_saturated": f"{100 * t.saturated:.0f}" if t.saturated is not None else None,
            "tanh_below_everywhere": len(below) == len(result.labels),
            "tanh_below": ", ".join(f"{result.curve('tanh', l).radius:.2f}" for l in below),
            "tanh_vanishes": ", ".join(f"{result.curve('tanh', l).radius:.2f}" for l in vanish),
        }
    return {
        "product": product,
        "dphis": dphis,
        "n_acts": len(acts),
        "n_checked": n_checked,
        "graphics": None if graphics is None else check_graphics(graphics),
        "acts": [escape_text(x, fmt) for x in acts],
        "table": table,
        "facts": facts,
        "hidden": result.hidden,
        "max_lag": result.max_lag,
        "seed": result.seed,
        "sequences": DEFAULTS["sequences"],
    }


def _sci(x: float) -> str:
    """A number in math: 2.88e+24 -> 2.88 \\times 10^{24}."""
    text = f"{x:.3g}"
    if "e" not in text:
        return text
    mant, exp = text.split("e")
    return rf"{mant} \times 10^{{{int(exp)}}}"


def latex_command(spec: RNNSpec, fmt: str = "tex", standalone: bool = False,
                  out: str | None = None, analysis: bool = False) -> str:
    """The CLI command that writes this document (only the options that differ from defaults)."""
    words = ["symrnn", "latex"]
    default = RNNSpec()
    for name, flag in (("tau", "--tau"), ("n_in", "--inputs"), ("n_hidden", "--hidden"),
                       ("n_out", "--outputs"), ("activation", "--activation"), ("loss", "--loss")):
        if getattr(spec, name) != getattr(default, name):
            words += [flag, str(getattr(spec, name))]
    if fmt != "tex" and (out is None or not out.endswith("." + fmt)):
        words += ["--format", fmt]
    if standalone:
        words.append("--standalone")
    if analysis:
        words.append("--analysis")
    if out is not None:
        words += ["--out", out]
    return " ".join(words)


def to_latex(spec: RNNSpec, standalone: bool = False, fmt: str = "tex", certificate=None,
             command: str | None = None, analysis=False,
             graphics: str | None = "gradient_flow.png") -> str:
    """The document for ``spec``: a fragment to ``\\input`` (default), a complete article
    (``standalone``), or Markdown with ``$$`` math (``fmt="md"``). Deterministic: the same
    spec gives the same bytes. ``command`` is written in the header as the way to regenerate
    the file (default: the ``symrnn latex`` command for these options).

    ``analysis`` (default off) adds the section "Gradient flow: why tanh and not ReLU?":
    ``True`` runs ``symrnn.analyze.analyze()`` with its defaults (seed 0), or pass an
    ``Analysis``. ``graphics`` is the plot's file name next to the document (write it with
    ``symrnn.analyze.figure_png``); ``None`` leaves the plot out."""
    if not isinstance(spec, RNNSpec):
        raise TypeError(f"spec must be an RNNSpec, got {type(spec).__name__}")
    if analysis is not False and analysis is not None:
        result = _analysis_result(analysis)
        ctx_analysis = analysis_context(spec, result, fmt, graphics)
    else:
        ctx_analysis = None
    ctx = context(spec, fmt, certificate)
    ctx["analysis"] = ctx_analysis
    ctx["command"] = " ".join((command or latex_command(spec, fmt, standalone,
                                                        analysis=ctx_analysis is not None)).split())
    ctx["command"] = ctx["command"].replace("-->", "- ->")  # it sits in an HTML comment in .md
    if fmt == "md":
        if standalone:
            raise ValueError("standalone applies to the tex format only; Markdown is always "
                             "a complete document")
        return render("bptt.md.jinja", **ctx)
    return render("bptt_standalone.tex.jinja" if standalone else "bptt.tex.jinja", **ctx)


# ---------------------------------------------------------------- PDF

class LatexError(RuntimeError):
    """pdflatex is missing or failed; the message is one line."""


def pdflatex_path() -> str | None:
    return shutil.which("pdflatex")


def compile_pdf(tex: str, timeout: float = 120.0, files: dict[str, bytes] | None = None
                ) -> bytes:
    """Compile a standalone document with pdflatex in a temporary folder; return the PDF.

    ``files`` are copied into that folder first (e.g. ``{"gradient_flow.png": png}`` for
    ``\\includegraphics``); their names must pass ``symrnn.latex.check_graphics``.
    No shell escape, files readable only below the current folder (openin_any=p), stops at the
    first error; a reproducible PDF (SOURCE_DATE_EPOCH fixed).
    """
    files = dict(files or {})
    for name, data in files.items():
        check_graphics(name)
        if not isinstance(data, bytes):
            raise TypeError(f"file {name!r}: give its content as bytes")
    exe = pdflatex_path()
    if exe is None:
        raise LatexError("pdflatex not found: install TeX Live (Debian: apt-get install "
                         "texlive-latex-base) or omit --pdf")
    env = {**os.environ, "openin_any": "p", "openout_any": "p", "SOURCE_DATE_EPOCH": "0",
           "FORCE_SOURCE_DATE": "1", "shell_escape": "f"}
    with tempfile.TemporaryDirectory(prefix="symrnn-tex-") as tmp:
        Path(tmp, "doc.tex").write_text(tex, encoding="utf-8")
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        cmd = [exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
        for _ in range(3):  # longtable may ask for a second run
            try:
                proc = subprocess.run(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex took longer than {timeout:.0f} s")
            log = Path(tmp, "doc.log").read_text(encoding="latin-1") \
                if Path(tmp, "doc.log").exists() else proc.stdout.decode("latin-1")
            if proc.returncode != 0:
                first = next((l for l in log.splitlines() if l.startswith("!")), "unknown error")
                raise LatexError(f"pdflatex failed: {first.lstrip('! ').strip()}")
            if "Rerun to get" not in log and "Table widths have changed" not in log:
                break
        return Path(tmp, "doc.pdf").read_bytes()


def compile_log_problems(tex: str, files: dict[str, bytes] | None = None) -> list[str]:
    """Overfull boxes and warnings pdflatex reports for ``tex`` (for tests)."""
    exe = pdflatex_path()
    if exe is None:
        raise LatexError("pdflatex not found")
    env = {**os.environ, "openin_any": "p", "openout_any": "p"}
    with tempfile.TemporaryDirectory(prefix="symrnn-tex-") as tmp:
        Path(tmp, "doc.tex").write_text(tex, encoding="utf-8")
        for name, data in (files or {}).items():
            Path(tmp, check_graphics(name)).write_bytes(data)
        subprocess.run([exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                        "doc.tex"], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120)
        log = Path(tmp, "doc.log").read_text(encoding="latin-1")
    return [l for l in log.splitlines()
            if l.startswith("Overfull") or "LaTeX Warning" in l or l.startswith("!")]
