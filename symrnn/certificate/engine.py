"""The certificate engine: every formula of a catalogue built as printed and checked, for every
size and every tau, and at the chosen instance as a cross-check.

A verdict (``kind``) always comes out of building the printed formula and checking it:

* ``definition``: an equation that defines the model, equal to the model's own; shown as
  such, not counted as a confirmation;
* ``confirmed``: an identity proved for symbolic sizes and every step, in index form (scope
  ``all``);
* ``checked-instance``: no proof for every size and tau went through, but the two sides agree
  entry by entry at the chosen instance (scope ``instance``). That is evidence, not a proof:
  it never counts as holding (``Entry.holds``, ``Certificate.ok``) unless the certificate is
  made with ``accept_instance``, which it then says;
* ``refuted``: a rational point where the two sides provably differ (exactly, or by a ball
  enclosure that excludes 0);
* ``ill-formed``: the factors' shapes do not multiply (as printed, with column vectors);
* ``shorthand``: a rank-3 Jacobian inside a product, the tensor convention of Deep Learning
  section 6.5.2: its reading says which contraction, and is checked;
* ``ambiguous``: a product over steps of matrices that do not commute, printed without an
  order: both orders are built and checked;
* ``unproven``: no proof and no counterexample.

The one lemma taken as given, that reverse accumulation over the unrolled graph gives the
total derivative, is named in the certificate with its cross-check; the rules the matrix
equations are built from are proved in index form (``General.rules``).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import sympy as sp

from ..core.derive import gc_paused
from ..functions import ACTIVATIONS, LOSSES
from ..naming import TAU, T, At, Grad, StepSum
from ..processes import quiet_worker
from .claims import (ASSUMPTIONS, Ambiguous, Claim, Formula, GClaim, IllFormed, Reading,
                     Shorthand, record_products, same_shapes)
from .general import General
from .instance import Instance

SCHEMA_VERSION = 1
KINDS = ("confirmed", "refuted", "ill-formed", "shorthand", "ambiguous", "definition",
         "checked-instance", "unproven", "not-applicable")
#: Kinds that hold (as printed or in a reading) when decided for every size and tau.
HOLDING = ("confirmed", "definition")
#: The lemma every general proof rests on.
LEMMA = ("reverse accumulation: over the unrolled graph, the gradient of L with respect to a "
         "node is the sum over the nodes that read it of (their Jacobian)^T times their "
         "gradient (the chain rule of the total derivative)")


@dataclass
class Verdict:
    """The outcome of one builder: kind, scope, reason, conditions, counterexample, method."""

    kind: str
    scope: str | None = None
    reason: str | None = None
    conditions: list[str] = field(default_factory=list)
    counterexample: dict | None = None
    method: str = ""
    instance: str | None = None  # the instance cross-check's outcome, in words
    #: what the check met on the way, for an explanation (``explain_data``): the products
    #: built, the factors that did not multiply, the rank-3 Jacobian, the Jacobians written,
    #: the contractions written out, the elementwise form of a diagonal times a vector
    details: dict = field(default_factory=dict)


@dataclass
class Entry:
    """One formula's verdict: the printed form's, and its readings'."""

    id: str
    part: str
    title: str
    printed: str
    text: str
    kind: str
    scope: str | None
    conditions: list[str]
    readings: list[dict]
    reason: str | None
    method: str
    seconds: float
    counterexample: dict | None = None
    instance: str | None = None
    note: str | None = None
    formula: Formula | None = field(default=None, repr=False, compare=False)
    #: the printed form's check data (``Verdict.details``); SymPy objects, ``to_json`` prints
    details: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str:  # the old name, kept for one release
        return self.kind

    @property
    def reading(self) -> str | None:
        """The LaTeX of the first confirmed reading."""
        r = self.confirmed_reading
        return r["latex"] if r else None

    @property
    def reading_text(self) -> str | None:
        r = self.confirmed_reading
        return r["text"] if r else None

    @property
    def reading_status(self) -> str | None:
        if self.confirmed_reading:
            return "confirmed"
        return self.readings[0]["kind"] if self.readings else None

    @property
    def confirmed_reading(self) -> dict | None:
        """The first reading proved for every size and tau (never one checked at the
        instance only)."""
        return next((r for r in self.readings
                     if r["kind"] in HOLDING and r["scope"] == "all"), None)

    @property
    def holds(self) -> bool:
        """Holds for every size and tau: as printed (confirmed, a definition; or not
        applicable at this tau) or in a reading proved for every size and tau. A formula
        checked at the instance only does not hold (``holds_at_instance``)."""
        return (self.kind in HOLDING and self.scope == "all") or \
            self.kind == "not-applicable" or self.confirmed_reading is not None

    @property
    def holds_at_instance(self) -> bool:
        """Holds, or agrees at the instance only (as printed or in a reading): what
        ``accept_instance`` counts."""
        return self.holds or self.kind == "checked-instance" or any(
            r["kind"] == "checked-instance" for r in self.readings)

    def _repr_latex_(self) -> str:
        from ..document.printer import entry_repr_latex  # lazy: documents read this
        return entry_repr_latex(self)

    def to_json(self) -> dict:
        return {
            "id": self.id, "part": self.part, "title": self.title, "printed": self.printed,
            "text": self.text, "kind": self.kind, "status": self.kind, "scope": self.scope,
            "conditions": self.conditions,
            "readings": [{**{k: r[k] for k in ("text", "latex", "kind", "scope", "what",
                                               "counterexample", "conditions", "moved")},
                          "details": details_json(r.get("details", {}))}
                         for r in self.readings],
            "details": details_json(self.details),
            "counterexample": self.counterexample, "reason": self.reason,
            "method": self.method, "instance": self.instance, "note": self.note,
            "seconds": self.seconds,
        }


