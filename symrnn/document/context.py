"""What the document templates place, printed from results computed elsewhere.

``context`` receives the results of the symbolic stages (``symrnn.pipeline.Results``: the
model, the unrolled graph, the checked matrix equations, the certificate, the chain-rule paths
and Jacobians) and turns them into printed LaTeX; it computes nothing symbolic. The templates
in ``templates/latex/`` and ``templates/markdown/`` hold only structure.
"""

from __future__ import annotations

import sympy as sp

from ..functions import ACTIVATIONS, LOSSES
from ..io import MARKER
from ..naming import T, At, Grad
from .layout import (HALF_BUDGET, MAX_CHAIN, MAX_WRITTEN, Display, Row, aligned, break_terms,
                     formula_lines, lines_width, shown_steps, signed_terms, textbook_order)
from .printer import (base_latex, check_graphics, check_math, escape_text, latex, node_latex,
                      partial_latex, step_latex, steps_latex)

FORMATS = ("tex", "md")
STATUSES = ("confirmed", "definition", "refuted", "ill-formed", "shorthand", "ambiguous",
            "unproven", "not-applicable")
#: At most this many node values of a counterexample point are listed.
MAX_CEX_VALUES = 10


# ---------------------------------------------------------------- equations

def _who(w: At) -> str:
    return "L^{(" + step_latex(w.step) + ")}" if w.name == "L" else latex(w)


def equation_title(eq, model) -> str:
    """What a matrix equation is about, from its readers (inline math)."""
    if eq.is_param:
        p = eq.about
        kind = "a sum of outer products" if p.cols is not None else "a sum over the steps"
        return f"${base_latex(p.name)}$, {escape_text(p.text)}: {kind}"
    q = eq.about
    at = eq.lhs.of
    step = at.step
    readers = [_who(w) for w in eq.readers]
    who = f"${latex(q.at(step))}$"
    if not readers:
        return f"{who} is read by nothing at these steps"
    joined = readers[0] if len(readers) == 1 else \
        ", ".join(f"${r}$" for r in readers[:-1]) + f" and ${readers[-1]}$"
    if len(readers) == 1:
        joined = f"${joined}$"
    return f"{escape_text(q.text)}: {who} feeds {joined}"


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

class EntryView:
    """One certificate entry, printed for the document."""

    def __init__(self, e, fmt: str):
        where = f"certificate entry {e.id!r}"
        if e.status not in STATUSES:
            raise ValueError(f"{where}: unknown status {e.status!r}")
        self.id = escape_text(e.id, fmt)
        self.title = escape_text(e.title, fmt)
        self.part = e.part
        self.status = e.kind
        self.scope = e.scope
        self.method = escape_text(e.method, fmt)
        self.printed = check_math(e.printed, where)
        self.reading = check_math(e.reading, where) if e.reading else None
        self.reading_status = e.reading_status
        cex = e.counterexample or next((r["counterexample"] for r in e.readings
                                        if r.get("counterexample")), None)
        self.counterexample = escape_text(counterexample_text(cex), fmt) if cex else None
        self.display = aligned(formula_lines(self.printed))
        self.reading_display = aligned(formula_lines(self.reading)) if self.reading else None
        self.side_by_side = False
        self.printed_half = self.reading_half = None
        if self.reading is not None:
            pl, rl = formula_lines(self.printed, HALF_BUDGET), formula_lines(self.reading, HALF_BUDGET)
            self.side_by_side = max(lines_width(pl), lines_width(rl)) <= HALF_BUDGET
            if self.side_by_side:
                self.printed_half, self.reading_half = aligned(pl), aligned(rl)
        self.verdict = escape_text(_verdict(e), fmt)
        self.reason = escape_text(e.reason, fmt) if e.reason else None

    @property
    def mismatch(self) -> bool:
        return self.status not in ("confirmed", "definition", "not-applicable")


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
    parts = [f"for {cex['claim']}, entry {tuple(cex['entry'])}",
             f"the formula gives {cex['lhs']} where the derivation gives {cex['rhs']} "
             f"({'exact rationals' if cex['verified'] == 'exact' else 'ball enclosures whose difference excludes 0'})"]
    point = cex.get("point") or {}
    keys = list(point)
    shown = [f"{k} = {point[k]}" for k in keys[:MAX_CEX_VALUES]]
    more = len(keys) - len(shown)
    if shown:
        parts.append("at the rational point " + ", ".join(shown) +
                     (f" and {more} more (all in the certificate's JSON)" if more > 0 else ""))
    text = "; ".join(parts)
    return text[:700] + " ..." if len(text) > 700 else text


