"""``symrnn verify``: print the certificate of every formula of the model's catalogue."""

from __future__ import annotations

import json
import sys

from ..api import certify
from ..progress import progress_for
from .options import add_spec_options, spec_from_args
from .table import print_table


def register(sub) -> None:
    p = sub.add_parser(
        "verify", help="certify every formula of the note for a chosen tau",
        description="Unroll, derive and certify every formula of the note. Exit 0 when every "
                    "formula is confirmed or has a confirmed reading, 1 when one is refuted.",
        epilog="example:\n  symrnn verify --tau 64 --hidden 4\n  symrnn verify --tau 3 --json",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    add_spec_options(p)
    p.add_argument("--json", action="store_true", help="print the certificate as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args) -> int:
    spec = spec_from_args(args)
    with progress_for("certifying", quiet=args.quiet or args.json) as tick:
        cert = certify(spec, progress=tick)
    if args.json:
        json.dump(cert.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_table(cert)
    return 0 if cert.ok else 1
