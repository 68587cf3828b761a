"""The derivation as a Jupyter notebook (``symrnn latex --format ipynb``), written with
``nbformat``: the Markdown document split at its sections into Markdown cells, with code
cells that redo each stage live: the model's results, the certificate (its ``_repr_latex_``),
the generated NumPy module imported and checked against central differences, and the
gradient-flow figure. Deterministic: no execution counts, outputs or timestamps.
"""

from __future__ import annotations

import re

from ..io import MARKER

#: The RNNSpec fields a notebook passes on (the ones that differ from the defaults).
_FIELDS = ("model", "tau", "n_in", "n_hidden", "n_out", "activation", "loss", "h0")

_CODE = {
    "setup": """\
import numpy as np
import symrnn

spec = symrnn.RNNSpec({args})
results = symrnn.analyse(spec)  # unroll, derive, matrix equations, certificate
print(spec.describe())""",
    "equations": """\
# the BPTT equations in matrix form, each checked exactly against the derivation
for eq in results.equations:
    display(eq)""",
    "certificate": """\
cert = results.certificate
print(cert.summary())
cert  # every formula of the source, as printed, with its verdict""",
    "code": """\
# the generated NumPy module (NumPy only), imported and checked against central differences
import importlib.util, pathlib, tempfile
from symrnn.backends.numpy.checks import random_point

folder = pathlib.Path(tempfile.mkdtemp())
path = folder / "model.py"
path.write_text(symrnn.emit_numpy(spec, "loop"))
loader = importlib.util.spec_from_file_location("model", path)
model = importlib.util.module_from_spec(loader)
loader.loader.exec_module(model)

P, xs, init, y, _ = random_point(results.graph, np.random.default_rng(0))
extra = init if spec.h0 == "symbol" else {{}}
loss, grads = model.loss_and_grad(P, xs, y, **extra)
eps, worst = 1e-6, 0.0
for name, value in P.items():
    for idx in np.ndindex(value.shape):
        up = {{k: v.copy() for k, v in P.items()}}
        down = {{k: v.copy() for k, v in P.items()}}
        up[name][idx] += eps
        down[name][idx] -= eps
        fd = (model.loss(up, xs, y, **extra) - model.loss(down, xs, y, **extra)) / (2 * eps)
        worst = max(worst, abs(fd - grads[name][idx]) / max(1e-3, abs(fd)))
print(f"loss {{loss:.6f}}; largest relative difference to central differences: {{worst:.2e}}")
assert worst < 1e-5""",
    "figure": """\
# gradient flow through time: why tanh and not ReLU (the figure of the document)
from IPython.display import Image, display
from symrnn.analysis import analyze, figure_png
flow = analyze()
display(Image(figure_png(flow)))""",
}


def notebook(results, markdown: str, command: str, analysis: bool = False,
             lang: str = "en") -> str:
    """The notebook (JSON text) for ``results``: ``markdown`` is the Markdown document of
    the same results (split at its ``## `` sections), ``command`` the CLI that wrote it."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from ..spec import RNNSpec
    from .words import words
    w = words(lang)
    spec = results.spec
    default = RNNSpec()
    args = ", ".join(f"{f}={getattr(spec, f)!r}" for f in _FIELDS
                     if getattr(spec, f) != getattr(default, f))
    body = re.sub(r"\A(<!--.*?-->\n)+", "", markdown, flags=re.S)  # the header comments
    sections = re.split(r"(?m)^(?=## )", body)
    cells = [new_markdown_cell(f"<!-- {MARKER}; do not edit by hand. Regenerate: "
                               f"{command} -->\n" + sections[0].strip()),
             new_code_cell(_CODE["setup"].format(args=args))]
    code_after = {1: ["equations"], 2: ["certificate"]}  # after the network, after BPTT
    for i, section in enumerate(sections[1:], 1):
        cells.append(new_markdown_cell(section.strip()))
        for name in code_after.get(i, []):
            cells.append(new_code_cell(_CODE[name].format(args=args)))
    cells.append(new_markdown_cell("## " + w["nb_code"] + "\n\n" + w["nb_code_text"]))
    cells.append(new_code_cell(_CODE["code"].format(args=args)))
    if analysis:
        cells.append(new_code_cell(_CODE["figure"].format(args=args)))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    for k, cell in enumerate(nb.cells):  # deterministic ids (nbformat draws random ones)
        cell["id"] = f"cell-{k}"
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"
