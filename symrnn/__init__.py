"""symrnn: symbolic BPTT for the recurrent networks of *Deep Learning*, chapter 10.

Data path: a model definition (``symrnn.models``) -> unrolled graph -> derivation -> matrix
equations -> certificate -> emitters (``symrnn.backends.numpy``, ``symrnn.document``) -> CLI.
See docs/architecture.md.
"""

from .api import (certify, derive, emit_jax, emit_numpy, emit_torch, load, matrix_equations,
                  to_latex, unroll)
from .models import MODELS, get_model
from .pipeline import Results, analyse
from .spec import RNNSpec

__all__ = ["RNNSpec", "MODELS", "get_model", "analyse", "Results", "unroll", "derive",
           "matrix_equations", "certify", "emit_numpy", "emit_torch", "emit_jax", "load",
           "to_latex"]
