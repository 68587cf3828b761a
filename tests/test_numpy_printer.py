"""Exact-string tests of the batched NumPy printer (plus one numeric check of each rule)."""

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn.numpy_printer import BatchedNumPyPrinter, print_batched
from sympy.printing.numpy import NumPyPrinter

W = sp.MatrixSymbol("W", 4, 4)
V = sp.MatrixSymbol("V", 3, 4)
b = sp.MatrixSymbol("b", 4, 1)
h = sp.MatrixSymbol("h", 4, 1)
g = sp.MatrixSymbol("g", 4, 1)
go = sp.MatrixSymbol("go", 3, 1)
z = sp.Symbol("z", real=True)
NAMES = {"W": "W", "V": "V", "b": "b", "h": "hs[t]", "g": "dh", "go": "dos[t - 1]"}


def test_is_a_numpy_printer_subclass():
    assert issubclass(BatchedNumPyPrinter, NumPyPrinter)


@pytest.mark.parametrize("expr, code", [
    (W * h, "hs[t] @ W.T"),
    (W.T * g, "dh @ W"),
    (V.T * go + W.T * g, "dh @ W + dos[t - 1] @ V"),
    (b + W * h, "b + hs[t] @ W.T"),
    (h - g, "hs[t] - dh"),
    (sp.DiagMatrix(ElementwiseApplyFunction(sp.Lambda(z, 1 - z**2), h)) * g,
     "(1 - hs[t]**2) * dh"),
    (sp.DiagMatrix(ElementwiseApplyFunction(sp.Lambda(z, sp.Piecewise((1, z > 0), (0, True))), h))
     * g, "(hs[t] > 0) * dh"),
    (sp.DiagMatrix(ElementwiseApplyFunction(sp.Lambda(z, sp.Integer(1)), h)) * g, "dh"),
])
def test_batched_layout(expr, code):
    assert print_batched(expr, NAMES) == code


def test_summed_outer_product_is_one_gemm_and_vector_a_column_sum():
    assert print_batched(go * h.T, {"go": "do_all", "h": "h_all"}, summed=True) == \
        "do_all.T @ h_all"
    assert print_batched(go, {"go": "do_all"}, summed=True) == "do_all.sum(axis=0)"


def test_rules_agree_with_column_vector_algebra():
    rng = np.random.default_rng(1)
    Wv, hv, gv = rng.normal(size=(4, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ns = {"W": Wv, "hs": {0: hv}, "dh": gv, "numpy": np, "t": 0}
    for expr, column in [(W * h, lambda r: Wv @ hv[r]), (W.T * g, lambda r: Wv.T @ gv[r])]:
        rows = eval(print_batched(expr, NAMES), ns)
        for r in range(5):
            np.testing.assert_allclose(rows[r], column(r), rtol=1e-14)
    summed = eval(print_batched(g * h.T, {"g": "dh", "h": "hs[t]"}, summed=True), ns)
    np.testing.assert_allclose(summed, sum(np.outer(gv[r], hv[r]) for r in range(5)), rtol=1e-13)


def test_stable_sigmoid_form():
    code = print_batched(1 / (1 + sp.exp(-z)), {"z": "a"})
    assert code == "numpy.exp(-numpy.logaddexp(0, -a))"
    a = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = eval(code, {"numpy": np, "a": a})
    np.testing.assert_allclose(got, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0],
                               rtol=1e-14, atol=0)


@pytest.mark.parametrize("expr", [
    sp.Inverse(W) * h,                       # unknown matrix node
    sp.MatrixSymbol("q", 4, 1),              # no array name for it
    h.T,                                     # bare transpose
    sp.DiagMatrix(h),                        # diag outside a product
    sp.Function("phi")(z),                   # undefined function
])
def test_unknown_nodes_raise(expr):
    with pytest.raises(NotImplementedError):
        print_batched(expr, {**NAMES, "z": "a"})


def test_summed_rejects_sums():
    with pytest.raises(NotImplementedError):
        k = sp.MatrixSymbol("k", 4, 1)
        print_batched(go * h.T + go * k.T, {"go": "a", "h": "b", "k": "c"}, summed=True)


def test_in_place_sum_completes_a_held_term_with_a_scratch_product():
    from symrnn.numpy_printer import print_batched_into
    a = sp.MatrixSymbol("a", 4, 1)
    names = {"a": "hs[t]", "h": "hs[t - 1]", "W": "W"}
    assert print_batched_into(a + W * h, "hs[t]", names, transposes={"W": "WT"},
                              scratch="prod") == ["numpy.matmul(hs[t - 1], WT, out=prod)",
                                                  "hs[t] += prod"]
    assert print_batched_into(a + W * h, "hs[t]", names) == ["hs[t] += hs[t - 1] @ W.T"]
    rng = np.random.default_rng(2)
    Wv, hv, av = rng.normal(size=(4, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ns = {"numpy": np, "WT": Wv.T.copy(), "prod": np.empty((5, 4)), "t": 1,
          "hs": {0: hv, 1: av.copy()}}
    exec("\n".join(print_batched_into(a + W * h, "hs[t]", names, transposes={"W": "WT"},
                                      scratch="prod")), ns)
    np.testing.assert_allclose(ns["hs"][1], av + hv @ Wv.T, rtol=1e-14)


def test_one_hot_is_subtracted_at_the_labels_and_never_printed_dense():
    from symrnn.numpy_printer import print_batched_into
    yh, y = sp.MatrixSymbol("yh", 3, 1), sp.MatrixSymbol("y", 3, 1)
    lines = print_batched_into(yh - y, "d", {"yh": "d", "y": "labels"}, onehot={"y": "labels"})
    assert lines == ["d[numpy.arange(len(d)), labels] -= 1"]
    p, labels = np.random.default_rng(3).uniform(size=(6, 3)), np.array([0, 2, 1, 1, 0, 2])
    ns = {"numpy": np, "d": p.copy(), "labels": labels}
    exec(lines[0], ns)
    np.testing.assert_array_equal(ns["d"], p - np.eye(3)[labels])
    with pytest.raises(NotImplementedError):
        BatchedNumPyPrinter({"names": {"y": "labels"}, "onehot": {"y": "labels"}}).doprint(y)


@pytest.mark.parametrize("body, first", [(1 - z**2, "numpy.square(hs[t], out=s)"),
                                         (z * (1 - z), "numpy.subtract(1, hs[t], out=s)")])
def test_elementwise_factor_is_a_ufunc_chain_in_the_scratch(body, first):
    from symrnn.numpy_printer import print_batched_into
    expr = sp.DiagMatrix(ElementwiseApplyFunction(sp.Lambda(z, body), h)) * g
    lines = print_batched_into(expr, "out", NAMES, scratch="s")
    assert lines[0] == first and lines[-1] == "numpy.multiply(s, dh, out=out)"
    rng = np.random.default_rng(4)
    ns = {"numpy": np, "hs": {0: rng.uniform(-1, 1, size=(5, 4))}, "t": 0,
          "dh": rng.normal(size=(5, 4)), "s": np.empty((5, 4)), "out": np.empty((5, 4))}
    want = eval(print_batched(expr, NAMES), ns)
    exec("\n".join(lines), ns)
    np.testing.assert_array_equal(ns["out"], want)
