"""Any OpenAI-compatible server as the story LLM, VQA model, captioner or narrator.

One client serves every server that speaks the OpenAI chat API: OpenAI itself, Ollama
(`http://127.0.0.1:11434/v1`), vLLM (`vllm serve ORG/NAME`, port 8000), llama.cpp's servers
(`python -m llama_cpp.server` or `llama-server`, port 8000). The `openai` package is imported
lazily (extra "openai"), so configuring this backend costs nothing until it is used.

JSON output: servers differ in how they accept a schema, so the option `json_mode` says which
form this server understands:
  - "json_schema": OpenAI, vLLM, Ollama >= 0.5: response_format {"type": "json_schema", ...}
  - "json_object": llama.cpp servers: response_format {"type": "json_object", "schema": ...}
  - "none" (default): the server cannot constrain decoding; `supports_json_schema` is False and
    the caller (the planner) describes the schema in the prompt and re-asks on invalid JSON.

Narration: `POST /v1/audio/speech` (OpenAI's speech API, also served by Kokoro-FastAPI, CosyVoice
and other open TTS servers) with `response_format: "wav"`. Which voices the server has and which
story languages they speak are options, since the API has no way to list them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from storyteller.backends.base import (AudioResult, BackendOptions, CaptionerBackend, Completion, LLMBackend,
                                       NarratorBackend, TextResult, ToolCall, Usage, VoiceSpec, VQABackend,
                                       read_tool_answer, tool_names)
from storyteller.backends.speakers import check_languages
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
# A streamed completion is read until the server ends it, but never past these bounds per max_tokens
# token: a server that ignores max_tokens (or sends one character per chunk forever) would otherwise
# keep a story waiting for ever. Generous, so that a server honouring max_tokens never reaches them.
STREAM_CHUNKS_PER_TOKEN = 4
STREAM_CHARS_PER_TOKEN = 64
# The `json_mode` option: how this server takes a JSON schema (see the module docstring).
JsonMode = Literal["none", "json_schema", "json_object"]
START_SERVER_HINT = (
    "start an OpenAI-compatible server there, e.g. `python -m llama_cpp.server --model FILE.gguf --port 8000`, "
    "`ollama serve` (then base_url=http://127.0.0.1:11434/v1) or `vllm serve ORG/NAME`, "
    "or set the backend option base_url to the server you run"
)
DESCRIBE_PROMPT = "Describe this picture in one or two sentences."


def image_data_url(image) -> str:
    """A PIL image (or a path to one) as a PNG data URL, the form vision chat APIs accept inline."""
    from storyteller.backends.hf_common import as_rgb_image

    buffer = io.BytesIO()
    as_rgb_image(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class _ClientOptions(BackendOptions):
    """The connection options every role of this backend has."""

    base_url: str = Field(DEFAULT_BASE_URL, description="the server's OpenAI API root, e.g. http://127.0.0.1:11434/v1")
    model: str | None = Field(None, description="the served model's name (none: the first the server lists)")
    api_key_env: str = Field("OPENAI_API_KEY", description=(
        "the environment variable holding the API key (local servers need none)"))
    # Seconds per request. Above an hour a request is a hung server, not a slow model.
    timeout: float = Field(120.0, gt=0, le=3600, description="seconds to wait for one request")
    # Each retry may wait a whole timeout again: ten already keep a story waiting ten times as long.
    max_retries: int = Field(2, ge=0, le=10, description=(
        "retries of a failed request (no connection, a timeout, an HTTP 429 or 5xx answer)"))

    @field_validator("base_url")
    @classmethod
    def _an_http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL such as {DEFAULT_BASE_URL}")
        return value.strip()

    @field_validator("api_key_env")
    @classmethod
    def _a_variable_name(cls, value: str) -> str:
        # The key itself never goes in a config file: this names the variable that holds it.
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("api_key_env is the name of an environment variable, such as OPENAI_API_KEY "
                             "(not the key itself)")
        return value


class _OpenAIClientMixin:
    """Connection handling shared by the three roles: options, lazy client, error translation."""

    name = "openai"
    served = True
    start_hint = START_SERVER_HINT

    def _init_client_options(self) -> None:
        o = self.options
        self.base_url = o.base_url.rstrip("/")
        self._model = o.model
        self.api_key_env = o.api_key_env
        self.timeout = float(o.timeout)
        self.max_retries = int(o.max_retries)
        self._client = None

    @property
    def model_id(self) -> str:
        return f"{self._model or '(server default)'} @ {self.base_url}"

    def _connect(self) -> None:
        try:
            import openai
        except ImportError as exc:
            raise BackendUnavailable("the openai package is not installed", fix=install_hint("openai")) from exc
        # Local servers need no key; the client library insists on a non-empty one all the same.
        api_key = os.environ.get(self.api_key_env) or "not-needed"
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=self.timeout,
                                     max_retries=self.max_retries)
        # Probe once, without retries, so a missing server is reported at load time with the URL.
        try:
            listed = [m.id for m in self._client.with_options(max_retries=0).models.list()]
        except openai.APIStatusError as exc:
            if exc.status_code not in (404, 405, 501):
                raise self._translate(exc) from exc
            listed = []  # some servers (speech ones most of all) do not implement /models; the first call will tell
        except Exception as exc:
            raise self._translate(exc) from exc
        if self._model is None:
            if not listed:
                raise BackendUnavailable(f"the server at {self.base_url} lists no models",
                                         fix="set the backend option model to the model name the server serves")
            self._model = listed[0]

    def _translate(self, exc: Exception) -> Exception:
        """Map the client's exceptions onto storyteller's: unreachable/unauthorised -> unavailable."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return BackendCallError(f"{self.base_url} did not answer within {self.timeout:g} s",
                                    fix="raise the backend option timeout, or use a smaller model")
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailable(f"cannot connect to an OpenAI-compatible server at {self.base_url}: {exc}",
                                      fix=self.start_hint)
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return BackendUnavailable(f"{self.base_url} refused the API key: {exc}",
                                      fix=f"export {self.api_key_env}=YOUR_KEY (or set api_key_env to the variable holding it)")
        if isinstance(exc, openai.NotFoundError):
            return BackendUnavailable(f"{self.base_url} does not serve model {self._model!r}: {exc}",
                                      fix="set the backend option model to a name listed at BASE_URL/models")
        if isinstance(exc, openai.APIStatusError):
            return BackendCallError(f"{self.base_url} answered HTTP {exc.status_code}: {exc.message}")
        return exc

    def _chat(self, **kwargs) -> Any:
        try:
            return self._client.chat.completions.create(model=self._model, **kwargs)
        except Exception as exc:
            raise self._translate(exc) from exc


