"""``symrnn models``: the networks symrnn knows, one line each, with the book's numbers."""

from __future__ import annotations


from ..models import DEFAULT, MODELS
from .options import print_json


def register(sub) -> None:
    p = sub.add_parser("models", help="list the networks (--model NAME on every command)",
                       description="List the registered networks with the figure or equation "
                                   "numbers of Deep Learning, chapter 10.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.json:
        print_json("models", True, models=[
            {"name": m.name, "title": m.title, "reference": m.reference,
             "describe": m.describe, "default": m.name == DEFAULT} for m in MODELS.values()])
        return 0
    width = max(len(n) for n in MODELS)
    for m in MODELS.values():
        mark = " (default)" if m.name == DEFAULT else ""
        print(f"{m.name:<{width}}  {m.title}, {m.reference}: {m.describe}{mark}")
    return 0
