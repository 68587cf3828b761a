"""The user's own cell, from a TOML file: ``symrnn run --model path/to/cell.toml``.

The file names the parameters with their shapes, the inputs, the per-step equations, the
output and the steps the loss reads; the sizes n_in, n_hidden and n_out, the activation
``phi`` and the loss come from the command line as for every model::

    name = "elman"
    title = "Elman network"
    [params]
    U = ["n_hidden", "n_in"]      # a matrix: rows, columns
    b = ["n_hidden"]              # a bias vector
    [inputs]
    x = "n_in"
    [nodes]                       # every quantity an equation computes, with its size
    h = "n_hidden"
    o = "n_out"
    [step]
    equations = '''
    h = tanh(b + W @ h[t-1] + U @ x)
    o = c + V @ h
    '''
    output = "o"                  # compared with the target y(t) by the loss
    loss_steps = "all"            # or "last": one loss at t = tau

Equations are parsed by Python's ``ast`` with an allow-list of node types and read into the
model's SymPy objects by this module: names (parameters, inputs, nodes; ``q[t-1]``,
``q[t+1]`` for other steps), numbers, ``+ - * / @``, ``transpose(A)`` and the registry's
functions (``symrnn.functions.FUNCTIONS``). Nothing in the file reaches ``eval``, ``exec`` or
``sympify``. Every error is a ``CellError`` (a ValueError) naming the file, the line, what is
wrong and what is allowed.
"""

from __future__ import annotations

import ast
import keyword
import math
import os
import re
import stat
import tomllib
import unicodedata
from pathlib import Path

import sympy as sp

from ..functions import FUNCTIONS, Apply
from ..naming import T
from .base import DIMS, PHI, Equation, Model, Param, Quantity, inp, node, param, target

#: The largest file read (a cell is a few lines).
MAX_BYTES = 64 * 1024
#: The longest equation and the deepest expression taken.
MAX_EQUATION = 1000
MAX_DEPTH = 32
#: The furthest step offset q[t-1], q[t+1]: a state is carried one step (a lag of k steps is
#: a chain of copies, h1 = h[t-1], then h1[t-1] is h(t-2)).
MAX_OFFSET = 1
#: The deepest function applied inside another function's argument in one expression
#: (tanh(tanh(tanh(...)))): the exact rule checks expand the product of the derivatives, 2^k
#: terms; a node of its own per application (a = tanh(...), h = tanh(a)) costs the same at
#: any depth.
MAX_NESTED_FUNCTIONS = 4
#: Numbers in an equation: 0 or a magnitude within these bounds (the generated code computes
#: in float64 and float32; the exact checks take the number as a rational).
NUMBER_RANGE = (1e-12, 1e12)

NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}", re.ASCII)
MODEL_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
#: Free text (title, descriptions) reaches code comments, LaTeX and Markdown: plain
#: characters only, so no target language needs escaping.
TEXT = re.compile(r"[A-Za-z0-9 .,:;()/+=*'-]{0,120}")
DIM_NAMES = {d.name: d for d in DIMS}
RESERVED = (set(keyword.kwlist) | set(FUNCTIONS) | set(DIM_NAMES) | {
    "t", "tau", "T", "L", "yhat", "transpose", "numpy", "batch", "p", "xs", "ys", "labels",
    "loss", "grads", "range", "len", "softmax"})
TOP_KEYS = {"name", "title", "reference", "describe", "params", "inputs", "nodes", "step",
            "target"}
STEP_KEYS = {"equations", "output", "loss_steps"}
ALLOWED_SYNTAX = ("names, numbers, + - * / @, parentheses, q[t-1] or q[t+1] for another step, "
                  "transpose(A) and the functions " + ", ".join(sorted(FUNCTIONS)))
CALLABLE = ", ".join(sorted(FUNCTIONS)) + " (phi is --activation) and transpose"


