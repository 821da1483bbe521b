"""Named prompt templates, shipped as package data (`storyteller.prompts`).

Templates are Jinja2 files next to this module. They are rendered with autoescape off (they are
prompts, not HTML) and StrictUndefined, so a missing variable is an error rather than an empty
hole in a prompt.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: files(__name__).joinpath(f"{name}.jinja").read_text("utf-8")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(name: str, **variables) -> str:
    """Render prompt `name` (file `prompts/<name>.jinja`)."""
    return _environment().get_template(name).render(**variables).strip()


def names() -> list[str]:
    return sorted(p.name.removesuffix(".jinja") for p in files(__name__).iterdir() if p.name.endswith(".jinja"))
