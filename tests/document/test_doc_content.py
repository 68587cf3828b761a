"""Content of the LaTeX / Markdown document: the note's expansions come from the graph, the
recursion is written out for each step, statuses and mismatches are shown; the note's
certificate appears only for the model that has a catalogue."""

import re

import pytest

from symrnn.document.words import WORDS
from symrnn.document.printer import latex as _latex

from support import certificate_for, results_for
from symrnn import RNNSpec, to_latex, unroll
from symrnn.certificate.note import CATALOGUE
from symrnn.core.chains import chain_paths
from symrnn.document import github_inline_math
from symrnn.document import document
from symrnn.document.context import context
from symrnn.document.layout import LINE_BUDGET, approx_width, formula_lines, top_level_pieces
from symrnn.document.printer import escape_text
from symrnn.io import MARKER

P = lambda a, b: rf"\frac{{\partial {a}}}{{\partial {b}}}"
L3, o3, h3, h2, h1 = (r"L^{(3)}", r"\boldsymbol{o}^{(3)}", r"\boldsymbol{h}^{(3)}",
                      r"\boldsymbol{h}^{(2)}", r"\boldsymbol{h}^{(1)}")
OUTPUT_RECURRENCE = RNNSpec(model="output-recurrence")


def doc_for(spec, **kwargs):
    """``to_latex`` with the results computed once per session."""
    return to_latex(spec, results=results_for(spec), **kwargs)


@pytest.fixture(scope="module")
def doc3(default_results):
    return to_latex(RNNSpec(), standalone=True, results=default_results)


def test_chain_paths_follow_the_graph():
    g = unroll(RNNSpec(tau=4))
    paths = chain_paths(g, 4, "W")
    assert [p[-2] for p in paths] == [("h", 4), ("h", 3), ("h", 2), ("h", 1)]
    assert paths[-1] == [("L", 4), ("o", 4), ("h", 4), ("h", 3), ("h", 2), ("h", 1), ("W", None)]
    assert chain_paths(g, 2, "V") == [[("L", 2), ("o", 2), ("V", None)]]
    assert len(chain_paths(g, 4, "U")) == 4
    assert chain_paths(unroll(RNNSpec(tau=1)), 1, "W") == [[("L", 1), ("o", 1), ("h", 1), ("W", None)]]


def test_the_document_takes_its_paths_from_the_results(default_results):
    r = default_results
    assert list(r.chains) == ["V", "W", "U"]  # the note's order; no vectors (b, c)
    for param, paths in r.chains.items():
        assert paths == chain_paths(r.graph, r.spec.tau, param)
    assert r.single_path == {"V": True, "W": False, "U": False}


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
        assert rf"$L^{{(3)}}$ reaches ${B}$ along 3 paths:" in doc3
    # V: one path from every L(t), written as one sum
    assert (r"Every $L^{(t)}$ reaches $\boldsymbol{V}$ along one path:" + "\n\\[\n  "
            + P("L", r"\boldsymbol{V}") + r" = \sum_{t=1}^{\tau} "
            + P("L^{(t)}", r"\boldsymbol{o}^{(t)}") + " "
            + P(r"\boldsymbol{o}^{(t)}", r"\boldsymbol{V}")) in doc3
    # the note's term k = 0 (through h(0)) is zero: no path goes through the initial state
    assert (r"No path reaches a parameter through $\boldsymbol{h}^{(0)}$: the initial values "
            "do not depend on the parameters, so a term through them is zero.") in doc3


def test_recursion_is_written_out_for_every_step(doc3):
    section = doc3[doc3.index(r"\section{The gradient recursion for $\tau = 3$}"):]
    for t in (3, 2, 1):
        assert rf"\nabla_{{\boldsymbol{{o}}^{{({t})}}}} L &= \hat{{\boldsymbol{{y}}}}^{{({t})}} - \boldsymbol{{y}}^{{({t})}}" in section
    assert r"\nabla_{\boldsymbol{h}^{(3)}} L &= \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(3)}} L" in section
    assert (r"\nabla_{\boldsymbol{h}^{(2)}} L &= \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(3)}} L"
            r" + \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(2)}} L") in section
    assert (r"\nabla_{\boldsymbol{W}} L &= \left(\nabla_{\boldsymbol{a}^{(1)}} L\right) "
            r"\boldsymbol{h}^{(0)\top}") in section
    assert r"\nabla_{\boldsymbol{h}^{(0)}} L &= \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(1)}} L" in section
    # from t = tau down to 1: grad_o(3) before grad_o(2) before grad_o(1), grad_h(0) last
    at = [section.index(rf"\nabla_{{\boldsymbol{{o}}^{{({t})}}}} L &=") for t in (3, 2, 1)]
    assert at == sorted(at) < [section.index(r"\nabla_{\boldsymbol{h}^{(0)}} L &=")] * 3


