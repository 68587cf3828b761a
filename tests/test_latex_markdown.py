"""Every formula of the Markdown export parses with KaTeX in strict mode."""

import pytest

from latex_support import certificate_for, katex_available, katex_check, markdown_formulas
from symrnn import RNNSpec
from symrnn.document import to_latex

pytestmark = pytest.mark.skipif(katex_available() is not None,
                                reason=str(katex_available()))


def test_the_checker_catches_bad_formulas():
    out = katex_check([r"\boldsymbol{h}^{(t)\top}", r"\frac{a}{", r"\nosuchmacro x"])
    assert out["checked"] == 3 and [f["index"] for f in out["failures"]] == [1, 2]


@pytest.mark.parametrize("spec", [RNNSpec(), RNNSpec(tau=1), RNNSpec(tau=14),
                                  RNNSpec(tau=2, activation="relu", loss="bce"),
                                  RNNSpec(tau=2, activation="phi", loss="mse", h0="zeros")],
                         ids=["default", "tau1", "tau14", "relu-bce", "phi-mse"])
def test_markdown_formulas_parse_strictly(spec):
    md = to_latex(spec, fmt="md", certificate=certificate_for(spec))
    formulas = markdown_formulas(md)
    assert len(formulas) > 20
    out = katex_check(formulas)
    assert out["failures"] == []
