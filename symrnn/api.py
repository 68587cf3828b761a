"""The Python API: one function per stage, each computing what it needs once.

    import symrnn
    spec = symrnn.RNNSpec(tau=3)                  # model, sizes, activation, loss, h0
    cert = symrnn.certify(spec)                   # .entries, .ok, .to_json(); LaTeX in Jupyter
    eqs = symrnn.matrix_equations(spec)           # BPTT in matrix form, each checked exactly
    code = symrnn.emit_numpy(spec, form="loop")   # module source (NumPy only)
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
               results: Results | None = None, every: int | None = None) -> str:
    """Python source of a NumPy-only module with ``forward``, ``loss`` and ``loss_and_grad``
    (any size; the equations are checked at a small instance, or taken from ``results``).
    ``form``: "loop", "unrolled" or "checkpointed" (``every``: its checkpoint interval)."""
    from .backends.numpy.emitter import emit_numpy as _emit
    check_spec(spec)
    _check_type("form", form, (str,), "'loop' or 'unrolled'")
    _check_type("command", command, (str, type(None)), "a str or None")
    model = get_model(spec.model)
    return _emit(model, spec, equations_for_code(spec, results), form, command,
                 catalogue=model.catalogue, every=every)


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
    _check_type("fmt", fmt, (str,), "'tex' or 'md'")
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