def test_equation_titles_come_from_the_readers(doc3, default_results):
    """Each matrix equation is titled with the quantity and the nodes that read it."""
    titles = {  # the heading is the gradient itself, in math
        r"\nabla_{\boldsymbol{o}^{(t)}} L": r"output (logits): $\boldsymbol{o}^{(t)}$ feeds $L^{(t)}$, for $1 \le t \le \tau$.",
        r"\nabla_{\boldsymbol{h}^{(\tau)}} L": r"hidden state: $\boldsymbol{h}^{(\tau)}$ feeds "
                                             r"$\boldsymbol{o}^{(\tau)}$, for $t = \tau$.",
        r"\nabla_{\boldsymbol{h}^{(t)}} L": r"hidden state: $\boldsymbol{h}^{(t)}$ feeds $\boldsymbol{a}^{(t+1)}$ and "
                                         r"$\boldsymbol{o}^{(t)}$, for $1 \le t < \tau$.",
        r"\nabla_{\boldsymbol{a}^{(t)}} L": r"pre-activation: $\boldsymbol{a}^{(t)}$ feeds $\boldsymbol{h}^{(t)}$, "
                                         r"for $1 \le t \le \tau$.",
        r"\nabla_{\boldsymbol{W}} L": r"$\boldsymbol{W}$, hidden-to-hidden (recurrent) weights: a sum of outer "
                                   r"products, for $t = 1, \ldots, \tau$.",
        r"\nabla_{\boldsymbol{c}} L": r"$\boldsymbol{c}$, output bias: a sum over the steps, for $t = 1, \ldots, \tau$.",
        r"\nabla_{\boldsymbol{h}^{(0)}} L": r"hidden state: $\boldsymbol{h}^{(0)}$ feeds $\boldsymbol{a}^{(1)}$, "
                                         r"for $t = 0$.",
    }
    for lhs, title in titles.items():
        assert rf"\noindent${lhs}$, {title}" in doc3
    labels = [e.label for e in default_results.equations]
    assert labels == ["grad_o", "grad_h(tau)", "grad_h", "grad_a", "grad_c", "grad_b",
                      "grad_V", "grad_W", "grad_U", "grad_h(0)"]
    shown = re.findall(r"\\noindent\$(\\nabla.*?)\$, ", doc3)
    assert shown == [_latex(e.lhs) for e in default_results.equations]
    # the note prints grad_h twice (Jacobian and matrix form); it prints no grad_a
    assert (r"\symrnnstatus{confirmed} (\texttt{bptt.grad\_h.jacobian}, "
            r"p.~\pageref{cert-bptt-grad-h-jacobian});" + "\n"
            r"\symrnnstatus{ill-formed} as printed; a reading holds "
            r"(\texttt{bptt.grad\_h}, p.~\pageref{cert-bptt-grad-h}).") in doc3
    grad_a = doc3[doc3.index(r"\noindent$\nabla_{\boldsymbol{a}^{(t)}} L$"):
                  doc3.index(r"\noindent$\nabla_{\boldsymbol{c}} L$")]
    assert "Not printed in the note." in grad_a


def _flat(tex: str) -> str:
    """``tex`` without the line-breaking scaffolding (aligned, &, \\\\, \\quad, spaces)."""
    return re.sub(r"\\(begin|end)\{aligned\}|&|\\\\|\\quad|\s", "", tex)


SPECS = {"default": RNNSpec(), "sigmoid": RNNSpec(tau=3, activation="sigmoid"),
         "relu-mse": RNNSpec(tau=3, activation="relu", loss="mse"), "tau1": RNNSpec(tau=1)}


