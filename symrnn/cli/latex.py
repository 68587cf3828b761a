"""``symrnn latex``: the derivation as a LaTeX fragment, a standalone article (optionally
compiled to PDF) or Markdown with KaTeX/MathJax math."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis import GRAPHICS
from ..api import document_formats, to_latex
from ..document import LatexError, compile_pdf, latex_command, pdflatex_path
from ..io import check_writable, examine, write_atomic
from ..spec import INSTANCE_TAU
from .parser import write_generated
from .options import (UsageError, add_spec_options, is_folder_text, output_path,
                      require_document_spec, spec_from_args)

_SUFFIX = {".tex": "tex", ".md": "md", ".ipynb": "ipynb"}
#: Why the document's tau is bounded (it is derived and checked at that very tau).
_TAU_WHY = (": the document derives and checks every step at that tau (16 takes about 40 s "
            "and the cost grows fast); the formulas it certifies hold for every tau "
            "('symrnn verify --tau N')")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "latex", help="write the derivation and certificate as LaTeX or Markdown",
        description="Write the forward pass, BPTT in matrix form with the certificate's "
                    "verdicts, the note's chain-rule expansions and the gradient recursion "
                    "for the chosen tau, in the textbook's notation.",
        epilog="examples:\n"
               "  symrnn latex --standalone --out bptt.tex --pdf\n"
               "  symrnn latex --tau 4 --out bptt.md\n"
               "  symrnn latex --standalone --analysis --pdf --out bptt.tex",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_options(p, tau_limit=(INSTANCE_TAU, _TAU_WHY))
    p.add_argument("--out", type=output_path("--out"), default=None,
                   help="output file, or a folder (a trailing slash, or an existing folder) "
                        "to write bptt_tau<N>.tex (.md, .ipynb with --format) into (default: "
                        "standard output)")
    p.add_argument("--format", choices=document_formats(), default=None,
                   help="tex (default; a fragment to \\input), md (Markdown for GitHub, "
                        "math in ```math fences) or ipynb (a Jupyter notebook that redoes the "
                        "derivation, the certificate, the code check and the figure; needs "
                        "nbformat); by default taken from the --out suffix")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="the document's language: en (default) or zh (Chinese, with the "
                        "terms of the Chinese edition of Deep Learning; the PDF needs the "
                        "CJK package, Debian: latex-cjk-chinese-arphic-gbsn00lp)")
    p.add_argument("--standalone", action="store_true",
                   help="a complete article that compiles on its own (tex only)")
    p.add_argument("--pdf", action="store_true",
                   help="also build the PDF next to --out with pdflatex (needs --standalone)")
    p.add_argument("--analysis", action="store_true",
                   help="add the section 'Gradient flow: why tanh and not ReLU?' (Jacobian "
                        "product, phi' per activation, plot, fitted per-step factors; computed "
                        "as by 'symrnn analyze' with its defaults, seed 0); with --out the plot "
                        f"{GRAPHICS} is written next to the file, on standard output the plot "
                        "is left out")
    p.add_argument("--force", action="store_true",
                   help="overwrite output files that symrnn did not generate")
    p.set_defaults(func=run)


def _format(args) -> str:
    if args.out is not None and args.out.suffix.lower() == ".pdf":
        raise UsageError(f"--out {args.out}: give the .tex (or .md) name; --pdf writes the PDF "
                         f"next to it")
    by_suffix = _SUFFIX.get(args.out.suffix.lower()) if args.out is not None else None
    if args.format is None:
        return by_suffix or "tex"
    if by_suffix is not None and by_suffix != args.format:
        raise UsageError(f"--format {args.format} does not match the suffix of {args.out}")
    return args.format


def _out_file(args) -> Path | None:
    """``--out`` as the file to write: a folder (trailing slash, or one that exists) gets the
    document's default name."""
    if args.out is None:
        return None
    import stat
    path = Path(args.out)
    st = examine(path)  # a name too long: one line, exit 2
    if is_folder_text(args.out) or (st is not None and stat.S_ISDIR(st.st_mode)):
        from ..pipeline import doc_stem
        return path / f"{doc_stem(spec_from_args(args))}.{args.format or 'tex'}"
    return path


def run(args) -> int:
    args.out = _out_file(args)
    fmt = _format(args)
    if fmt == "ipynb":
        import importlib.util
        if importlib.util.find_spec("nbformat") is None:
            raise UsageError("--format ipynb needs nbformat (pip install 'symrnn[notebook]')")
    if args.standalone and fmt != "tex":
        raise UsageError("--standalone applies to --format tex only")
    pdf_path = None
    if args.pdf:
        if fmt != "tex" or not args.standalone:
            raise UsageError("--pdf needs --format tex and --standalone (a fragment does "
                             "not compile on its own)")
        if args.out is None:
            raise UsageError("--pdf needs --out: the PDF is written next to the .tex file")
        if pdflatex_path() is None:
            raise UsageError("--pdf needs pdflatex, which is not installed (Debian: apt-get "
                             "install texlive-latex-base)")
        pdf_path = args.out.with_suffix(".pdf")
        if pdf_path == args.out:
            raise UsageError(f"--out {args.out} would be overwritten by the PDF; use a .tex name")
    # --analysis: the plot goes next to --out under a fixed name the document refers to;
    # on standard output there is nowhere to put it, so the section comes without the plot
    png_path = None
    if args.analysis and args.out is not None:
        png_path = args.out.parent / GRAPHICS
        if png_path == args.out or png_path == pdf_path:
            raise UsageError(f"--out {args.out} would be overwritten by the plot {GRAPHICS}; "
                             f"use another name")
    # Markdown shows the unrolled graph from an SVG next to --out (left out on standard output)
    graph_path = None
    if fmt == "md" and args.out is not None:
        from ..document import graph_name
        graph_path = args.out.parent / graph_name(args.out.name.split(".")[0] or "bptt")
    spec = spec_from_args(args)
    require_document_spec(spec)
    if args.analysis and spec.model != "rnn":
        raise UsageError("--analysis studies the vanilla RNN's hidden recurrence; use it with "
                         "--model rnn")
    if args.out is not None:
        for path in (args.out, pdf_path, png_path, graph_path):
            if path is not None:
                check_writable(path, args.force)
    command = latex_command(spec, fmt, args.standalone,
                            None if args.out is None else str(args.out), analysis=args.analysis,
                            lang=args.lang)
    result = png = None
    if args.analysis:
        from ..analysis import analyze, figure_png
        result = analyze()
        if png_path is not None:
            png = figure_png(result, args.lang)
    from ..pipeline import analyse
    results = analyse(spec)
    text = to_latex(spec, standalone=args.standalone, fmt=fmt, command=command, results=results,
                    analysis=result if args.analysis else False,
                    graphics=GRAPHICS if png is not None else None, lang=args.lang,
                    graph=graph_path.name if graph_path is not None else None)
    pdf = None
    if pdf_path is not None:
        try:
            pdf = compile_pdf(text, files={GRAPHICS: png} if png is not None else None)
        except LatexError as e:
            print(f"symrnn: error: {e}", file=sys.stderr)
            return 1
    if args.out is None:
        write_generated(text)
        return 0
    # the plot first: the document never refers to a plot that is not there
    svg = None
    if graph_path is not None:
        from ..document import unrolled_svg
        svg = unrolled_svg(results)
    for path, data in ((png_path, png), (graph_path, svg), (args.out, text), (pdf_path, pdf)):
        if data is None:
            continue
        write_atomic(path, data, args.force)  # WriteError names the file (exit 1)
        print(f"wrote {path}", file=sys.stderr)
    return 0
