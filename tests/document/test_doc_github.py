"""The Markdown export as GitHub renders it: GitHub runs its Markdown pass (CommonMark) before
the math (github/markup#1575), so the check parses with markdown-it-py and no math plugin, and
only then takes the math out of what that pass left: ```math fences, and inline math written
$`...`$ (a code span between two dollars, which emphasis cannot enter). A `$` anywhere else
in the parsed text, or an emphasis next to one, is math that Markdown altered. What comes out
is parsed by KaTeX in strict mode; every model, both languages."""

import re

import pytest

from support import commonmark_then_math, katex_available, katex_check, results_for
from symrnn import RNNSpec, to_latex
from symrnn.models import MODELS

pytest.importorskip("markdown_it", reason="markdown-it-py not installed (pip install -e .[test])")

SPECS = {"default": RNNSpec(), "tau1": RNNSpec(tau=1), "tau20": RNNSpec(tau=20),
         "relu-bce": RNNSpec(tau=2, activation="relu", loss="bce"),
         "phi-mse": RNNSpec(tau=2, activation="phi", loss="mse", h0="zeros"),
         "output-recurrence": RNNSpec(model="output-recurrence")}
# every other registered network, at a small instance (its document is symbolic)
SPECS.update({m: RNNSpec(model=m, tau=2, n_in=2, n_hidden=2, n_out=2) for m in MODELS
              if m not in ("rnn", "output-recurrence")})


def test_the_check_sees_what_githubs_markdown_pass_eats():
    # two }_{ in one paragraph: plain $...$ becomes emphasis in CommonMark
    bad = "Text $a_{1} b$ and $c_{2}$ here.\n"
    _d, inline, problems = commonmark_then_math(bad)
    assert problems and inline == []
    good = "Text $`a_{1} b`$ and $`c_{2}`$ here; `code $x$` is code.\n\n```math\na_{1}\n```\n"
    displays, inline, problems = commonmark_then_math(good)
    assert problems == [] and inline == ["a_{1} b", "c_{2}"] and displays == ["a_{1}"]


@pytest.mark.skipif(katex_available() is not None, reason=str(katex_available()))
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_markdown_survives_github(spec, lang):
    md = to_latex(spec, fmt="md", results=results_for(spec), lang=lang)
    displays, inline, problems = commonmark_then_math(md)
    assert problems == []
    assert len(displays) > 5 and len(inline) > 10
    # no inline math is left in the form GitHub's Markdown pass reads ($...$ outside a span)
    prose = re.sub(r"```.*?```|\$`[^`]*`\$|``.*?``|`[^`]*`", "", md, flags=re.S)
    assert "$" not in re.sub(r"<!--.*?-->", "", prose, flags=re.S)
    out = katex_check(displays + inline)
    assert out["failures"] == []
