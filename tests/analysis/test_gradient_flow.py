"""symrnn analyze: the exact Jacobian check, the measured rates against independent
computations, the CLI's files, its errors, and byte-for-byte determinism. (The committed
generated/analysis/ files are checked for freshness by tests/test_generated.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

from symrnn.document.printer import latex

from support import symrnn as run_symrnn
from symrnn import analysis as A
from symrnn.cli import main
from symrnn.document import analysis_section
from symrnn.functions import ACTIVATIONS
from symrnn.io import MARKER, is_generated

SMALL = ["--max-lag", "20", "--hidden", "8"]


# ------------------------------------------------------------------ symbolic Jacobian check

@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_diff_jacobian_equals_diag_dphi_W(name):
    c = A.check_jacobian(name)
    assert c.one_step and c.two_step


def _transposed(a, W, d):
    return sp.diag(*[d(v) for v in a]) * W.T


def _swapped(a, W, d):
    return W * sp.diag(*[d(v) for v in a])


def _tanh_wrong_derivative(a, W, d):
    return sp.diag(*[1 - sp.tanh(v) for v in a]) * W  # 1 - tanh, not 1 - tanh^2


@pytest.mark.parametrize("name,claim", [("tanh", _transposed), ("relu", _swapped),
                                        ("sigmoid", _swapped), ("phi", _transposed),
                                        ("tanh", _tanh_wrong_derivative)])
def test_planted_wrong_jacobian_is_rejected(name, claim):
    c = A.check_jacobian(name, claim=claim)
    assert not c.one_step and not c.two_step and not c.ok


def test_order_of_factors_does_not_matter_for_identity_only():
    # W diag(1) == diag(1) W: the check accepts it, which shows it compares values, not text
    assert A.check_jacobian("identity", claim=_swapped).ok


# ---------------------------------------------------------------------- numerical side

def test_lambdified_derivative_matches_finite_differences():
    a = np.linspace(-3, 3, 13) + 0.05  # avoid ReLU's kink at 0
    for name in A.CONCRETE:
        phi, dphi = A.numeric_activation(name)
        fd = (phi(a + 1e-6) - phi(a - 1e-6)) / 2e-6
        np.testing.assert_allclose(dphi(a), fd, rtol=1e-6, atol=1e-8)
    _, drelu = A.numeric_activation("relu")
    assert drelu(np.array([0.0]))[0] == 0.0  # relu'(0) = 0, as in functions.py


def test_fit_factor_recovers_a_geometric_sequence():
    for q in (0.3, 1.0, 2.5):
        assert A.fit_factor(np.arange(50) * math.log(q)) == pytest.approx(q, rel=1e-12)


def test_backprop_matches_finite_differences_of_the_forward_pass():
    """grad_h(k) of u^T h(t) for a tanh RNN, by central differences through the forward pass."""
    rng = np.random.default_rng(7)
    n, lag = 5, 6
    W = rng.standard_normal((n, n)) / math.sqrt(n) * 1.3
    xs = rng.standard_normal((lag, n)) * 0.5  # U x(j) folded into one input term per step
    hk, u = rng.standard_normal(n), rng.standard_normal(n)

    def loss(h):
        for x in xs:
            h = np.tanh(W @ h + x)
        return u @ h

    fd = np.array([(loss(hk + e) - loss(hk - e)) / 2e-6 for e in np.eye(n) * 1e-6])
    a, h, dphis = [], hk, []
    for x in xs:
        a_j = W @ h + x
        h = np.tanh(a_j)
        dphis.append(1 - np.tanh(a_j) ** 2)
    logs = A.backprop_log_norms(W, np.array(dphis[::-1]), u)
    assert math.exp(logs[-1]) == pytest.approx(np.linalg.norm(fd) / np.linalg.norm(u), rel=1e-6)


def test_scale_to_radius_against_power_iteration():
    W = A.scale_to_radius(A.random_W(12, 3), 0.8)
    v, log_norm = np.ones(12), 0.0
    for _ in range(3000):  # ||W^k v||^(1/k) -> spectral radius (renormalised: no underflow)
        v = W @ v
        log_norm += math.log(np.linalg.norm(v))
        v /= np.linalg.norm(v)
    k_root = math.exp(log_norm / 3000)
    assert k_root == pytest.approx(0.8, rel=0.01)


@pytest.mark.parametrize("radius", [None, 0.5, 1.5])
def test_identity_rate_is_the_spectral_radius(radius):
    """Linear RNN: grad_h(k) L = (W^T)^(t-k) grad_h(t) L, so the per-step factor -> rho(W)."""
    W = A.scale_to_radius(A.random_W(24, 5), radius)
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))  # the oracle
    c = A.measure("identity", W, A.radius_label(radius), max_lag=150, rng_seed=1)
    assert c.factor == pytest.approx(rho, rel=0.03)
    assert c.radius == pytest.approx(rho)


def test_identity_rate_with_a_known_spectrum():
    rng = np.random.default_rng(2)
    P = rng.standard_normal((6, 6))
    W = P @ np.diag([0.9, -0.6, 0.5, 0.3, 0.2, -0.1]) @ np.linalg.inv(P)
    c = A.measure("identity", W, "known", max_lag=120, rng_seed=0)
    assert c.factor == pytest.approx(0.9, rel=0.02)


@pytest.fixture(scope="module")
def small():
    return A.analyze(max_lag=30, hidden=12, seed=0)


def test_rates_respect_the_bound_rho_times_max_dphi(small):
    """||J^T g|| <= ||W||_2 max phi' ||g||: no rate can beat the operator norm bound."""
    W0 = A.random_W(12, 0)
    for c in small.curves:
        W = A.scale_to_radius(W0, None if c.label == "random" else float(c.label))
        bound = np.linalg.norm(W, 2) * {"tanh": 1, "sigmoid": 0.25, "relu": 1, "identity": 1}[c.activation]
        assert c.factor <= bound * (1 + 1e-9)
        if c.activation == "sigmoid":
            assert c.mean_dphi <= 0.25


