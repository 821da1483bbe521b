"""The planner, in stages: premise -> story bible -> arc -> beats -> the Story skeleton.

A 0.5B-1.5B model asked for a whole plan at once writes the premise six times with three clones
of its hero. Asked one small, constrained question at a time, with what was decided before in
view, it writes a story with a shape:

1. **Bible** (one call under the grammar): title, the protagonist (whose kind is chosen from
   the premise's own words, so "a fox" gives a fox), what they want, what stands in the way, the
   setting, and a supporting cast. A cast member of the hero's kind (unless the premise names
   several: "two sisters"), a name used twice or two members of one kind or role is re-asked with
   the problem; whatever is left after the bound is repaired deterministically and recorded.
2. **Arc** (storyteller.agent.arc): each page's stage, from the page count alone.
3. **Beats** (one call per page, under the grammar, written just before the page: the first page
   does not wait for the last beat): the bible, the arc and every earlier beat in view, the
   page's stage guidance and opening words, the cast's names as a closed list. A beat that is a near copy
   of an earlier one (text-embedder cosine, else shared content words; the same measure as
   `storyteller eval`) is re-asked a bounded number of times; every attempt and its similarity go
   into the plan's provenance.

Everything richer (slugs, palettes, voices) is derived here, deterministically. Any LLM backend
runs the same stages: with a big served model they make its stories better too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from storyteller import languages, prompts
from storyteller.agent import arc as arcs
from storyteller.agent.structured import generate_structured
from storyteller.backends.base import LLMBackend
from storyteller.events import PlanProgress, emit
from storyteller.memory import prose
from storyteller.memory.eval import BEAT_COPY_COSINE, BEAT_COPY_JACCARD
from storyteller.story import CAST_ROLES, Appearance, Bible, Character, PageBeat, Provenance, Story, StyleGuide, slugify

MAX_CAST = 3
# One re-ask: measured on the shared premises, a second one rarely found a beat further away and
# cost a call of its own each time.
BEAT_ATTEMPTS = 2


# Lengths are bounded in the schemas, so the grammar keeps a rambling model from running a field
# on until the token limit cuts the JSON off; field order is generation order.
class Hero(BaseModel):
    name: str = Field(min_length=1, max_length=24)
    kind: str = Field(min_length=1, max_length=30)
    look: str = Field(max_length=50)
    clothing: str = Field(max_length=40)
    colors: list[Annotated[str, Field(max_length=16)]] = Field(min_length=1, max_length=3)
    personality: str = Field(max_length=40)


class CastMember(Hero):
    role: Literal[CAST_ROLES]  # type: ignore[valid-type]


class StoryBible(BaseModel):
    title: str = Field(min_length=1, max_length=60)
    protagonist: Hero
    want: str = Field(min_length=3, max_length=90)
    obstacle: str = Field(min_length=3, max_length=90)
    setting: str = Field(min_length=3, max_length=60)
    cast: list[CastMember] = Field(min_length=1, max_length=MAX_CAST)
    style_description: str = Field(max_length=110)


def bible_model(kinds: list[str]) -> type[StoryBible]:
    """The bible schema with the protagonist's kind closed to the premise's own words, when the
    premise names any: the grammar cannot then turn "a fox" into a boy."""
    if not kinds:
        return StoryBible
    hero = create_model("Hero", __base__=Hero, kind=(Literal[tuple(kinds)], ...))  # type: ignore[valid-type]
    return create_model("StoryBible", __base__=StoryBible, protagonist=(hero, ...))


def kind_options(premise: str) -> list[str]:
    """The premise's subject words, and each run of them as a compound ("lighthouse keeper")."""
    kinds = prose.premise_kinds(premise)
    options = list(kinds)
    for i in range(len(kinds) - 1):
        phrase = f"{kinds[i]} {kinds[i + 1]}"
        if phrase in " ".join(prose.words(premise)) or f"{kinds[i]} {kinds[i + 1]}s" in premise.lower():
            options.append(phrase)
    return list(dict.fromkeys(options))


