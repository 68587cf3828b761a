"""The one orchestrator: each stage runs once per spec and hands its result to the next.

``analyse(spec)`` unrolls, derives, derives and checks the matrix equations, and certifies the
model's catalogue, each once; ``Results`` carries all of it to the emitters (code, documents),
which compute nothing symbolic themselves. ``run`` is the main job (``symrnn run``): every
output path is planned and checked before any work starts, so a refusal costs nothing and
leaves everything as it was; files are written atomically and only after certification.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .core.chains import SHOWN_PATHS, Paths, path_jacobians
from .core.derive import Derivation, derive
from .core.equations import MatrixEquation, checked_equations
from .core.graph import Graph, unroll
from .core.zero import ZeroTest
from .functions import LOSSES
from .io import MARKER, OutputError, check_writable, examine, write_atomic
from .models import get_model
from .models.base import Model
from .spec import INSTANCE_SIZE, INSTANCE_TAU, LIMITS, RNNSpec

FORMS = ("loop", "unrolled")
STAGES = ("unroll", "derive", "equations", "certify", "codegen", "analysis", "latex", "pdf",
          "write", "check")


@dataclass
class Results:
    """Everything the symbolic stages computed for one spec, computed once."""

    spec: RNNSpec
    model: Model
    graph: Graph
    derivation: Derivation
    equations: list[MatrixEquation]
    certificate: object = None
    timings: dict[str, float] = field(default_factory=dict)
    chains: dict = field(default_factory=dict)  # matrix parameter -> paths from L(tau)
    chain_counts: dict = field(default_factory=dict)  # matrix parameter -> how many paths
    single_path: dict = field(default_factory=dict)  # parameter -> every L(t) reaches it once
    jacobians: list = field(default_factory=list)  # StateJacobian: the chains' factors
    zero: object = None  # the exact zero test (its cache shared by every stage)


def check_spec(spec) -> RNNSpec:
    if not isinstance(spec, RNNSpec):
        raise TypeError(f"spec must be an RNNSpec, got {type(spec).__name__}")
    return spec


def instance_spec(spec: RNNSpec, tau: int | None, size: int | None = None) -> RNNSpec:
    """The instance the cross-check runs at: ``spec`` with at most ``tau`` steps and each size
    at most ``size`` (None: as it is, within ``LIMITS``). The general proofs hold for every size
    and tau; a size cap of at least 2 keeps what matters for a verdict (size 1 or more)."""
    import dataclasses
    if size is not None and size < 2:
        raise ValueError(f"size must be at least 2 (1 would change verdicts), got {size}")
    changes = {}
    for k in ("n_in", "n_hidden", "n_out"):
        cap = LIMITS[k] if size is None else min(size, LIMITS[k])
        if getattr(spec, k) > cap:
            changes[k] = cap
    if tau is not None and spec.tau > tau:
        changes["tau"] = tau
        if spec.labels is not None:
            changes["labels"] = spec.labels[:tau]
    return dataclasses.replace(spec, **changes) if changes else spec


def require_certifiable(spec: RNNSpec) -> None:
    """Softmax over one class is constant (y^ = 1, L(t) = 0): every gradient is 0 and every
    formula would hold for nothing; refuse it."""
    if spec.loss == "softmax-ce" and spec.n_out == 1:
        raise ValueError("n_out must be at least 2 with the softmax-ce loss: the softmax of one "
                         "class is always 1, so every L(t) is 0 and every gradient vanishes; use "
                         "n_out >= 2, or the mse or bce loss")


def capped_instance(spec: RNNSpec) -> RNNSpec:
    """The instance exact checks run at: the spec itself when its sizes are within ``LIMITS``
    and its tau at most ``INSTANCE_TAU``; else each size above ``LIMITS`` capped at
    ``INSTANCE_SIZE`` and tau at ``INSTANCE_TAU`` (never below a step a printed formula names),
    as ``verify`` does: exact checks at size 16 or tau 200 take minutes, and the general proofs
    and the matrix equations hold for every size and tau."""
    size = INSTANCE_SIZE if spec.exceeds_instance_limits() else None
    needs = [f.needs_tau for f in get_model(spec.model).catalogue]
    tau = max([INSTANCE_TAU, *needs])
    if size is None and spec.tau <= tau:
        return spec
    return instance_spec(spec, tau, size)


def require_instance(spec: RNNSpec) -> None:
    """Exact element-level checks run at the spec's sizes; refuse sizes beyond ``LIMITS``."""
    over = spec.exceeds_instance_limits()
    if over:
        raise ValueError(f"exact instance checks are capped at sizes {LIMITS['n_in']}: "
                         f"{', '.join(over)}; use smaller sizes (generated code takes any size)")


