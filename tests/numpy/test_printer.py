"""Exact-string tests of the batched NumPy printer (plus one numeric check of each rule).

Names are a dict keyed by the matrix-level objects (``At``, ``Grad``, parameter
``MatrixSymbol``s, the scalar placeholders of elementwise bodies), never by strings.
"""

import re

import numpy as np
import pytest
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symrnn.backends.numpy.printer import BatchedNumPyPrinter, print_batched, print_into
from symrnn.naming import At, Grad, T
from symrnn.functions import Apply, Deriv

W = sp.MatrixSymbol("W", 4, 4)
V = sp.MatrixSymbol("V", 3, 4)
b = sp.MatrixSymbol("b", 4, 1)
h = At("h", 4, 1, T)
g = Grad(At("a", 4, 1, T))
go = Grad(At("o", 3, 1, T - 1))
z = sp.Symbol("z", real=True)
NAMES = {W: "W", V: "V", b: "b", h: "hs[t]", g: "dh", go: "dos[t - 1]"}


def diag(f, arg, from_output=True):
    """diag(f'(.)) as the derivation writes it (from the output: 1 - h^2 for tanh)."""
    return sp.DiagMatrix(Deriv(f, arg, from_output))


def test_is_a_numpy_printer_subclass():
    assert issubclass(BatchedNumPyPrinter, NumPyPrinter)


@pytest.mark.parametrize("expr, code", [
    (W * h, "hs[t] @ W.T"),
    (W.T * g, "dh @ W"),
    (V.T * go + W.T * g, "dos[t - 1] @ V + dh @ W"),
    (b + W * h, "b + hs[t] @ W.T"),
    (h - g, "hs[t] - dh"),
    (-(W * h), "-(hs[t] @ W.T)"),
    (2 * (W * h), "2 * (hs[t] @ W.T)"),
    (sp.HadamardProduct(h, g), "hs[t] * dh"),
    (diag("tanh", h) * g, "(1 - hs[t]**2) * dh"),
    (diag("relu", h) * g, "(hs[t] > 0) * dh"),
    (diag("identity", h) * g, "dh"),
    (diag("tanh", h, from_output=False) * g, "(1 - numpy.tanh(hs[t])**2) * dh"),
    (Apply("tanh", h), "numpy.tanh(hs[t])"),
    (Apply("sigmoid", h), "_sigmoid(hs[t])"),
    (diag("sigmoid", h, from_output=False) * g, "(_sigmoid(hs[t])*(1 - _sigmoid(hs[t]))) * dh"),
    (Apply("relu", h), "(hs[t] > 0) * hs[t]"),
    (Apply("identity", h), "hs[t]"),
])
def test_batched_layout(expr, code):
    assert print_batched(expr, NAMES) == code


def test_summed_outer_product_is_one_gemm_and_vector_a_column_sum():
    assert print_batched(go * h.T, {go: "do_all", h: "h_all"}, summed=True) == "do_all.T @ h_all"
    assert print_batched(go, {go: "do_all"}, summed=True) == "do_all.sum(axis=0)"


def test_a_stored_transpose_is_used_by_object():
    assert print_batched(W * h, NAMES, transposes={W: "WT"}) == "hs[t] @ WT"
    assert print_batched(V.T * go, NAMES, transposes={V: "VT"}) == "dos[t - 1] @ V"


