"""The code backends: one entry each, so the command line and the main job treat them alike.

A backend is one folder (``symrnn/backends/<name>/``: printer, emitter; ``templates/<name>/``)
and one entry here: its forms (NumPy has loop, unrolled and checkpointed modules; torch and
JAX one module each, for any tau), the file name and regenerate command of a module, the
emitter, and what the numeric check of an emitted module needs (its framework installed, and
JAX's float64). The modules of every backend offer ``loss(params, x, y, ...)`` and
``loss_and_grad(params, x, y, ...)`` on NumPy arrays, so one numeric check
(``symrnn.backends.numpy.checks.check_module``) serves them all.
"""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

from .files import codegen_command, module_filename


@dataclass(frozen=True)
class Backend:
    name: str
    title: str  # what a module of it is, for people
    forms: tuple[str, ...]
    default_forms: tuple[str, ...]  # what ``symrnn run`` writes
    framework: str | None  # the module it imports besides NumPy (None: NumPy itself)
    emit: Callable  # (model, spec, equations, form, command, catalogue, every) -> source
    filename: Callable  # (spec, form, every) -> file name
    command: Callable  # (spec, form, out, every) -> the shell-quoted regenerate command
    extra: str = ""  # the pip extra that installs its framework

    def missing(self) -> str | None:
        """Why the emitted modules cannot run here, or None."""
        if self.framework and importlib.util.find_spec(self.framework) is None:
            return (f"{self.framework} is not installed (pip install -e \".[{self.extra}]\")")
        return None

    @contextlib.contextmanager
    def float64(self):
        """The context in which the module computes in float64 (JAX: x64 enabled)."""
        if self.name == "jax":
            import jax
            with jax.enable_x64(True):
                yield
        else:
            yield


def _numpy_emit(model, spec, equations, form, command, catalogue, every=None):
    from .numpy.emitter import emit_numpy
    return emit_numpy(model, spec, equations, form, command=command, catalogue=catalogue,
                      every=every)


def _numpy_filename(spec, form, every=None):
    from .numpy.emitter import module_filename
    return module_filename(spec, form, every)


def _numpy_command(spec, form, out=None, every=None):
    from .numpy.emitter import codegen_command
    return codegen_command(spec, form, out, every)


def _framework(backend: str):
    """The emit, file-name and command functions of the torch or JAX backend (one module,
    for any tau: no form)."""
    def emit(model, spec, equations, form, command, catalogue, every=None):
        if backend == "torch":
            from .torch.emitter import emit_torch as emitter
        else:
            from .jax.emitter import emit_jax as emitter
        return emitter(model, spec, equations, command=command, catalogue=catalogue)

    def filename(spec, form=None, every=None):
        return module_filename(spec, backend)

    def command(spec, form=None, out=None, every=None):
        return codegen_command(spec, out, backend)
    return emit, filename, command


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("numpy", "NumPy module", ("loop", "unrolled", "checkpointed"), ("loop", "unrolled"),
            None, _numpy_emit, _numpy_filename, _numpy_command),
    Backend("torch", "PyTorch module", ("torch",), ("torch",), "torch", *_framework("torch"),
            "torch"),
    Backend("jax", "JAX module", ("jax",), ("jax",), "jax", *_framework("jax"), "jax"),
)}
DEFAULT = "numpy"


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return BACKENDS[name]
