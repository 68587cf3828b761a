"""The file name and the regenerate command of a framework module (torch, JAX)."""

from __future__ import annotations


def module_filename(spec, backend: str) -> str:
    """``rnn_torch.py`` (``lstm_torch_jax.py``): the model, the backend, then the choices that
    differ from the defaults, as the NumPy modules' names."""
    from ..spec import RNNSpec
    parts = [spec.model_def.name.replace("-", "_"), backend]
    default = RNNSpec()
    for name, flag in (("n_in", "in"), ("n_hidden", "h"), ("n_out", "out")):
        if getattr(spec, name) != getattr(default, name):
            parts.append(f"{flag}{getattr(spec, name)}")
    for name in ("activation", "loss", "reduction"):
        if getattr(spec, name) != getattr(default, name):
            parts.append(getattr(spec, name).replace("-", "_"))
    return "_".join(parts) + ".py"


def codegen_command(spec, out: str | None, backend: str) -> str:
    """The shell-quoted ``symrnn codegen --backend ...`` that writes this module."""
    import shlex

    from ..spec import RNNSpec
    words = ["symrnn", "codegen", "--backend", backend]
    default = RNNSpec()
    if spec.model != default.model:
        words += ["--model", spec.model]
    for name, flag in (("n_in", "--inputs"), ("n_hidden", "--hidden"), ("n_out", "--outputs"),
                       ("activation", "--activation"), ("loss", "--loss"),
                       ("reduction", "--reduction")):
        if getattr(spec, name) != getattr(default, name):
            words += [flag, str(getattr(spec, name))]
    if out is not None:
        words += ["--out", out]
    return shlex.join(words)


def wrap(head: str, items: list[str], tail: str = "", indent: int = 4, width: int = 99) -> str:
    """``head`` and the comma-separated ``items`` then ``tail``, in lines of at most ``width``
    characters (continuation lines indented by ``indent``; an item is never split)."""
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + (", " if i < len(items) - 1 else tail)
        if line.strip() and line != head and len(line + piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = " " * indent
        line += piece
    lines.append(line.rstrip())
    return "\n".join(lines)


def loss_rows(lo, hi) -> str:
    """The rows of y (steps 1..tau) that the loss reads at steps lo..hi, as a subscript
    ("" for all of them, "[-1:]" for tau alone), counted from the end where a bound is
    tau-relative (the code knows tau only from the shapes)."""
    import sympy as sp

    from ..naming import TAU
    start, stop = sp.expand(sp.sympify(lo) - 1), sp.expand(sp.sympify(hi))
    if start == 0 and stop == TAU:
        return ""
    if start.has(TAU):
        start = sp.expand(start - TAU)
    end = sp.expand(stop - TAU)
    if start.has(TAU) or end.has(TAU):
        raise NotImplementedError(f"loss steps {lo}..{hi}")
    return f"[{'' if start == 0 else sp.sstr(start)}:{'' if end == 0 else sp.sstr(end)}]"
