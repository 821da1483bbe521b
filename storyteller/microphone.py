"""The microphone, where a machine has one: found honestly, recorded with ALSA's `arecord`.

A recording is a temporary WAV file that the caller transcribes and deletes; nothing of it is
kept in the story (the transcript is, with the transcription's provenance).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from storyteller.errors import InvalidInput

ALSA_PCM = Path("/proc/asound/pcm")
MAX_SECONDS = 60


def capture_devices() -> list[str]:
    """The audio input devices ALSA knows ("00-00: USB Audio : USB Audio : capture 1"), none if it knows none."""
    try:
        return [line.strip() for line in ALSA_PCM.read_text().splitlines() if "capture" in line]
    except OSError:  # no ALSA at all (a container, another OS)
        return []


def why_no_microphone() -> str | None:
    """None when a microphone can be recorded from here; else why not, in words."""
    if not capture_devices():
        return f"this machine has no audio input device (ALSA lists no capture device in {ALSA_PCM})"
    if shutil.which("arecord") is None:
        return "arecord is not installed (Debian package alsa-utils), so the microphone cannot be recorded"
    return None


class Recording:
    """Push-to-talk: `start()` records from the default input device until `stop()`, at most MAX_SECONDS."""

    def __init__(self) -> None:
        why = why_no_microphone()
        if why:
            raise InvalidInput(why, fix="record a WAV file elsewhere and give it with --say FILE (/say FILE in play)")
        self.path = Path(tempfile.mkdtemp(prefix="storyteller-mic-")) / "said.wav"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(["arecord", "-q", "-f", "S16_LE", "-r", "16000", "-c", "1", "-d", str(MAX_SECONDS),
                                          str(self.path)], stderr=subprocess.PIPE)

    def stop(self) -> Path:
        """Stop recording (arecord finishes the WAV header on SIGINT); the WAV's path."""
        import signal

        if self._process is None:
            raise InvalidInput("nothing was recorded")
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        try:
            _, error = self._process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, error = self._process.communicate()
        if not self.path.is_file() or self.path.stat().st_size <= 44:
            raise InvalidInput(f"the microphone gave no sound ({(error or b'').decode(errors='replace').strip() or 'empty recording'})")
        return self.path

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)
