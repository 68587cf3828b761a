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
    ("h = tanh(W @ h[t-100] + U @ x)\no = V @ h", "h[t-100]: a step is t, t-1 or t+1"),
    ("h = tanh(W @ h[t-2] + U @ x)\no = V @ h", "h[t-2]: a step is t, t-1 or t+1; to read h "
                                                "further away, add nodes that carry it"),
    ("h = tanh(W @ h[t+2] + U @ x)\no = V @ h", "h[t+2]: a step is t, t-1 or t+1"),
    ("h = tanh(W @ h[t-0] + U @ x)\no = V @ h", "a step is t, t-1 or t+1, as in h[t-1]"),
    ("h = tanh(W @ h[t-1] + " + "-" * 40 + "(U @ x))\no = V @ h", "nested too deeply"),
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


@pytest.mark.parametrize("example", [pytest.param("elman", marks=pytest.mark.slow), "mgu",
                                     pytest.param("peephole_lstm", marks=pytest.mark.slow)])
def test_examples_run_end_to_end(example, tmp_path, capsys):
    """``symrnn run --model examples/X.toml --quiet``: derivation, exact checks, code, documents
    and the numeric checks of the code all pass (the peephole LSTM takes minutes: -m slow)."""
    out = tmp_path / "out"
    assert main(["run", "--model", str(EXAMPLES / f"{example}.toml"), "--quiet", "--no-pdf",
                 "--out", str(out)]) == 0
    stem = get_model(str(EXAMPLES / f"{example}.toml")).name.replace("-", "_")
    assert (out / f"{stem}_loop.py").exists() and (out / f"bptt_{stem}_tau3.md").exists()


# ---------------------------------------------------------------- issue 22: cells that crashed or hung

