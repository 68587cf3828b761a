"""``symrnn run``, the main job, as a user runs it: files, summary, exit codes, JSON; and the
small commands around it (``symrnn models``, ``symrnn --version``, help examples).

The emitted modules are checked here against computations written in this file: a plain-Python
forward pass of each model (math.tanh, log-sum-exp over Python floats, no NumPy) and central
differences of that plain-Python loss.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shlex
import shutil
import tomllib

import numpy as np
import pytest

import symrnn.backends.numpy.emitter as emitter_module
import symrnn.models as models_module
from support import ROOT, import_file, no_temp_files, symrnn
from symrnn.cli import main
from symrnn.io import MANIFEST, MARKER, write_atomic
from symrnn.models import MODELS

SUMMARY = ("31 formulas: 14 confirmed, 1 ill-formed, 4 shorthand, 2 ambiguous, 10 definition; "
           "7 with a confirmed reading; 31 decided for every size and tau")
DEFAULT_FILES = ["rnn_loop.py", "rnn_unrolled_tau3.py", "bptt_tau3.tex", "bptt_tau3.md",
                 "bptt_tau3_certificate.json", "bptt_tau3_graph.svg"]
OUTPUT_RECURRENCE_FILES = ["output_recurrence_loop.py", "output_recurrence_unrolled_tau3.py",
                           "bptt_output_recurrence_tau3.tex", "bptt_output_recurrence_tau3.md",
                           "bptt_output_recurrence_tau3_certificate.json",
                           "bptt_output_recurrence_tau3_graph.svg"]
#: In a pipe the only thing on stderr is the name of a stage that lasted a minute
#: (symrnn.progress.EVERY).
PROGRESS = re.compile(r"symrnn: run: .+, \d+ s so far")


def progress_only(stderr: str) -> bool:
    return all(PROGRESS.fullmatch(line) for line in stderr.splitlines())
HAS_PDFLATEX = shutil.which("pdflatex") is not None


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``symrnn run`` with no options at all, in a fresh folder (output in ./symrnn-out)."""
    cwd = tmp_path_factory.mktemp("run")
    proc = symrnn("run", cwd=cwd)
    return cwd, proc


@pytest.fixture(scope="module")
def output_recurrence_run(tmp_path_factory):
    """``symrnn run --model output-recurrence --no-pdf --quiet --table --out DIR``."""
    cwd = tmp_path_factory.mktemp("orun")
    proc = symrnn("run", "--model", "output-recurrence", "--no-pdf", "--quiet", "--table",
                  "--out", "DIR", cwd=cwd)
    return cwd, proc


def _check_lines(summary: str) -> list[str]:
    lines = [l for l in summary.splitlines() if " vs " in l]
    for l in lines:  # the reported error is a number below the stated tolerance
        err = float(l.split(": ")[-1].split()[0])
        tol = float(l.split("(tol ")[1].split(",")[0])
        assert 0 <= err <= tol, l
    return lines


# ---------------------------------------------------------------- the main job, end to end

def test_default_run_exits_0_and_writes_every_file(default_run):
    cwd, proc = default_run
    assert proc.returncode == 0, proc.stderr
    assert progress_only(proc.stderr)  # not a terminal: no spinner, a slow stage named
    out = cwd / "symrnn-out"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(DEFAULT_FILES + [MANIFEST] + (["bptt_tau3.pdf"] if HAS_PDFLATEX else []))
    for name in DEFAULT_FILES:
        head = (out / name).read_text(encoding="utf-8").splitlines()[:3]
        assert any(MARKER in line for line in head), name
    if HAS_PDFLATEX:
        assert (out / "bptt_tau3.pdf").read_bytes().startswith(b"%PDF")
    tex = (out / "bptt_tau3.tex").read_text()
    assert r"\documentclass" in tex and r"\end{document}" in tex
    cert = json.loads((out / "bptt_tau3_certificate.json").read_text())
    assert cert["ok"] is True and len(cert["entries"]) == 31
    assert cert["schema_version"] == 1
    assert cert["summary"] == SUMMARY
    assert no_temp_files(cwd)


