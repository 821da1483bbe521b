"""The writer: one page of text from its beat, the bible and the memory's context.

The model fills a page's slots under the grammar (narration, who speaks and what they say, a
closing sentence; see page_model) and the slots are composed into the page. It writes up to
`candidates` drafts (`page_candidates` in the settings), stopping at the first the critic finds
good enough; each is tidied by deterministic rules (labels the model copied from its prompt, sentences repeated from
earlier pages, meta text, runs copied from the prompt's context) and scored by the critic
(storyteller.agent.critic). The best draft is the page; every draft, what tidying did to it and
its scores go into the page's provenance. A draft with nothing left is re-drawn hotter; when
nothing new comes at all, the beat itself is the page, and provenance says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from typing import Literal

from pydantic import BaseModel, Field, create_model

from storyteller import languages, prompts
from storyteller.agent.critic import critique
from storyteller.agent.structured import generate_structured
from storyteller.backends.base import LLMBackend
from storyteller.errors import StructuredOutputError
from storyteller.languages import ENGLISH, Language
from storyteller.memory import prose
from storyteller.story import Provenance, Story

WORDS_PER_PAGE = 60
MAX_SENTENCES = 6
# "Page 3:", "Page 3 of 6 -", "**Page 3**", "p3 (summary):": labels a small model copies from its prompt.
_PREAMBLE = re.compile(r"^\s*(\*\*)?(page\s*|p)\d+(\s*of\s*\d+)?(\s*\((summary|[a-z]+)\))?(\*\*)?\s*[:.\-–]*\s*", re.I)
# Where a small model starts echoing its prompt instead of writing the page: cut there.
_ECHO = re.compile(r"\b(now write page|what happens( on this page)?:|where:|page \d+ of \d+|page \d+( \([a-z -]+\))?:|"
                   r"the reader asks|show this moment|tell only what happens|in double quotes|says out loud|"
                   r"at most \d+ words|\d to \d short sentences|this is the last page)", re.I)
# A small model writes dialogue as a play script, `Owl: "Look!"`; a picture book writes
# `"Look!" says Owl.` (and the narrator's voices find the speaker by the speech verb).
_SCRIPT_LINE = re.compile(r"(?:^|(?<=[.!?\"”] ))([A-Z][\w'’-]*(?: [A-Z][\w'’-]*)?): ?[\"“]([^\"”]+)[\"”]")
_PAST = re.compile(r"\b(\w+ed|was|were|had|saw|went|found|ran|came|made|took|said|felt|knew|got|gave|thought)\b", re.I)


def _unscript(text: str, repairs: list[str]) -> str:
    """`Owl: "Look at that."` -> `"Look at that," says Owl.` (said, when the page is told in the past)."""
    verb = "said" if _PAST.search(_SCRIPT_LINE.sub("", text)) else "says"

    def line(match: re.Match) -> str:
        words = match.group(2).strip()
        if words.endswith("."):
            words = words[:-1] + ","
        elif words[-1:] not in "!?,":
            words += ","
        return f'"{words}" {verb} {match.group(1)}.'

    out = _SCRIPT_LINE.sub(line, text)
    if out != text:
        repairs.append('dialogue written as a script (Name: "...") turned into prose')
    return out
# Summing-up openers are cut from the sentence they start ("In conclusion, Fern went home." ->
# "Fern went home."); other meta text takes its sentence with it.
_SUMMING_UP = re.compile(r"^(in conclusion|to sum up|in summary|all in all|overall|in the end of the story)\s*,\s*", re.I)
_TERMINAL = ".!?\"'”’)。！？」"


def clean_page_text(text: str, earlier: list[str] = (), sources: list[str] = (), repairs: list[str] | None = None) -> str:
    """Strip what small models add around a page (labels copied from the prompt), drop sentences
    they repeat (within the page or from the `earlier` pages), meta text and sentences that copy
    a run of the `sources` (the prompt's context, the character sheets); keep at most
    MAX_SENTENCES; cut a sentence the token limit broke off, so a page never ends mid-word. What
    was done is appended to `repairs`."""
    done = repairs if repairs is not None else []
    text = re.sub(r"\s+", " ", text.strip())
    stripped = _PREAMBLE.sub("", text).strip()
    if stripped != text:
        done.append("removed a page label")
    text = stripped
    echo = _ECHO.search(text)
    if echo:
        done.append(f"cut from an echo of the prompt: {text[echo.start():echo.start() + 40]!r}")
        text = text[: echo.start()].strip()
    text = _unscript(text, done)
    if text.count('"') == 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1].strip()  # the whole page in quotes: a model quoting its answer
    if text.count('"') % 2:
        # One quotation mark too many: a page the model quoted whole, or a quote it never closed.
        if text.startswith('"') and not re.match(r'"[^"]+"\s', text):
            text = text[1:]
        elif text[-1:] in ".!?,":
            text += '"'
        done.append("mended an unpaired quotation mark")
    kept: list[str] = []
    seen = {prose.sentence_key(s) for page in earlier for s in prose.sentences(page)}
    for sentence in prose.sentences(text):
        opener = _SUMMING_UP.match(sentence)
        if opener:
            done.append(f"removed the opener {opener.group(0).strip()!r}")
            sentence = sentence[opener.end():]
            sentence = sentence[:1].upper() + sentence[1:]
        key = prose.sentence_key(sentence)
        if key in seen:
            done.append(f"dropped a repeated sentence: {sentence[:50]!r}")
            continue
        if prose.meta_text(sentence):
            done.append(f"dropped meta text: {sentence[:50]!r}")
            continue
        if sources and prose.copied_spans(sentence, sources, n=8):
            done.append(f"dropped a sentence copied from the prompt: {sentence[:50]!r}")
            continue
        seen.add(key)
        kept.append(sentence)
    if len(kept) > 1 and kept[-1][-1] not in _TERMINAL:
        done.append("cut the unfinished last sentence")
        kept.pop()  # broken off by the token limit
    if len(kept) == 1 and kept[0][-1] not in _TERMINAL and len(kept[0].split()) > WORDS_PER_PAGE * 1.3:
        # One sentence that never ends until the token limit cut it ("and then ... and then ..."):
        # a model running on, not a page. Nothing usable: the writer asks again, then falls back.
        done.append("one run-on sentence: nothing kept")
        return ""
    if len(kept) > MAX_SENTENCES:
        done.append(f"kept the first {MAX_SENTENCES} sentences")
        kept = kept[:MAX_SENTENCES]
    # Chinese is written without spaces: none between its sentences, none a model put inside one.
    joiner = "" if prose.is_cjk(text) else " "
    while len(kept) > 2 and len(prose.words(joiner.join(kept))) > WORDS_PER_PAGE * 1.3:
        done.append("dropped a sentence over the length limit")
        kept.pop()
    return re.sub(r"(?<=[^\x00-\x7f]) +(?=[^\x00-\x7f])", "", joiner.join(kept)) if joiner == "" else " ".join(kept)


def page_model(speakers: list[str], language: Language = ENGLISH) -> type[BaseModel]:
    """A page in slots, under the grammar: a small model given one free box writes one sentence,
    or its beat again, or a play script; given slots it writes narration, a line of dialogue
    with its speaker (a closed list: who is on stage) and a closing sentence. Lengths (in the
    language's characters: a Chinese page is shorter in characters) are bounded both ways, so a
    page is never one sentence long and never runs on."""
    limits = language.slots

    def text(slot: str):
        low, high = limits[slot]
        return (str, Field(min_length=low, max_length=high))

    fields: dict = {"narration": text("narration")}
    if speakers:
        fields["speaker"] = (Literal[tuple(speakers)], ...)  # type: ignore[valid-type]
        fields["says"] = text("says")
    fields["after"] = text("after")
    return create_model("Page", **fields)


_QUOTES = "\"“”'‘’「」『』"


_SPEECH_VERB = (r"(?:says|said|asks|asked|adds|added|replies|replied|answers|answered|exclaims|exclaimed|whispers|"
                r"whispered|shouts|shouted|cries|cried|calls|called)")
# A line the model wrote with its own attribution: `'Why not?' Amy asks` (the page says who speaks).
_ATTRIBUTED = re.compile(rf"^([\"“'‘])(.+?[^\s])[\"”'’][,.]?\s+(?:[\w'’-]+\s+){{0,3}}?{_SPEECH_VERB}\b[^\"“”'‘’]*$")


def _unquoted(line: str) -> str:
    """A spoken line without the quotes a model put round it (the page adds its own): `'It is
    late,'` -> `It is late,`, and without an attribution of its own (`'Why not?' Amy asks` ->
    `Why not?`). An apostrophe that only starts or ends it ('Tis) stays."""
    line = line.strip()
    attributed = _ATTRIBUTED.match(line)
    if attributed:
        line = attributed.group(2)
    while len(line) >= 2 and line[0] in _QUOTES:
        if line[-1] in _QUOTES:
            line = line[1:-1].strip()
        elif len(line) >= 3 and line[-2] in _QUOTES and line[-1] in ",.":
            line = line[1:-2].strip()
        else:
            break
    return line.strip('"“”').strip()


def compose(slots: BaseModel, repairs: list[str] | None = None, language: Language = ENGLISH) -> str:
    """The slots as a page: narration, the quoted line with its speaker, the closing sentence.
    "says" or "said" follows the narration's tense. A line that only goes on with an unfinished
    narration ("But the water," + "was choppy") is narration, not speech: it is joined to it, and
    `repairs` says so."""
    stop = "。" if language.code == "zh" else "."

    def sentence(text: str, limit: int) -> str:
        text = text.strip().strip('"“”').strip()
        if len(text) >= limit - 2 and text[-1:] not in _TERMINAL:
            # The slot's length bound cut the model off mid-sentence: back to the last full one.
            cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), *(text.rfind(c) for c in "。！？"))
            text = text[: cut + 1].rstrip() if cut > 0 else ""
            if repairs is not None:
                repairs.append("cut a sentence the slot's length bound broke off")
        text = text.rstrip(",;:-– ，、；：")
        return text if not text or text[-1] in _TERMINAL else text + stop

    narration = slots.narration.strip()
    says = _unquoted(getattr(slots, "says", ""))
    if says and narration[-1:] not in _TERMINAL and says[:1].islower():
        narration, says = f"{narration} {says}", ""
        if repairs is not None:
            repairs.append("the line went on with the narration: joined to it, not quoted")
    limits = {name: next((m.max_length for m in field.metadata if hasattr(m, "max_length")), 10**6)
              for name, field in type(slots).model_fields.items()}
    parts = [sentence(narration, limits["narration"] + (len(says) + 1 if narration != slots.narration else 0))]
    if says:
        if language.code == "zh":
            words = says if says[-1] in "。！？" else says.rstrip("，,.") + "。"
        else:
            # The line's last mark is read inside a quote it ends with ("I thought, 'What is this?'").
            end = len(says.rstrip("'’\"”"))
            mark = says[end - 1:end]
            words = (says[:end - 1] + "," + says[end:] if mark == "." else says if mark in ("!", "?", ",")
                     else says + ",")
        verb = language.verbs[1] if _PAST.search(slots.narration + " " + slots.after) else language.verbs[0]
        parts.append(language.speech.format(words=words, verb=verb, speaker=slots.speaker))
    parts.append(sentence(slots.after, limits["after"]))
    return ("" if language.code == "zh" else " ").join(p for p in parts if p)


def drop_restated_beat(text: str, beat: str, repairs: list[str]) -> str:
    """Without the sentences that only say the beat again (the plan's words, not the page's):
    the page shows the moment, the beat names it. A page that is nothing but its beat is empty."""
    if not text:
        return text
    run = max(6, len(prose.words(beat)) - 3)
    kept = [s for s in prose.sentences(text) if not prose.copied_spans(s, [beat], n=min(run, len(prose.words(s))))
            or len(prose.words(s)) < 5]
    if len(kept) == len(prose.sentences(text)):
        return text
    repairs.append("dropped the beat, said again word for word")
    # What is left is a page if it is more than a few words (a line of dialogue and what follows
    # can be one sentence in Chinese: 小狐狸说：“…”松鼠过来了。).
    rest = ("" if prose.is_cjk(text) else " ").join(kept)
    return rest if len(prose.words(rest)) >= 6 else ""


class SlotStream:
    """Reads a page's JSON as it streams and hands on the words of its text slots, so a reader
    watches the page being written (and a cancel lands mid-page) instead of waiting for the JSON
    to close. Only the words: keys, the speaker and JSON punctuation are left out."""

    TEXT = ("narration", "says", "after")

    def __init__(self) -> None:
        self._in_string = self._escape = False
        self._expect_key = True
        self._buffer: list[str] = []
        self._key = ""
        self._emitted = False

    def feed(self, delta: str) -> str:
        out: list[str] = []
        for ch in delta:
            if not self._in_string:
                if ch == '"':
                    self._in_string, self._buffer = True, []
                    if not self._expect_key and self._key in self.TEXT and self._emitted:
                        out.append(" ")
                elif ch in "{,":
                    self._expect_key = True
                elif ch == ":":
                    self._expect_key = False
                continue
            if self._escape:
                self._escape = False
                ch = {"n": " ", "t": " "}.get(ch, ch)
            elif ch == "\\":
                self._escape = True
                continue
            elif ch == '"':
                self._in_string = False
                if self._expect_key:
                    self._key = "".join(self._buffer)
                continue
            self._buffer.append(ch)
            if not self._expect_key and self._key in self.TEXT:
                out.append(ch)
                self._emitted = True
        return "".join(out)


def page_messages(story: Story, number: int, *, context: str, direction: str) -> list[dict[str, str]]:
    beat = story.outline[number - 1]
    bible = story.bible
    hero = story.character(bible.protagonist) if bible else (story.characters[0] if story.characters else None)
    on_stage = [story.character(s) for s in beat.characters if any(c.slug == s for c in story.characters)]
    total = len(story.outline)
    return [
        {"role": "system", "content": prompts.render("page_system", language=story.language)},
        {"role": "user", "content": prompts.render(
            "page_user", language=story.language, title=story.title, bible=bible, hero=hero,
            cast=[f"{c.name} the {c.appearance.species}" + (f" ({c.role})" if c.role else "") for c in story.characters],
            context=context, number=number, total=total, stage=beat.stage, beat=beat.beat, scene=beat.scene,
            speakers=[c.name for c in on_stage], direction=direction,
            last=number == total and beat.stage in ("resolution", "closing", "")),
        },
    ]


def write_page(
    llm: LLMBackend,
    story: Story,
    number: int,
    *,
    context: str = "",
    direction: str = "",
    seed: int | None = None,
    candidates: int = 1,
    on_text: Callable[[str], None] | None = None,
    check: Callable[[], None] | None = None,
) -> tuple[str, Provenance]:
    """The page's text and the provenance of the draft kept (with every draft's scores).
    `on_text` receives the words of the first draft as they are generated (what a reader watches);
    `check` is called on every generated delta of every draft (to stop it: raise)."""
    beat = story.outline[number - 1]
    messages = page_messages(story, number, context=context, direction=direction)
    earlier = [p.text for p in story.pages if p.number < number]
    sheets = [c.appearance.describe() for c in story.characters] + [c.personality for c in story.characters if c.personality]
    sources = [context, *sheets]
    on_stage = [story.character(s).name for s in beat.characters if any(c.slug == s for c in story.characters)]
    known = [n for c in story.characters for n in (c.name, *c.aliases)] + [story.title, story.premise]
    if story.bible:
        known += [story.bible.setting, story.bible.want, story.bible.obstacle]
    known += [beat.beat, beat.scene, direction]
    language = languages.get(story.language)
    model = page_model(on_stage, language)
    drafts: list[dict] = []
    empty: list[dict] = []
    best = None
    attempt = 0
    completion = None
    while len(drafts) < candidates and attempt < candidates + 1:
        # A draft with nothing left after tidying is drawn again, hotter and with another seed.
        hot = attempt - len(drafts)
        stream = SlotStream() if not drafts and on_text is not None else None

        def on_delta(delta: str, stream=stream) -> None:
            if check is not None:
                check()
            if stream is not None and (words := stream.feed(delta)):
                on_text(words)

        try:
            slots, completion, invalid = generate_structured(
                # Under a grammar an invalid page can only be one the token limit cut off: a re-ask
                # would run as long again, so it is a new draft instead. Without one, the model
                # hears what was wrong.
                llm, messages, model, max_attempts=1 if llm.supports_json_schema else 2,
                temperature=0.8 + 0.2 * hot, max_tokens=220,
                seed=None if seed is None else seed + 7919 * attempt, on_text=on_delta)
            repairs: list[str] = []
            raw = compose(slots, repairs, language)
        except StructuredOutputError as exc:  # no valid page twice: an empty draft, recorded
            invalid, raw, repairs = exc.attempts, "", []
        attempt += 1
        text = drop_restated_beat(clean_page_text(raw, earlier, sources, repairs) if raw else "", beat.beat, repairs)
        if not text:  # not a candidate, but tried: recorded with the page
            empty.append({"raw": raw[:2000], "repairs": repairs, "invalid_answers": len(invalid)})
            continue
        verdict = critique(text, beat=beat.beat, earlier=earlier, names_on_stage=on_stage, known_names=known,
                           sources=sources, want_dialogue=bool(on_stage), page_words=language.page_words)
        drafts.append({"text": text, "slots": slots.model_dump(), "repairs": repairs, **verdict.to_dict(),
                       "invalid_answers": len(invalid), "seed": completion.provenance.seed,
                       "usage": completion.provenance.parameters.get("usage"), "duration_s": completion.provenance.duration_s})
        if best is None or verdict.score > best[0]:
            best = (verdict.score, text, completion)
        if verdict.good_enough:
            break  # no fault and new enough: a further draft would cost a page of tokens for nothing
    if best is None:
        # Nothing new at all: the beat itself is an honest page rather than an empty one, and
        # provenance says so (with the model that failed, even when no draft was valid at all).
        provenance = completion.provenance if completion is not None else Provenance(
            backend=llm.name, model=llm.model_id, kind=llm.kind, seed=seed, duration_s=0.0)
        provenance.parameters.update(fallback="no new text from the model: page text is the plan's beat",
                                     empty_drafts=empty)
        return beat.beat, provenance
    _, text, completion = best
    provenance = completion.provenance
    provenance.parameters.update(candidates=drafts, chosen=next(i for i, d in enumerate(drafts) if d["text"] == text),
                                 stage=beat.stage, **({"empty_drafts": empty} if empty else {}))
    return text, provenance
