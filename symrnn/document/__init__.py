"""The documents: the derivation, the certificate and the chain rule as LaTeX (a fragment or a
standalone article, compiled to PDF) or Markdown, in the textbook's notation.

``document(results, fmt)`` renders what the symbolic stages computed (``symrnn.pipeline``):
``context`` prints it, the templates in ``templates/latex`` and ``templates/markdown`` place
it, ``pdf`` compiles it.
"""

from __future__ import annotations

import re
import shlex

from ..io import MARKER
from ..sanitize import html_comment, latex_comment
from ..templating import render
from .context import FORMATS, analysis_context, context
from .graph import unrolled_svg
from .printer import check_graphics
from .pdf import LatexError, compile_log_problems, compile_pdf, pdflatex_path

TEMPLATES = {"tex": "latex/body.tex.jinja", "standalone": "latex/standalone.tex.jinja",
             "md": "markdown/document.md.jinja"}


def latex_command(spec, fmt: str = "tex", standalone: bool = False, out: str | None = None,
                  analysis: bool = False, lang: str = "en") -> str:
    """The CLI command that writes this document (only options that differ from the
    defaults), shell-quoted."""
    from ..spec import RNNSpec
    words = ["symrnn", "latex"]
    default = RNNSpec()
    for name, flag in (("model", "--model"), ("tau", "--tau"), ("n_in", "--inputs"),
                       ("n_hidden", "--hidden"), ("n_out", "--outputs"),
                       ("activation", "--activation"), ("loss", "--loss"),
                       ("reduction", "--reduction")):
        if getattr(spec, name) != getattr(default, name):
            words += [flag, str(getattr(spec, name))]
    if fmt != "tex" and (out is None or not out.endswith("." + fmt)):
        words += ["--format", fmt]
    if lang != "en":
        words += ["--lang", lang]
    if standalone:
        words.append("--standalone")
    if analysis:
        words.append("--analysis")
    if out is not None:
        words += ["--out", out]
    return shlex.join(words)


def comment_safe(text: str, fmt: str = "tex") -> str:
    """One line for a comment in LaTeX (%) or, with ``fmt="md"``, HTML (<!-- -->): the
    target language's sanitizer (``symrnn.sanitize``)."""
    return html_comment(text) if fmt == "md" else latex_comment(text)


def document(results, fmt: str = "tex", standalone: bool = False, analysis=None,
             graphics: str | None = None, command: str | None = None, lang: str = "en",
             github: bool = True, graph: str | None = None) -> str:
    """The document for ``results``: a fragment to ``\\input`` (default), a complete article
    (``standalone``), or Markdown with ``$$`` math (``fmt="md"``). Deterministic.

    ``analysis`` (an ``symrnn.analysis.Analysis``) adds the section "Gradient flow: why tanh
    and not ReLU?"; ``graphics`` is the plot's file name next to the document (None leaves
    the plot out). ``command`` is written in the header as the way to regenerate the file.
    ``graph`` names the SVG of the unrolled graph next to a Markdown document (None: left
    out; LaTeX draws it in place). Markdown writes inline math as ``$`x`$`` for GitHub (``github``; a notebook, whose
    renderer reads math before Markdown, takes ``$x$``).
    """
    if fmt == "ipynb":
        if standalone:
            raise ValueError("standalone applies to the tex format only")
        from .notebook import notebook
        cmd = command or latex_command(results.spec, fmt, analysis=analysis is not None,
                                       lang=lang)
        md = document(results, "md", analysis=analysis, graphics=None, command=cmd, lang=lang,
                      github=False)
        return notebook(results, md, comment_safe(cmd, "md"), analysis is not None, lang)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS + ('ipynb',))}, got {fmt!r}")
    if fmt == "md" and standalone:
        raise ValueError("standalone applies to the tex format only; Markdown is always a "
                         "complete document")
    if analysis is not None and results.spec.model != "rnn":
        raise ValueError(f"the gradient-flow section studies the vanilla RNN's hidden "
                         f"recurrence h(t-1) -> h(t) (model rnn), not model "
                         f"{results.spec.model!r}")
    ctx = context(results, fmt, lang)
    ctx["analysis"] = analysis_context(analysis, fmt, graphics, lang=lang) \
        if analysis is not None else None
    cmd = command or latex_command(results.spec, fmt, standalone, analysis=analysis is not None,
                                   lang=lang)
    ctx["command"] = comment_safe(cmd, fmt)
    ctx["graph_file"] = None if graph is None else check_graphics(graph)
    name = "md" if fmt == "md" else ("standalone" if standalone else "tex")
    text = render(TEMPLATES[name], **ctx)
    if lang == "zh":
        from .punctuation import fullwidth
        text = fullwidth(text, fmt)
    return github_inline_math(text) if fmt == "md" and github else text


_FENCE = re.compile(r"^(```|~~~)")
_SPAN = re.compile(r"(`+)(?:.*?)\1|\$([^$\n]+?)\$")


def github_inline_math(md: str) -> str:
    """Inline math ``$x$`` written as ``$`x`$``, the form GitHub reads as math after its
    Markdown pass: a code span is parsed before emphasis, so ``_{`` and ``*`` inside stay
    math (with plain ``$...$``, two ``}_{`` in one paragraph become emphasis:
    github/markup#1575). Fenced blocks and code spans are left as they are."""
    out, fence = [], None
    for line in md.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.startswith(fence):
            fence = None
        elif fence is None:
            line = _SPAN.sub(lambda k: k.group(0) if k.group(1) else f"$`{k.group(2)}`$", line)
        out.append(line)
    return "\n".join(out)


def analysis_section(result, graphics: str = "gradient_flow.png", lang: str = "en") -> str:
    """The gradient-flow section alone (LaTeX), as ``symrnn analyze`` writes it."""
    ctx = {"analysis": analysis_context(result, "tex", graphics, lang=lang), "marker": MARKER}
    return render("latex/analysis_file.tex.jinja", **ctx)


def graph_name(stem: str) -> str:
    """The file name of a document's unrolled graph (SVG), next to the document."""
    return f"{stem}_graph.svg"


__all__ = ["document", "unrolled_svg", "graph_name", "latex_command", "analysis_section", "compile_pdf", "pdflatex_path",
           "LatexError", "compile_log_problems", "FORMATS", "comment_safe"]
