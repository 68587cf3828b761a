"""Helpers for the LaTeX export tests: the certificate to use, pdflatex and KaTeX."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KATEX_DIR = ROOT / "tools" / "katex"

try:
    from symrnn.certificate import certify as _certify
except ImportError:  # the certifier lands on main separately
    _certify = None


def certificate_for(spec):
    """The real certificate when symrnn.certificate is present, else the stand-in."""
    if _certify is not None:
        return _certify(spec)
    from fake_certificate import fake
    return fake(spec)


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
