"""What the document templates place, printed from results computed elsewhere.

``context`` receives the results of the symbolic stages (``symrnn.pipeline.Results``: the
model, the unrolled graph, the checked matrix equations, the certificate, the chain-rule paths
and Jacobians) and turns them into printed LaTeX; it computes nothing symbolic. The templates
in ``templates/latex/`` and ``templates/markdown/`` hold only structure.
"""

from __future__ import annotations

import math
import re

import sympy as sp

from ..functions import ACTIVATIONS, LOSSES, REDUCTIONS
from ..io import MARKER
from ..naming import T, At, Grad
from .layout import (HALF_BUDGET, LINE_BUDGET, MAX_CHAIN, MAX_WRITTEN, Display, Row, aligned,
                     approx_width, break_terms,
                     formula_lines, lines_width, shown_steps, signed_terms, textbook_order)
from .printer import (base_latex, check_graphics, check_math, escape_text, grad_latex, latex,
                      node_latex, partial_latex, step_latex, steps_latex)
from .words import phrases, term, words

FORMATS = ("tex", "md")
STATUSES = ("confirmed", "definition", "refuted", "ill-formed", "shorthand", "ambiguous",
            "checked-instance", "unproven", "not-applicable")
#: Paths written out when there are more than MAX_WRITTEN (the shortest).
SHORTEST = 3
#: At most this many node values of a counterexample point are listed.
MAX_CEX_VALUES = 10


# ---------------------------------------------------------------- equations

def _who(w: At) -> str:
    return "L^{(" + step_latex(w.step) + ")}" if w.name == "L" else latex(w)


def equation_heading(eq) -> str:
    """The gradient an equation gives, as inline math (a heading in math, not ASCII)."""
    return f"${latex(eq.lhs)}$"


def equation_title(eq, model, w=None, lang: str = "en", fmt: str = "tex") -> str:
    """What a matrix equation is about, from its readers (inline math)."""
    w = w or words("en")
    sep = "：" if lang == "zh" else ": "
    if eq.is_param:
        p = eq.about
        kind = w["outer"] if p.cols is not None else w["sum_steps"]
        return f"${base_latex(p.name)}$, {term_text(p.text, fmt, lang)}{sep}{kind}"
    q = eq.about
    at = eq.lhs.of
    step = at.step
    readers = [_who(r) for r in eq.readers]
    who = f"${latex(q.at(step))}$"
    if not readers:
        return term_text(q.text, fmt, lang) + sep + w["read_by_nothing"].format(who=who)
    joined = ", ".join(f"${r}$" for r in readers[:-1]) + \
        (f" {w['and']} " if len(readers) > 1 else "") + f"${readers[-1]}$"
    return term_text(q.text, fmt, lang) + sep + w["feeds"].format(who=who, readers=joined)


def equation_display(eq) -> Display:
    """A ``MatrixEquation`` in the textbook's form: terms in the note's order, long sums
    broken across lines."""
    rhs = eq.rhs
    if eq.is_param:
        return Display([Row(latex(eq.lhs), [latex(rhs)])])
    return Display([Row(latex(eq.lhs), break_terms(signed_terms(textbook_order(rhs))))])


def _steps_text(eq) -> str:
    if eq.steps is None:
        return r"t = 1, \ldots, \tau"
    return steps_latex(eq.steps)


def at_step(expr, t: int, tau: int):
    return expr.xreplace({T: t}).xreplace({sp.Symbol("tau", integer=True, positive=True): tau})


# ---------------------------------------------------------------- certificate entries

HIGHLIGHT = "red"  # the colour of a factor a reading moved (xcolor and KaTeX both know it)


def _dim_latex(d) -> str:
    from ..models.base import DIMS
    for dim in DIMS:
        if d == dim.symbol:
            return dim.latex
    return latex(d)


def shape_latex(m) -> str:
    return r" \times ".join(_dim_latex(d) for d in m.shape)


def _shape_at(m, spec) -> list[int]:
    from ..models.base import DIMS
    sizes = {dim.symbol: spec.sizes[dim.name] for dim in DIMS}
    return [sp.sympify(d).xreplace(sizes) for d in m.shape]


def _product_latex(factors, marked=(), shapes=False, sep: str = "\n") -> str:
    """The factors of a product side by side, those in ``marked`` highlighted, each with its
    shape under it (``shapes``)."""
    out = []
    for i, f in enumerate(factors):
        text = latex(f)
        if isinstance(f, Grad):
            text = rf"({text})"
        if i in marked:
            text = rf"\textcolor{{{HIGHLIGHT}}}{{{text}}}"
        if shapes:
            text = rf"\underbrace{{{text}}}_{{{shape_latex(f)}}}"
        out.append(text)
    return sep.join(out)


def _direct_latex(expr) -> str:
    """d node_i / d P in matrix form, with diag(v) e_i written as v_i e_i."""
    text = latex(expr).replace(r"\boldsymbol{e}_{\mathrm{i}}", r"\boldsymbol{e}_{i}")
    args = []

    def flat(m):
        for a in m.args:
            flat(a) if isinstance(a, sp.MatMul) else args.append(a)
    if isinstance(expr, sp.MatMul):
        flat(expr)
    if len(args) >= 2 and isinstance(args[0], sp.DiagMatrix):
        rest = " ".join(latex(a) for a in args[1:]).replace(r"\boldsymbol{e}_{\mathrm{i}}",
                                                              r"\boldsymbol{e}_{i}")
        text += rf" = \left({latex(args[0].args[0])}\right)_{{i}} {rest}"
    return text


