"""The certificate as a table on the terminal (rich)."""

from __future__ import annotations

import sys


def print_table(cert, file=None) -> None:
    """The certificate as a table: id, formula, status, how it was shown, time."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=160 if not sys.stdout.isatty() else None,
                      highlight=False, soft_wrap=False)
    if not cert.entries:  # a model without printed formulas: no empty table
        console.print(f"certificate: {escape(cert.spec.describe())}")
        console.print(cert.summary())
        return
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
