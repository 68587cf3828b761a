"""One sanitizer per target language, for every text that reaches a generated file from
outside the model definitions (the regenerate command with its paths, a caller's ``command``).

Each returns text that stays inside the construct it is written into:

- ``python_comment``: one ``#`` comment line (no line break of any kind, no NUL, nothing
  that is not UTF-8: a path from a non-UTF-8 file system is written with backslash escapes).
- ``python_docstring``: the inside of a ``\"\"\"`` string (no closing quotes, no backslash
  escapes that Python would act on).
- ``latex_comment``: one ``%`` comment line.
- ``html_comment``: the inside of an HTML comment ``<!-- ... -->`` in Markdown: one line and
  nothing that closes it (``-->``, ``--!>``) or opens another (``<!--``).

The emitters (``symrnn.backends.numpy``, ``symrnn.document``) apply them, so the Python API is
as safe as the CLI.
"""

from __future__ import annotations

import re

#: Characters that end a line for Python, an editor or ``str.splitlines``, and every other
#: control character (C0, DEL, C1).
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text) -> str:
    text = str(text)
    # a surrogate (undecodable byte of a file name) cannot be written as UTF-8: escape it
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _BREAKS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def python_comment(text) -> str:
    """``text`` as the rest of one ``#`` comment line."""
    return _one_line(text)


def python_docstring(text) -> str:
    """``text`` inside a triple-double-quoted (non-raw) docstring; line breaks kept."""
    lines = [_one_line(line) for line in str(text).split("\n")]
    body = "\n".join(lines).replace("\\", "\\\\")
    return body.replace('"""', '\\"\\"\\"')


def latex_comment(text) -> str:
    """``text`` as the rest of one ``%`` comment line."""
    return _one_line(text)


def html_comment(text) -> str:
    """``text`` inside ``<!-- `` and `` -->`` (one line, nothing that ends or opens a
    comment)."""
    text = _one_line(text)
    for bad, good in (("<!--", "< !--"), ("--!>", "- -!>"), ("-->", "- ->")):
        while bad in text:
            text = text.replace(bad, good)
    return text


__all__ = ["python_comment", "python_docstring", "latex_comment", "html_comment"]
