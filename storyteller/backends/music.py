"""The embedded composer: a short piece for a mood, composed by rule and played by FluidSynth.

Nothing here is a music model. A mood picks a key, a mode, a tempo and three General MIDI
instruments (melody, chords, bass); a seeded random walk over the chord tones makes the melody,
over a progression of the mode's usual chords, and the last bar comes home to the tonic. The
piece is written as a standard MIDI file (mido) and rendered with the `fluidsynth` program and a
General MIDI soundfont (Debian's fluidsynth and fluid-soundfont-gm). Its provenance says
"procedural", with the key, tempo, instruments and seed; the MIDI file is kept beside the audio.
"""

from __future__ import annotations

import io
import math
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field

from storyteller.backends.base import BackendOptions, ComposerBackend, MusicRequest, MusicResult
from storyteller.backends.speakers import read_wav
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

SAMPLE_RATE = 22050  # background music: half CD rate keeps a story's pieces (kept as WAV, inlined in HTML) small
SOUNDFONTS = ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/soundfonts/default.sf2"]
APT_FIX = "sudo apt-get install fluidsynth fluid-soundfont-gm (or give composer.options.soundfont a .sf2 file)"

# mood -> tonic, mode, tempo (bpm), General MIDI programs (melody, chords, bass), loudness (0-127)
MOODS: dict[str, tuple[str, str, int, tuple[int, int, int], int]] = {
    "warm": ("G", "major", 88, (0, 48, 32), 78),  # piano, strings, acoustic bass
    "calm": ("F", "major", 70, (73, 89, 32), 68),  # flute, warm pad, acoustic bass
    "playful": ("C", "major", 116, (11, 0, 33), 84),  # vibraphone, piano, finger bass
    "adventurous": ("D", "major", 104, (71, 48, 42), 86),  # clarinet, strings, cello
    "triumphant": ("D", "major", 108, (56, 48, 58), 92),  # trumpet, strings, tuba
    "mysterious": ("E", "minor", 78, (46, 91, 42), 70),  # harp, choir pad, cello
    "tense": ("D", "minor", 100, (40, 48, 42), 84),  # violin, strings, cello
    "sad": ("A", "minor", 64, (0, 48, 42), 66),  # piano, strings, cello
}
_TONICS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7, "Ab": 8, "A": 9,
           "Bb": 10, "B": 11}
_SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10]}
# Scale degrees (0 = tonic) of each bar's chord: the mode's common progressions, one chosen by seed.
_PROGRESSIONS = {"major": [[0, 4, 5, 3], [0, 3, 4, 0], [0, 5, 3, 4]],
                 "minor": [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4]]}
TICKS = 480  # per beat


def mood_settings(request: MusicRequest) -> tuple[str, str, int]:
    """The piece's tonic, mode and tempo: the request's where it says, else its mood's."""
    if request.mood not in MOODS:
        raise InvalidInput(f"unknown mood {request.mood!r}", fix="moods: " + ", ".join(MOODS))
    tonic, mode, tempo, _, _ = MOODS[request.mood]
    if request.key:
        parts = request.key.split()
        if parts[0] not in _TONICS or len(parts) > 2 or (len(parts) == 2 and parts[1] not in _SCALES):
            raise InvalidInput(f"key {request.key!r} is not a key", fix='write it as "D major" or "A minor"')
        tonic, mode = parts[0], parts[1] if len(parts) == 2 else mode
    return tonic, mode, request.tempo or tempo


