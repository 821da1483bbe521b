"""One voice per character: choosing voices, finding who says what, and narrating a page line by line.

A character's voice is chosen once, from the voices the narrator backend offers (speakers, or
pitch/pace variants of one speaker), stored in its sheet and reused on every page and in every
session. The narrator keeps the most neutral voice; characters who share a page get different
voices while the backend has enough of them.

A page is narrated as a sequence of lines: narration in the narrator's voice, each quoted line of
dialogue in its speaker's voice (with its tone rendered as pace and pitch), joined into one audio
file. Each line's start and end in that file are kept on the asset, so a reader can follow along.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from storyteller.backends.base import AudioResult, VoiceSpec
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.story import Character, Page, Provenance, SpokenLine, Story, Voice

LINE_GAP_S = 0.35  # silence between two lines, so a change of speaker is heard
_PER_LINE = {"voice", "voice_id", "length_scale", "pitch_shift", "chunks", "engine", "speaker", "engine_sample_rate",
             "phonemes"}  # what one line's call records; the page keeps them per line, in `calls`

# How a tone is delivered by a narrator that has no emotion control: pace (a factor on the voice's
# length scale, >1 slower), pitch (semitones), energy (a gain on the line's loudness) and a pause
# before the line (seconds, on top of LINE_GAP_S). Small changes on top of the character's voice,
# so the character stays recognisable.
@dataclass(frozen=True)
class Delivery:
    pace: float = 1.0
    semitones: float = 0.0
    energy: float = 1.0
    pause_s: float = 0.0


TONES: dict[str, Delivery] = {
    "neutral": Delivery(), "happy": Delivery(0.95, 1.0, 1.1), "excited": Delivery(0.88, 2.0, 1.25),
    "playful": Delivery(0.93, 1.5, 1.1), "curious": Delivery(1.0, 1.0, 1.0, 0.1), "surprised": Delivery(0.92, 2.5, 1.2),
    "scared": Delivery(0.9, 2.0, 0.8, 0.2), "worried": Delivery(1.03, 0.5, 0.85, 0.2), "sad": Delivery(1.12, -1.5, 0.75, 0.4),
    "sleepy": Delivery(1.2, -1.0, 0.7, 0.4), "calm": Delivery(1.08, -0.5, 0.9, 0.15), "gentle": Delivery(1.06, -0.3, 0.85, 0.1),
    "proud": Delivery(1.02, -0.5, 1.15), "grumpy": Delivery(1.05, -2.0, 1.05, 0.1), "angry": Delivery(0.95, -1.0, 1.3),
    "whispering": Delivery(1.1, -0.5, 0.55, 0.25), "shouting": Delivery(0.92, 1.5, 1.4),
}
# Speech verbs a writer uses, and the tone each implies.
_VERB_TONES = {
    "said": "neutral", "says": "neutral", "asked": "curious", "asks": "curious", "wondered": "curious",
    "replied": "neutral", "answered": "neutral", "called": "excited", "cried": "excited", "exclaimed": "excited",
    "shouted": "shouting", "yelled": "shouting", "laughed": "happy", "giggled": "playful", "whispered": "whispering",
    "murmured": "gentle", "sighed": "sad", "sobbed": "sad", "grumbled": "grumpy", "growled": "angry",
    "gasped": "surprised", "squeaked": "scared", "yawned": "sleepy", "sang": "happy", "cheered": "excited",
}
# Chinese speech verbs stand before the quote they name ("小红笑着说：“…”"), longest first.
_ZH_VERB_TONES = {"小声说": "whispering", "大声喊": "shouting", "笑着说": "happy", "哭着说": "sad", "叹气": "sad",
                  "回答": "neutral", "喊": "shouting", "叫": "excited", "问": "curious", "说": "neutral"}
_QUOTE = re.compile(r"“([^”]+)”|\"([^\"]+)\"|「([^」]+)」")
_SENTENCE_END = re.compile(r"[.!?]\s|[。！？]")
_SPOKEN = re.compile(r"[^\W_]")  # a part with no letter or digit ("," or ".") is not read out
# Creatures that sound small or large: a preference for higher or lower voices.
_SMALL = re.compile(r"\b(mouse|bird|kitten|chick|child|girl|boy|baby|bee|frog|rabbit|bunny|squirrel|fairy|puppy|cat|fox)\b", re.I)
_LARGE = re.compile(r"\b(bear|giant|dragon|elephant|whale|troll|ogre|king|grandfather|wolf|lion|bull|moose|robot)\b", re.I)


def to_voice(spec: VoiceSpec) -> Voice:
    return Voice(voice_id=spec.voice_id, length_scale=spec.length_scale, pitch_shift=spec.pitch_shift)


def toned(voice: Voice, tone: str) -> Voice:
    """The voice with a tone's pace and pitch on top (unknown tones leave it as it is)."""
    delivery = TONES.get(tone, Delivery())
    return Voice(voice_id=voice.voice_id, length_scale=min(2.9, max(0.31, voice.length_scale * delivery.pace)),
                 pitch_shift=min(12.0, max(-12.0, voice.pitch_shift + delivery.semitones)))


