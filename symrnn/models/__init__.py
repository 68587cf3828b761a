"""The registry of models: a new model is one module here and one entry in ``MODELS``."""

from . import gru, gru_torch, lstm, lstm_torch, output_recurrence, rnn
from .base import Model

MODELS: dict[str, Model] = {m.name: m for m in (rnn.MODEL, output_recurrence.MODEL,
                                          lstm.MODEL, lstm_torch.MODEL, gru.MODEL, gru_torch.MODEL)}
DEFAULT = "rnn"


def get_model(name: str) -> Model:
    """The registered model called ``name`` (ValueError listing the known names otherwise)."""
    if not isinstance(name, str):
        raise TypeError(f"model must be a name (str), got {type(name).__name__}")
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    return MODELS[name]
