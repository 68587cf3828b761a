"""``symrnn run``: the main job, from the note's formulas to checked code and documents."""

from __future__ import annotations

import argparse
import sys
import time

from ..pipeline import FORMS
from .options import (UsageError, add_backend_option, add_spec_options, output_path,
                      print_json, require_document_spec, spec_from_args, whole)


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="the whole job: certify, emit NumPy and LaTeX, check numerically",
        description="Unroll the network, derive BPTT, certify every formula of the note (a table "
                    "on a terminal or with --table), write the NumPy modules (loop and unrolled forms), the LaTeX "
                    "article, Markdown and PDF, check each module against the derivation "
                    "(50-digit mpmath) and central differences, and print a summary. With no "
                    "options: the note's example (tau 3, n_in 3, n_hidden 4, n_out 3, tanh, "
                    "softmax-ce). Exit 0 when every formula holds (as printed or through a "
                    "confirmed reading) and the checks pass, 1 otherwise, 2 on bad input.",
        epilog="examples:\n"
               "  symrnn run                          # the note's example into symrnn-out/\n"
               "  symrnn run --tau 8 --out build      # 8 steps, into build/\n"
               "  symrnn run --form loop --no-pdf     # one module, no PDF\n"
               "  symrnn run --json > summary.json    # the summary as JSON",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_options(p, code_sizes=True)
    add_backend_option(p)
    p.add_argument("--out", metavar="DIR", type=output_path("--out"), default="symrnn-out",
                   help="folder for every file (default: symrnn-out, created if missing)")
    p.add_argument("--form", choices=(*FORMS, "both"), default=None,
                   help="which NumPy module(s) to emit (default both; --backend numpy only)")
    p.add_argument("--no-pdf", action="store_true", help="do not compile the PDF")
    p.add_argument("--seed", type=whole("--seed", 0, 2**32 - 1), default=0,
                   help="random point of the numeric check (default 0)")
    p.add_argument("--analysis", action="store_true",
                   help="add the section 'Gradient flow: why tanh and not ReLU?' to the LaTeX, "
                        "Markdown and PDF, and write its plot gradient_flow.png into --out")
    p.add_argument("--force", action="store_true",
                   help="overwrite files in --out that symrnn did not generate")
    p.add_argument("--json", action="store_true",
                   help="print only the summary as JSON on stdout (certificate, files, "
                        "checks, timings; README, 'JSON output')")
    p.add_argument("--table", action="store_true",
                   help="print the certificate table before the summary (the default on a "
                        "terminal; in a log or a pipe only the summary is printed)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..pipeline import run as run_pipeline
    from ..progress import progress_for

    spec = spec_from_args(args)
    require_document_spec(spec)
    if args.analysis and spec.model != "rnn":
        raise UsageError("--analysis studies the vanilla RNN's hidden recurrence; use it with "
                         "--model rnn")
    if args.backend != "numpy" and args.form is not None:
        raise UsageError(f"--form is for --backend numpy (the {args.backend} module takes any "
                         f"tau); drop it")
    forms = None if args.backend != "numpy" else \
        FORMS if args.form in (None, "both") else (args.form,)
    start = time.perf_counter()
    with progress_for("symrnn run", quiet=args.quiet) as tick:
        result = run_pipeline(spec, args.out, forms, pdf=not args.no_pdf, force=args.force,
                              seed=args.seed, tick=tick, analysis=args.analysis,
                              backend=args.backend)
    result.timings["total"] = time.perf_counter() - start
    if args.json:
        print_json("run", **result.to_json())
    else:
        if args.table or sys.stdout.isatty():
            from .table import print_table
            print_table(result.certificate)
        print_summary(result)  # last: in a log, the summary is what matters
    return 0 if result.ok else 1


def print_summary(result, file=None) -> None:
    out = file or sys.stdout
    cert = result.certificate
    w = lambda line="": print(line, file=out)
    w()
    w("summary")
    if not cert.entries:
        verdict = ("nothing to certify: the model has no printed formulas (its matrix "
                   "equations are checked exactly against the derivation)")
    elif cert.ok:
        verdict = "CERTIFIED: every formula holds as printed or through a confirmed reading"
    else:
        verdict = "NOT CERTIFIED: a formula is refuted or unproven (see the table)"
    w(f"  certificate  {cert.summary()}")
    w(f"               {verdict}")
    w(f"  files        in {result.out}/")
    width = max((len(f.path) for f in result.files), default=0)
    for f in result.files:
        w(f"               {f.path:<{width}}  {f.what}, {f.bytes} bytes")
    if result.checks:
        w("  checks       max relative error (normwise per array, largest over loss and "
          "gradients)")
        for c in result.checks:
            w(f"               {c.module}  vs {c.against}: {c.max_rel_err:.1e} "
              f"(tol {c.tol:.0e}, worst {c.worst}) {'passed' if c.passed else 'FAILED'}")
    for note in result.notes:
        w(f"  note         {note}")
    for failure in result.failures:
        w(f"  failure      {failure}")
    times = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items() if k != "total")
    w(f"  time         {times}; total {result.timings.get('total', 0):.2f} s")
    if result.ok:
        checked = "numeric checks passed" if result.checks else "no numeric check (see note)"
        w(f"  result       OK: {'certified' if cert.entries else 'nothing to certify'}, "
          f"{checked}")
    else:
        why = []
        if not cert.ok:
            why.append("not certified")
        if not result.checks_passed:
            why.append("a numeric check failed")
        why += result.failures
        w(f"  result       FAILED: {'; '.join(why)}")
