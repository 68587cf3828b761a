"""The Python API: one function per stage, each computing what it needs once.

    import symrnn
    spec = symrnn.RNNSpec(tau=3)                  # model, sizes, activation, loss, h0
    cert = symrnn.certify(spec)                   # .entries, .ok, .to_json(); LaTeX in Jupyter
    eqs = symrnn.matrix_equations(spec)           # BPTT in matrix form, each checked exactly
    code = symrnn.emit_numpy(spec, form="loop")   # module source (NumPy only)
    code = symrnn.emit_torch(spec)                # module source (torch only; emit_jax: JAX)
    tex = symrnn.to_latex(spec, standalone=True)  # the document

To compute everything once and hand it to several emitters, use ``symrnn.analyse(spec)`` and
pass its ``Results`` on (``to_latex(spec, results=...)``).
"""

from __future__ import annotations

from .core.graph import Graph
from .core.graph import unroll as _unroll
from .models import get_model
from .spec import LIMITS, check_int
from .pipeline import (Results, analyse, check_spec, equations_for_code, instance_spec,
                       require_instance)


def _choices(values) -> str:
    """'a', 'b' or 'c'."""
    quoted = [repr(v) for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def document_formats() -> tuple[str, ...]:
    """The formats ``to_latex`` writes: the document's (tex, md) and the notebook."""
    from .document import FORMATS
    return (*FORMATS, "ipynb")


def _check_type(name: str, value, types: tuple, expected: str):
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def unroll(spec) -> Graph:
    """The unrolled element-level graph of ``spec``."""
    check_spec(spec)
    require_instance(spec)
    return _unroll(get_model(spec.model), spec)


def derive(spec) -> Results:
    """Unroll, derive and the matrix equations, without the certificate."""
    return analyse(check_spec(spec), certify=False)


def matrix_equations(spec) -> list:
    """BPTT in matrix form for ``spec``, each equation checked exactly against the
    element-level derivation."""
    return analyse(check_spec(spec), certify=False).equations


def certify(spec, progress=None, workers: int | None = None, instance_tau: int | None = None,
            instance_size: int | None = None, accept_instance: bool = False):
    """The certificate of the model's printed formulas (the note's for ``rnn``): each proved
    for every size and tau where it holds, and cross-checked at the spec's instance (at most
    ``instance_tau`` steps and sizes at most ``instance_size`` when given, and always within
    ``symrnn.spec.LIMITS``). ``accept_instance``: count a formula that agrees at the instance
    only (no proof for every size and tau) as holding in ``ok``; the certificate says so."""
    tick = (lambda s: progress(s[len("certify: "):]) if s.startswith("certify: ") else None) \
        if progress else (lambda _s: None)
    check_spec(spec)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function of one str or None, got "
                        f"{type(progress).__name__}")
    if workers is not None:
        check_int("workers", workers, 1, 64)
    if instance_size is not None:
        check_int("instance_size", instance_size, 2, LIMITS["n_hidden"])
    if instance_tau is not None:
        check_int("instance_tau", instance_tau, 1, LIMITS["tau"])
        # never below the step a printed formula names (dL(3)/dW)
        needs = [f.needs_tau for f in get_model(spec.model).catalogue]
        instance_tau = max([instance_tau, *needs])
    instance = instance_spec(spec, instance_tau, instance_size)
    cert = analyse(instance, tick=tick, workers=workers).certificate
    _check_type("accept_instance", accept_instance, (bool,), "True or False")
    cert.spec, cert.instance = spec, instance
    cert.accept_instance = accept_instance
    return cert


def emit_numpy(spec, form: str = "loop", command: str | None = None,
               results: Results | None = None, every: int | None = None,
               inputs: str = "vector", as_module: bool = False):
    """Python source of a NumPy-only module with ``forward``, ``loss``, ``loss_and_grad``,
    ``vjp_forward``/``vjp_backward`` and ``init_params`` (any size; the equations are checked
    at a small instance, or taken from ``results``). ``form``: "loop", "unrolled" or
    "checkpointed" (``every``: its checkpoint interval); ``inputs``: "vector" (x(t) a float
    vector) or "index" (x(t) an integer class index). ``as_module=True``: the module itself,
    imported from the source (``symrnn.load`` imports a written file)."""
    from .backends.numpy.emitter import FORMS, INPUTS, emit_numpy as _emit
    check_spec(spec)
    _check_type("form", form, (str,), _choices(FORMS))
    _check_type("command", command, (str, type(None)), "a str or None")
    _check_type("inputs", inputs, (str,), _choices(INPUTS))
    _check_type("as_module", as_module, (bool,), "True or False")
    model = get_model(spec.model)
    src = _emit(model, spec, equations_for_code(spec, results), form, command,
                catalogue=model.catalogue, every=every, inputs=inputs)
    if not as_module:
        return src
    from .backends.numpy.emitter import module_filename
    return _module_from_source(src, module_filename(spec, form, every, inputs)[:-len(".py")])


