"""Talking with the people (and animals, or the guide) of a photo scene.

    reader's words (typed, or heard by the transcriber) -> who is addressed
        -> what they remember (earlier exchanges with them, the memory's facts about them)
        -> their answer in character, with a tone that fits what was said and how they look,
           and maybe another character's reaction (LLM, one small schema, names as enums)
        -> a page: the photo, the reader's words, the answer (and the reaction), narrated line by
           line in each speaker's voice -> one "talk" turn (undo takes it back)

Each exchange is a page of the story: the photo is its picture again, `exchange` records what the
reader said, to whom and how it was heard, and `dialogue` holds the replies, so the exports show
the conversation page by page with the speakers' tags lit, and `continue` can go on from it.
What was said becomes a memory fact of the characters involved (page-scoped, so undo forgets it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, create_model

from storyteller import languages, prompts
from storyteller.agent.scene import _OUT_OF_CHARACTER, GUIDE, in_language, line_key, looks, who_line
from storyteller.agent.structured import generate_structured, strip_json_residue
from storyteller.agent.voices import TONES
from storyteller.errors import InvalidInput
from storyteller.events import AudioReady, PageWritten, emit
from storyteller.languages import Language, say
from storyteller.story import Character, DialogueLine, Exchange, Page, PageBeat, Provenance, Story

REMEMBERED = 4  # earlier exchanges with the one addressed that the prompt shows


@dataclass(frozen=True)
class Addressed:
    character: Character
    said: str  # the words without the name that addressed them
    chosen: str  # why this character: 'asked', 'named', 'alone', 'last spoken to', 'first'


def _matches(character: Character, name: str) -> bool:
    name = name.strip().lower()
    return name in (character.name.lower(), character.slug, *(a.lower() for a in character.aliases)) or (
        len(name) >= 3 and character.name.lower().split()[0] == name)


def address(story: Story, said: str, to: str | None = None) -> Addressed:
    """Who the reader speaks to: `to` when given; else the one named first ("@Milo ...", "Milo, ...",
    "Hey Milo, ...") or last ("..., Milo?"); else the only character; else whoever was spoken to
    last; else the first character."""
    characters = story.characters
    if not characters:
        raise InvalidInput("the story has nobody to talk to")
    if to is not None and to.strip():
        found = [c for c in characters if _matches(c, to)]
        if not found:
            raise InvalidInput(f"the story has no character {to!r}", fix="talk to " + ", ".join(c.name for c in characters))
        return Addressed(found[0], said, "asked")
    for character in sorted(characters, key=lambda c: -len(c.name)):  # "Milo Jr" before "Milo"
        for name in dict.fromkeys([character.name, *character.aliases, character.name.split()[0]]):
            escaped = re.escape(name)
            end = r"\b" if name[-1:].isascii() else ""  # a Chinese name runs straight into the words after it
            head = re.match(rf"^\s*(?:@{escaped}{end}[,:，：]?|(?:(?:hey|hi|hello|dear|oh)\s+|(?:你好|嗨|喂)[,，]?)?"
                            rf"{escaped}\s*[,:!，：！])\s*(.*)$", said, re.I | re.S)
            if head:  # with nothing after the name, the caller asks for words
                return Addressed(character, head.group(1).strip(), "named")
            tail = re.match(rf"^(.*\S)\s*[,，]\s*{escaped}\s*([?!.？！。]*)\s*$", said, re.I | re.S)
            if tail:
                return Addressed(character, tail.group(1) + tail.group(2), "named")
    if len(characters) == 1:
        return Addressed(characters[0], said, "alone")
    last = next((p.exchange.to for p in reversed(story.pages) if p.exchange), None)
    if last is not None:
        try:
            return Addressed(story.character(last), said, "last spoken to")
        except KeyError:
            pass
    return Addressed(characters[0], said, "first")


def reply_model(others: list[str], about: list[str]) -> type[BaseModel]:
    """{"answer": {"tone", "text"[, "about"]}, "reaction": {"who", "tone", "text"}}: tones and names
    are enums, so a small model under a grammar can only pick what exists."""
    answer_fields = {"tone": (Literal[tuple(TONES)], ...), "text": (str, Field(min_length=1, max_length=240))}
    if about:
        answer_fields["about"] = (Literal[(*about, "none")], "none")
    fields = {"answer": (create_model("Answer", **answer_fields), ...)}
    if others:
        fields["reaction"] = (create_model("Reaction", who=(Literal[(*others, "nobody")], ...),
                                           tone=(Literal[tuple(TONES)], "neutral"),
                                           text=(str, Field(default="", max_length=200))), ...)
    return create_model("Reply", **fields)


def _clean(text: str) -> str:
    return strip_json_residue(" ".join(text.split())).strip("\"“”")


def checker(said_before: set[str], language: Language):
    """What a grammar cannot rule out, re-asked: assistant talk instead of the character's, an
    answer that only repeats a line said before (`line_key`s: small models echo), and an answer in
    another language than the story's."""

    def check(model: BaseModel) -> list[str]:
        problems = [f"answer.text: write it in {language.name}" for _ in in_language(language, model.answer.text)]
        if _OUT_OF_CHARACTER.search(model.answer.text):
            problems.append("answer.text: that is assistant talk; answer as the character, in the photo")
        elif line_key(model.answer.text) in said_before:
            problems.append("answer.text: that repeats what was already said; answer the reader with something new")
        reaction = getattr(model, "reaction", None)
        if reaction is not None and reaction.who != "nobody" and _OUT_OF_CHARACTER.search(reaction.text):
            problems.append("reaction.text: that is assistant talk; react as the character, or choose nobody")
        return problems

    return check


