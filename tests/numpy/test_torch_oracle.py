"""Peers as oracles: the emitted ``lstm-torch`` and ``gru-torch`` modules against PyTorch's
``nn.LSTM`` and ``nn.GRU`` themselves (weights copied, float64, batch > 1, non-zero initial
state): the loss and every gradient, parameters and initial states. Skipped without torch
(``pip install -e ".[oracle]"`` installs it)."""

from __future__ import annotations

import numpy as np
import pytest

from support import module_for
from symrnn import RNNSpec

torch = pytest.importorskip("torch", reason="torch is not installed (the optional oracle "
                                            "extra: pip install -e '.[oracle]')")

#: (model, torch class, gate order of the stacked weights, initial states (ours, torch's))
CELLS = {
    "lstm-torch": (lambda n_in, n_h: torch.nn.LSTM(n_in, n_h), ("i", "f", "g", "o"),
                   (("h0", "h"), ("s0", "c"))),
    "gru-torch": (lambda n_in, n_h: torch.nn.GRU(n_in, n_h), ("r", "z", "n"), (("h0", "h"),)),
}


def _run_torch(model, P, xs, labels, init):
    make, gates, states = CELLS[model]
    n_h, n_in = P[f"W_i{gates[0]}"].shape
    net = make(n_in, n_h).double()
    with torch.no_grad():
        for torch_name, ours in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                                 ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
            getattr(net, torch_name).copy_(torch.from_numpy(
                np.concatenate([P[ours + k] for k in gates], axis=0)))
    V = torch.tensor(P["V"], requires_grad=True)
    c = torch.tensor(P["c"], requires_grad=True)
    x = torch.tensor(xs)
    h0 = {ours: torch.tensor(init[ours][None], requires_grad=True) for ours, _t in states}
    hx = tuple(h0[ours] for ours, _t in states)
    out, _ = net(x, hx if len(hx) > 1 else hx[0])
    logits = out @ V.T + c
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             torch.tensor(labels).reshape(-1), reduction="sum")
    loss.backward()
    grads = {"V": V.grad.numpy(), "c": c.grad.numpy()}
    for torch_name, ours in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                             ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
        for k, g in zip(gates, np.split(getattr(net, torch_name).grad.numpy(), len(gates))):
            grads[ours + k] = g
    for ours, _t in states:
        grads[ours] = h0[ours].grad.numpy()[0]
    return loss.item(), grads


@pytest.mark.parametrize("tau, n_in, n_h, n_out, batch", [  # a second size with -m slow
    (5, 3, 4, 3, 2), pytest.param(7, 2, 6, 5, 4, marks=pytest.mark.slow)])
@pytest.mark.parametrize("model", list(CELLS))
def test_emitted_cell_matches_pytorch(model, tau, n_in, n_h, n_out, batch):
    rng = np.random.default_rng(tau * 100 + n_h)
    gen = module_for(RNNSpec(tau=3, n_in=n_in, n_hidden=n_h, n_out=n_out, model=model))
    P = {name: rng.normal(size=shape) * 0.5 for name, shape in gen.PARAM_SHAPES.items()}
    xs = rng.normal(size=(tau, batch, n_in))
    labels = rng.integers(0, n_out, size=(tau, batch))
    init = {name: rng.normal(size=(batch, n_h)) * 0.5 for name, _t in CELLS[model][2]}
    assert all(np.abs(v).max() > 0.1 for v in init.values())  # non-zero initial states
    L, grads = gen.loss_and_grad(P, xs, labels, **init)
    L_t, grads_t = _run_torch(model, P, xs, labels, init)
    assert abs(L - L_t) <= 1e-12 * abs(L_t)
    assert set(grads) == set(grads_t)
    for name, g in grads_t.items():
        err = np.abs(grads[name] - g).max() / max(np.abs(g).max(), 1e-300)
        assert err < 1e-12, (name, err)
