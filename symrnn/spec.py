"""What to unroll: the model, the sequence length tau, the sizes, activation, loss, h(0), labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from .functions import ACTIVATIONS, LOSSES, REDUCTIONS
from .models import DEFAULT, get_model

H0_KINDS = ("zeros", "symbol")
#: Exact instance checks (element level) grow with the sizes and tau; the instance a run
#: checks at is capped by these (the matrix equations and the code hold for every size).
LIMITS = {"tau": 1024, "n_in": 16, "n_hidden": 16, "n_out": 16}
#: The sizes an instance cross-check runs at when the spec's are beyond ``LIMITS`` (or when
#: ``verify`` caps them): the general proofs hold for every size, and 4 (at least 2) keeps
#: every verdict's size class.
INSTANCE_SIZE = 4
#: The seed of the default class labels (``RNNSpec.class_labels``).
LABELS_SEED = 10
#: The largest tau an instance cross-check runs at by default (``verify --instance-tau``, and
#: ``run`` beyond it): the general proofs do not depend on tau, and the element-level checks
#: grow with it (tau 200 takes minutes).
INSTANCE_TAU = 16
#: Sizes for generated code, which certifies nothing itself.
CODE_LIMIT = 100_000


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """The one integer validator: TypeError for a non-integer, ValueError out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        rng = f"in {low}..{high}" if high is not None else f">= {low}"
        raise TypeError(f"{name} must be an integer {rng}, got {value!r} "
                        f"({type(value).__name__})")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


@dataclass(frozen=True)
class RNNSpec:
    """A registered model (``model``, the note's ``rnn`` by default) unrolled for ``tau`` steps.

    ``labels`` are the class labels y(1..tau) for the softmax loss (default: drawn at random
    with a fixed seed, ``class_labels``);
    vector targets (mse, bce) stay symbolic. ``h0`` is "zeros" or "symbol": every initial
    value the model reads (h(0), o(0), ...) is zero, or a given vector that is differentiated.
    Sizes go up to ``CODE_LIMIT``; exact instance checks cap them (``LIMITS``).
    """

    tau: int = 3
    n_in: int = 3
    n_hidden: int = 4
    n_out: int = 3
    activation: str = "tanh"
    loss: str = "softmax-ce"
    h0: str = "symbol"
    labels: tuple[int, ...] | None = field(default=None)
    model: str = DEFAULT
    #: how the per-step losses make L: "sum" (the note's L) or "mean" (over steps and batch);
    #: the derivation is of the sum, code and documents scale it (``functions.REDUCTIONS``)
    reduction: str = "sum"

    def __post_init__(self) -> None:
        get_model(self.model)
        check_int("tau", self.tau, 1, LIMITS["tau"])
        for name in ("n_in", "n_hidden", "n_out"):
            check_int(name, getattr(self, name), 1, CODE_LIMIT)
        for name, table in (("activation", ACTIVATIONS), ("loss", LOSSES),
                            ("reduction", REDUCTIONS)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in table:
                raise ValueError(f"{name} must be one of {', '.join(table)}, got {value!r}")
        self.model_def.check_activation(self.activation)
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
                check_int(f"labels[{t}]", y, 0, self.n_out - 1)

    @property
    def model_def(self):
        return get_model(self.model)

    @property
    def sizes(self) -> dict[str, int]:
        return {"n_in": self.n_in, "n_hidden": self.n_hidden, "n_out": self.n_out}

    @property
    def class_labels(self) -> tuple[int, ...]:
        """y(1..tau) as class indices: ``labels``, or by default drawn at random with the fixed
        seed ``LABELS_SEED`` (recorded in the certificate), so an instance check does not
        lean on a pattern (labels of period n_out would let y(t - n_out) pass for y(t)).
        The draws for tau are a prefix of those for tau + 1."""
        if self.labels is not None:
            return self.labels
        import random
        rng = random.Random(LABELS_SEED)
        return tuple(rng.randrange(self.n_out) for _ in range(self.tau))

    @property
    def labels_seed(self) -> int | None:
        """The seed the default labels are drawn with (None when ``labels`` are given)."""
        return None if self.labels is not None else LABELS_SEED

    def exceeds_instance_limits(self) -> list[str]:
        """The sizes above what an exact instance check takes (empty: within)."""
        return [f"{k} = {getattr(self, k)} > {LIMITS[k]}" for k in ("n_in", "n_hidden", "n_out")
                if getattr(self, k) > LIMITS[k]]

    def describe(self) -> str:
        head = "" if self.model == DEFAULT else f"model={self.model}, "
        return (f"{head}tau={self.tau}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"n_out={self.n_out}, activation={self.activation}, loss={self.loss}, "
                f"h0={self.h0}" + ("" if self.reduction == "sum" else
                                   f", reduction={self.reduction}"))