def remembered(story: Story, slug: str) -> list[str]:
    """The last exchanges the character had with the reader, as lines of a conversation."""
    said, reader = [], languages.get(story.language).photo["reader"]
    for page in story.pages:
        if page.exchange is None or page.exchange.to != slug:
            continue
        said.append(f"{reader}: {page.exchange.said}")
        said += [f"{story.character(d.speaker).name}: {d.text}" for d in page.dialogue]
    return said[-3 * REMEMBERED:]


def who_is_there(story: Story) -> list[str]:
    language = languages.get(story.language)
    return [who_line(language, c, (r.x, r.y, r.x + r.w, r.y + r.h) if (r := c.photo_region) else None)
            for c in story.characters]


def talk_page(run, said: str, *, to: str | None = None, heard: Provenance | None = None) -> Page:
    """One exchange with a photo scene's characters, committed as a "talk" turn; returns its page.
    `heard`: the transcription of a recording, when the words were spoken (its parameters say
    whether the reader corrected them)."""
    story = run.opened.story
    if story.kind != "photo" or not story.pages or story.pages[0].illustration is None:
        raise InvalidInput("talking works on photo scenes: their characters are in the photo",
                           fix="make one with `storyteller photo PHOTO --out DIR`, then `storyteller talk DIR`")
    if not story.is_complete:
        raise InvalidInput(f"{run.opened.root} has an unfinished page", fix=f"finish it first with `storyteller resume {run.opened.root}`")
    target = address(story, said, to)
    if not target.said.strip():
        raise InvalidInput("say something after the name, e.g. \"@" + target.character.name + " what are you looking at?\"")
    before = story.model_copy(deep=True)
    first = story.pages[0]
    speaker = target.character
    others = [c for c in story.characters if c.slug != speaker.slug]
    number = len(story.pages) + 1
    run.cancel.check("before answering")
    facts = [h.record.text for h in run.memory.search(target.said, 6, types=("fact",))
             if speaker.slug in h.record.characters][:3]
    guided = speaker.slug == GUIDE and bool(first.objects)
    language = languages.get(story.language)
    words = language.photo
    messages = [
        {"role": "system", "content": prompts.render("talk_system", language=language.code)},
        {"role": "user", "content": prompts.render(
            "talk_user", language=language.code, description=first.scene, title=story.title, characters=who_is_there(story),
            speaker=speaker.name, look=say(language, looks(speaker.expression)), scene=[f"{story.character(d.speaker).name}: {d.text}"
                                                                        for d in first.dialogue][-4:],
            earlier=remembered(story, speaker.slug), facts=facts, said=target.said,
            others=[c.name for c in others], things=[o.name for o in first.objects] if guided else [],
            tones=list(TONES))},
    ]
    names = {c.name: c.slug for c in others}
    model = reply_model(list(names), [o.key for o in first.objects] if guided else [])
    # Everything said so far (the reader's words now, the scene's and the conversations' lines): an
    # answer that echoes one is re-asked, a reaction that does is left out.
    said_before = {line_key(target.said), *(line_key(p.exchange.said) for p in story.pages if p.exchange),
                   *(line_key(d.text) for p in story.pages for d in p.dialogue)}
    reply, completion, failed = generate_structured(
        run.toolbox.llm, messages, model, max_attempts=run.toolbox.settings.plan_attempts,
        seed=run.seed + 7919 * number, temperature=0.7, max_tokens=220, check=checker(said_before, language),
        on_text=lambda _: run.cancel.check("while answering"))
    answer_text = _clean(reply.answer.text) or "…"
    dialogue = [DialogueLine(speaker=speaker.slug, tone=reply.answer.tone, text=answer_text,
                             about=getattr(reply.answer, "about", "none").replace("none", ""))]
    reaction, repairs = getattr(reply, "reaction", None), {}
    if reaction is not None and reaction.who != "nobody" and _clean(reaction.text):
        if line_key(reaction.text) in said_before | {line_key(answer_text)}:
            repairs["reaction_dropped"] = f"{reaction.who}'s reaction repeated a line said before"
        else:
            dialogue.append(DialogueLine(speaker=names[reaction.who], tone=reaction.tone, text=_clean(reaction.text)))
    text = "\n".join([words["reader_line"].format(reader=words["reader"], name=speaker.name, text=target.said),
                      *(words["line"].format(name=story.character(d.speaker).name, tone=d.tone, text=d.text)
                        for d in dialogue)])
    provenance = completion.provenance
    provenance.parameters.update(failed_attempts=failed, addressed=speaker.slug, chosen=target.chosen,
                                 remembered=len(remembered(story, speaker.slug)), facts=len(facts), **repairs)
    page = Page(number=number, text=text, scene=first.scene, characters=list(first.characters),
                dialogue=dialogue, objects=list(first.objects), illustration=first.illustration,
                exchange=Exchange(said=target.said, to=speaker.slug, chosen=target.chosen, heard=heard),
                text_provenance=provenance)
    # The outline keeps a beat per page (a later `continue` numbers its page after it).
    story.outline.append(PageBeat(beat=words["talk_beat"].format(name=speaker.name), scene=first.scene,
                                  characters=[d.speaker for d in dialogue]))
    story.pages.append(page)
    run.opened.save()
    emit(PageWritten(page=number, text=text))
    try:
        run.memory.add_page(page)
        run.memory.add_fact(words["answered"].format(name=speaker.name, said=target.said, answer=answer_text),
                            page=number, characters=[speaker.slug], key=f"talk-{number}")
        for line in dialogue[1:]:
            run.memory.add_fact(words["reacted"].format(name=speaker.name, said=target.said,
                                                        other=story.character(line.speaker).name, text=line.text),
                                page=number, characters=[line.speaker, speaker.slug], key=f"talk-{number}")
        asset = run.speak(page, None, stem=f"page-{number:02d}")
    except BaseException:
        run.restore(before)  # the story as it was: the page and its beat go, the memory forgets
        raise
    page.narration = asset
    emit(AudioReady(page=number, path=asset.path, provenance=asset.provenance))
    run.commit("talk", f"{words['reader']} to {speaker.name}: {target.said[:60]}", pages=[number])
    return page

