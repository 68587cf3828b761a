"""The certificate as a table on the terminal (rich)."""

from __future__ import annotations

import sys

COLOUR = {"confirmed": "green", "definition": "cyan", "refuted": "red", "ill-formed": "yellow",
          "shorthand": "yellow", "ambiguous": "yellow", "not-applicable": "dim",
          "unproven": "red"}


def print_table(cert, file=None) -> None:
    """The certificate as a table: id, formula, verdict and scope, how it was shown, time."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=160 if not sys.stdout.isatty() else None,
                      highlight=False, soft_wrap=False)
    if not cert.entries:  # a model without printed formulas: no empty table
        console.print(f"certificate: {escape(cert.spec.describe())}")
        console.print(cert.summary())
        return
    title = f"certificate: {cert.spec.describe()}"
    inst = getattr(cert, "instance", None)
    if inst is not None and inst != cert.spec:
        title += (f"\n(cross-checked at tau={inst.tau}, n_in={inst.n_in}, "
                  f"n_hidden={inst.n_hidden}, n_out={inst.n_out})")
    table = Table(title=title, show_lines=False)
    for col in ("id", "formula (as printed)", "verdict", "how it was shown", "s"):
        table.add_column(col, overflow="fold")
    for e in cert.entries:
        verdict = f"[{COLOUR[e.kind]}]{e.kind}[/]" + (f" ({e.scope})" if e.scope else "")
        for r in e.readings:
            verdict += f"\nreading: {r['kind']}" + (f" ({r['scope']})" if r["scope"] else "")
        how = e.method
        if e.reason:
            how += f"\n{e.reason}"
        for c in e.conditions:
            how += f"\n{c}"
        if e.instance:
            how += f"\ninstance: {e.instance}"
        for r in e.readings:
            how += f"\nreading ({r['kind']}): {r['text']}"
        for cx in [e.counterexample] + [r.get("counterexample") for r in e.readings]:
            if cx:
                how += (f"\ncounterexample ({cx['claim']}, entry {tuple(cx['entry'])}, "
                        f"{cx['verified']}): formula {cx['lhs']} vs derived {cx['rhs']}")
        table.add_row(escape(e.id), escape(e.text), verdict, escape(how), f"{e.seconds:.2f}")
    console.print(table)
    console.print(cert.summary())
