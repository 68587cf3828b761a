"""Every data text of every registered model has a Chinese entry in ``TERMS``: without one the
Chinese document shows the English text (``term`` falls back to it). A new model, or a renamed
parameter, fails here until its texts are translated."""

import re

import pytest

from symrnn.document.words import TERMS, term
from symrnn.models import MODELS

CJK = re.compile(r"[\u4e00-\u9fff]")


def data_texts(model):
    """The texts a document takes from the model: title, summary, notes, and what each
    parameter and quantity is."""
    texts = [model.title, model.describe, *model.notes]
    texts += [p.text for p in model.params] + [q.text for q in model.quantities]
    return [t for t in texts if t]


def source_texts(model):
    """The model's reference (section, figure) and the titles and notes of the printed
    formulas its certificate checks."""
    texts = [model.reference]
    texts += [x for f in (model.catalogue or ()) for x in (f.title, f.note)]
    return [t for t in texts if t]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_text_has_a_chinese_entry(name):
    texts = data_texts(MODELS[name])
    assert texts, f"{name}: no data texts found"
    missing = [t for t in texts if t not in TERMS]
    assert not missing, f"{name}: no zh entry in TERMS for {missing}"
    not_chinese = [t for t in texts if not CJK.search(TERMS[t])]
    assert not not_chinese, f"{name}: the zh entry has no Chinese character for {not_chinese}"
    assert all(term(t, "zh") == TERMS[t] and term(t, "en") == t for t in texts)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_reference_and_catalogue_text_has_a_chinese_entry(name):
    texts = source_texts(MODELS[name])
    missing = [t for t in texts if t not in TERMS]
    assert not missing, f"{name}: no zh entry in TERMS for {missing}"
    not_chinese = [t for t in texts if not CJK.search(TERMS[t])]
    assert not not_chinese, f"{name}: the zh entry has no Chinese character for {not_chinese}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_chinese_entries_keep_identifiers(name):
    """Code names (weight_ih_l0, W_hn, nn.LSTM) and model names (lstm-torch) stay as they are
    in the translation."""
    for t in data_texts(MODELS[name]) + source_texts(MODELS[name]):
        for word in re.findall(r"[A-Za-z]\w*(?:[_.]\w+)+|\b[a-z]+-torch\b", t):
            assert word in TERMS.get(t, ""), \
                f"{name}: {word!r} is missing from the zh entry of {t!r}"