class Checker:
    """General and instance checks of one configuration (model, activation, loss, sizes)."""

    def __init__(self, general: General, concrete: General, instance: Instance):
        self.G = general  # symbolic sizes
        self.C = concrete  # the instance's sizes (for the instance claims)
        self.I = instance
        self.spec = instance.spec
        self.act = ACTIVATIONS[self.spec.activation]
        self.loss = LOSSES[self.spec.loss]
        self.seconds = {"general": 0.0, "instance": 0.0}

    # ---------------------------------------------------------------- one builder

    def decide(self, build: Callable, method: str, refute_instance=None) -> Verdict:
        """Build at symbolic sizes and check; then cross-check at the instance. The verdict's
        ``details`` say what the check met (for an explanation; they decide nothing)."""
        products = record_products()
        self.G.contractions = []
        holder: dict = {}
        v = self._decide(build, method, holder)
        d = v.details
        d["products"] = list(products)
        seen, jacs = set(), []
        for out, wrt, value in self.G.jacobians_used:
            if (out, wrt) not in seen:
                seen.add((out, wrt))
                jacs.append((out, wrt, value, sp.Transpose(value).doit()))
        d["jacobians"] = jacs
        cons = []
        for node, param in dict.fromkeys(self.G.contractions):
            if isinstance(node, At) and (node.name, param) not in {(n.name, p) for n, p, _ in cons}:
                direct = self.G.direct(node.name, param)
                if direct is not None:
                    cons.append((self.G.node(node.name, T), param, direct))
        d["contractions"] = cons
        forms = [elementwise(c.formula) for c in holder.get("claims", [])
                 if isinstance(c.formula, sp.Basic)]
        d["elementwise"] = [f for f in forms if f is not None]
        return v

    def _decide(self, build: Callable, method: str, holder: dict) -> Verdict:
        self.G.jacobians_used = []  # the Jacobians this formula writes, proved with it
        try:
            claims = build(self.G)
            holder["claims"] = claims
            same_shapes(claims)
        except IllFormed as e:
            v = Verdict("ill-formed", "all", f"as printed, {e}", method="type check with "
                        "column vectors, symbolic sizes",
                        details={"factors": e.factors, "at": e.at} if e.factors else {})
            if e.only_when:
                v.conditions.append(f"well-formed only when {' = '.join(e.only_when)} = 1")
                v.instance = self._instance_of_illformed(build)
            return v
        except Shorthand as e:
            return Verdict("shorthand", "all", f"as printed, {e}",
                           method="a rank-3 Jacobian inside a product",
                           details={"rank3": e.rank3} if e.rank3 is not None else {})
        except Ambiguous as e:
            return Verdict("ambiguous", "all", f"as printed, {e}",
                           method="a product of non-commuting matrices without an order",
                           details={"product": e.product.label} if e.product is not None
                           else {})
        outside = self._reads_outside(claims)
        if outside:
            return Verdict("ill-formed", "all", f"as printed, {outside}",
                           method="the steps it reads, against those the network has")
        t0 = time.perf_counter()
        general, why = self._general(claims)
        t1 = time.perf_counter()
        inst_claims = self._instance_claims(build)
        inst_ok, cex = self._instance_check(inst_claims)
        self.seconds["general"] += t1 - t0
        self.seconds["instance"] += time.perf_counter() - t1
        instance = self._instance_words(inst_ok, cex, inst_claims)
        if general:
            if inst_ok is False:  # cannot happen unless a check is wrong: say so loudly
                return Verdict("unproven", None, "the general proof and the instance check "
                               "disagree", method="inconsistent", counterexample=cex,
                               instance=instance)
            kind = "definition" if method == "definition" else "confirmed"
            return Verdict(kind, "all", method=self._method(method, True, claims),
                           instance=instance)
        if inst_ok is False and cex is not None:
            return Verdict("refuted", "all", counterexample=cex, instance=instance,
                           method="a rational point where the two sides provably differ "
                                  f"({cex['verified']})")
        if inst_ok is True:  # evidence at one instance, not a proof: its own kind
            return Verdict("checked-instance", "instance",
                           f"no proof for every size and tau: {why}; the two sides agree "
                           f"only at the instance checked", instance=instance,
                           method=self._method(method, False, claims))
        return Verdict("unproven", None, f"no proof for every size and tau ({why}), and no "
                       f"point separated the two sides", method="general and instance checks",
                       instance=instance)

    def _reads_outside(self, claims: list[GClaim]) -> str | None:
        """A quantity the formula names at a step the network does not have (h(tau + 1),
        x(0), grad_h(tau + 1) L), in words; None when every one exists. (At an instance such
        a quantity would be taken as 0, and a wrong formula could hold there.) Steps are
        t + k or tau + k over ranges lo(tau)..hi(tau): what is outside is outside at an end
        of the range, and what is outside at this tau is outside at every tau the formula
        applies to."""
        g, tau = self.I.g, self.spec.tau
        for c in claims:
            if not isinstance(c.formula, sp.Basic):
                continue
            for t in (_ends(c.within, tau) if c.within is not None else [None]):
                for m, k, step in _read(c.formula, tau, t):
                    node = m.of if isinstance(m, Grad) else m
                    if not g.has(node.name, k):
                        at = "" if step is None else f" at t = {step}"
                        return (f"it reads {sp.sstr(m)}{at} (tau = {tau}), "
                                f"and the network has no {node.name}({k})")
        return None

    def _method(self, method: str, general: bool, claims) -> str:
        steps = {c.within for c in claims if c.within is not None}
        where = "every step of its range" if steps else "as a whole"
        if not general:
            return (f"exact at tau = {self.spec.tau}, sizes {self._sizes()}: SymPy reduces "
                    f"the difference to 0 entry by entry")
        if method == "definition":
            return "equal to the model's equation in index form, for every size"
        if method == "induction":
            return (f"induction over k ({len(claims)} cases: base, Jacobian step, term), each "
                    f"an identity in index form for every size and every step")
        return f"identity in index form for every size and {where}"

    def _sizes(self) -> str:
        s = self.spec
        return f"{s.n_in}/{s.n_hidden}/{s.n_out}"

    def _general(self, claims: list[GClaim]) -> tuple[bool, str | None]:
        """(proved for every size and tau, why not in words)."""
        G = self.G
        for c in claims:
            if c.general is not None:
                if not c.general(G):
                    return False, f"the case {c.label} is not an identity in index form"
                continue
            given = c.given_grads()
            if isinstance(c.about, Grad):
                truth = G.truth(c.about.of, c.within)
                if truth is None:
                    return False, (f"no derived equation of {sp.sstr(c.about)} covers every "
                                   f"step of the formula's range")
                truth = G.expand(truth, given, c.within)
                formula = G.expand(c.formula, given, c.within) if c.given is not None \
                    else c.formula
            else:  # a definition: the model's own equation, unfolded within the step
                truth, formula = G.unfold(c.about), G.unfold(c.formula)
            if not G.equal(truth, formula, c.within):
                return False, (f"the difference of the two sides of {c.label} does not "
                               f"reduce to 0 in index form (symbolic sizes, step t)")
        if not G.jacobians_hold():
            return False, "a Jacobian it writes is not the derivative of the model's equations"
        return True, None

    def _instance_claims(self, build) -> list[Claim] | None:
        """The instance claims of the formula's claims; None when it is not built at the
        instance's sizes. A claim with no step at the instance (a range empty at its tau)
        makes the instance not applicable (``Instance.EMPTY``): nothing was checked there."""
        try:
            claims = build(self.C)
        except (IllFormed, Shorthand, Ambiguous):
            return None
        out = []
        for c in claims:
            part = self.I.claims(c)
            if not part:
                return [Instance.empty(c.label)]
            out += part
        return out

    def _instance_check(self, claims) -> tuple[bool | None, dict | None]:
        if claims is None or any(c.empty for c in claims):
            return None, None
        for claim in claims:
            inst = claim.instance or self.I
            if claim.refute_first:  # expected to differ: look for the point before a proof
                cex = inst.counterexample(claim)
                if cex is not None:
                    return False, cex
            if not inst.holds(claim):
                return False, inst.counterexample(claim)
        return True, None

    def _instance_words(self, ok, cex, claims=None) -> str:
        where = f"tau = {self.spec.tau}, sizes {self._sizes()}"
        if ok is True:
            return f"confirmed at {where}"
        if ok is False:
            return f"refuted at {where}" + ("" if cex else " (no point separated the sides)")
        empty = next((c for c in claims or () if c.empty), None)
        if empty is not None:
            return (f"not applicable at {where}: {empty.label} has no step there, so nothing "
                    f"was checked at the instance")
        return f"not built at {where}"

    def _instance_of_illformed(self, build) -> str | None:
        """At an instance where the sizes make the print well-formed (n_hidden = 1)."""
        claims = self._instance_claims(build)
        if claims is None:
            return None
        ok, _cex = self._instance_check(claims)
        if ok:
            return (f"at tau = {self.spec.tau}, sizes {self._sizes()} the shapes multiply and "
                    f"the printed form holds, only because 1 x 1 matrices commute")
        return f"at tau = {self.spec.tau}, sizes {self._sizes()} the shapes multiply but the " \
            f"printed form does not hold"


