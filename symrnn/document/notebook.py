"""The derivation as a Jupyter notebook (``symrnn latex --format ipynb``), written with
``nbformat``, that follows its parameters: the first code cell holds them (model, tau, sizes,
activation, loss, language), and every text that depends on them is printed by a code cell
from the results of those parameters (``sections``: the Markdown document of the run, split
at its sections), so that changing tau and running all cells changes every sentence and
number. The notebook adds what a page cannot: the unrolled graph drawn, the per-step gradient
norms plotted, the generated NumPy module imported and checked against central differences,
and a small training run with it (truncated BPTT over windows, gradient clipping) whose loss
falls. Deterministic: no execution counts, outputs or timestamps.
"""

from __future__ import annotations

import re

from ..io import MARKER

#: The RNNSpec fields the first cell sets.
_FIELDS = ("model", "tau", "n_in", "n_hidden", "n_out", "activation", "loss")

_PARAMS = """\
# {c_params}
model = {model!r}
tau = {tau!r}
n_in, n_hidden, n_out = {n_in!r}, {n_hidden!r}, {n_out!r}
activation = {activation!r}
loss = {loss!r}
lang = {lang!r}"""

_SETUP = """\
import numpy as np
import symrnn
from IPython.display import SVG, Markdown, display
from symrnn.document import unrolled_svg
from symrnn.document.notebook import sections

spec = symrnn.RNNSpec(model=model, tau=tau, n_in=n_in, n_hidden=n_hidden, n_out=n_out,
                      activation=activation, loss=loss)
results = symrnn.analyse(spec)  # {c_analyse}
{flow}text = sections(results, lang{flow_arg})  # {c_text}
display(Markdown(text[0]))"""

_SECTION = """\
display(Markdown(text[{i}]))"""

_GRAPH = """\
display(Markdown(text[{i}]))
display(SVG(unrolled_svg(results)))  # {c_graph}"""

_NORMS = """\
# {c_norms}
import matplotlib.pyplot as plt
from symrnn.analysis import step_gradient_norms

norms = step_gradient_norms(results)
fig, ax = plt.subplots(figsize=(5, 3))
for name, values in norms.items():
    ax.semilogy(range(1, len(values) + 1), values, "o-", label=name)
ax.set_xlabel("t")
ax.set_ylabel("||grad_q(t) L||")
ax.legend()
plt.show()"""

_MODULE = """\
# {c_module}
import importlib.util, pathlib, tempfile
from symrnn.backends.numpy.checks import random_point

folder = pathlib.Path(tempfile.mkdtemp())
path = folder / "model.py"
path.write_text(symrnn.emit_numpy(spec, "loop"))
loader = importlib.util.spec_from_file_location("model", path)
module = importlib.util.module_from_spec(loader)
loader.loader.exec_module(module)

P, xs, init, y, _ = random_point(results.graph, np.random.default_rng(0))
L, grads = module.loss_and_grad(P, xs, y, **init)
eps, worst = 1e-6, 0.0
for name, value in P.items():
    for idx in np.ndindex(value.shape):
        up = {{k: v.copy() for k, v in P.items()}}
        down = {{k: v.copy() for k, v in P.items()}}
        up[name][idx] += eps
        down[name][idx] -= eps
        fd = (module.loss(up, xs, y, **init) - module.loss(down, xs, y, **init)) / (2 * eps)
        worst = max(worst, abs(fd - grads[name][idx]) / max(1e-3, abs(fd)))
print(f"L = {{L:.6f}}; {c_worst}: {{worst:.2e}}")
assert worst < 1e-5"""