def test_rules_agree_with_column_vector_algebra():
    rng = np.random.default_rng(1)
    Wv, hv, gv = rng.normal(size=(4, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ns = {"W": Wv, "hs": {0: hv}, "dh": gv, "numpy": np, "t": 0}
    for expr, column in [(W * h, lambda r: Wv @ hv[r]), (W.T * g, lambda r: Wv.T @ gv[r])]:
        rows = eval(print_batched(expr, NAMES), ns)
        for r in range(5):
            np.testing.assert_allclose(rows[r], column(r), rtol=1e-14)
    summed = eval(print_batched(g * h.T, {g: "dh", h: "hs[t]"}, summed=True), ns)
    np.testing.assert_allclose(summed, sum(np.outer(gv[r], hv[r]) for r in range(5)), rtol=1e-13)
    d = eval(print_batched(diag("tanh", h) * g, NAMES), ns)
    np.testing.assert_allclose(d, (1 - hv**2) * gv, rtol=1e-14)


# ---------------------------------------------------------------- the sigmoid's kernel

def _sigmoid_namespace():
    """The generated module's _sigmoid, from its one definition (symrnn.functions)."""
    from symrnn.backends.numpy.printer import helpers_used
    ns = {"numpy": np}
    for name, body in helpers_used("_sigmoid("):
        exec(f"def {name}(a):\n" + "".join(f"    {line}\n" for line in body), ns)
    return ns


def _ulps(got, want, dtype):
    """|got - want| in units of the spacing of ``dtype`` at want (want a 40-digit value)."""
    spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def _sigma(a, derivative=False):
    import mpmath
    with mpmath.workdps(40):
        out = []
        for v in a:
            e = mpmath.exp(-mpmath.mpf(float(v)))
            out.append(float(e / (1 + e) ** 2 if derivative else 1 / (1 + e)))
    return np.array(out)


GRID = np.concatenate([np.linspace(-100, 100, 4001), [-88.8, -87.5, -37.5, -17.0, 16.7, 37.4]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_kernels_are_accurate_to_a_few_ulp_for_every_a(dtype):
    """The in-place kernel of a gate (emitted loops) and the helper (inside expressions)
    against 40-digit values at a in [-100, 100]: a few ulp of relative accuracy everywhere,
    also where sigma(a) is tiny (a shut gate) or subnormal, never an overflow. The old form
    0.5 + 0.5 tanh(a/2) was 9e-9 off relatively at a = -20 in float64, 2e-4 at -10 in
    float32, and 0 below -38 / -17."""
    from symrnn.functions import ACTIVATIONS
    a = GRID.astype(dtype)
    want = _sigma(a)
    x, s = a.copy(), np.empty_like(a)
    with np.errstate(all="raise", under="ignore"):
        kernel = "\n".join(line.format(x="x", s="s")
                            for line in ACTIVATIONS["sigmoid"].numpy_in_place)
        exec(kernel, {"numpy": np, "x": x, "s": s})
        helper = _sigmoid_namespace()["_sigmoid"](a)
    for got in (x, helper):
        assert got.dtype == dtype
        assert _ulps(got, want, dtype).max() <= 3, a[_ulps(got, want, dtype).argmax()]
    assert np.array_equal(x, helper)  # one computation, two spellings


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_derivative_from_the_stored_output(dtype):
    """BPTT writes sigma'(a) = h (1 - h) with the stored h: a few ulp relatively where the gate
    is shut or half open (a <= 0), and within an ulp of 1 absolutely where it is open (there
    1 - h has lost its low bits in h, as in every framework that reads the output)."""
    a = GRID.astype(dtype)
    h = _sigmoid_namespace()["_sigmoid"](a)
    d = h * (1 - h)
    want = _sigma(a, derivative=True)
    shut = a <= 0
    assert _ulps(d[shut], want[shut], dtype).max() <= 4
    assert np.max(np.abs(d[~shut] - want[~shut])) <= np.finfo(dtype).eps


@pytest.mark.parametrize("expr", [1 / (1 + sp.exp(-z)), 1 / (1 + sp.exp(z))])
def test_a_written_sigmoid_uses_the_stable_kernel(expr):
    """1/(1 + exp(-x)) written out (a cell's formula) is printed with the sigmoid's kernel:
    no overflow at +-1000, relative accuracy everywhere."""
    code = print_batched(expr, {z: "a"})
    assert code.startswith("_sigmoid(")
    a = np.array([-1000.0, -30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        got = eval(code, {**_sigmoid_namespace(), "a": a})
    x = -a if expr.has(sp.exp(z)) else a  # 1/(1 + exp(z)) is sigmoid(-z)
    want = _sigma(x)
    assert _ulps(got, want, np.float64).max() <= 3


@pytest.mark.parametrize("expr", [
    sp.Inverse(W) * h,                       # unknown matrix node
    sp.MatrixSymbol("q", 4, 1),              # no array name for it
    h.T,                                     # bare transpose
    sp.DiagMatrix(h),                        # diag outside a product
    sp.Function("phi")(z),                   # undefined function
    Apply("phi", h),                         # the generic activation has no numeric value
    sp.Symbol("w"),                          # a scalar with no name
    sp.ImmutableMatrix([1, 2]),              # explicit matrices
])
def test_unknown_nodes_raise(expr):
    with pytest.raises(NotImplementedError):
        print_batched(expr, {**NAMES, z: "a"})


@pytest.mark.parametrize("expr, what", [
    (At("h", 4, 1, T - 1), "h(t - 1)"),            # same name, another step
    (At("h", 4, 1, T + 1), "h(t + 1)"),
    (W * At("h", 4, 1, T - 1), "h(t - 1)"),
    (Grad(At("a", 4, 1, T + 1)), "grad_a(t + 1) L"),  # the gradient at another step
    (Grad(h), "grad_h(t) L"),                         # a gradient of a named quantity
    (At("W", 4, 4, T) * h, "W(t)"),                   # an At is not the parameter W
])
def test_names_are_looked_up_by_object(expr, what):
    """Only the exact objects of ``names`` are found: nothing is matched by a name string."""
    with pytest.raises(NotImplementedError, match=r"no array name for \w+ " + re.escape(what)):
        print_batched(expr, NAMES)


def test_string_keys_are_not_names():
    with pytest.raises(NotImplementedError, match="no array name"):
        print_batched(W * h, {"W": "W", "h": "hs[t]"})
    with pytest.raises(NotImplementedError, match="no array name"):
        print_batched(W * h, {W: "W", "h(t)": "hs[t]"})
    with pytest.raises(NotImplementedError, match="no code name for scalar symbol 'z'"):
        print_batched(1 / (1 + sp.exp(-z)), {"z": "a"})
    with pytest.raises(NotImplementedError):
        print_into(W * h, "out", {"W": "W", h: "hs[t]"})


def test_summed_rejects_sums():
    with pytest.raises(NotImplementedError):
        k = At("k", 4, 1, T)
        print_batched(go * h.T + go * k.T, {go: "a", h: "b", k: "c"}, summed=True)
    with pytest.raises(NotImplementedError):  # summed values are expressions, not statements
        BatchedNumPyPrinter({"names": {go: "a", h: "b"}, "summed": True}).print_into(go * h.T,
                                                                                    "out")


def test_in_place_sum_completes_a_held_term_with_a_scratch_product():
    a = At("a", 4, 1, T)
    hp = At("h", 4, 1, T - 1)
    names = {a: "hs[t]", hp: "hs[t - 1]", W: "W"}
    assert print_into(a + W * hp, "hs[t]", names, transposes={W: "WT"},
                      scratch="prod") == ["numpy.matmul(hs[t - 1], WT, out=prod)",
                                          "hs[t] += prod"]
    assert print_into(a + W * hp, "hs[t]", names) == ["hs[t] += hs[t - 1] @ W.T"]
    rng = np.random.default_rng(2)
    Wv, hv, av = rng.normal(size=(4, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ns = {"numpy": np, "WT": Wv.T.copy(), "prod": np.empty((5, 4)), "t": 1,
          "hs": {0: hv, 1: av.copy()}}
    exec("\n".join(print_into(a + W * hp, "hs[t]", names, transposes={W: "WT"},
                              scratch="prod")), ns)
    np.testing.assert_allclose(ns["hs"][1], av + hv @ Wv.T, rtol=1e-14)


def test_in_place_gemm_then_bias_new_or_existing():
    hp = At("h", 4, 1, T - 1)
    names = {hp: "hp", W: "W", b: "b"}
    assert print_into(b + W * hp, "h_all", names, new=True) == ["h_all = hp @ W.T", "h_all += b"]
    assert print_into(b + W * hp, "h_all", names) == ["numpy.matmul(hp, W.T, out=h_all)",
                                                      "h_all += b"]
    a = At("a", 4, 1, T)
    assert print_into(Apply("tanh", a), "hs[t]", {a: "hs[t]"}) == ["numpy.tanh(hs[t], out=hs[t])"]


def test_a_value_already_in_its_target_needs_no_line():
    a = At("a", 4, 1, T)
    assert print_into(Apply("identity", a), "hs[t]", {a: "hs[t]"}) == []
    assert print_into(diag("identity", h) * g, "dh", NAMES) == []
    assert print_into(diag("identity", h) * g, "out", NAMES) == ["out[...] = dh"]
    assert print_into(Apply("relu", a), "hs[t]", {a: "hs[t]"}) == \
        ["hs[t][...] = (hs[t] > 0) * hs[t]"]


def test_one_hot_is_subtracted_at_the_labels_and_never_printed_dense():
    yh, y = At("yhat", 3, 1, T), At("y", 3, 1, T)
    lines = print_into(yh - y, "d", {yh: "d", y: "labels"}, onehot={y: "labels"})
    assert lines == ["d[numpy.arange(len(d)), labels] -= 1"]
    p, labels = np.random.default_rng(3).uniform(size=(6, 3)), np.array([0, 2, 1, 1, 0, 2])
    ns = {"numpy": np, "d": p.copy(), "labels": labels}
    exec(lines[0], ns)
    np.testing.assert_array_equal(ns["d"], p - np.eye(3)[labels])
    with pytest.raises(NotImplementedError):
        BatchedNumPyPrinter({"names": {y: "labels"}, "onehot": {y: "labels"}}).doprint(y)
    with pytest.raises(NotImplementedError):  # a one-hot is only ever subtracted
        print_into(yh + y, "d", {yh: "d", y: "labels"}, onehot={y: "labels"})


@pytest.mark.parametrize("act, first", [("tanh", "numpy.square(hs[t], out=s)"),
                                        ("sigmoid", "numpy.subtract(1, hs[t], out=s)")])
def test_elementwise_factor_is_a_ufunc_chain_in_the_scratch(act, first):
    expr = diag(act, h) * g
    lines = print_into(expr, "out", NAMES, scratch="s")
    assert lines[0] == first and lines[-1] == "numpy.multiply(s, dh, out=out)"
    rng = np.random.default_rng(4)
    ns = {"numpy": np, "hs": {0: rng.uniform(-1, 1, size=(5, 4))}, "t": 0,
          "dh": rng.normal(size=(5, 4)), "s": np.empty((5, 4)), "out": np.empty((5, 4))}
    want = eval(print_batched(expr, NAMES), ns)
    exec("\n".join(lines), ns)
    np.testing.assert_array_equal(ns["out"], want)


def test_summed_outer_product_with_an_elementwise_product():
    """grad_W of W (f(t) (.) h(t-1)), a gated read: g (f (.) h)^T, which SymPy writes with
    f^T (.) h^T, is one GEMM over the stacked steps."""
    f = At("f", 4, 1, T)
    expr = g * sp.HadamardProduct(f, h).T
    assert print_batched(expr, {g: "da_all", f: "f_all", h: "h_all"}, summed=True) == \
        "da_all.T @ (f_all * h_all)"
