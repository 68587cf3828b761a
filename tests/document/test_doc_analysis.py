"""``symrnn latex --analysis`` / ``to_latex(analysis=...)``: the section "Gradient flow: why tanh
and not ReLU?" with the Jacobian product, the plot and the fitted factors (issue 6)."""

import os
import subprocess
import sys

import pytest

from support import (ROOT, err_line, katex_available, katex_check, markdown_formulas,
                     needs_pdflatex, results_for)
from symrnn import RNNSpec, to_latex
from symrnn.analysis import GRAPHICS, analyze, figure_bytes, figure_png
from symrnn.cli import main
from symrnn.document import LatexError, analysis_section, compile_log_problems, compile_pdf
from symrnn.io import MANIFEST, MARKER

TITLE = "Gradient flow: why tanh and not ReLU?"
SPEC = RNNSpec(tau=3)


def doc(**kwargs) -> str:
    return to_latex(SPEC, results=results_for(SPEC), **kwargs)


@pytest.fixture(scope="module")
def result():
    """The analysis as the CLI computes it: symrnn analyze's defaults, seed 0."""
    return analyze()


@pytest.fixture(scope="module")
def png(result):
    return figure_png(result)


def test_off_by_default():
    for fmt in ("tex", "md"):
        text = doc(fmt=fmt)
        assert TITLE not in text and GRAPHICS not in text and "--analysis" not in text


def test_section_content(result):
    tex = doc(standalone=True, analysis=result)
    section = tex[tex.index(TITLE):]
    assert r"\prod_{j=k+1}^{t} \operatorname{diag}\left(\phi'\left(\boldsymbol{a}^{(j)}\right)" \
           r"\right) \boldsymbol{W}" in section
    # phi' of each measured activation, from sympy.diff, each checked exactly
    assert r"\phi = \tanh &\implies \phi'(a) = 1 - \tanh^{2}{\left(a \right)}" in section
    assert all(c.ok for c in result.checks) and len(result.dphi_exprs) == 4
    assert "(4 of the 4 checked exactly against" in " ".join(section.split())
    # the bound is for ||W||_2, the experiments set the spectral radius: said, with ||W||_2
    assert "largest singular value" in section and "spectral radius" in section
    # a balanced answer naming clipping, identity-initialised ReLU RNNs and gating
    assert "clipped" in section and "identity" in section and "gating" in section
    assert r"\includegraphics[width=\linewidth]{gradient_flow.png}" in section
    assert "Measured with 32 hidden units" in section
    for c in result.curves:  # every fitted factor, from the project's own computation
        assert f"{c.factor:.3f}" in section
    assert f"{result.curve('relu', '3').factor:.3f} per step" in section
    assert "--analysis" in tex.splitlines()[1]  # the regenerate command
    # True computes the same analysis (defaults, seed 0)
    assert doc(standalone=True, analysis=True) == tex
    # the section comes last, after the code
    assert tex.index(r"\section{The code") < tex.index(TITLE)
    # symrnn analyze writes the same section on its own (analysis.tex)
    alone = analysis_section(result)
    assert MARKER in alone.splitlines()[0]
    assert alone[alone.index(r"\section{" + TITLE):].strip() == \
        tex[tex.index(r"\section{" + TITLE):tex.index(r"\end{document}")].strip()


def test_without_the_plot(result):
    tex = doc(analysis=result, graphics=None)
    md = doc(fmt="md", analysis=result, graphics=None)
    assert TITLE in tex and r"\includegraphics" not in tex and r"\prod_{j=k+1}^{t}" in tex
    assert TITLE in md and "![" not in md and r"\prod_{j=k+1}^{t}" in md


def test_analysis_must_be_an_analysis(result):
    with pytest.raises(TypeError, match="Analysis"):
        doc(analysis="yes")
    # the section studies the vanilla RNN's h(t-1) -> h(t); the API refuses it for another
    # model, as the CLI does
    other = RNNSpec(model="output-recurrence")
    with pytest.raises(ValueError, match="model rnn"):
        to_latex(other, results=results_for(other), analysis=result)


@pytest.mark.parametrize("name", ["../x.png", "fig/x.png", "x.pdf", "x y.png", "a\n.png",
                                  "x}.png", "_x.png"])
def test_graphics_names_are_strict(result, name):
    with pytest.raises(ValueError, match="graphics file"):
        doc(analysis=result, graphics=name)
    with pytest.raises(ValueError, match="graphics file"):
        analysis_section(result, graphics=name)
    with pytest.raises(ValueError, match="graphics file"):
        compile_pdf("", files={name: b""})


def test_figure_png_is_the_analyze_png():
    small = analyze(max_lag=10, hidden=6)
    assert figure_png(small) == figure_bytes(small)["png"]


