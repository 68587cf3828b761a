"""Helpers shared by the tests: the CLI as a user runs it, cached results, pdflatex and KaTeX."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KATEX_DIR = ROOT / "tools" / "katex"


# ---------------------------------------------------------------- the CLI in a subprocess

def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}


def symrnn(*argv: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m symrnn argv`` in ``cwd``; stdin closed, output captured as text."""
    return subprocess.run([sys.executable, "-m", "symrnn", *argv], cwd=cwd, env=env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def spawn_until(argv, cwd: Path, ready, timeout: float = 120, **popen):
    """Start ``python -m symrnn argv`` and return ``(proc, stages)`` once it has written a
    stage line that ``ready(line)`` accepts to ``$SYMRNN_PROGRESS_FD`` (symrnn.progress): a
    test signals the process at a known point, never after a guessed sleep."""
    import select
    import time
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "symrnn", *argv], cwd=cwd,
                            env={**env(), "SYMRNN_PROGRESS_FD": str(w)}, pass_fds=(w,),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)
    os.close(w)
    stages, buf, deadline = [], b"", time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                proc.kill()
                pytest.fail(f"symrnn {' '.join(argv)}: no stage {ready} within {timeout} s "
                            f"(saw {stages})")
            chunk = os.read(r, 4096)
            if not chunk:  # it ended before the stage
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"symrnn {' '.join(argv)} ended before the stage (saw {stages}): "
                            f"{err}")
            buf += chunk
            *done, buf = buf.split(b"\n")
            for line in done:
                stages.append(line.decode())
                if ready(stages[-1]):
                    return proc, stages
    finally:
        os.close(r)  # later stage lines go nowhere (symrnn ignores the broken pipe)


