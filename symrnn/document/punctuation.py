"""Full-width punctuation next to Chinese text (``--lang zh``).

The templates and sentences place ``,`` ``:`` ``.`` ``(`` and so on between pieces that may be
Chinese or not (a title, a verdict, an id, a formula). ``fullwidth`` turns each half-width mark
whose nearest neighbour in the prose (spaces and Markdown's ``*`` skipped) is a CJK character
into its full-width form, a bracket together with its partner, and drops the spaces around it.
Math, code, comments, link targets and labels are left exactly as they are.
"""

from __future__ import annotations

import re

FULL = {",": "，", ":": "：", ";": "；", ".": "。", "?": "？", "!": "！", "(": "（", ")": "）"}
_CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
_MD_PROTECT = re.compile(
    r"```.*?```|<!--.*?-->|<[^>\n]*>|\$`[^`]*`\$|``.*?``|`[^`\n]*`|\$[^$\n]*\$|\]\([^)\n]*\)",
    re.S)
_MATH_ENVS = r"(?:align\*?|aligned|equation\*?|gather\*?|multline\*?|tabular|longtable|array)"
_TEX_PROTECT = re.compile(
    r"%[^\n]*|\\\[.*?\\\]|\\begin\{(" + _MATH_ENVS + r")\}.*?\\end\{\1\}|\$[^$]*\$|"
    r"\\(?:label|pageref|ref|texttt|includegraphics|url|begin|end|usepackage|documentclass)"
    r"(?:\[[^\]]*\])?\{[^{}]*\}|\\[A-Za-z]+|\\.", re.S)
_BASE = 0xF0000  # a private-use plane: one placeholder character per protected span


def _neighbour(text: str, i: int, step: int) -> str:
    """The nearest character on one side that is prose: spaces, ``*`` and formulas (math is
    part of the sentence around it) are skipped."""
    j = i + step
    while 0 <= j < len(text) and (text[j] in " *" or ord(text[j]) >= _BASE):
        j += step
    return text[j] if 0 <= j < len(text) else ""


def fullwidth(text: str, fmt: str = "md") -> str:
    """``text`` (a document in Chinese, ``fmt`` md or tex) with full-width punctuation next to
    CJK characters."""
    spans: list[str] = []

    def hide(m):
        spans.append(m.group(0))
        return chr(_BASE + len(spans) - 1)

    s = list((_TEX_PROTECT if fmt == "tex" else _MD_PROTECT).sub(hide, text))
    pairs, stack = {}, []
    for i, ch in enumerate(s):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            j = stack.pop()
            pairs[i], pairs[j] = j, i
    for _ in range(3):  # a flipped mark can make its neighbour's neighbour Chinese
        for i, ch in enumerate(s):
            if ch not in FULL or not (_CJK.match(_neighbour(s, i, -1))
                                      or _CJK.match(_neighbour(s, i, 1))):
                continue
            if ch == "." and (_neighbour(s, i, 1).isdigit() or _neighbour(s, i, -1) == "."
                              or _neighbour(s, i, 1) == "."):
                continue
            s[i] = FULL[ch]
            if i in pairs and s[pairs[i]] in FULL:
                s[pairs[i]] = FULL[s[pairs[i]]]
    out = "".join(s)
    out = re.sub(r"[ \t]*([，：；。？！（）])[ \t]*", r"\1", out)
    return re.sub(r"[\U000F0000-\U000FFFFD]", lambda m: spans[ord(m.group(0)) - _BASE], out)
