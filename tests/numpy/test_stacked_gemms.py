"""Products that share an operand in a loop step are one GEMM: the gates' W_h* h(t-1) in the
forward pass (the matrices side by side), and the sum of W_h*^T grad_a_*(t+1) reaching
grad_h(t) in the backward pass (the gate gradients side by side in one array). The values are
those of the unstacked code (tests/numpy checks every model numerically); here: the shape of
the code, and the gradients against the derivation for the stacked models."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from symrnn import RNNSpec, emit_numpy


def loops(src: str, function: str) -> list[ast.For]:
    tree = ast.parse(src)
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    return [n for n in fn.body if isinstance(n, ast.For)]


def matmuls(node) -> int:
    return sum(1 for n in ast.walk(node) if isinstance(n, ast.Call)
               and isinstance(n.func, ast.Attribute) and n.func.attr == "matmul")


@pytest.mark.parametrize("model, gates", [("lstm-torch", 4), ("gru-torch", 3), ("lstm", 4)])
def test_one_gemm_per_step_each_way(model, gates):
    src = emit_numpy(RNNSpec(tau=3, n_in=3, n_hidden=4, n_out=3, model=model), "loop")
    (fwd,) = loops(src, "_forward")
    assert matmuls(fwd) == 1, ast.unparse(fwd)
    assert "numpy.concatenate([" in src
    bwd = loops(src, "_backward")
    assert bwd and all(matmuls(b) <= 2 for b in bwd)  # grad_h(t): one stacked GEMM (+ one other)
    assert src.count(f"[..., {gates - 1} * N_HIDDEN:{gates} * N_HIDDEN]") >= 1


def test_the_rnn_has_nothing_to_stack():
    src = emit_numpy(RNNSpec(tau=3, n_in=3, n_hidden=4, n_out=3), "loop")
    assert "concatenate" not in src and "stack_" not in src and "stackT_" not in src


@pytest.mark.parametrize("form", ["loop", "checkpointed"])
def test_stacked_code_agrees_with_the_unrolled_form(form):
    """The unrolled form stacks nothing: the two must agree to rounding."""
    spec = RNNSpec(tau=4, n_in=3, n_hidden=5, n_out=3, model="lstm-torch")
    ns, nu = {}, {}
    exec(compile(emit_numpy(spec, form), "stacked", "exec"), ns)
    exec(compile(emit_numpy(spec, "unrolled"), "unrolled", "exec"), nu)
    rng = np.random.default_rng(3)
    params = {k: rng.normal(size=s) * 0.5 for k, s in ns["PARAM_SHAPES"].items()}
    x = rng.normal(size=(4, 2, 3))
    y = rng.integers(0, 3, size=(4, 2))
    h0, s0 = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    la, ga = ns["loss_and_grad"](params, x, y, h0=h0, s0=s0)
    lb, gb = nu["loss_and_grad"](params, x, y, h0=h0, s0=s0)
    assert la == pytest.approx(lb, rel=1e-13)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-11, atol=1e-13)
