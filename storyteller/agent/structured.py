"""LLM output as a validated pydantic object (the instructor pattern, backend-agnostic).

Where the backend can constrain decoding to a JSON schema (llama.cpp grammars, some servers), the
schema goes to the model; either way the answer is validated, and on a validation error the model
is re-asked with the error a bounded number of times. After the bound, StructuredOutputError
carries every attempt so a user (or a bug report) can see what the model said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from storyteller import prompts
from storyteller.backends.base import Completion, LLMBackend, extract_json
from storyteller.errors import StructuredOutputError
from storyteller.events import PlanRetry, emit

M = TypeVar("M", bound=BaseModel)

# What a small model leaves of the JSON around a string inside it: `Hello!'}` (a Python dict's
# quote and brace), `"]`. Braces never end a spoken line, so they and a quote before them go.
_RESIDUE = re.compile(r"""\s*'?\s*[{}\[\]][\s'"{}\[\],]*$""")


def strip_json_residue(text: str) -> str:
    """`text` without JSON syntax left at its end."""
    return _RESIDUE.sub("", text).rstrip()


def generate_structured(
    llm: LLMBackend,
    messages: list[dict[str, str]],
    model: type[M],
    *,
    max_attempts: int = 3,
    seed: int | None = None,
    temperature: float = 0.7,
    max_tokens: int = 1200,
    check: Callable[[M], list[str]] | None = None,
    on_text: Callable[[str], None] | None = None,
) -> tuple[M, Completion, list[dict]]:
    """Return (object, the completion that produced it, failed attempts before it).

    `on_text`: every generated delta (a caller that may cancel checks here).
    `check`: what the schema cannot say (two characters with one name, a clone of the hero):
    a list of problems, re-asked like validation errors. When the attempts run out with only
    such problems left, the last object is returned, and its problems are the last entry of the
    failed attempts (the kept one marked "kept": True), for the caller to repair and record; an
    answer that never validates raises StructuredOutputError with every attempt.
    """
    schema = model.model_json_schema()
    first = list(messages)
    if not llm.supports_json_schema:
        # Without grammar decoding the schema is all the model knows of the format: it stays in
        # the conversation on every re-ask.
        first[-1] = {
            "role": first[-1]["role"],
            "content": first[-1]["content"] + "\n\nJSON schema of the answer:\n" + json.dumps(schema),
        }
    conversation = list(first)
    attempts: list[dict] = []
    flawed: tuple[M, Completion, int] | None = None
    for attempt in range(1, max_attempts + 1):
        completion = llm.complete(
            conversation,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=None if seed is None else seed + attempt - 1,
            json_schema=schema if llm.supports_json_schema else None,
            on_text=on_text,
        )
        try:
            value = model.model_validate_json(extract_json(completion.text))
        except (ValidationError, ValueError) as exc:
            error = _short_error(exc)
        else:
            problems = check(value) if check is not None else []
            if not problems:
                return value, completion, attempts
            error = "; ".join(problems)
            flawed = (value, completion, len(attempts))  # the latest answer that only fails the check
        attempts.append({"attempt": attempt, "output": completion.text[:4000], "error": error})
        emit(PlanRetry(attempt=attempt, error=error))
        conversation = [
            *first,
            {"role": "assistant", "content": completion.text[:4000]},
            {"role": "user", "content": prompts.render("reask", error=error)},
        ]
    if flawed is not None:
        attempts[flawed[2]]["kept"] = True
        return flawed[0], flawed[1], attempts
    raise StructuredOutputError(
        f"the {llm.name} model gave no valid {model.__name__} in {max_attempts} attempts "
        f"(last error: {attempts[-1]['error']})",
        attempts=attempts,
        fix="try again with another --seed, or configure a larger LLM (see README, 'Real models')",
    )


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}" for e in exc.errors()[:6]]
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return str(exc)
