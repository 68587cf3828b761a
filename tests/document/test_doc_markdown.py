"""Every formula of the Markdown export parses with KaTeX in strict mode (both models)."""

import pytest

from support import katex_available, katex_check, markdown_formulas, results_for
from symrnn import RNNSpec, to_latex

pytestmark = pytest.mark.skipif(katex_available() is not None,
                                reason=str(katex_available()))


def test_the_checker_catches_bad_formulas():
    out = katex_check([r"\boldsymbol{h}^{(t)\top}", r"\frac{a}{", r"\nosuchmacro x"])
    assert out["checked"] == 3 and [f["index"] for f in out["failures"]] == [1, 2]


SPECS = {"default": RNNSpec(), "tau1": RNNSpec(tau=1), "tau20": RNNSpec(tau=20),
         "relu-bce": RNNSpec(tau=2, activation="relu", loss="bce"),
         "sigmoid": RNNSpec(tau=3, activation="sigmoid"),
         "relu-mse": RNNSpec(tau=3, activation="relu", loss="mse"),
         "phi-mse": RNNSpec(tau=2, activation="phi", loss="mse", h0="zeros"),
         "output-recurrence": RNNSpec(model="output-recurrence"),
         "mean": RNNSpec(tau=2, reduction="mean"),
         "output-recurrence-phi-mse": RNNSpec(tau=2, model="output-recurrence", activation="phi",
                                              loss="mse", h0="zeros"),
         **{m: RNNSpec(tau=2, model=m) for m in ("single-output", "teacher-forcing",
                                                 "bidirectional", "deep")}}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_markdown_formulas_parse_strictly(spec):
    md = to_latex(spec, fmt="md", results=results_for(spec))
    formulas = markdown_formulas(md)
    assert len(formulas) > 20
    out = katex_check(formulas)
    assert out["failures"] == []
