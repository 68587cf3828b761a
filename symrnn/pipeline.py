"""The main job (``symrnn run``): unroll, derive, certify, emit NumPy and LaTeX, check.

Every output path is planned and checked before any work starts, so a refusal (a foreign
file, a file where a folder should be) costs nothing and leaves everything as it was.
Files are written atomically and only after certification, so an interruption leaves either
the previous files or the new ones.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .io import MARKER, OutputError, check_writable, write_atomic
from .spec import RNNSpec

FORMS = ("loop", "unrolled")
STAGES = ("unroll", "derive", "certify", "codegen", "analysis", "latex", "pdf", "write", "check")


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
            "certificate": {"ok": cert.ok, "summary": cert.summary(), "entries": cert.to_json()},
            "files": [asdict(f) for f in self.files],
            "checks": [c.to_json() for c in self.checks],
            "checks_passed": self.checks_passed,
            "notes": self.notes,
            "failures": self.failures,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def doc_stem(spec: RNNSpec) -> str:
    """``bptt_tau3`` plus the non-default choices, like the module names."""
    from .emit_numpy import module_filename
    return "bptt_" + module_filename(spec, "unrolled")[len("rnn_unrolled_"):-len(".py")]


@dataclass
class Plan:
    """Every file ``run`` will write, decided before any work."""

    modules: dict[str, Path]
    tex: Path
    md: Path
    pdf: Path | None
    certificate: Path
    graphics: Path | None = None  # the gradient-flow plot (--analysis), next to the documents

    def paths(self) -> list[Path]:
        return [*self.modules.values(), self.tex, self.md, *([self.pdf] if self.pdf else []),
                self.certificate, *([self.graphics] if self.graphics else [])]


def plan(spec: RNNSpec, out: Path, forms: tuple[str, ...], pdf: bool, force: bool,
         analysis: bool = False) -> Plan:
    """The output paths, each checked writable; ``OutputError`` (one line) otherwise."""
    from .emit_numpy import module_filename
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder name "
                          f"(it is created if missing)")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot create folder {out}: {probe} is a file")
    modules = {} if spec.activation == "phi" else {
        form: out / module_filename(spec, form) for form in forms}
    stem = doc_stem(spec)
    from .analyze import GRAPHICS
    p = Plan(modules, out / f"{stem}.tex", out / f"{stem}.md",
             out / f"{stem}.pdf" if pdf else None, out / f"{stem}_certificate.json",
             out / GRAPHICS if analysis else None)
    for path in p.paths():
        check_writable(path, force)
    return p


def run_pipeline(spec: RNNSpec, out: Path | str = "symrnn-out", forms: tuple[str, ...] = FORMS,
                 pdf: bool = True, force: bool = False, seed: int = 0,
                 tick: Callable[[str], None] = lambda _s: None,
                 analysis: bool = False) -> RunResult:
    """Do the whole job for ``spec``; ``tick(stage)`` reports progress. ``analysis`` adds the
    gradient-flow section to the documents and writes its plot next to them."""
    from .certificate import Context, certify
    from .checks import DerivationOracle, check_module
    from .derive import derive
    from .document import LatexError, compile_pdf, pdflatex_path, to_latex
    from .emit_numpy import codegen_command, emit_numpy
    from .graph import unroll

    out = Path(out)
    for form in forms:
        if form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    result = RunResult(spec, out)
    want_pdf = pdf and pdflatex_path() is not None
    if pdf and not want_pdf:
        result.notes.append("pdf skipped: pdflatex is not installed (Debian: apt-get install "
                            "texlive-latex-base); pass --no-pdf to silence this note")
    elif not pdf:
        result.notes.append("pdf skipped (--no-pdf)")
    p = plan(spec, out, forms, want_pdf, force, analysis)

    @contextmanager
    def stage(name: str):
        tick(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            result.timings[name] = result.timings.get(name, 0.0) + time.perf_counter() - start

    def write(path: Path, data, what: str) -> None:
        write_atomic(path, data, force)
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        result.files.append(FileRecord(str(path), what, size))

    with stage("unroll"):
        graph = unroll(spec)
    with stage("derive"):
        derivation = derive(graph)
    with stage("certify"):
        cert = certify(spec, progress=lambda fid: tick(f"certify: {fid}"),
                       context=Context(spec, graph, derivation))
    result.certificate = cert

    # Generate everything in memory first, then write: an error while generating leaves
    # the folder as it was.
    modules = {}
    if spec.activation == "phi":
        result.notes.append("codegen and numeric check skipped: phi is a generic, undefined "
                            "activation with no numeric value; use --activation tanh (or "
                            "sigmoid, relu, identity) for NumPy modules")
    else:
        with stage("codegen"):
            for form, path in p.modules.items():
                tick(f"codegen: {form}")
                modules[form] = emit_numpy(spec, form,
                                           command=codegen_command(spec, form, str(out)))
    flow = png = None
    if analysis:
        from .analyze import analyze, figure_png
        with stage("analysis"):
            flow = analyze()
            png = figure_png(flow)
    with stage("latex"):
        tex = to_latex(spec, standalone=True, fmt="tex", certificate=cert,
                       analysis=flow if analysis else False, graphics=p.graphics and p.graphics.name)
        md = to_latex(spec, fmt="md", certificate=cert,
                      analysis=flow if analysis else False, graphics=p.graphics and p.graphics.name)
    pdf_bytes = None
    if p.pdf is not None:
        with stage("pdf"):
            try:
                pdf_bytes = compile_pdf(tex, files={p.graphics.name: png} if png else None)
            except LatexError as e:
                result.failures.append(f"pdf: {e}")

    with stage("write"):
        for form, text in modules.items():
            write(p.modules[form], text, f"NumPy module, {form} form")
        if png is not None:  # before the documents that refer to it
            write(p.graphics, png, "gradient-flow plot (PNG)")
        write(p.tex, tex, "LaTeX, standalone article")
        write(p.md, md, "Markdown with KaTeX/MathJax math")
        if pdf_bytes is not None:
            write(p.pdf, pdf_bytes, "PDF (pdflatex)")
        write(p.certificate, certificate_json(cert), "certificate, JSON")

    if modules:
        with stage("check"):
            tick("check: lambdify the derivation")
            oracle = DerivationOracle(graph, derivation)
            for form in modules:
                tick(f"check: {form}")
                result.checks.extend(check_module(p.modules[form], spec, oracle, seed))
    return result


def certificate_json(cert) -> str:
    """The certificate as JSON; the marker on line 2 lets a later run overwrite it."""
    doc = {"generated_by": f"{MARKER} run; do not edit by hand", "spec": asdict(cert.spec),
           "ok": cert.ok, "summary": cert.summary(), "entries": cert.to_json()}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