@contextmanager
def _stage(timings: dict, name: str, tick: Callable[[str], None]):
    tick(name)
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def analyse(spec: RNNSpec, certify: bool = True, tick: Callable[[str], None] = lambda _s: None,
            workers: int | None = None) -> Results:
    """Unroll, derive, the matrix equations (each checked exactly), and the certificate of the
    model's catalogue (``certify``), each once."""
    check_spec(spec)
    require_instance(spec)
    model = get_model(spec.model)
    timings: dict[str, float] = {}
    with _stage(timings, "unroll", tick):
        graph = unroll(model, spec)
    with _stage(timings, "derive", tick):
        derivation = derive(graph)
    zero = ZeroTest(graph.canonical)
    with _stage(timings, "equations", tick):
        equations = checked_equations(model, derivation, zero)
    result = Results(spec, model, graph, derivation, equations, None, timings, zero=zero)
    with _stage(timings, "chains", tick):
        paths = Paths(graph)
        for p in reversed(model.params):  # V, W, U: the note's order
            if p.cols is None:
                continue
            # the shortest few (a gated cell has exponentially many at large tau) and the count
            result.chains[p.name] = paths(spec.tau, p.name, limit=SHOWN_PATHS)
            result.chain_counts[p.name] = paths.count(spec.tau, p.name)
            result.single_path[p.name] = all(
                paths.count(t, p.name) == 1 for t in range(1, spec.tau + 1))
        result.jacobians = path_jacobians(model, spec.activation, LOSSES[spec.loss], paths)
    if certify:
        with _stage(timings, "certify", tick):
            result.certificate = certificate(result, tick, workers)
    return result


def certificate(results: Results, tick: Callable[[str], None] = lambda _s: None,
                workers: int | None = None):
    """The certificate of the model's catalogue: general proofs, the instance cross-check at
    the results' spec, and the lemma's cross-check."""
    from .certificate.engine import Checker, certify_context
    from .certificate.general import General
    from .certificate.instance import Instance
    spec, model = results.spec, results.model
    require_certifiable(spec)
    loss = LOSSES[spec.loss]
    equations, derivation, scale, inst_scale = results.equations, results.derivation, 1, 1
    if spec.reduction != "sum":  # the mean: L = sum_t L(t) / (tau B), part of what is checked
        equations, derivation, scale, inst_scale = reduced(results)
    checker = Checker(General(model, spec.activation, loss, equations, scale=scale),
                      General(model, spec.activation, loss, equations, spec.sizes,
                              scale=inst_scale),
                      Instance(results.graph, derivation, results.zero, scale=inst_scale))
    if spec.reduction != "sum":  # the facts of one step's loss L(t) do not scale
        checker.G.per_step = General(model, spec.activation, loss, results.equations)
        checker.C.per_step = General(model, spec.activation, loss, results.equations,
                                     spec.sizes)
        checker.I.per_step = Instance(results.graph, results.derivation, results.zero)
    return certify_context(checker, model.catalogue,
                           progress=lambda fid: tick(f"certify: {fid}"), workers=workers,
                           heavy_first=HEAVY_FIRST, lemmas=[lemma(spec)])


#: The instance of the lemma's second cross-check: sizes pairwise different and at least 2
#: (a transposed or mixed index shows) and tau >= 3 (a gradient passes through two steps).
LEMMA_SIZES = {"tau": 4, "n_in": 2, "n_hidden": 3, "n_out": 4}


