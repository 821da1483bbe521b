"""Short forms of old pages, so a long story still fits the writer's context.

The default is extractive (the page's own first sentences, cut at a word boundary) and is labelled
as such wherever it is shown; an abstractive summariser (an LLM call) can be passed to `Memory`
instead as any `Callable[[str], str]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

Summariser = Callable[[str], str]
TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")


def approx_tokens(text: str) -> int:
    """About four characters per token for English BPE vocabularies: an estimate, not a tokenizer."""
    return math.ceil(len(text) / 4)


def extractive_summary(text: str, max_chars: int = 160) -> str:
    """The first sentence(s) of `text` that fit in `max_chars`; a long first sentence is cut with '…'."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    summary = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > max_chars:
            break
        summary = candidate
    if not summary:  # the first sentence alone is too long: cut it at a word boundary
        summary = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return summary


extractive_summary.label = "extractive: first sentences"  # type: ignore[attr-defined]


def summariser_label(summarise: Summariser) -> str:
    return getattr(summarise, "label", None) or getattr(summarise, "__name__", None) or type(summarise).__name__
