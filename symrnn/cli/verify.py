"""``symrnn verify``: print the certificate of every formula of the model's catalogue."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from ..api import certify
from ..progress import progress_for
from ..spec import INSTANCE_SIZE
from .options import add_spec_options, print_json, require_document_spec, spec_from_args, whole
from .table import print_table

#: The instance cross-check runs at most at this tau by default (the general proofs do not
#: depend on tau).
INSTANCE_TAU = 16


def register(sub) -> None:
    p = sub.add_parser(
        "verify", help="certify every formula of the note, for every size and tau",
        description="Build every formula of the note as printed and check it: proved for "
                    "symbolic sizes and every tau where it holds (index form), refuted by an "
                    "exact counterexample where it does not, and cross-checked entry by entry "
                    "at the chosen instance. Exit 0 when every formula holds for every size and "
                    "tau, as printed or in a reading proved for every size and tau (a "
                    "definition, a confirmed shorthand or order), 1 otherwise (refuted, "
                    "unproven, or checked at the instance only), 2 on bad input.",
        epilog="examples:\n  symrnn verify --tau 1000\n  symrnn verify --tau 3 --json\n"
               "  symrnn verify --activation sigmoid   # tanh's formulas refuted, readings hold",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_options(p, code_sizes=True)  # any size: the instance cross-check caps its own
    p.add_argument("--instance-tau", type=whole("--instance-tau", 1, 1024), default=INSTANCE_TAU,
                   help=f"largest tau of the instance cross-check (default {INSTANCE_TAU}; the "
                        f"general proofs hold for every tau)")
    p.add_argument("--instance-size", type=whole("--instance-size", 2, 16),
                   default=INSTANCE_SIZE,
                   help=f"largest n_in, n_hidden, n_out of the instance cross-check (default "
                        f"{INSTANCE_SIZE}; the general proofs hold for every size)")
    p.add_argument("--accept-instance", action="store_true",
                   help="count a formula that agrees at the instance only (no proof for every "
                        "size and tau) as holding; the summary and the JSON say so")
    p.add_argument("--json", action="store_true", help="print the certificate as JSON (README, 'JSON output')")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args) -> int:
    spec = spec_from_args(args)
    require_document_spec(spec)
    with progress_for("certifying", quiet=args.quiet or args.json) as tick:
        cert = certify(spec, progress=tick, instance_tau=args.instance_tau,
                       instance_size=args.instance_size, accept_instance=args.accept_instance)
    if args.json:
        print_json("verify", cert.ok, spec=asdict(spec), certificate=cert.to_json())
    else:
        print_table(cert)
    return 0 if cert.ok else 1
