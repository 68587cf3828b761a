"""The vjp contract (TEAM.md, issue 21 item 1) is one interface in every backend: the committed
NumPy, torch and JAX modules of the note's network take the same arguments in the same order
and, given the same parameters, inputs and cotangents, return the same out, final, grads and
d_initial (float64). Each backend's own tests check it against its framework's autodiff; this
one checks that the three agree with each other, so a caller can swap backends."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from support import import_file

GENERATED = Path(__file__).resolve().parents[1] / "generated"


def positional(fn) -> list[str]:
    """The parameters a caller passes by position or by the contract's names (``validate``,
    a backend's own switch, aside)."""
    return [p.name for p in inspect.signature(fn).parameters.values() if p.name != "validate"]


@pytest.fixture(scope="module")
def modules():
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    mods = {"numpy": import_file(GENERATED / "rnn_loop.py", "contract_numpy"),
            "torch": import_file(GENERATED / "rnn_torch.py", "contract_torch"),
            "jax": import_file(GENERATED / "rnn_jax.py", "contract_jax")}
    return mods, torch, jax


def test_same_names_and_argument_order(modules):
    mods, _torch, _jax = modules
    for fn in ("vjp_forward", "vjp_backward"):
        signatures = {name: positional(getattr(m, fn)) for name, m in mods.items()}
        assert len({tuple(s) for s in signatures.values()}) == 1, (fn, signatures)
    assert positional(mods["numpy"].vjp_forward) == ["params", "x", "h0"]
    assert positional(mods["numpy"].vjp_backward) == ["params", "tape", "d_out", "d_final"]


def test_same_values(modules):
    mods, torch, jax = modules
    rng = np.random.default_rng(7)
    tau, batch = 5, 3
    params = {k: rng.standard_normal(s) * 0.5 for k, s in mods["numpy"].PARAM_SHAPES.items()}
    x = rng.standard_normal((tau, batch, mods["numpy"].N_IN))
    h0 = rng.standard_normal((batch, mods["numpy"].N_HIDDEN))
    d_out = {"o": rng.standard_normal((tau, batch, mods["numpy"].N_OUT)),
             "h": rng.standard_normal((tau, batch, mods["numpy"].N_HIDDEN))}
    d_final = {"h0": rng.standard_normal((batch, mods["numpy"].N_HIDDEN))}

    def run(name, convert):
        m = mods[name]
        out, final, tape = m.vjp_forward(convert(params), convert(x), h0=convert(h0))
        grads, d_initial = m.vjp_backward(convert(params), tape, convert(d_out),
                                          convert(d_final))
        return [{k: np.asarray(v) for k, v in d.items()}
                for d in (out, final, grads, d_initial)]

    def to_torch(v):
        if isinstance(v, dict):
            return {k: to_torch(a) for k, a in v.items()}
        return torch.tensor(v, dtype=torch.float64)

    expected = run("numpy", lambda v: v)
    got = {"torch": run("torch", to_torch)}
    with jax.enable_x64(True):
        got["jax"] = run("jax", lambda v: v)
    for backend, parts in got.items():
        for what, mine, theirs in zip(("out", "final", "grads", "d_initial"), parts, expected):
            assert mine.keys() == theirs.keys(), (backend, what)
            for k in theirs:
                np.testing.assert_allclose(mine[k], theirs[k], rtol=1e-10, atol=1e-12,
                                           err_msg=f"{backend} {what}[{k!r}]")
