"""The unrolled graph, drawn: LaTeX ``picture`` (the kernel's, no package) and SVG.

``layout(results)`` places the quantities a reader follows (inputs at the bottom, then each
state, the output, the loss at the top) in one column per step, with an arrow from each node
to each node that reads it, as the unrolled graph says (``symrnn.core.chains.Paths``, folded
onto these quantities). The arrows on the paths that carry the gradient of the loss to the
first state at step 1 are highlighted: one term of that gradient per highlighted path. Long
sequences are drawn with their first and last steps and a gap. ``picture`` and ``svg`` print a
layout; they compute nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

import sympy as sp

from ..core.chains import Paths
from ..io import MARKER
from .printer import node_latex, step_latex

#: Steps drawn in full; a longer sequence shows steps 0..HEAD and its last TAIL steps.
HEAD, TAIL = 2, 2
MAX_STEPS = HEAD + TAIL + 1
#: Grid: millimetres between columns and between rows, and a node's radius.
DX, DY, R = 17.0, 9.0, 3.6
HIGHLIGHT = "red"


@dataclass
class Layout:
    nodes: list[tuple[str, int, float, float]] = field(default_factory=list)  # name, step, x, y
    edges: list[tuple[tuple, tuple, bool]] = field(default_factory=list)  # from, to, highlighted
    gaps: list[tuple[float, float]] = field(default_factory=list)  # where "..." stands
    width: float = 0.0
    height: float = 0.0
    target: tuple | None = None  # the node whose gradient's paths are highlighted


def layout(results) -> Layout:
    """Where each node and arrow goes (millimetres, y upwards)."""
    model, graph, tau = results.model, results.graph, results.spec.tau
    inputs = tuple(q.name for q in model.quantities if q.role == "input")
    paths = Paths(graph, extra=inputs)
    followed = paths.keep
    states = [q.name for q in model.quantities
              if q.name in followed and q.name != model.output.name]
    rows = {name: i for i, name in enumerate([*inputs, *states, model.output.name, "L"])}
    nodes = {n for n in paths.folded if n[0] in rows} | \
        {b for bs in paths.folded.values() for b in bs if b[1] is not None and b[0] in rows}
    steps = sorted({s for _n, s in nodes})
    if len(steps) > MAX_STEPS + 1:
        shown = steps[:HEAD + 1] + steps[-TAIL:]
    else:
        shown = steps
    col, c, gaps = {}, 0, []
    for i, s in enumerate(shown):
        if i and s != shown[i - 1] + 1:
            gaps.append(c)
            c += 1
        col[s] = c
        c += 1
    out = Layout()
    place = {}
    for name, step in sorted(nodes, key=lambda n: (rows[n[0]], n[1])):
        if step in col:
            place[(name, step)] = (6 + col[step] * DX, 6 + rows[name] * DY)
            out.nodes.append((name, step, *place[(name, step)]))
    # the paths of the gradient of L to the first state at step 1 (or the first state drawn)
    first = next((n for n in sorted(place, key=lambda n: (n[1] != 1, rows[n[0]]))
                  if n[0] in states), None)
    if first is None:  # no state but the output (output recurrence): its step 1
        first = next((n for n in sorted(place, key=lambda n: (n[1] != 1, rows[n[0]]))
                      if n[0] == model.output.name), None)
    carries = set()
    if first is not None:
        carries.add(first)
        changed = True
        while changed:
            changed = False
            for a, bs in paths.folded.items():
                if a not in carries and any(b in carries for b in bs):
                    carries.add(a)
                    changed = True
    for a, bs in sorted(paths.folded.items(), key=lambda kv: (rows.get(kv[0][0], 99), kv[0][1])):
        if a not in place:
            continue
        for b in bs:
            if b in place:
                out.edges.append((b, a, b in carries and a in carries))
    out.gaps = [(6 + g * DX, 6 + rows[s] * DY) for g in gaps for s in states]
    out.width = 12 + (c - 1) * DX
    out.height = 12 + (len(rows) - 1) * DY
    out.target = first
    return out


def label_latex(node) -> str:
    name, step = node
    if name == "L":
        return f"L^{{({step_latex(sp.Integer(step))})}}"
    return node_latex(name, sp.Integer(step))


def _direction(dx: float, dy: float) -> tuple[int, int] | None:
    """The picture-mode slope (a, b), |a|, |b| <= 4 and coprime, of a grid direction, or None."""
    a, b = round(dx / DX * 2), round(dy / DY)
    g = math.gcd(a, b) or 1
    a, b = a // g, b // g
    return (a, b) if abs(a) <= 4 and abs(b) <= 4 else None


def _ends(p, q):
    (x1, y1), (x2, y2) = p, q
    d = math.hypot(x2 - x1, y2 - y1)
    ux, uy = (x2 - x1) / d, (y2 - y1) / d
    return (x1 + R * ux, y1 + R * uy), (x2 - R * ux, y2 - R * uy)


def _skips(lay: Layout, p, q) -> bool:
    """Whether the straight segment p-q passes through another node."""
    (x1, y1), (x2, y2) = p, q
    for _n, _s, x, y in lay.nodes:
        if (x, y) in (p, q):
            continue
        t = ((x - x1) * (x2 - x1) + (y - y1) * (y2 - y1)) / ((x2 - x1) ** 2 + (y2 - y1) ** 2)
        if 0 < t < 1 and math.hypot(x1 + t * (x2 - x1) - x, y1 + t * (y2 - y1) - y) < R:
            return True
    return False


def _bow(x1, y1, x2, y2) -> tuple[float, float]:
    """The control point of a curve from (x1, y1) to (x2, y2) that clears the nodes between
    (a quadratic curve passes half way to its control point)."""
    d = math.hypot(x2 - x1, y2 - y1)
    return (x1 + x2) / 2 + (y2 - y1) / d * 4.4 * R, (y1 + y2) / 2 - (x2 - x1) / d * 4.4 * R


def picture(lay: Layout) -> str:
    """The layout as a LaTeX ``picture`` (color for the highlight; no other package)."""
    where = {(n, s): (x, y) for n, s, x, y in lay.nodes}
    f = lambda v: f"{v:.2f}".rstrip("0").rstrip(".")
    lines = [r"\setlength{\unitlength}{1mm}",
             rf"\begin{{picture}}({f(lay.width)},{f(lay.height)})"]
    for b, a, hot in lay.edges:
        p, q = where[b], where[a]
        (x1, y1), (x2, y2) = _ends(p, q)
        slope = _direction(q[0] - p[0], q[1] - p[1])
        pre, post = (rf"{{\color{{{HIGHLIGHT}}}\linethickness{{0.9pt}}", "}") if hot else ("", "")
        if slope is not None and not _skips(lay, p, q):
            a_, b_ = slope
            length = abs(x2 - x1) if a_ else abs(y2 - y1)
            lines.append(rf"{pre}\put({f(x1)},{f(y1)}){{\vector({a_},{b_}){{{f(length)}}}}}{post}")
        else:  # a bow around what lies between (no arrowhead: the rows say the direction)
            mx, my = _bow(x1, y1, x2, y2)
            lines.append(rf"{pre}\qbezier({f(x1)},{f(y1)})({f(mx)},{f(my)})({f(x2)},{f(y2)}){post}")
    for n, s, x, y in lay.nodes:
        hot = lay.target == (n, s)
        circle = rf"\put({f(x)},{f(y)}){{\circle{{{f(2 * R)}}}}}"
        lines.append(rf"{{\color{{{HIGHLIGHT}}}{circle}}}" if hot else circle)
        lines.append(rf"\put({f(x)},{f(y)}){{\makebox(0,0){{\small${label_latex((n, s))}$}}}}")
    for x, y in lay.gaps:
        lines.append(rf"\put({f(x)},{f(y)}){{\makebox(0,0){{$\cdots$}}}}")
    lines.append(r"\end{picture}")
    # a space between two objects of a picture moves every later one: end each line with %
    return "%\n".join(lines)


def _svg_label(node) -> str:
    name, step = node
    base = {"yhat": "ŷ"}.get(name, name)
    letters = "".join(ch for ch in base if not ch.isdigit())
    digits = "".join(ch for ch in base if ch.isdigit())
    sub = f'<tspan font-size="9" dy="3">{escape(digits)}</tspan>' if digits else ""
    up = -7 if digits else -5
    style = 'font-style="italic"' if name == "L" else 'font-weight="bold"'
    return (f'<tspan {style}>{escape(letters)}</tspan>{sub}'
            f'<tspan font-size="9" dy="{up}">({step})</tspan>')


def svg(lay: Layout, title: str = "") -> str:
    """The layout as an SVG image (1 mm = 4 px), deterministic."""
    k = 4.0
    W, H = lay.width * k, lay.height * k
    X = lambda x: f"{x * k:.1f}"
    Y = lambda y: f"{H - y * k:.1f}"
    where = {(n, s): (x, y) for n, s, x, y in lay.nodes}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{H:.0f}" '
           f'viewBox="0 0 {W:.0f} {H:.0f}" font-family="serif" font-size="14">',
           f"<!-- {MARKER}; do not edit by hand -->",
           f"<title>{escape(title)}</title>" if title else "",
           '<defs>'
           '<marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker>'
           '<marker id="r" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{HIGHLIGHT}"/>'
           '</marker></defs>',
           f'<rect width="{W:.0f}" height="{H:.0f}" fill="white"/>']
    for b, a, hot in lay.edges:
        p, q = where[b], where[a]
        (x1, y1), (x2, y2) = _ends(p, q)
        colour, width, mark = (HIGHLIGHT, 2.2, "r") if hot else ("#333", 1.1, "a")
        if _skips(lay, p, q):
            mx, my = _bow(x1, y1, x2, y2)
            d = f"M{X(x1)},{Y(y1)} Q{X(mx)},{Y(my)} {X(x2)},{Y(y2)}"
        else:
            d = f"M{X(x1)},{Y(y1)} L{X(x2)},{Y(y2)}"
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" '
                   f'marker-end="url(#{mark})"/>')
    for n, s, x, y in lay.nodes:
        hot = lay.target == (n, s)
        out.append(f'<circle cx="{X(x)}" cy="{Y(y)}" r="{R * k:.1f}" fill="white" '
                   f'stroke="{HIGHLIGHT if hot else "#333"}" stroke-width="{2 if hot else 1.1}"/>')
        out.append(f'<text x="{X(x)}" y="{float(Y(y)) + 5:.1f}" text-anchor="middle">'
                   f'{_svg_label((n, s))}</text>')
    for x, y in lay.gaps:
        out.append(f'<text x="{X(x)}" y="{float(Y(y)) + 5:.1f}" text-anchor="middle">…</text>')
    out.append("</svg>")
    return "\n".join(line for line in out if line) + "\n"


def unrolled_svg(results) -> str:
    """The unrolled graph of ``results`` as SVG (what the Markdown document shows)."""
    return svg(layout(results))
