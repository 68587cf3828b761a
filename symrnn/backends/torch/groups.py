"""Matrix products of one step that share an operand, done as one product (torch pays per
operation and per step).

Forward: the gates of an LSTM each read W_h* h(t-1). When the pre-activations a_i, a_f, a_g,
a_q of a loop each hold one such product of the same vector, their tensors are columns of one
tensor (steps, batch, k n) and a step makes one product, h(t-1) @ [W_hi; W_hf; ...]^T, into
all of them; the input products W_i* x(t) hoisted before the loop are one product too. The
members whose pre-activation is complete after it (nothing else to add in the loop) come
first, ordered by the function applied to them, so the gates' sigmoid is one operation on
adjacent columns.

Backward: grad_h(t) L = W_hi^T grad_a_i(t+1) L + W_hf^T grad_a_f(t+1) L + ...: when the
gradients a piece multiplies so are columns of one tensor, that is one product with the
stacked matrix, and the parameters' gradients sum_t grad_a_*(t) h(t-1)^T one product over all
steps, split by rows.

Only the layout and the grouping of products change; each value is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ...naming import T, At, Grad


@dataclass(eq=False)
class Group:
    """Members (targets, in column order), the matrix of each, and what they multiply: the
    forward's vector (an ``At`` at generic t) or the backward's step offset."""

    members: list[str]
    params: list[sp.MatrixSymbol]
    operand: object
    name: str = ""  # the tensor holding the members side by side
    rows: str = ""  # its per-step rows
    weights: str = ""  # the stacked matrix
    complete: set = field(default_factory=set)  # forward: members complete after the product


def _forward_gemm(term):
    """(P, v) of P v with P a parameter matrix and v a quantity at a step, else None."""
    if not isinstance(term, sp.MatMul):
        return None
    coeff, factors = term.as_coeff_matrices()
    if coeff != 1 or len(factors) != 2:
        return None
    P, v = factors
    if type(P) is sp.MatrixSymbol and isinstance(v, At) and not isinstance(v, Grad):
        return P, v
    return None


def _backward_gemm(term):
    """(P, q, k) of P^T grad_q(t+k) with P a parameter matrix, else None."""
    if not isinstance(term, sp.MatMul):
        return None
    coeff, factors = term.as_coeff_matrices()
    if coeff != 1 or len(factors) != 2:
        return None
    P, g = factors
    if isinstance(P, sp.Transpose) and type(P.arg) is sp.MatrixSymbol and \
            isinstance(g, Grad) and isinstance(g.of, At):
        return P.arg, g.of.name, sp.expand(g.of.step - T)
    return None


def forward_groups(blocks, is_param) -> list[Group]:
    """Groups of loop pieces each holding one product P_j v of the same vector v."""
    groups = []
    taken = set()
    for b in blocks:
        if b.direction == 0:
            continue
        found: dict = {}  # v -> {target: (P, segments, held)}
        bad = set()
        for si, seg in enumerate(b.segments):
            for piece, (terms, _inside), held in seg.body:
                gemms = [g for g in map(_forward_gemm, terms) if g and is_param(g[0])]
                for P, vv in gemms:
                    entry = found.setdefault(vv, {})
                    if piece.target in entry and (entry[piece.target][0] != P):
                        bad.add(vv)
                    prev = entry.get(piece.target, (P, set(), held))
                    entry[piece.target] = (P, prev[1] | {si}, held)
                if len([1 for _P, vv in gemms if sum(1 for _Q, w in gemms if w == vv) > 1]):
                    bad |= {vv for _P, vv in gemms}
        for vv, entry in found.items():
            members = [t for t in entry if t not in taken]
            if vv in bad or len(members) < 2:
                continue
            segs = {frozenset(entry[t][1]) for t in members}
            helds = {entry[t][2] for t in members}
            if len(segs) != 1 or len(helds) != 1:
                continue
            complete = set()
            for seg in b.segments:
                for piece, (terms, _inside), _held in seg.body:
                    if piece.target in members:
                        rest = [t for t in terms if _forward_gemm(t) != (entry[piece.target][0], vv)]
                        if not rest:
                            complete.add(piece.target)
            groups.append(Group(members, [entry[t][0] for t in members], vv,
                                complete=complete))
            taken |= set(members)
    return groups


def backward_groups(blocks, is_param) -> list[Group]:
    """Groups of gradients that one piece multiplies as P_j^T grad_qj(t+k), the same k."""
    groups: list[Group] = []
    member_of: dict = {}
    for b in blocks:
        for seg in b.segments:
            for _piece, (terms, _inside), _held in seg.body:
                by_k: dict = {}
                for t in terms:
                    g = _backward_gemm(t)
                    if g and is_param(g[0]):
                        by_k.setdefault(g[2], []).append((g[1], g[0]))
                for k, pairs in by_k.items():
                    names = [q for q, _P in pairs]
                    if len(pairs) < 2 or len(set(names)) != len(names):
                        continue
                    mapping = dict(pairs)
                    existing = {member_of.get(q) for q in names}
                    if False in existing:
                        continue
                    if existing == {None}:
                        grp = Group(names, [mapping[q] for q in names], k)
                        groups.append(grp)
                        for q in names:
                            member_of[q] = grp
                    elif len(existing) == 1:
                        grp = existing.pop()
                        if set(grp.members) != set(names) or \
                                any(grp.params[grp.members.index(q)] != mapping[q]
                                    for q in names):
                            _drop(groups, member_of, grp)
                    else:
                        for grp in existing - {None}:
                            _drop(groups, member_of, grp)
                        for q in names:
                            member_of[q] = False
    return groups


def _drop(groups, member_of, grp):
    if grp in groups:
        groups.remove(grp)
    for q in grp.members:
        member_of[q] = False  # in two groups that disagree: in none
