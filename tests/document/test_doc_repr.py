"""Every object with ``_repr_latex_`` (the certificate, its entries, the matrix equations)
renders: KaTeX in strict mode parses it (Jupyter, VS Code) and pdflatex compiles it (nbconvert
to PDF)."""

import pytest

from support import katex_available, katex_check, needs_pdflatex, results_for
from symrnn import RNNSpec
from symrnn.document import compile_pdf

SPECS = {"default": RNNSpec(), "relu-mse": RNNSpec(tau=2, activation="relu", loss="mse"),
         "output-recurrence": RNNSpec(model="output-recurrence")}


def reprs(spec) -> list[str]:
    results = results_for(spec)
    cert = results.certificate
    out = [cert._repr_latex_()] + [e._repr_latex_() for e in cert.entries]
    out += [eq._repr_latex_() for eq in results.equations]
    for r in out:
        assert r.startswith("$$") and r.endswith("$$"), r[:60]
    return out


@pytest.mark.skipif(katex_available() is not None, reason=str(katex_available()))
@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_reprs_parse_in_katex(spec):
    formulas = [r[2:-2] for r in reprs(spec)]
    out = katex_check(formulas)
    assert out["failures"] == []


def test_ids_with_underscores_are_escaped_in_text():
    text = results_for(RNNSpec()).certificate._repr_latex_()
    assert r"\text{bptt.grad\_h}" in text and r"\text{bptt.grad_h}" not in text


@needs_pdflatex
@pytest.mark.parametrize("spec", [pytest.param(s, id=k, marks=pytest.mark.slow if k == "relu-mse"
                                               else ()) for k, s in SPECS.items()])
def test_reprs_compile_with_pdflatex(spec):
    body = "\n\n".join(reprs(spec))
    tex = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n"
           "\\usepackage{amsmath,amssymb}\n\\usepackage[paperwidth=60cm,margin=1cm]{geometry}\n"
           "\\begin{document}\n" + body + "\n\\end{document}\n")
    assert compile_pdf(tex)[:5] == b"%PDF-"