def _ends(steps, tau: int) -> list[int]:
    """The first and last step of a range at tau: a step t + k it reads is outside the
    network at some step of the range only if it is at one of these."""
    points = steps.points(tau)
    return sorted({points[0], points[-1]}) if points else []


def _read(expr, tau: int, t) -> list[tuple[object, int, int | None]]:
    """(what, step, t) of every quantity ``expr`` names at step ``t`` of tau, as a value
    (``At``) or through its gradient (``Grad``); in a step sum, at the sum's first and last
    step (``t`` is then the sum's step)."""
    out: list = []

    def at(m, t):
        subs = {TAU: sp.Integer(tau)} if t is None else {TAU: sp.Integer(tau), T: sp.Integer(t)}
        return sp.sympify(m.step).xreplace(subs)

    def walk(e, t):
        if isinstance(e, StepSum):
            for k in _ends(e.steps, tau):
                walk(e.expr, k)
            return
        if isinstance(e, Grad) and isinstance(e.of, At) or isinstance(e, At):
            step = at(e.of if isinstance(e, Grad) else e, t)
            if step.is_Integer:
                out.append((e, int(step), t))
            return
        for a in e.args:
            if isinstance(a, sp.Basic):
                walk(a, t)

    walk(expr, t)
    return out


def _assumption_broken(f: Formula, checker: Checker) -> str | None:
    if f.assumes in ("tanh", "tanh-forward") and not checker.act.note_form:
        return ASSUMPTIONS[f.assumes].format(activation=checker.act.name)
    if f.assumes in ("softmax", "class") and not checker.loss.note_form:
        return ASSUMPTIONS[f.assumes].format(loss=checker.loss.name)
    return None


