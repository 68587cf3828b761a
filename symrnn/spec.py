"""The network to unroll: sizes, sequence length tau, activation, loss, h(0) and labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from .functions import ACTIVATIONS, LOSSES

#: Upper limits for exact, element-level certification; beyond them SymPy needs minutes.
LIMITS = {"tau": 1024, "n_in": 16, "n_hidden": 16, "n_out": 16}
H0_KINDS = ("zeros", "symbol")


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer in {low}..{high}, got {value!r} "
                        f"({type(value).__name__})")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")


@dataclass(frozen=True)
class RNNSpec:
    """The vanilla RNN of the note (10.8-10.11), unrolled for ``tau`` steps.

    ``labels`` are the class labels y(1..tau) for the softmax loss (default: (t - 1) mod n_out);
    vector targets (mse, bce) stay symbolic. ``h0`` is "zeros" or "symbol" (a given h(0)).
    """

    tau: int = 3
    n_in: int = 3
    n_hidden: int = 4
    n_out: int = 3
    activation: str = "tanh"
    loss: str = "softmax-ce"
    h0: str = "symbol"
    labels: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("tau", "n_in", "n_hidden", "n_out"):
            _check_int(name, getattr(self, name), 1, LIMITS[name])
        for name, table in (("activation", ACTIVATIONS), ("loss", LOSSES)):
            value = getattr(self, name)
            if value not in table:
                raise ValueError(f"{name} must be one of {', '.join(table)}, got {value!r}")
        if self.h0 not in H0_KINDS:
            raise ValueError(f"h0 must be one of {', '.join(H0_KINDS)}, got {self.h0!r}")
        if self.labels is not None:
            if LOSSES[self.loss].target != "class":
                raise ValueError(f"labels are class indices for the softmax-ce loss; "
                                 f"loss {self.loss!r} takes symbolic vector targets")
            if not isinstance(self.labels, tuple) or len(self.labels) != self.tau:
                raise ValueError(f"labels must be a tuple of tau={self.tau} integers, "
                                 f"got {self.labels!r}")
            for t, y in enumerate(self.labels, start=1):
                _check_int(f"labels[{t}]", y, 0, self.n_out - 1)

    @property
    def class_labels(self) -> tuple[int, ...]:
        """y(1..tau) as class indices (the default cycles through the classes)."""
        if self.labels is not None:
            return self.labels
        return tuple((t - 1) % self.n_out for t in range(1, self.tau + 1))

    def describe(self) -> str:
        return (f"tau={self.tau}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"n_out={self.n_out}, activation={self.activation}, loss={self.loss}, "
                f"h0={self.h0}")
