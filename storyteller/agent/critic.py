"""The page critic: a deterministic score for a page candidate, so the writer can keep the best.

Each part is a number a reader would agree with, measured on words (storyteller.memory.prose,
the same measures `storyteller eval` reports), never by asking a model:

- novelty: how few of the page's word pairs an earlier page already has;
- beat: how much of the beat's content the page covers (but restating the beat word for word is
  a fault of its own: the page should show it, not repeat the plan);
- names: the characters on stage are called by their names, and no stranger's name appears;
- length: inside the page's word range;
- dialogue: a quoted line, where the page asks for one;
- faults: meta text ("In conclusion", "Page 3"), runs copied from the prompt's context or the
  character sheets, an unfinished last sentence.

The total weighs them; every part and every fault goes into the page's provenance, so a bad
page can be traced to what the critic saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storyteller.memory import prose

MIN_WORDS, MAX_WORDS = 20, 75
WEIGHTS = {"novelty": 2.0, "beat": 1.0, "names": 0.75, "length": 1.0, "dialogue": 0.5}
PENALTIES = {"meta": 2.0, "copied": 1.0, "restates_beat": 0.5, "stranger": 0.3, "unfinished": 0.5}


# A draft with no fault whose every part reaches this needs no rival draft.
GOOD_ENOUGH = 0.7


@dataclass
class Verdict:
    score: float
    parts: dict[str, float]
    faults: list[str] = field(default_factory=list)

    @property
    def good_enough(self) -> bool:
        return not self.faults and all(v >= GOOD_ENOUGH for v in self.parts.values())

    def to_dict(self) -> dict:
        return {"score": round(self.score, 4), "parts": {k: round(v, 4) for k, v in self.parts.items()},
                "faults": list(self.faults)}


def _bigrams(text: str) -> set[tuple[str, str]]:
    tokens = prose.words(text)
    return set(zip(tokens, tokens[1:]))


def critique(text: str, *, beat: str, earlier: list[str], names_on_stage: list[str], known_names: list[str],
             sources: list[str], want_dialogue: bool, page_words: tuple[int, int] = (MIN_WORDS, MAX_WORDS)) -> Verdict:
    """Score one candidate page. `known_names`: every name the story may use (characters,
    places of the plan); `sources`: the prompt's context and the character sheets."""
    faults: list[str] = []
    if not text.strip():
        return Verdict(score=float("-inf"), parts={}, faults=["empty"])
    grams = _bigrams(text)
    overlap = max((len(grams & _bigrams(page)) / len(grams) for page in earlier if grams), default=0.0)
    beat_words = set(prose.content_words(beat))
    covered = len(beat_words & set(prose.content_words(text))) / len(beat_words) if beat_words else 1.0
    n_words, (least, most) = len(prose.words(text)), page_words
    length = 1.0 if least <= n_words <= most else (n_words / least if n_words < least else most / n_words)
    lowered = text.lower()
    named = [n for n in names_on_stage if re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", lowered)]
    names = 1.0 if not names_on_stage else (0.5 + 0.5 * len(named) / len(names_on_stage)) if named else 0.0
    parts = {"novelty": 1.0 - overlap, "beat": min(1.0, covered / 0.5), "names": names, "length": length,
             "dialogue": float(bool(prose.dialogue_lines(text))) if want_dialogue else 1.0}
    score = sum(WEIGHTS[k] * v for k, v in parts.items())

    for found in prose.meta_text(text):
        faults.append(f"meta: {found}")
        score -= PENALTIES["meta"]
    for span in prose.copied_spans(text, sources):
        faults.append(f"copied from the prompt: {span[:60]}")
        score -= PENALTIES["copied"]
    if prose.copied_spans(text, [beat], n=8):
        faults.append("restates the beat word for word")
        score -= PENALTIES["restates_beat"]
    for stranger in strangers(text, known_names):
        faults.append(f"a name nobody in the story has: {stranger}")
        score -= PENALTIES["stranger"]
    if text.rstrip()[-1:] not in ".!?\"'”’)。！？」":
        faults.append("the last sentence is unfinished")
        score -= PENALTIES["unfinished"]
    return Verdict(score=score, parts=parts, faults=faults)


def strangers(text: str, known_names: list[str]) -> list[str]:
    """Capitalised words inside a sentence that are no known name: "Tom" in a story of Fern and
    Owl. Sentence-initial words, "I" and the words of known names are never strangers."""
    known = {w for n in known_names for w in prose.words(n)}
    found = []
    for sentence in prose.sentences(text):
        body = sentence.lstrip("\"“'‘ ")
        for match in re.finditer(r"\b([A-Z][a-z]{2,})\b", body):
            word = match.group(1)
            if match.start() == 0 or body[: match.start()].rstrip().endswith(("\"", "“", ":")):
                continue  # a sentence or a quotation starts with it
            if word.lower() not in known and word.lower() not in found:
                found.append(word.lower())
    return found