class OpenAICompatLLM(_OpenAIClientMixin, LLMBackend):
    """A chat model behind an OpenAI-compatible server; its options are the fields of `Options` below.
    Tools go to the server as `tools`/`tool_choice` and come back as its `tool_calls`."""

    supports_tools = True

    class Options(_ClientOptions):
        json_mode: JsonMode = Field("none", description=(
            "how the server takes a JSON schema: json_schema (OpenAI, vLLM, Ollama), json_object (llama.cpp's "
            "servers), none (it cannot: the schema is described in the prompt)"))
        # The planner keeps a third of the context for the story so far (agent/graph.py), and a
        # page's prompt with its schema needs a few hundred tokens besides: below 512 nothing fits.
        context_length: int = Field(4096, ge=512, description="the served model's context, in tokens")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._init_client_options()
        self.json_mode = self.options.json_mode
        self._context_length = self.options.context_length

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def supports_json_schema(self) -> bool:
        return self.json_mode != "none"

    def setup(self) -> None:
        self._connect()

    def _response_format(self, schema: dict) -> dict | None:
        if self.json_mode == "json_schema":
            name = str(schema.get("title") or "response")
            name = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64]
            return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
        if self.json_mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return None  # cannot constrain: the caller described the schema in its prompt

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None,
                 on_text: Callable[[str], None] | None = None, tools=None, tool_choice="auto") -> Completion:
        # include_usage: the last chunk carries the server's token counts (vLLM, llama.cpp's server,
        # Ollama and OpenAI send it; a server that does not simply sends no usage chunk).
        kwargs: dict[str, Any] = dict(messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True,
                                      stream_options={"include_usage": True})
        if seed is not None:
            kwargs["seed"] = seed
        if json_schema is not None and (fmt := self._response_format(json_schema)) is not None:
            kwargs["response_format"] = fmt
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = tool_choice if tool_choice in ("auto", "required") else \
                {"type": "function", "function": {"name": tool_choice}}

        cut_off: list[str] = []
        # Streamed tool calls arrive in pieces, by index: the id and name once (llama.cpp's server
        # repeats them in every piece), the arguments as fragments of one JSON text.
        streamed: dict[int, dict[str, str]] = {}

        def run() -> tuple[str, Usage]:
            pieces: list[str] = []
            chars = 0
            reported = None
            first = None
            started = time.perf_counter()
            stream = self._chat(**kwargs)
            try:
                for chunk in stream:
                    if getattr(chunk, "usage", None) is not None and chunk.usage.completion_tokens:
                        reported = chunk.usage
                    if not chunk.choices:
                        continue
                    for piece in (chunk.choices[0].delta.tool_calls if chunk.choices[0].delta else None) or ():
                        call = streamed.setdefault(piece.index or 0, {"id": "", "name": "", "arguments": ""})
                        call["id"] = call["id"] or (piece.id or "")
                        if piece.function is not None:
                            call["name"] = call["name"] or (piece.function.name or "")
                            call["arguments"] += piece.function.arguments or ""
                    delta = chunk.choices[0].delta.content if chunk.choices[0].delta else None
                    if delta:
                        if first is None:
                            first = time.perf_counter() - started
                        pieces.append(delta)
                        chars += len(delta)
                        if on_text is not None:
                            on_text(delta)
                        if len(pieces) > STREAM_CHUNKS_PER_TOKEN * max_tokens or chars > STREAM_CHARS_PER_TOKEN * max_tokens:
                            # A server that ignores max_tokens would stream forever: stop reading.
                            cut_off.append(f"stopped after {len(pieces)} chunks ({chars} characters): "
                                           f"the server kept sending past max_tokens={max_tokens}")
                            break
            except Exception as exc:
                raise self._translate(exc) from exc
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # hang up on a stream that is still sending
            return "".join(pieces), _usage(reported, len(pieces), first)

        (text, usage), provenance = self.timed(
            "complete", run, seed=seed, prompt=messages[-1].get("content") or "",
            parameters={"max_tokens": max_tokens, "temperature": temperature, "json_schema": json_schema is not None,
                        "base_url": self.base_url,
                        **({"tools": tool_names(tools), "tool_choice": tool_choice} if tools else {})},
            usage=lambda r: r[1],
        )
        if cut_off:
            provenance.parameters["truncated"] = cut_off[0]
        calls = [_native_call(c) for _, c in sorted(streamed.items())]
        if tools and not calls:
            # A server whose template has no tool format (or a model that ignores it) writes the
            # call as JSON text: read it, and say so in the provenance.
            text, calls = read_tool_answer(text, tools)
            if calls:
                provenance.parameters["tool_call_from_text"] = True
        return Completion(text=text, output_tokens=usage.completion_tokens, provenance=provenance, usage=usage,
                          tool_calls=calls)