def _register(character: Character) -> int:
    """+1 for creatures that would sound high, -1 for large ones, 0 otherwise."""
    text = f"{character.appearance.species} {character.name}"
    return 1 if _SMALL.search(text) else -1 if _LARGE.search(text) else 0


def voices_for(language: str, offered: list[VoiceSpec]) -> list[VoiceSpec]:
    """The offered voices that speak `language`: those that say they do, else those that say
    nothing of their languages (a configured model); an error that says how to get one when none."""
    if not offered:
        raise BackendCallError("the narrator offers no voices")
    spoken = [v for v in offered if language in v.languages] or [v for v in offered if not v.languages]
    if not spoken:
        from storyteller.languages import get

        name = get(language).name
        raise BackendUnavailable(
            f"no voice of the narrator speaks {name} ({language}); its voices speak "
            f"{', '.join(sorted({code for v in offered for code in v.languages}))}",
            fix="for Mandarin: bash scripts/setup.sh (Kokoro's Mandarin needs misaki[zh] and espeak-ng; "
                "`sudo apt-get install espeak-ng` alone gives espeak's voices), or configure a narrator that "
                "speaks it, such as a speech server (README, 'Real models')")
    return spoken


def assign_voices(story: Story, offered: list[VoiceSpec]) -> list[str]:
    """Give the narrator and every character without a voice one from `offered`; return the slugs given one.

    Voices already in sheets are kept (a reader's choice, or an earlier session's). A new voice
    avoids the narrator's and those of characters sharing a page with it; among the rest, one of
    another speaker (another person, not the same voice at another pitch) than the narrator's and
    theirs wins, then the least used speaker and voice, then one whose pitch suits the creature,
    then the backend's order.
    """
    offered = voices_for(story.language, offered)
    if story.narrator_voice is None:
        story.narrator_voice = to_voice(offered[0])
    by_id = {v.voice_id: v for v in offered}

    def speaker(voice: Voice) -> str:
        spec = by_id.get(voice.voice_id)
        return spec.who if spec else voice.voice_id

    narrator = speaker(story.narrator_voice)
    pool = [v for v in offered if v.voice_id != story.narrator_voice.voice_id] or list(offered)
    together: dict[str, set[str]] = defaultdict(set)
    for group in [b.characters for b in story.outline] + [p.characters for p in story.pages]:
        for slug in group:
            together[slug].update(s for s in group if s != slug)
    usage = Counter(c.voice.voice_id for c in story.characters if c.voice)
    speakers = Counter(speaker(c.voice) for c in story.characters if c.voice)
    given = []
    for character in story.characters:
        if character.voice is not None:
            continue
        near = [o.voice for o in story.characters if o.voice and o.slug in together[character.slug]]
        taken, heard = {v.voice_id for v in near}, {speaker(v) for v in near}
        choices = [v for v in pool if v.voice_id not in taken] or pool
        register = _register(character)

        def fit(v: VoiceSpec) -> tuple:
            return (v.who in heard, v.who == narrator, speakers[v.who], usage[v.voice_id],
                    0 if register == 0 or v.pitch_register == register else 1, pool.index(v))

        best = min(choices, key=fit)
        character.voice = to_voice(best)
        usage[best.voice_id] += 1
        speakers[best.who] += 1
        given.append(character.slug)
    return given


def parse_voice(wanted: str, offered: list[VoiceSpec], *, rate: float | None = None,
                pitch: float | None = None) -> Voice:
    """A voice from what a reader typed: a voice id, or its number in the list (1-based), with
    optional speed (rate, >1 faster) and pitch (semitones) overrides."""
    by_id = {v.voice_id: v for v in offered}
    if wanted in by_id:
        spec = by_id[wanted]
    elif wanted.isdigit() and 1 <= int(wanted) <= len(offered):
        spec = offered[int(wanted) - 1]
    else:
        raise InvalidInput(f"the narrator has no voice {wanted!r}",
                           fix="choose one of: " + ", ".join(f"{i} {v.voice_id}" for i, v in enumerate(offered, 1)))
    voice = to_voice(spec)
    try:
        if rate is not None:
            voice.length_scale = 1 / rate
        if pitch is not None:
            voice.pitch_shift = pitch
    except ValueError as exc:  # pydantic's bounds (validate_assignment)
        raise InvalidInput(f"that voice setting is out of range: speed 0.35 to 3, pitch -12 to 12 semitones ({exc.errors()[0]['msg']})") from None
    return voice


