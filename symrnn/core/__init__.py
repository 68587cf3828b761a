"""The symbolic core: unrolling, the element-level derivation, exact zero tests and the
matrix-level BPTT equations. Every stage takes a model definition (``symrnn.models``)."""
