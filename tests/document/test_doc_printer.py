"""The textbook-notation printer: exact strings, strict names, safe text."""

import pytest
import sympy as sp

from support import certificate_for, katex_available, katex_check
from symrnn import RNNSpec, matrix_equations
from symrnn.document.printer import check_math, check_name, escape_text, latex
from symrnn.naming import TAU, T, At, Grad

h = lambda step, n=4: At("h", n, 1, step)
W = sp.MatrixSymbol("W", 4, 4)
V = sp.MatrixSymbol("V", 3, 4)


def test_nodes_parameters_and_gradients():
    assert latex(h(T)) == r"\boldsymbol{h}^{(t)}"
    assert latex(At("yhat", 3, 1, TAU)) == r"\hat{\boldsymbol{y}}^{(\tau)}"
    assert latex(W) == r"\boldsymbol{W}"
    assert latex(Grad(h(T + 1))) == r"\nabla_{\boldsymbol{h}^{(t+1)}} L"
    assert latex(Grad(sp.MatrixSymbol("W", 4, 4))) == r"\nabla_{\boldsymbol{W}} L"
    assert latex(h(0)) == r"\boldsymbol{h}^{(0)}" and latex(h(TAU - 1)) == r"\boldsymbol{h}^{(\tau-1)}"


def test_transposes_merge_superscripts_and_gradients_get_parentheses():
    assert latex(h(T - 1).T) == r"\boldsymbol{h}^{(t-1)\top}"
    assert latex(W.T) == r"\boldsymbol{W}^{\top}"
    outer = Grad(At("a", 4, 1, T)) * h(T - 1).T
    assert latex(outer) == r"\left(\nabla_{\boldsymbol{a}^{(t)}} L\right) \boldsymbol{h}^{(t-1)\top}"
    grad_o = Grad(At("o", 3, 1, T))
    assert latex(grad_o.T) == r"\left(\nabla_{\boldsymbol{o}^{(t)}} L\right)^{\top}"
    assert latex(V.T * grad_o) == r"\boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(t)}} L"


def test_sum_puts_positive_terms_first():
    assert latex(At("yhat", 3, 1, T) - At("y", 3, 1, T)) == \
        r"\hat{\boldsymbol{y}}^{(t)} - \boldsymbol{y}^{(t)}"
    assert latex(-At("y", 3, 1, T) + At("yhat", 3, 1, T)) == \
        r"\hat{\boldsymbol{y}}^{(t)} - \boldsymbol{y}^{(t)}"


@pytest.mark.parametrize("act, inside", [
    ("tanh", r"1 - (\boldsymbol{h}^{(t)})^{2}"),
    ("sigmoid", r"\left(1 - \boldsymbol{h}^{(t)}\right) \odot \boldsymbol{h}^{(t)}"),
    ("relu", r"\mathbf{1}\left[\boldsymbol{h}^{(t)} > 0\right]"),
    ("identity", r"\boldsymbol{1}"),
    ("phi", r"\phi'\left(\boldsymbol{a}^{(t)}\right)"),
])
def test_activation_derivative_inside_diag(act, inside):
    """phi' as the derivation writes it in grad_a(t) L = diag(phi') grad_h(t) L."""
    eq = next(e for e in matrix_equations(RNNSpec(activation=act)) if e.label == "grad_a")
    (d,) = eq.rhs.atoms(sp.DiagMatrix)
    assert latex(d) == rf"\operatorname{{diag}}\left({inside}\right)"
    assert latex(eq.rhs) == rf"\operatorname{{diag}}\left({inside}\right) " \
                            r"\nabla_{\boldsymbol{h}^{(t)}} L"


def test_hadamard():
    assert latex(sp.HadamardProduct(At("a", 4, 1, T), h(T))) == \
        r"\boldsymbol{a}^{(t)} \odot \boldsymbol{h}^{(t)}"


@pytest.mark.parametrize("name", [r"h}\input{/etc/passwd", "h^(t)$", "1h", "h^(t; x)",
                                  "h^(t+1+1)", r"\write18", "h^()", "h^(t)"])
def test_names_outside_the_pattern_are_refused(name):
    """Steps are data (``At``), never parsed out of a name: a name is letters, digits, _."""
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(sp.MatrixSymbol(name, 2, 1))
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(At(name, 2, 1, T))
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(Grad(At(name, 2, 1, T)))


def test_steps_with_foreign_symbols_are_refused():
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(At("h", 2, 1, sp.Symbol("x")))
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(At("h", 2, 1, sp.Symbol(r"t}\input{x")))


def test_scalar_names_and_functions_are_checked():
    with pytest.raises(ValueError):
        latex(sp.Symbol(r"x\relax"))
    with pytest.raises(ValueError):
        latex(sp.Function("f{}")(sp.Symbol("x")))


@pytest.mark.parametrize("tex", [r"\input{x}", r"a \write18{ls}", r"{a", r"a}", r"a $ b",
                                 r"a % comment", r"\immediate\openout", r"\catcode`\{=12",
                                 r"\def\x{1}", "\u00e9", ""])
def test_check_math_refuses(tex):
    with pytest.raises(ValueError):
        check_math(tex, "t")


def test_check_math_accepts_the_notes_forms():
    tex = (r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top (\nabla_{\boldsymbol h^{(t+1)}} L)"
           r" \text{diag} \Big( 1 - (\boldsymbol h^{(t+1)})^2 \Big) + \left\{ x \right\}")
    assert check_math(tex, "t") == tex


def test_escape_text():
    assert escape_text(r"a_b & 50% {x} $y$ #1 ~ ^ \ ") == \
        r"a\_b \& 50\% \{x\} \$y\$ \#1 \textasciitilde{} \textasciicircum{} \textbackslash{}"
    assert escape_text("a_b | *c* $x$", "md") == r"a\_b \| \*c\* \$x\$"


def test_matrix_equations_show_as_latex_in_jupyter():
    eqs = {e.label: e for e in matrix_equations(RNNSpec(activation="sigmoid", loss="bce"))}
    assert eqs["grad_h"]._repr_latex_() == (
        r"$$\nabla_{\boldsymbol{h}^{(t)}} L = \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(t+1)}} L"
        r" + \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(t)}} L \qquad \left(1 \le t < \tau\right)$$")
    assert eqs["grad_W"]._repr_latex_().startswith(
        r"$$\nabla_{\boldsymbol{W}} L = \sum_{t=1}^{\tau} ")
    shown = [e._repr_latex_() for e in eqs.values()]
    assert all(s.startswith("$$") and s.endswith("$$") and s.count("$$") == 2 for s in shown)
    if katex_available() is None:
        assert katex_check([s[2:-2] for s in shown])["failures"] == []


def test_the_certificate_shows_as_latex_in_jupyter():
    cert = certificate_for(RNNSpec())
    shown = cert._repr_latex_()
    assert shown.startswith(r"$$\begin{array}{lll}") and shown.endswith(r"\end{array}$$")
    for e in cert.entries:  # one row per entry: id, the formula as printed, its status
        assert rf"\text{{{escape_text(e.id)}}} & {e.printed} & \text{{{e.status}" in shown
    if katex_available() is None:
        assert katex_check([shown[2:-2]])["failures"] == []


def test_a_trailing_newline_does_not_pass_the_name_pattern():
    with pytest.raises(ValueError, match="cannot be printed"):
        check_name("W\n")
