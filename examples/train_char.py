"""Train a character model with an emitted NumPy module: windows of a text, the state carried
from one window to the next, Adam, gradient clipping, a loss plot and a sample.

    python examples/train_char.py                          # the note's RNN on a small text
    python examples/train_char.py --model lstm-torch --text README.md --steps 3000
    python examples/train_char.py --model examples/mgu.toml --hidden 64

The module is emitted once, in memory (``symrnn.emit_numpy(..., inputs="index",
as_module=True)``): x(t) is the index of a character (U x(t) is a column of U, its gradient a
sum by index), y(t) the index of the next one, the loss softmax cross-entropy with reduction
mean. The text is cut into ``--batch`` streams read side by side; each window of ``--window``
characters continues the streams where the last one stopped, from the state it returned
(truncated BPTT). Nothing here but NumPy and the module (and matplotlib for the plot).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import symrnn  # noqa: E402

TEXT = """\
The recurrent network reads one character at a time and keeps what it has read in its state.
At each step it guesses the next character; the loss is how surprised it was. Back-propagation
through time sends the surprise back along the steps it came from, and the weights move a
little to be less surprised the next time the same letters come round.
"""


def windows(ids: np.ndarray, batch: int, window: int):
    """(x, y) windows of ``batch`` streams side by side, (window, batch) each, in order: each
    stream continues where it stopped in the window before."""
    n = (len(ids) - 1) // batch
    streams = ids[:n * batch + 1]
    xs = np.stack([streams[b * n:(b + 1) * n] for b in range(batch)], axis=1)
    ys = np.stack([streams[b * n + 1:(b + 1) * n + 1] for b in range(batch)], axis=1)
    for s in range(0, n - window + 1, window):
        yield xs[s:s + window], ys[s:s + window]


def train(text: str = TEXT, model: str = "rnn", hidden: int = 64, window: int = 25,
          batch: int = 8, steps: int = 1000, lr: float = 3e-3, clip: float = 5.0,
          seed: int = 0, log=print):
    """Train and return (module, params, chars, losses): the loss per window (mean nats per
    character)."""
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text])
    V = len(chars)
    spec = symrnn.RNNSpec(model=model, n_in=V, n_hidden=hidden, n_out=V, reduction="mean")
    m = symrnn.emit_numpy(spec, inputs="index", as_module=True)
    params = m.init_params(seed=seed)
    first = {k: np.zeros_like(v) for k, v in params.items()}  # Adam's moments
    second = {k: np.zeros_like(v) for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    losses, step = [], 0
    while step < steps:
        state = {}  # each pass over the text starts from zero states
        for x, y in windows(ids, batch, window):
            # validate=False: the data are checked once, here, by construction
            loss, grads, state = m.loss_and_grad(params, x, y, **state, return_state=True,
                                                 validate=False)
            norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            scale = min(1.0, clip / (norm + 1e-12))  # clip the gradient's global norm
            step += 1
            for k, g in grads.items():
                if k not in params:
                    continue  # the gradient of the initial state: the window is cut there
                g = g * scale
                first[k] = beta1 * first[k] + (1 - beta1) * g
                second[k] = beta2 * second[k] + (1 - beta2) * g * g
                mhat = first[k] / (1 - beta1 ** step)
                vhat = second[k] / (1 - beta2 ** step)
                params[k] -= lr * mhat / (np.sqrt(vhat) + eps)
            losses.append(float(loss))
            if log and step % max(1, steps // 10) == 0:
                log(f"step {step:5d}  loss {np.mean(losses[-50:]):.3f} nats/char")
            if step >= steps:
                break
    return m, params, chars, losses


def sample_text(m, params, chars, start: str, n: int, temperature: float = 0.8,
                seed: int = 0) -> str:
    """``start`` read by the model, then ``n`` characters drawn one at a time, each fed back
    as the next input (the module's ``sample``)."""
    ids = np.array([chars.index(c) for c in start])
    state = {}
    if len(ids) > 1:  # read all but the last character; the state continues from there
        *_rest, state = m.forward(params, ids[:-1], return_state=True)
    labels, _state = m.sample(params, ids[-1], n, **state, temperature=temperature, seed=seed)
    return start + "".join(chars[i] for i in labels)


def plot(losses, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    k = max(1, len(losses) // 100)
    smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax.plot(losses, color="0.8", lw=0.8, label="per window")
    ax.plot(np.arange(len(smooth)) + k - 1, smooth, color="C0", label=f"mean of {k}")
    ax.set_xlabel("window (update)")
    ax.set_ylabel("loss (nats per character)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", type=Path, help="a UTF-8 text file (default: a paragraph)")
    ap.add_argument("--model", default="rnn",
                    help="rnn, lstm-torch, gru-torch, ... or a cell file (default rnn)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--window", type=int, default=25, help="characters per window")
    ap.add_argument("--batch", type=int, default=8, help="streams read side by side")
    ap.add_argument("--steps", type=int, default=1000, help="updates (windows)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's step size")
    ap.add_argument("--clip", type=float, default=5.0, help="gradient norm clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=Path("train_char_loss.png"))
    ap.add_argument("--sample", type=int, default=200, help="characters to sample")
    args = ap.parse_args(argv)
    text = args.text.read_text(encoding="utf-8") if args.text else TEXT
    m, params, chars, losses = train(text, args.model, args.hidden, args.window, args.batch,
                                     args.steps, args.lr, args.clip, args.seed)
    plot(losses, args.plot)
    print(f"loss {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f} nats/char "
          f"(uniform guessing: {np.log(len(chars)):.3f}); plot: {args.plot}")
    print("sample:", sample_text(m, params, chars, text[0], args.sample, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
