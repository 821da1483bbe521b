"""LLM output as a validated pydantic object (the instructor pattern, backend-agnostic).

Where the backend can constrain decoding to a JSON schema (llama.cpp grammars, some servers), the
schema goes to the model; either way the answer is validated, and on a validation error the model
is re-asked with the error a bounded number of times. After the bound, StructuredOutputError
carries every attempt so a user (or a bug report) can see what the model said.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from storyteller import prompts
from storyteller.backends.base import Completion, LLMBackend
from storyteller.errors import StructuredOutputError
from storyteller.events import PlanRetry, emit

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def extract_json(text: str) -> str:
    """The JSON object in a reply that may wrap it in prose or a ``` fence."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    end = text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("no JSON object in the reply")
    return text[start : end + 1]


def generate_structured(
    llm: LLMBackend,
    messages: list[dict[str, str]],
    model: type[M],
    *,
    max_attempts: int = 3,
    seed: int | None = None,
    temperature: float = 0.7,
    max_tokens: int = 1200,
) -> tuple[M, Completion, list[dict]]:
    """Return (object, the completion that produced it, failed attempts before it)."""
    schema = model.model_json_schema()
    conversation = list(messages)
    if not llm.supports_json_schema:
        conversation[-1] = {
            "role": conversation[-1]["role"],
            "content": conversation[-1]["content"] + "\n\nJSON schema of the answer:\n" + json.dumps(schema),
        }
    attempts: list[dict] = []
    for attempt in range(1, max_attempts + 1):
        completion = llm.complete(
            conversation,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=None if seed is None else seed + attempt - 1,
            json_schema=schema if llm.supports_json_schema else None,
        )
        try:
            return model.model_validate_json(extract_json(completion.text)), completion, attempts
        except (ValidationError, ValueError) as exc:
            error = _short_error(exc)
            attempts.append({"attempt": attempt, "output": completion.text[:4000], "error": error})
            emit(PlanRetry(attempt=attempt, error=error))
            conversation = [
                *messages,
                {"role": "assistant", "content": completion.text[:4000]},
                {"role": "user", "content": prompts.render("reask", error=error)},
            ]
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
