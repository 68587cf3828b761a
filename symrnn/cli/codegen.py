"""``symrnn codegen``: write a NumPy-only module with forward, loss and BPTT gradients."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..api import emit_numpy
from ..backends.numpy.emitter import FORMS, codegen_command, module_filename
from ..functions import ACTIVATIONS
from ..io import check_writable, examine, write_atomic
from ..models import get_model
from .parser import write_generated
from .options import (UsageError, add_spec_options, is_folder_text, output_path, spec_from_args,
                      whole)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "codegen", help="emit NumPy code for forward, loss and BPTT gradients",
        description="Emit a Python module that imports only NumPy and offers forward, loss "
                    "and loss_and_grad for batched inputs. The loop form works for any tau; "
                    "the unrolled form is straight-line code for --tau.",
        epilog="examples:\n"
               "  symrnn codegen --form loop --out generated\n"
               "  symrnn codegen --form unrolled --tau 5 --activation relu > rnn.py\n"
               "  symrnn codegen --inputs 65 --hidden 100 --outputs 65 --reduction mean --out .\n"
               "  symrnn codegen --form checkpointed --checkpoint-every 100 --out .",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_options(p, code_sizes=True)
    p.add_argument("--form", choices=FORMS, default="loop",
                   help="loop (any tau, read from the input), unrolled (exactly --tau steps) or "
                        "checkpointed (any tau; keeps the states every k steps and recomputes "
                        "each segment in the backward pass: memory O(sqrt(tau)))")
    p.add_argument("--checkpoint-every", metavar="K", type=whole("--checkpoint-every", 1),
                   help="with --form checkpointed: segments of K steps (default: about "
                        "sqrt(tau), chosen per call)")
    p.add_argument("--out", metavar="DIR|FILE.py", type=output_path("--out"),
                   help="folder to write the module to (named after the options, e.g. "
                        "rnn_loop.py), or the module's file name ending in .py (default: print "
                        "it on stdout)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a file that symrnn did not generate")
    p.set_defaults(func=run)


def target(out: str, spec, form: str, every: int | None = None) -> Path:
    """``--out``: a name ending in .py is the module file; anything else (an existing folder,
    a trailing slash) is the folder the module goes into."""
    import stat
    path = Path(out)
    st = examine(path)  # a name too long: one line, exit 2
    if not is_folder_text(out) and path.suffix.lower() == ".py" and not (
            st is not None and stat.S_ISDIR(st.st_mode)):
        return path
    return path / module_filename(spec, form, every)


def run(args) -> int:
    spec = spec_from_args(args)
    if ACTIVATIONS[spec.activation].symbolic_only and get_model(spec.model).uses_activation:
        raise UsageError(f"codegen needs a concrete activation: {spec.activation} is a generic, "
                         f"undefined function with no numeric value; use --activation tanh "
                         f"(or sigmoid, relu, identity)")
    every = args.checkpoint_every
    if every is not None and args.form != "checkpointed":
        raise UsageError(f"--checkpoint-every is for --form checkpointed (got --form "
                         f"{args.form}); add --form checkpointed or drop it")
    if args.out is None:
        write_generated(emit_numpy(spec, args.form, every=every,
                                    command=codegen_command(spec, args.form, every=every)))
        return 0
    path = target(args.out, spec, args.form, every)
    check_writable(path, args.force)  # before the work: a refusal costs nothing
    text = emit_numpy(spec, args.form, every=every,
                      command=codegen_command(spec, args.form, args.out, every))
    write_atomic(path, text, args.force)
    print(f"wrote {path}")
    return 0
