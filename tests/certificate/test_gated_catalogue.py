"""The book's printed LSTM and GRU equations: each is a definition that holds for every size
and step; the framework's forms, planted as if the book printed them, are refuted."""

from __future__ import annotations

import dataclasses

import pytest

from symrnn import RNNSpec, analyse
from symrnn.certificate.claims import Formula, add, product
from symrnn.certificate.gated import GRU_CATALOGUE, LSTM_CATALOGUE
from symrnn.certificate.note import defines
from symrnn.functions import Apply
from symrnn.models import MODELS, get_model
from symrnn.models.base import hadamard, one_minus
from symrnn.naming import T

SPEC = dict(tau=2, n_in=1, n_hidden=2, n_out=2)


@pytest.mark.parametrize("model, ids", [
    ("lstm", ["lstm.10.40", "lstm.10.41", "lstm.10.42", "lstm.10.43", "lstm.10.44"]),
    ("gru", ["gru.10.45", "gru.10.46", "gru.10.47"])])
def test_the_printed_equations_are_definitions_for_every_size(model, ids):
    cert = analyse(RNNSpec(model=model, **SPEC)).certificate
    assert [e.id for e in cert.entries] == ids
    assert cert.ok
    for e in cert.entries:
        assert e.kind == "definition" and e.scope == "all", (e.id, e.kind, e.reason)


def _tanh_cell_input(G):  # PyTorch's tanh where the book prints sigma (10.41)
    z = Apply("tanh", add(G.P("b"), product(G.P("U"), G.node("x", T)),
                          product(G.P("W"), G.node("h", T - 1))))
    return add(hadamard(G.node("f", T), G.node("s", T - 1)), hadamard(G.node("g", T), z))


def _reset_after_product(G):  # PyTorch's r (.) (W h) where the book prints W (r (.) h)
    u, h = G.node("u", T - 1), G.node("h", T - 1)
    inner = add(G.P("b"), product(G.P("U"), G.node("x", T)),
                hadamard(G.node("r", T - 1), product(G.P("W"), h)))
    return add(hadamard(u, h), hadamard(one_minus(u), Apply("sigmoid", inner)))


@pytest.mark.parametrize("model, name, build", [("lstm", "s", _tanh_cell_input),
                                                ("gru", "h", _reset_after_product)])
def test_the_framework_form_is_refuted_against_the_book(model, name, build, monkeypatch):
    wrong = Formula(f"planted.{model}", "forward", "the framework's form", "x", "x",
                    defines(name, build), method="definition")
    m = dataclasses.replace(get_model(model), catalogue=(wrong,))
    monkeypatch.setitem(MODELS, model, m)
    cert = analyse(RNNSpec(model=model, **SPEC)).certificate
    (e,) = cert.entries
    assert e.kind == "refuted" and not cert.ok, (e.kind, e.reason)