def several_allowed(premise: str, kind: str) -> bool:
    """Whether the premise names more than one of the hero's kind ("Two sisters", "a family of
    hedgehogs", "three friends"): then a cast member may share it."""
    plural = re.search(rf"\b(two|three|four|five|family|group|pair|band|team|crew|couple)\b.*\b{re.escape(kind)}", premise, re.I)
    return bool(plural) or any(w != prose.singular(w) and prose.singular(w) == kind for w in prose.words(premise))


# Kinds too vague to draw or to tell apart ("a thing", "an animal").
VAGUE_KINDS = {"animal", "thing", "creature", "character", "object", "being", "friend", "helper", "other", "someone",
               "动物", "东西", "生物", "角色", "物体", "朋友", "人物", "帮手", "其他", "某人"}


def _vague(member: Hero) -> list[str]:
    """A kind too vague to picture or to tell apart from the others ("a thing")."""
    kind_words = {prose.singular(w) for w in prose.words(member.kind)}
    if kind_words and kind_words <= VAGUE_KINDS:
        return [f'{member.name}\'s kind "{member.kind}" is too vague: say which person, animal or thing']
    return []


def bible_problems(bible: StoryBible, premise: str) -> list[str]:
    """What makes a cast a bad one: names used twice, clones of the hero, two members alike,
    kinds too vague to picture. (A name that is its kind, Owl the owl, is a picture-book habit,
    not a fault.)"""
    problems: list[str] = _vague(bible.protagonist)
    hero = bible.protagonist
    hero_kind = prose.singular(hero.kind.lower().split()[-1])
    seen_names = {hero.name.strip().lower()}
    kinds: dict[str, str] = {}
    roles: dict[str, str] = {}
    for member in bible.cast:
        name, kind = member.name.strip().lower(), prose.singular(member.kind.strip().lower().split()[-1] if member.kind.strip() else "")
        problems += _vague(member)
        if name in seen_names:
            problems.append(f"the name {member.name} is used twice: give every character a name of their own")
        seen_names.add(name)
        if kind == hero_kind and not several_allowed(premise, hero_kind):
            problems.append(f"cast member {member.name} is a {member.kind} like {hero.name}: the cast must be other "
                            f"kinds than the {hero.kind}")
        elif kind in kinds:
            problems.append(f"{member.name} and {kinds[kind]} are both a {member.kind}: make them different kinds")
        kinds.setdefault(kind, member.name)
        if member.role in roles:
            problems.append(f"{member.name} and {roles[member.role]} both have the role {member.role}: give each a different role")
        roles.setdefault(member.role, member.name)
    wanted = _how_many(premise, hero_kind)
    alike = 1 + sum(prose.singular((m.kind.strip().lower().split() or [""])[-1]) == hero_kind for m in bible.cast)
    if wanted > alike:
        problems.append(f"the premise names {wanted} of the {hero.kind}'s kind, the cast has {alike}: add the other "
                        f"{hero.kind}{'s' if wanted - alike > 1 else ''}, with names of their own")
    return problems


_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "twin": 2, "twins": 2, "pair": 2, "couple": 2}


def _how_many(premise: str, kind: str) -> int:
    """How many of `kind` the premise names ("Two sisters" -> 2), else 1."""
    found = re.search(rf"\b(two|three|four|five|twin|twins|pair|couple)\b(?:\s+(?:of\s+)?[\w-]+){{0,2}}?\s+{re.escape(kind)}s?\b",
                      premise, re.I)
    return _COUNTS[found.group(1).lower()] if found else 1


