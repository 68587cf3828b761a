"""A JAX printer for matrix-level equations in batched layout: SymPy's ``JaxPrinter`` with the
row algebra of ``symrnn.backends.rows`` (W h -> h @ W.T, diag(d) g -> d * g, ...), printing
``jnp.`` for ``jax.numpy``. Arrays stay (steps, batch, n), never flattened, so a batch
sharded over devices stays sharded: a weight gradient is ``jnp.einsum("tbi,tbj->ij", g, v)``
and a bias gradient ``g.sum((0, 1))``. A function is printed from its SymPy definition: 1/(1 + exp(-u))
as ``jax.nn.sigmoid(u)``, Piecewise((u, u > 0), (0, True)) as ``jax.nn.relu(u)``.
"""

from __future__ import annotations

from sympy.printing.numpy import JaxPrinter

from ..rows import RowAlgebra, paren, unparen


class JaxRowPrinter(RowAlgebra, JaxPrinter):
    printmethod = "_symrnn_jaxcode"
    _module = "jnp"
    _kf = {k: "jnp." + v.rsplit(".", 1)[-1] for k, v in JaxPrinter._kf.items()}
    _default_settings = {**JaxPrinter._default_settings, "names": {}, "summed": False,
                         "transposes": {}}

    def _sigmoid(self, code: str) -> str:
        return f"jax.nn.sigmoid({unparen(code)})"

    def _relu(self, code: str) -> str:
        return f"jax.nn.relu({unparen(code)})"

    def _sum_rows(self, code: str) -> str:
        return f"{paren(code)}.sum((0, 1))"

    def _sum_outer(self, g: str, v: str) -> str:
        return f'jnp.einsum("tbi,tbj->ij", {unparen(g)}, {unparen(v)})'



def print_jax(expr, names: dict, summed: bool = False, transposes: dict | None = None) -> str:
    return JaxRowPrinter({"names": names, "summed": summed,
                          "transposes": transposes or {}}).doprint(expr)
