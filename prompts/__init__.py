"""Named prompt templates, shipped as package data (`storyteller.prompts`).

Templates are Jinja2 files next to this module (English), and in a folder per other language
(`zh/`). They are rendered with autoescape off (they are
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


def render(name: str, *, language: str = "en", **variables) -> str:
    """Render prompt `name` in `language`: `prompts/<language>/<name>.jinja` where the language
    has its own (Chinese prompts are written in Chinese: a small model answers in the language it
    is asked in), else `prompts/<name>.jinja`."""
    own = f"{language}/{name}"
    chosen = own if language != "en" and files(__name__).joinpath(f"{own}.jinja").is_file() else name
    return _environment().get_template(chosen).render(**variables).strip()


def names() -> list[str]:
    return sorted(p.name.removesuffix(".jinja") for p in files(__name__).iterdir() if p.name.endswith(".jinja"))