def test_default_run_summary(default_run):
    _, proc = default_run
    text = proc.stdout
    summary = text[text.index("\nsummary\n"):]
    # not a terminal: no table (--table asks for it), the summary alone
    assert "certificate: tau=3, n_in=3" not in text and text.startswith("\nsummary\n")
    assert SUMMARY in summary
    assert "CERTIFIED: every formula holds" in summary
    for name in DEFAULT_FILES:
        assert f"symrnn-out/{name}" in summary
    check_lines = _check_lines(summary)
    assert len(check_lines) == 4  # two modules x (derivation, central differences)
    assert all(l.rstrip().endswith("passed") for l in check_lines)
    for stage in ("unroll", "derive", "certify", "codegen", "latex", "write", "check"):
        assert f"{stage} " in summary.split("time ")[1]
    assert "result       OK: certified, numeric checks passed" in summary


def _plain_loss(P, xs, labels, h0):
    """L for one sequence in plain Python floats: no NumPy, no SymPy, no generated code."""
    n_h, n_out = len(P["b"]), len(P["c"])
    h, total = [float(v) for v in h0], 0.0
    for x, label in zip(xs, labels):
        a = [P["b"][i] + sum(P["W"][i][j] * h[j] for j in range(n_h)) +
             sum(P["U"][i][j] * x[j] for j in range(len(x))) for i in range(n_h)]
        h = [math.tanh(v) for v in a]
        o = [P["c"][k] + sum(P["V"][k][j] * h[j] for j in range(n_h)) for k in range(n_out)]
        m = max(o)
        total -= o[label] - m - math.log(sum(math.exp(v - m) for v in o))
    return total


def _plain_loss_output_recurrence(P, xs, labels, o0):
    """Fig. 10.4 in plain Python: h(t) = tanh(b + W o(t-1) + U x(t)), o(t) = c + V h(t)."""
    n_h, n_out = len(P["b"]), len(P["c"])
    o, total = [float(v) for v in o0], 0.0
    for x, label in zip(xs, labels):
        a = [P["b"][i] + sum(P["W"][i][k] * o[k] for k in range(n_out)) +
             sum(P["U"][i][j] * x[j] for j in range(len(x))) for i in range(n_h)]
        h = [math.tanh(v) for v in a]
        o = [P["c"][k] + sum(P["V"][k][j] * h[j] for j in range(n_h)) for k in range(n_out)]
        m = max(o)
        total -= o[label] - m - math.log(sum(math.exp(v - m) for v in o))
    return total


def _central_differences(plain, P, xs, labels, init, init_key):
    """Central differences of a plain-Python loss in every parameter and the initial value."""
    eps = 1e-6
    fds = {}
    for k in (*P, init_key):
        base = init if k == init_key else P[k]
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            def at(d):
                Q = {q: v.copy() for q, v in P.items()}
                ii = init.copy()
                (ii if k == init_key else Q[k])[idx] += d
                return plain({q: v.tolist() for q, v in Q.items()}, xs.tolist(),
                             labels.tolist(), ii.tolist())
            fd[idx] = (at(eps) - at(-eps)) / (2 * eps)
        fds[k] = fd
    return fds


def test_emitted_module_matches_an_independent_computation(default_run):
    cwd, _ = default_run
    loop = import_file(cwd / "symrnn-out" / "rnn_loop.py", "run_loop")
    unrolled = import_file(cwd / "symrnn-out" / "rnn_unrolled_tau3.py", "run_unrolled")
    rng = np.random.default_rng(2024)
    P = {"U": rng.normal(size=(4, 3)), "W": rng.normal(size=(4, 4)) * 0.7,
         "V": rng.normal(size=(3, 4)), "b": rng.normal(size=4), "c": rng.normal(size=3)}
    xs, labels, h0 = rng.normal(size=(3, 3)), np.array([2, 0, 1]), rng.normal(size=4)
    plain = {k: v.tolist() for k, v in P.items()}
    want = _plain_loss(plain, xs.tolist(), labels.tolist(), h0.tolist())
    L, grads = loop.loss_and_grad(P, xs, labels, h0)
    assert set(grads) == {"U", "W", "V", "b", "c", "h0"}
    assert abs(L - want) <= 1e-12 * abs(want)
    assert abs(unrolled.loss(P, xs, labels, h0) - want) <= 1e-12 * abs(want)
    assert abs(loop.loss(P, xs, labels, h0=h0) - want) <= 1e-12 * abs(want)  # the keyword
    # gradients against central differences of the plain-Python loss
    fds = _central_differences(_plain_loss, P, xs, labels, h0, "h0")
    _, ugrads = unrolled.loss_and_grad(P, xs, labels, h0)
    for k, fd in fds.items():
        assert np.max(np.abs(grads[k] - fd)) <= 1e-7 * max(np.max(np.abs(fd)), 1), k
        assert np.max(np.abs(ugrads[k] - fd)) <= 1e-7 * max(np.max(np.abs(fd)), 1), k
    # a batch of two sequences: the loss is the sum of the two
    x2 = np.stack([xs, xs[::-1]], axis=1)
    y2 = np.stack([labels, labels[::-1]], axis=1)
    want2 = want + _plain_loss(plain, xs[::-1].tolist(), labels[::-1].tolist(), [0.0] * 4)
    assert abs(loop.loss(P, x2, y2, np.stack([h0, np.zeros(4)])) - want2) <= 1e-12 * want2


