"""Compiling a standalone document to PDF with pdflatex (no shell escape, files readable only
below the working folder, reproducible output)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..processes import child_preexec
from .printer import check_graphics

#: Our compile folders: ``symrnn-tex-<pid>-<8 random chars>`` in the temp folder.
TEX_DIR_RE = re.compile(r"^symrnn-tex-(\d+)-[a-z0-9_]{8}$")


def clean_stale_tex_dirs(base: str | None = None) -> list[Path]:
    """Remove compile folders of our exact pattern, owned by this user, whose process is gone
    (left by ``kill -9`` during pdflatex); nothing else is touched."""
    from ..io import _alive
    base = base or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        m = TEX_DIR_RE.match(name)
        if m is None or _alive(int(m.group(1))):
            continue
        path = Path(base, name)
        try:
            st = os.lstat(path)
            if not (os.path.isdir(path) and not os.path.islink(path)) or st.st_uid != os.getuid():
                continue
            shutil.rmtree(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def _tex_dir():
    clean_stale_tex_dirs()
    return tempfile.TemporaryDirectory(prefix=f"symrnn-tex-{os.getpid()}-")


class LatexError(RuntimeError):
    """pdflatex is missing or failed; the message is one line."""


def pdflatex_path() -> str | None:
    return shutil.which("pdflatex")


def compile_pdf(tex: str, timeout: float = 120.0, files: dict[str, bytes] | None = None
                ) -> bytes:
    """Compile a standalone document with pdflatex in a temporary folder; return the PDF.

    ``files`` are copied into that folder first (e.g. ``{"gradient_flow.png": png}`` for
    ``\\includegraphics``); their names must pass ``symrnn.document.printer.check_graphics``.
    No shell escape, files readable only below the current folder (openin_any=p), stops at the
    first error; a reproducible PDF (SOURCE_DATE_EPOCH fixed).
    """
    files = dict(files or {})
    for name, data in files.items():
        check_graphics(name)
        if not isinstance(data, bytes):
            raise TypeError(f"file {name!r}: give its content as bytes")
    exe = pdflatex_path()
    if exe is None:
        raise LatexError("pdflatex not found: install TeX Live (Debian: apt-get install "
                         "texlive-latex-base) or omit --pdf")
    env = {**os.environ, "openin_any": "p", "openout_any": "p", "SOURCE_DATE_EPOCH": "0",
           "FORCE_SOURCE_DATE": "1", "shell_escape": "f"}
    with _tex_dir() as tmp:
        Path(tmp, "doc.tex").write_text(tex, encoding="utf-8")
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        cmd = [exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
        for _ in range(3):  # longtable may ask for a second run
            try:
                proc = subprocess.run(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=timeout,
                                      preexec_fn=child_preexec)
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex took longer than {timeout:.0f} s")
            log = Path(tmp, "doc.log").read_text(encoding="latin-1") \
                if Path(tmp, "doc.log").exists() else proc.stdout.decode("latin-1")
            if proc.returncode != 0:
                first = next((l for l in log.splitlines() if l.startswith("!")), "unknown error")
                raise LatexError(f"pdflatex failed: {first.lstrip('! ').strip()}")
            if "Rerun to get" not in log and "Table widths have changed" not in log:
                break
        return Path(tmp, "doc.pdf").read_bytes()


def compile_log_problems(tex: str, files: dict[str, bytes] | None = None) -> list[str]:
    """Overfull boxes and warnings pdflatex reports for ``tex`` (for tests)."""
    exe = pdflatex_path()
    if exe is None:
        raise LatexError("pdflatex not found")
    env = {**os.environ, "openin_any": "p", "openout_any": "p"}
    with _tex_dir() as tmp:
        Path(tmp, "doc.tex").write_text(tex, encoding="utf-8")
        for name, data in (files or {}).items():
            Path(tmp, check_graphics(name)).write_bytes(data)
        for _ in range(3):  # page references need a second run
            subprocess.run([exe, "-no-shell-escape", "-interaction=nonstopmode",
                            "-halt-on-error", "doc.tex"], cwd=tmp, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            log = Path(tmp, "doc.log").read_text(encoding="latin-1")
            if "Rerun to get" not in log and "Table widths have changed" not in log:
                break
    return [l for l in log.splitlines()
            if l.startswith("Overfull") or "LaTeX Warning" in l or l.startswith("!")]
