"""symrnn: symbolic BPTT for the vanilla RNN of Goodfellow, Bengio and Courville, chapter 10.

Pipeline: spec -> unrolled graph -> derivation -> certificate -> emitters (NumPy, LaTeX) -> CLI.
"""

from .spec import RNNSpec
from .graph import unroll
from .derive import derive, matrix_equations
from .certificate import Certificate, certify
from .emit_numpy import CodegenSpec, emit_numpy
from .document import to_latex

__all__ = ["RNNSpec", "unroll", "derive", "matrix_equations", "certify", "Certificate",
           "emit_numpy", "CodegenSpec", "to_latex"]