def run_formula(f: Formula, checker: Checker) -> Entry:
    start = time.perf_counter()
    spec = checker.spec
    if spec.tau < f.needs_tau:
        return Entry(f.id, f.part, f.title, f.printed, f.text, "not-applicable", None, [], [],
                     f"the formula needs step {f.needs_tau}; tau = {spec.tau}",
                     f"needs tau >= {f.needs_tau}", round(time.perf_counter() - start, 3),
                     note=f.note, formula=f)
    v = checker.decide(f.build, f.method)
    readings = []
    if v.kind not in ("confirmed", "definition"):
        for r in f.readings:
            rv = checker.decide(r.build, f.method)
            moved = None
            if v.details.get("factors"):
                found = _moved(v.details["factors"], rv.details.get("products", []))
                if found is not None:
                    rv.details["moved_product"] = found[0]
                    moved = found[1]
            readings.append({"text": r.text, "latex": r.latex, "kind": rv.kind,
                             "scope": rv.scope, "what": r.what, "method": rv.method,
                             "counterexample": rv.counterexample,
                             "conditions": rv.conditions + list(r.conditions),
                             "instance": rv.instance, "reason": rv.reason,
                             "moved": moved, "details": rv.details})
    reason = v.reason
    if v.kind == "refuted":
        reason = _assumption_broken(f, checker) or "the two sides differ at the point given"
    method = v.method
    good = next((r for r in readings if r["kind"] == "confirmed" and r["scope"] == "all"), None)
    if good:
        method += f"; reading: {good['method']}"
    conditions = list(v.conditions)
    for r in readings:
        conditions += [c for c in r["conditions"] if c not in conditions]
    return Entry(f.id, f.part, f.title, f.printed, f.text, v.kind, v.scope, conditions,
                 readings, reason, method, round(time.perf_counter() - start, 3),
                 v.counterexample, v.instance, f.note, f, v.details)