class EntryView:
    """One certificate entry, printed for the document, with its explanation built from the
    data the certificate returns (kind, details, readings, counterexample)."""

    def __init__(self, e, fmt: str, lang: str = "en", spec=None, entries=(), number: int = 0,
                 results_eqs=(), w: dict | None = None):
        where = f"certificate entry {e.id!r}"
        if e.status not in STATUSES:
            raise ValueError(f"{where}: unknown status {e.status!r}")
        w = w or words(lang)
        self.w = w
        self.id = escape_text(e.id, fmt)
        self.anchor = "cert-" + "".join(ch if ch.isalnum() else "-" for ch in e.id)
        self.title = term_text(e.title, fmt, lang)
        ref = getattr(e.formula, "ref", None)
        if ref and ref not in e.title:
            self.title += f" ({escape_text(ref, fmt)})"
        self.part = e.part
        self.status = e.kind
        self.kind_words = w[f"kind.{e.kind}"]
        self.scope = e.scope
        self.method = escape_text(e.method, fmt)
        self.printed = check_math(e.printed, where)
        self.reading = check_math(e.reading, where) if e.reading else None
        self.reading_status = e.reading_status
        self.note = term_text(e.note, fmt, lang) if e.note else None
        cex = e.counterexample or next((r["counterexample"] for r in e.readings
                                        if r.get("counterexample")), None)
        self.counterexample = counterexample_text(cex, fmt, lang) if cex else None
        self.display = aligned(formula_lines(self.printed))
        self.reading_display = aligned(formula_lines(self.reading)) if self.reading else None
        self.side_by_side = False
        self.printed_half = self.reading_half = None
        if self.reading is not None:
            pl, rl = formula_lines(self.printed, HALF_BUDGET), formula_lines(self.reading, HALF_BUDGET)
            self.side_by_side = max(lines_width(pl), lines_width(rl)) <= HALF_BUDGET
            if self.side_by_side:
                self.printed_half, self.reading_half = aligned(pl), aligned(rl)
        tau = spec.tau if spec is not None else 0
        self.verdict = _verdict(e, w, tau)
        self.how = _how(e, w)
        self.short = aligned(formula_lines(self.printed, HALF_BUDGET))
        self.blocks_label = w["why"] if self.mismatch else w["code_form"]
        self.reason = _why_holds(e, w, spec, results_eqs) if spec is not None else None
        self.blocks = [{"pair": None, "labelled": None, "math": None, "text": None, **b}
                       for b in (_explain(e, w, spec, entries, lang, fmt)
                                 if spec is not None else [])]

    @property
    def mismatch(self) -> bool:
        return self.status not in ("confirmed", "definition", "not-applicable")


def term_text(text: str, fmt: str, lang: str) -> str:
    """A data text (a title, a note) in ``lang``, escaped for the format."""
    t = term(text, lang)
    if lang == "zh" and fmt == "tex":
        return "".join(_TEX_ESC.get(ch, ch) for ch in " ".join(t.split()))
    return escape_text(t, fmt)


_TEX_ESC = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
            "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%",
            "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
            "|": r"\textbar{}"}


