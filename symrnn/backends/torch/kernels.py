"""The losses in torch: y^(t) from o(t) and L from y^ and the targets, one entry per loss of
``symrnn.functions.LOSSES`` (the tests check each against the loss's SymPy definition).

Names: ``o`` the output (steps, batch, n_out), ``labels`` (steps, batch) integer classes or
``ys`` (steps, batch, n_out) vectors, ``yhat``. Both are stable for any logits: torch's
cross-entropy and binary cross-entropy take the logits (log-sum-exp inside).
"""

LOSS_KERNELS = {
    "softmax-ce": ("torch.softmax(o, -1)",
                   "torch.nn.functional.cross_entropy(o.reshape(-1, N_OUT), labels.reshape(-1), "
                   "reduction=\"sum\")"),
    "mse": ("o", "0.5 * ((o - ys)**2).sum()"),
    "bce": ("torch.sigmoid(o)",
            "torch.nn.functional.binary_cross_entropy_with_logits(o, ys, reduction=\"sum\")"),
}
