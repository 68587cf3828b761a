"""Content of the LaTeX / Markdown document: the note's expansions come from the graph, the
recursion is written out for each step, statuses and mismatches are shown."""

import re

import pytest

from latex_support import certificate_for
from symrnn import RNNSpec, unroll
from symrnn.document import chain_paths, context, to_latex
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


def test_statuses_and_mismatches_come_from_the_certificate():
    spec = RNNSpec()
    cert = certificate_for(spec)
    doc = to_latex(spec, certificate=cert)
    for e in cert.entries:
        assert e.printed in doc
        assert rf"\texttt{{{e.id.replace('_', chr(92) + '_')}}} & {e.status} &" in doc
        if e.status in ("refuted", "ill-formed"):
            block = doc[doc.index("As printed in the note"):]
            assert e.printed in block and (e.reading is None or e.reading in block)
    assert ("seconds" not in doc) and all(f"{e.seconds}" not in doc for e in cert.entries
                                          if e.seconds not in (0, 0.0))


def test_fragment_standalone_and_markdown_shapes(doc3):
    spec = RNNSpec()
    cert = certificate_for(spec)
    frag = to_latex(spec, certificate=cert)
    md = to_latex(spec, fmt="md", certificate=cert)
    assert MARKER in frag.splitlines()[0] and frag.startswith("%")
    assert MARKER in doc3.splitlines()[0] and r"\documentclass" in doc3
    assert r"\documentclass" not in frag and r"\begin{document}" not in frag
    assert frag in doc3  # the standalone document is the fragment with a preamble
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
