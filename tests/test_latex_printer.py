"""The textbook-notation printer: exact strings, strict names, safe text."""

import pytest
import sympy as sp

from symrnn import RNNSpec
from symrnn.derive import dphi_vector
from symrnn.latex import check_math, escape_text, latex

M = lambda name, n=4: sp.MatrixSymbol(name, n, 1)
W = sp.MatrixSymbol("W", 4, 4)
V = sp.MatrixSymbol("V", 3, 4)


def test_nodes_parameters_and_gradients():
    assert latex(M("h^(t)")) == r"\boldsymbol{h}^{(t)}"
    assert latex(M("yhat^(tau)")) == r"\hat{\boldsymbol{y}}^{(\tau)}"
    assert latex(W) == r"\boldsymbol{W}"
    assert latex(M("grad_h^(t+1)")) == r"\nabla_{\boldsymbol{h}^{(t+1)}} L"
    assert latex(sp.MatrixSymbol("grad_W", 4, 4)) == r"\nabla_{\boldsymbol{W}} L"


def test_transposes_merge_superscripts_and_gradients_get_parentheses():
    assert latex(M("h^(t-1)").T) == r"\boldsymbol{h}^{(t-1)\top}"
    assert latex(W.T) == r"\boldsymbol{W}^{\top}"
    outer = M("grad_a^(t)") * M("h^(t-1)").T
    assert latex(outer) == r"\left(\nabla_{\boldsymbol{a}^{(t)}} L\right) \boldsymbol{h}^{(t-1)\top}"
    assert latex(M("grad_o^(t)", 3).T) == r"\left(\nabla_{\boldsymbol{o}^{(t)}} L\right)^{\top}"
    assert latex(V.T * M("grad_o^(t)", 3)) == r"\boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(t)}} L"


def test_sum_puts_positive_terms_first():
    assert latex(M("yhat^(t)", 3) - M("y^(t)", 3)) == \
        r"\hat{\boldsymbol{y}}^{(t)} - \boldsymbol{y}^{(t)}"


@pytest.mark.parametrize("act, inside", [
    ("tanh", r"1 - \left(\boldsymbol{h}^{(t)}\right)^{2}"),
    ("sigmoid", r"\left(1 - \boldsymbol{h}^{(t)}\right) \odot \boldsymbol{h}^{(t)}"),
    ("relu", r"\mathbf{1}\left[\boldsymbol{h}^{(t)} > 0\right]"),
    ("identity", r"\boldsymbol{1}"),
    ("phi", r"\phi'\left(\boldsymbol{a}^{(t)}\right)"),
])
def test_activation_derivative_inside_diag(act, inside):
    d = sp.DiagMatrix(dphi_vector(RNNSpec(activation=act), "t"))
    assert latex(d) == rf"\operatorname{{diag}}\left({inside}\right)"


def test_hadamard():
    assert latex(sp.HadamardProduct(M("a^(t)"), M("h^(t)"))) == \
        r"\boldsymbol{a}^{(t)} \odot \boldsymbol{h}^{(t)}"


@pytest.mark.parametrize("name", [r"h}\input{/etc/passwd", "h^(t)$", "1h", "h^(t; x)",
                                  "h^(t+1+1)", r"\write18", "h^()"])
def test_names_outside_the_pattern_are_refused(name):
    with pytest.raises(ValueError, match="cannot be printed"):
        latex(sp.MatrixSymbol(name, 2, 1))


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
    from latex_support import katex_available, katex_check
    from symrnn.derive import matrix_equations
    eqs = {e.name: e for e in matrix_equations(RNNSpec(activation="sigmoid", loss="bce"))}
    assert eqs["grad_h"]._repr_latex_() == (
        r"$$\nabla_{\boldsymbol{h}^{(t)}} L = \boldsymbol{W}^{\top} \nabla_{\boldsymbol{a}^{(t+1)}} L"
        r" + \boldsymbol{V}^{\top} \nabla_{\boldsymbol{o}^{(t)}} L \qquad \left(1 \le t < \tau\right)$$")
    assert eqs["grad_W"]._repr_latex_().startswith(
        r"$$\nabla_{\boldsymbol{W}} L = \sum_{t=1}^{\tau} ")
    shown = [e._repr_latex_() for e in eqs.values()]
    assert all(s.startswith("$$") and s.endswith("$$") and s.count("$$") == 2 for s in shown)
    if katex_available() is None:
        assert katex_check([s[2:-2] for s in shown])["failures"] == []


def test_a_trailing_newline_does_not_pass_the_name_pattern():
    import pytest as _pytest

    from symrnn.latex import check_name
    with _pytest.raises(ValueError, match="cannot be printed"):
        check_name("W\n")
