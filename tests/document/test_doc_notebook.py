"""``symrnn latex --format ipynb``: a notebook that follows its parameters. Its first code cell
holds them; with tau = 5 written there it executes without error (nbclient), every text it
prints is for tau = 5 (none says tau = 3), it plots the per-step gradient norms, checks the
generated module against central differences and trains it over windows with clipping until
the loss falls."""

import json
import re

import pytest

from support import results_for
from symrnn import RNNSpec, to_latex

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebook]'")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebook]'")
pytest.importorskip("ipykernel", reason="pip install -e '.[notebook]'")


def _all_text(nb) -> str:
    parts = []
    for c in nb.cells:
        parts.append(c.source)
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            parts.extend(str(v) for k, v in o.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def test_notebook_follows_its_first_cell(tmp_path):
    spec = RNNSpec(tau=3)
    text = to_latex(spec, fmt="ipynb", results=results_for(spec), analysis=True)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert re.search(r"(?m)^tau = 3$", first.source)
    first.source = re.sub(r"(?m)^tau = 3$", "tau = 5", first.source)
    # no static cell depends on the parameters
    static = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"tau\s*=\s*\d", static)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error (the training cell asserts)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    everything = _all_text(nb)
    assert not re.search(r"tau(\}?\$?`?)? = 3\b", everything), "a text still says tau = 3"
    assert re.search(r"\\tau = 5", everything)
    assert "L^{(5)}" in everything  # the chain rule written out for the fifth step
    printed = "".join(o.get("text", "") for o in outputs)
    assert "largest relative difference to central differences" in printed
    before, after = map(float, re.search(r"last 20: ([\d.]+) -> ([\d.]+)", printed).groups())
    assert after < 0.5 * before
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3  # the gradient norms, the training loss, the gradient-flow figure
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs)  # the unrolled graph


def test_the_chinese_notebook_comments_in_chinese():
    spec = RNNSpec(tau=3)
    nb = nbformat.reads(to_latex(spec, fmt="ipynb", results=results_for(spec), lang="zh"),
                        as_version=4)
    for cell in nb.cells:
        comments = re.findall(r"#\s*(.+)", cell.source) if cell.cell_type == "code" else []
        for c in comments:
            assert re.search(r"[\u4e00-\u9fff]", c), c


def test_notebook_is_deterministic():
    spec = RNNSpec(tau=2, n_hidden=2)
    a = to_latex(spec, fmt="ipynb", results=results_for(spec))
    b = to_latex(spec, fmt="ipynb", results=results_for(spec))
    assert a == b and json.loads(a)["nbformat"] == 4