def describe_voice(voice: Voice | None) -> str:
    if voice is None:
        return "none yet"
    return f"{voice.voice_id} (speed ×{1 / voice.length_scale:.2f}, pitch {voice.pitch_shift:+.1f})"


# -- who says what --------------------------------------------------------------------------
@dataclass
class Part:
    text: str
    offset: int  # in the page text
    speaker: str | None  # character slug; None: the narrator
    tone: str = ""


def _names(character: Character) -> list[str]:
    names = [character.name, *character.aliases]
    first = character.name.split()[0]
    if len(first) >= 3 and first.lower() not in ("the", "little", "old", "big", "young", "mister", "miss"):
        names.append(first)
    return [n for n in names if n.strip()]


def _mentions(window: str, characters: list[Character]) -> list[tuple[int, str]]:
    """(position, slug) of each character named in `window`."""
    found = []
    for character in characters:
        for name in _names(character):
            # Whole words; Chinese has no spaces between words, so a Chinese name is found as it is.
            pattern = re.escape(name) if re.search(r"[\u3400-\u9fff]", name) else rf"(?<![\w]){re.escape(name)}(?![\w])"
            for match in re.finditer(pattern, window):
                found.append((match.start(), character.slug))
    return sorted(found)


def _tone(window: str) -> str:
    verbs = re.findall(r"[a-z]+", window.lower())
    return next((_VERB_TONES[v] for v in verbs if v in _VERB_TONES), "") or \
        next((tone for verb, tone in _ZH_VERB_TONES.items() if verb in window), "")


def split_spoken(text: str, characters: list[Character], on_stage: list[str] = ()) -> list[Part]:
    """The page text as narration and quoted dialogue, each quote with its speaker where it can be told.

    A quote belongs to the character named next to a speech verb after it ("…," said Fern) or, else,
    named in the sentence before it (Fern smiled. "…"); a quote that goes on after "she said," keeps
    the speaker; else, with one character on stage it is theirs, and with two they take turns.
    A quote whose speaker cannot be told is read by the narrator.
    """
    parts: list[Part] = []
    quotes = list(_QUOTE.finditer(text))
    cursor, last_speaker = 0, None
    for i, quote in enumerate(quotes):
        inner = next(g for g in (1, 2, 3) if quote.group(g) is not None)
        narration = text[cursor:quote.start()]
        if _SPOKEN.search(narration):
            start = cursor + len(narration) - len(narration.lstrip())
            parts.append(Part(narration.strip(), start, None))
        after_end = quotes[i + 1].start() if i + 1 < len(quotes) else len(text)
        after = text[quote.end():after_end]
        sentence_end = _SENTENCE_END.search(after + " ")
        after = after[: sentence_end.end()] if sentence_end else after
        before = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", narration.strip())[-1]  # the sentence that leads to the quote
        # What follows a quote names its speaker only as an attribution ("…," said Fern / Fern asked),
        # not when a new sentence starts there ("…!" Then the wind took Fern's hat).
        attribution = bool(_tone(after)) or after.strip()[:1].islower()
        named_after = _mentions(after, characters) if attribution else []
        named_before = _mentions(before, characters)
        if named_after:
            speaker = named_after[0][1]
        elif named_before:
            speaker = named_before[0][1]  # the sentence's subject: "Fern smiled at Pip. “…”"
        elif last_speaker and len(narration.split()) <= 4 and _tone(narration):
            speaker = last_speaker  # "…," she said, "…": the same voice goes on
        elif len(on_stage) == 1:
            speaker = on_stage[0]
        elif len(on_stage) == 2 and last_speaker in on_stage:
            speaker = on_stage[1 - on_stage.index(last_speaker)]  # two on stage take turns
        elif last_speaker and not _SPOKEN.search(narration):
            speaker = last_speaker
        else:
            speaker = None
        tone = _tone(after) or _tone(before)
        parts.append(Part(quote.group(inner).strip(), quote.start(inner), speaker, tone))
        last_speaker = speaker or last_speaker
        cursor = quote.end()
    rest = text[cursor:]
    if _SPOKEN.search(rest):
        parts.append(Part(rest.strip(), cursor + len(rest) - len(rest.lstrip()), None))
    return parts


