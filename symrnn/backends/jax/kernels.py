"""The losses in JAX: y^(t) from o(t) and L from y^ and the targets, one entry per loss of
``symrnn.functions.LOSSES`` (the tests check each against the loss's SymPy definition).

Names: ``o`` the output (steps, batch, n_out), ``labels`` (steps, batch) integer classes or
``ys`` (steps, batch, n_out) vectors. Stable for any logits (log-softmax, log(1 + e^o) by
``jnp.logaddexp``).
"""

LOSS_KERNELS = {
    "softmax-ce": ("jax.nn.softmax(o, -1)",
                   "-jnp.take_along_axis(jax.nn.log_softmax(o, -1), labels[..., None], -1).sum()"),
    "mse": ("o", "0.5 * ((o - ys)**2).sum()"),
    "bce": ("jax.nn.sigmoid(o)", "(jnp.logaddexp(0, o) - ys * o).sum()"),
}
