"""The JAX sharding test's process (``test_sharding.py`` starts it with
XLA_FLAGS=--xla_force_host_platform_device_count=2, which must be set before JAX starts).

    python shard_worker.py MODULE.py DATA.npz

Runs the emitted module's ``apply`` and ``jax.value_and_grad(loss)`` under jax.jit with the
batch sharded over the two host devices, and unsharded, and prints one JSON line: the
devices, how the inputs and outputs were laid out, and the largest relative differences."""

from __future__ import annotations

import importlib.util
import json
import sys

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from jax.sharding import Mesh, NamedSharding, PartitionSpec  # noqa: E402


def rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-300))


def main(module_path: str, data_path: str) -> None:
    spec = importlib.util.spec_from_file_location("emitted", module_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = np.load(data_path)
    P = {k[2:]: data[k] for k in data.files if k.startswith("P_")}
    x, y, h0 = data["x"], data["y"], data["h0"]

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    rows = NamedSharding(mesh, PartitionSpec(None, "batch"))       # (tau, batch, ...)
    per_seq = NamedSharding(mesh, PartitionSpec("batch"))          # (batch, n)
    replicated = NamedSharding(mesh, PartitionSpec())
    xs, ys = jax.device_put(x, rows), jax.device_put(y, rows)
    h0s = jax.device_put(h0, per_seq)
    Ps = jax.device_put(P, replicated)

    value_and_grad = jax.jit(jax.value_and_grad(mod.loss, argnums=(0, 3)))
    L_s, (g_s, gh_s) = value_and_grad(Ps, xs, ys, h0s)
    out_s, final_s = jax.jit(mod.apply)(Ps, xs, h0=h0s)
    cpu = jax.devices()[0]
    L_u, (g_u, gh_u) = value_and_grad(*jax.device_put((P, x, y, h0), cpu))
    out_u, final_u = jax.jit(mod.apply)(*jax.device_put((P, x), cpu), h0=jax.device_put(h0, cpu))

    errs = {"loss": rel(L_s, L_u), "h0": rel(gh_s, gh_u)}
    errs.update({f"grad_{k}": rel(g_s[k], g_u[k]) for k in g_u})
    errs.update({f"out_{k}": rel(out_s[k], out_u[k]) for k in out_u})
    errs.update({f"final_{k}": rel(final_s[k], final_u[k]) for k in final_u})
    print(json.dumps({
        "devices": len(jax.devices()),
        "x_devices": len(xs.sharding.device_set),
        "out_devices": len(out_s["o"].sharding.device_set),
        "out_sharded_over_batch": not out_s["o"].sharding.is_fully_replicated,
        "errors": errs,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
