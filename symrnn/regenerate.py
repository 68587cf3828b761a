"""Regenerate every committed generated file: ``python -m symrnn.regenerate [--check]``.

``outputs()`` lists (relative path, producer) pairs; a producer returns the file's text or
bytes and must be deterministic (no timestamp, no version, nothing set-ordered). A new output
is one more pair here.

``--check`` (and ``check()``, used by the one freshness test) renders everything into a
temporary folder, compares with the committed files and reports a unified diff for each
difference; without it, the committed files are rewritten (atomically).
"""

from __future__ import annotations

import argparse
import difflib
import functools
import sys
import tempfile
from pathlib import Path
from typing import Callable

from .io import MANIFEST, write_atomic

ROOT = Path(__file__).resolve().parent.parent


def outputs() -> list[tuple[str, Callable[[], str | bytes]]]:
    """(path relative to the repository root, producer) for every committed output."""
    from .analysis import FILES, analyze, figure_bytes, summary_text
    from .api import emit_numpy
    from .backends.numpy.emitter import codegen_command, module_filename
    from .document import analysis_section, document, graph_name, latex_command, unrolled_svg
    from .pipeline import analyse
    from .spec import RNNSpec

    def numpy_module(spec: RNNSpec, form: str) -> tuple[str, Callable[[], str]]:
        path = f"generated/{module_filename(spec, form)}"
        return path, lambda: emit_numpy(spec, form,
                                        command=codegen_command(spec, form, "generated"))

    def framework_module(backend: str, spec: RNNSpec) -> tuple[str, Callable[[], str]]:
        from .api import emit_jax, emit_torch
        from .backends.registry import get_backend
        b = get_backend(backend)
        emit = emit_torch if backend == "torch" else emit_jax
        path = f"generated/{b.filename(spec, b.forms[0])}"
        return path, lambda: emit(spec, command=b.command(spec, b.forms[0], "generated"))

    results = functools.lru_cache(maxsize=None)(analyse)

    def doc(spec: RNNSpec, fmt: str, lang: str = "en") -> tuple[str, Callable[[], str]]:
        path = f"generated/bptt_tau{spec.tau}{'' if lang == 'en' else '.' + lang}.{fmt}"
        standalone = fmt == "tex"
        graph = graph_name(f"bptt_tau{spec.tau}") if fmt == "md" else None
        return path, lambda: document(results(spec), fmt, standalone,
                                      command=latex_command(spec, fmt, standalone, path,
                                                            lang=lang), lang=lang, graph=graph)

    flow = functools.lru_cache(maxsize=None)(analyze)
    figures = functools.lru_cache(maxsize=None)(lambda: figure_bytes(flow()))
    analysis = {
        "gradient_flow.png": lambda: figures()["png"],
        "gradient_flow.svg": lambda: figures()["svg"],
        "summary.txt": lambda: summary_text(flow()),
        "rates.json": lambda: __import__("json").dumps(flow().as_dict(), indent=1) + "\n",
        "analysis.tex": lambda: analysis_section(flow()),
    }
    if set(analysis) != set(FILES):
        raise RuntimeError(f"symrnn.analysis.FILES and the producers here differ: "
                           f"{sorted(set(analysis) ^ set(FILES))}")
    return [
        numpy_module(RNNSpec(), "loop"),
        numpy_module(RNNSpec(tau=3), "unrolled"),
        numpy_module(RNNSpec(model="output-recurrence"), "loop"),
        *[numpy_module(RNNSpec(model=m), "loop")
          for m in ("single-output", "teacher-forcing", "bidirectional", "deep")],
        *[framework_module(b, RNNSpec(model=m)) for b in ("torch", "jax")
          for m in ("rnn", "lstm-torch")],
        doc(RNNSpec(), "tex"),
        doc(RNNSpec(), "md"),
        doc(RNNSpec(), "tex", "zh"),
        doc(RNNSpec(), "md", "zh"),
        doc(RNNSpec(), "ipynb"),
        (f"generated/{graph_name('bptt_tau3')}", lambda: unrolled_svg(results(RNNSpec()))),
        *[(f"generated/analysis/{name}", analysis[name]) for name in FILES],
    ]


def regenerate(root: Path | str, only: list[str] | None = None) -> list[Path]:
    """Write every output under ``root``; return the paths written."""
    root = Path(root)
    written = []
    for rel, produce in outputs():
        if only is None or rel in only:
            written.append(write_atomic(root / rel, produce(), force=True))
    return written


def check(root: Path | str = ROOT) -> list[str]:
    """Unified diffs between the files under ``root`` and a fresh regeneration (empty: fresh)."""
    root = Path(root)
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        regenerate(tmp)
        rels = [rel for rel, _ in outputs()]
        # each folder's ownership manifest (symrnn.io) is a build product too
        rels += sorted({str(Path(rel).parent / MANIFEST) for rel in rels})
        for rel in rels:
            new = (Path(tmp) / rel).read_bytes()
            path = root / rel
            old = path.read_bytes() if path.exists() else b""
            if old == new:
                continue
            try:
                diffs.append("".join(difflib.unified_diff(
                    old.decode().splitlines(keepends=True), new.decode().splitlines(keepends=True),
                    fromfile=f"committed/{rel}", tofile=f"regenerated/{rel}")) or
                    f"{rel}: differs\n")
            except UnicodeDecodeError:
                diffs.append(f"{rel}: binary file differs ({len(old)} -> {len(new)} bytes)\n")
    return diffs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m symrnn.regenerate",
                                description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="do not write; print a unified diff per stale file and exit 1")
    p.add_argument("--root", default=str(ROOT), help="repository root (default: this checkout)")
    args = p.parse_args(argv)
    if args.check:
        diffs = check(args.root)
        sys.stdout.write("".join(diffs))
        print(f"{len(diffs)} stale generated file(s)" if diffs else "generated files are fresh")
        return 1 if diffs else 0
    for path in regenerate(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
