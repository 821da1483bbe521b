"""The story's soundtrack for the MP4: the narration, page after page, with the story's music under it.

Each music cue (storyteller score) plays from the start of its first page to the end of its last
(or, for pages written after the scoring, to the next cue), looped where the pages outlast the
piece, cross-faded into the next cue. The music is *ducked*:
while someone speaks it drops to DUCKED_DB below the speech, between lines and on silent pages it
comes back up to BED_DB below the speech's level, with a quick attack and a slow release (so it
does not pump between words). Levels are measured, not guessed: the speech's level is the RMS of
the narration where it is voiced, and the music's gain is set from the music's own RMS.
"""

from __future__ import annotations

import numpy as np

from storyteller.backends.speakers import read_wav, to_rate
from storyteller.story import Asset, Story

BED_DB = -14.0  # music alone (between lines, silent pages), below the speech's level
DUCKED_DB = -26.0  # music under speech
ATTACK_S, RELEASE_S = 0.08, 0.6
WINDOW_S = 0.05  # the envelope's window: what counts as "someone is speaking" now
VOICED = 0.1  # a window is speech where its RMS is above this share of the narration's loudest windows'
FADE_S = 1.0  # cross-fade between cues, fade in at the start and out at the end
SPEECH_RMS_WITHOUT_SPEECH = 0.05  # the level music is set against when a story has no narration at all


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS per WINDOW_S window, one value per sample (held over its window)."""
    size = max(1, int(WINDOW_S * rate))
    padded = np.pad(samples, (0, -len(samples) % size))
    rms = np.sqrt((padded.reshape(-1, size) ** 2).mean(axis=1))
    return np.repeat(rms, size)[:len(samples)]


def _smooth(target: np.ndarray, rate: int) -> np.ndarray:
    """The gain follows `target` (in dB) down within ATTACK_S and back up within RELEASE_S."""
    down, up = np.exp(-1 / (ATTACK_S * rate)), np.exp(-1 / (RELEASE_S * rate))
    # Per window, not per sample: a Python loop over 44,100 values a second would be slow.
    size = max(1, int(WINDOW_S * rate / 10))
    steps = target[::size]
    out = np.empty_like(steps)
    level = steps[0] if len(steps) else 0.0
    down_w, up_w = down ** size, up ** size
    for i, goal in enumerate(steps):
        k = down_w if goal < level else up_w
        level = goal + (level - goal) * k
        out[i] = level
    return np.repeat(out, size)[:len(target)]


def music_bed(story: Story, data, starts: dict[int, float], ends: dict[int, float], rate: int,
              length: int) -> np.ndarray:
    """The cues laid out on the story's clock (page number -> start and end seconds), each looped
    to fill its pages and cross-faded into the next."""
    bed = np.zeros(length, dtype=np.float32)
    fade = int(FADE_S * rate)
    numbers = sorted(starts)
    firsts = sorted(min(n for n in cue.pages if n in starts) for cue in story.music if any(n in starts for n in cue.pages))
    for cue in story.music:
        pages = [n for n in cue.pages if n in starts]
        if not pages:
            continue  # its pages were undone since
        # Pages written after the scoring (continue) keep the music of the cue before them.
        following = [f for f in firsts if f > pages[0]]
        pages = [n for n in numbers if pages[0] <= n < (following[0] if following else numbers[-1] + 1)]
        piece, piece_rate = read_wav(data(cue.audio))
        piece = to_rate(piece, piece_rate, rate)
        rms = float(np.sqrt((piece ** 2).mean())) if len(piece) else 0.0
        if rms == 0:
            continue
        piece = piece / rms  # unit RMS: the mix sets the level
        start = int(starts[pages[0]] * rate)
        stop = min(length, int(ends[pages[-1]] * rate) + fade // 2)
        span = stop - start
        if span <= 0:
            continue
        reps = int(np.ceil(span / len(piece)))
        part = np.tile(piece, reps)[:span].astype(np.float32)
        ramp = min(fade, span // 2)
        if ramp:
            part[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
            part[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)
        bed[start:stop] += part
    return bed


def soundtrack(story: Story, data, narrations: list[tuple[Asset | None, float]], rate: int) -> tuple[np.ndarray, dict]:
    """The narration of each page in turn ((asset or None for a silent page, seconds)) with the
    music under it, at `rate`; and the levels it was mixed at."""
    total = int(round(sum(seconds for _, seconds in narrations) * rate))
    voice = np.zeros(total, dtype=np.float32)
    starts, ends, clock = {}, {}, 0.0
    for page, (asset, seconds) in zip(story.pages, narrations, strict=True):
        starts[page.number], ends[page.number] = clock, clock + seconds
        if asset is not None:
            samples, asset_rate = read_wav(data(asset))
            samples = to_rate(samples, asset_rate, rate)
            at = int(round(clock * rate))
            piece = samples[:max(0, min(len(samples), total - at))]
            voice[at:at + len(piece)] = piece
        clock += seconds
    env = envelope(voice, rate)
    loud = np.percentile(env, 95) if total else 0.0
    speaking = env > VOICED * loud if loud > 0 else np.zeros(total, dtype=bool)
    speech_rms = float(np.sqrt((voice[speaking] ** 2).mean())) if speaking.any() else SPEECH_RMS_WITHOUT_SPEECH
    bed = music_bed(story, data, starts, ends, rate, total)
    gain_db = _smooth(np.where(speaking, DUCKED_DB, BED_DB).astype(np.float32), rate)
    music = bed * speech_rms * (10 ** (gain_db / 20)).astype(np.float32)
    mixed = voice + music
    peak = float(np.abs(mixed).max()) if total else 0.0
    if peak > 0.99:  # never clip: the whole mix comes down together
        mixed *= 0.99 / peak
    levels = {"speech_rms": round(speech_rms, 5), "bed_db": BED_DB, "ducked_db": DUCKED_DB,
              "cues": len(story.music)}
    return mixed.astype(np.float32), levels