def compose_midi(request: MusicRequest) -> tuple[bytes, dict[str, Any]]:
    """The piece as a standard MIDI file (type 1: tempo and key, then melody, chords and bass)."""
    import mido

    tonic, mode, tempo = mood_settings(request)
    _, _, _, programs, loud = MOODS[request.mood]
    rng = random.Random(request.seed)
    scale = [_TONICS[tonic] + step for step in _SCALES[mode]]
    progression = rng.choice(_PROGRESSIONS[mode])
    bars = max(4, math.ceil(request.seconds * tempo / 60 / 4))
    quick = tempo >= 100  # a lively mood's melody moves in eighths, a slow one's in quarters

    def pitch(degree: int, octave: int) -> int:
        return 12 * (octave + 1) + scale[degree % 7] + 12 * (degree // 7)

    melody, chords, bass = [], [], []  # (start tick, length, pitch, velocity)
    position = 2  # the melody's scale degree above octave 5's tonic: it starts on the third
    for bar in range(bars):
        last = bar == bars - 1
        root = 0 if last else progression[bar % len(progression)]
        start = bar * 4 * TICKS
        triad = [root, root + 2, root + 4]
        chords += [(start, 4 * TICKS, pitch(d, 4), loud - 26) for d in triad]
        bass += [(start, 2 * TICKS, pitch(root, 2), loud - 10), (start + 2 * TICKS, 2 * TICKS, pitch(root + 4 * (not last), 2), loud - 16)]
        if last:
            melody.append((start, 4 * TICKS, pitch(0, 5), loud))
            break
        step = TICKS // 2 if quick else TICKS
        for tick in range(start, start + 4 * TICKS, step):
            strong = (tick - start) % (2 * TICKS) == 0
            if strong:  # on the strong beats the melody takes the chord tone nearest to where it is
                position = min((d + 7 * o for d in triad for o in (-1, 0, 1)), key=lambda d: (abs(d - position), d))
            else:
                position += rng.choice([-2, -1, -1, 1, 1, 2])
            position = max(-3, min(9, position))
            if rng.random() < (0.15 if strong else 0.3):
                continue  # a rest
            melody.append((tick, step, pitch(position, 5), loud - rng.randint(0, 12)))

    file = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("key_signature", key=tonic + ("m" if mode == "minor" else ""), time=0),
        mido.MetaMessage("track_name", name=request.title[:60] or request.mood, time=0)])
    file.tracks.append(meta)
    for channel, (notes, program) in enumerate(zip((melody, chords, bass), programs, strict=True)):
        events = [(s, 1, "note_on", p, v) for s, _, p, v in notes] + [(s + n - 10, 0, "note_off", p, 0) for s, n, p, _ in notes]
        track = mido.MidiTrack([mido.Message("program_change", program=program, channel=channel, time=0)])
        clock = 0
        for tick, _, kind, note, velocity in sorted(events):
            track.append(mido.Message(kind, note=note, velocity=max(1, min(127, velocity)) if velocity else 0,
                                      channel=channel, time=tick - clock))
            clock = tick
        file.tracks.append(track)
    out = io.BytesIO()
    file.save(file=out)
    return out.getvalue(), {"key": f"{tonic} {mode}", "tempo": tempo, "bars": bars, "programs": list(programs),
                            "progression": progression}


class ProceduralComposer(ComposerBackend):
    """Rule-composed pieces played by FluidSynth; its options are the fields of `Options` below."""

    name = "procedural"
    kind = "procedural"

    class Options(BackendOptions):
        soundfont: str | None = Field(None, description="a General MIDI .sf2 file (none: Debian's fluid-soundfont-gm)")
        gain: float = Field(0.5, gt=0, le=5, description="FluidSynth's output gain")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._program: str | None = None
        self._soundfont: Path | None = None

    @property
    def model_id(self) -> str:
        return f"procedural+fluidsynth:{self._soundfont.name if self._soundfont else 'GM soundfont'}"

    def setup(self) -> None:
        try:
            import mido  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable("mido is not installed (the composer writes MIDI with it)",
                                     fix=install_hint("embedded")) from exc
        self._program = shutil.which("fluidsynth")
        if self._program is None:
            raise BackendUnavailable("the fluidsynth program is not installed (it plays the composed music)", fix=APT_FIX)
        candidates = [self.options.soundfont] if self.options.soundfont else SOUNDFONTS
        found = next((Path(c).expanduser() for c in candidates if Path(c).expanduser().is_file()), None)
        if found is None:
            raise BackendUnavailable(f"no General MIDI soundfont found (looked for {', '.join(candidates)})", fix=APT_FIX)
        self._soundfont = found

    def compose(self, request: MusicRequest) -> MusicResult:
        import numpy as np

        if not 1 <= request.seconds <= 600:
            raise InvalidInput(f"a piece of {request.seconds:g} s", fix="ask for 1 to 600 seconds")
        self.ensure_setup()

        def run():
            midi, notes = compose_midi(request)
            with tempfile.TemporaryDirectory(prefix="storyteller-music-") as tmp:
                source, target = Path(tmp) / "piece.mid", Path(tmp) / "piece.wav"
                source.write_bytes(midi)
                done = subprocess.run([self._program, "-ni", "-q", "-g", str(self.options.gain), "-r", str(SAMPLE_RATE),
                                       "-T", "wav", "-F", str(target), str(self._soundfont), str(source)],
                                      capture_output=True, text=True, timeout=300)
                if done.returncode != 0 or not target.is_file():
                    raise BackendCallError(f"fluidsynth could not play the piece: {(done.stderr or done.stdout).strip()[-500:]}")
                samples, rate = read_wav(target.read_bytes())
            length = int(request.seconds * rate)
            samples = np.pad(samples, (0, max(0, length - len(samples))))[:length]
            fade = min(len(samples), int(1.5 * rate))  # the piece is cut to the asked length: it ends softly
            samples[len(samples) - fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
            return samples, rate, midi, notes

        (samples, rate, midi, notes), provenance = self.timed(
            "compose", run, seed=request.seed, prompt=request.mood,
            parameters={"mood": request.mood, "seconds": request.seconds, "soundfont": str(self._soundfont)})
        provenance.parameters.update(notes)
        return MusicResult(samples=samples, sample_rate=rate, midi=midi, key=notes["key"], tempo=notes["tempo"],
                           provenance=provenance)