def import_file(path: Path, name: str = "generated_module"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def no_temp_files(folder: Path) -> bool:
    return not [p for p in Path(folder).rglob("*") if p.name.endswith(".tmp")]


def err_line(capsys) -> str:
    """The one line a failing command prints on stderr (and nothing else)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symrnn: error: ") and "Traceback" not in err
    return err


# ---------------------------------------------------------------- results, computed once

#: the real ``symrnn.pipeline.analyse``, bound when this module is imported: fixtures that
#: route ``symrnn.analyse`` through ``results_for`` (tests/document/conftest.py) patch the
#: module attribute, and ``import symrnn`` binds its names lazily (PEP 562), so a lookup at
#: call time could find the patch and recurse
from symrnn.pipeline import analyse as _analyse  # noqa: E402


@functools.lru_cache(maxsize=None)
def _analysed(spec):
    return _analyse(spec)


def results_for(spec):
    """``symrnn.analyse(spec)``, computed once per test session (a deep copy of the
    certificate, so a test that tampers with an entry cannot spoil the cache)."""
    r = _analysed(spec)
    return copy.copy(r).__class__(**{**r.__dict__, "certificate": copy.deepcopy(r.certificate)})


def certificate_for(spec):
    return results_for(spec).certificate


@functools.lru_cache(maxsize=None)
def module_for(spec, form: str = "loop"):
    """The generated module for ``spec``, executed from its source (cached)."""
    from symrnn import emit_numpy
    src = emit_numpy(spec, form)
    m = types.ModuleType(f"gen_{spec.model}_{spec.activation}_{spec.loss}_{form}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


# ---------------------------------------------------------------- pdflatex and KaTeX

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed (apt-get install "
                                           "texlive-latex-base lmodern)")


def katex_available() -> str | None:
    """None when node and tools/katex/node_modules/katex are there, else the reason."""
    if shutil.which("node") is None:
        return "node not installed"
    if not (KATEX_DIR / "node_modules" / "katex").is_dir():
        return "katex not installed (npm ci --prefix tools/katex)"
    return None


def katex_check(formulas: list[str]) -> dict:
    proc = subprocess.run(["node", str(KATEX_DIR / "check.js")], input=json.dumps(formulas),
                          capture_output=True, text=True, timeout=120, cwd=KATEX_DIR)
    if not proc.stdout:
        raise RuntimeError(f"katex check crashed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


_DISPLAY = re.compile(r"\$\$\n(.*?)\n\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")


def markdown_formulas(md: str) -> list[str]:
    """Every formula of a Markdown document as GitHub reads it (``commonmark_then_math``)."""
    displays, inline, problems = commonmark_then_math(md)
    assert problems == [], problems
    return displays + inline


def commonmark_then_math(md: str) -> tuple[list[str], list[str], list[str]]:
    """(display math, inline math, problems) as GitHub sees them: CommonMark (with tables)
    first, math after."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    displays, inline, problems = [], [], []

    def walk_inline(children):
        for i, tok in enumerate(children):
            if tok.type == "code_inline":
                before = children[i - 1] if i else None
                after = children[i + 1] if i + 1 < len(children) else None
                if before is not None and after is not None and before.type == "text" and \
                        after.type == "text" and before.content.endswith("$") and \
                        after.content.startswith("$"):
                    inline.append(tok.content)
            elif tok.type == "text":
                rest = tok.content
                if i + 1 < len(children) and children[i + 1].type == "code_inline":
                    rest = rest[:-1] if rest.endswith("$") else rest
                if i and children[i - 1].type == "code_inline":
                    rest = rest[1:] if rest.startswith("$") else rest
                if "$" in rest:
                    problems.append(f"a $ outside $`...`$ (math Markdown reads): {tok.content!r}")
            elif tok.type in ("em_open", "strong_open"):
                near = "".join(c.content for c in children[max(0, i - 1):i + 2]
                               if c.type == "text")
                if "$" in near:
                    problems.append(f"emphasis next to math: {near!r}")

    def walk(tokens):
        for tok in tokens:
            if tok.type == "fence" and tok.info.strip() == "math":
                displays.append(tok.content.rstrip("\n"))
            elif tok.type == "inline" and tok.children:
                walk_inline(tok.children)
            elif tok.type == "html_block" and "$" in tok.content:
                problems.append(f"math in raw HTML: {tok.content[:80]!r}")

    walk(parser.parse(md))
    return displays, inline, problems



# ---------------------------------------------------------------- cell files

CELL_HEAD = """name = "c"
[params]
U = ["n_hidden", "n_in"]
W = ["n_hidden", "n_hidden"]
V = ["n_out", "n_hidden"]
[inputs]
x = "n_in"
[nodes]
{nodes}
[step]
equations = \"\"\"
{equations}
\"\"\"
output = "o"
"""


def cell(tmp_path, equations, nodes='h = "n_hidden"\no = "n_out"', name="cell.toml"):
    """A cell file in tmp_path with U, W, V, the input x and these nodes and equations."""
    p = tmp_path / name
    p.write_text(CELL_HEAD.format(nodes=nodes, equations=equations))
    return p


# ---------------------------------------------------------------- shared numeric and planted checks

def assert_matches_central_differences(m, P, xs, y, init, eps=1e-6, rtol=1e-6):
    """Every gradient of the emitted module ``m`` against central differences of its loss,
    normwise per array (parameters and initial values alike)."""
    import numpy as np
    _, g = m.loss_and_grad(P, xs, y, **init)
    for k in g:
        fd = np.zeros_like(g[k])
        for idx in np.ndindex(fd.shape):
            def at(delta):
                Q = {q: v.copy() for q, v in P.items()}
                I = {q: v.copy() for q, v in init.items()}
                (I[k] if k in I else Q[k])[idx] += delta
                return m.loss(Q, xs, y, **I)
            fd[idx] = (at(eps) - at(-eps)) / (2 * eps)
        assert np.linalg.norm(g[k] - fd) <= rtol * np.linalg.norm(fd), k
    return g


def assert_every_term_needed(sums, derivation):
    """Each matrix equation whose right side is a sum fails the exact check without any one of
    its terms."""
    import dataclasses

    import sympy as sp
    from symrnn.core.equations import check
    for eq in sums:
        for k in range(len(eq.rhs.args)):
            rest = eq.rhs.args[:k] + eq.rhs.args[k + 1:]
            rhs = rest[0] if len(rest) == 1 else sp.MatAdd(*rest)
            assert not check(dataclasses.replace(eq, rhs=rhs), derivation), (eq.label, k)