@dataclass
class Certificate:
    """The verdict on every formula of a catalogue for one spec."""

    spec: object
    entries: list[Entry] = field(default_factory=list)
    lemmas: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # general proofs, instance cross-check
    instance: object = None  # the spec of the instance cross-check (None: ``spec`` itself)
    #: count a formula checked at the instance only as holding (said in the summary and JSON)
    accept_instance: bool = False

    @property
    def lemmas_hold(self) -> bool:
        """Every lemma's cross-check agrees (a lemma whose cross-check fails is no lemma)."""
        return all(l.get("cross_check", {}).get("holds") is True for l in self.lemmas)

    @property
    def ok(self) -> bool:
        """Every formula holds for every size and tau (as printed or in a reading proved for
        every size and tau; with ``accept_instance``, also at the instance only), every rule
        the derivation rests on is proved, and the lemma's cross-check agrees."""
        held = (lambda e: e.holds_at_instance) if self.accept_instance else (lambda e: e.holds)
        return all(held(e) for e in self.entries) and \
            all(r["proved"] for r in self.rules) and self.lemmas_hold

    def counts(self) -> dict[str, int]:
        return {k: sum(e.kind == k for e in self.entries) for k in KINDS}

    def instance_only(self) -> list[Entry]:
        """The entries that hold at the instance only (as printed or in a reading)."""
        return [e for e in self.entries if not e.holds and e.holds_at_instance]

    def to_json(self) -> dict:
        inst = self.instance or self.spec
        return {"schema_version": SCHEMA_VERSION, "ok": self.ok, "summary": self.summary(),
                "accept_instance": self.accept_instance,
                "instance_only": [e.id for e in self.instance_only()],
                "spec": _spec_json(self.spec),
                "instance": {**{k: getattr(inst, k) for k in ("tau", "n_in", "n_hidden",
                                                               "n_out")},
                             "labels": list(inst.class_labels)
                             if hasattr(inst, "class_labels") and inst.loss == "softmax-ce"
                             else None,
                             "labels_seed": getattr(inst, "labels_seed", None)},
                "lemmas": self.lemmas, "rules": self.rules,
                "entries": [e.to_json() for e in self.entries]}

    def summary(self) -> str:
        if not self.entries:
            return "0 formulas: this model has no printed formulas to certify"
        parts = [f"{v} {k}" for k, v in self.counts().items() if v]
        with_reading = sum(e.kind not in HOLDING and e.confirmed_reading is not None
                           for e in self.entries)
        general = sum(e.scope == "all" for e in self.entries)
        text = (f"{len(self.entries)} formulas: " + ", ".join(parts) +
                f"; {with_reading} with a confirmed reading; {general} decided for every size "
                f"and tau")
        only = self.instance_only()
        if only:
            text += (f"; {len(only)} checked at the instance only, not proved for every size "
                     f"and tau ({', '.join(e.id for e in only)})" +
                     ("; accepted (--accept-instance)" if self.accept_instance else
                      "; not counted as holding"))
        if not self.lemmas_hold:
            text += "; the lemma's cross-check FAILED, so no general proof stands"
        return text

    def _repr_latex_(self) -> str:
        from ..document.printer import certificate_repr_latex  # lazy: documents read this
        return certificate_repr_latex(self)