def test_second_run_rewrites_its_own_files_but_not_a_foreign_one(default_run, tmp_path):
    cwd, _ = default_run
    out = tmp_path / "o"
    shutil.copytree(cwd / "symrnn-out", out)
    write_atomic(out / "bptt_tau3.md", "stale, but ours\n" + f"<!-- {MARKER} -->\n")
    proc = symrnn("run", "--out", str(out), "--no-pdf", "--form", "loop", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "bptt_tau3.md").read_text().startswith(f"<!-- {MARKER}")
    (out / "rnn_loop.py").write_text("# my own module\n")
    proc = symrnn("run", "--out", str(out), "--no-pdf", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"symrnn: error: {out}/rnn_loop.py exists and was not generated by "
                           f"symrnn; choose another path or pass --force to overwrite it\n")
    assert (out / "rnn_loop.py").read_text() == "# my own module\n"
    assert no_temp_files(out)


_REGENERATE = re.compile(r"Regenerate: (symrnn .*?)(?: \(every committed output.*)?(?: -->)?$")


@pytest.mark.parametrize("fixture, folder", [
    ("default_run", "symrnn-out"),
    pytest.param("output_recurrence_run", "DIR", marks=pytest.mark.slow)])  # the same again
def test_each_file_names_the_command_that_rewrites_it(request, tmp_path, fixture, folder):
    """The header of every module and document is a command that writes that very file again,
    byte for byte, from the folder the run ran in."""
    cwd, proc = request.getfixturevalue(fixture)
    assert proc.returncode == 0, proc.stderr
    here = tmp_path / "copy"
    shutil.copytree(cwd, here)
    names = [p.name for p in sorted((here / folder).iterdir())
             if p.suffix in (".py", ".tex", ".md")]
    assert len(names) == 4
    for name in names:
        path = here / folder / name
        before = path.read_bytes()
        line = before.decode().splitlines()[1]
        m = _REGENERATE.search(line)
        assert m, line
        argv = shlex.split(m.group(1))
        assert f"{folder}/{name}" in argv or folder in argv, line  # --out names it
        write_atomic(path, f"# {MARKER}\nstale\n")  # ours, stale
        proc = symrnn(*argv[1:], cwd=here)
        assert proc.returncode == 0, (line, proc.stderr)
        assert path.read_bytes() == before, line
    assert no_temp_files(here)


