"""``symrnn verify``: print the certificate of every formula of the note."""

from __future__ import annotations

import json
import sys

from ..certificate import certify
from ..cli import add_spec_options, spec_from_args
from ..progress import progress_for


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


def print_table(cert, file=None) -> None:
    """The certificate as a table: id, formula, status, how it was shown, time."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=160 if not sys.stdout.isatty() else None,
                      highlight=False, soft_wrap=False)
    table = Table(title=f"certificate: {cert.spec.describe()}", show_lines=False)
    for col in ("id", "formula (as printed)", "status", "how it was shown", "s"):
        table.add_column(col, overflow="fold")
    colour = {"confirmed": "green", "refuted": "red", "ill-formed": "yellow",
              "not-applicable": "dim", "unproven": "red"}
    for e in cert.entries:
        status = f"[{colour[e.status]}]{e.status}[/]"
        if e.status != "confirmed" and e.reading_status:
            status += f"\nreading {e.reading_status}"
        how = e.method
        if e.reason:
            how += f"\n{e.reason}"
        if e.reading_text:
            how += f"\nreading: {e.reading_text}"
        if e.counterexample:
            cx = e.counterexample
            how += (f"\ncounterexample ({cx['claim']}, entry {cx['entry']}): formula "
                    f"{cx['formula_value']} vs true {cx['true_value']}")
        table.add_row(escape(e.id), escape(e.text), status, escape(how), f"{e.seconds:.2f}")
    console.print(table)
    console.print(cert.summary())