def _spec_json(spec) -> dict:
    fields = ("model", "tau", "n_in", "n_hidden", "n_out", "activation", "loss", "h0")
    return {k: getattr(spec, k) for k in fields if hasattr(spec, k)}


def _shape_json(m) -> list[str]:
    return [sp.sstr(d) for d in m.shape]


def details_json(d: dict) -> dict:
    """``Verdict.details`` as JSON: each SymPy object as its plain text, shapes as lists."""
    out: dict = {}
    if "factors" in d:
        out["factors"] = [{"text": sp.sstr(f), "shape": _shape_json(f)} for f in d["factors"]]
        out["at"] = d.get("at")
    if "rank3" in d:
        r = d["rank3"]
        out["rank3"] = {"text": r.text(), "shape": [sp.sstr(x) for x in r.shape]}
    if "product" in d:
        out["product"] = d["product"]
    if d.get("jacobians"):
        out["jacobians"] = [{"of": sp.sstr(a), "wrt": sp.sstr(b), "value": sp.sstr(v),
                             "transpose": sp.sstr(vt)} for a, b, v, vt in d["jacobians"]]
    if d.get("contractions"):
        out["contractions"] = [{"of": sp.sstr(n), "wrt": sp.sstr(p), "direct": sp.sstr(e)}
                               for n, p, e in d["contractions"]]
    if d.get("elementwise"):
        out["elementwise"] = [sp.sstr(e) for e in d["elementwise"]]
    return out