def test_saturation_and_dead_fields(small):
    for c in small.curves:
        assert (c.saturated is not None) == (c.activation in ("tanh", "sigmoid"))
        assert (c.inactive is not None) == (c.activation == "relu")
        if c.activation == "relu":
            assert 0.0 <= c.dead <= c.inactive <= 1.0
    # a larger radius drives tanh deeper into saturation
    sat = [small.curve("tanh", r).saturated for r in ("0.5", "3")]
    assert sat[0] < sat[1]


def test_latex_snippet(small):
    tex = analysis_section(small, graphics="flow.png")
    assert r"\includegraphics[width=\linewidth]{flow.png}" in tex
    assert r"\prod_{j=k+1}^{t}" in tex and r"\operatorname{diag}" in tex
    assert f"{small.curve('relu', '1.5').factor:.3f}" in tex
    assert tex.splitlines()[0].startswith("%") and MARKER in tex.splitlines()[0]
    # phi' of each activation is the one sympy.diff gives, as the section prints it
    for name, d in small.dphi_exprs.items():
        assert sp.simplify(d - sp.diff(ACTIVATIONS[name].phi(sp.Symbol("a")),
                                       sp.Symbol("a"))) == 0
        assert latex(d) in tex  # in the document's printer (relu: 1[a > 0], no words)
    assert r"\includegraphics" not in analysis_section(small, graphics=None)
    with pytest.raises(ValueError, match="graphics file"):  # a bare name next to the document
        analysis_section(small, graphics="fig/flow.png")


@pytest.mark.parametrize("kwargs, error", [
    ({"max_lag": 0}, ValueError), ({"max_lag": 501}, ValueError), ({"hidden": 0}, ValueError),
    ({"seed": -1}, ValueError), ({"max_lag": 2.5}, TypeError), ({"hidden": True}, TypeError),
    ({"seed": "0"}, TypeError)])
def test_api_rejects_bad_values(kwargs, error):
    """Out of range: ValueError; not an integer: TypeError (symrnn.spec.check_int)."""
    with pytest.raises(error, match=next(iter(kwargs))):
        A.analyze(symbolic=False, **kwargs)


# ------------------------------------------------------------------------------------- CLI

def test_cli_writes_the_files(tmp_path, capsys):
    out = tmp_path / "an"
    assert main(["analyze", "--out", str(out), *SMALL]) == 0
    for name in A.FILES:
        assert (out / name).stat().st_size > 0 and is_generated(out / name), name
    data = json.loads((out / "rates.json").read_text())
    assert len(data["curves"]) == len(A.RADII) * len(A.CONCRETE)
    assert all(data["jacobian"]["checks"].values())
    # analysis.tex is the document's section on gradient flow, for the same analysis
    assert (out / "analysis.tex").read_text() == \
        analysis_section(A.analyze(max_lag=20, hidden=8))
    assert (out / "gradient_flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / "gradient_flow.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    printed = capsys.readouterr().out
    assert "per-step factor" in printed and str(out) in printed
    # the printed table shows the rates written to the JSON
    tanh_1 = next(c for c in data["curves"] if c["activation"] == "tanh" and c["W"] == "1")
    assert f"{tanh_1['per_step_factor']:.4f}" in printed
    # a second run over its own files needs no --force
    assert main(["analyze", "--out", str(out), *SMALL, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["schema_version"], doc["command"], doc["ok"]) == (1, "analyze", True)
    assert doc["analysis"] == data and doc["files"] == [str(out / n) for n in A.FILES]


def test_cli_is_deterministic(tmp_path):
    for d in ("one", "two"):
        assert main(["analyze", "--out", str(tmp_path / d), *SMALL, "--seed", "3"]) == 0
    for name in A.FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_cli_refuses_foreign_files(tmp_path, capsys):
    (tmp_path / "summary.txt").write_text("my notes\n")
    assert main(["analyze", "--out", str(tmp_path), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert (tmp_path / "summary.txt").read_text() == "my notes\n"
    assert main(["analyze", "--out", str(tmp_path), *SMALL, "--force"]) == 0


@pytest.mark.parametrize("argv", [["--max-lag", "0"], ["--max-lag", "x"], ["--max-lag", "501"],
                                  ["--hidden", "0"], ["--seed", "-1"], ["--bogus"],
                                  ["--json", "extra"]])
def test_cli_bad_input_is_one_line_exit_2(argv, tmp_path, capsys):
    assert main(["analyze", "--out", str(tmp_path), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("symrnn: error:")
    assert not list(tmp_path.iterdir())


def test_cli_exit_code_in_a_real_process(tmp_path):
    p = run_symrnn("analyze", "--max-lag", "0", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "max-lag" in p.stderr
    assert not list(tmp_path.iterdir())