def _module_from_source(src: str, name: str):
    """A module object executed from generated source (not registered in sys.modules)."""
    import types
    module = types.ModuleType(name)
    module.__file__ = f"<symrnn {name}>"
    exec(compile(src, module.__file__, "exec"), module.__dict__)
    return module


def load(path):
    """Import the module file at ``path`` (one ``symrnn codegen`` wrote) and return it, without
    touching ``sys.modules`` or ``sys.path``: ``m = symrnn.load("out/rnn_loop.py")``."""
    import importlib.util
    from pathlib import Path
    _check_type("path", path, (str, Path), "a path (str or pathlib.Path)")
    p = Path(path)
    if p.suffix != ".py" or not p.is_file():
        raise ValueError(f"path: expected a Python file written by symrnn codegen, got {str(p)!r}")
    spec = importlib.util.spec_from_file_location(p.stem, p)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit_torch(spec, command: str | None = None, results: Results | None = None) -> str:
    """Python source of a module importing only torch: ``apply`` (an autograd.Function whose
    backward is the checked BPTT), an ``nn.Module``, ``loss``, ``loss_and_grad`` and the vjp
    passes (any size and tau)."""
    return _emit_framework("torch", spec, command, results)


def emit_jax(spec, command: str | None = None, results: Results | None = None) -> str:
    """Python source of a module importing only JAX: ``apply`` (a jax.custom_vjp whose
    forward and backward passes are lax.scan loops), ``loss``, ``loss_and_grad`` and the vjp
    passes (any size and tau)."""
    return _emit_framework("jax", spec, command, results)


def _emit_framework(backend: str, spec, command, results) -> str:
    from .backends.registry import get_backend
    check_spec(spec)
    _check_type("command", command, (str, type(None)), "a str or None")
    model = get_model(spec.model)
    b = get_backend(backend)
    return b.emit(model, spec, equations_for_code(spec, results), b.forms[0], command,
                  model.catalogue)


def to_latex(spec, standalone: bool = False, fmt: str = "tex", command: str | None = None,
             analysis=False, graphics: str | None = "gradient_flow.png",
             results: Results | None = None, lang: str = "en", graph: str | None = None) -> str:
    """The document for ``spec``: a fragment to ``\\input`` (default), a complete article
    (``standalone``), or Markdown (``fmt="md"``), in English (``lang="en"``) or Chinese
    (``"zh"``). ``analysis``: ``True`` adds the gradient-flow section with ``symrnn
    analyze``'s defaults, or pass an ``Analysis``. ``graph``: the file name of the unrolled
    graph's SVG next to a Markdown document (``symrnn.document.unrolled_svg`` draws it)."""
    from .analysis import Analysis, analyze
    from .document import document
    check_spec(spec)
    _check_type("fmt", fmt, (str,), _choices(document_formats()))
    _check_type("standalone", standalone, (bool,), "True or False")
    _check_type("command", command, (str, type(None)), "a str or None")
    _check_type("graphics", graphics, (str, type(None)), "a file name or None")
    if results is None:
        results = analyse(spec)
    elif not isinstance(results, Results) or results.spec != spec:
        raise ValueError("results must be the symrnn.analyse(spec) of the same spec")
    if analysis is True:
        analysis = analyze()
    elif analysis is False or analysis is None:
        analysis = None
    elif not isinstance(analysis, Analysis):
        raise TypeError(f"analysis must be True, False or an Analysis, got "
                        f"{type(analysis).__name__}")
    return document(results, fmt, standalone, analysis, graphics if analysis else None,
                    command, lang, graph=graph)
