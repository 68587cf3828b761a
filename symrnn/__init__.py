"""symrnn: symbolic BPTT for the recurrent networks of *Deep Learning*, chapter 10.

Data path: a model definition (``symrnn.models``) -> unrolled graph -> derivation -> matrix
equations -> certificate -> emitters (``symrnn.backends.numpy``, ``symrnn.document``) -> CLI.
See docs/architecture.md.

The names below are imported on first use (PEP 562): ``import symrnn`` alone does not import
SymPy, so the command line starts, and answers ``--version``, without waiting for it.
"""

from __future__ import annotations

import importlib

#: public name -> the module that defines it
_EXPORTS = {
    "RNNSpec": ".spec", "MODELS": ".models", "get_model": ".models", "analyse": ".pipeline",
    "Results": ".pipeline", "unroll": ".api", "derive": ".api", "matrix_equations": ".api",
    "certify": ".api", "emit_numpy": ".api", "emit_torch": ".api", "emit_jax": ".api",
    "load": ".api", "to_latex": ".api",
}

__all__ = ["RNNSpec", "MODELS", "get_model", "analyse", "Results", "unroll", "derive",
           "matrix_equations", "certify", "emit_numpy", "emit_torch", "emit_jax", "load",
           "to_latex"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # once: later lookups do not come here
        return value
    raise AttributeError(f"module 'symrnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
