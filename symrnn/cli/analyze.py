"""``symrnn analyze``: gradient flow through time per activation and spectral radius."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis import DEFAULTS, FILES, LIMITS, analyze, summary_text, write_outputs
from ..document import analysis_section
from ..io import check_writable, examine
from .options import UsageError, output_path, print_json, whole

#: The same folder as ``symrnn run``'s.
DEFAULT_OUT = "symrnn-out"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze", help="gradient norm vs lag for tanh, sigmoid, ReLU, identity (plot + rates)",
        description="Derive dh(t)/dh(k) = prod diag(phi'(a(j))) W symbolically (checked "
                    "against sympy.diff), then measure how ||grad_h(k) L|| decays or grows "
                    "with the lag t - k on random W scaled to spectral radius 0.5, 1, 1.5, 3 (and as drawn).")
    p.add_argument("--out", metavar="DIR", type=output_path("--out"), default=DEFAULT_OUT,
                   help=f"output folder (default {DEFAULT_OUT}/, as for 'symrnn run'; created "
                        f"if missing)")
    p.add_argument("--max-lag", type=whole("--max-lag", 1, LIMITS["max_lag"]),
                   default=DEFAULTS["max_lag"], help=f"largest lag t - k (default {DEFAULTS['max_lag']})")
    p.add_argument("--hidden", type=whole("--hidden", 1, LIMITS["hidden"]),
                   default=DEFAULTS["hidden"], help=f"n_hidden for the measurement (default {DEFAULTS['hidden']})")
    p.add_argument("--seed", type=whole("--seed", 0, 2**32 - 1), default=DEFAULTS["seed"],
                   help=f"random seed (default {DEFAULTS['seed']})")
    p.add_argument("--force", action="store_true",
                   help="overwrite output files that symrnn did not generate")
    p.add_argument("--json", action="store_true", help="print the rates as JSON on stdout (README, 'JSON output')")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language of analysis.tex, the section that answers 'why tanh' "
                        "(zh: Chinese; \\input it inside a CJK environment)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import stat
    out = Path(args.out)
    st = examine(out)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"--out {out} is a file, not a folder; give a folder name (it is "
                         f"created if missing)")
    for name in FILES:  # refuse before the work: a refusal costs nothing
        check_writable(out / name, args.force)
    import warnings

    from ..progress import progress_for
    with progress_for("analyze", quiet=args.json) as tick, warnings.catch_warnings():
        # matplotlib's notes (a log axis that cannot start at 0) are not the user's concern
        warnings.simplefilter("ignore", UserWarning)
        tick("measure")
        result = analyze(max_lag=args.max_lag, hidden=args.hidden, seed=args.seed)
        tick("write")
        paths = write_outputs(result, out, analysis_section(result, lang=args.lang),
                              force=args.force)
    if args.json:
        print_json("analyze", True, files=[str(p) for p in paths], analysis=result.as_dict())
    else:
        sys.stdout.write(summary_text(result))
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0