def _native_call(call: dict[str, str]) -> ToolCall:
    """A streamed tool call; arguments that are not a JSON object are kept as text under "_raw",
    so the caller's validation reports them (and re-asks) instead of a crash here."""
    try:
        arguments = json.loads(call["arguments"] or "{}")
    except ValueError:
        arguments = {"_raw": call["arguments"]}
    if not isinstance(arguments, dict):
        arguments = {"_raw": call["arguments"]}
    return ToolCall(name=call["name"], arguments=arguments, id=call["id"])


def _usage(reported, chunks: int, first_token_s: float | None) -> Usage:
    """The server's own counts when it sends them (`stream_options.include_usage`; vLLM and
    llama.cpp's server do; cached prompt tokens where it reports them), else one token per chunk."""
    if reported is None:
        return Usage(completion_tokens=chunks, first_token_s=first_token_s)
    details = getattr(reported, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    prompt = getattr(reported, "prompt_tokens", None)
    return Usage(completion_tokens=reported.completion_tokens, prompt_tokens=prompt, first_token_s=first_token_s,
                 prompt_evaluated=None if prompt is None or cached is None else prompt - cached)


class OpenAICompatVQA(_OpenAIClientMixin, VQABackend):
    """Visual questions to a vision chat model behind an OpenAI-compatible server (the image goes
    inline as a PNG data URL); its options are the fields of `Options` below."""

    class Options(_ClientOptions):
        max_tokens: int = Field(128, ge=1, description="most tokens per answer or caption")
        # The OpenAI API's own range: 0 (greedy) to 2.
        temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature (0: greedy)")
        seed: int | None = Field(0, ge=0, description="sent with each request (none: not sent)")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._init_client_options()
        self.max_tokens = self.options.max_tokens
        self.temperature = self.options.temperature
        self.seed = self.options.seed
        # A VQA backend may be shared by concurrent stories; the client is thread-safe, this only
        # keeps request bodies from being built for two images at once on tiny machines.
        self._lock = threading.Lock()

    def setup(self) -> None:
        self._connect()

    def answer(self, image, question: str) -> TextResult:
        if not question or not question.strip():
            raise InvalidInput("the question is empty")
        return self._ask(image, question.strip(), operation="answer")

    def _ask(self, image, text: str, *, operation: str) -> TextResult:
        url = image_data_url(image)
        messages = [{"role": "user", "content": [
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": url}},
        ]}]
        kwargs: dict[str, Any] = dict(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature)
        if self.seed is not None:
            kwargs["seed"] = self.seed

        def run() -> str:
            with self._lock:
                response = self._chat(**kwargs)
            if not response.choices:
                raise BackendCallError(f"{self.base_url} returned no choices")
            return (response.choices[0].message.content or "").strip()

        text_out, provenance = self.timed(
            operation, run, seed=self.seed, prompt=text,
            parameters={"max_tokens": self.max_tokens, "temperature": self.temperature, "base_url": self.base_url},
        )
        return TextResult(text=text_out, provenance=provenance)


class OpenAICompatCaptioner(OpenAICompatVQA, CaptionerBackend):
    """Captions by asking the served vision model to describe the picture (or the given prompt)."""

    role = "captioner"

    def caption(self, image, prompt: str | None = None) -> TextResult:
        return self._ask(image, (prompt or "").strip() or DESCRIBE_PROMPT, operation="caption")


# OpenAI's own voices; another server's are named in the `voices` option.
OPENAI_VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")


class OpenAICompatNarrator(_OpenAIClientMixin, NarratorBackend):
    """Narration by a speech server (`/v1/audio/speech`); its options are the fields of `Options`
    below (the API cannot list a server's voices, so they are named there).

    A voice's pace is the API's `speed`; its pitch is shifted here by resampling, as for every
    embedded engine, so the characters' voices differ the same way whatever speaks them."""

    MIN_SPEED, MAX_SPEED = 0.25, 4.0  # the API's bounds
    start_hint = ("start a speech server with OpenAI's /v1/audio/speech there (Kokoro-FastAPI, a CosyVoice "
                  "OpenAI front end, or OpenAI itself with base_url=https://api.openai.com/v1), "
                  "or set the narrator option base_url to the server you run")

    class Options(_ClientOptions):
        model: str = Field("tts-1", min_length=1, description="the speech model's name on the server")
        voices: list[str] = Field(default_factory=lambda: list(OPENAI_VOICES), description=(
            "the server's voice names, most neutral first: the first narrates"))
        languages: Annotated[list[str], AfterValidator(check_languages)] = Field(default_factory=list, description=(
            'the story languages the voices speak, e.g. ["zh"] (empty: they are offered for any story)'))

        @field_validator("voices", mode="before")
        @classmethod
        def _a_list(cls, value: Any) -> Any:
            if isinstance(value, str):  # one name where a list was meant: not a list of its letters
                raise ValueError(f'voices must be a list of the server\'s voice names, such as ["{value}"]')
            return value

        @field_validator("voices")
        @classmethod
        def _names(cls, value: list[str]) -> list[str]:
            names = [v.strip() for v in value]
            if not names or not all(names):
                raise ValueError("voices must be a list of the server's voice names, none of them empty")
            return names

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._init_client_options()
        self._voice_names = list(self.options.voices)
        self.languages = tuple(self.options.languages)

    def setup(self) -> None:
        self._connect()

    def voices(self) -> list[VoiceSpec]:
        return [VoiceSpec(name, speaker=f"{self.name}:{name}", languages=self.languages) for name in self._voice_names]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        from storyteller.backends.speakers import _check_text, _voice_parameters, engine_pace, pitch_factor, resample

        _check_text(text)
        voice = voice or self.voices()[0]
        if voice.voice_id not in self._voice_names:
            raise InvalidInput(f"voice {voice.voice_id!r} is not one of the speech server's voices "
                               f"({', '.join(self._voice_names)}); the narrator option voices names them")
        speed = min(self.MAX_SPEED, max(self.MIN_SPEED, engine_pace(voice)))

        def run():
            try:
                response = self._client.audio.speech.create(model=self._model, voice=voice.voice_id, input=text,
                                                            response_format="wav", speed=speed)
                body = response.content if hasattr(response, "content") else response.read()
            except Exception as exc:
                raise self._translate(exc) from exc
            samples, rate = _decode_wav(body, self.base_url)
            return resample(samples, pitch_factor(voice)), rate

        (samples, rate), provenance = self.timed(
            "synthesize", run, prompt=text,
            parameters={**_voice_parameters(voice), "speed": round(speed, 4), "base_url": self.base_url})
        return AudioResult(samples=samples, sample_rate=rate, provenance=provenance)


def _decode_wav(body: bytes, base_url: str):
    """(float32 mono samples, sample rate) of a WAV answer; a clear error for anything else."""
    import wave

    import numpy as np

    try:
        with wave.open(io.BytesIO(body)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            # Streaming servers write an unknown length into the header; read what arrived.
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        start = body[:40].decode("utf-8", "replace")
        raise BackendCallError(f"{base_url}/audio/speech did not answer with a WAV file ({exc}): {start!r}",
                               fix="use a speech server that supports response_format \"wav\"") from exc
    if width != 2:
        raise BackendCallError(f"{base_url}/audio/speech answered {8 * width}-bit audio; 16-bit PCM WAV is read")
    samples = np.frombuffer(frames[: len(frames) // (2 * channels) * 2 * channels], dtype="<i2").astype(np.float32) / 32768
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if not len(samples):
        raise BackendCallError(f"{base_url}/audio/speech answered a WAV file with no audio")
    return samples.astype(np.float32), rate