def reduced(results: Results):
    """The model with L = (1/(tau B)) sum_t L(t) (``--reduction mean``; B sequences in a
    batch, one of which the graph unrolls): its BPTT equations (every gradient scaled by
    the factor, from the seed grad_o(t) L), each checked exactly against a derivation seeded
    with the factor, that derivation, and the factor at symbolic tau and at the instance."""
    import sympy as sp
    from .core.equations import check, derive_equations
    from .naming import TAU
    spec = results.spec
    B = sp.Symbol("B", positive=True, integer=True)
    scale = 1 / (TAU * B)
    inst_scale = scale.xreplace({TAU: spec.tau})
    lo, hi = (int(x.subs(TAU, spec.tau)) for x in
              __import__("symrnn.models.base", fromlist=["steps_of"]).steps_of(
                  results.model.loss_when))
    derivation = derive(results.graph, seeds={t: inst_scale for t in range(lo, hi + 1)})
    base = LOSSES[spec.loss].grad_matrix
    eqs = derive_equations(results.model, spec.activation,
                           lambda yhat, y: scale * base(yhat, y), spec.h0 == "symbol")
    fwd = results.graph.forward_subs()
    for eq in eqs:
        if not check(eq, derivation, results.zero, fwd):
            from .core.equations import EquationMismatch
            raise EquationMismatch(f"matrix equation {eq.label} of the mean disagrees with "
                                   f"sympy.diff")
    return eqs, derivation, scale, inst_scale


def lemma(spec: RNNSpec) -> dict:
    """The lemma every general proof rests on, and its two cross-checks, both of which must
    agree for the certificate to be ok:

    * ``composed``: the derivation equals ``sympy.diff`` of the fully composed loss, exactly,
      on a small instance (``lemma_graph``: tau 2; ``sympy.diff`` of the composed loss grows
      too fast to go further);
    * ``forward``: at tau 4 and sizes n_in 2, n_hidden 3, n_out 4 (``LEMMA_SIZES``), where a
      transposed or mixed index would show, every gradient of the derivation equals forward
      accumulation over the same graph, compared exactly modulo a 61-bit prime at two random
      points (``core.composed.forward_matches_reverse``: a randomized identity test whose
      false pass has probability below 1e-24)."""
    from .certificate.engine import LEMMA
    from .core.composed import (forward_matches_reverse, generic_functions,
                                matches_composed_diff)
    import sympy as sp
    from .functions import FUNCTIONS
    fixed = tuple(get_model(spec.model).fixed_functions)
    z = sp.Dummy("z", real=True)
    # a piecewise activation (relu) too: the exact comparison takes no Piecewise, and an
    # identity for an undefined function holds for every choice of it
    fixed += tuple(n for n in (spec.activation,) if n not in fixed and n in FUNCTIONS
                   and FUNCTIONS[n].phi(z).has(sp.Piecewise))
    start = time.perf_counter()
    with generic_functions(fixed):
        g = lemma_graph(spec)
        ok = matches_composed_diff(g, derive(g))
    method = ("every gradient of the derivation equals sympy.diff of the composed loss "
              "(symrnn.core.composed, exact)")
    if fixed:
        method += (f", with {', '.join(fixed)} of the model's equations as undefined "
                   f"functions (so for every choice of them)")
    composed = {"holds": ok, "tau": g.spec.tau, "sizes": g.spec.sizes, "method": method,
                "seconds": round(time.perf_counter() - start, 3)}
    start = time.perf_counter()
    import dataclasses
    big = dataclasses.replace(RNNSpec(model=spec.model, activation=spec.activation,
                                      loss=spec.loss, h0="symbol"), **LEMMA_SIZES)
    with generic_functions(fixed):
        gb = unroll(get_model(big.model), big)
        ok_forward = forward_matches_reverse(gb, derive(gb))
    forward = {"holds": ok_forward, "tau": big.tau, "sizes": big.sizes,
               "method": "every gradient of the derivation (reverse accumulation) equals "
                         "forward accumulation over the same graph, each with its partials "
                         "by sympy.diff; compared exactly modulo 2^61 - 1 at two random "
                         "points (a false pass has probability below 1e-24)",
               "seconds": round(time.perf_counter() - start, 3)}
    return {"lemma": LEMMA, "taken_as_given": True,
            "cross_check": {"holds": ok and ok_forward, "tau": g.spec.tau,
                            "sizes": g.spec.sizes, "method": method,
                            "seconds": round(composed["seconds"] + forward["seconds"], 3),
                            "composed": composed, "forward": forward}}


