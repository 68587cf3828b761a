"""The Jinja2 environment shared by the emitters (SymForce's settings: strict and tidy).

Templates live in the top-level ``templates/`` folder, installed as the package data
``symrnn.templates``; they hold file structure only, never math.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import jinja2


def template_dir() -> Path:
    """``templates/`` of a source checkout, else the installed ``symrnn.templates``."""
    here = Path(__file__).resolve().parent.parent / "templates"
    if here.is_dir():
        return here
    return Path(str(resources.files("symrnn.templates")))


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name: str, **context) -> str:
    """Render ``templates/<name>`` with ``context``."""
    return environment().get_template(name).render(**context)