def _explain(e, w: dict, spec, entries, lang: str, fmt: str) -> list[dict]:
    """The explanation of a verdict as blocks: {"text": prose with inline math},
    {"math": a display}, {"pair": (title, math, title, math)}. Everything comes from the
    certificate's data: the factors and shapes of an ill-formed product, the product a
    reading built and the positions that moved, the Jacobians a confirmed formula wrote, the
    contraction written out, the elementwise form, the counterexample."""
    d = e.details or {}
    out: list[dict] = []
    confirmed = e.confirmed_reading
    if e.kind == "ill-formed" and d.get("factors"):
        factors, at = d["factors"], d["at"]
        left = sp.MatMul(*factors[:at]) if at > 1 else factors[0]
        right = factors[at]
        a, b = _shape_at(left, spec)
        c, dd = _shape_at(right, spec)
        inst = w["illformed_instance"].format(a=a, b=b, c=c, d=dd) if (a, b) != (c, dd) or True \
            else ""
        out.append({"text": w["illformed"].format(
            left=_product_latex(factors[:at], sep=" "), lshape=shape_latex(left),
            right=latex(right), rshape=shape_latex(right), instance=inst)})
        movers = [r for r in e.readings
                  if r.get("moved") and (r.get("details") or {}).get("moved_product")]
        reading = next((r for r in movers if r["kind"] == "confirmed"), None) or \
            next(iter(movers), None)
        if reading is not None:
            moved_product = reading["details"]["moved_product"]
            moved = reading["moved"]
            keys = [sp.srepr(f) for f in moved_product]
            marked_printed = [i for i, f in enumerate(factors)
                              if sp.srepr(f) in {keys[j] for j in moved}]
            holds = reading["kind"] == "confirmed"
            out.append({"pair": (w["as_printed"], _product_latex(factors, marked_printed, True),
                                 w["reading"] if holds else w["moved_only"],
                                 _product_latex(moved_product, moved, True))})
            out.append({"text": w["moved"]})
            if holds:
                out += _jacobian_line(e, w, entries, [moved_product[j] for j in moved], fmt)
                out += _elementwise(reading["details"], w, spec)
            else:  # well-formed once moved, but the factor is another activation's derivative
                out.append({"text": w["moved_fails"]})
                out += _activation_sentence(spec, w)
                if confirmed is not None:
                    out += _jacobian_line(e, w, entries, None, fmt)
                    out += _elementwise(confirmed.get("details") or {}, w, spec)
    elif e.kind == "shorthand" and d.get("rank3") is not None:
        r3 = d["rank3"]
        num, den = latex(r3.node), latex(r3.param)
        out.append({"text": w["shorthand"].format(
            rank3=partial_latex(num, den), shape=r" \times ".join(_dim_latex(x) for x in r3.shape),
            node=num)})
        if confirmed:
            out += _contractions(confirmed["details"], w)
    elif e.kind == "ambiguous":
        jac = ""
        if confirmed and confirmed["details"].get("jacobians"):
            j = [x for x in confirmed["details"]["jacobians"] if x[0].name == x[1].name]
            if j:
                jac = "$" + partial_latex(latex(j[0][0]), latex(j[0][1])) + " = " + latex(j[0][2]) + "$"
        out.append({"text": w["ambiguous"].format(
            product=r"\prod_{j=k+1}^{t} \frac{\partial \boldsymbol{h}^{(j)}}{\partial "
                    r"\boldsymbol{h}^{(j-1)}}" if d.get("product") else "", jac=jac)})
        for r in e.readings:
            ok = r["kind"] == "confirmed"
            if ok:  # shown beside the printed form already
                continue
            out.append({"labelled": (w["reading"] if ok else w["reading_refuted"],
                                     w["order.confirmed"] if ok else w["order.refuted"]),
                        "math": aligned(formula_lines(check_math(r["latex"], e.id)))})
            if not ok and r.get("counterexample"):
                out.append({"text": w["counterexample"] + ("：" if lang == "zh" else ": ") +
                            counterexample_text(r["counterexample"], fmt, lang) +
                            ("。" if lang == "zh" else ".")})
        if confirmed:
            out += _contractions(confirmed["details"], w)
    elif e.kind == "ill-formed" and e.reason:  # not a product (a label read as a vector)
        out.append({"text": term_text(e.reason, fmt, lang) + "."})
    elif e.kind == "refuted":
        out.append({"text": w["refuted"]})
        # the activation's own derivative says why (from functions.py); else the check's reason
        own = _activation_sentence(spec, w)
        if own:
            out += own
        elif e.reason:
            out.append({"text": w["reason"].format(reason=term_text(e.reason, fmt, lang))})
        if e.counterexample:
            out.append({"text": w["counterexample"] + ("：" if lang == "zh" else ": ") +
                        counterexample_text(e.counterexample, fmt, lang) +
                        ("。" if lang == "zh" else ".")})
    if e.kind != "ambiguous":  # a reading that fails (another activation): the point
        for r in e.readings:
            if r["kind"] == "refuted":
                out.append({"labelled": (w["reading_refuted"], w["order.refuted"]),
                            "math": aligned(formula_lines(check_math(r["latex"], e.id)))})
                if r.get("counterexample"):
                    out.append({"text": w["counterexample"] + ("：" if lang == "zh" else ": ") +
                                counterexample_text(r["counterexample"], fmt, lang) +
                                ("。" if lang == "zh" else ".")})
    if e.kind == "confirmed" and d.get("elementwise") and "diag" in e.printed:
        out += _elementwise(d, w, spec, confirmed=True)
    return out


def _jacobian_line(e, w, entries, moved, fmt: str = "md") -> list[dict]:
    """The one line of derivation: the confirmed entry that prints the same gradient with its
    Jacobians, one of whose transposes has the moved factor where the reading puts it."""
    f = e.formula
    if f is None:
        return []
    for other in entries:
        g = other.formula
        if other is e or g is None or other.kind != "confirmed" or \
                g.gradient_of != f.gradient_of or g.steps != f.steps:
            continue
        for out, wrt, value, transposed in other.details.get("jacobians", []):
            if (moved is None and out.name == wrt.name) or moved is not None and any(
                    transposed.has(m) for m in moved):
                jac = partial_latex(latex(out), latex(wrt))
                ref = escape_text(other.id, fmt)
                ref = rf"\texttt{{{ref}}}" if fmt == "tex" else ref
                return [{"text": w["jacobian_step"].format(ref=ref, jac=jac,
                                                           value=latex(value))},
                        {"math": rf"\left({jac}\right)^{{\top}} = \left({latex(value)}\right)"
                                 rf"^{{\top}} = {latex(transposed)}"},
                        {"text": w["jacobian_end"]}]
    return []


def _why_holds(e, w, spec, eqs) -> str | None:
    """One sentence of why a confirmed gradient formula holds, from the derivation's data: the
    matrix equation of the same gradient and its readers (the successors of the node in the
    unrolled graph), the loss's own gradient, a parameter read at every step."""
    f = e.formula
    if e.kind != "confirmed" or f is None or not getattr(f, "gradient_of", None):
        return None
    same = [q for q in eqs if q.about.name == f.gradient_of]
    eq = next((q for q in same if f.steps is not None and q.steps == f.steps), None) or \
        next((q for q in same if q.steps is None or not q.steps.is_point), None)
    if eq is None:
        return None
    readers = [_who(r) for r in eq.readers]
    listed = ", ".join(f"${r}$" for r in readers[:-1]) + \
        (f" {w['and']} " if len(readers) > 1 else "") + f"${readers[-1]}$"
    if eq.is_param:
        return w["why_param"].format(p=base_latex(eq.about.name), readers=listed)
    node = latex(eq.lhs.of)
    if len(readers) == 1 and eq.readers[0].name == "L":
        loss = LOSSES[spec.loss]
        yhat = At("yhat", eq.about.size.symbol, 1, T)
        from ..models import get_model
        target = get_model(spec.model).target
        if target is None:
            return None
        return w["why_loss"].format(node=node, grad=latex(loss.grad_matrix(yhat, target.now)))
    if len(readers) == 1:
        return w["why_one"].format(node=node, readers=listed)
    return w["why_many"].format(node=node, n=len(readers), readers=listed)


