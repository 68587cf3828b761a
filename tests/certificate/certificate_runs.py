"""Certificate runs shared by the certificate tests, each computed once per session."""

from __future__ import annotations

import contextlib
import functools
import io
import json


@functools.lru_cache(maxsize=None)
def _verify_json(argv: tuple[str, ...]) -> tuple[int, str]:
    from symrnn.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["verify", *argv, "--json", "--quiet"])
    return rc, out.getvalue()


def verify_json(*argv: str) -> tuple[int, dict]:
    """``symrnn verify ARGV --json`` in this process: (exit code, the parsed JSON; a fresh
    copy each call)."""
    rc, text = _verify_json(tuple(argv))
    doc = json.loads(text)  # the one JSON shape of every command (README, "JSON output")
    assert (doc["schema_version"], doc["command"], doc["ok"]) == (1, "verify", rc == 0)
    return rc, doc["certificate"]


def sigmoid_json() -> tuple[int, dict]:
    """``symrnn verify --activation sigmoid --json`` (the note's sizes, tau 3)."""
    return verify_json("--activation", "sigmoid")


def without_seconds(data):
    """The JSON with every "seconds" (wall-clock time) removed, at any depth."""
    if isinstance(data, dict):
        return {k: without_seconds(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [without_seconds(v) for v in data]
    return data


def by_id(entries) -> dict:
    """Entries (objects or JSON dicts) by id."""
    return {(e["id"] if isinstance(e, dict) else e.id): e for e in entries}
