"""What a backend is: one model family serving one role, loaded on first use.

Backends know nothing about stories. Inputs in (text, PIL images, plain request objects), outputs
out, each output with its Provenance. Every model call goes through `Backend.timed()`, the one
instrumented path that measures the call, builds its provenance and emits a ModelCall event.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from storyteller.errors import ConfigError
from storyteller.events import ModelCall, emit
from storyteller.story import Provenance, Shot

# A role's name ("llm", "narrator", a plugin's role). The roles are the registry's: each is declared
# once, with `registry.add_role` (storyteller.backends; the built-in ones in builtin.py).
Role = str

T = TypeVar("T")

# Whose model calls these are: the story folder being worked on (the runner sets it around each
# request; a Ray actor sets it from the task's), None outside any story. A backend that keeps
# state from one call to the next (llama.cpp's KV cache) keeps it per caller, so each story's
# calls give what they give when it runs alone, however many stories share the backend.
caller: ContextVar[str | None] = ContextVar("storyteller_caller", default=None)


class BackendOptions(BaseModel):
    """What a backend can be configured with (`[role.options]` in the config): each backend
    declares its own subclass as `Options`, with defaults, bounds and allowed values, so a bad
    value is refused before any weights load and an unknown key is never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())


def options_error(backend: type[Backend], exc: ValidationError) -> ConfigError:
    """A pydantic error on a backend's options, as the ConfigError a user reads: which role,
    backend and option, what is wrong, and what is allowed."""
    fields = backend.Options.model_fields
    lines = []
    for error in exc.errors():
        option = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            lines.append(f"{option}: no such option (options: {', '.join(fields) or 'none'})")
        elif option:
            lines.append(f"{option} = {error.get('input')!r}: {message}")
        else:  # a rule about several options together
            lines.append(message)
    where = f"{backend.role}.options" if hasattr(backend, "role") else "options"
    return ConfigError(
        f"bad options for the {getattr(backend, 'role', '?')} backend {getattr(backend, 'name', backend.__name__)!r}: "
        + "; ".join(lines),
        fix=f"correct {where} in your config (`storyteller doctor` lists each backend's options)",
    )


# Each role's interface, registered by its class statement (Backend.__init_subclass__): its
# backends' constructor parameters named after a role are the backends they are built on.
_ROLE_BASES: dict[str, type] = {}