_TRAIN = """\
# {c_train}
rng = np.random.default_rng(0)
vocab = min(n_in, n_out)
tokens = rng.integers(0, vocab, size=(40 * tau + 1, 8))
x_all = np.eye(n_in)[tokens[1:]]                           # {c_onehot}
y_all = tokens[:-1]                                        # {c_target}
params = {{k: rng.normal(size=s) * 0.3 for k, s in module.PARAM_SHAPES.items()}}
lr, clip, losses = 0.05, 5.0, []
for epoch in range(30):
    state = {{}}                                           # {c_state}
    for start in range(0, len(y_all) - tau + 1, tau):      # {c_windows}
        x, y = x_all[start:start + tau], y_all[start:start + tau]
        L, grads, state = module.loss_and_grad(params, x, y, **state, return_state=True)
        norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        scale = min(1.0, clip / (norm + 1e-12))            # {c_clip}
        for k in params:
            params[k] -= lr * scale * grads[k]
        losses.append(float(L) / y.size)
print(f"{c_loss}: {{np.mean(losses[:20]):.3f}} -> {{np.mean(losses[-20:]):.3f}}")
plt.figure(figsize=(5, 3))
plt.plot(losses)
plt.xlabel("update")
plt.ylabel("L / (tau * batch)")
plt.show()
assert np.mean(losses[-20:]) < np.mean(losses[:20])"""

_FIGURE = """\
# {c_figure}
from IPython.display import Image
from symrnn.analysis import figure_png
display(Image(figure_png(flow, lang)))"""

_WORDS = {
    "en": {
        "intro": ("Every text and number below is printed from the parameters in the first "
                  "code cell: change them (the sequence length tau, the sizes, the activation, "
                  "the loss) and run all cells."),
        "c_params": "the parameters: change them, then run all cells",
        "c_analyse": "unroll, derive, the matrix equations, the certificate",
        "c_text": "the document's sections, printed for these parameters",
        "c_graph": "the unrolled graph, with the paths of one gradient highlighted",
        "norms": ("The gradient reaching each state at each step, at a random point: how the "
                  "recursion carries it back through time."),
        "c_norms": "||grad_q(t) L|| for each state q and step t, from the derivation",
        "module": ("The generated NumPy module (what symrnn codegen writes), imported and "
                   "checked against central differences of its own loss."),
        "c_module": "the generated module (NumPy only), checked against central differences",
        "c_worst": "largest relative difference to central differences",
        "train": ("Training with the generated module: a sequence cut into windows of tau "
                  "steps (truncated BPTT: the state is carried from one window to the next, "
                  "the gradient stops at the window's start), each update clipped to a "
                  "gradient norm of at most 5. The task: output the previous input."),
        "c_train": "truncated BPTT over windows of tau steps, with gradient clipping",
        "c_target": "the label at step t is the input of step t-1",
        "c_onehot": "8 sequences of one-hot inputs, (steps, batch, n_in)",
        "c_state": "each pass over the sequences starts from zero states",
        "c_windows": "consecutive windows; the state is carried, the gradient is not",
        "c_clip": "clip: scale the whole gradient down to a norm of at most clip",
        "c_loss": "loss per step, first 20 updates -> last 20",
        "no_train": "(The training cell needs the softmax-ce loss; this notebook uses {loss}.)",
        "c_figure": "gradient flow through time: the figure of the document",
    },
    "zh": {
        "intro": ("下面的每段文字和每个数都由第一个代码单元中的参数算出：修改参数（序列长度 tau、各个大小、"
                  "激活函数、损失）后运行全部单元即可。"),
        "c_params": "参数：修改后运行全部单元",
        "c_analyse": "展开、推导、矩阵形式的等式、证书",
        "c_text": "按这些参数写出的文档各节",
        "c_graph": "展开图，高亮了一个梯度的路径",
        "norms": "在一个随机点上，每个时间步到达每个状态的梯度：递归如何把它沿时间传回。",
        "c_norms": "每个状态 q 在每个时间步 t 的 ||grad_q(t) L||，由推导算出",
        "module": "生成的 NumPy 模块（symrnn codegen 写出的那个），导入后与其损失的中心差分比较。",
        "c_module": "生成的模块（只依赖 NumPy），与中心差分比较",
        "c_worst": "与中心差分的最大相对差",
        "train": ("用生成的模块训练：把序列切成长度为 tau 的窗口（截断的 BPTT：状态从一个窗口传到下一个窗口，"
                  "梯度在窗口开头截断），每次更新前把梯度的范数截断到至多 5。任务：输出上一个时间步的输入。"),
        "c_train": "在长度为 tau 的窗口上做截断的 BPTT，并做梯度截断",
        "c_target": "时间步 t 的标签是时间步 t-1 的输入",
        "c_onehot": "8 个序列的 one-hot 输入，形状为 (steps, batch, n_in)",
        "c_state": "每一遍都从零状态开始",
        "c_windows": "相邻的窗口：传递状态，不传递梯度",
        "c_clip": "梯度截断：把整个梯度缩放到范数至多为 clip",
        "c_loss": "每步的损失，前 20 次更新 -> 最后 20 次",
        "no_train": "（训练单元需要 softmax-ce 损失；这个笔记本用的是 {loss}。）",
        "c_figure": "梯度沿时间的流动：文档中的图",
    },
}


