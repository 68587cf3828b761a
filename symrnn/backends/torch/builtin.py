"""Which models compute what a PyTorch built-in cell computes, and how their parameters map
to its weights (the converters ``from_torch``/``to_torch`` of the emitted torch module).

``lstm-torch`` is ``nn.LSTM`` (one layer) and ``gru-torch`` is ``nn.GRU``: ``weight_ih_l0``
stacks the input weights of the gates in torch's order (i, f, g, o; r, z, n), ``weight_hh_l0``
the recurrent ones, and each bias likewise. ``rnn`` is ``nn.RNN`` with tanh or relu: one bias b
for torch's two, b = bias_ih_l0 + bias_hh_l0 (``to_torch`` puts b in bias_ih_l0 and zeros in
bias_hh_l0). The output layer o(t) = c + V h(t) is an ``nn.Linear(n_hidden, n_out)``.
The tests check each against the built-in cell itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Builtin:
    cls: str  # torch.nn.LSTM, GRU or RNN
    kwargs: str  # constructor arguments beyond the sizes
    #: torch's weight name -> our parameters stacked along its rows, in order (None: zeros)
    weights: tuple[tuple[str, tuple[str, ...] | None], ...]
    #: torch's weight added into ours when reading it (bias_hh_l0 into b for nn.RNN)
    folded: tuple[tuple[str, str], ...] = ()


def _gated(gates: str) -> tuple:
    return tuple((f"{kind}_l0", tuple(f"{prefix}{g}" for g in gates))
                 for kind, prefix in (("weight_ih", "W_i"), ("weight_hh", "W_h"),
                                      ("bias_ih", "b_i"), ("bias_hh", "b_h")))


BUILTINS = {
    "lstm-torch": Builtin("LSTM", "", _gated("ifgo")),
    "gru-torch": Builtin("GRU", "", _gated("rzn")),
    "rnn": Builtin("RNN", "nonlinearity={activation!r}",
                   (("weight_ih_l0", ("U",)), ("weight_hh_l0", ("W",)), ("bias_ih_l0", ("b",)),
                    ("bias_hh_l0", None)), folded=(("bias_hh_l0", "b"),)),
}
#: The activations nn.RNN offers.
RNN_NONLINEARITIES = ("tanh", "relu")


def converter(model, spec) -> dict | None:
    """What the template needs to write ``from_torch``/``to_torch`` for ``model``, or None
    when no built-in cell computes it (another model, or nn.RNN with an activation it lacks)."""
    b = BUILTINS.get(model.name)
    if b is None or (model.name == "rnn" and spec.activation not in RNN_NONLINEARITIES):
        return None
    return {"cls": b.cls, "kwargs": b.kwargs.format(activation=spec.activation),
            "weights": b.weights, "folded": b.folded}
