"""Content of the LaTeX / Markdown document: the note's expansions come from the graph, the
recursion is written out for each step, statuses and mismatches are shown."""

import re

import pytest

from latex_support import certificate_for
from symrnn import RNNSpec, unroll
from symrnn.document import (LINE_BUDGET, approx_width, chain_paths, context,
                             formula_lines, to_latex, top_level_pieces)
from symrnn.latex import escape_text
from symrnn.io import MARKER

P = lambda a, b: rf"\frac{{\partial {a}}}{{\partial {b}}}"
L3, o3, h3, h2, h1 = (r"L^{(3)}", r"\boldsymbol{o}^{(3)}", r"\boldsymbol{h}^{(3)}",
                      r"\boldsymbol{h}^{(2)}", r"\boldsymbol{h}^{(1)}")


@pytest.fixture(scope="module")
def doc3():
    spec = RNNSpec()
    return to_latex(spec, standalone=True, certificate=certificate_for(spec))


def test_chain_paths_follow_the_graph():
    g = unroll(RNNSpec(tau=4))
    paths = chain_paths(g, 4, "W")
    assert [p[-2] for p in paths] == [("h", 4), ("h", 3), ("h", 2), ("h", 1)]
    assert paths[-1] == [("L", 4), ("o", 4), ("h", 4), ("h", 3), ("h", 2), ("h", 1), ("W", None)]
    assert chain_paths(g, 2, "V") == [[("L", 2), ("o", 2), ("V", None)]]
    assert len(chain_paths(g, 4, "U")) == 4
    assert chain_paths(unroll(RNNSpec(tau=1)), 1, "W") == [[("L", 1), ("o", 1), ("h", 1), ("W", None)]]


def test_tau3_has_the_notes_three_term_expansions(doc3):
    for param in ("W", "U"):
        B = rf"\boldsymbol{{{param}}}"
        head = P(L3, o3) + " " + P(o3, h3)
        terms = [head + " " + P(h3, B),
                 head + " " + P(h3, h2) + " " + P(h2, B),
                 head + " " + P(h3, h2) + " " + P(h2, h1) + " " + P(h1, B)]
        expected = (P(L3, B) + " &= " + terms[0] + r" \\" + "\n"
                    + r"&\quad + " + terms[1] + r" \\" + "\n" + r"&\quad + " + terms[2])
        assert expected in doc3
    assert r"term $k = 0$ is zero" in doc3


def test_recursion_is_written_out_for_every_step(doc3):
    for t in (3, 2, 1):
        assert rf"\nabla_{{\boldsymbol{{o}}^{{({t})}}}} L &= \hat{{\boldsymbol{{y}}}}^{{({t})}} - \boldsymbol{{y}}^{{({t})}}" in doc3
    assert r"\nabla_{\boldsymbol{h}^{(3)}} L &= \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(3)}} L" in doc3
    assert (r"\nabla_{\boldsymbol{h}^{(2)}} L &= \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(3)}} L"
            r" + \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(2)}} L") in doc3
    assert (r"\nabla_{\boldsymbol{W}} L &= \left(\nabla_{\boldsymbol{a}^{(1)}} L\right) "
            r"\boldsymbol{h}^{(0)\top}") in doc3
    assert r"\nabla_{\boldsymbol{h}^{(0)}} L &= \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(1)}} L" in doc3


def _flat(tex: str) -> str:
    """``tex`` without the line-breaking scaffolding (aligned, &, \\\\, \\quad, spaces)."""
    return re.sub(r"\\(begin|end)\{aligned\}|&|\\\\|\\quad|\s", "", tex)


SPECS = {"default": RNNSpec(), "sigmoid": RNNSpec(tau=3, activation="sigmoid"),
         "relu-mse": RNNSpec(tau=3, activation="relu", loss="mse"), "tau1": RNNSpec(tau=1)}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_statuses_readings_reasons_and_counterexamples(spec):
    cert = certificate_for(spec)
    doc = to_latex(spec, certificate=cert)
    flat = _flat(doc)
    section = doc[doc.index(r"\section{The note's formulas, certified}"):
                  doc.index(r"\section{The chain rule written out")]
    for e in cert.entries:
        assert _flat(e.printed) in flat
        assert rf"\texttt{{{e.id.replace('_', chr(92) + '_')}}} & {e.status} &" in doc
        head = rf"(\texttt{{{e.id.replace('_', chr(92) + '_')}}}): \symrnnstatus{{{e.status}}}, "
        assert head in section
        block = section[section.index(head):]
        nxt = block.find(r"\medskip\noindent\textbf", 1)
        block = block if nxt < 0 else block[:nxt]
        if e.status in ("confirmed", "not-applicable"):
            assert "As printed in the note" not in block and "holds as printed" in block \
                or e.status == "not-applicable"
        else:
            assert "does not hold as printed" in block
            if e.reading:
                assert "As printed in the note" in block and "Confirmed reading" in block
                assert _flat(e.printed) in _flat(block) and _flat(e.reading) in _flat(block)
        if e.reason:
            assert re.sub(r"\s", "", escape_text(e.reason)) in _flat(block)
        if e.counterexample:
            cex = e.counterexample
            assert "Counterexample:" in block
            assert f"{float(cex['formula_value']):.6g}" in block
            assert f"{float(cex['true_value']):.6g}" in block
            assert escape_text(cex["claim"]) in block
        else:
            assert "Counterexample" not in block
    for e in cert.entries:  # timings never reach the document (it stays deterministic)
        e.seconds = 1234.5
    assert to_latex(spec, certificate=cert) == doc