@pytest.mark.parametrize("equations, message", [
    ("h = tanh(W @ h[t-1] + U @ x * 1e999)\no = V @ h", "cell.toml:13: the number 1e999 is not "
                                                         "finite"),
    ("h = tanh(W @ h[t-1] + U @ x * " + "9" * 900 + ")\no = V @ h",
     "cell.toml:13: the number 99999999999999999999... is out of range; a number is 0 or "
     "between 1e-12 and 1e12 in magnitude"),
    ("h = tanh(W @ h[t-1] + U @ x / 1e-320)\no = V @ h", "cell.toml:13: the number 1e-320 is "
                                                         "out of range"),
    ("h = tanh(𝐖 @ ｈ[t-1] + U @ x)\no = V @ h",
     "cell.toml:13: '𝐖' (U+1D416) is not an ASCII character, which Python would read as 'W'"),
    ("ｈ = tanh(W @ h[t-1] + U @ x)\no = V @ h",
     "cell.toml:13: 'ｈ' (U+FF48) is not an ASCII character, which Python would read as 'h'"),
    ("h = getattr(x, '__class__')\no = V @ h", "cell.toml:13: unknown function 'getattr'; the "
                                               "functions are exp, identity, log, phi"),
    ("h = " + "tanh(" * 5 + "W @ h[t-1] + U @ x" + ")" * 5 + "\no = V @ h",
     "cell.toml:13: more than 4 functions applied one inside another; give an inner "
     "application a node of its own"),
])
def test_legal_looking_equations_are_refused_with_the_line(tmp_path, capsys, equations, message):
    """Each of these crashed inside symrnn (an internal error, a broken module) or was read
    as something else (look-alike letters folded by Python's ast); now one line, exit 2,
    nothing written."""
    p = cell(tmp_path, equations)
    out = tmp_path / "out"
    assert main(["run", "--model", str(p), "--quiet", "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"symrnn: error: {p.parent}/"), err
    assert message in err and "takes one argument" not in err
    assert not out.exists()


def test_an_unused_parameter_or_input_is_named(tmp_path, capsys):
    p = cell(tmp_path, "h = tanh(W @ h[t-1] + U @ x)\no = V @ h")
    p.write_text(p.read_text().replace("[inputs]", 'Z = ["n_hidden", "n_hidden"]\n[inputs]')
                 .replace('x = "n_in"', 'x = "n_in"\nx2 = "n_in"'))
    with pytest.raises(CellError, match=r"cell.toml:6: params.Z: no equation reads Z; use it in "
                                        r"step.equations or remove it"):
        load_cell(p)
    p.write_text(p.read_text().replace('Z = ["n_hidden", "n_hidden"]\n', ""))
    with pytest.raises(CellError, match=r"cell.toml:8: inputs.x2: no equation reads the input "
                                        r"x2"):
        load_cell(p)


def test_numbers_and_nested_functions_work_end_to_end(tmp_path, capsys):
    """A number times a matrix product (SymPy flattens 2 diag(d) g x^T into one product) and a
    function of a function (diag(d1) diag(d2) g): code, documents and the numeric checks of
    the code against the derivation and central differences (they were internal errors)."""
    p = cell(tmp_path, "h = tanh(tanh(0.5 * (W @ h[t-1]) + U @ x / 3))\no = 2 * (V @ h) - 1")
    assert main(["run", "--model", str(p), "--quiet", "--no-pdf", "--form", "loop",
                 "--out", str(tmp_path / "out")]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "result       OK" in out and out.count(") passed") == 2


def test_relu_inside_an_expression_names_the_file_and_line_in_the_users_words(tmp_path,
                                                                               capsys):
    p = cell(tmp_path, "h = tanh(W @ h[t-1] + relu(U @ x))\no = V @ h")
    assert main(["verify", "--model", str(p)]) == 2
    err = capsys.readouterr().err
    assert err == (f"symrnn: error: {p}:13: h = tanh(W @ h[t-1] + relu(U @ x)): relu is "
                   f"piecewise, and symrnn differentiates it only as the whole right side of "
                   f"an equation applied to one node (a = ..., then h = relu(a)); give its "
                   f"argument a node of its own\n")
    p = cell(tmp_path, "h = phi(W @ h[t-1] + U @ x)\no = V @ h")
    assert main(["verify", "--model", str(p), "--activation", "relu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symrnn: error: {p}:13: h = phi(W @ h[t-1] + U @ x): relu (phi is "
                          f"--activation relu) is piecewise") and "Matrix" not in err
    assert err.endswith("or choose another --activation\n")


def test_a_name_taken_from_the_file_name_says_so(tmp_path, capsys):
    p = cell(tmp_path, GOOD, name="My Cell!.toml")
    p.write_text(p.read_text().replace('name = "c"\n', ""))
    assert main(["verify", "--model", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"got 'my cell!' (the file sets no name = \"...\", so it is taken from the file name, " \
           f"'My Cell!'); add a line name = \"my-cell\" at the top of the file" in err
    q = cell(tmp_path, GOOD, name="deep.toml")
    q.write_text(q.read_text().replace('name = "c"\n', ""))
    with pytest.raises(CellError, match="name 'deep' is a built-in model's .* taken from the "
                                        "file name, 'deep'"):
        load_cell(q)


def test_a_byte_order_mark_is_accepted(tmp_path):
    p = cell(tmp_path, GOOD)
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert [e.target.name for e in load_cell(p).equations] == ["h", "o"]


@pytest.mark.parametrize("how", ["fifo", "link-to-fifo", "folder"])
def test_a_cell_file_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, how):
    import os
    import threading
    fifo = tmp_path / "pipe.toml"
    if how == "folder":
        fifo.mkdir()
        target, kind = fifo, "a directory"
    else:
        os.mkfifo(fifo)
        target, kind = fifo, "a FIFO (named pipe)"
        if how == "link-to-fifo":
            target = tmp_path / "link.toml"
            target.symlink_to(fifo)
    found = []
    reader = threading.Thread(target=lambda: found.append(_error_of(target)), daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # it opened the FIFO for reading: release it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_cell blocked on a FIFO")
    assert found == [f"{target}: the cell file is {kind}, not a regular file; give the path of "
                     f"a .toml file"]


def _error_of(path) -> str:
    try:
        load_cell(path)
    except CellError as e:
        return str(e)
    return "no error"
