"""What every subcommand shares: the usage error, argument validators, the spec options."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..functions import ACTIVATIONS, LOSSES, REDUCTIONS
from ..models import DEFAULT, MODELS
from ..spec import CODE_LIMIT, LIMITS, RNNSpec, check_int


from .parser import Parser, UsageError  # noqa: F401  (every subcommand imports them here)


def whole(name: str, low: int, high: int | None = None, why: str = ""):
    """An integer option: the text as a whole number, then ``spec.check_int``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
        try:
            return check_int(name, value, low, high)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{e}{why if high is not None and value > high else ''}")
    return parse


def output_path(name: str):
    """A path for output: not empty, no control characters (a newline in a path would end up
    in the regenerate command that generated files carry in their header), and UTF-8 (the
    header names it). Kept as text: a trailing slash means a folder."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{name} must not be empty")
        bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
        if bad is not None:
            raise argparse.ArgumentTypeError(f"{name} must not contain control characters "
                                             f"(found {bad!r}); rename the folder")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise argparse.ArgumentTypeError(f"{name} {shown}: the path is not valid UTF-8 "
                                             f"(generated files name it in their header); "
                                             f"use a UTF-8 name")
        return text
    return parse


def is_folder_text(text: str) -> bool:
    """A trailing slash means a folder."""
    return text.endswith(("/", os.sep))


JSON_SCHEMA_VERSION = 1


def print_json(command: str, ok: bool, **payload) -> None:
    """Every command's ``--json``: one object ``{"schema_version": 1, "command": ..., "ok":
    ..., ...}`` (README, "JSON output")."""
    doc = {"schema_version": JSON_SCHEMA_VERSION, "command": command, "ok": bool(ok), **payload}
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


_CERT_WHY = ": exact element-level checks grow with it; use a smaller value"


def add_spec_options(p: argparse.ArgumentParser, tau_default: int = 3,
                     code_sizes: bool = False, tau_limit: tuple[int, str] | None = None) -> None:
    """The options that make an ``RNNSpec``; shared by every subcommand. ``code_sizes``:
    sizes up to the code limit (nothing is checked at the instance). ``tau_limit``: (largest
    --tau, why) when the command works at the full tau (default ``LIMITS``)."""
    size_limit = CODE_LIMIT if code_sizes else LIMITS["n_hidden"]
    why = "" if code_sizes else _CERT_WHY
    tau_max, tau_why = tau_limit or (LIMITS["tau"], _CERT_WHY)
    p.add_argument("--model", default=DEFAULT, metavar="NAME|CELL.toml",
                   help=f"the network: {', '.join(MODELS)} (default {DEFAULT}, the note's; "
                        f"'symrnn models' lists them), or the path of a cell file (.toml; see "
                        f"examples/)")
    p.add_argument("--tau", type=whole("--tau", 1, tau_max, tau_why), default=tau_default,
                   help=f"sequence length (default {tau_default})")
    p.add_argument("--inputs", type=whole("--inputs", 1, size_limit, why), default=3,
                   help="n_in, size of x(t) (default 3)")
    p.add_argument("--hidden", type=whole("--hidden", 1, size_limit, why), default=4,
                   help="n_hidden, size of h(t) (default 4)")
    p.add_argument("--outputs", type=whole("--outputs", 1, size_limit, why), default=3,
                   help="n_out, size of o(t) (default 3)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="tanh",
                   help="phi in h(t) = phi(a(t)) (default tanh, as in the note)")
    p.add_argument("--loss", choices=list(LOSSES), default="softmax-ce",
                   help="per-step loss (default softmax-ce, as in the note)")
    p.add_argument("--reduction", choices=list(REDUCTIONS), default="sum",
                   help="L from the per-step losses: sum (default, the note's L) or mean over "
                        "the steps and the sequences of a batch (the gradients are scaled "
                        "with it)")


def add_backend_option(p: argparse.ArgumentParser) -> None:
    """``--backend numpy|torch|jax``: the code emitted (``symrnn.backends.registry``)."""
    from ..backends.registry import BACKENDS, DEFAULT as DEFAULT_BACKEND
    p.add_argument("--backend", choices=list(BACKENDS), default=DEFAULT_BACKEND,
                   help="the code emitted: numpy (default; NumPy only), torch (an "
                        "autograd.Function and an nn.Module, CPU or CUDA) or jax (a "
                        "jax.custom_vjp of lax.scan loops)")


def spec_from_args(args: argparse.Namespace) -> RNNSpec:
    """The spec of the options; a model name or cell file that cannot be used is the user's
    input (one line, exit 2), not an internal error."""
    from ..models import get_model
    try:
        get_model(args.model)  # a cell file is read here: its errors name file and line
        return RNNSpec(tau=args.tau, n_in=args.inputs, n_hidden=args.hidden,
                       n_out=args.outputs, activation=args.activation, loss=args.loss,
                       model=args.model, reduction=args.reduction)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None


def require_document_spec(spec: RNNSpec) -> None:
    """The document writes the chain rule along the paths from L(t) to the parameters;
    with softmax over one class there is none (y^ = 1, L(t) = 0)."""
    if spec.loss == "softmax-ce" and spec.n_out == 1:
        raise UsageError("--outputs 1 with --loss softmax-ce: the softmax of one class is "
                         "always 1, so every L(t) is 0 and there is no gradient to write; "
                         "use --outputs 2 or more, or --loss mse or bce")
