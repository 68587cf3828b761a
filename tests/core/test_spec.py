"""The spec: every invalid field is refused with its name, its value and the allowed range;
sizes go up to the code limit, and exact instance checks refuse sizes beyond LIMITS."""

from __future__ import annotations

import re

import pytest

import symrnn
from symrnn.spec import CODE_LIMIT, LIMITS, RNNSpec, check_int

# each entry of ``words`` is a regular expression the message must contain; a bound is
# accepted as the one-sided "at least 1" or as the whole range "1..1024"
_LOW = r"(at least 1\b|\b1\.\.)"


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"tau": 0}, ValueError, ["tau", _LOW, "got 0"]),
    ({"tau": -3}, ValueError, ["tau", _LOW, "got -3"]),
    ({"tau": LIMITS["tau"] + 1}, ValueError,
     ["tau", rf"(at most |\.\.){LIMITS['tau']}\b", f"got {LIMITS['tau'] + 1}"]),
    ({"n_hidden": -1}, ValueError, ["n_hidden", _LOW, "got -1"]),
    ({"n_in": 0}, ValueError, ["n_in", _LOW, "got 0"]),
    ({"n_out": CODE_LIMIT + 1}, ValueError,
     ["n_out", rf"(at most |\.\.){CODE_LIMIT}\b", f"got {CODE_LIMIT + 1}"]),
    ({"tau": 2.5}, TypeError, ["tau", "integer", r"2\.5", "float"]),
    ({"tau": "3"}, TypeError, ["tau", "integer", "'3'", "str"]),
    ({"n_hidden": True}, TypeError, ["n_hidden", "integer", "True"]),
    ({"activation": "softplus"}, ValueError, ["activation", "tanh", "'softplus'"]),
    ({"loss": "hinge"}, ValueError, ["loss", "softmax-ce", "'hinge'"]),
    ({"h0": "ones"}, ValueError, ["h0", "zeros", "'ones'"]),
    ({"labels": (0, 1)}, ValueError, ["labels", "tau=3"]),
    ({"labels": (0, 1, 3)}, ValueError, [r"labels\[3\]", r"(at most 2|0\.\.2)", "got 3"]),
    ({"loss": "mse", "labels": (0, 1, 2)}, ValueError, ["labels", "mse"]),
    ({"model": "transformer"}, ValueError, ["model", "rnn", "output-recurrence", "'transformer'"]),
    ({"model": 3}, TypeError, ["model", "str"]),
])
def test_invalid_spec_names_field_value_and_range(kwargs, exc, words):
    with pytest.raises(exc) as info:
        RNNSpec(**kwargs)
    for w in words:
        assert re.search(w, str(info.value)), (w, str(info.value))


def test_check_int_is_the_one_integer_validator():
    assert check_int("k", 5, 1, 9) == 5
    assert check_int("k", 10**9, 1) == 10**9
    with pytest.raises(TypeError, match="k must be an integer"):
        check_int("k", 1.0, 1, 9)
    with pytest.raises(TypeError, match="bool"):
        check_int("k", False, 0)
    with pytest.raises(ValueError, match="got 10"):
        check_int("k", 10, 1, 9)


def test_sizes_above_the_instance_limits_are_valid_specs_but_not_checked_exactly():
    """A size of 17 (the old spec limit was 16) makes a valid spec for generated code; the
    exact instance checks refuse it with the size, the limit and what to do."""
    spec = RNNSpec(n_out=LIMITS["n_out"] + 1)
    assert spec.exceeds_instance_limits() == [f"n_out = {LIMITS['n_out'] + 1} > {LIMITS['n_out']}"]
    assert RNNSpec(n_hidden=CODE_LIMIT).n_hidden == CODE_LIMIT
    # (symrnn.certify takes any size: its general proofs hold for all, and its instance
    # cross-check caps the sizes itself)
    for stage in (symrnn.unroll, symrnn.derive, symrnn.matrix_equations):
        with pytest.raises(ValueError) as info:
            stage(spec)
        assert "n_out = 17 > 16" in str(info.value) and "smaller" in str(info.value)
    assert RNNSpec().exceeds_instance_limits() == []