def _activation_sentence(spec, w) -> list[dict]:
    """When this document's phi is not the one the note's formulas assume: the note's form of
    phi' (the note-form activation's derivative written with its output) and this phi's own
    derivative, both from ``symrnn.functions``."""
    if spec is None:
        return []
    act = ACTIVATIONS[spec.activation]
    note = next((a for a in ACTIVATIONS.values() if a.note_form), None)
    if note is None or act.note_form or act.symbolic_only:
        return []
    a, h = sp.Symbol("a", real=True), sp.Symbol("h", real=True)
    return [{"text": w["note_form"].format(
        note_dphi=latex(note.dphi_from_output(h)), note=check_math(note.latex, note.name),
        phi=check_math(act.latex, act.name), dphi=latex(act.dphi(a)))}]


def _code(text: str) -> str:
    """An id in prose, safe in LaTeX and Markdown (letters, digits, dots, hyphens)."""
    return "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in text)


def _elementwise(details, w, spec, confirmed: bool = False) -> list[dict]:
    forms = details.get("elementwise") or []
    if not forms:
        return []
    from ..functions import ACTIVATIONS
    example = w["min_char_rnn"] if spec is not None and spec.activation == "tanh" and \
        ACTIVATIONS[spec.activation].note_form and not confirmed else ""
    return [{"text": w["elementwise_confirmed" if confirmed else "elementwise"]},
            {"math": latex(forms[0])},
            {"text": w["elementwise_code"].format(example=example)}]


def _contractions(details, w) -> list[dict]:
    out = []
    for node, param, direct in details.get("contractions", []):
        i_node = latex(node)
        name, _, rest = i_node.partition("^")
        lhs = partial_latex(f"{name.replace(chr(92) + 'boldsymbol{', '').rstrip('}')}_{{i}}^{rest}",
                            latex(param))
        out.append({"text": w["contraction"]})
        out.append({"math": f"{lhs} = {_direct_latex(direct)}"})
        out.append({"text": w["contraction_end"].format()})
    return out


def _number(value) -> str:
    """Numbers to 6 significant digits (the certificate gives them as strings or floats)."""
    if isinstance(value, (bool, int)) or not isinstance(value, (float, str)):
        return str(value)
    try:
        return f"{float(value):.6g}"
    except ValueError:
        return str(value)


def _cex_value(v) -> str:
    """A value of a counterexample as inline math (a rational a/b as a fraction)."""
    text = str(v)
    if re.fullmatch(r"-?\d+/\d+", text):
        sign, frac = ("-", text[1:]) if text.startswith("-") else ("", text)
        p, q = frac.split("/")
        return rf"{sign}\tfrac{{{p}}}{{{q}}}"
    if re.fullmatch(r"-?[\d.eE+-]+", text):
        return _sci(float(text))
    m = re.fullmatch(r"\[(-?[\d.eE+-]+) \+/- ([\d.eE+-]+)\]", text)
    if m:  # an Arb ball: midpoint +/- radius
        return rf"{_sci(float(m.group(1)))} \pm {_sci(float(m.group(2)))}"
    return None


def _cex_name(k: str) -> str | None:
    """A node name of a counterexample point (W[0, 1], h(0)[2]) as inline math."""
    m = re.fullmatch(r"([A-Za-z]+)(?:\((\d+)\))?(?:\[(\d+)(?:,\s*(\d+))?\])?", k.replace(" ", ""))
    if not m:
        return None
    name, step, i, j = m.groups()
    sub = ",".join(x for x in (i, j) if x is not None)
    base = name if name not in ("yhat",) else r"\hat{y}"
    return base + (f"_{{{sub}}}" if sub else "") + (f"^{{({step})}}" if step else "")


def counterexample_text(cex: dict, fmt: str | None = "md", lang: str = "en") -> str:
    """A counterexample in one sentence, with the numbers and names as inline math."""
    w = words(lang)
    how = w["cex_exact"] if cex["verified"] == "exact" else w["cex_ball"]
    entry = "$(" + ", ".join(str(x) for x in cex["entry"]) + ")$"
    lhs, rhs = _cex_value(cex["lhs"]), _cex_value(cex["rhs"])
    claim = phrases(str(cex["claim"]), lang)
    claim = ("".join(_TEX_ESC.get(ch, ch) for ch in claim) if lang == "zh" and fmt == "tex"
             else escape_text(claim, fmt or "md"))
    text = w["cex"].format(claim=claim, entry=entry,
                           lhs=f"${lhs}$" if lhs else _code(str(cex["lhs"])),
                           rhs=f"${rhs}$" if rhs else _code(str(cex["rhs"])), how=how)
    point = cex.get("point") or {}
    shown = []
    for k in list(point)[:MAX_CEX_VALUES]:
        name, value = _cex_name(str(k)), _cex_value(point[k])
        if name and value:
            shown.append(f"${name} = {value}$")
    more = len(point) - len(shown)
    if shown:
        text += "; " + w["cex_point"].format(values=", ".join(shown)) + \
            (w["cex_more"].format(n=more) if more > 0 else "")
    return text


