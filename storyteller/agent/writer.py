"""The writer: one page of text from the plan, the pages so far and the character sheets."""

from __future__ import annotations

import re
from collections.abc import Callable

from storyteller import prompts
from storyteller.backends.base import LLMBackend
from storyteller.story import Provenance, Story

WORDS_PER_PAGE = 70
# "Page 3:", "Page 3 of 6 -", "**Page 3**", "p3 (summary):": labels a small model copies from its prompt.
_PREAMBLE = re.compile(r"^\s*(\*\*)?(page\s*|p)\d+(\s*of\s*\d+)?(\s*\(summary\))?(\*\*)?\s*[:.\-–]*\s*", re.I)
_SENTENCE = re.compile(r"[^.!?]+[.!?]+[\"'”’)]*|[^.!?]+$")
MAX_SENTENCES = 5
# Where a small model starts echoing its prompt instead of writing the page: cut there.
_ECHO = re.compile(r"\b(now write page|what happens:|where:|page \d+ of \d+|page \d+( \(summary\))?:|the reader asks)", re.I)


def character_line(story: Story, slug: str) -> str:
    c = story.character(slug)
    look = c.appearance.describe()
    return f"{c.name}: {look}" + (f"; {c.personality}" if c.personality else "")


def _key(sentence: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", sentence.lower()).strip()


def sentences(text: str) -> list[str]:
    """The sentences of a text that have at least one letter or digit (a lone quote is not one)."""
    return [m.group(0).strip() for m in _SENTENCE.finditer(text) if re.search(r"[^\W_]", m.group(0))]


def clean_page_text(text: str, earlier: list[str] = ()) -> str:
    """Strip what small models add around a page (labels copied from the prompt), drop sentences
    they repeat, within the page or from the `earlier` pages (a 0.5B model falls into loops and
    copies the story so far from its prompt), keep at most MAX_SENTENCES, and cut a sentence the
    token limit broke off, so a page never ends mid-word."""
    text = re.sub(r"\s+", " ", text.strip())
    text = _PREAMBLE.sub("", text).strip().strip('"').strip()
    echo = _ECHO.search(text)
    if echo:
        text = text[: echo.start()].strip()
    kept: list[str] = []
    seen = {_key(s) for page in earlier for s in sentences(page)}
    for sentence in sentences(text):
        if _key(sentence) not in seen:
            seen.add(_key(sentence))
            kept.append(sentence)
    if len(kept) > 1 and kept[-1][-1] not in ".!?\"'”’)":
        kept.pop()  # broken off by the token limit
    if len(kept) == 1 and kept[0][-1] not in ".!?\"'”’)" and len(kept[0].split()) > WORDS_PER_PAGE * 1.3:
        # One sentence that never ends until the token limit cut it ("and then ... and then ..."):
        # a model running on, not a page. Nothing usable: the writer asks again, then falls back.
        return ""
    kept = kept[:MAX_SENTENCES]
    while len(kept) > 2 and len(" ".join(kept).split()) > WORDS_PER_PAGE * 1.3:
        kept.pop()
    return " ".join(kept)


def write_page(
    llm: LLMBackend,
    story: Story,
    number: int,
    *,
    context: str = "",
    direction: str = "",
    seed: int | None = None,
    on_text: Callable[[str], None] | None = None,
) -> tuple[str, Provenance]:
    beat = story.outline[number - 1]
    messages = [
        {"role": "system", "content": prompts.render("page_system")},
        {
            "role": "user",
            "content": prompts.render(
                "page_user", title=story.title, premise=story.premise,
                characters=[character_line(story, c.slug) for c in story.characters],
                context=context, number=number, total=len(story.outline), beat=beat.beat,
                scene=beat.scene, direction=direction, words=WORDS_PER_PAGE,
            ),
        },
    ]
    earlier = [p.text for p in story.pages if p.number < number]
    for attempt in range(2):
        # A second try, hotter and with another seed, when everything the model wrote was a copy.
        completion = llm.complete(messages, max_tokens=int(WORDS_PER_PAGE * 2.2), temperature=0.7 + 0.3 * attempt,
                                  seed=None if seed is None else seed + 7919 * attempt, on_text=on_text)
        text = clean_page_text(completion.text, earlier)
        if text:
            return text, completion.provenance
    # Nothing new twice: the beat itself is an honest page rather than an empty one, and
    # provenance says so.
    completion.provenance.parameters["fallback"] = "no new text from the model: page text is the plan's beat"
    return beat.beat, completion.provenance