def _options_from_signature(cls: type) -> type[BackendOptions] | None:
    """An Options model with a field per keyword parameter of `cls.__init__`, on top of the
    parent's model where it passes **options on (None: the parent's model as it is). Parameters
    named after a role are the backends it is built on (`uses`), not options."""
    import inspect
    import typing

    from pydantic import create_model

    signature = inspect.signature(cls.__init__)
    # **options passed on to the parent: the parent's options, and these parameters besides.
    base = cls.Options if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()) \
        else BackendOptions
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that cannot be resolved: its type is not checked
        hints = {}
    fields = {
        name: (hints.get(name, Any), ... if p.default is inspect.Parameter.empty else p.default)
        for name, p in list(signature.parameters.items())[1:]
        if name not in _ROLE_BASES and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    if base is not BackendOptions and not fields:
        return None  # the parent's model as it is
    return create_model(f"{cls.__name__}Options", __base__=base, __module__=cls.__module__, **fields)


class Backend(abc.ABC):
    """Base of every backend. Construction is cheap; `setup()` loads the model on first use.

    Options arrive as keyword arguments (from the config, or from code that builds a backend
    itself) and are checked against the class's `Options` model; `self.options` is that model's
    instance, read-only."""

    role: ClassVar[Role]
    name: ClassVar[str]
    kind: ClassVar[Literal["neural", "procedural", "classical"]] = "neural"
    # True where the model runs in a server that this backend is only a client of (an
    # OpenAI-compatible endpoint): nothing is loaded or worth sharing, so a Ray batch gives each
    # task its own client instead of hosting the backend in an actor (storyteller.cluster).
    served: ClassVar[bool] = False
    Options: ClassVar[type[BackendOptions]] = BackendOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The first class that names a role is that role's interface (LLMBackend, NarratorBackend,
        # a plugin's own): what `registry.add_role(..., base=)` points at.
        role = cls.__dict__.get("role")
        if isinstance(role, str):
            _ROLE_BASES.setdefault(role, cls)
        # A backend that takes its options as typed keyword parameters and declares no Options
        # model gets one read from that signature (types and defaults), so it too refuses an
        # unknown key and a value of the wrong type; bounds are the model's to declare.
        if "Options" not in cls.__dict__ and "__init__" in cls.__dict__:
            derived = _options_from_signature(cls)
            if derived is not None:
                cls.Options = derived

    def __init__(self, **options: Any):
        try:
            self.options = self.Options(**options)
        except ValidationError as exc:
            raise options_error(type(self), exc) from None
        self._setup_lock = threading.Lock()
        self._ready = False
        self.load_seconds: float | None = None

    @property
    @abc.abstractmethod
    def model_id(self) -> str:
        """The model's hub id, file or directory (what provenance records)."""

    def setup(self) -> None:
        """Load weights. Raise BackendUnavailable with a fix when that is impossible."""

    def ensure_setup(self) -> None:
        if self._ready:
            return
        with self._setup_lock:
            if not self._ready:
                started = time.perf_counter()
                self.setup()
                self.load_seconds = time.perf_counter() - started
                emit(
                    ModelCall(
                        role=self.role, operation="load", backend=self.name, model=self.model_id,
                        duration_s=self.load_seconds, thread=threading.current_thread().name, started_at=started,
                    )
                )
                self._ready = True

    def timed(
        self,
        operation: str,
        call: Callable[[], T],
        *,
        seed: int | None = None,
        prompt: str | None = None,
        parameters: dict[str, Any] | None = None,
        usage: Callable[[T], Usage | None] = lambda _: None,
    ) -> tuple[T, Provenance]:
        """Run one model call: load if needed, time it, record provenance (with the call's token
        usage, when `usage` reads it from the result), emit an event."""
        self.ensure_setup()
        started = time.perf_counter()
        result = call()
        duration = time.perf_counter() - started
        counted = usage(result)
        emit(
            ModelCall(
                role=self.role, operation=operation, backend=self.name, model=self.model_id,
                duration_s=duration, thread=threading.current_thread().name, started_at=started,
                **(counted.event_fields() if counted else {}),
            )
        )
        parameters = dict(parameters or {})
        if counted is not None:
            parameters["usage"] = counted.as_dict()
        provenance = Provenance(
            backend=self.name, model=self.model_id, kind=self.kind, seed=seed, prompt=prompt,
            parameters=parameters, duration_s=round(duration, 4),
        )
        return result, provenance

    def describe(self) -> str:
        return f"{self.name} ({self.kind}) {self.model_id}"


# ---------------------------------------------------------------------------------------------
# Role interfaces. Outputs are plain dataclasses so a backend could equally run remotely.
# ---------------------------------------------------------------------------------------------
@dataclass
class Usage:
    """What one generation cost, as the backend counted it. `prompt_evaluated` is the part of the
    prompt the model actually computed: servers and llama.cpp reuse a cached prefix (the system
    prompt, the story so far), so it can be far below `prompt_tokens`; it is what prefill time
    depends on. None where a backend cannot know."""

    completion_tokens: int
    prompt_tokens: int | None = None
    prompt_evaluated: int | None = None
    first_token_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items() if v is not None}

    def event_fields(self) -> dict[str, Any]:
        return {"output_tokens": self.completion_tokens, "prompt_tokens": self.prompt_tokens,
                "prompt_evaluated": self.prompt_evaluated, "first_token_s": self.first_token_s}


@dataclass
class ToolCall:
    """A tool the model asked for: its name and arguments (validated by the caller, which knows the
    tool's schema). `id` pairs the call with its result where the server gives one."""

    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class Completion:
    text: str
    output_tokens: int
    provenance: Provenance
    usage: Usage | None = None
    # What the model called instead of (or besides) writing text, when it was offered tools.
    tool_calls: list[ToolCall] = field(default_factory=list)


# A tool offered to an LLM, in the OpenAI form every backend takes:
# {"type": "function", "function": {"name": ..., "description": ..., "parameters": JSON schema}}.
ToolSpec = dict[str, Any]


def tool_names(tools: list[ToolSpec]) -> list[str]:
    return [t["function"]["name"] for t in tools]


def extract_json(text: str) -> str:
    """The JSON object in a reply that may wrap it in prose or a ``` fence (else the text from the
    first "{" to the last "}", for the parser to say what is wrong with it)."""
    import json
    import re

    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1)
    # A model that copied its template's "{{" doubles the opening brace: the object is the one
    # that a brace of that run opens. (An object inside a broken one is not taken for it.)
    run = re.search(r"\{[\s{]*", text)
    if run:
        decoder = json.JSONDecoder()
        for found in re.finditer(r"\{", run.group()):
            try:
                value, end = decoder.raw_decode(text, run.start() + found.start())
            except ValueError:
                continue
            if isinstance(value, dict):
                return text[run.start() + found.start():end]
    start = text.find("{")
    end = text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("no JSON object in the reply")
    return text[start : end + 1]


