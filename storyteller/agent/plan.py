"""The planner: premise -> validated StoryPlan -> the Story skeleton (characters, style, outline).

The plan schema is deliberately flat and small: a 0.5B model fills it reliably under a grammar,
and everything richer (slugs, palettes, voices) is derived here, deterministically.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from pydantic import BaseModel, Field, create_model

from storyteller import prompts
from storyteller.agent.structured import generate_structured
from storyteller.backends.base import Completion, LLMBackend
from storyteller.story import Appearance, Character, PageBeat, Story, StyleGuide, slugify


# Lengths are bounded in the schema, so the grammar keeps a rambling model from running a field on
# until the token limit cuts the JSON off.
class PlanCharacter(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    species: str = Field(min_length=1, max_length=30)
    look: str = Field(max_length=80)
    clothing: str = Field(max_length=80)
    colors: list[Annotated[str, Field(max_length=20)]] = Field(min_length=1, max_length=3)
    personality: str = Field(max_length=60)


class PlanPage(BaseModel):
    beat: str = Field(min_length=3, max_length=160)
    scene: str = Field(min_length=2, max_length=80)
    characters: list[str] = Field(max_length=4)


class StoryPlan(BaseModel):
    title: str = Field(min_length=1, max_length=60)
    style_description: str = Field(max_length=160)
    characters: list[PlanCharacter] = Field(min_length=1, max_length=4)
    pages: list[PlanPage]


def plan_model(pages: int) -> type[StoryPlan]:
    """StoryPlan with the page count fixed in the schema, so a grammar enforces it."""
    return create_model(
        "StoryPlan", __base__=StoryPlan, pages=(list[PlanPage], Field(min_length=pages, max_length=pages))
    )


def repair_plan(plan: StoryPlan) -> StoryPlan:
    """Mend what a small model gets wrong in a safe, deterministic way, instead of re-asking
    (which rarely helps: a model that repeats a name tends to repeat it again). A repeated
    character is dropped; a page's reference to a character not in the list is matched to one
    whose name contains it or is contained in it ("the seal" -> "Seal"), else dropped; a character
    the page's beat names (by name or species) is put on that page."""
    unique: dict[str, PlanCharacter] = {}
    for character in plan.characters:
        unique.setdefault(character.name.strip().lower(), character)
    names = list(unique)

    def resolve(reference: str) -> str | None:
        ref = reference.strip().lower()
        if ref in unique:
            return unique[ref].name
        close = [n for n in names if ref and (ref in n or n in ref)]
        return unique[close[0]].name if close else None

    def mentioned(text: str) -> list[str]:
        # "The fox climbs..." puts the fox on stage even when the page's list forgot it.
        words = set(re.findall(r"[a-z]+", text.lower()))
        return [c.name for key, c in unique.items()
                if set(re.findall(r"[a-z]+", key)) <= words or c.species.strip().lower() in words]

    pages = []
    for page in plan.pages:
        resolved = [r for r in (resolve(n) for n in page.characters) if r] + mentioned(page.beat)
        pages.append(page.model_copy(update={"characters": list(dict.fromkeys(resolved))[:4]}))
    return plan.model_copy(update={"characters": list(unique.values()), "pages": pages})


# Palettes for common styles; other styles get a stable palette derived from their name.
STYLE_PALETTES = {
    "watercolor": ["#f4efe6", "#9cc5d9", "#e8a87c", "#c3d9a5", "#6b7fa8", "#d98c8c"],
    "pencil": ["#f7f5f0", "#d9d6cf", "#a8a49b", "#6e6a62", "#3c3a36", "#8c7b6b"],
    "crayon": ["#fff6d9", "#ff6f59", "#ffd23f", "#3bceac", "#0ead69", "#540d6e"],
    "pixel": ["#1a1c2c", "#5d275d", "#b13e53", "#ef7d57", "#ffcd75", "#38b764"],
    "ink": ["#fbfaf7", "#1b1b1b", "#c0392b", "#2c3e50", "#e0c097", "#7f8c8d"],
    "oil": ["#2e2a24", "#8c5a3c", "#d9a05b", "#5b7553", "#3f5f8a", "#e8d5b5"],
    "pastel": ["#fdf6f0", "#f7cac9", "#92a8d1", "#b5e2c5", "#fbe7a1", "#d4b8e0"],
}
_STYLE_ALIASES = {"watercolour": "watercolor", "sketch": "pencil", "pixel art": "pixel", "comic": "ink", "painterly": "oil"}


def palette_for(style: str) -> list[str]:
    key = style.strip().lower()
    for alias, name in _STYLE_ALIASES.items():
        key = key.replace(alias, name)
    for name, palette in STYLE_PALETTES.items():
        if name in key:
            return palette
    digest = hashlib.sha256(key.encode()).digest()
    return [f"#{digest[i]:02x}{digest[i + 1]:02x}{digest[i + 2]:02x}" for i in range(0, 18, 3)]


def make_plan(llm: LLMBackend, premise: str, *, pages: int, style: str, notes: str = "", seed: int | None = None,
              max_attempts: int = 3) -> tuple[StoryPlan, Completion, list[dict]]:
    messages = [
        {"role": "system", "content": prompts.render("plan_system")},
        {"role": "user", "content": prompts.render("plan_user", premise=premise, pages=pages, style=style, notes=notes)},
    ]
    plan, completion, failed = generate_structured(
        llm, messages, plan_model(pages), max_attempts=max_attempts, seed=seed, max_tokens=400 + 130 * pages,
        temperature=0.4,
    )
    return repair_plan(plan), completion, failed


def story_from_plan(plan: StoryPlan, *, premise: str, style: str, seed: int = 0) -> Story:
    characters: list[Character] = []
    slugs: dict[str, str] = {}
    for planned in plan.characters:
        slug = _unique(slugify(planned.name, fallback="character"), set(slugs.values()))
        slugs[planned.name.strip().lower()] = slug
        characters.append(
            Character(
                name=planned.name.strip(),
                slug=slug,
                appearance=Appearance(
                    species=planned.species.strip().lower() or "person",
                    face=planned.look.strip(),
                    clothing="" if planned.clothing.strip().lower() in ("", "none", "nothing") else planned.clothing.strip(),
                    colors=list(dict.fromkeys(c.strip().lower() for c in planned.colors if c.strip())),
                ),
                personality=planned.personality.strip(),
            )
        )
    outline = [
        PageBeat(beat=p.beat.strip(), scene=p.scene.strip(),
                 characters=[slugs[n.strip().lower()] for n in p.characters if n.strip().lower() in slugs])
        for p in plan.pages
    ]
    return Story(
        title=plan.title.strip(),
        premise=premise,
        style=StyleGuide(name=style, description=plan.style_description.strip(), palette=palette_for(style)),
        characters=characters,
        outline=outline,
        seed=seed,
    )


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate = f"{slug}-{n}"
        n += 1
    return candidate