def repair_bible(bible: StoryBible, premise: str) -> tuple[StoryBible, list[str]]:
    """Mend what re-asking did not: cast members that repeat a name, clone the hero (or an
    earlier member) or are too vague to draw are dropped; repeated roles get unused ones.
    Returns the bible and what was done."""
    done: list[str] = []
    hero = bible.protagonist
    hero_kind = prose.singular(hero.kind.lower().split()[-1])
    names, kinds, cast = {hero.name.strip().lower()}, set(), []
    for member in bible.cast:
        named = _named_creature(member)
        if named:  # "Snowman", a human: the name says what the picture must show
            done.append(f"{member.name}'s kind {member.kind} -> {named}: the name says so")
            member = member.model_copy(update={"kind": named})
        name, kind = member.name.strip().lower(), prose.singular((member.kind.strip().lower().split() or [""])[-1])
        if name in names:
            if kind not in VAGUE_KINDS and kind not in kinds and (kind != hero_kind or several_allowed(premise, hero_kind)):
                # A member the story needs (the other sister) under a taken name: a name of its own.
                fresh = _spare_name(premise, names, cjk=prose.is_cjk(premise))
                done.append(f"{member.name} (a second one) -> {fresh}: the name was taken")
                member = member.model_copy(update={"name": fresh})
                name = fresh.lower()
            else:
                done.append(f"dropped {member.name}: the name is taken")
                continue
        if (kind == hero_kind and not several_allowed(premise, hero_kind)) or kind in kinds:
            done.append(f"dropped {member.name}: a second {member.kind}")
            continue
        if kind in VAGUE_KINDS:
            done.append(f"dropped {member.name}: {member.kind!r} is too vague to picture")
            continue
        names.add(name)
        kinds.add(kind)
        cast.append(member)
    used: set[str] = set()
    for i, member in enumerate(cast):
        if member.role in used:
            role = next(r for r in CAST_ROLES if r not in used)
            done.append(f"{member.name}'s role {member.role} -> {role}: each role once")
            cast[i] = member.model_copy(update={"role": role})
        used.add(cast[i].role)
    return bible.model_copy(update={"cast": cast}), done


# Names for a cast member whose own was taken, picked by the premise (the same story, the same name).
SPARE_NAMES = ("Mia", "Sam", "Rosa", "Ben", "Ivy", "Leo", "Nora", "Max", "Ada", "Finn", "Luna", "Theo")
SPARE_NAMES_ZH = ("小美", "阿明", "豆豆", "乐乐", "花花", "小宝", "圆圆", "星星")


def _spare_name(premise: str, taken: set[str], *, cjk: bool) -> str:
    names = SPARE_NAMES_ZH if cjk else SPARE_NAMES
    start = int(hashlib.sha256(premise.encode()).hexdigest(), 16) % len(names)
    return next(n for n in names[start:] + names[:start] if n.lower() not in taken)


# Kinds that say only "a person": a member named for an animal or a creature is that instead.
PERSON_KINDS = {"human", "person", "man", "woman", "people", "人", "人类"}


def _named_creature(member: Hero) -> str | None:
    """The animal or creature a cast member's name is (Snowman, Mr Owl) when their kind only says
    "a person"; None otherwise (a person named for a trade or a title stays a person)."""
    from storyteller.agent.cast import creature_words
    from storyteller.backends.storyboard.people import PERSON_WORDS

    if prose.singular(member.kind.strip().lower()) not in PERSON_KINDS:
        return None
    words = creature_words()
    for word in prose.words(languages.gloss(member.name)):
        kind = words.get(prose.singular(word))
        if kind and kind not in PERSON_WORDS:
            return kind
    return None