@pytest.mark.parametrize("spec", [  # relu-mse by default in test_the_refuted_cases_are_counted
    pytest.param(s, id=k, marks=pytest.mark.slow if k in ("sigmoid", "relu-mse") else ())
    for k, s in SPECS.items()])
def test_statuses_readings_reasons_and_counterexamples(spec):
    results = results_for(spec)
    cert = results.certificate
    doc = to_latex(spec, results=results)
    flat = _flat(doc)
    section = doc[doc.index(r"\section{The note's formulas, certified}"):
                  doc.index(r"\section{Certificate}")]
    for e in cert.entries:
        assert _flat(e.printed) in flat
        kind = WORDS["en"][f"kind.{e.status}"]
        anchor = "cert-" + "".join(ch if ch.isalnum() else "-" for ch in e.id)
        assert re.search(rf"\\pageref\{{{re.escape(anchor)}\}} & {kind} &", doc)
        head = rf"(\texttt{{{e.id.replace('_', chr(92) + '_')}}}): \symrnnstatus{{{kind}}}, "
        assert head in section
        block = section[section.index(head):]
        nxt = block.find(r"\medskip\noindent\label", 1)
        block = block if nxt < 0 else block[:nxt]
        if e.status == "definition":
            assert "defines the model" in block and "As printed in the note" not in block
        elif e.status in ("confirmed", "not-applicable"):
            assert "As printed in the note" not in block and "holds as printed" in block \
                or e.status == "not-applicable"
        else:
            assert ("tensor shorthand" if e.status == "shorthand" and e.reading
                    else "does not hold as printed") in block
            if e.reading:
                assert "As printed in the note" in block and "Reading that holds" in block
                assert _flat(e.printed) in _flat(block) and _flat(e.reading) in _flat(block)
        if e.reason and e.status == "refuted" and spec.activation == "tanh":
            # the other kinds explain from their data; another activation by its own phi'
            assert re.sub(r"\s", "", escape_text(e.reason)) in _flat(block)
        if e.status == "refuted" and spec.activation != "tanh":
            assert r"\phi'(a) =" in block
        if e.status == "not-applicable":
            assert "needs more steps than" in block
        if e.status == "ill-formed" and e.details.get("factors"):  # factors and their shapes
            assert r"\underbrace" in block and "do not match the rows" in block
        elif e.status == "ill-formed":  # not a product: the reason says what is wrong
            assert re.sub(r"\s", "", escape_text(e.reason)) in _flat(block)
        cex = e.counterexample or next(
            (r["counterexample"] for r in e.readings if r.get("counterexample")), None)
        if cex:
            assert "Counterexample:" in block
            flat_block = _flat(block)
            assert _flat(escape_text(cex["claim"])) in flat_block
        else:
            assert "Counterexample" not in block
    for e in cert.entries:  # timings never reach the document (it stays deterministic)
        e.seconds = 1234.5
    results.timings = {k: 1234.5 for k in results.timings}
    assert to_latex(spec, results=results) == doc


def test_the_refuted_cases_are_counted():
    spec = SPECS["relu-mse"]
    cert = certificate_for(spec)
    assert {e.status for e in cert.entries} >= {"refuted", "ill-formed", "confirmed"}
    doc = doc_for(spec)
    n = {s: sum(e.status == s for e in cert.entries) for s in ("confirmed", "refuted")}
    assert f"{n['confirmed']} confirmed, {n['refuted']} refuted" in " ".join(doc.split())
    assert "all formulas hold" not in doc
    # the matrix-form section names the note's verdict next to the derived equation
    assert r"\symrnnstatus{refuted} as printed; a reading holds (\texttt{bptt.grad\_W}, p.~\pageref{" \
        in doc


def test_the_count_sentence_reads_as_prose(doc3):
    """The summary sentence and its parenthesis are separate words, in both formats."""
    md = doc_for(RNNSpec(), fmt="md")
    for text in (doc3, md):
        summary = " ".join(text[text.index("Of the 31 formulas"):].split("\n")[:5])
        assert ("form). By kind: 10 definitions, 14 confirmed, 0 refuted, 1 ill-formed, "
                "4 shorthand, 2 ambiguous, 0 unproven, 0 not applicable.") in summary, summary


