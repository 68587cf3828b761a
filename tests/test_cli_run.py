"""``symrnn run``, the main job, as a user runs it: files, summary, exit codes, JSON.

The emitted module is checked here against computations written in this file: a plain-Python
forward pass (math.tanh, log-sum-exp over Python floats, no NumPy) and central differences of
that plain-Python loss.
"""

from __future__ import annotations

import importlib
import json
import math
import shutil

import numpy as np
import pytest

from cli_support import import_file, no_temp_files, symrnn
from symrnn.cli import main
from symrnn.io import MARKER

# by import_module: the package's ``emit_numpy`` attribute is the function, not the module
certificate_module = importlib.import_module("symrnn.certificate")
emit_numpy_module = importlib.import_module("symrnn.emit_numpy")
DEFAULT_FILES = ["rnn_loop.py", "rnn_unrolled_tau3.py", "bptt_tau3.tex", "bptt_tau3.md",
                 "bptt_tau3_certificate.json"]
HAS_PDFLATEX = shutil.which("pdflatex") is not None


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``symrnn run`` with no options at all, in a fresh folder (output in ./symrnn-out)."""
    cwd = tmp_path_factory.mktemp("run")
    proc = symrnn("run", cwd=cwd)
    return cwd, proc


# ---------------------------------------------------------------- the main job, end to end

def test_default_run_exits_0_and_writes_every_file(default_run):
    cwd, proc = default_run
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # not a terminal: no progress display
    out = cwd / "symrnn-out"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(DEFAULT_FILES + (["bptt_tau3.pdf"] if HAS_PDFLATEX else []))
    for name in DEFAULT_FILES:
        head = (out / name).read_text(encoding="utf-8").splitlines()[:3]
        assert any(MARKER in line for line in head), name
    if HAS_PDFLATEX:
        assert (out / "bptt_tau3.pdf").read_bytes().startswith(b"%PDF")
    tex = (out / "bptt_tau3.tex").read_text()
    assert r"\documentclass" in tex and r"\end{document}" in tex
    cert = json.loads((out / "bptt_tau3_certificate.json").read_text())
    assert cert["ok"] is True and len(cert["entries"]) == 24


def test_default_run_summary(default_run):
    _, proc = default_run
    text = proc.stdout
    summary = text[text.index("\nsummary\n"):]
    assert "certificate: tau=3, n_in=3, n_hidden=4, n_out=3, activation=tanh" in text  # table
    assert "24 formulas: 17 confirmed, 7 ill-formed; 7 with a confirmed reading" in summary
    assert "CERTIFIED: every formula holds" in summary
    for name in DEFAULT_FILES:
        assert f"symrnn-out/{name}" in summary
    check_lines = [l for l in summary.splitlines() if " vs " in l]
    assert len(check_lines) == 4  # two modules x (derivation, central differences)
    assert all(l.rstrip().endswith("passed") for l in check_lines)
    for l in check_lines:  # the reported error is a number below the stated tolerance
        err = float(l.split(": ")[-1].split()[0])
        tol = float(l.split("(tol ")[1].split(",")[0])
        assert 0 <= err <= tol
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
    assert abs(L - want) <= 1e-12 * abs(want)
    assert abs(unrolled.loss(P, xs, labels, h0) - want) <= 1e-12 * abs(want)
    # gradients against central differences of the plain-Python loss
    eps = 1e-6
    for k in ("U", "W", "V", "b", "c", "h0"):
        base = h0 if k == "h0" else P[k]
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            def at(d):
                Q = {q: v.copy() for q, v in P.items()}
                hh = h0.copy()
                (hh if k == "h0" else Q[k])[idx] += d
                return _plain_loss({q: v.tolist() for q, v in Q.items()}, xs.tolist(),
                                   labels.tolist(), hh.tolist())
            fd[idx] = (at(eps) - at(-eps)) / (2 * eps)
        assert np.max(np.abs(grads[k] - fd)) <= 1e-7 * max(np.max(np.abs(fd)), 1), k
    # a batch of two sequences: the loss is the sum of the two
    x2 = np.stack([xs, xs[::-1]], axis=1)
    y2 = np.stack([labels, labels[::-1]], axis=1)
    want2 = want + _plain_loss(plain, xs[::-1].tolist(), labels[::-1].tolist(), [0.0] * 4)
    assert abs(loop.loss(P, x2, y2, np.stack([h0, np.zeros(4)])) - want2) <= 1e-12 * want2


def test_second_run_rewrites_its_own_files_but_not_a_foreign_one(default_run, tmp_path):
    cwd, _ = default_run
    out = tmp_path / "o"
    shutil.copytree(cwd / "symrnn-out", out)
    (out / "bptt_tau3.md").write_text("stale, but ours\n" + f"<!-- {MARKER} -->\n")
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


def test_json_is_pure_and_complete(tmp_path):
    proc = symrnn("run", "--tau", "2", "--form", "loop", "--no-pdf", "--json", "--out", "j",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert doc["ok"] is True and doc["checks_passed"] is True
    assert doc["spec"]["tau"] == 2 and doc["certificate"]["ok"] is True
    assert {e["status"] for e in doc["certificate"]["entries"]} <= {
        "confirmed", "ill-formed", "not-applicable"}
    assert [c["module"] for c in doc["checks"]] == ["rnn_loop.py", "rnn_loop.py"]
    assert all(c["passed"] and c["max_rel_err"] <= c["tol"] for c in doc["checks"])
    paths = [f["path"] for f in doc["files"]]
    assert paths == ["j/rnn_loop.py", "j/bptt_tau2.tex", "j/bptt_tau2.md",
                     "j/bptt_tau2_certificate.json"]
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
    assert names == ["bptt_tau2_phi.md", "bptt_tau2_phi.tex", "bptt_tau2_phi_certificate.json"]
    assert "codegen and numeric check skipped: phi is a generic, undefined activation" \
        in proc.stdout
    assert "result       OK: certified, no numeric check (see note)" in proc.stdout


# ---------------------------------------------------------------- exit 1: the checks can fail

def test_a_wrong_module_fails_the_numeric_check(tmp_path, monkeypatch, capsys):
    real = emit_numpy_module.emit_numpy

    def sabotaged(spec, form="loop", command=None):  # grad_c 1% too large
        src = real(spec, form, command)
        assert "grad_c = do_all.sum(axis=0)" in src
        return src.replace("grad_c = do_all.sum(axis=0)", "grad_c = 1.01 * do_all.sum(axis=0)")

    monkeypatch.setattr(emit_numpy_module, "emit_numpy", sabotaged)
    assert main(["run", "--tau", "2", "--form", "loop", "--no-pdf", "--quiet",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "rnn_loop.py  vs SymPy derivation (lambdify, mpmath 50 digits): 1.0e-02" in out
    assert "worst c) FAILED" in out
    assert "result       FAILED: a numeric check failed" in out


def test_a_refuted_formula_makes_run_exit_1(tmp_path, monkeypatch, capsys):
    real = certificate_module.certify

    def refuting(spec, **kw):
        cert = real(spec, **kw)
        e = cert.entries[0]
        e.status, e.reading_status = "refuted", None
        return cert

    monkeypatch.setattr(certificate_module, "certify", refuting)
    assert main(["run", "--tau", "1", "--form", "loop", "--no-pdf", "--quiet",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "NOT CERTIFIED" in out and "result       FAILED: not certified" in out


# ---------------------------------------------------------------- help shows examples

@pytest.mark.parametrize("argv, example", [
    ([], "symrnn run "),
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


# ---------------------------------------------------------------- progress on a terminal only

def _run_with_stderr_on_a_terminal(tmp_path, *argv):
    import os
    import pty
    import subprocess
    import sys

    from cli_support import env

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
