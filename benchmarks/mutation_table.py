"""Planted wrong variants of the note's formulas, through the real certificate engine.

Each variant (``tests/certificate/mutants.py``) is one formula of the note with one thing
changed: a sign, W for W^T, h(t) for h(t+1), diag(1 - h) for diag(1 - h^2), a term dropped, a
sum bound off by one (wrong only at t = 1 or only at t = tau), an outer product swapped, a
factor 2, ... Each is built with the catalogue's vocabulary and checked by
``certify_context`` on a small spec (tau 3, sizes 2/3/2; tau 4 where the variant needs a
fourth step; an identity-activation, mse network where the points verify exactly). Expected:
every one refuted for every size and tau with an exact or interval-verified counterexample;
those whose shapes do not match, or that read a step the network does not have, ill-formed.

    python benchmarks/mutation_table.py          # the table and the count
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "certificate")]

from mutants import CORRECT, MUTATIONS, OUTSIDE, TYPE_ERRORS, run, table  # noqa: E402


def main() -> int:
    start = time.perf_counter()
    rows = [(p, run(p)) for p in MUTATIONS + TYPE_ERRORS + OUTSIDE]
    text, refuted = table(rows)
    print(text)
    ill = sum(e.kind == "ill-formed" for p, e in rows if p in TYPE_ERRORS)
    outside = sum(e.kind == "ill-formed" for p, e in rows if p in OUTSIDE)
    confirmed = [p.id for p, e in rows if e.kind == "confirmed"]
    right = [(p, run(p)) for p in CORRECT]
    right_ok = sum(e.kind in ("confirmed", "definition") and e.scope == "all" for _p, e in right)
    print()
    print(f"{refuted} of {len(MUTATIONS)} wrong variants refuted for every size and tau "
          f"(exact or interval counterexample); {ill} of {len(TYPE_ERRORS)} shape errors and "
          f"{outside} of {len(OUTSIDE)} reads outside the network ill-formed; "
          f"{len(confirmed)} wrong variants confirmed"
          + (f" ({', '.join(confirmed)})" if confirmed else ""))
    print(f"{right_ok} of {len(CORRECT)} right variants confirmed (or definitions) for every "
          f"size and tau; {time.perf_counter() - start:.1f} s")
    ok = refuted == len(MUTATIONS) and ill == len(TYPE_ERRORS) and not confirmed \
        and outside == len(OUTSIDE) \
        and right_ok == len(CORRECT)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