class CellError(ValueError):
    """A cell file that cannot be read: ``file:line: what is wrong; what is allowed``."""

    def __init__(self, path, line, what: str):
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {what}")


# ------------------------------------------------------------------ reading the file

def load_cell(path) -> Model:
    """The ``Model`` a cell file defines (CellError, a ValueError, when it cannot be read)."""
    p = Path(path)
    raw = _read_regular(p)
    if len(raw) > MAX_BYTES:
        raise CellError(p, 0, f"the file is larger than {MAX_BYTES // 1024} KiB; a cell file "
                              f"is a few lines of TOML")
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark (some editors write one)
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise CellError(p, line, f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                                 f"save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise CellError(p, int(m.group(1)) if m else 0,
                        f"not valid TOML: {msg}; see examples/elman.toml for the format") from None
    return _Reader(p, text, data).model()


def _kind(mode: int) -> str | None:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _read_regular(p: Path) -> bytes:
    """The first ``MAX_BYTES + 1`` bytes of ``p`` if it is a regular file: what it is is
    decided before it is opened (opening a FIFO blocks), and checked again once open."""
    def refuse(mode: int):
        raise CellError(p, 0, f"the cell file is {_kind(mode)}, not a regular file; give the "
                              f"path of a .toml file")
    try:
        st = os.stat(p)  # follows a symbolic link: what the link points to counts
        if _kind(st.st_mode):
            refuse(st.st_mode)
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            mode = os.fstat(fd).st_mode
            if _kind(mode):  # replaced between the two looks
                refuse(mode)
            chunks, left = [], MAX_BYTES + 1
            while left > 0:
                chunk = os.read(fd, left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as e:
        raise CellError(p, 0, f"cannot read the cell file: {e.strerror or e}; give the path of "
                              f"a readable .toml file") from None


class _Reader:
    def __init__(self, path: Path, text: str, data: dict):
        self.path, self.text, self.data = path, text, data
        self.lines = text.splitlines()
        self.origins: list[str] = []  # "file:line: h = ..." of each equation, for messages

    # ---------------------------------------------------------------- errors with lines

    def line_of_key(self, key: str, table: str | None = None) -> int:
        """The line where ``key = ...`` is written (inside ``[table]`` when given)."""
        start = 0
        if table is not None:
            for i, line in enumerate(self.lines):
                if re.fullmatch(rf"\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?", line):
                    start = i
                    break
        for i in range(start, len(self.lines)):
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                return i + 1
        return 0

    def fail(self, line: int, what: str):
        raise CellError(self.path, line, what)

    # ---------------------------------------------------------------- the parts

    def text_field(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not TEXT.fullmatch(value):
            self.fail(self.line_of_key(key), f"{key} must be plain text of at most 120 letters, "
                                             f"digits, spaces and . , : ; ( ) / + = * ' -")
        return value

    def size(self, value, key: str, table: str) -> object:
        if not isinstance(value, str) or value not in DIM_NAMES:
            self.fail(self.line_of_key(key, table),
                      f"{table}.{key}: unknown size {value!r}; the sizes are "
                      f"{', '.join(DIM_NAMES)} (set by --inputs, --hidden, --outputs)")
        return DIM_NAMES[value]

    def identifier(self, key: str, table: str, taken: dict) -> str:
        line = self.line_of_key(key, table)
        if not NAME.fullmatch(key):
            self.fail(line, f"{table}.{key}: a name is an ASCII letter then up to 15 ASCII "
                            f"letters or digits")
        if key in RESERVED:
            self.fail(line, f"{table}.{key}: {key!r} is reserved (a size, function or keyword); "
                            f"choose another name")
        if key in taken:
            self.fail(line, f"{table}.{key}: {key!r} is already a {taken[key]}; each name is "
                            f"used once")
        return key

    def table(self, key: str) -> dict:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.fail(self.line_of_key(key), f"{key} must be a table [{key}]")
        return value

    def model(self) -> Model:
        unknown = sorted(set(self.data) - TOP_KEYS)
        if unknown:
            self.fail(self.line_of_key(unknown[0]),
                      f"unknown key {unknown[0]!r}; the keys are {', '.join(sorted(TOP_KEYS))}")
        stem = self.path.stem.lower().replace("_", "-")
        named = "name" in self.data
        name = self.data.get("name", stem)
        # without name = "...", the name comes from the file name: say so, and how to set it
        whence = "" if named else (f" (the file sets no name = \"...\", so it is taken from "
                                   f"the file name, {self.path.stem!r}); add a line "
                                   f"name = \"my-cell\" at the top of the file")
        if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
            self.fail(self.line_of_key("name"), "name must be lower-case letters, digits and -, "
                                                "starting with a letter (at most 40)"
                      + (f", got {name!r}{whence}" if not named else ""))
        from . import MODELS
        if name in MODELS:
            self.fail(self.line_of_key("name"), f"name {name!r} is a built-in model's (its "
                                                f"files would be confused)"
                      + (f"{whence}" if not named else "; choose another"))
        title = self.text_field("title", name)
        reference = self.text_field("reference", "user cell")
        describe = self.text_field("describe", f"a cell read from {self.path.name}"
                                   if TEXT.fullmatch(self.path.name) else "a cell from a file")
        taken: dict[str, str] = {}
        params: dict[str, Param] = {}
        for key, shape in self.table("params").items():
            self.identifier(key, "params", taken)
            line = self.line_of_key(key, "params")
            if not isinstance(shape, list) or not 1 <= len(shape) <= 2:
                self.fail(line, f"params.{key}: a shape is [rows, columns] or [rows] for a bias, "
                                f"each one of {', '.join(DIM_NAMES)}")
            dims = [self.size(s, key, "params") for s in shape]
            params[key] = param(key, dims[0], dims[1] if len(dims) == 2 else None,
                                f"parameter {key}")
            taken[key] = "parameter"
        if not params:
            self.fail(0, "the cell has no [params]; name each parameter with its shape, "
                         "e.g. W = [\"n_hidden\", \"n_hidden\"]")
        quantities: dict[str, Quantity] = {}
        for key, size in self.table("inputs").items():
            self.identifier(key, "inputs", taken)
            quantities[key] = inp(key, self.size(size, key, "inputs"), f"input {key}")
            taken[key] = "input"
        if not quantities:
            self.fail(0, "the cell has no [inputs]; e.g. x = \"n_in\"")
        nodes = self.table("nodes")
        for key, size in nodes.items():
            self.identifier(key, "nodes", taken)
            quantities[key] = node(key, self.size(size, key, "nodes"), f"node {key}")
            taken[key] = "node"
        tname = self.data.get("target", "y")
        if not isinstance(tname, str):
            self.fail(self.line_of_key("target"), "target must be a name (default y)")
        self.identifier(tname, "target", taken) if NAME.fullmatch(tname) else self.fail(
            self.line_of_key("target"), "target: a name is a letter then letters or digits")
        step = self.table("step")
        extra = sorted(set(step) - STEP_KEYS)
        if extra:
            self.fail(self.line_of_key(extra[0], "step"),
                      f"step.{extra[0]}: unknown key; the keys are {', '.join(sorted(STEP_KEYS))}")
        source = step.get("equations")
        if not isinstance(source, str) or not source.strip():
            self.fail(self.line_of_key("equations", "step"),
                      "step.equations must be a string with one equation per line, "
                      "e.g. h = tanh(W @ h[t-1] + U @ x)")
        equations = self.equations(source, params, quantities)
        defined = {e.target.name for e in equations}
        read = {a.name for e in equations for a in e.rhs.atoms(sp.MatrixSymbol)}
        for key in params:
            if key not in read:
                self.fail(self.line_of_key(key, "params"),
                          f"params.{key}: no equation reads {key}; use it in step.equations or "
                          f"remove it (its gradient would be zero)")
        for key, q in quantities.items():
            if q.role == "input" and key not in read:
                self.fail(self.line_of_key(key, "inputs"),
                          f"inputs.{key}: no equation reads the input {key}; use it in "
                          f"step.equations or remove it")
        for key in nodes:
            if key not in defined:
                self.fail(self.line_of_key(key, "nodes"),
                          f"nodes.{key}: no equation computes {key}; write '{key} = ...' in "
                          f"step.equations or remove it")
        out_name = step.get("output", "o")
        out_line = self.line_of_key("output", "step")
        if not isinstance(out_name, str) or out_name not in defined:
            self.fail(out_line, f"step.output: {out_name!r} is not a node an equation computes; "
                                f"the nodes are {', '.join(sorted(defined))}")
        output = quantities[out_name]
        if output.size.name != "n_out":
            self.fail(out_line, f"step.output: {out_name} has size {output.size.name}; the loss "
                                f"compares it with the target, of size n_out")
        when = step.get("loss_steps", "all")
        if when not in ("all", "last"):
            self.fail(self.line_of_key("loss_steps", "step"),
                      f"step.loss_steps must be \"all\" (a loss at every step) or \"last\" "
                      f"(one loss at t = tau), got {when!r}")
        y = target(tname, output.size, "target")
        return Model(name=name, title=title, reference=reference, describe=describe,
                     params=tuple(params.values()),
                     quantities=tuple(quantities.values()) + (y,),
                     equations=tuple(equations), output=output, target=y, loss_when=when,
                     origins=tuple(self.origins),
                     notes=(f"read from the cell file {self.path.name}",)
                     if TEXT.fullmatch(self.path.name) else ())

    # ---------------------------------------------------------------- equations

    def equations(self, source: str, params, quantities) -> list[Equation]:
        first = self._source_line(source)
        out: list[Equation] = []
        defined_at: dict[str, int] = {}
        pending: list[tuple[int, str, ast.expr]] = []
        sources: dict[str, str] = {}
        for k, raw in enumerate(source.split("\n")):
            line = first + k
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            odd = next((ch for ch in text if ord(ch) > 127), None)
            if odd is not None:
                # Python's ast would fold look-alikes (NFKC: a bold W to W, a full-width h
                # to h), on the right side only: refused on both sides, before parsing
                folded = unicodedata.normalize("NFKC", odd)
                like = f", which Python would read as {folded!r}" if folded.isascii() and \
                    folded != odd else ""
                self.fail(line, f"{odd!r} (U+{ord(odd):04X}) is not an ASCII character{like}; "
                                f"names, numbers and operators are ASCII: retype it")
            if len(text) > MAX_EQUATION:
                self.fail(line, f"the equation is longer than {MAX_EQUATION} characters; split "
                                f"it with intermediate nodes")
            lhs, sep, rhs = text.partition("=")
            lhs = lhs.strip()
            if not sep or "=" in rhs or not rhs.strip():
                self.fail(line, f"an equation is 'node = expression', got {text!r}")
            if lhs not in quantities or quantities[lhs].role != "node":
                what = "an input" if lhs in quantities else "a parameter" if lhs in params else \
                    "not declared"
                self.fail(line, f"{lhs!r} is {what}; the left side is a node declared in "
                                f"[nodes] ({', '.join(q for q in quantities if quantities[q].role == 'node')})")
            if lhs in defined_at:
                self.fail(line, f"{lhs} is computed twice (also on line {defined_at[lhs]}); "
                                f"one equation per node")
            defined_at[lhs] = line
            try:
                tree = ast.parse(rhs.strip(), mode="eval")
            except SyntaxError as e:
                shown = rhs.strip() if len(rhs.strip()) <= 40 else rhs.strip()[:37] + "..."
                self.fail(line, f"cannot parse {shown!r}: {e.msg}; allowed: {ALLOWED_SYNTAX}")
            except (RecursionError, MemoryError):
                self.fail(line, f"the expression is nested too deeply (at most {MAX_DEPTH} "
                                f"levels)")
            pending.append((line, lhs, tree.body))
            sources[lhs] = rhs.strip()
        if not pending:
            self.fail(first, "step.equations has no equation")
        order = [lhs for _line, lhs, _tree in pending]
        self._no_cycle(pending)
        for line, lhs, tree in pending:
            conv = _Converter(self, line, params, quantities, order, lhs, defined_at,
                              sources[lhs])
            rhs, shape = conv.expr(tree, 0)
            want = (quantities[lhs].size.name, "1")
            if shape is None:
                self.fail(line, f"{lhs} = a number; the right side must be a vector of size "
                                f"{want[0]}")
            if shape != want:
                self.fail(line, f"shape mismatch: {lhs} is {_shape(want)} but the right side is "
                                f"{_shape(shape)}")
            out.append(Equation(quantities[lhs], rhs, f"{lhs}, line {line}"))
            self.origins.append(f"{self.path}:{line}: {lhs} = {' '.join(sources[lhs].split())}")
        return out

    def _no_cycle(self, pending) -> None:
        """Nodes that read each other at the same step t (a[t] reads h[t], h[t] reads a[t]):
        no order computes them."""
        lines = {lhs: line for line, lhs, _tree in pending}
        deps = {lhs: _same_step_names(tree) & set(lines) for _line, lhs, tree in pending}
        state: dict[str, int] = {}

        def visit(n, path):
            state[n] = 1
            for m in sorted(deps[n]):
                if state.get(m) == 1:
                    cycle = path[path.index(m):] + [m]
                    self.fail(lines[cycle[0]], "cycle within a step: "
                              + " reads ".join(f"{c}[t]" for c in cycle)
                              + "; no order computes them: read one at t-1")
                if m not in state:
                    visit(m, path + [m])
            state[n] = 2

        for _line, lhs, _tree in pending:
            if lhs not in state:
                visit(lhs, [lhs])

    def _source_line(self, source: str) -> int:
        """The file line of the first line of the equations string."""
        at = self.text.find(source)
        if at >= 0:
            return self.text[:at].count("\n") + 1
        key = self.line_of_key("equations", "step")
        return key + 1 if key else 0


def _same_step_names(tree: ast.AST) -> set[str]:
    """The names an expression reads at step t: bare names and q[t]."""
    out, inside = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            inside.add(id(n.value))
            if isinstance(n.slice, ast.Name) and n.slice.id == "t":
                out.add(n.value.id)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            inside.add(id(n.func))
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and id(n) not in inside and n.id != "t":
            out.add(n.id)
    return out


def _shape(s) -> str:
    return "a number" if s is None else f"{s[0]} x {s[1]}"


class _Converter:
    """One equation's right side, from an allow-listed ``ast`` tree to SymPy matrices; each
    value carries its shape (rows, cols) as size names, None for a number."""

    def __init__(self, reader: _Reader, line: int, params, quantities, order, lhs, defined_at,
                 source: str = ""):
        self.r, self.line, self.source = reader, line, source
        self.nested = 0  # functions applied around the node being read
        self.params, self.quantities = params, quantities
        self.order, self.lhs, self.defined_at = order, lhs, defined_at

    def fail(self, what: str):
        self.r.fail(self.line, what)

    def expr(self, n: ast.AST, depth: int):
        if depth > MAX_DEPTH:
            self.fail(f"the expression is nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool) or not isinstance(n.value, (int, float)):
                self.fail(f"{n.value!r} is not allowed; allowed: {ALLOWED_SYNTAX}")
            return self.number(n), None
        if isinstance(n, ast.Name):
            return self.name(n.id, 0)
        if isinstance(n, ast.Subscript):
            return self.subscript(n)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v, s = self.expr(n.operand, depth + 1)
            return (-v if isinstance(n.op, ast.USub) else v), s
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div,
                                                          ast.MatMult)):
            return self.binop(n, depth)
        if isinstance(n, ast.Call):
            return self.call(n, depth)
        what = {ast.Attribute: "attribute access (a.b)", ast.Lambda: "a lambda"}.get(
            type(n), type(n).__name__)
        if isinstance(n, ast.BinOp):
            ops = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.LShift: "<<",
                   ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}
            what = ops.get(type(n.op), f"the operator {type(n.op).__name__}")
        self.fail(f"{what} is not allowed; allowed: {ALLOWED_SYNTAX}")

    def number(self, n: ast.Constant) -> sp.Expr:
        """A number as an exact rational: finite, and 0 or within ``NUMBER_RANGE``."""
        v = n.value
        written = ast.get_source_segment(self.source, n) if self.source else None
        shown = written if written and len(written) <= 24 else f"{str(v)[:20]}..." \
            if isinstance(v, int) and v.bit_length() > 60 else repr(v)
        low, high = NUMBER_RANGE
        bounds = f"0 or between {low:.0e} and {high:.0e}".replace("e+", "e")
        if isinstance(v, float) and not math.isfinite(v):
            self.fail(f"the number {shown} is not finite (Python reads it as {v}); a number "
                      f"is {bounds} in magnitude")
        if v != 0 and not low <= abs(v) <= high:
            self.fail(f"the number {shown} is out of range; a number is {bounds} in "
                      f"magnitude (the generated code computes in float64 and float32)")
        return sp.nsimplify(v, rational=True) if isinstance(v, float) else sp.Integer(v)

    def name(self, ident: str, offset: int):
        if ident in self.params:
            if offset:
                self.fail(f"{ident} is a parameter, the same at every step; write {ident} "
                          f"without [t...]")
            p = self.params[ident]
            return p.symbol, (p.rows.name, p.cols.name if p.cols else "1")
        if ident in self.quantities:
            q = self.quantities[ident]
            if q.role == "input" and offset:
                self.fail(f"the input {ident} is read at its own step only; write {ident}")
            if q.role == "node" and offset == 0:
                if ident == self.lhs:
                    self.fail(f"cycle within a step: {ident}[t] reads {ident}[t]; read "
                              f"{ident}[t-1] (the previous step) instead")
                if ident not in self.defined_at or \
                        self.order.index(ident) > self.order.index(self.lhs):
                    where = f" (line {self.defined_at[ident]} computes it)" \
                        if ident in self.defined_at else ""
                    self.fail(f"{ident}[t] is used before it is defined{where}; put its "
                              f"equation first, or read {ident}[t-1]")
            return q.at(T + offset), (q.size.name, "1")
        known = sorted(self.params) + sorted(self.quantities)
        self.fail(f"unknown name {ident!r}; the names are {', '.join(known)}")

    def subscript(self, n: ast.Subscript):
        if not isinstance(n.value, ast.Name):
            self.fail(f"only a name takes a step, as q[t-1]; allowed: {ALLOWED_SYNTAX}")
        s = n.slice
        offset = None
        if isinstance(s, ast.Name) and s.id == "t":
            offset = 0
        elif isinstance(s, ast.BinOp) and isinstance(s.op, (ast.Add, ast.Sub)) and \
                isinstance(s.left, ast.Name) and s.left.id == "t" and \
                isinstance(s.right, ast.Constant) and type(s.right.value) is int and \
                1 <= s.right.value <= MAX_OFFSET:
            offset = s.right.value if isinstance(s.op, ast.Add) else -s.right.value
        if offset is None:
            far = isinstance(s, ast.BinOp) and isinstance(s.op, (ast.Add, ast.Sub)) and \
                isinstance(s.left, ast.Name) and s.left.id == "t" and \
                isinstance(s.right, ast.Constant) and type(s.right.value) is int and \
                s.right.value > MAX_OFFSET
            if far:
                q = n.value.id
                sign = "-" if isinstance(s.op, ast.Sub) else "+"
                self.fail(f"{q}[t{sign}{s.right.value}]: a step is t, t-1 or t+1; to read {q} "
                          f"further away, add nodes that carry it one step at a time ({q}1 = "
                          f"{q}[t{sign}1], then {q}1[t{sign}1] is {q} at t{sign}2)")
            self.fail("a step is t, t-1 or t+1, as in h[t-1]")
        return self.name(n.value.id, offset)

    def binop(self, n: ast.BinOp, depth: int):
        (a, sa), (b, sb) = self.expr(n.left, depth + 1), self.expr(n.right, depth + 1)
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@"}[type(n.op)]
        if isinstance(n.op, ast.MatMult):
            if sa is None or sb is None:
                self.fail("@ is the matrix product of two matrices or vectors; use * with a "
                          "number")
            if sa[1] != sb[0]:
                self.fail(f"shape mismatch in @: {_shape(sa)} times {_shape(sb)} (the columns "
                          f"of the left must equal the rows of the right)")
            return sp.MatMul(a, b), (sa[0], sb[1])
        if isinstance(n.op, ast.Div):
            if sb is not None or b == 0:
                self.fail("/ divides by a nonzero number only; allowed: vector / number")
            return (a / b if sa is None else (1 / b) * a), sa
        if isinstance(n.op, ast.Mult):
            if sa is None or sb is None:
                return (a * b if sb is None else b * a if sa is None else a * b), sa or sb
            if sa != sb or sa[1] != "1":
                self.fail(f"shape mismatch in * (elementwise): {_shape(sa)} and {_shape(sb)}; "
                          f"* multiplies two vectors of one size (use @ for a matrix product)")
            return sp.HadamardProduct(a, b), sa
        # + and -: a number is that number times the ones vector
        if sa is None and sb is None:
            return (a + b if op == "+" else a - b), None
        shape = sa or sb
        if sa is not None and sb is not None and sa != sb:
            self.fail(f"shape mismatch in {op}: {_shape(sa)} and {_shape(sb)}")
        if shape[1] != "1" and (sa is None or sb is None):
            self.fail(f"a number {op} a matrix is not allowed; a number adds to a vector")
        ones = sp.OneMatrix(DIM_NAMES[shape[0]].symbol, 1)
        a = a * ones if sa is None else a
        b = b * ones if sb is None else b
        b = b if op == "+" else -b
        terms = [u for v in (a, b) for u in (v.args if isinstance(v, sp.MatAdd) else (v,))]
        return sp.MatAdd(*terms), shape  # in the order written, as the book prints a sum

    def call(self, n: ast.Call, depth: int):
        if not isinstance(n.func, ast.Name):
            self.fail(f"only the functions {', '.join(sorted(FUNCTIONS))} and transpose can be "
                      f"called, by name")
        f = n.func.id
        if f not in FUNCTIONS and f != "transpose":
            self.fail(f"unknown function {f!r}; the functions are {CALLABLE}")
        if n.keywords or len(n.args) != 1:
            self.fail(f"{f}(...) takes one argument and no keywords")
        if f == "transpose":
            v, s = self.expr(n.args[0], depth + 1)
            if s is None or not isinstance(v, sp.MatrixSymbol) or v.name not in self.params:
                self.fail("transpose(A) takes a parameter matrix")
            return v.T, (s[1], s[0])
        self.nested += 1
        try:
            if self.nested > MAX_NESTED_FUNCTIONS:
                self.fail(f"more than {MAX_NESTED_FUNCTIONS} functions applied one inside "
                          f"another; give an inner application a node of its own (a = "
                          f"tanh(...), then h = tanh(a)): the exact checks of nested "
                          f"applications grow as 2^depth, a chain of nodes does not")
            v, s = self.expr(n.args[0], depth + 1)
        finally:
            self.nested -= 1
        if s is None or s[1] != "1":
            self.fail(f"{f}(...) applies to a vector, got {_shape(s)}")
        return Apply(PHI if f == PHI else f, v), s