def make_bible(llm: LLMBackend, premise: str, *, pages: int, style: str, notes: str = "", seed: int | None = None,
               max_attempts: int = 3, language: str = "en"):
    kinds = kind_options(premise)
    messages = [
        {"role": "system", "content": prompts.render("bible_system", language=language)},
        {"role": "user", "content": prompts.render("bible_user", language=language, premise=premise, pages=pages,
                                                   style=style, notes=notes, kinds=kinds,
                                                   max_cast=min(MAX_CAST, max(1, pages - 1)))},
    ]
    bible, completion, failed = generate_structured(
        llm, messages, bible_model(kinds), max_attempts=max_attempts, seed=seed, temperature=0.5, max_tokens=520,
        check=lambda b: bible_problems(b, premise),
    )
    bible, repairs = repair_bible(bible, premise)
    return bible, completion, failed, repairs


# -- beats --------------------------------------------------------------------------------------
def beat_model(names: list[str], opener: str | None = None, *, grammar: bool = True) -> type[BaseModel]:
    """One page's beat; who is on the page is a closed list of the cast's names. With `opener`
    and a backend that decodes under a grammar, the beat must start with those words (a pattern
    in the schema; without a grammar the prompt asks for them and nothing is enforced)."""
    beat = Field(min_length=10, max_length=170)
    if opener and grammar:
        # No quote or backslash inside: the pattern becomes grammar rules for a JSON string.
        # Only regex operators are escaped: llama.cpp's pattern-to-grammar reads "\ " as an error.
        literal = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", opener)
        if prose.is_cjk(opener):
            # Chinese: no space after 有一天，and no Latin letters (a small model slips into English).
            beat = Field(pattern="^" + literal + r"[^\"\\\nA-Za-z ]{8,150}$")
        else:
            beat = Field(pattern="^" + literal + r" [^\"\\\n]{8,150}$")
    return create_model(
        "PageBeat",
        beat=(str, beat),
        scene=(str, Field(min_length=2, max_length=60)),
        characters=(list[Literal[tuple(names)]], Field(min_length=1, max_length=4)),  # type: ignore[valid-type]
    )


def tidy_beat(text: str) -> str:
    """A beat as one clean sentence: the grammar's length bound can cut one mid-word ("he can"),
    so a beat is cut back to its last full sentence when one is left, and ends with a stop."""
    text = re.sub(r"\s+", " ", text).strip().strip("\\").strip()
    if prose.is_cjk(text):  # Chinese: no spaces between its words, and its own full stop
        text = re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", text)
        if text and text[-1] not in "。！？":
            cut = max(text.rfind("。"), text.rfind("！"), text.rfind("？"))
            text = text[: cut + 1] if cut > 8 else text.rstrip("，,;；:： .") + "。"
        return text
    if text and text[-1] not in ".!?":
        cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        text = text[: cut + 1] if cut > 20 else text.rstrip(",;:- ") + "."
    return text


@dataclass
class Novelty:
    """How close a beat is to the earlier ones, by the text embedder when there is one."""

    text_embedder: Any = None
    _vectors: list = field(default_factory=list)
    _words: list[set[str]] = field(default_factory=list)

    @property
    def measure(self) -> str:
        return "text embedder cosine" if self.text_embedder is not None else "content-word overlap"

    @property
    def threshold(self) -> float:
        return BEAT_COPY_COSINE if self.text_embedder is not None else BEAT_COPY_JACCARD

    def closest(self, beat: str) -> tuple[int | None, float]:
        """(1-based index of the most similar earlier beat, its similarity)."""
        if self.text_embedder is not None:
            import numpy as np

            vector = np.asarray(self.text_embedder.embed([beat]), np.float32)[0]
            scores = [float(vector @ v) for v in self._vectors]
        else:
            words = set(prose.content_words(beat))
            scores = [len(words & w) / max(1, len(words | w)) for w in self._words]
        if not scores:
            return None, 0.0
        best = max(range(len(scores)), key=scores.__getitem__)
        return best + 1, round(scores[best], 4)

    def add(self, beat: str) -> None:
        if self.text_embedder is not None:
            import numpy as np

            self._vectors.append(np.asarray(self.text_embedder.embed([beat]), np.float32)[0])
        self._words.append(set(prose.content_words(beat)))