def _verdict(e, w: dict, tau: int) -> str:
    """The kind as prose; a reading is mentioned when the printed form does not hold."""
    if e.kind == "confirmed":
        return w["verdict.confirmed.all" if e.scope == "all" else "verdict.confirmed.instance"]
    if e.kind == "definition":
        return w["verdict.definition"]
    if e.kind == "not-applicable":
        return w["verdict.not-applicable"].format(tau=tau)
    if e.kind == "checked-instance":
        return w["verdict.checked-instance"]
    if e.kind == "shorthand" and e.confirmed_reading is not None:
        return w["verdict.shorthand"]
    return w["verdict.reading" if e.reading else "verdict.none"]


def _how(e, w: dict) -> str:
    """How the verdict was shown, in plain words (from kind, scope and method)."""
    f = e.formula
    if e.kind == "confirmed":
        if f is not None and f.method == "induction":
            return w["how.induction"]
        return w["how.confirmed.all" if e.scope == "all" else "how.confirmed.instance"]
    text = w[f"how.{e.kind}"]
    if e.kind in ("ill-formed", "refuted") and e.confirmed_reading is not None:
        text += w["reading_suffix"]
    return text


# ---------------------------------------------------------------- chain rule

def _node_tex(node) -> str:
    name, t = node
    step = sp.Symbol(t) if isinstance(t, str) else t
    if name == "L":
        return f"L^{{({step_latex(step)})}}"
    return node_latex(name, step)


def _jac_name(m) -> str:
    return "L^{(" + step_latex(m.step) + ")}" if m.name == "L" else latex(m)


def _jac_value(v) -> str:
    if isinstance(v, sp.Transpose) and isinstance(v.arg, sp.MatAdd):
        return rf"\left({latex(textbook_order(v.arg))}\right)^{{\top}}"
    return latex(v)


def chain_term(path) -> str:
    """The product of Jacobians along one path (\\cdots in the middle of long chains)."""
    factors = [partial_latex(_node_tex(a), _node_tex(b)) for a, b in zip(path, path[1:])]
    if len(factors) > MAX_CHAIN:
        factors = factors[:3] + [r"\cdots"] + factors[-2:]
    return " ".join(factors)


def expansion(paths, step: int, param: str, count: int | None = None) -> Display:
    r"""d L(step) / d param as the sum over graph paths, one term per line; ``paths`` are the
    shortest (``count`` in all: the rest stand as \cdots)."""
    count = len(paths) if count is None else count
    terms = [chain_term(p) for p in paths]
    if count > MAX_WRITTEN:  # the shortest few, then the rest as \cdots
        terms = terms[:SHORTEST] + [r"\cdots"]
    if not terms:  # no path: L(step) does not depend on param (softmax over one class)
        terms = ["0"]
    chunks = [terms[0]] + ["+ " + t for t in terms[1:]]
    lhs = partial_latex(f"L^{{({step})}}", base_latex(param))
    return Display([Row(lhs, chunks)])


# ---------------------------------------------------------------- the unrolled graph

def _graph(results, w) -> dict:
    """The unrolled graph drawn (a LaTeX picture; the SVG is written next to a Markdown
    document), with the caption naming the highlighted gradient."""
    from .graph import label_latex, layout, picture
    lay = layout(results)
    target = label_latex(lay.target) if lay.target else None
    return {"picture": picture(lay),
            "caption": w["graph_caption"].format(target=target) if target
            else w["graph_caption_plain"], "alt": w["graph_alt"]}


# ---------------------------------------------------------------- the study loop

def study_loop(spec, model, w: dict) -> str | None:
    """The note's BPTT as a readable loop (``templates/markdown/study_loop.py.jinja``), with
    phi and phi' (from its output) printed from ``symrnn.functions``; None where the note's
    loop does not apply (another network, another loss, a symbolic phi)."""
    from sympy.printing.numpy import NumPyPrinter

    from ..models import get_model
    from ..spec import RNNSpec
    from ..templating import render
    act = ACTIVATIONS[spec.activation]
    if spec.model != RNNSpec().model or spec.loss != "softmax-ce" or act.symbolic_only or \
            act.dphi_from_h is None or model is not get_model(spec.model):
        return None

    class Printer(NumPyPrinter):
        def _print_Piecewise(self, expr):  # relu: numpy.where(cond, value, 0)
            if len(expr.args) == 2 and expr.args[1].cond == sp.true:
                return (f"numpy.where({self._print(expr.args[0].cond)}, "
                        f"{self._print(expr.args[0].expr)}, {self._print(expr.args[1].expr)})")
            return super()._print_Piecewise(expr)

        def _print_Relational(self, expr):
            return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"

    a, h = sp.Symbol("a", real=True), sp.Symbol("h", real=True)
    printer = Printer({"fully_qualified_modules": True})
    comments = {k.split(".", 1)[1]: v for k, v in w.items() if k.startswith("loop.")}
    return render("markdown/study_loop.py.jinja", phi=printer.doprint(act.phi(a)),
                  dphi=printer.doprint(act.dphi_from_output(h)), c=comments)


# ---------------------------------------------------------------- the document

