"""Cell files (``symrnn run --model path/to/cell.toml``): the parser reads the equations
through an allow-list of ``ast`` nodes, and every bad or hostile file gets one line naming the
file, the line, what is wrong and what is allowed, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from symrnn.cli import main
from symrnn.models import get_model
from symrnn.models.cell import CellError, load_cell
from support import cell

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

GOOD = "h = tanh(W @ h[t-1] + U @ x)\no = V @ h"


def test_a_good_cell_reads_as_the_model_it_writes(tmp_path):
    m = load_cell(cell(tmp_path, GOOD))
    assert [p.name for p in m.params] == ["U", "W", "V"]
    h, o = m.equation(m.quantity("h")), m.equation(m.quantity("o"))
    assert sp.sstr(h.rhs) == "tanh(U*x(t) + W*h(t - 1))"
    assert sp.sstr(o.rhs) == "V*h(t)"
    assert m.initial_values() == [(m.quantity("h"), "start")]


def test_elementwise_product_numbers_and_transpose(tmp_path):
    m = load_cell(cell(tmp_path, "h = (1 - sigmoid(U @ x)) * h[t-1] + 0.5 * "
                                 "(transpose(W) @ h[t-1]) / 2\no = V @ h"))
    rhs = m.equation(m.quantity("h")).rhs
    assert rhs.atoms(sp.HadamardProduct) and rhs.atoms(sp.OneMatrix)
    assert sp.Rational(1, 4) in rhs.atoms(sp.Rational)


BAD = [  # (equations, what the one line says)
    ("h = __import__('os')\no = V @ h", "unknown function '__import__'"),
    ("h = x.T\no = V @ h", "attribute access (a.b) is not allowed; allowed:"),
    ("h = (lambda: x)()\no = V @ h", "only the functions"),
    ("h = lambda: x\no = V @ h", "a lambda is not allowed"),
    ("h = foo(x)\no = V @ h", "unknown function 'foo'; the functions are"),
    ("h = tanh(W @ h[t-1] + q)\no = V @ h", "unknown name 'q'; the names are"),
    ("h = tanh(W @ x)\no = V @ h", "shape mismatch in @: n_hidden x n_hidden times n_in x 1"),
    ("h = tanh(W @ h[t-1]) + x\no = V @ h", "shape mismatch in +: n_hidden x 1 and n_in x 1"),
    ("h = U\no = V @ h", "shape mismatch: h is n_hidden x 1 but the right side is "
                         "n_hidden x n_in"),
    ("o = V @ h\nh = tanh(W @ h[t-1] + U @ x)", "h[t] is used before it is defined (line"),
    ("h = tanh(W @ h + U @ x)\no = V @ h", "cycle within a step: h[t] reads h[t]"),
    ("h = x ** 2\no = V @ h", "** is not allowed"),
    ("h = tanh(W @ h[t-1])[0]\no = V @ h", "only a name takes a step"),
    ("h = 'text'\no = V @ h", "'text' is not allowed"),
    ("h = tanh(W @ h[t-100] + U @ x)\no = V @ h", "a step is t, t-k or t+k"),
    ("h = " + "tanh(" * 40 + "W @ h[t-1]" + ")" * 40 + "\no = V @ h", "nested too deeply"),
    ("h = " + "(" * 300 + "x" + ")" * 300 + "\no = V @ h", "too many nested parentheses"),
]


@pytest.mark.parametrize("equations, message", BAD, ids=[m[:30] for _e, m in BAD])
def test_bad_equations_give_one_line_with_file_and_line(tmp_path, capsys, equations, message):
    p = cell(tmp_path, equations)
    with pytest.raises(CellError) as info:
        load_cell(p)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{p}:")
    assert main(["verify", "--model", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symrnn: error: ") and "Traceback" not in err


def test_a_two_node_cycle_is_named(tmp_path):
    p = cell(tmp_path, "a = W @ h\nh = tanh(a + U @ x)\no = V @ h", nodes='a = "n_hidden"\n'
             'h = "n_hidden"\no = "n_out"')
    with pytest.raises(CellError, match=r"cell.toml:14: cycle within a step: "
                                        r"a\[t\] reads h\[t\] reads a\[t\]"):
        load_cell(p)


def test_the_line_is_the_files_line(tmp_path):
    p = cell(tmp_path, "h = tanh(W @ h[t-1] + U @ x)\no = V @ q")
    with pytest.raises(CellError, match=r"cell.toml:14: unknown name 'q'"):
        load_cell(p)


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe not utf-8", "is not UTF-8 text"),
    (b"name = [", "not valid TOML"),
    (b"x" * (10 * 1024 * 1024), "larger than 64 KiB"),
    (b'name = "c"\nbogus = 1\n', "unknown key 'bogus'"),
    (b'name = "c"\n[params]\nW = ["n_big", "n_in"]\n', "unknown size 'n_big'"),
    (b'name = "c"\n[params]\ntanh = ["n_hidden"]\n', "'tanh' is reserved"),
    (b'title = "a \\\\ b"\n', "title must be plain text"),
    (b'name = "deep"\n', "name 'deep' is a built-in model's"),
])
def test_hostile_files(tmp_path, capsys, content, message):
    p = tmp_path / "hostile.toml"
    p.write_bytes(content)
    assert main(["run", "--model", str(p), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(p) in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_missing_file(tmp_path, capsys):
    assert main(["verify", "--model", str(tmp_path / "none.toml")]) == 2
    assert "cannot read the cell file" in capsys.readouterr().err


def test_no_eval_on_user_text():
    """The parser never hands user text to eval, exec, sympify or parse_expr."""
    src = (ROOT / "symrnn" / "models" / "cell.py").read_text().replace("re.compile(", "")
    for bad in ("eval(", "exec(", "sympify(", "parse_expr(", "compile("):
        assert bad not in src


@pytest.mark.parametrize("example", ["elman", "mgu", "peephole_lstm"])
def test_examples_parse(example):
    m = get_model(str(EXAMPLES / f"{example}.toml"))
    assert m.output.size.name == "n_out" and m.equations


@pytest.mark.parametrize("example", ["elman", "mgu", pytest.param(
    "peephole_lstm", marks=pytest.mark.slow)])
def test_examples_run_end_to_end(example, tmp_path, capsys):
    """``symrnn run --model examples/X.toml --quiet``: derivation, exact checks, code, documents
    and the numeric checks of the code all pass (the peephole LSTM takes minutes: -m slow)."""
    out = tmp_path / "out"
    assert main(["run", "--model", str(EXAMPLES / f"{example}.toml"), "--quiet", "--no-pdf",
                 "--out", str(out)]) == 0
    stem = get_model(str(EXAMPLES / f"{example}.toml")).name.replace("-", "_")
    assert (out / f"{stem}_loop.py").exists() and (out / f"bptt_{stem}_tau3.md").exists()
