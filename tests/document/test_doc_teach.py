"""Documents that teach (issue 20): explanations printed from this run's objects (the
activation's own derivative, the cell's own Jacobians, each path once), a reason for each
confirmed gradient, the unrolled graph, the study loop (run against the derivation), and
Chinese with full-width punctuation next to Chinese text."""

import re

import numpy as np
import pytest
import sympy as sp

from support import results_for
from symrnn import RNNSpec, to_latex
from symrnn.core.chains import Paths
from symrnn.document.context import EntryView, context
from symrnn.document.graph import layout, picture, svg
from symrnn.document.words import words

TANH_ONLY = (r"1 - (\boldsymbol{h}", "dhraw", r"1 - \big( \boldsymbol h", "1 - (h")


def _blocks_that_explain(view):
    """The texts and displays an explanation offers as true (a failing reading, labelled so,
    and the sentence naming the note's own form are what they say they are)."""
    w = view.w
    for b in view.blocks:
        if b["labelled"]:
            continue
        if b["pair"]:
            if b["pair"][2] == w["reading"]:
                yield b["pair"][3]
            continue
        text = b["text"] or b["math"] or ""
        if text.startswith(w["note_form"].split("$")[0]):
            continue
        yield text


@pytest.mark.parametrize("activation", ["relu", pytest.param("sigmoid", marks=pytest.mark.slow)])
def test_no_tanh_only_expression_explains_another_activation(activation):
    spec = RNNSpec(activation=activation)
    r = results_for(spec)
    views = [EntryView(e, "md", "en", spec, r.certificate.entries, results_eqs=r.equations)
             for e in r.certificate.entries]
    assert any(v.blocks for v in views)
    for v in views:
        for text in _blocks_that_explain(v):
            assert not any(t in text for t in TANH_ONLY), (v.id, text)
    md = to_latex(spec, fmt="md", results=r)
    assert "holds only for tanh" not in md and ". holds" not in md
    # the activation's own derivative, from functions.py, is what the document names
    own = {"relu": r"\mathbf{1}\left[a > 0\right]", "sigmoid": r"\frac{e^{- a}}"}[activation]
    assert own in md


def test_tanh_keeps_the_code_form_of_min_char_rnn():
    r = results_for(RNNSpec())
    md = to_latex(RNNSpec(), fmt="md", results=r)
    assert "dhraw = (1 - hs[t] * hs[t]) * dh" in md


#: the note's network and a gated cell by default, every model with -m slow
@pytest.mark.parametrize("model", ["gru", "rnn"] + [pytest.param(m, marks=pytest.mark.slow) for m in
                                   ("lstm", "lstm-torch", "gru-torch", "deep", "bidirectional",
                                    "output-recurrence")])
def test_the_jacobian_list_is_the_set_of_factors_on_the_paths(model):
    spec = RNNSpec(model=model, tau=3, n_in=2, n_hidden=2, n_out=2)
    r = results_for(spec)
    paths = Paths(r.graph)
    on_paths = set()
    for p in r.model.params:
        for t in range(1, spec.tau + 1):
            for path in paths(t, p.name, limit=10 ** 6):
                for a, b in zip(path, path[1:]):
                    if b[1] is not None:
                        on_paths.add((a[0], b[0], b[1] - a[1]))
    listed = []
    for j in r.jacobians:
        step = j.out.step if j.out.name != "L" else j.out.step
        listed.append((j.out.name, j.wrt.name, sp.simplify(j.wrt.step - step)))
    assert len(listed) == len(set(listed)), listed  # no factor twice
    assert set(listed) == on_paths


@pytest.mark.parametrize("model", [pytest.param("lstm", marks=pytest.mark.slow), "gru"])
def test_no_chain_term_is_printed_twice(model):
    spec = RNNSpec(model=model, tau=3, n_in=2, n_hidden=2, n_out=2)
    ctx = context(results_for(spec), "md")
    for chain in ctx["chains"]:
        terms = chain["display"].rows[0].chunks
        assert len(terms) == len(set(t.lstrip("+ ") for t in terms))


