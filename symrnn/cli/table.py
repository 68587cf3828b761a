"""The certificate as a table on the terminal (rich), fitted to its width."""

from __future__ import annotations

import shutil
import sys

COLOUR = {"confirmed": "green", "definition": "cyan", "refuted": "red", "ill-formed": "yellow",
          "shorthand": "yellow", "ambiguous": "yellow", "not-applicable": "dim",
          "unproven": "red"}
#: The full table (with how each verdict was shown) needs this many columns; a narrower
#: terminal gets the short table: id, formula and verdict, one row each.
FULL_WIDTH = 120
#: Width of the table in a log or a pipe (``--table``): the full table.
PIPE_WIDTH = 160


def table_width(file) -> int:
    """The terminal's width when ``file`` is one (COLUMNS counts), else ``PIPE_WIDTH``."""
    try:
        tty = file.isatty()
    except (AttributeError, ValueError):
        tty = False
    return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns if tty else PIPE_WIDTH


def print_table(cert, file=None, width: int | None = None) -> None:
    """The certificate as a table: id, formula, verdict and scope, how it was shown, time;
    on a terminal narrower than ``FULL_WIDTH`` only id, formula and verdict (the rest is in
    ``--json`` and on a wider terminal)."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = file or sys.stdout
    width = width or table_width(out)
    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    if not cert.entries:  # a model without printed formulas: no empty table
        console.print(f"certificate: {escape(cert.spec.describe())}")
        console.print(cert.summary())
        return
    title = f"certificate: {cert.spec.describe()}"
    inst = getattr(cert, "instance", None)
    if inst is not None and inst != cert.spec:
        title += (f"\n(cross-checked at tau={inst.tau}, n_in={inst.n_in}, "
                  f"n_hidden={inst.n_hidden}, n_out={inst.n_out})")
    full = width >= FULL_WIDTH
    table = Table(title=title, show_lines=False, box=box.HEAVY_HEAD if full else box.SIMPLE)
    columns = ("id", "formula (as printed)", "verdict", "how it was shown", "s") if full else \
        ("id", "formula (as printed)", "verdict")
    for col in columns:
        table.add_column(col, overflow="fold")
    for e in cert.entries:
        verdict = f"[{COLOUR[e.kind]}]{e.kind}[/]" + (f" ({e.scope})" if e.scope else "")
        if not full:
            kinds = sorted({r["kind"] for r in e.readings})
            verdict += "".join(f", reading {k}" for k in kinds)
            table.add_row(escape(e.id), escape(e.text), verdict)
            continue
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
    if not full:
        console.print(f"(how each verdict was shown: on a terminal of {FULL_WIDTH} columns or "
                      f"more, or with --json)")
    console.print(cert.summary())