@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_the_rnn_document_lists_the_notes_certificate(fmt, default_results):
    doc = to_latex(RNNSpec(), fmt=fmt, results=default_results)
    entries = default_results.certificate.entries
    assert [e.id for e in entries] == [f.id for f in CATALOGUE]
    heads = {"tex": (r"\section{The note's formulas, certified}", r"\section{Certificate}"),
             "md": ("## The note's formulas, certified", "## Certificate")}[fmt]
    for head in heads:
        assert doc.count(head) == 1
    table = doc[doc.index(heads[1]):doc.index({"tex": r"\section{The code}",
                                               "md": "## The code"}[fmt])]
    rows = [line for line in table.splitlines() if r"\pageref{" in line or line.startswith("| [")]
    assert len(rows) == len(CATALOGUE)
    by_anchor = {"cert-" + "".join(ch if ch.isalnum() else "-" for ch in e.id): e
                 for e in entries}
    printed = re.findall(r"\\label\{(cert-[^}]+)\}|<a id=\"(cert-[^\"]+)\">", doc)
    printed = [a or b for a, b in printed]
    for row, anchor in zip(rows, printed):  # one row per formula, in the order printed
        e = by_anchor[anchor]
        kind = WORDS["en"][f"kind.{e.status}"]
        assert (rf"\pageref{{{anchor}}} & {kind} & " in row if fmt == "tex"
                else f"](#{anchor}) | {kind} | " in row), row
        assert escape_text(e.id, fmt) not in row  # titles, not ids
    assert f"Of the {len(CATALOGUE)} formulas, " in doc


@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_the_output_recurrence_document_has_no_certificate_section(fmt):
    results = results_for(OUTPUT_RECURRENCE)
    assert results.certificate.entries == []  # Fig. 10.4 has no catalogue of printed formulas
    doc = to_latex(OUTPUT_RECURRENCE, fmt=fmt, results=results)
    assert "certif" not in doc.lower()  # no section, table or verdict: nothing to certify
    for absent in ("symrnnstatus{", r"\begin{longtable}", "Not printed in the note",
                   "The note prints it", "Of the 0 formulas", "confirmed", "refuted"):
        assert absent not in doc, absent
    # the rest of the document is there, for this model: its recurrence goes through o(t-1)
    title = "Output-to-hidden recurrence"
    assert title in doc and r"\tau = 3" in doc
    assert r"\boldsymbol{a}^{(t)} &= \boldsymbol{b} + \boldsymbol{W} \boldsymbol{o}^{(t-1)} + " \
           r"\boldsymbol{U} \boldsymbol{x}^{(t)}" in doc
    assert (r"\nabla_{\boldsymbol{o}^{(t)}} L = \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(t+1)}} L"
            r" + \hat{\boldsymbol{y}}^{(t)} - \boldsymbol{y}^{(t)}") in doc
    inline = (lambda t: github_inline_math(t)) if fmt == "md" else (lambda t: t)
    assert inline(r"output (logits), fed back to the next step: $\boldsymbol{o}^{(t)}$ feeds "
                  r"$\boldsymbol{a}^{(t+1)}$ and $L^{(t)}$") in doc
    assert (r"\frac{\partial \boldsymbol{o}^{(j)}}{\partial \boldsymbol{o}^{(j-1)}} &= "
            r"\boldsymbol{V} \operatorname{diag}\left(1 - (\boldsymbol{h}^{(j)})^{2}"
            r"\right) \boldsymbol{W}") in doc
    assert inline(r"No path reaches a parameter through $\boldsymbol{o}^{(0)}$") in doc
    heading = {"tex": r"\section{The gradient recursion for $\tau = 3$}",
               "md": r"## The gradient recursion for $`\tau = 3`$"}[fmt]
    assert heading in doc
    assert r"\nabla_{\boldsymbol{o}^{(0)}} L &= \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(1)}} L" in doc
    assert "--model output-recurrence" in "\n".join(doc.splitlines()[:3])


