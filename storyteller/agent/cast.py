"""Characters who join a story after its plan: the reader's direction, their photo or the
continuation's beat brings in someone new ("a cat comes out of the snow").

    kinds = arrivals(story, "A grey cat comes out of the snow")   # ["cat"]
    character, record = newcomer_sheet(llm, story, "cat", words, seed=...)

Two stages, the orchestrator's and the model's:
1. **Who arrives** is read off the words deterministically: a creature or person word (the kinds
   the illustrators know, English or Chinese through the glossary) that no cast member is, or one
   the words call "another"/"a second"/"new". Things ("a lantern"), the cast's own kinds ("the
   bear laughs") and names already in the cast bring in no one, and no model call is made.
2. **Their sheet** is one LLM call under the grammar, the kind fixed to the word found: a name
   (the reader's, when the words give one: "a cat called Tom"), look, clothing, colours,
   personality and role. A name the cast already has is repaired and recorded.

The run (StoryRun.add_character) then gives them a voice, memory entries and a sheet picture, and
puts them on the page, so the consistency gate covers them from then on.
"""

from __future__ import annotations

import functools
import re

from storyteller import prompts
from storyteller.agent.plan import CAST_ROLES, CastMember, character_from
from storyteller.agent.structured import generate_structured
from storyteller.backends.base import LLMBackend
from storyteller.languages import gloss
from storyteller.memory import prose
from storyteller.story import Character, Story

MAX_NEWCOMERS = 2  # a page with more new faces than that reads as a crowd, and each costs a sheet
# Words that make a kind the cast already has a new character ("another fox").
_ANOTHER = re.compile(r"\b(another|a second|a new|other|one more)\s+(?:\w+\s+){0,2}$", re.I)
_NAMED = re.compile(r"\b(?:named|called)\s+([A-Z][\w'-]{1,23})")


@functools.cache
def creature_words() -> dict[str, str]:
    """Word -> kind, for creatures and people: the kinds the illustrators can draw (the storyboard's
    vocabulary is the fullest list of them we have), without its things and vehicles."""
    from storyteller.backends.storyboard.beasts import BEASTS
    from storyteller.backends.storyboard.creatures import SPECIAL_KINDS
    from storyteller.backends.storyboard.figures import ALIASES
    from storyteller.backends.storyboard.people import PERSON_WORDS

    things = {"cloud", "kite", "bus", "blob"}
    kinds = {w: w for w in [*BEASTS, *SPECIAL_KINDS] if w not in things}
    kinds.update({w: w for w in PERSON_WORDS if w not in ("people", "friend", "person", "human", "adult")})
    kinds.update({w: k for w, k in ALIASES.items() if k in kinds})
    kinds.update({"ghost": "ghost", "monster": "monster", "fairy": "fairy", "witch": "witch", "wizard": "wizard"})
    return kinds


def _cast_kinds(story: Story) -> set[str]:
    words = creature_words()
    found = set()
    for c in story.characters:
        for w in prose.words(gloss(c.appearance.species)) + [c.name.lower()]:
            found.add(words.get(prose.singular(w), prose.singular(w)))
    return found


def arrivals(story: Story, text: str) -> list[str]:
    """The kinds of newcomer the words bring in, in their order, at most MAX_NEWCOMERS."""
    words = creature_words()
    names = {n.lower() for c in story.characters for n in (c.name, *c.aliases)}
    have = _cast_kinds(story)
    glossed = gloss(text)
    found: list[str] = []
    tokens = list(re.finditer(r"[A-Za-z]+", glossed))
    for i, match in enumerate(tokens):
        word = match.group(0).lower()
        kind = words.get(word) or words.get(prose.singular(word))
        if kind is None or word in names or kind in found:
            continue
        after = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else ""
        if after in words or prose.singular(after) in words:
            continue  # a modifier: the kind is the noun after it ("an old sailor", "a baby owl")
        if kind in have and not _ANOTHER.search(glossed[:match.start()]):
            continue
        found.append(kind)
    return found[:MAX_NEWCOMERS]


def newcomer_sheet(llm: LLMBackend, story: Story, kind: str, words: str, *, seed: int) -> tuple[Character, dict]:
    """The sheet of the `kind` the words bring in (one grammar-constrained call), and its record."""
    from typing import Literal

    from pydantic import create_model

    model = create_model("Newcomer", __base__=CastMember, kind=(Literal[(kind,)], ...))  # type: ignore[valid-type]
    cast = [f"{c.name} ({c.appearance.species})" for c in story.characters]
    messages = [
        {"role": "system", "content": prompts.render("bible_system", language=story.language)},
        {"role": "user", "content": prompts.render("newcomer_user", language=story.language, title=story.title,
                                                   cast=cast, words=words, kind=kind, roles=CAST_ROLES)},
    ]
    def problems(member) -> list[str]:
        return [f"the name {member.name} is taken: give the {kind} a name of their own"] if story.called(member.name) else []

    member, completion, failed = generate_structured(llm, messages, model, max_attempts=2, seed=seed, temperature=0.5,
                                                     max_tokens=200, check=problems)
    repairs = []
    given = _NAMED.search(words)
    if given and not story.called(given.group(1)) and member.name != given.group(1):
        repairs.append(f"name {member.name} -> {given.group(1)}: the reader's words name them")
        member = member.model_copy(update={"name": given.group(1)})
    elif story.called(member.name):
        fixed = f"{member.name.strip()} the {kind}"
        repairs.append(f"name {member.name} -> {fixed}: the cast has a {member.name}")
        member = member.model_copy(update={"name": fixed})
    character = character_from(member, member.role, {c.slug for c in story.characters})
    record = {"kind": kind, "name": character.name, "failed_attempts": failed, "repairs": repairs,
              "provenance": completion.provenance.model_dump(mode="json", exclude={"prompt"}, exclude_none=True)}
    return character, record