def chosen_tools(tools: list[ToolSpec], tool_choice: str) -> list[ToolSpec]:
    """The tools a model may call under `tool_choice` ("auto", "required": all; else the one named)."""
    return [t for t in tools if tool_choice in ("auto", "required") or t["function"]["name"] == tool_choice]


def parse_tool_call(text: str, tools: list[ToolSpec]) -> ToolCall | None:
    """A tool call a model wrote as text: `{"name": ..., "arguments": {...}}` (Hermes, Qwen, SmolLM
    templates, optionally inside <tool_call> tags or a ``` fence) or `{"tool": ..., "arguments": ...}`
    (the llama.cpp backend's grammar). None when the text is not a call of one of `tools`."""
    import json
    import re

    match = re.search(r"<tool_call>(.*?)(?:</tool_call>|$)", text, re.S)
    try:
        value = json.loads(extract_json(match.group(1) if match else text))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    name = value.get("name", value.get("tool"))
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # some templates write the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if name not in tool_names(tools) or not isinstance(arguments, dict):
        return None
    return ToolCall(name=name, arguments=arguments)


def tool_schema(tools: list[ToolSpec], tool_choice: str = "auto") -> dict[str, Any]:
    """One JSON schema for "call one of these tools, or reply": the union of `{"tool": NAME,
    "arguments": <its parameters>}` objects, plus `{"reply": text}` when `tool_choice` is "auto".
    Under a grammar a model can then only name a tool that exists, with arguments of the right
    shape (what a tool's own checks refuse is still re-asked by the caller)."""
    chosen = chosen_tools(tools, tool_choice)
    if not chosen:
        raise ValueError(f"tool_choice {tool_choice!r} names none of the tools ({', '.join(tool_names(tools))})")
    alternatives: list[dict[str, Any]] = [
        {"type": "object", "additionalProperties": False, "required": ["tool", "arguments"],
         "properties": {"tool": {"const": t["function"]["name"]},
                        "arguments": _unbounded(t["function"].get("parameters") or {"type": "object", "properties": {}})}}
        for t in chosen]
    if tool_choice == "auto":
        alternatives.append({"type": "object", "additionalProperties": False, "required": ["reply"],
                             "properties": {"reply": {"type": "string"}}})
    return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def _unbounded(schema: Any) -> Any:
    """A schema without string length bounds: llama.cpp compiles `maxLength: 1000` into a rule
    repeated a thousand times and refuses the grammar; the tool's own validation checks lengths."""
    if isinstance(schema, dict):
        return {k: _unbounded(v) for k, v in schema.items() if k not in ("maxLength", "minLength", "title")}
    if isinstance(schema, list):
        return [_unbounded(v) for v in schema]
    return schema


def tool_prompt(tools: list[ToolSpec], tool_choice: str = "auto") -> str:
    """The tools described for a model that reads them from its prompt (no tool-aware template)."""
    lines = ["You can call these tools. Answer with one JSON object: "
             '{"tool": NAME, "arguments": {...}} to call one'
             + (', or {"reply": TEXT} to answer in words.' if tool_choice == "auto" else ".")]
    for t in tools:
        f = t["function"]
        params = (f.get("parameters") or {}).get("properties", {})
        described = ", ".join(f"{k}: {v.get('description') or v.get('type', 'value')}" for k, v in params.items())
        lines.append(f"- {f['name']}({described}): {f.get('description', '')}")
    if tool_choice not in ("auto", "required"):
        lines.append(f"Call {tool_choice}.")
    return "\n".join(lines)


def with_tool_prompt(messages: list[dict[str, str]], tools: list[ToolSpec], tool_choice: str) -> list[dict[str, str]]:
    """`messages` with the tools described at the end of the system message (one is added if none)."""
    described = tool_prompt(tools, tool_choice)
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + described}, *messages[1:]]
    return [{"role": "system", "content": described}, *messages]


