"""``symrnn latex --format ipynb``: a notebook that executes without error (nbclient), whose
cells redo the derivation, show the certificate, check the generated code against central
differences and draw the figure."""

import json

import pytest

from support import results_for
from symrnn import RNNSpec, to_latex

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebook]'")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebook]'")
pytest.importorskip("ipykernel", reason="pip install -e '.[notebook]'")


def test_notebook_executes(tmp_path):
    spec = RNNSpec(tau=2, n_hidden=2)
    text = to_latex(spec, fmt="ipynb", results=results_for(spec), analysis=True)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds.count("code") >= 4 and kinds.count("markdown") >= 5
    source = "\n".join(c.source for c in nb.cells)
    assert "loss_and_grad" in source and "central differences" in source
    assert "```math" in source and "cert" in source
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text_out = "".join(o.get("text", "") for o in outputs)
    assert "largest relative difference to central differences" in text_out
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure
    assert any("text/latex" in o.get("data", {}) for o in outputs)  # the certificate


def test_notebook_is_deterministic():
    spec = RNNSpec(tau=2, n_hidden=2)
    a = to_latex(spec, fmt="ipynb", results=results_for(spec))
    b = to_latex(spec, fmt="ipynb", results=results_for(spec))
    assert a == b and json.loads(a)["nbformat"] == 4