def test_long_printed_formulas_are_broken_into_lines(default_results):
    doc = to_latex(RNNSpec(), results=default_results)
    e = next(e for e in default_results.certificate.entries if e.id == "chain.dL3_dW")
    assert e.printed not in doc  # too wide for one line: broken at its top-level +
    lines = formula_lines(e.printed)
    assert len(lines) == 3 and lines[1].startswith(r"&\quad + ")
    assert all(approx_width(l) <= LINE_BUDGET for l in lines)
    assert "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}" in doc
    assert max(len(line) for line in doc.splitlines()) < 400
    assert formula_lines(r"a = b + c") == [r"a = b + c"]
    assert [p for _, p in top_level_pieces(r"x = f\left(a + b\right) - \{c + d\} + e_{i-1}")] == \
        ["x", r"f\left(a + b\right)", r"\{c + d\}", "e_{i-1}"]


def test_fragment_standalone_and_markdown_shapes(doc3, default_results):
    frag = to_latex(RNNSpec(), results=default_results)
    md = to_latex(RNNSpec(), fmt="md", results=default_results)
    assert MARKER in frag.splitlines()[0] and frag.startswith("%")
    assert MARKER in doc3.splitlines()[0] and r"\documentclass" in doc3
    assert r"\documentclass" not in frag and r"\begin{document}" not in frag
    body = frag.split("% Network:", 1)[1]  # after the header (its Regenerate line differs)
    assert body in doc3  # the standalone document is the fragment with a preamble
    assert "% Regenerate: symrnn latex\n" in frag
    assert "% Regenerate: symrnn latex --standalone\n" in doc3
    assert md.startswith("<!-- ") and MARKER in md.splitlines()[0]
    assert "<!-- Regenerate: symrnn latex --format md " in md.splitlines()[1]
    assert r"\begin{align*}" not in md and "```math\n\\begin{aligned}" in md
    assert "$$" not in md  # GitHub eats \\ and \{ in $$ blocks: displays are math fences
    # document(results) is what to_latex writes
    assert document(default_results, "tex") == frag
    assert document(default_results, "md") == md


def test_long_sums_break_across_lines():
    doc = doc_for(RNNSpec(tau=8))
    w_sum = doc[doc.index(r"\nabla_{\boldsymbol{W}} L &="):]
    w_sum = w_sum[:w_sum.index(r"\nabla_{\boldsymbol{U}} L")]
    assert w_sum.count(r"&\quad") >= 1  # eight outer products do not fit on one line
    exp = doc[doc.index(r"\frac{\partial L^{(8)}}{\partial \boldsymbol{W}} &="):]
    assert exp[:exp.index(r"\end{align*}")].count(r"&\quad +") == 7  # one term per line


def test_large_tau_elides_the_middle():
    doc = doc_for(RNNSpec(tau=20))
    assert r"\vdots" in doc and r"\cdots" in doc
    assert r"\boldsymbol{o}^{(20)}" in doc and r"\boldsymbol{o}^{(10)}" not in doc
    assert "(steps in the middle elided)" in doc
    longest = max(len(line) for line in doc.splitlines())
    assert longest < 400


def test_bad_input_is_refused(default_results):
    spec = RNNSpec()
    with pytest.raises(ValueError, match="format"):
        to_latex(spec, fmt="html", results=default_results)
    with pytest.raises(ValueError, match="format"):
        context(default_results, "html")
    with pytest.raises(ValueError, match="standalone"):
        to_latex(spec, fmt="md", standalone=True, results=default_results)
    with pytest.raises(TypeError):
        to_latex("tau=3")
    with pytest.raises(ValueError, match="same spec"):
        to_latex(RNNSpec(tau=2), results=default_results)
    with pytest.raises(ValueError, match="same spec"):
        to_latex(spec, results=default_results.certificate)


def test_a_hostile_certificate_formula_is_refused():
    results = results_for(RNNSpec())  # its certificate is a copy: tampering spoils no cache
    results.certificate.entries[0].printed = r"x \input{/etc/passwd}"
    with pytest.raises(ValueError, match="control sequence"):
        context(results)
    with pytest.raises(ValueError, match="control sequence"):
        to_latex(RNNSpec(), results=results)
    results.certificate.entries[0].kind = "proven"  # not a verdict symrnn knows
    with pytest.raises(ValueError, match="unknown status"):
        context(results)
