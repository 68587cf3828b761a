"""Helpers for the LaTeX export tests: the certificate (cached per spec), pdflatex and KaTeX."""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from symrnn.certificate import certify

ROOT = Path(__file__).resolve().parent.parent
KATEX_DIR = ROOT / "tools" / "katex"


@functools.lru_cache(maxsize=None)
def _certified(spec):
    return certify(spec)


def certificate_for(spec):
    """The real certificate for ``spec``, computed once per test session (a deep copy, so a
    test that tampers with an entry cannot spoil the cache for the others)."""
    return copy.deepcopy(_certified(spec))


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed (apt-get install "
                                           "texlive-latex-base)")


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
    """Every $$ display $$ and $inline$ formula of a Markdown document."""
    displays = _DISPLAY.findall(md)
    rest = _DISPLAY.sub("", md)
    rest = re.sub(r"`[^`]*`", "", rest)
    return displays + _INLINE.findall(rest)


@pytest.fixture
def real_certificates(monkeypatch):
    """Make ``symrnn latex`` take certificates from ``certificate_for`` (computed once)."""
    import symrnn.document as document
    monkeypatch.setattr(document, "_load_certificate", certificate_for)


def err_line(capsys) -> str:
    """The one line a failing command prints on stderr (and nothing else)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symrnn: error: ") and "Traceback" not in err
    return err