#: The largest composed loss (SymPy operations, at tau 2 and n_hidden 2) the lemma's
#: cross-check differentiates; a larger one is checked at n_hidden 1.
LEMMA_OPS = 600


def lemma_graph(spec: RNNSpec) -> Graph:
    """The lemma's instance, unrolled: tau 2, n_in 1, n_out 2 and n_hidden 2, or n_hidden 1
    when the composed loss at n_hidden 2 is larger than ``LEMMA_OPS`` operations (its
    derivatives then take minutes: two stacked layers with sigmoid and bce, a gate times a
    state), which n_hidden 1 keeps to seconds."""
    import dataclasses

    import sympy as sp
    from .core.graph import compose
    small = RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2, activation=spec.activation,
                    loss=spec.loss, h0="symbol", model=spec.model)
    g = unroll(get_model(small.model), small)
    if sp.count_ops(compose(g, g.L)) <= LEMMA_OPS:
        return g
    small = dataclasses.replace(small, n_hidden=1)
    return unroll(get_model(small.model), small)


#: Entries that cost the most at large tau go first, so two workers finish together.
HEAVY_FIRST = ("chain.dLt_dW", "chain.dLt_dU", "chain.dLt_dV", "fwd.hidden", "chain.dL_dV",
               "bptt.grad_o", "bptt.grad_h.jacobian", "bptt.grad_h")


def code_instance(spec: RNNSpec) -> RNNSpec:
    """The small instance the equations of generated code are checked at: the matrix
    equations hold for every size and tau, so tau = 3 with sizes capped at 4 exercises each
    (with h(0) differentiated, as the code returns its gradient)."""
    return RNNSpec(tau=3, n_in=min(spec.n_in, 4), n_hidden=min(spec.n_hidden, 4),
                   n_out=min(spec.n_out, 4), activation=spec.activation, loss=spec.loss,
                   h0="symbol", model=spec.model)


def equations_for_code(spec: RNNSpec, results: Results | None = None) -> list[MatrixEquation]:
    """The checked equations code is generated from: the run's own when it has them (with
    h(0) differentiated), else those of ``code_instance``."""
    if results is not None and results.spec.h0 == "symbol" and results.spec.model == spec.model \
            and results.spec.activation == spec.activation and results.spec.loss == spec.loss:
        return results.equations
    return analyse(code_instance(spec), certify=False).equations


# ---------------------------------------------------------------- the main job

@dataclass
class FileRecord:
    path: str
    what: str
    bytes: int