def character_line(character: Character) -> str:
    look = character.appearance.describe()
    role = f", {character.role}" if character.role else ""
    return f"{character.name} ({character.appearance.species}{role}): {look}" + (
        f"; {character.personality}" if character.personality else "")


def write_beat(llm: LLMBackend, story: Story, number: int, stage: str, *, novelty: Novelty, seed: int | None,
               direction: str = "", arc: list[str] | None = None, attempts: int = BEAT_ATTEMPTS) -> tuple[PageBeat, dict]:
    """The beat of page `number` (1-based), with every earlier beat of `story.outline` and the
    whole `arc` (default: the stages so far, then this one) in view; re-asked while it copies an
    earlier beat. Returns the beat and its provenance record."""
    bible = story.bible
    hero = story.character(bible.protagonist)
    arc = arc or [b.stage for b in story.outline] + [stage]
    total = len(arc)
    index, of = arcs.positions(arc)[number - 1]
    names = [c.name for c in story.characters]
    language = languages.get(story.language)
    friend = next((c.name for c in story.characters if c.slug != hero.slug), hero.name)
    record: dict[str, Any] = {"page": number, "stage": stage, "attempts": [], "measure": novelty.measure,
                              "threshold": novelty.threshold}
    best = None
    avoid: list[str] = []
    for attempt in range(attempts):
        # A re-ask is a fresh question, not a reply to the copy: shown its own copy again, a small
        # model copies it again. It gets another opener and is told what not to tell.
        start = arcs.opener(stage, index, attempt, hero=hero.name, friend=friend, language=language)
        messages = [
            {"role": "system", "content": prompts.render("beat_system", language=story.language)},
            {"role": "user", "content": prompts.render(
                "beat_user", language=story.language, title=story.title, premise=story.premise, bible=bible,
                hero=hero, characters=[character_line(c) for c in story.characters], arc=arc, total=total,
                earlier=[b.beat for b in story.outline], number=number, stage=stage, direction=direction,
                guidance=arcs.guidance(stage, bible, hero.name, index=index, of=of, last=number == total,
                                       language=language),
                opener=start, avoid=avoid)},
        ]
        value, completion, failed = generate_structured(
            llm, messages, beat_model(names, start, grammar=llm.supports_json_schema), max_attempts=2,
            seed=None if seed is None else seed + 101 * attempt, temperature=0.6 + 0.2 * attempt, max_tokens=130)
        value.beat = tidy_beat(value.beat)
        similar_to, similarity = novelty.closest(value.beat)
        record["attempts"].append({"beat": value.beat, "opener": start, "similar_to": similar_to,
                                   "similarity": similarity, "invalid_answers": len(failed),
                                   "duration_s": completion.provenance.duration_s,
                                   "usage": completion.provenance.parameters.get("usage")})
        if best is None or similarity < best[1]:
            best = (value, similarity)
        if similarity < novelty.threshold:
            break
        avoid.append(story.outline[similar_to - 1].beat)
    value = best[0]
    record["kept"] = next(i for i, a in enumerate(record["attempts"]) if a["beat"] == value.beat)
    record["reasked"] = len(record["attempts"]) > 1
    novelty.add(value.beat)
    slugs = {c.name: c.slug for c in story.characters}
    on_stage = [slugs[n] for n in value.characters] + mentioned(story, value.beat)
    beat = PageBeat(beat=value.beat.strip(), scene=value.scene.strip(), characters=list(dict.fromkeys(on_stage))[:4],
                    stage=stage)
    return beat, record


def mentioned(story: Story, text: str) -> list[str]:
    """Characters a text names, by name or kind: "The fox climbs..." puts the fox on stage even
    when the model's list forgot it."""
    words = {prose.singular(w) for w in prose.words(text)}
    return [c.slug for c in story.characters
            if set(prose.words(c.name)) <= words or prose.singular(c.appearance.species.lower()) in words]