def elementwise(expr):
    """``expr`` with every diag(v) g (g a column) written as the elementwise product v (.) g
    (what code computes); None when there is none."""
    found = []

    def flat(m):
        return [x for a in m.args for x in (flat(a) if isinstance(a, sp.MatMul) else [a])]

    def fold(m):
        args = flat(m)
        out = []
        for a in args:
            if out and isinstance(out[-1], sp.DiagMatrix) and getattr(a, "shape", (0, 0))[1] == 1:
                d = out.pop()
                found.append(True)
                out.append(sp.HadamardProduct(d.args[0], a))
                continue
            out.append(a)
        return sp.MatMul(*out) if len(out) > 1 else out[0]

    new = expr.replace(lambda e: isinstance(e, sp.MatMul) and any(
        isinstance(x, sp.DiagMatrix) for x in flat(e)), fold)
    return new if found else None


def _moved(printed: tuple, products: list) -> tuple[tuple, list[int]] | None:
    """A product the reading built from the printed factors in another order, and the
    positions (in it) of the factors that moved: those outside a longest common
    subsequence of the two orders."""
    import difflib
    keys = [sp.srepr(f) for f in printed]
    for prod in products:
        other = [sp.srepr(f) for f in prod]
        if sorted(other) != sorted(keys) or other == keys:
            continue
        kept = set()
        for block in difflib.SequenceMatcher(a=keys, b=other, autojunk=False).get_matching_blocks():
            kept.update(range(block.b, block.b + block.size))
        return prod, [i for i in range(len(prod)) if i not in kept]
    return None


_WORK: tuple | None = None  # what forked workers inherit


def _run_index(i: int):
    checker, formulas = _WORK
    entry = run_formula(formulas[i], checker)
    entry.formula = None  # builders are closures: the parent puts the Formula back
    return i, entry


def certify_context(checker: Checker, catalogue: Iterable[Formula],
                    progress: Callable[[str], None] | None = None,
                    workers: int | None = None, heavy_first: tuple[str, ...] = (),
                    lemmas: list[dict] | None = None) -> Certificate:
    """Check every formula of ``catalogue`` with ``checker``.

    ``workers``: processes to spread the entries over (default: 2 when tau >= 32 and the
    machine has 2 cores, else 1). Entries are independent, so the result is the same.
    """
    global _WORK
    formulas = list(catalogue)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if checker.spec.tau >= 32 else 1
    entries: dict[int, Entry] = {}
    with gc_paused():
        rules = [{"rule": what, "proved": ok} for what, ok in checker.G.rules()]
        rules.append(dict(zip(("rule", "proved"), checker.G.loss_rule())))
        if workers > 1 and len(formulas) > 1 and "fork" in multiprocessing.get_all_start_methods():
            rank = {fid: k for k, fid in enumerate(heavy_first)}
            order = sorted(range(len(formulas)), key=lambda i: (rank.get(formulas[i].id, 99), i))
            _WORK = (checker, formulas)
            try:
                # workers die with this process (kill, kill -9), ignore Ctrl-C (the parent
                # stops the pool) and never print a traceback
                with multiprocessing.get_context("fork").Pool(
                        workers, initializer=quiet_worker, initargs=(os.getpid(),)) as pool:
                    for i, entry in pool.imap_unordered(_run_index, order):
                        entries[i] = entry
                        if progress:
                            progress(entry.id)
            finally:
                _WORK = None
            for i, f in enumerate(formulas):
                entries[i].formula = f
        else:
            for i, f in enumerate(formulas):
                if progress:
                    progress(f.id)
                entries[i] = run_formula(f, checker)
    seconds = {k: round(v, 3) for k, v in checker.seconds.items()}
    if workers > 1:
        seconds = {}  # spread over processes: per-entry seconds only
    return Certificate(checker.spec, [entries[i] for i in range(len(formulas))],
                       lemmas or [], rules, seconds)


__all__ = ["Checker", "Certificate", "Entry", "Verdict", "certify_context", "run_formula",
           "KINDS", "SCHEMA_VERSION", "LEMMA", "Reading", "Claim"]