@dataclass
class RunResult:
    """What ``run`` did: the certificate, the files, the checks, notes and stage timings."""

    spec: RNNSpec
    out: Path
    certificate: object = None
    files: list[FileRecord] = field(default_factory=list)
    checks: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        return self.certificate is not None and self.certificate.ok

    @property
    def checks_passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.certified and self.checks_passed and not self.failures

    def to_json(self) -> dict:
        cert = self.certificate
        return {
            "ok": self.ok,
            "spec": asdict(self.spec),
            "out": str(self.out),
            "certificate": cert.to_json(),
            "files": [asdict(f) for f in self.files],
            "checks": [c.to_json() for c in self.checks],
            "checks_passed": self.checks_passed,
            "notes": self.notes,
            "failures": self.failures,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def doc_stem(spec: RNNSpec) -> str:
    """``bptt_tau3`` (``bptt_<model>_tau3`` for another model), plus the non-default choices."""
    from .backends.numpy.emitter import module_filename
    name = module_filename(spec, "unrolled")[:-len(".py")]
    stem = spec.model_def.name.replace("-", "_")  # a cell file's model name, not its path
    head = stem + "_unrolled_"
    rest = name[len(head):]
    return "bptt_" + ("" if spec.model == RNNSpec().model else stem + "_") + rest


@dataclass
class Plan:
    """Every file ``run`` will write, decided before any work."""

    modules: dict[str, Path]
    tex: Path
    md: Path
    pdf: Path | None
    certificate: Path
    graphics: Path | None = None  # the gradient-flow plot (--analysis), next to the documents
    graph: Path | None = None  # the unrolled graph (SVG) the Markdown document shows

    def paths(self) -> list[Path]:
        return [*self.modules.values(), self.tex, self.md, *([self.pdf] if self.pdf else []),
                self.certificate, *([self.graphics] if self.graphics else []),
                *([self.graph] if self.graph else [])]


def plan(spec: RNNSpec, out: Path, forms: tuple[str, ...], pdf: bool, force: bool,
         analysis: bool = False, code: bool = True, doc_spec: RNNSpec | None = None,
         backend: str = "numpy") -> Plan:
    """The output paths, each checked writable; ``OutputError`` (one line) otherwise.
    ``doc_spec``: the instance the documents and certificate are of (default ``spec``)."""
    from .analysis import GRAPHICS
    import stat

    from .backends.registry import get_backend
    module_filename = get_backend(backend).filename
    out = Path(out)
    st = examine(out)  # a name too long, a link loop: one line, exit 2
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"--out {out} is a file, not a folder; give a folder name "
                          f"(it is created if missing)")
    probe = out
    while examine(probe) is None and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot create folder {out}: {probe} is a file")
    modules = {form: out / module_filename(spec, form) for form in forms} if code else {}
    stem = doc_stem(doc_spec or spec)
    from .document import graph_name
    p = Plan(modules, out / f"{stem}.tex", out / f"{stem}.md",
             out / f"{stem}.pdf" if pdf else None, out / f"{stem}_certificate.json",
             out / GRAPHICS if analysis else None, out / graph_name(stem))
    for path in p.paths():
        check_writable(path, force)
    return p