def read_tool_answer(text: str, tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
    """(reply, calls) from a model's answer to a tool prompt: a call of one of `tools`, else the
    `reply` of a {"reply": ...} object, else the text itself."""
    import json

    call = parse_tool_call(text, tools)
    if call is not None:
        return "", [call]
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip(), []
    if isinstance(value, dict) and isinstance(value.get("reply"), str):
        return value["reply"].strip(), []
    return text.strip(), []


def text_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A conversation with tool calls and tool results, as plain user/assistant text, for a model
    whose chat template has no tool roles: a call becomes the JSON the model wrote, a result a
    user message that says which tool it came from."""
    import json

    plain: list[dict[str, str]] = []
    for m in messages:
        if m.get("role") == "tool":
            plain.append({"role": "user", "content": f"Result of the tool {m.get('name', '')}:\n{m['content']}"})
        elif m.get("tool_calls"):
            calls = [{"tool": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
                     for c in m["tool_calls"]]
            plain.append({"role": "assistant", "content": json.dumps(calls[0] if len(calls) == 1 else calls)})
        else:
            plain.append({"role": m["role"], "content": m.get("content") or ""})
    return plain


class LLMBackend(Backend):
    role: ClassVar[Role] = "llm"

    @property
    def context_length(self) -> int:
        return 4096

    @property
    def supports_json_schema(self) -> bool:
        """True when `json_schema` constrains decoding; otherwise it is only described in the prompt."""
        return False

    # Whether `complete(tools=...)` can answer with tool calls (every built-in LLM backend can).
    supports_tools: ClassVar[bool] = False

    @abc.abstractmethod
    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
        json_schema: dict | None = None,
        on_text: Callable[[str], None] | None = None,
        tools: list[ToolSpec] | None = None,
        tool_choice: str = "auto",
    ) -> Completion:
        """Chat completion. `on_text` receives text deltas as they are generated.

        With `tools` (ToolSpec, the OpenAI form) the model either writes a reply (`.text`) or calls
        tools (`.tool_calls`, arguments as the model gave them: the caller validates them against
        the tool's schema). `tool_choice`: "auto" (reply or call), "required" (a call), or a
        tool's name (a call of that tool). `messages` may hold the assistant's earlier calls
        (`tool_calls`) and their results (role "tool")."""


@dataclass
class TextResult:
    text: str
    provenance: Provenance
    details: dict[str, Any] = field(default_factory=dict)


class CaptionerBackend(Backend):
    role: ClassVar[Role] = "captioner"

    @abc.abstractmethod
    def caption(self, image, prompt: str | None = None) -> TextResult: ...


class VQABackend(Backend):
    role: ClassVar[Role] = "vqa"

    @abc.abstractmethod
    def answer(self, image, question: str) -> TextResult: ...


@dataclass
class Detection:
    """A person or animal found in a picture; the box is (x0, y0, x1, y1) as fractions of its size."""

    label: str  # "person", "cat", "dog", "face", ...
    box: tuple[float, float, float, float]
    score: float | None = None


@dataclass
class DetectionResult:
    detections: list[Detection]
    provenance: Provenance


class DetectorBackend(Backend):
    """Finds the people and animals in a picture (who could speak in a photo scene)."""

    role: ClassVar[Role] = "detector"

    @abc.abstractmethod
    def detect(self, image) -> DetectionResult: ...

    def detect_objects(self, image) -> DetectionResult:
        """The things in a picture (cups, chairs, bicycles...): what a guided scene talks about."""
        from storyteller.errors import BackendUnavailable

        raise BackendUnavailable(f"the {self.name} detector finds only people and animals, not things",
                                 fix="use the detector backend 'ssd-mobilenet' (the embedded default), or a neural "
                                     "vqa backend, which is asked for the things it sees")


@dataclass
class Figure:
    """A character as an illustrator needs it: how it looks, not who it is in a story."""

    key: str
    label: str
    description: str
    colors: list[str] = field(default_factory=list)
    species: str = "person"
    reference_image: Any = None  # PIL.Image or None


@dataclass
class IllustrationRequest:
    prompt: str
    seed: int
    width: int = 768
    height: int = 512
    negative_prompt: str = ""
    scene: str = ""
    style: str = ""
    palette: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    caption: str = ""
    # What the picture shows, staged (story.Shot): its cast names figures by their key. None: the
    # illustrator stages the prompt's words itself (storyteller.staging.read_shot).
    shot: Shot | None = None
    # A character sheet instead of a scene: each figure large on a plain ground, front and side view.
    sheet: bool = False


# A region of a picture: (x0, y0, x1, y1) as fractions of its width and height.
Box = tuple[float, float, float, float]


@dataclass
class ImageResult:
    image: Any  # PIL.Image.Image
    provenance: Provenance
    # Where each figure is in the picture (figure key -> its box), when the illustrator knows (the
    # storyboard placed them; a ControlNet layout put them there). Empty: it does not know.
    regions: dict[str, Box] = field(default_factory=dict)
    # Which pixels are each figure's (key -> a PIL "L" image the picture's size, 255 on the figure),
    # when the illustrator drew them itself; the gate then compares the figure's own pixels.
    masks: dict[str, Any] = field(default_factory=dict)


class IllustratorBackend(Backend):
    role: ClassVar[Role] = "illustrator"

    @abc.abstractmethod
    def illustrate(self, requests: list[IllustrationRequest]) -> list[ImageResult]:
        """One image per request; backends batch where the model allows."""


@dataclass
class VoiceSpec:
    voice_id: str
    length_scale: float = 1.0
    pitch_shift: float = 0.0
    # Who speaks: a backend's variants of one voice (pitch, pace) share a speaker; different
    # speakers are different people. '' is the voice itself.
    speaker: str = ""
    register: int | None = None  # +1 a high voice, -1 a low one, 0 middle; None: told by the pitch shift
    # The story languages (BCP-47, as Story.language) the voice speaks; () when the backend does
    # not say (a configured model): it is then offered for any story.
    languages: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        return self.speaker or self.voice_id

    @property
    def pitch_register(self) -> int:
        if self.register is not None:
            return self.register
        return (self.pitch_shift > 0) - (self.pitch_shift < 0)


@dataclass
class AudioResult:
    samples: Any  # numpy float32 array, mono, in [-1, 1]
    sample_rate: int
    provenance: Provenance

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class NarratorBackend(Backend):
    role: ClassVar[Role] = "narrator"

    @abc.abstractmethod
    def voices(self) -> list[VoiceSpec]:
        """Distinct voices this narrator can speak with, most neutral first."""

    @abc.abstractmethod
    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult: ...


@dataclass
class MusicRequest:
    mood: str  # one of the composer's moods (the embedded one's: storyteller.backends.music.MOODS)
    seconds: float
    seed: int = 0
    key: str | None = None  # "D major", "A minor"; None: the mood's
    tempo: int | None = None  # beats a minute; None: the mood's
    title: str = ""


@dataclass
class MusicResult(AudioResult):
    midi: bytes | None  # the score, where the composer writes one
    key: str  # what the piece is in, as the composer made or was asked for it
    tempo: int


class ComposerBackend(Backend):
    """Background music for a story: a piece for a mood, of a given length."""

    role: ClassVar[Role] = "composer"

    @abc.abstractmethod
    def compose(self, request: MusicRequest) -> MusicResult: ...


@dataclass
class Transcript:
    text: str
    language: str  # what the audio was heard as (the language asked for, or the one detected)
    provenance: Provenance


class TranscriberBackend(Backend):
    """Speech to text: what a reader said into a recording (voice input)."""

    role: ClassVar[Role] = "transcriber"

    @abc.abstractmethod
    def transcribe(self, path, *, language: str | None = None) -> Transcript:
        """The words in the audio file at `path`; `language` a BCP-47/ISO code such as "en" (None: detect)."""


class TextEmbedderBackend(Backend):
    role: ClassVar[Role] = "text_embedder"

    @abc.abstractmethod
    def embed(self, texts: list[str]) -> Any:
        """float32 array (len(texts), dim), L2-normalised."""


class ImageEmbedderBackend(Backend):
    """Image (and, with a text tower, text) embeddings; what the memory retrieves with and the
    consistency gate scores with. The gate asks only what this interface declares."""

    role: ClassVar[Role] = "image_embedder"
    # Whether embed_texts works (CLIP, SigLIP); without a text tower the gate leaves the
    # picture-to-text alignment unmeasured and says why.
    has_text_tower: ClassVar[bool] = True
    # What this embedder's scores mean for the gate (its own calibration, e.g. {"character": 0.5});
    # the user's gate_thresholds come last.
    gate_thresholds: ClassVar[dict[str, float]] = {}

    def view(self, vectors, aspect: Literal["character", "style"]):
        """The part of embeddings that answers one of the gate's questions, as unit rows. By
        default all of it: a neural embedding does not separate who is drawn from how."""
        import numpy as np

        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def character_similarity(self, references, vector, on_stage: int = 1):
        """One score per reference row: how well an image (its embedding `vector`) with
        `on_stage` characters shows that reference's character. By default the cosine of the
        character views; an embedder that can account for a crowded picture says so here."""
        return self.view(references, "character") @ self.view(vector, "character")[0]

    @abc.abstractmethod
    def embed_images(self, images: list) -> Any: ...

    @abc.abstractmethod
    def embed_texts(self, texts: list[str]) -> Any: ...