@needs_pdflatex
def test_standalone_with_analysis_compiles_with_the_image(result, png):
    tex = doc(standalone=True, analysis=result)
    pdf = compile_pdf(tex, files={GRAPHICS: png})
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf
    assert compile_log_problems(tex, files={GRAPHICS: png}) == []
    with pytest.raises(LatexError, match=r"^pdflatex failed: .*gradient_flow\.png"):
        compile_pdf(tex)  # the image is really needed


@pytest.mark.skipif(katex_available() is not None, reason=str(katex_available()))
def test_markdown_with_analysis_parses_with_katex(result):
    md = doc(fmt="md", analysis=result)
    assert "](gradient_flow.png)\n" in md and "\n![" in md
    section = md[md.index(TITLE):]
    formulas = markdown_formulas(section)
    assert any(r"\prod_{j=k+1}^{t}" in f for f in formulas) and len(formulas) > 10
    assert katex_check(markdown_formulas(md))["failures"] == []


@needs_pdflatex
@pytest.mark.usefixtures("cached_results")
def test_cli_writes_tex_png_pdf(tmp_path, png, capsys):
    out = tmp_path / "doc" / "bptt.tex"
    argv = ["latex", "--tau", "3", "--standalone", "--analysis", "--pdf", "--out", str(out)]
    assert main(argv) == 0
    folder = out.parent
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "bptt.pdf", "bptt.tex", GRAPHICS]
    assert (folder / GRAPHICS).read_bytes() == png
    tex = out.read_text()
    assert MARKER in tex.splitlines()[0] and "--analysis" in tex.splitlines()[1]
    assert r"\includegraphics[width=\linewidth]{gradient_flow.png}" in tex
    assert b"/Subtype /Image" in (folder / "bptt.pdf").read_bytes()
    assert main(argv) == 0  # our own files: rewritten without --force


@pytest.mark.usefixtures("cached_results")
def test_cli_markdown_and_stdout(tmp_path, capsys):
    assert main(["latex", "--analysis", "--out", str(tmp_path / "d.md")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "d.md", "d_graph.svg",
                                                          GRAPHICS]
    assert "![" in (tmp_path / "d.md").read_text()
    capsys.readouterr()
    # standard output: the formula and the factors, without the plot (nowhere to put it)
    assert main(["latex", "--analysis", "--standalone"]) == 0
    out = capsys.readouterr().out
    assert TITLE in out and r"\includegraphics" not in out and r"\prod_{j=k+1}^{t}" in out


@pytest.mark.usefixtures("cached_results")
def test_cli_refuses_a_foreign_png_before_writing(tmp_path, capsys):
    (tmp_path / GRAPHICS).write_bytes(b"\x89PNG my own picture")
    assert main(["latex", "--analysis", "--out", str(tmp_path / "d.tex")]) == 2
    assert "not generated by symrnn" in err_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == [GRAPHICS]
    assert (tmp_path / GRAPHICS).read_bytes() == b"\x89PNG my own picture"


def test_cli_out_named_like_the_plot(tmp_path, capsys):
    assert main(["latex", "--analysis", "--out", str(tmp_path / GRAPHICS)]) == 2
    assert "overwritten by the plot" in err_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_cli_deterministic_across_processes(tmp_path):
    """Two fresh interpreters with different hash seeds write the same bytes."""
    files = {}
    for seed in ("0", "4242"):
        cwd = tmp_path / seed
        cwd.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "symrnn", "latex", "--tau", "2", "--standalone",
                            "--analysis", "--out", "d/bptt.tex"], cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        files[seed] = {f.name: f.read_bytes() for f in (cwd / "d").iterdir()}
    assert sorted(files["0"]) == [MANIFEST, "bptt.tex", GRAPHICS]
    assert files["0"] == files["4242"]


@pytest.mark.usefixtures("cached_results")
def test_run_with_analysis(tmp_path, png, capsys):
    out = tmp_path / "out"
    assert main(["run", "--analysis", "--no-pdf", "--quiet", "--out", str(out)]) == 0
    assert (out / GRAPHICS).read_bytes() == png
    assert r"\includegraphics[width=\linewidth]{gradient_flow.png}" in (out / "bptt_tau3.tex").read_text()
    assert "](gradient_flow.png)" in (out / "bptt_tau3.md").read_text()
    # refused before any work when the plot's name is taken by a foreign file
    other = tmp_path / "other"
    other.mkdir()
    (other / GRAPHICS).write_bytes(b"mine")
    assert main(["run", "--analysis", "--no-pdf", "--quiet", "--out", str(other)]) == 2
    assert "not generated by symrnn" in err_line(capsys)
    assert sorted(p.name for p in other.iterdir()) == [GRAPHICS]


@pytest.mark.usefixtures("cached_results")
def test_run_refuses_analysis_for_another_model(tmp_path, capsys):
    assert main(["run", "--model", "output-recurrence", "--analysis", "--no-pdf", "--quiet",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--model rnn" in err_line(capsys)
    assert list(tmp_path.iterdir()) == []
