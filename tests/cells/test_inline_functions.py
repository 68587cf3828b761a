"""A function applied to an expression, not to a node of its own (h = tanh(W h(t-1) + U x(t)),
the way most people write a cell): its reverse rules are proved through the argument (chain
rule by sympy.diff, f' written with f's output), the lemma's cross-check holds, and the rule
check still says no to a wrong contribution. A piecewise function (relu) is differentiated only
as a whole equation of one quantity; anywhere else it is refused with one line, exit 2."""

from __future__ import annotations

import json

import pytest

from symrnn.certificate import general as general_module
from symrnn.certificate.general import General
from symrnn.cli import main
from symrnn.functions import LOSSES
from symrnn.models import get_model
from symrnn.spec import RNNSpec

from support import cell

INLINE = [
    "h = tanh(W @ h[t-1] + U @ x)\no = V @ h",
    "h = tanh(W @ h[t+1] + U @ x)\no = V @ h",  # a backward recursion
    "h = tanh(W @ tanh(W @ h[t-1]) + U @ x)\no = V @ h",  # nested, W read twice
    "h = sigmoid(W @ h[t-1] + U @ x) * h[t-1] + tanh(U @ x)\no = V @ h",  # a gate inside
]


@pytest.mark.parametrize("equations", [  # the gated one by default (nested functions end to
    # end: tests/cells/test_cell_files.py), all of them with -m slow
    pytest.param(e, id=str(i), marks=() if i == 3 else pytest.mark.slow)
    for i, e in enumerate(INLINE)])
def test_inline_arguments_are_certified(tmp_path, capsys, equations):
    p = cell(tmp_path, equations)
    assert main(["verify", "--json", "--model", str(p)]) == 0
    cert = json.loads(capsys.readouterr().out)["certificate"]
    assert cert["ok"] is True
    assert [lem["cross_check"]["holds"] for lem in cert["lemmas"]] == [True]
    assert cert["rules"] and all(r["proved"] is True for r in cert["rules"]), cert["rules"]


def test_a_wrong_contribution_is_not_proved(tmp_path, monkeypatch):
    """The rule check can say no: each contribution doubled, no rule of the inline equation
    is proved (the output's own rules stay proved)."""
    p = cell(tmp_path, INLINE[0])
    model = get_model(str(p))
    right = general_module.pullback

    def doubled(expr, g, out=None):
        pairs = right(expr, g, out=out)
        return [(leaf, 2 * c) for leaf, c in pairs] if out is not None and \
            out.name == "h" else pairs

    monkeypatch.setattr(general_module, "pullback", doubled)
    rules = General(model, "tanh", LOSSES["softmax-ce"], None).rules()
    of_h = [ok for what, ok in rules if what.startswith("h(t)")]
    assert len(of_h) == 4 and not any(of_h)
    assert all(ok for what, ok in rules if what.startswith("o(t)"))


@pytest.mark.parametrize("equations, args", [
    ("h = relu(W @ h[t-1] + U @ x)\no = V @ h", []),
    ("h = tanh(W @ h[t-1] + U @ x)\no = V @ relu(h)", []),
    ("h = phi(W @ h[t-1] + U @ x)\no = V @ h", ["--activation", "relu"]),
])
def test_relu_of_an_expression_is_refused_with_one_line(tmp_path, capsys, equations, args):
    p = cell(tmp_path, equations)
    assert main(["run", "--quiet", "--model", str(p), "--out", str(tmp_path / "o")] + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{p}:1" in err and "a node of its own" in err
    assert ("relu (phi is --activation relu) is piecewise" in err) == bool(args)
    assert ("relu is piecewise" in err) != bool(args)
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="is piecewise"):
        RNNSpec(model=str(p), activation="relu")


def test_relu_of_a_node_is_certified_and_its_lemma_holds(tmp_path, capsys):
    p = cell(tmp_path, "a = W @ h[t-1] + U @ x\nh = relu(a)\no = V @ h",
             nodes='a = "n_hidden"\nh = "n_hidden"\no = "n_out"')
    assert main(["verify", "--json", "--model", str(p)]) == 0
    cert = json.loads(capsys.readouterr().out)["certificate"]
    (lemma,) = cert["lemmas"]
    assert lemma["cross_check"]["holds"] is True and "relu" in lemma["cross_check"]["method"]
    assert all(r["proved"] is True for r in cert["rules"])


def test_a_chain_of_ten_function_nodes_is_proved(tmp_path, capsys):
    """a1 = tanh(W h(t-1) + U x), a2 = tanh(a1), ..., h = tanh(a9): the rule check writes each
    node in the basis of the one it applies to, down the whole chain (it stopped after 8
    links, so h's rule was 'not proved'); with real index bases SymPy builds the nested tanh
    without asking each level for its real and imaginary parts (3x the time per level)."""
    names = [f"a{k}" for k in range(1, 10)]
    eqs = ["a1 = tanh(W @ h[t-1] + U @ x)"] + [f"{b} = tanh({a})" for a, b in
                                              zip(names, names[1:])] + ["h = tanh(a9)", "o = V @ h"]
    p = cell(tmp_path, "\n".join(eqs), nodes="\n".join(f'{a} = "n_hidden"' for a in names)
             + '\nh = "n_hidden"\no = "n_out"')
    rules = General(get_model(str(p)), "tanh", LOSSES["softmax-ce"], None).rules()
    assert len(rules) == 15 and [what for what, ok in rules if not ok] == []
