"""The emitted PyTorch modules (``--backend torch``) against torch's own autograd.

The reference is autograd differentiating the model's forward pass evaluated equation by
equation with torch operations (``tests/framework_reference.py``, which reads the model, not
the emitted code). Every registered model and the example cells are checked under -m slow;
the default run checks one of each kind (the note's RNN, a framework's gated cell, a user's
cell). Skipped without torch (pip install -e ".[torch]")."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from framework_reference import (EXAMPLES, QUICK, forward, framework_module, random_problem,
                                 target_vectors, torch_ops)
from symrnn import MODELS, RNNSpec

torch = pytest.importorskip("torch", reason="torch is not installed (the torch extra: "
                                            "pip install -e '.[torch]')")

ALL = tuple(MODELS) + EXAMPLES
SWEEP = [pytest.param(m, marks=() if m in QUICK else pytest.mark.slow) for m in ALL]


def _module(model, **kw):
    return framework_module("torch", RNNSpec(model=model, **kw))


def _t(a, **kw):
    return torch.tensor(a, dtype=torch.float64, **kw)


def _ykw(mod, y) -> dict:
    """y for ``apply`` when the forward pass reads the targets (teacher forcing)."""
    return {"y": y} if "y" in inspect.signature(mod.apply).parameters else {}


def _rel(got, want) -> float:
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    return float((got - want).abs().max() / max(float(want.abs().max()), 1e-300))


def _reference(mod, model, P, x, init, y):
    """The reference forward (autograd records it) with leaves requiring gradients."""
    Pt = {k: _t(v, requires_grad=True) for k, v in P.items()}
    it = {k: _t(v, requires_grad=True) for k, v in init.items()}
    tv = None
    if _ykw(mod, y):
        tv = _t(target_vectors(model, y, mod.N_OUT, mod.LOSS))
    out, final = forward(model, mod.ACTIVATION, Pt, _t(x), it, torch_ops(), tv)
    return Pt, it, out, final


@pytest.mark.parametrize("model", SWEEP)
def test_vjp_matches_autograd(model):
    """vjp_forward's out and final, and vjp_backward's gradients for random gradients of
    every output and final state, equal autograd of the reference forward (float64, batch
    3, non-zero initial states)."""
    mod = _module(model)
    rng = np.random.default_rng(1)
    P, x, init, y = random_problem(mod, rng, tau=5, batch=3)
    ykw = _ykw(mod, y)
    Pt, it, ref_out, ref_final = _reference(mod, model, P, x, init, y)
    out, final, tape = mod.vjp_forward(P, x, **ykw, **init)
    assert set(out) == set(ref_out) and set(final) == set(ref_final)
    for k in ref_out:
        assert _rel(out[k], ref_out[k].detach()) < 1e-13, k
    d_out = {k: rng.normal(size=tuple(v.shape)) for k, v in ref_out.items()}
    d_final = {k: rng.normal(size=tuple(v.shape)) for k, v in ref_final.items()}
    s = sum((ref_out[k] * _t(d_out[k])).sum() for k in ref_out) + \
        sum((ref_final[k] * _t(d_final[k])).sum() for k in ref_final)
    leaves = {**Pt, **it}
    want = dict(zip(leaves, torch.autograd.grad(s, list(leaves.values()), allow_unused=True)))
    grads, d_init = mod.vjp_backward(P, tape, d_out, d_final)
    got = {**grads, **d_init}
    assert set(got) == set(want)
    for k, w in want.items():
        w = torch.zeros_like(got[k]) if w is None else w
        assert _rel(got[k], w) < 1e-11, (k, _rel(got[k], w))


@pytest.mark.parametrize("model", SWEEP)
def test_gradcheck(model):
    """torch.autograd.gradcheck of ``apply`` (the autograd.Function) with respect to every
    parameter and initial value, float64, with the gradients of out and final both used."""
    mod = _module(model)
    rng = np.random.default_rng(2)
    P, x, init, y = random_problem(mod, rng, tau=3, batch=2)
    ykw = _ykw(mod, torch.as_tensor(y))
    names = list(P) + list(init)
    inputs = tuple(_t(v, requires_grad=True) for v in [*P.values(), *init.values()])
    xs = _t(x)

    def f(*args):
        values = dict(zip(names, args))
        out, final = mod.apply({k: values[k] for k in P}, xs, **ykw,
                               **{k: values[k] for k in init})
        return (*out.values(), *final.values())

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("spec", [
    RNNSpec(),
    RNNSpec(activation="relu", loss="mse", reduction="mean"),
    RNNSpec(activation="sigmoid", loss="bce"),
    pytest.param(RNNSpec(activation="identity"), marks=pytest.mark.slow),
    pytest.param(RNNSpec(model="teacher-forcing"), marks=pytest.mark.slow),
    pytest.param(RNNSpec(model="single-output", loss="mse"), marks=pytest.mark.slow),
], ids=lambda s: f"{s.model}-{s.activation}-{s.loss}-{s.reduction}")
def test_loss_and_grad(spec):
    """loss_and_grad (the loss's gradient of the output, y^ - y, then the BPTT) equals
    autograd of ``loss`` (the framework's loss on ``apply``) and of the reference forward
    with the same loss; the gradient of a shared initial value (n,) is summed over the
    batch."""
    mod = framework_module("torch", spec)
    rng = np.random.default_rng(3)
    P, x, init, y = random_problem(mod, rng, tau=4, batch=3)
    init = {k: v[0] for k, v in init.items()}  # one initial value shared by the batch
    L, grads = mod.loss_and_grad(P, x, y, **init)
    Pt = {k: _t(v, requires_grad=True) for k, v in P.items()}
    it = {k: _t(v, requires_grad=True) for k, v in init.items()}
    L2 = mod.loss(Pt, _t(x), y, **it)
    leaves = {**Pt, **it}
    want = dict(zip(leaves, torch.autograd.grad(L2, list(leaves.values()))))
    assert _rel(L, L2.detach()) < 1e-13
    for k in want:
        assert grads[k].shape == want[k].shape, k
        assert _rel(grads[k], want[k]) < 1e-11, k
    # the reference forward with the same criterion
    batched = {k: np.broadcast_to(v, (3, v.shape[0])) for k, v in init.items()}
    _Pr, _ir, out, _f = _reference(mod, spec.model, P, x, batched, y)
    L3 = mod.criterion(out[list(mod.OUTPUTS)[0]], y)
    assert _rel(L, L3.detach()) < 1e-13


def test_float32_and_dtype_follow_the_inputs():
    """float32 inputs compute in float32 (outputs and gradients float32), within 1e-4 of the
    float64 result; float64 stays float64."""
    mod = _module("gru-torch")
    rng = np.random.default_rng(4)
    P, x, init, y = random_problem(mod, rng, tau=6, batch=4)
    f32 = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in P.items()}
    L32 = mod.loss(f32, torch.tensor(x, dtype=torch.float32), y)
    L32.backward()
    L64, g64 = mod.loss_and_grad(P, x, y)
    assert L32.dtype == torch.float32 and L64.dtype == torch.float64
    assert _rel(L32.detach(), L64) < 1e-5
    for k, p in f32.items():
        assert p.grad.dtype == torch.float32
        assert _rel(p.grad, g64[k]) < 1e-4, k


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    """On a GPU the same module computes on the device of x and agrees with the CPU."""
    mod = _module("gru-torch")
    rng = np.random.default_rng(5)
    P, x, init, y = random_problem(mod, rng, tau=6, batch=4)
    L, g = mod.loss_and_grad(P, x, y, **init)
    dev = torch.device("cuda")
    Pc = {k: _t(v).to(dev) for k, v in P.items()}
    Lc, gc = mod.loss_and_grad(Pc, _t(x).to(dev), torch.as_tensor(y).to(dev),
                               **{k: _t(v).to(dev) for k, v in init.items()})
    assert Lc.device.type == "cuda" and _rel(Lc.cpu(), L) < 1e-12
    for k in g:
        assert gc[k].device.type == "cuda" and _rel(gc[k].cpu(), g[k]) < 1e-10, k


def test_single_sequence_and_shared_initial_value():
    """x of one sequence (tau, n_in): out and final without the batch axis, and the same
    numbers as a batch of one."""
    mod = _module("rnn")
    rng = np.random.default_rng(6)
    P, x, init, y = random_problem(mod, rng, tau=4, batch=1)
    out1, final1 = mod.apply(P, x[:, 0], h0=init["h0"][0])
    outb, finalb = mod.apply(P, x, h0=init["h0"])
    assert out1["o"].shape == (4, mod.N_OUT) and final1["h0"].shape == (mod.N_HIDDEN,)
    assert _rel(out1["o"], outb["o"][:, 0]) == 0 and _rel(final1["h0"], finalb["h0"][0]) == 0
    L1, g1 = mod.loss_and_grad(P, x[:, 0], y[:, 0], h0=init["h0"][0])
    Lb, gb = mod.loss_and_grad(P, x, y, h0=init["h0"])
    assert g1["h0"].shape == (mod.N_HIDDEN,) and _rel(g1["h0"], gb["h0"][0]) < 1e-14


def test_windows_chain_exactly():
    """Truncated BPTT that is not truncated: the gradient of a loss over two windows, the
    second window's d_initial carried into the first's d_final, equals the gradient over
    the whole sequence."""
    mod = _module("gru-torch")
    rng = np.random.default_rng(7)
    P, x, init, y = random_problem(mod, rng, tau=8, batch=2)
    d_o = rng.normal(size=(8, 2, mod.N_OUT))
    out, final, tape = mod.vjp_forward(P, x, **init)
    whole, whole_init = mod.vjp_backward(P, tape, {"o": d_o})
    out1, final1, tape1 = mod.vjp_forward(P, x[:5], **init)
    out2, final2, tape2 = mod.vjp_forward(P, x[5:], **final1)
    g2, d2 = mod.vjp_backward(P, tape2, {"o": d_o[5:]})
    g1, d1 = mod.vjp_backward(P, tape1, {"o": d_o[:5]}, d_final=d2)
    assert _rel(torch.cat([out1["o"], out2["o"]]), out["o"]) < 1e-14
    for k in whole:
        assert _rel(g1[k] + g2[k], whole[k]) < 1e-12, k
    assert _rel(d1["h0"], whole_init["h0"]) < 1e-12


def test_model_is_an_nn_module():
    """``Model``: the parameters named as the model's, on the device and in the dtype asked
    for, initialised in +-1/sqrt(n_hidden); forward is ``apply`` and the optimizer trains it
    (the loss goes down)."""
    mod = _module("gru-torch")
    net = mod.Model(dtype=torch.float64)
    assert [n for n, _p in net.named_parameters()] == list(mod.PARAM_SHAPES)
    bound = 1 / mod.N_HIDDEN ** 0.5
    assert all(p.dtype == torch.float64 and p.abs().max() <= bound for p in net.parameters())
    rng = np.random.default_rng(8)
    x = _t(rng.normal(size=(6, 4, mod.N_IN)))
    y = torch.as_tensor(rng.integers(0, mod.N_OUT, size=(6, 4)))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        L = net.loss(x, y)
        L.backward()
        opt.step()
        losses.append(L.item())
    assert losses[-1] < 0.8 * losses[0]
    out, final = net(x)
    assert out["o"].shape == (6, 4, mod.N_OUT) and final["h0"].shape == (4, mod.N_HIDDEN)


@pytest.mark.parametrize("model, activation", [
    ("rnn", "tanh"), pytest.param("rnn", "relu", marks=pytest.mark.slow),
    ("gru-torch", "tanh"), ("lstm-torch", "tanh")])
def test_converters_match_the_builtin_cells(model, activation):
    """from_torch reads an nn.RNN / nn.GRU / nn.LSTM and its nn.Linear; with those
    parameters out["o"] equals the built-in cell's output, and the gradients (through our
    BPTT) its weights' gradients under autograd, block by block; to_torch gives the weights
    back."""
    from symrnn.backends.torch.builtin import BUILTINS
    mod = _module(model, activation=activation)
    torch.manual_seed(0)
    make = {"rnn": lambda: torch.nn.RNN(mod.N_IN, mod.N_HIDDEN, nonlinearity=activation),
            "gru-torch": lambda: torch.nn.GRU(mod.N_IN, mod.N_HIDDEN),
            "lstm-torch": lambda: torch.nn.LSTM(mod.N_IN, mod.N_HIDDEN)}[model]
    cell = make().double()
    linear = torch.nn.Linear(mod.N_HIDDEN, mod.N_OUT).double()
    params = {k: v.requires_grad_() for k, v in mod.from_torch(cell, linear).items()}
    x = torch.randn(5, 3, mod.N_IN, dtype=torch.float64)
    init = {k: torch.randn(3, n, dtype=torch.float64) for k, n in mod.INITIAL.items()}
    hx = (init["h0"][None], init["s0"][None]) if model == "lstm-torch" else init["h0"][None]
    o_ref = linear(cell(x, hx)[0])
    out, _final = mod.apply(params, x, **init)
    assert _rel(out["o"].detach(), o_ref.detach()) < 1e-13
    d = torch.randn_like(o_ref)
    (o_ref * d).sum().backward()
    (out["o"] * d).sum().backward()
    for name, ours in BUILTINS[model].weights:
        want = getattr(cell, name).grad
        if ours is None:  # nn.RNN's second bias: the same gradient as b
            ours = ("b",)
        got = torch.cat([params[k].grad for k in ours], 0)
        assert _rel(got, want) < 1e-12, name
    assert _rel(params["V"].grad, linear.weight.grad) < 1e-12
    assert _rel(params["c"].grad, linear.bias.grad) < 1e-12
    cell2, linear2 = mod.to_torch({k: v.detach() for k, v in params.items()})
    out2 = linear2(cell2(x, hx)[0])
    assert _rel(out2.detach(), o_ref.detach()) < 1e-13
    assert torch.equal(linear2.weight, linear.weight)


def test_no_converter_where_no_builtin_cell_computes_the_model():
    assert not hasattr(_module("rnn", activation="sigmoid"), "from_torch")
    assert not hasattr(_module(QUICK[2]), "from_torch")


def test_bad_input_raises_a_clear_error():
    mod = _module("rnn")
    rng = np.random.default_rng(9)
    P, x, init, y = random_problem(mod, rng, tau=3, batch=2)
    with pytest.raises(ValueError, match=r"params: expected keys U, W, V, b, c"):
        mod.apply({**P, "Wx": P["W"]}, x)
    with pytest.raises(ValueError, match=r"params\['W'\]: expected shape \(4, 4\)"):
        mod.apply({**P, "W": P["W"][:3]}, x)
    with pytest.raises(ValueError, match=r"x: expected shape \(tau, batch, 3\)"):
        mod.apply(P, x[..., :2])
    with pytest.raises(ValueError, match=r"h0: expected shape \(4,\) or \(2, 4\)"):
        mod.apply(P, x, h0=np.zeros(5))
    with pytest.raises(ValueError, match=r"x: requires a gradient"):
        mod.apply(P, _t(x, requires_grad=True))
    with pytest.raises(ValueError, match=r"y: expected labels in 0..2"):
        mod.loss(P, x, y + 3)
    with pytest.raises(ValueError, match=r"finite"):
        mod.apply({**P, "b": np.full(4, np.nan)}, x)
    with pytest.raises(ValueError, match=r"d_out: unexpected key 'q'"):
        mod.vjp_backward(P, mod.vjp_forward(P, x)[2], {"q": np.zeros(1)})


@pytest.mark.parametrize("path", ["generated/rnn_torch.py", "generated/lstm_torch_torch.py"])
def test_committed_modules_import_only_torch(path):
    """A generated torch module imports torch and the standard library's math, nothing else
    (not NumPy, not symrnn)."""
    from framework_reference import ROOT
    tree = ast.parse((ROOT / path).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"math", "torch"}