def _verdict(e) -> str:
    """The status as prose; a reading is mentioned when the printed form does not hold."""
    scope = " for every size and tau" if e.scope == "all" else (
        " at this instance only" if e.scope == "instance" else "")
    if e.kind == "confirmed":
        return "holds as printed" + scope
    if e.kind == "definition":
        return "defines the model (checked equal to its equation" + scope + ")"
    if e.kind == "not-applicable":
        return "not applicable for this tau"
    if e.reading:
        return "does not hold as printed; the reading below is confirmed"
    return "does not hold as printed, and no reading was confirmed"


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


def expansion(paths, step: int, param: str) -> Display:
    """d L(step) / d param as the sum over graph paths, one term per line."""
    terms = [chain_term(p) for p in paths]
    if len(terms) > MAX_WRITTEN:
        terms = terms[:3] + [r"\vdots"] + terms[-2:]
    if not terms:  # no path: L(step) does not depend on param (softmax over one class)
        terms = ["0"]
    chunks = [terms[0]] + [("+ " + t) if t != r"\vdots" else t for t in terms[1:]]
    lhs = partial_latex(f"L^{{({step})}}", base_latex(param))
    return Display([Row(lhs, chunks)])


# ---------------------------------------------------------------- the document

def context(results, fmt: str = "tex") -> dict:
    """Everything the templates place, already printed."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    spec, model, cert = results.spec, results.model, results.certificate
    act, loss = ACTIVATIONS[spec.activation], LOSSES[spec.loss]
    tau = spec.tau
    esc = lambda s: escape_text(s, fmt)
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
    loss_display = Display([Row("L", [rf"\sum_{{t={lo}}}^{{\tau}} L^{{(t)}}"]),
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
            notes.append({"id": esc(e.id), "status": e.kind,
                          "reading": e.kind not in ("confirmed", "definition", "not-applicable")
                          and e.reading is not None})
        bptt.append({"name": esc(eq.label), "comment": equation_title(eq, model),
                     "steps": _steps_text(eq), "notes": notes,
                     "display": equation_display(eq)})

    # the catalogue's formulas as printed, with verdicts
    views = [EntryView(e, fmt) for e in entries]
    parts = []
    for part, title in (("forward", "Forward pass"), ("loss", "Loss"),
                        ("bptt", "Gradients by recursion (the note's second part)"),
                        ("chain", "Chain rule written out (the note's first part)")):
        items = [v for v in views if v.part == part]
        if items:
            parts.append({"title": title, "entries": items})
    others = [v for v in views if v.part not in ("forward", "loss", "bptt", "chain")]
    if others:
        parts.append({"title": "Other claims", "entries": others})

    # the chain rule, from the paths of the unrolled graph
    chains = []
    for param, paths in results.chains.items():
        chains.append({"param": base_latex(param), "n_paths": len(paths),
                       "one_path": results.single_path[param],
                       "display": expansion(paths, tau, param),
                       "general": Display([Row(partial_latex("L", base_latex(param)),
                                               [r"\sum_{t=1}^{\tau} " + chain_term(
                                                   [(n, "t" if s is not None else None)
                                                    for n, s in paths[0]])])])
                       if paths else None})
    jacobians = Display([Row(partial_latex(_jac_name(j.out), latex(j.wrt)),
                             [_jac_value(j.value)]) for j in results.jacobians])
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

    table = [{"id": v.id, "status": v.status, "method": v.method} for v in views]
    return {
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
        "activation": esc(act.summary) if model.uses_activation else None,
        "loss": esc(loss.summary),
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
        "grad_o": go,
        "recursion": rec,
        "sums": sums,
        "table": table,
        "cert_ok": bool(cert.ok) if cert is not None else True,
        "counts": {s: sum(v.status == s for v in views) for s in STATUSES},
        "n_entries": len(views),
        "n_reading": sum(v.mismatch and v.reading is not None for v in views),
        "n_failing": sum(v.mismatch and v.reading is None for v in views),
    }


# ---------------------------------------------------------------- gradient flow

def analysis_context(result, fmt: str = "tex", graphics: str | None = None,
                     activation: str | None = None) -> dict:
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
                         [r"\phi'(a) = " + check_math(sp.latex(result.dphi_exprs[name]), name)],
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