def sections(results, lang: str = "en", analysis=None) -> list[str]:
    """The Markdown document of ``results`` (math as ``$...$``, which Jupyter reads before
    Markdown) split at its ``## `` sections: [title and note, section 1, ...]."""
    from . import document
    md = document(results, "md", analysis=analysis, lang=lang, github=False)
    body = re.sub(r"\A(<!--.*?-->\n)+", "", md, flags=re.S)  # the header comments
    parts = [s.strip() for s in re.split(r"(?m)^(?=## )", body)]
    parts[0] = parts[0].split("\n")[0]  # the title (the note on math is GitHub's)
    return parts


def notebook(results, markdown: str, command: str, analysis: bool = False,
             lang: str = "en") -> str:
    """The notebook (JSON text) for ``results``: code cells print ``markdown``'s sections
    (the Markdown document of the same results) from the parameters of the first cell;
    ``command`` is the CLI that wrote it."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from .words import term, words
    w, nw = words(lang), _WORDS[lang]
    spec = results.spec
    params = {f: getattr(spec, f) for f in _FIELDS}
    n = len(re.split(r"(?m)^(?=## )", markdown))
    title = w["title"].split(":")[0].split("：")[0]
    cells = [new_markdown_cell(f"<!-- {MARKER}; do not edit by hand. Regenerate: "
                               f"{command} -->\n# {title}: {term(results.model.title, lang)}"
                               f"\n\n{nw['intro']}"),
             new_code_cell(_PARAMS.format(lang=lang, **params, **nw)),
             new_code_cell(_SETUP.format(
                 flow="from symrnn.analysis import analyze\nflow = analyze()\n"
                 if analysis else "", flow_arg=", analysis=flow" if analysis else "", **nw))]
    for i in range(1, n):
        cells.append(new_code_cell((_GRAPH if i == 2 else _SECTION).format(i=i, **nw)))
        if i == 2:  # after the network: the gradient at each step
            cells.append(new_markdown_cell(nw["norms"]))
            cells.append(new_code_cell(_NORMS.format(**nw)))
    cells.append(new_markdown_cell(nw["module"]))
    cells.append(new_code_cell(_MODULE.format(**nw)))
    if spec.loss == "softmax-ce":
        cells.append(new_markdown_cell(nw["train"]))
        cells.append(new_code_cell(_TRAIN.format(**nw)))
    else:
        cells.append(new_markdown_cell(nw["no_train"].format(loss=spec.loss)))
    if analysis:
        cells.append(new_code_cell(_FIGURE.format(**nw)))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    for k, cell in enumerate(nb.cells):  # deterministic ids (nbformat draws random ones)
        cell["id"] = f"cell-{k}"
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"