def test_paths_are_counted_in_one_pass_and_listed_up_to_a_limit():
    spec = RNNSpec(model="lstm", tau=4, n_in=1, n_hidden=1, n_out=2)
    r = results_for(spec)
    paths = Paths(r.graph)
    for p in ("W", "U", "V"):
        assert paths.count(4, p) == len(paths(4, p, limit=10 ** 6))
    # two states (h and s): the paths double with each step, so they are counted, not listed
    big = RNNSpec(model="lstm", tau=40, n_in=1, n_hidden=1, n_out=2)
    from symrnn.core.graph import unroll
    from symrnn.models import get_model
    many = Paths(unroll(get_model("lstm"), big))
    assert many.count(40, "W") > 10 ** 6
    assert len(many(40, "W", limit=12)) == 12
    assert r.chain_counts["W"] == paths.count(4, "W")


def test_each_confirmed_gradient_says_why():
    r = results_for(RNNSpec())
    ctx = context(r, "md")
    views = {v.id.replace("\\_", "_"): v for p in ctx["parts"] for v in p["entries"]}
    assert "2 successors" in views["bptt.grad_h.jacobian"].reason  # o(t) and a(t+1)
    assert r"\boldsymbol{o}^{(t)}" in views["bptt.grad_h.jacobian"].reason
    assert "one successor" in views["bptt.grad_h_tau"].reason
    assert r"\hat{\boldsymbol{y}}^{(t)} - \boldsymbol{y}^{(t)}" in views["bptt.grad_o"].reason
    assert "shared by every step" in views["bptt.grad_W"].reason
    for v in views.values():
        if v.status == "confirmed" and v.id.startswith("bptt.grad"):
            assert v.reason, v.id


def test_the_reading_order_and_the_table():
    md = to_latex(RNNSpec(), fmt="md", results=results_for(RNNSpec()))
    heads = [h for h in re.findall(r"(?m)^## (.+)$", md)]
    order = ["The network", "Back-propagation through time in matrix form",
             "The chain rule written out", "The gradient recursion", "The note's formulas",
             "Certificate", "The code"]
    at = [next(i for i, h in enumerate(heads) if h.startswith(o)) for o in order]
    assert at == sorted(at)
    table = md[md.index("## Certificate"):md.index("## The code")]
    assert "bptt.grad" not in table.replace("#cert-bptt-grad", "")  # titles, not ids
    anchors = re.findall(r"\]\(#(cert-[^)]+)\)", table)
    printed = re.findall(r'<a id="(cert-[^"]+)"></a>', md)
    assert anchors == printed  # in the order the formulas are printed


@pytest.mark.parametrize("activation", ["tanh", pytest.param("relu", marks=pytest.mark.slow),
                                        pytest.param("sigmoid", marks=pytest.mark.slow)])
def test_the_study_loop_computes_the_derivations_gradients(activation):
    from symrnn.backends.numpy.checks import DerivationOracle, random_point
    spec = RNNSpec(tau=3, activation=activation)
    r = results_for(spec)
    md = to_latex(spec, fmt="md", results=r)
    code = re.search(r"```python\n(.*?)```", md, re.S).group(1)
    assert 15 <= len(code.strip().splitlines()) <= 30
    space = {}
    exec(compile(code, "study_loop", "exec"), space)
    P, xs, init, y, _ys = random_point(r.graph, np.random.default_rng(1))
    want_L, want, _kink = DerivationOracle(r.graph, r.derivation)(P, xs, init, None)
    col = lambda v: np.asarray(v, dtype=float).reshape(-1, 1)
    L, grads = space["bptt"](P["U"], P["W"], P["V"], col(P["b"]), col(P["c"]),
                             [col(x) for x in xs], list(y), col(init["h0"]))
    assert abs(L - want_L) < 1e-9
    for k in ("U", "W", "V", "b", "c"):
        assert np.allclose(np.reshape(grads[k], np.shape(want[k])), want[k], atol=1e-9), k


