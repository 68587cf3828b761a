"""``--backend torch|jax`` on the command line, the backend-neutral pieces, and the shape of
the torch module's loops (the operations a step makes: what the speed work is about)."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
import sympy as sp

from framework_reference import ROOT, framework_module
from support import symrnn
from symrnn import RNNSpec
from symrnn.functions import LOSSES


def test_codegen_writes_each_backend(tmp_path):
    """codegen --backend torch / jax writes a module named after the model and backend,
    whose header is the command that writes it again; --form is NumPy's and refused with
    another backend (exit 2, one line)."""
    for backend, name in (("torch", "gru_torch_torch.py"), ("jax", "rnn_jax_h5.py")):
        model = ["--model", "gru-torch"] if backend == "torch" else ["--hidden", "5"]
        r = symrnn("codegen", "--backend", backend, *model, "--out", ".", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        text = (tmp_path / name).read_text()
        assert f"# Regenerate: symrnn codegen --backend {backend} {' '.join(model)} --out ." \
            in text
        ast.parse(text)
    r = symrnn("codegen", "--backend", "jax", "--form", "unrolled", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--form is for --backend numpy" \
        in r.stderr


def test_codegen_default_is_numpy(tmp_path):
    r = symrnn("codegen", cwd=tmp_path)
    assert r.returncode == 0 and "import numpy" in r.stdout and "import torch" not in r.stdout


def test_run_with_the_torch_backend(tmp_path):
    """symrnn run --backend torch writes the torch module with the documents and checks it
    against the derivation (mpmath) and central differences, as the NumPy modules are."""
    pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    r = symrnn("run", "--backend", "torch", "--no-pdf", "--quiet", "--out", "out", cwd=tmp_path,
               timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "out" / "rnn_torch.py").exists()
    assert not (tmp_path / "out" / "rnn_loop.py").exists()
    checks = re.findall(r"rnn_torch\.py\s+vs (.*?): (\S+) \(tol", r.stdout)
    assert len(checks) == 2 and all(float(err) < 1e-6 for _what, err in checks), r.stdout


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_criterion_is_the_loss_entry(backend, loss):
    """The module's criterion (the framework's stable kernel) equals the loss entry's SymPy
    definition of L = sum_t L(t), evaluated at random outputs and targets."""
    pytest.importorskip(backend, reason=f"{backend} is not installed")
    mod = framework_module(backend, RNNSpec(loss=loss))
    rng = np.random.default_rng(0)
    o = rng.normal(size=(3, 2, mod.N_OUT)) * 3
    if LOSSES[loss].target == "class":
        y = rng.integers(0, mod.N_OUT, size=(3, 2))
        vec = np.eye(mod.N_OUT)[y]
    else:
        y = vec = rng.uniform(size=(3, 2, mod.N_OUT))
    syms = sp.symbols(f"o0:{mod.N_OUT}"), sp.symbols(f"y0:{mod.N_OUT}")
    entry = LOSSES[loss]
    f = sp.lambdify(syms, entry.per_step(entry.output(list(syms[0])), list(syms[1])))
    want = sum(f(o[t, b], vec[t, b]) for t in range(3) for b in range(2))
    if backend == "torch":
        import torch
        got = float(mod.criterion(torch.tensor(o), torch.tensor(y)))
    else:
        import jax
        with jax.enable_x64(True):
            got = float(mod.criterion(o, y))
    assert abs(got - want) <= 1e-12 * abs(want)


def _loops(src: str, function: str) -> list[ast.For]:
    tree = ast.parse(src)
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    return [n for n in ast.walk(fn) if isinstance(n, ast.For)]


def _calls(loop: ast.For) -> list[str]:
    """The calls a step makes, leaving out those under ``if d_s is not None`` (a state's
    given gradient, usually None)."""
    skip = {id(c) for n in ast.walk(loop) if isinstance(n, ast.If) for b in n.body
            for c in ast.walk(b)}
    return [n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for n in ast.walk(loop) if isinstance(n, ast.Call) and id(n) not in skip]


def test_an_lstm_step_makes_one_matrix_product_each_way():
    """The committed lstm-torch module: a forward step and a backward step each make one
    matrix product (the four gates side by side), the gates' functions are two operations,
    and no backward step computes a derivative itself (the factors are made before the
    loop)."""
    src = (ROOT / "generated" / "lstm_torch_torch.py").read_text()
    (fwd,), (bwd,) = _loops(src, "_forward"), _loops(src, "_backward")
    assert _calls(fwd).count("addmm_") == 1 and _calls(bwd).count("addmm_") == 1
    assert "sigmoid_" in _calls(fwd) and len(_calls(fwd)) <= 10, _calls(fwd)
    assert not {"square_", "sigmoid_", "_tanh_", "_tanh", "neg_"} & set(_calls(bwd)), _calls(bwd)
    assert len(_calls(bwd)) <= 8, _calls(bwd)