def context(results, fmt: str = "tex", lang: str = "en") -> dict:
    """Everything the templates place, already printed, in ``lang``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    w = words(lang, note=bool((getattr(results.model.catalogue, "source", None) or {})
                              .get("parts")))
    spec, model, cert = results.spec, results.model, results.certificate
    act, loss = ACTIVATIONS[spec.activation], LOSSES[spec.loss]
    tau = spec.tau
    esc = lambda s: term_text(s, fmt, lang)
    eqs = results.equations

    # forward and loss
    rows = []
    for eq in model.with_activation(spec.activation):
        rows.append(Row(latex(eq.target.now), [latex(eq.rhs)],
                        note=rf"\text{{({eq.ref})}}" if eq.ref else None))
    out = check_math(loss.output_latex, f"loss {loss.name!r}")
    o = model.output
    rows.append(Row(node_latex("yhat", "t"), [rf"{out}\left({latex(o.now)}\right)"]))
    forward = Display(rows)
    per_step_lhs, per_step_rhs = check_math(loss.loss_latex, "loss").split(" = ", 1)
    lo = "1" if model.loss_when == "all" else r"\tau"
    reduction = REDUCTIONS[spec.reduction]
    loss_display = Display([Row("L", [reduction.latex(lo)]),
                            Row(per_step_lhs, [per_step_rhs])])
    initial = [(q, side) for q, side in model.initial_values()]
    initial_tex = [node_latex(q.name, 0 if side == "start" else sp.Symbol("tau") + 1)
                   for q, side in initial]

    # BPTT in matrix form, each equation with the verdicts on the formulas printing it
    entries = cert.entries if cert is not None else []
    bptt = []
    for eq in eqs:
        notes = []
        for e in entries:
            f = e.formula
            if f is None or f.gradient_of != eq.about.name:
                continue
            if f.steps is not None and eq.steps is not None and f.steps != eq.steps:
                continue
            notes.append({"id": escape_text(e.id, fmt), "status": w[f"kind.{e.kind}"],
                          "anchor": "cert-" + "".join(ch if ch.isalnum() else "-" for ch in e.id),
                          "reading": e.kind not in ("confirmed", "definition", "not-applicable")
                          and e.reading is not None})
        bptt.append({"name": equation_heading(eq), "comment": equation_title(eq, model, w, lang, fmt),
                     "steps": _steps_text(eq), "notes": notes,
                     "display": equation_display(eq)})

    # the catalogue's formulas as printed, with verdicts
    views = [EntryView(e, fmt, lang, spec, entries, results_eqs=eqs, w=w) for e in entries]
    source = getattr(model.catalogue, "source", {}) or {}
    headings = source.get("parts", {})
    parts = []
    for part in ("forward", "loss", "chain", "bptt"):
        items = [v for v in views if v.part == part]
        if items:
            heading = headings.get(part, {}).get(lang)
            parts.append({"title": w[f"part.{part}"], "entries": items,
                          "heading": term_text(heading, fmt, lang) if heading else None})
    others = [v for v in views if v.part not in ("forward", "loss", "bptt", "chain")]
    if others:
        parts.append({"title": w["part.other"], "entries": others, "heading": None})
    grads = [f"${grad_latex(q.name, 't')}$" for q in model.quantities
             if q.role not in ("input", "target")]
    grads_text = (", ".join(grads[:-1]) + f" {w['and']} " + grads[-1]) if len(grads) > 1 \
        else "".join(grads)

    # the chain rule, from the paths of the unrolled graph
    chains = []
    for param, paths in results.chains.items():
        count = results.chain_counts.get(param, len(paths))
        chains.append({"param": base_latex(param), "n_paths": count,
                       "one_path": results.single_path[param],
                       "display": expansion(paths, tau, param, count),
                       "general": Display([Row(partial_latex("L", base_latex(param)),
                                               [r"\sum_{t=1}^{\tau} " + chain_term(
                                                   [(n, "t" if s is not None else None)
                                                    for n, s in paths[0]])])])
                       if paths else None})
    jac_rows = [(partial_latex(_jac_name(j.out), latex(j.wrt)),
                 break_terms(signed_terms(textbook_order(j.value)))
                 if isinstance(j.value, sp.MatAdd) else [_jac_value(j.value)])
                for j in results.jacobians]
    jacobians = Display([Row(lhs, chunks) for lhs, chunks in jac_rows])
    # in the PDF a term wider than the page (a GRU's reset path) is scaled to fit
    fit = lambda c: (rf"\symrnnfitw{{0.8\linewidth}}{{$\displaystyle {c}$}}"
                     if approx_width(c) > LINE_BUDGET else c)
    jacobians_tex = Display([Row(lhs, [fit(c) for c in chunks]) for lhs, chunks in jac_rows])
    go = next((e for e in eqs if not e.is_param and e.about is model.output), None)

    # the gradient recursion for this tau, written out
    rec = Display()
    quantity_eqs = [e for e in eqs if not e.is_param]
    inside = [e for e in quantity_eqs if e.steps.points(tau) and
              min(e.steps.points(tau)) >= 1]
    for t in shown_steps(tau):
        if t is None:
            rec.rows.append(Row("", [r"\vdots"], rel=""))
            continue
        here = [e for e in inside if t in e.steps.points(tau)]
        for i, e in enumerate(here):
            lhs, rhs = e.lhs.xreplace({T: t}), at_step(e.generic if not e.steps.is_point
                                                      else e.rhs, t, tau)
            lhs = at_step(lhs, t, tau)
            rec.rows.append(Row(latex(lhs), break_terms(signed_terms(textbook_order(rhs))),
                                gap=i == len(here) - 1))
    for e in quantity_eqs:
        if e not in inside and e.steps.points(tau):
            rec.rows.append(Row(latex(at_step(e.lhs, 0, tau)), [latex(at_step(e.rhs, 0, tau))]))
    sums = Display()
    for e in eqs:
        if not e.is_param:
            continue
        terms = []
        for s in (e.generic.args if e.generic.is_MatAdd else (e.generic,)):
            points = s.steps.points(tau)
            shown = [t for t in shown_steps(tau)[::-1] if t is None or t in points]
            for t in shown:
                terms.append(r"+ \cdots" if t is None else
                             ("+ " if terms else "") + latex(at_step(s.expr, t, tau)))
        sums.rows.append(Row(latex(e.lhs), break_terms(terms)))

    # in the order the formulas are printed (so pages ascend), named by title, not by id
    table = [{"id": v.id, "title": v.title, "status": v.kind_words, "method": v.method,
              "how": v.how, "anchor": v.anchor, "formula": v.short}
             for part in parts for v in part["entries"]]
    from ..backends.numpy.emitter import codegen_command
    module_cmd = codegen_command(spec, "loop", None)
    module_cmd = rf"\texttt{{{escape_text(module_cmd, 'tex').replace('--', '-{}-')}}}" \
        if fmt == "tex" \
        else f"`{module_cmd}`"
    counts = {s_: sum(v.status == s_ for v in views) for s_ in STATUSES}
    n_reading = sum(v.mismatch and v.reading is not None for v in views)
    n_failing = sum(v.mismatch and v.reading is None for v in views)
    initial_words = None
    if initial:
        items = ", ".join(f"${i}$" for i in initial_tex)
        if spec.h0 == "zeros":
            initial_words = w["initial_zero"].format(items=items, verb="")
        else:
            initial_words = w["initial_given"].format(items=items, verb=w[
                "initial_given_one" if len(initial) == 1 else "initial_given_many"])
    return {
        "w": w,
        "lang": lang,
        "title_text": w["title"].format(model=esc(model.title), tau=tau),
        "sizes_text": w["net_sizes"].format(tau=tau, n_in=spec.n_in, n_hidden=spec.n_hidden,
                                            n_out=spec.n_out),
        "initial_words": initial_words,
        "notation_text": w["notation_text"].format(grads=grads_text),
        "one_hot": model.target is not None and loss.target == "class",
        "map": [{"heading": p["heading"], "title": p["title"]} for p in parts if p["heading"]],
        "certified_text": w["certified_text"].format(n=len(views), defs=counts["definition"],
                                                     conf=counts["confirmed"])
        + (w["n_reading"].format(n=n_reading) if n_reading else "")
        + (w["n_failing"].format(n=n_failing) if n_failing else "")
        + (w["n_na"].format(n=counts["not-applicable"], tau=tau)
           if counts["not-applicable"] else "") + ("." if lang == "en" else "。")
        + w["by_kind"].format(definition=counts["definition"], confirmed=counts["confirmed"],
                              refuted=counts["refuted"], ill=counts["ill-formed"],
                              shorthand=counts["shorthand"], ambiguous=counts["ambiguous"],
                              unproven=counts["unproven"], na=counts["not-applicable"]),
        "cert_summary": w["summary"].format(n=len(views), defs=counts["definition"],
                                            conf=counts["confirmed"], reading=n_reading,
                                            fail=n_failing),
        "chain_paths": [w["one_path"].format(param=c["param"]) if c["one_path"] else
                        w["n_paths"].format(tau=tau, param=c["param"], n=c["n_paths"])
                        if c["n_paths"] <= MAX_WRITTEN else
                        w["n_paths_some"].format(tau=tau, param=c["param"], n=c["n_paths"],
                                                 k=SHORTEST)
                        for c in chains],
        "untouched_text": w["untouched"].format(items=", ".join(f"${i}$" for i in initial_tex)),
        "escape_code": fmt,
        "marker": MARKER,
        "fmt": fmt,
        "tau": tau,
        "tau_big": tau > MAX_WRITTEN,
        "max_written": MAX_WRITTEN,
        "title": esc(model.title),
        "reference": esc(model.reference),
        "describe": esc(model.describe),
        "model_notes": [esc(n) for n in model.notes],  # how a book form and a framework differ
        "spec_text": esc(spec.describe()),
        # the sum is the note's L, said in the document's language; another reduction's
        # sentence (English) says how it divides the sum
        "loss_sentence": (w["loss_sum"] if spec.reduction == "sum"
                          else REDUCTIONS[spec.reduction].sentence),
        "activation": esc(act.summary) if model.uses_activation else None,
        "loss": esc(loss.summary),
        "act_label": "激活函数" if lang == "zh" else "Activation",
        "loss_label": "损失" if lang == "zh" else "Loss",
        "h0_zero": spec.h0 == "zeros",
        "initial": initial_tex,
        "forward": forward,
        "loss_display": loss_display,
        "bptt": bptt,
        "has_catalogue": bool(views),
        "parts": parts,
        "chains": chains,
        "initial_untouched": bool(initial) and spec.h0 == "symbol" and bool(chains),
        "jacobians": jacobians,
        "jacobians_tex": jacobians_tex,
        "grad_o": go,
        "recursion": rec,
        "sums": sums,
        "table": table,
        "cert_ok": bool(cert.ok) if cert is not None else True,
        "counts": counts,
        "n_entries": len(views),
        "n_reading": n_reading,
        "n_failing": n_failing,
        "study": study_loop(spec, model, w),
        "graph": _graph(results, w),
        "code_module": w["code_module"].format(cmd=module_cmd),
    }


# ---------------------------------------------------------------- gradient flow

def analysis_context(result, fmt: str = "tex", graphics: str | None = None,
                     activation: str | None = None, lang: str = "en") -> dict:
    """The section "Gradient flow: why tanh and not ReLU?" from an ``Analysis``: the Jacobian
    product, phi' of each measured activation (as computed and checked by
    ``symrnn.analysis``), the plot (when ``graphics`` names the PNG next to the document) and
    the fitted per-step factors."""
    from ..analysis import CONCRETE, DEFAULTS

    h = lambda t: node_latex("h", sp.Symbol(t) if t.isalpha() else sp.sympify(t))
    hj = node_latex("h", sp.Symbol("j"))
    hj1 = node_latex("h", sp.Symbol("j") - 1)
    aj = node_latex("a", sp.Symbol("j"))
    diag_w = lambda phi: rf"\operatorname{{diag}}\left({phi}'\left({aj}\right)\right) \boldsymbol{{W}}"
    prod = r"\prod_{j=k+1}^{t} "
    rows = [Row(partial_latex(h("t"), h("k")), [prod + partial_latex(hj, hj1)]),
            Row("", ["= " + prod + diag_w(r"\phi")])]
    rows[-1].gap = True
    rows.append(Row(rf"\nabla_{{{h('k')}}} L^{{(t)}}",
                    [rf"\left({partial_latex(h('t'), h('k'))}\right)^{{\top}} "
                     + rf"\nabla_{{{h('t')}}} L^{{(t)}}"]))
    product = Display(rows)

    checks = {c.activation: c for c in result.checks}
    acts = [a for a in CONCRETE if any(c.activation == a for c in result.curves)]
    dphis = Display([Row(rf"\phi = {check_math(ACTIVATIONS[name].latex, name)}",
                         [r"\phi'(a) = " + check_math(latex(result.dphi_exprs[name]), name)],
                         rel=r"\implies") for name in acts])
    n_checked = sum(checks[x].ok for x in acts if x in checks)

    table = []
    for label in result.labels:
        curve = result.curve(acts[0], label)
        rho = rf"\rho = {curve.radius:.2f}"
        table.append({"rho": rho, "random": label == "random",
                      "factors": [f"{result.curve(x, label).factor:.3f}" for x in acts]})

    facts = None
    if "tanh" in acts and "relu" in acts:
        top = max(result.labels, key=lambda l: result.curve("tanh", l).radius)
        t, r = result.curve("tanh", top), result.curve("relu", top)
        by_radius = result.labels  # in increasing radius
        closer = lambda act, l: abs(math.log(max(result.curve(act, l).factor, 1e-300)))
        relu_closer = [l for l in by_radius if closer("relu", l) < closer("tanh", l)]
        tanh_closer = [l for l in by_radius if closer("tanh", l) < closer("relu", l)]
        vanish = [l for l in by_radius if result.curve("tanh", l).factor < 1]
        rho_of = lambda ls: ", ".join(f"{result.curve('tanh', l).radius:.2f}" for l in ls)
        facts = {
            "rho_top": f"{t.radius:.2f}",
            "tanh_factor": f"{t.factor:.3f}", "relu_factor": f"{r.factor:.3f}",
            "tanh_max_h": f"{max(c.max_abs_h for c in result.curves if c.activation == 'tanh'):.3g}",
            "relu_max_h": _sci(r.max_abs_h),
            "tanh_saturated": f"{100 * t.saturated:.0f}" if t.saturated is not None else None,
            "relu_closer": rho_of(relu_closer), "tanh_closer": rho_of(tanh_closer),
            "tanh_vanishes": rho_of(vanish),
        }
    unit = min(result.labels, key=lambda l: abs(result.curve(acts[0], l).radius - 1))
    unit_curve = result.curve(acts[0], unit)
    w = words(lang)
    texts = {
        "question": w["flow_question"].format(),
        "bound": w["flow_bound"].format(checked=n_checked, n=len(acts),
                                        norm=f"{unit_curve.norm2:.2f}",
                                        rho=f"{unit_curve.radius:.2f}"),
        "measured": w["flow_measured"].format(hidden=result.hidden, lag=result.max_lag,
                                              seed=result.seed, seqs=DEFAULTS["sequences"],
                                              fig=w["flow_fig"] if graphics else ""),
        "caption": w["flow_caption"], "alt": w["flow_alt"], "title": w["flow"],
        "as_drawn": w["as_drawn"],
    }
    if facts:
        texts["why"] = w["why_tanh"].format(sat=facts["tanh_saturated"], rho=facts["rho_top"],
                                            relu_h=facts["relu_max_h"], relu=facts["relu_factor"],
                                            tanh=facts["tanh_factor"])
        if facts["relu_closer"] and facts["tanh_closer"]:
            texts["below"] = w["closer"].format(relu_rhos=facts["relu_closer"],
                                                tanh_rhos=facts["tanh_closer"])
        else:
            texts["below"] = w["closer_one"].format(act="ReLU" if facts["relu_closer"] else "tanh")
        texts["answer"] = w["flow_answer"].format()
        texts["vanish"] = w["vanish"].format(rhos=facts["tanh_vanishes"]) \
            if facts["tanh_vanishes"] else None
    return {
        "texts": texts,
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