@pytest.mark.parametrize("model", ["rnn", "gru"] + [pytest.param(m, marks=pytest.mark.slow)
                                                   for m in ("lstm", "bidirectional",
                                                             "output-recurrence")])
def test_the_graph_drawn_is_the_unrolled_graph(model):
    spec = RNNSpec(model=model, tau=3, n_in=2, n_hidden=2, n_out=2)
    r = results_for(spec)
    lay = layout(r)
    paths = Paths(r.graph)
    drawn = {(a, b) for b, a, _hot in lay.edges}
    for a, b in drawn:  # each arrow is an edge of the folded graph (a reads b)
        assert a[0] in paths.keep and (b in paths.folded.get(a, ()) or b[0] == "x")
    hot = [(b, a) for b, a, h in lay.edges if h]
    assert hot and lay.target is not None
    assert all(t[1] >= 0 for t in (lay.target,))
    pic, image = picture(lay), svg(lay)
    assert pic.count(r"\put") >= 2 * len(lay.nodes) and "\\color{red}" in pic
    assert image.startswith("<svg") and image.count("<circle") == len(lay.nodes)


def test_long_sequences_draw_a_gap():
    from symrnn.pipeline import analyse  # the layout reads the graph, not the certificate
    lay = layout(analyse(RNNSpec(tau=20), certify=False))  # (certified at tau 20: 18 CPU s)
    steps = sorted({s for _n, s, _x, _y in lay.nodes})
    assert steps == [0, 1, 2, 19, 20] and lay.gaps


# ---------------------------------------------------------------- Chinese

CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"


def _prose(md: str) -> str:
    md = re.sub(r"```.*?```", "\n\n", md, flags=re.S)
    md = re.sub(r"<!--.*?-->|<[^>\n]*>", " ", md, flags=re.S)
    md = re.sub(r"\]\([^)]*\)", "]", md)
    return re.sub(r"\$`[^`]*`\$|\$[^$\n]*\$|``.*?``|`[^`]*`", "\x00", md)


@pytest.mark.parametrize("spec", [
    pytest.param(RNNSpec(), id="rnn"),
    pytest.param(RNNSpec(activation="relu"), id="relu", marks=pytest.mark.slow),
    pytest.param(RNNSpec(model="lstm", tau=2, n_in=2, n_hidden=2, n_out=2), id="lstm",
                 marks=pytest.mark.slow)])
def test_chinese_has_full_width_punctuation_and_no_english_sentence(spec):
    md = to_latex(spec, fmt="md", results=results_for(spec), lang="zh")
    prose = _prose(md)
    near = re.findall(rf"{CJK}[ *\x00]*[,.:;?!()]|[,:;?!()][ *\x00]*{CJK}", prose)
    assert near == []
    english = re.findall(r"(?:\b[A-Za-z][a-z]+\b[ ,]+){3,}[A-Za-z]+", re.sub(r"\[[^\]]*\]", "",
                                                                        prose))
    assert english == []
    tex = to_latex(spec, standalone=True, results=results_for(spec), lang="zh")
    body = re.sub(r"%[^\n]*", "", tex)
    body = re.sub(r"\\\[.*?\\\]|\\begin\{(align\*?|aligned|verbatim|tabular|picture|longtable)\}"
                  r".*?\\end\{\1\}|\$[^$]*\$", "\x00", body, flags=re.S)
    assert re.findall(rf"{CJK}[ \x00]*[,:;?!]|[,:;?!][ \x00]*{CJK}", body) == []


def test_the_chinese_figure_is_drawn_in_chinese():
    from symrnn.analysis import analyze, cjk_font, figure_png
    if cjk_font() is None:
        pytest.skip("no CJK font for matplotlib (Debian: apt-get install fonts-wqy-microhei)")
    flow = analyze(max_lag=10, hidden=4)
    assert figure_png(flow, "zh") != figure_png(flow, "en")