# -- the whole plan -----------------------------------------------------------------------------
def plan_story(llm: LLMBackend, premise: str, *, pages: int, style: str, notes: str = "", seed: int = 0,
               max_attempts: int = 3, language: str = "en") -> Story:
    """The Story skeleton: bible, characters, and an outline of `pages` staged beats whose words
    are not written yet (plan_beat writes each just before its page, so the first page comes
    after one beat, not all of them, and each beat sees every earlier one). The planning record
    is `story.plan_provenance` (the beats' records join it as they are written)."""
    bible, completion, failed, repairs = make_bible(llm, premise, pages=pages, style=style, notes=notes, seed=seed,
                                                    max_attempts=max_attempts, language=language)
    story = story_from_bible(bible, premise=premise, style=style, seed=seed)
    story.language = language
    arc = arcs.arc_for(pages)
    story.outline = [PageBeat(beat="", scene="", stage=stage) for stage in arc]
    provenance: Provenance = completion.provenance
    provenance.parameters.update(failed_attempts=failed, bible_repairs=repairs, arc=arc, beats=[])
    story.plan_provenance = provenance
    emit(PlanProgress(stage="bible", done=0, total=pages))
    return story


def plan_beat(llm: LLMBackend, story: Story, number: int, text_embedder=None) -> bool:
    """Write the words of page `number`'s beat if the plan has only its stage yet; True when it
    did. The novelty check compares it with every earlier beat."""
    planned = story.outline[number - 1]
    if planned.beat:
        return False
    novelty = Novelty(text_embedder)
    for earlier in story.outline[: number - 1]:
        novelty.add(earlier.beat)
    arc = [b.stage for b in story.outline]
    written, record = write_beat(llm, story, number, planned.stage, novelty=novelty,
                                 seed=story.seed * 1000 + number, arc=arc, direction=planned.direction)
    written.direction = planned.direction
    # Who the reader named in a direction stays on stage, beside whom the beat puts there.
    written.characters = list(dict.fromkeys([*planned.characters, *written.characters]))[:4]
    story.outline[number - 1] = written
    if story.plan_provenance is not None:
        story.plan_provenance.parameters.setdefault("beats", []).append(record)
    emit(PlanProgress(stage="beats", done=number, total=len(story.outline)))
    return True


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


def story_from_bible(bible: StoryBible, *, premise: str, style: str, seed: int = 0) -> Story:
    """The Story the beats are then written into: characters (the protagonist first) and the bible."""
    characters: list[Character] = []
    for planned, role in [(bible.protagonist, "protagonist"), *((m, m.role) for m in bible.cast)]:
        characters.append(character_from(planned, role, {c.slug for c in characters}))
    hero = characters[0]
    return Story(
        title=bible.title.strip(),
        premise=premise,
        style=StyleGuide(name=style, description=bible.style_description.strip(), palette=palette_for(style)),
        characters=characters,
        bible=Bible(protagonist=hero.slug, kind=hero.appearance.species, want=tidy_beat(bible.want),
                    obstacle=tidy_beat(bible.obstacle), setting=bible.setting.strip()),
        seed=seed,
    )


def character_from(planned: Hero, role: str, taken: set[str]) -> Character:
    """A character's sheet from what the LLM planned for them (the bible's cast, or a newcomer)."""
    clothing = planned.clothing.strip()
    return Character(
        name=planned.name.strip(), slug=_unique(slugify(planned.name, fallback="character"), taken), role=role,
        personality=planned.personality.strip(),
        appearance=Appearance(
            species=planned.kind.strip().lower() or "person", face=planned.look.strip(),
            clothing="" if clothing.lower() in ("", "none", "nothing") else clothing,
            colors=list(dict.fromkeys(c.strip().lower() for c in planned.colors if c.strip())),
        ),
    )


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate = f"{slug}-{n}"
        n += 1
    return candidate
