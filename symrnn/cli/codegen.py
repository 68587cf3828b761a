"""``symrnn codegen``: write a module with forward, loss and BPTT gradients (NumPy only, or
for torch or JAX with ``--backend``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..api import emit_numpy
from ..backends.numpy.emitter import FORMS, INPUTS, codegen_command, module_filename
from ..backends.registry import get_backend
from ..functions import ACTIVATIONS
from ..io import check_writable, examine, write_atomic
from ..models import get_model
from .options import (UsageError, add_backend_option, add_spec_options, is_folder_text,
                      output_path, spec_from_args, whole)
from .parser import write_generated


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "codegen", help="emit NumPy, PyTorch or JAX code for forward, loss and BPTT gradients",
        description="Emit a Python module that imports only NumPy and offers forward, loss "
                    "and loss_and_grad for batched inputs. The loop form works for any tau; "
                    "the unrolled form is straight-line code for --tau. With --backend torch "
                    "or jax the module imports only that framework: the forward pass with the "
                    "checked BPTT as its backward pass (torch: an autograd.Function and an "
                    "nn.Module; JAX: a jax.custom_vjp of lax.scan loops), for any tau.",
        epilog="examples:\n"
               "  symrnn codegen --form loop --out generated\n"
               "  symrnn codegen --form unrolled --tau 5 --activation relu > rnn.py\n"
               "  symrnn codegen --inputs 65 --hidden 100 --outputs 65 --reduction mean --out .\n"
               "  symrnn codegen --form checkpointed --checkpoint-every 100 --out .\n"
               "  symrnn codegen --backend torch --model lstm-torch --out .",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_options(p, code_sizes=True)
    add_backend_option(p)
    p.add_argument("--form", choices=FORMS, default=None,
                   help="loop (any tau, read from the input), unrolled (exactly --tau steps) or "
                        "checkpointed (any tau; keeps the states every k steps and recomputes "
                        "each segment in the backward pass: memory O(sqrt(tau))); "
                        "default loop; NumPy only (a torch or JAX module takes any tau)")
    p.add_argument("--checkpoint-every", metavar="K", type=whole("--checkpoint-every", 1),
                   help="with --form checkpointed: segments of K steps (default: about "
                        "sqrt(tau), chosen per call)")
    p.add_argument("--input", choices=INPUTS, default="vector",
                   help="vector: x(t) is a float vector of n_in (default); index: x(t) is an "
                        "integer class index in 0..n_in-1 (its one-hot vector: U x(t) is a "
                        "gather of columns, its gradient a sum by index)")
    p.add_argument("--out", metavar="DIR|FILE.py", type=output_path("--out"),
                   help="folder to write the module to (named after the options, e.g. "
                        "rnn_loop.py), or the module's file name ending in .py (default: print "
                        "it on stdout)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a file that symrnn did not generate")
    p.set_defaults(func=run)


def target(out: str, spec, form: str, every: int | None = None, inputs: str = "vector",
           backend: str = "numpy") -> Path:
    """``--out``: a name ending in .py is the module file; anything else (an existing folder,
    a trailing slash) is the folder the module goes into."""
    import stat
    path = Path(out)
    st = examine(path)  # a name too long: one line, exit 2
    if not is_folder_text(out) and path.suffix.lower() == ".py" and not (
            st is not None and stat.S_ISDIR(st.st_mode)):
        return path
    if backend == "numpy":
        return path / module_filename(spec, form, every, inputs)
    return path / get_backend(backend).filename(spec, form, every)


def run(args) -> int:
    spec = spec_from_args(args)
    if ACTIVATIONS[spec.activation].symbolic_only and get_model(spec.model).uses_activation:
        raise UsageError(f"codegen needs a concrete activation: {spec.activation} is a generic, "
                         f"undefined function with no numeric value; use --activation tanh "
                         f"(or sigmoid, relu, identity)")
    every = args.checkpoint_every
    if args.backend != "numpy":
        return run_framework(args, spec)
    args.form = args.form or "loop"
    if every is not None and args.form != "checkpointed":
        raise UsageError(f"--checkpoint-every is for --form checkpointed (got --form "
                         f"{args.form}); add --form checkpointed or drop it")
    inputs = args.input
    if args.out is None:
        write_generated(emit_numpy(spec, args.form, every=every, inputs=inputs,
                                   command=codegen_command(spec, args.form, every=every,
                                                           inputs=inputs)))
        return 0
    path = target(args.out, spec, args.form, every, inputs)
    check_writable(path, args.force)  # before the work: a refusal costs nothing
    text = emit_numpy(spec, args.form, every=every, inputs=inputs,
                      command=codegen_command(spec, args.form, args.out, every, inputs))
    write_atomic(path, text, args.force)
    print(f"wrote {path}")
    return 0


def run_framework(args, spec) -> int:
    """``--backend torch|jax``: one module, for any tau."""
    b = get_backend(args.backend)
    for flag, value in (("--form", args.form), ("--checkpoint-every", args.checkpoint_every)):
        if value is not None:
            raise UsageError(f"{flag} is for --backend numpy (a {b.title} takes any tau); drop "
                             f"it")
    if args.input != "vector":
        raise UsageError(f"--input {args.input} is for --backend numpy (a {b.title} reads "
                         f"float vectors x(t)); drop it or use --backend numpy")
    from ..api import emit_jax, emit_torch
    emit = emit_torch if b.name == "torch" else emit_jax
    if args.out is None:
        write_generated(emit(spec, command=b.command(spec)))
        return 0
    path = target(args.out, spec, b.forms[0], backend=b.name)
    check_writable(path, args.force)
    write_atomic(path, emit(spec, command=b.command(spec, b.forms[0], args.out)), args.force)
    print(f"wrote {path}")
    return 0