def run(spec: RNNSpec, out: Path | str = "symrnn-out", forms: tuple[str, ...] | None = None,
        pdf: bool = True, force: bool = False, seed: int = 0,
        tick: Callable[[str], None] = lambda _s: None, analysis: bool = False,
        backend: str = "numpy") -> RunResult:
    """Do the whole job for ``spec``; ``tick(stage)`` reports progress. ``analysis`` adds the
    gradient-flow section to the documents and writes its plot next to them. ``backend``:
    the code emitted (``symrnn.backends.registry``; ``forms`` its modules, default
    ``default_forms``: NumPy's loop and unrolled forms)."""
    from .backends.numpy.checks import DerivationOracle, check_module
    from .backends.registry import get_backend
    from .document import (LatexError, compile_pdf, document, latex_command, pdflatex_path,
                           unrolled_svg)
    from .functions import ACTIVATIONS

    check_spec(spec)
    out = Path(out)
    b = get_backend(backend)
    forms = b.default_forms if forms is None else tuple(forms)
    for form in forms:
        if form not in b.forms:
            raise ValueError(f"form must be one of {', '.join(b.forms)}, got {form!r}")
    result = RunResult(spec, out)
    want_pdf = pdf and pdflatex_path() is not None
    if pdf and not want_pdf:
        result.notes.append("pdf skipped: pdflatex is not installed (Debian: apt-get install "
                            "texlive-latex-base); pass --no-pdf to silence this note")
    elif not pdf:
        result.notes.append("pdf skipped (--no-pdf)")
    model = get_model(spec.model)
    code = not (ACTIVATIONS[spec.activation].symbolic_only and model.uses_activation)
    # exact instance checks are capped in size; the modules are written at the spec's sizes
    inst = capped_instance(spec)
    if inst.tau != spec.tau:
        result.notes.append(
            f"certificate, documents and numeric checks at tau={inst.tau}: the exact instance "
            f"checks grow with tau, so they run at most at tau {inst.tau} (as 'symrnn verify "
            f"--instance-tau'); the general proofs and the matrix equations hold for every tau, "
            f"and the NumPy modules are written for tau={spec.tau} (the loop form takes any)")
    if inst.sizes != spec.sizes:
        result.notes.append(
            f"certificate, documents and numeric checks at the instance n_in={inst.n_in}, "
            f"n_hidden={inst.n_hidden}, n_out={inst.n_out}: exact instance checks take sizes up "
            f"to {LIMITS['n_hidden']} ({', '.join(spec.exceeds_instance_limits())}), so they "
            f"run at {INSTANCE_SIZE}; the general "
            f"proofs and the matrix equations hold for every size, and the NumPy modules are "
            f"written at the sizes asked for")
    p = plan(spec, out, forms, want_pdf, force, analysis, code, doc_spec=inst, backend=backend)

    def write(path: Path, data, what: str) -> None:
        write_atomic(path, data, force)
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        result.files.append(FileRecord(str(path), what, size))

    res = analyse(inst, tick=tick)
    result.timings.update(res.timings)
    result.certificate = res.certificate

    # Generate everything in memory first, then write: an error while generating leaves
    # the folder as it was.
    modules = {}
    if not code:
        result.notes.append(f"codegen and numeric check skipped: {spec.activation} is a generic, "
                            f"undefined activation with no numeric value; use --activation tanh "
                            f"(or sigmoid, relu, identity) for NumPy modules")
    else:
        with _stage(result.timings, "codegen", tick):
            equations = equations_for_code(spec, res)
            for form in p.modules:
                tick(f"codegen: {form}")
                modules[form] = b.emit(model, spec, equations, form,
                                       b.command(spec, form, str(out)), model.catalogue)
    flow = png = None
    if analysis:
        from .analysis import analyze, figure_png
        with _stage(result.timings, "analysis", tick):
            flow = analyze()
            png = figure_png(flow)
    with _stage(result.timings, "latex", tick):
        graphics = p.graphics.name if p.graphics else None
        # each header names the command that rewrites that very file (--out included)
        tex = document(res, "tex", standalone=True, analysis=flow, graphics=graphics,
                       command=latex_command(inst, "tex", True, str(p.tex), analysis=analysis))
        md = document(res, "md", analysis=flow, graphics=graphics, graph=p.graph.name,
                      command=latex_command(inst, "md", False, str(p.md), analysis=analysis))
        graph_svg = unrolled_svg(res)
    pdf_bytes = None
    if p.pdf is not None:
        with _stage(result.timings, "pdf", tick):
            try:
                pdf_bytes = compile_pdf(tex, files={p.graphics.name: png} if png else None)
            except LatexError as e:
                result.failures.append(f"pdf: {e}")

    with _stage(result.timings, "write", tick):
        for form, text in modules.items():
            write(p.modules[form], text, b.title if len(b.forms) == 1 else
                  f"{b.title}, {form} form")
        if png is not None:  # before the documents that refer to it
            write(p.graphics, png, "gradient-flow plot (PNG)")
        write(p.graph, graph_svg, "the unrolled graph (SVG) the Markdown shows")
        write(p.tex, tex, "LaTeX, standalone article")
        write(p.md, md, "Markdown with KaTeX/MathJax math")
        if pdf_bytes is not None:
            write(p.pdf, pdf_bytes, "PDF (pdflatex)")
        write(p.certificate, certificate_json(res.certificate), "certificate, JSON")

    if modules and b.missing():
        result.notes.append(f"numeric check of the {b.title} skipped: {b.missing()}")
    elif modules:
        with _stage(result.timings, "check", tick), b.float64():
            tick("check: lambdify the derivation")
            oracle = DerivationOracle(res.graph, res.derivation)
            for form in modules:
                tick(f"check: {form}")
                if inst == spec:
                    result.checks.extend(check_module(p.modules[form], res.graph, oracle, seed))
                    continue
                # the same code at the instance's sizes (it differs only in the constants)
                import tempfile
                with tempfile.TemporaryDirectory(prefix="symrnn-check-") as tmp:
                    path = Path(tmp) / p.modules[form].name
                    path.write_text(b.emit(model, inst, equations, form, None,
                                           model.catalogue), encoding="utf-8")
                    result.checks.extend(check_module(path, res.graph, oracle, seed))
    return result


def certificate_json(cert) -> str:
    """The certificate as JSON; the marker on line 2 lets a later run overwrite it."""
    doc = {"generated_by": f"{MARKER} run; do not edit by hand", "spec": asdict(cert.spec),
           **cert.to_json()}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
