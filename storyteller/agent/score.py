"""Background music for a story (`storyteller score`): the pages' moods, a piece for each run of
pages that share one, composed by the composer role and kept in the story folder.

A page's mood is read off its words and its shot's weather (storm, giggle, alone, glow...), with no model
call: each mood has a word list, and the mood with most words on the page wins, the page before's
mood on a tie, "warm" where none is found (a picture book's default). Runs of pages with one mood
become one cue; a single page between two runs of the same mood joins them, so the music does
not change for one page and change back. Each cue's piece is as long as its pages' narration.
"""

from __future__ import annotations

import re
import wave
from typing import TYPE_CHECKING

from storyteller.backends.base import MusicRequest
from storyteller.errors import InvalidInput
from storyteller.story import MusicCue, Story

if TYPE_CHECKING:
    from storyteller.agent.graph import StoryRun

# Each mood's words but "warm"'s: a word as written or with an ending ("s", "ed", "ing"; "d" after
# an "e"), so "cry" is not "crystal" nor "win" "wind"; one ending in "*" starts words ("giggl*":
# giggle, giggled, giggling).
# Chinese words are found anywhere in the text.
MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "tense": ("afraid", "scared", "fear*", "danger*", "storm*", "thunder*", "chase", "trap", "worr*", "nervous",
              "trouble", "monster*", "shout", "scream*", "panic*", "hurry", "stuck", "angry", "growl*", "tremb*",
              "怕", "危险", "暴风", "害怕"),
    "sad": ("sad", "cry", "cried", "tear", "alone", "lonely", "miss", "goodbye", "broken", "sorry", "sigh", "lost",
            "gloom*", "难过", "哭", "孤单", "伤心"),
    "mysterious": ("myster*", "strange*", "secret*", "magic*", "glow*", "glimmer*", "shimmer*", "twinkl*",
                   "whisper*", "shadow*", "hidden", "curious*", "wonder*", "puzzl*", "spark*",
                   "神秘", "魔法", "奇怪", "发光"),
    "playful": ("play", "laugh*", "giggl*", "danc*", "jump", "silly", "fun", "game", "splash*", "bounc*", "tickl*",
                "hop", "hopped", "hopping", "玩", "笑", "跳"),
    "triumphant": ("won", "win", "cheer*", "proud*", "finally", "hooray", "saved", "celebrat*", "victor*",
                   "success*", "did it", "成功", "欢呼", "骄傲"),
    "calm": ("quiet*", "sleep*", "asleep", "gentl*", "soft*", "rest", "peace*", "dream*", "calm*", "cozy", "snug*",
             "yawn*", "lullab*", "安静", "睡", "梦"),
    "adventurous": ("journey*", "explor*", "travel*", "climb*", "sail*", "voyage*", "search*", "discover*",
                    "set off", "map", "旅行", "探险", "出发"),
}
DEFAULT_MOOD = "warm"
MAX_SECONDS = 300


def _pattern(word: str) -> str:
    if word.endswith("*"):
        return r"(?<![a-z'’])" + re.escape(word[:-1])
    endings = r"(?:s|d|r|ing)?" if word.endswith("e") else r"(?:s|es|ed|ing)?"  # "win" is not "wind"
    return r"(?<![a-z'’])" + re.escape(word) + endings + r"(?![a-z'’])"


def _hits(text: str, words: tuple[str, ...]) -> int:
    lowered = text.lower()
    return sum(len(re.findall(_pattern(word), lowered)) if word.isascii() else lowered.count(word) for word in words)


def page_moods(story: Story) -> list[str]:
    moods: list[str] = []
    for page in story.pages:
        words = " ".join([page.text, page.shot.weather if page.shot else ""])  # a storm's page is tense
        counts = {mood: _hits(words, starts) for mood, starts in MOOD_WORDS.items()}
        best = max(counts.values())
        tied = [mood for mood, count in counts.items() if count == best]
        moods.append(DEFAULT_MOOD if best == 0 else moods[-1] if moods and moods[-1] in tied else tied[0])
    return moods


def runs(moods: list[str]) -> list[tuple[str, list[int]]]:
    """(mood, page numbers) for each run of pages that share a mood, a lone page between two runs
    of one mood given to them."""
    smoothed = list(moods)
    for i in range(1, len(smoothed) - 1):
        if smoothed[i - 1] == smoothed[i + 1] != smoothed[i]:
            smoothed[i] = smoothed[i - 1]
    out: list[tuple[str, list[int]]] = []
    for number, mood in enumerate(smoothed, 1):
        if out and out[-1][0] == mood:
            out[-1][1].append(number)
        else:
            out.append((mood, [number]))
    return out


def page_seconds(run: StoryRun, number: int) -> float:
    from storyteller.export.video import reading_seconds

    page = run.opened.story.pages[number - 1]
    if page.narration is None:
        return reading_seconds(page.text)
    with wave.open(str(run.opened.asset_path(page.narration))) as audio:
        return audio.getnframes() / audio.getframerate()


def score_story(run: StoryRun, mood: str | None = None) -> list[MusicCue]:
    """Compose the story's music anew (every cue; `mood`: one piece in that mood for the whole
    story) and commit it as a "music" turn, which undo takes back."""
    from storyteller.agent.graph import wav_bytes

    story = run.opened.story
    if not story.pages:
        raise InvalidInput(f"{run.opened.root} has no pages to put music under", fix="write at least one page first")
    composer = run.toolbox.backend("composer")
    cues = [(mood, [p.number for p in story.pages])] if mood else runs(page_moods(story))
    made: list[MusicCue] = []
    for index, (cue_mood, pages) in enumerate(cues, 1):
        run.cancel.check("before composing")
        seconds = min(MAX_SECONDS, max(4.0, sum(page_seconds(run, n) for n in pages) + 1.0))
        result = composer.compose(MusicRequest(mood=cue_mood, seconds=round(seconds, 2), seed=story.seed * 100 + pages[0],
                                               title=story.title))
        # Named by the turn, as a redrawn page is: never over a file an earlier scoring made, which
        # undo puts back.
        stem = f"music-{index:02d}-pages-{pages[0]}-{pages[-1]}-turn{len(story.history) + 1}"
        audio = run.opened.write_asset("audio", stem, wav_bytes(result.samples, result.sample_rate), suffix=".wav",
                                       media_type="audio/wav", provenance=result.provenance)
        score = None if result.midi is None else run.opened.write_asset(
            "midi", stem, result.midi, suffix=".mid", media_type="audio/midi", provenance=result.provenance)
        made.append(MusicCue(pages=pages, mood=cue_mood, key=result.key, tempo=result.tempo, audio=audio, score=score))
    previous = {"music": [cue.model_dump(mode="json") for cue in story.music]}
    story.music = made
    summary = "music: " + "; ".join(f"pages {c.pages[0]}-{c.pages[-1]} {c.mood} ({c.key}, {c.tempo} bpm)" for c in made)
    run.commit("music", summary, pages=[p.number for p in story.pages], previous=previous)
    return made