def test_the_refuted_cases_are_counted():
    spec = SPECS["relu-mse"]
    cert = certificate_for(spec)
    assert {e.status for e in cert.entries} >= {"refuted", "ill-formed", "confirmed"}
    doc = to_latex(spec, certificate=cert)
    n = {s: sum(e.status == s for e in cert.entries) for s in ("confirmed", "refuted")}
    assert f"{n['confirmed']} confirmed, {n['refuted']} refuted" in doc
    assert "all formulas hold" not in doc
    # the matrix-form section names the note's verdict next to the derived equation
    assert r"\symrnnstatus{refuted} as printed, confirmed in a reading (\texttt{bptt.grad\_W})" in doc


def test_long_printed_formulas_are_broken_into_lines():
    spec = RNNSpec()
    doc = to_latex(spec, certificate=certificate_for(spec))
    e = next(e for e in certificate_for(spec).entries if e.id == "chain.dL3_dW")
    assert e.printed not in doc  # too wide for one line: broken at its top-level +
    lines = formula_lines(e.printed)
    assert len(lines) == 3 and lines[1].startswith(r"&\quad + ")
    assert all(approx_width(l) <= LINE_BUDGET for l in lines)
    assert max(len(line) for line in doc.splitlines()) < 400
    assert formula_lines(r"a = b + c") == [r"a = b + c"]
    assert [p for _, p in top_level_pieces(r"x = f\left(a + b\right) - \{c + d\} + e_{i-1}")] == \
        ["x", r"f\left(a + b\right)", r"\{c + d\}", "e_{i-1}"]


def test_fragment_standalone_and_markdown_shapes(doc3):
    spec = RNNSpec()
    cert = certificate_for(spec)
    frag = to_latex(spec, certificate=cert)
    md = to_latex(spec, fmt="md", certificate=cert)
    assert MARKER in frag.splitlines()[0] and frag.startswith("%")
    assert MARKER in doc3.splitlines()[0] and r"\documentclass" in doc3
    assert r"\documentclass" not in frag and r"\begin{document}" not in frag
    body = frag.split("% Network:", 1)[1]  # after the header (its Regenerate line differs)
    assert body in doc3  # the standalone document is the fragment with a preamble
    assert "% Regenerate: symrnn latex\n" in frag
    assert "% Regenerate: symrnn latex --standalone\n" in doc3
    assert md.startswith("<!-- ") and MARKER in md.splitlines()[0]
    assert r"\begin{align*}" not in md and "$$\n\\begin{aligned}" in md


def test_long_sums_break_across_lines():
    spec = RNNSpec(tau=8)
    doc = to_latex(spec, certificate=certificate_for(spec))
    w_sum = doc[doc.index(r"\nabla_{\boldsymbol{W}} L &="):]
    w_sum = w_sum[:w_sum.index(r"\nabla_{\boldsymbol{U}} L")]
    assert w_sum.count(r"&\quad") >= 1  # eight outer products do not fit on one line
    exp = doc[doc.index(r"\frac{\partial L^{(8)}}{\partial \boldsymbol{W}} &="):]
    assert exp[:exp.index(r"\end{align*}")].count(r"&\quad +") == 7  # one term per line


def test_large_tau_elides_the_middle():
    spec = RNNSpec(tau=20)
    doc = to_latex(spec, certificate=certificate_for(spec))
    assert r"\vdots" in doc and r"\cdots" in doc
    assert r"\boldsymbol{o}^{(20)}" in doc and r"\boldsymbol{o}^{(10)}" not in doc
    longest = max(len(line) for line in doc.splitlines())
    assert longest < 400


def test_bad_input_is_refused():
    spec = RNNSpec()
    with pytest.raises(ValueError, match="format"):
        to_latex(spec, fmt="html", certificate=certificate_for(spec))
    with pytest.raises(ValueError, match="standalone"):
        to_latex(spec, fmt="md", standalone=True, certificate=certificate_for(spec))
    with pytest.raises(TypeError):
        to_latex("tau=3")
    with pytest.raises(ValueError, match="another spec"):
        to_latex(RNNSpec(tau=2), certificate=certificate_for(spec))


def test_a_hostile_certificate_formula_is_refused():
    spec = RNNSpec()
    cert = certificate_for(spec)
    object.__setattr__(cert.entries[0], "printed", r"x \input{/etc/passwd}") \
        if hasattr(cert.entries[0], "__dataclass_fields__") else None
    with pytest.raises(ValueError, match="control sequence"):
        context(spec, certificate=cert)
