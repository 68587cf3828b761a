"""The registry of models: a new model is one module here and one entry in ``MODELS``."""

from . import (bidirectional, deep, gru, gru_torch, lstm, lstm_torch, output_recurrence, rnn,
               single_output, teacher_forcing)
from .base import Model

MODELS: dict[str, Model] = {m.name: m for m in (
    rnn.MODEL, output_recurrence.MODEL, single_output.MODEL, teacher_forcing.MODEL,
    bidirectional.MODEL, deep.MODEL, lstm.MODEL, lstm_torch.MODEL, gru.MODEL, gru_torch.MODEL)}
DEFAULT = "rnn"


def get_model(name: str) -> Model:
    """The registered model called ``name`` (ValueError listing the known names otherwise)."""
    if not isinstance(name, str):
        raise TypeError(f"model must be a name (str), got {type(name).__name__}")
    if name not in MODELS and name.endswith(".toml"):
        return _cell(name)
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, or the path of a cell "
                         f"file ending in .toml, got {name!r}")
    return MODELS[name]


_CELLS: dict[tuple, Model] = {}


def _cell(path: str) -> Model:
    """The model of a cell file, read once per (path, modification time, size)."""
    import os
    from .cell import load_cell
    try:
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return load_cell(path)  # raises the one-line error
    if key not in _CELLS:
        _CELLS[key] = load_cell(path)
    return _CELLS[key]
