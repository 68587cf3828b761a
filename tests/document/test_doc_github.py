"""The Markdown export as GitHub renders it: parsed as GitHub-flavoured Markdown first
(markdown-it-py), then every formula that comes out of it (```math fences, $...$ spans after
Markdown's own escapes and emphasis) parsed by KaTeX in strict mode; every model, both
languages."""

import pytest

from support import github_math, katex_available, katex_check, results_for
from symrnn import RNNSpec, to_latex
from symrnn.models import MODELS

pytest.importorskip("markdown_it", reason="markdown-it-py not installed (pip install -e .[test])")
pytestmark = pytest.mark.skipif(katex_available() is not None, reason=str(katex_available()))

SPECS = {"default": RNNSpec(), "tau1": RNNSpec(tau=1), "tau20": RNNSpec(tau=20),
         "relu-bce": RNNSpec(tau=2, activation="relu", loss="bce"),
         "phi-mse": RNNSpec(tau=2, activation="phi", loss="mse", h0="zeros"),
         "output-recurrence": RNNSpec(model="output-recurrence")}
# every other registered network, at a small instance (its document is symbolic)
SPECS.update({m: RNNSpec(model=m, tau=2, n_in=2, n_hidden=2, n_out=2) for m in MODELS
              if m not in ("rnn", "output-recurrence")})


def test_the_parser_sees_what_github_eats():
    bad = ("Text $a \\{ b \\}$ and $ x $ and \\(y\\).\n\n$$\na \\\\\nb\n$$\n\n"
           "and $a_1 + b_2 = c_3$ *x*.\n")
    _displays, inline, problems = github_math(bad)
    joined = " | ".join(problems)
    assert "Markdown eats" in joined and "not math" in joined
    assert "in prose" in joined and "$$ block" in joined
    assert "a_1 + b_2 = c_3" in inline
    displays, inline, problems = github_math("A $\\boldsymbol{h}^{(t)}$ b.\n\n```math\n"
                                             "a \\\\\nb \\{c\\}\n```\n")
    assert problems == [] and displays == ["a \\\\\nb \\{c\\}"]
    assert inline == ["\\boldsymbol{h}^{(t)}"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_markdown_survives_github(spec, lang):
    md = to_latex(spec, fmt="md", results=results_for(spec), lang=lang)
    displays, inline, problems = github_math(md)
    assert problems == []
    assert len(displays) > 5 and len(inline) > 10
    out = katex_check(displays + inline)
    assert out["failures"] == []