def test_json_is_pure_and_complete(tmp_path):
    proc = symrnn("run", "--tau", "2", "--form", "loop", "--no-pdf", "--json", "--out", "j",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert doc["schema_version"] == 1 and doc["command"] == "run"
    assert doc["ok"] is True and doc["checks_passed"] is True
    assert doc["spec"]["tau"] == 2 and doc["spec"]["model"] == "rnn"
    assert doc["certificate"]["ok"] is True
    assert {e["kind"] for e in doc["certificate"]["entries"]} <= {
        "confirmed", "definition", "ill-formed", "shorthand", "ambiguous", "not-applicable"}
    assert all(e["status"] == e["kind"] for e in doc["certificate"]["entries"])
    assert [c["module"] for c in doc["checks"]] == ["rnn_loop.py", "rnn_loop.py"]
    assert all(c["passed"] and c["max_rel_err"] <= c["tol"] for c in doc["checks"])
    paths = [f["path"] for f in doc["files"]]
    assert paths == ["j/rnn_loop.py", "j/bptt_tau2_graph.svg", "j/bptt_tau2.tex",
                     "j/bptt_tau2.md", "j/bptt_tau2_certificate.json"]
    for f in doc["files"]:
        assert (tmp_path / f["path"]).stat().st_size == f["bytes"]
    assert set(doc["timings"]) >= {"unroll", "derive", "certify", "codegen", "latex", "check",
                                   "total"}
    assert "pdf skipped (--no-pdf)" in doc["notes"]


def test_generic_phi_certifies_and_writes_latex_without_code(tmp_path):
    proc = symrnn("run", "--activation", "phi", "--tau", "2", "--no-pdf", "--out", "p",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == [MANIFEST, "bptt_tau2_phi.md", "bptt_tau2_phi.tex",
                     "bptt_tau2_phi_certificate.json", "bptt_tau2_phi_graph.svg"]
    assert "codegen and numeric check skipped: phi is a generic, undefined activation" \
        in proc.stdout
    assert "result       OK: certified, no numeric check (see note)" in proc.stdout


# ---------------------------------------------------------------- another model

def test_output_recurrence_run_exits_0_and_writes_its_files(output_recurrence_run):
    cwd, proc = output_recurrence_run
    assert proc.returncode == 0, proc.stderr
    assert progress_only(proc.stderr)
    out = cwd / "DIR"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_RECURRENCE_FILES + [MANIFEST])
    for name in OUTPUT_RECURRENCE_FILES:
        head = (out / name).read_text(encoding="utf-8").splitlines()[:3]
        assert any(MARKER in line for line in head), name
    assert not (cwd / "symrnn-out").exists()
    tex = (out / "bptt_output_recurrence_tau3.tex").read_text()
    assert r"\documentclass" in tex and r"\end{document}" in tex
    cert = json.loads((out / "bptt_output_recurrence_tau3_certificate.json").read_text())
    assert cert["ok"] is True and cert["spec"]["model"] == "output-recurrence"
    assert cert["entries"] == []  # no printed formulas for this model
    summary = proc.stdout[proc.stdout.index("\nsummary\n"):]
    for name in OUTPUT_RECURRENCE_FILES:
        assert f"DIR/{name}" in summary
    check_lines = _check_lines(summary)
    assert len(check_lines) == 4  # two modules x (derivation, central differences)
    assert all(l.rstrip().endswith("passed") for l in check_lines)
    assert {l.split()[0] for l in check_lines} == {"output_recurrence_loop.py",
                                                    "output_recurrence_unrolled_tau3.py"}
    assert "pdf skipped (--no-pdf)" in summary
    assert "0 formulas: this model has no printed formulas to certify" in summary
    assert "nothing to certify: the model has no printed formulas" in summary
    assert "CERTIFIED" not in summary  # nothing was certified, so the summary does not say so
    assert "result       OK: nothing to certify, numeric checks passed" in summary
    table = proc.stdout[:proc.stdout.index("\nsummary\n")]
    assert table.splitlines() == [
        "certificate: model=output-recurrence, tau=3, n_in=3, n_hidden=4, n_out=3, "
        "activation=tanh, loss=softmax-ce, h0=symbol",
        "0 formulas: this model has no printed formulas to certify"]  # no empty table
    assert no_temp_files(cwd)


def test_verify_a_model_without_printed_formulas(capsys):
    assert main(["verify", "--model", "output-recurrence", "--tau", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "0 formulas: this model has no printed formulas to certify"
    assert "model=output-recurrence, tau=2" in out
    assert main(["verify", "--model", "output-recurrence", "--tau", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["command"] == "verify" and doc["ok"] is True
    assert doc["certificate"]["entries"] == []


def test_output_recurrence_module_matches_an_independent_computation(output_recurrence_run):
    cwd, proc = output_recurrence_run
    assert proc.returncode == 0, proc.stderr
    loop = import_file(cwd / "DIR" / "output_recurrence_loop.py", "orun_loop")
    unrolled = import_file(cwd / "DIR" / "output_recurrence_unrolled_tau3.py", "orun_unrolled")
    rng = np.random.default_rng(7)
    P = {"U": rng.normal(size=(4, 3)), "W": rng.normal(size=(4, 3)) * 0.6,
         "V": rng.normal(size=(3, 4)), "b": rng.normal(size=4), "c": rng.normal(size=3)}
    xs, labels, o0 = rng.normal(size=(3, 3)), np.array([1, 2, 0]), rng.normal(size=3)
    plain = {k: v.tolist() for k, v in P.items()}
    want = _plain_loss_output_recurrence(plain, xs.tolist(), labels.tolist(), o0.tolist())
    fds = _central_differences(_plain_loss_output_recurrence, P, xs, labels, o0, "o0")
    for module in (loop, unrolled):
        L, grads = module.loss_and_grad(P, xs, labels, o0=o0)
        assert set(grads) == {"U", "W", "V", "b", "c", "o0"}
        assert abs(L - want) <= 1e-12 * abs(want)
        assert abs(module.loss(P, xs, labels, o0=o0) - want) <= 1e-12 * abs(want)
        for k, fd in fds.items():
            assert np.max(np.abs(grads[k] - fd)) <= 1e-7 * max(np.max(np.abs(fd)), 1), k
    # o0=None means zeros
    zero = _plain_loss_output_recurrence(plain, xs.tolist(), labels.tolist(), [0.0] * 3)
    assert abs(loop.loss(P, xs, labels) - zero) <= 1e-12 * abs(zero)


# ---------------------------------------------------------------- exit 1: the checks can fail

def test_a_wrong_module_fails_the_numeric_check(tmp_path, monkeypatch, capsys):
    real = emitter_module.emit_numpy
    grad_c = re.compile(r"^(\s*)grad_c = (.+)$", re.M)

    def sabotaged(*args, **kwargs):  # grad_c 1% too large
        src = real(*args, **kwargs)
        assert len(grad_c.findall(src)) == 1, "the planted error needs one grad_c line"
        return grad_c.sub(r"\1grad_c = 1.01 * (\2)", src)

    monkeypatch.setattr(emitter_module, "emit_numpy", sabotaged)
    assert main(["run", "--tau", "2", "--form", "loop", "--no-pdf", "--quiet",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "1.01 * (" in (tmp_path / "rnn_loop.py").read_text()  # the planted module was run
    assert "rnn_loop.py  vs SymPy derivation (lambdify, mpmath 50 digits): 1.0e-02" in out
    assert "worst c) FAILED" in out
    assert "CERTIFIED: every formula holds" in out  # the certificate itself is fine
    assert "result       FAILED: a numeric check failed" in out


def _wrong(formula):
    """``formula`` printed with a factor 2 too many, and no reading to rescue it."""
    def build(c):
        return [dataclasses.replace(cl, formula=2 * cl.formula, key=None)
                for cl in formula.build(c)]
    return dataclasses.replace(formula, build=build, readings=())


def test_a_refuted_formula_makes_run_exit_1(tmp_path, monkeypatch, capsys):
    rnn = MODELS["rnn"]
    catalogue = tuple(_wrong(f) if f.id == "bptt.grad_c" else f for f in rnn.catalogue)
    assert catalogue != rnn.catalogue
    monkeypatch.setitem(models_module.MODELS, "rnn", dataclasses.replace(rnn, catalogue=catalogue))
    assert main(["run", "--tau", "1", "--form", "loop", "--no-pdf", "--quiet", "--json",
                 "--out", str(tmp_path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    entry = next(e for e in doc["certificate"]["entries"] if e["id"] == "bptt.grad_c")
    assert entry["kind"] == "refuted" and entry["counterexample"]
    assert doc["ok"] is False and doc["certificate"]["ok"] is False
    assert doc["checks_passed"] is True  # the code is right; the printed formula is not
    written = json.loads((tmp_path / "bptt_tau1_certificate.json").read_text())
    assert written["ok"] is False

    assert main(["run", "--tau", "1", "--form", "loop", "--no-pdf", "--quiet",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "1 refuted" in out
    assert "NOT CERTIFIED" in out and "result       FAILED: not certified" in out


# ---------------------------------------------------------------- models, version, help

def test_models_lists_every_model_with_its_book_reference(tmp_path):
    proc = symrnn("models", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == len(MODELS) >= 6
    for line, (name, model) in zip(lines, MODELS.items()):
        assert line.split()[0] == name
        assert model.title in line and model.reference in line
    assert lines[0].startswith("rnn ") and lines[0].endswith("(default)")
    assert "Fig. 10.3" in lines[0] and "eqs. 10.8-10.11" in lines[0]
    assert lines[1].startswith("output-recurrence ") and "Fig. 10.4" in lines[1]
    assert "(default)" not in lines[1]


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["schema_version"], doc["command"], doc["ok"]) == (1, "models", True)
    doc = doc["models"]
    assert [m["name"] for m in doc] == list(MODELS)
    assert [m["name"] for m in doc][:6] == ["rnn", "output-recurrence", "single-output",
                                            "teacher-forcing", "bidirectional", "deep"]
    assert {"lstm", "lstm-torch", "gru", "gru-torch"} <= {m["name"] for m in doc}
    assert [m["default"] for m in doc] == [True] + [False] * (len(MODELS) - 1)
    assert [m["reference"] for m in doc] == [MODELS[n].reference for n in MODELS]


def test_version(tmp_path):
    proc = symrnn("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.stdout == f"symrnn {version}\n"


@pytest.mark.parametrize("argv, example", [
    ([], "symrnn run "),
    ([], "symrnn models"),
    (["run"], "symrnn run --tau 8 --out build"),
    (["verify"], "symrnn verify --tau"),
    (["codegen"], "symrnn codegen --form"),
    (["latex"], "symrnn latex --standalone"),
])
def test_help_shows_an_example(argv, example, capsys):
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and example in out


@pytest.mark.parametrize("command", ["run", "verify", "codegen", "latex"])
def test_every_spec_command_has_the_model_option(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "--model" in out and "output-recurrence" in out


# ---------------------------------------------------------------- progress on a terminal only

def _run_with_stderr_on_a_terminal(tmp_path, *argv):
    import os
    import pty
    import subprocess
    import sys

    from support import env

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "symrnn", *argv], cwd=tmp_path, env=env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out, seen.decode("utf-8", "replace")


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_on_a_terminal_and_json_stays_pure(tmp_path, quiet):
    argv = ["run", "--tau", "1", "--form", "loop", "--no-pdf", "--json", "--out", "t"]
    code, out, terminal = _run_with_stderr_on_a_terminal(tmp_path, *argv,
                                                         *(["--quiet"] if quiet else []))
    assert code == 0
    assert json.loads(out)["ok"] is True
    if quiet:
        assert terminal == ""
    else:
        assert "symrnn run: " in terminal  # the spinner, on the terminal only


# ---------------------------------------------------------------- the table on a terminal

def test_the_table_fits_an_80_column_terminal_and_prints_math_as_text():
    """At 80 columns the full table was 514 lines of folded cells; a cell showed SymPy's repr
    (W.T*grad_h(t + 1) L, DiagMatrix(-HadamardPower(...)))."""
    import io

    from support import certificate_for
    from symrnn import RNNSpec
    from symrnn.cli.table import print_table
    cert = certificate_for(RNNSpec())
    for width, most in ((80, 100), (160, 200)):
        out = io.StringIO()
        print_table(cert, out, width)
        lines = out.getvalue().splitlines()
        assert max(len(line) for line in lines) <= width and len(lines) <= most, (width, len(lines))
        assert [e.id for e in cert.entries if e.id not in out.getvalue()] == []
        for repr_only in ("W.T", "DiagMatrix", "HadamardPower", "*"):
            assert repr_only not in out.getvalue(), repr_only
    assert "grad_h(t) L = W^T (grad_h(t+1) L) diag(1 -" in out.getvalue()
    (grad_h,) = [e for e in cert.entries if e.id == "bptt.grad_h"]
    assert grad_h.reason.startswith("as printed, the factors W^T grad_h(t+1) L (n_hidden x 1) "
                                    "and diag(1 - h(t+1)^2) (n_hidden x n_hidden) do not "
                                    "multiply"), grad_h.reason


def test_the_readme_quotes_what_verify_prints():
    """The README said "31 formulas" in one place and "24 printed formulas" in two others:
    every count of the note's formulas and the quoted summary are what the certificate says."""
    from support import certificate_for
    from symrnn import RNNSpec
    cert = certificate_for(RNNSpec())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = readme.split("The default run prints\n\n", 1)[1].split("\n\n", 1)[0]
    assert " ".join(quoted.split()) == cert.summary()
    counts = set(re.findall(r"(\d+) (?:printed )?formulas\b", readme))
    assert counts == {str(len(cert.entries))}, counts