def script_parts(page: Page) -> list[Part]:
    """A photo scene's lines, located in the page text (each line's words appear there in order).
    A conversation page starts with the reader's words, read in the narrator's voice."""
    parts, cursor = [], 0
    if page.exchange is not None:
        offset = page.text.find(page.exchange.said)
        parts.append(Part(page.exchange.said, max(0, offset), None))
        cursor = max(0, offset + len(page.exchange.said))
    for line in page.dialogue:
        offset = page.text.find(line.text, cursor)
        parts.append(Part(line.text, offset if offset >= 0 else 0, line.speaker, line.tone))
        cursor = max(cursor, offset + len(line.text))
    return parts


# -- narrating a page -------------------------------------------------------------------------
def _with_energy(samples, energy: float):
    """A line louder or softer by its tone; never clipped (a loud line is limited to the peak)."""
    import numpy as np

    if energy == 1.0 or not len(samples):
        return samples
    louder = samples * energy
    peak = float(np.max(np.abs(louder)))
    return louder * (0.98 / peak) if peak > 0.98 else louder


def narrate_page(narrate, story: Story, page: Page, narrator: Voice | None = None):
    """Speak a page line by line. `narrate` is the narrate tool; `narrator` overrides the story's
    narrator voice. Returns (samples, sample_rate, lines, provenance)."""
    import numpy as np

    narrator = narrator or story.narrator_voice
    if narrator is None:
        raise InvalidInput("the story has no narrator voice yet", fix="run it once with `storyteller resume`")
    if page.dialogue:
        parts = script_parts(page)
    else:
        parts = split_spoken(page.text, story.characters, page.characters)
    if not parts:
        raise InvalidInput(f"page {page.number} has nothing to narrate")
    pieces, lines, clock, rate = [], [], 0.0, None
    calls: list[dict] = []
    first: AudioResult | None = None
    for part in parts:
        character = story.character(part.speaker) if part.speaker else None
        base = character.voice if character and character.voice else narrator
        voice = toned(base, part.tone) if part.tone else base
        delivery = TONES.get(part.tone, Delivery())
        result = narrate.invoke({"text": part.text, "voice_id": voice.voice_id,
                                 "length_scale": voice.length_scale, "pitch_shift": voice.pitch_shift})
        if rate is None:
            rate, first = result.sample_rate, result
        elif result.sample_rate != rate:  # one backend, one rate; guard against a plugin that varies it
            raise BackendCallError(f"the narrator changed sample rate mid-page ({rate} → {result.sample_rate} Hz)")
        if pieces:
            gap = np.zeros(int((LINE_GAP_S + delivery.pause_s) * rate), dtype=np.float32)
            pieces.append(gap)
            clock += len(gap) / rate
        samples = _with_energy(np.asarray(result.samples, dtype=np.float32), delivery.energy)
        pieces.append(samples)
        lines.append(SpokenLine(text=part.text, speaker=part.speaker, tone=part.tone, voice=voice,
                                start_s=round(clock, 3), end_s=round(clock + len(samples) / rate, 3), offset=part.offset))
        clock += len(samples) / rate
        p = result.provenance
        calls.append({"speaker": part.speaker or "narrator", "voice": voice.voice_id, "tone": part.tone,
                      "energy": delivery.energy, "pause_s": delivery.pause_s, "model": p.model, "kind": p.kind,
                      "duration_s": p.duration_s})
    head = first.provenance
    # One record for the page; where several engines spoke (the ensemble), it names each, and
    # each line's own engine and kind are in `calls`.
    models = list(dict.fromkeys(c["model"] for c in calls))
    kinds = {c["kind"] for c in calls}
    provenance = Provenance(
        backend=head.backend, model="; ".join(models), kind=head.kind if len(kinds) == 1 else "neural", prompt=page.text,
        # The backend's own parameters (model family, sample rate, ...) from the first call; the
        # per-line voices are in `calls` and on the asset's lines.
        parameters={**{k: v for k, v in head.parameters.items() if k not in _PER_LINE},
                    **({"kinds": sorted(kinds)} if len(kinds) > 1 else {}),
                    "lines": len(lines), "narrator_voice": narrator.model_dump(),
                    "voices": {c.slug: c.voice.model_dump() for c in story.characters
                               if c.voice and any(p.speaker == c.slug for p in parts)},
                    "calls": calls, "line_gap_s": LINE_GAP_S},
        duration_s=round(sum(c["duration_s"] for c in calls), 4),
    )
    return np.concatenate(pieces), rate, lines, provenance
