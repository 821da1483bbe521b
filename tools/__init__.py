"""The story graph's tools (`storyteller.tools`): LangChain tools with pydantic argument schemas.

A tool is a small class (the smolagents shape): a name, a description, typed inputs, one
`forward`. It holds a backend, which loads its model on first use (`setup`), never at
construction. A tool validates its arguments, calls its backend and returns the backend's result
with provenance; it never writes files: the agent hands results to the session, which owns the
story folder.

Each tool is a LangChain `BaseTool`: `.invoke({...})` returns the result object (TextResult,
ImageResult, AudioResult, ...). For an LLM agent (a LangGraph ToolNode), build it with
`response_format="content_and_artifact"` (see `storyteller.langchain.tools(..., for_agents=True)`):
the model then reads a short text and the result object travels as the ToolMessage's artifact.
`remember` and `retrieve` work on a story's memory (storyteller.memory.Memory) instead of a backend.

Paths (`caption`/`ask`'s `image_path`, a figure's `reference_image`) are the only way a tool reads
a file. Text a model writes can carry a reader's or a stranger's words ("caption ~/.ssh/id_rsa"), so
a tool built for an agent (`response_format="content_and_artifact"`) reads only files under its
`allowed_dirs` (after following links), and none when it has none; a tool the program calls
directly reads the paths the program (and its user) chose, and is held to `allowed_dirs` too when
it has them. A refused path is an InvalidInput, which a LangGraph ToolNode hands back to the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from storyteller.backends.base import (AudioResult, Backend, CaptionerBackend, Figure, IllustrationRequest,
                                       IllustratorBackend, ImageResult, NarratorBackend, TextResult, VoiceSpec,
                                       VQABackend)
from storyteller.errors import InvalidInput
from storyteller.story import Shot


def describe_result(result: Any) -> str:
    """What an LLM agent is told about a tool's result (the object itself is the artifact)."""
    if isinstance(result, TextResult):
        return result.text
    if isinstance(result, ImageResult):
        p = result.provenance
        return (f"an image of {result.image.width}x{result.image.height} pixels, made by {p.backend} ({p.kind}) "
                f"with seed {p.seed}; the image itself is the tool message's artifact")
    if isinstance(result, AudioResult):
        p = result.provenance
        return f"{result.seconds:.1f} s of speech at {result.sample_rate} Hz by {p.backend} ({p.kind}); the audio is the artifact"
    return str(result)


class StoryTool(BaseTool):
    """A tool over one backend of the registry; `role` is the role whose backend it takes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    role: ClassVar[str | None] = None
    backend: Backend = Field(exclude=True)
    allowed_dirs: list[Path] | None = Field(
        default=None, exclude=True,
        description="Folders whose files the tool may read (e.g. the story folder). An agent's tool with none reads no file.")

    def setup(self) -> None:
        self.backend.ensure_setup()

    def readable(self, path: str) -> Path:
        """`path`, if this tool may read it (see the module's docstring); else InvalidInput."""
        for_agent = self.response_format == "content_and_artifact"
        if self.allowed_dirs is None and not for_agent:
            return Path(path)  # the program's own call, with a path it or its user chose
        if not self.allowed_dirs:
            raise InvalidInput(
                f"the {self.name} tool reads no files here (asked for {path!r}): it was given to an agent "
                "without allowed_dirs",
                fix="build it with allowed_dirs=[STORY_FOLDER], e.g. storyteller.langchain.tools(teller, "
                    "for_agents=True, allowed_dirs=['fox'])")
        try:
            # Links are followed before the check: a link in an allowed folder that points out of it is refused.
            resolved = Path(path).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):  # a link loop, a NUL in the path
            raise InvalidInput(f"the {self.name} tool cannot read {path!r}") from None
        roots = [Path(d).expanduser().resolve() for d in self.allowed_dirs]
        if not any(resolved.is_relative_to(root) for root in roots):
            raise InvalidInput(
                f"the {self.name} tool may read only files under {', '.join(map(str, roots))}; {path!r} is outside",
                fix="name an image inside the story folder")
        return resolved

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        result = self.forward(*args, **kwargs)
        return (describe_result(result), result) if self.response_format == "content_and_artifact" else result

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


# -- image understanding --------------------------------------------------------------------
class CaptionArgs(BaseModel):
    image_path: str = Field(description="Path of the image to describe.")
    prompt: str | None = Field(default=None, description="Optional focus, e.g. 'the people in it'.")


class CaptionTool(StoryTool):
    role: ClassVar[str | None] = "captioner"
    name: str = "caption"
    description: str = "Describe an image in one or two sentences."
    args_schema: type[BaseModel] = CaptionArgs

    def forward(self, image_path: str, prompt: str | None = None):
        from storyteller.images import load_image

        return cast(CaptionerBackend, self.backend).caption(load_image(self.readable(image_path)), prompt)


class AskArgs(BaseModel):
    image_path: str = Field(description="Path of the image the question is about.")
    question: str = Field(min_length=1, max_length=2000)


class AskTool(StoryTool):
    role: ClassVar[str | None] = "vqa"
    name: str = "ask"
    description: str = "Answer a question about an image (visual question answering)."
    args_schema: type[BaseModel] = AskArgs

    def forward(self, image_path: str, question: str):
        from storyteller.images import load_image

        return cast(VQABackend, self.backend).answer(load_image(self.readable(image_path)), question)


# -- making pictures and sound --------------------------------------------------------------
class FigureArgs(BaseModel):
    key: str = Field(description="Stable id of the character (its slug).")
    label: str
    description: str = ""
    colors: list[str] = Field(default_factory=list)
    species: str = "person"
    reference_image: str | None = Field(default=None, description="Path of a picture of this character.")


class IllustrateArgs(BaseModel):
    prompt: str = Field(min_length=1, description="What the picture shows.")
    seed: int = Field(ge=0, lt=2**32)
    scene: str = ""
    style: str = ""
    palette: list[str] = Field(default_factory=list)
    figures: list[FigureArgs] = Field(default_factory=list, max_length=8)
    caption: str = ""
    negative_prompt: str = ""
    width: int = Field(default=768, ge=64, le=2048)
    height: int = Field(default=512, ge=64, le=2048)
    shot: Shot | None = Field(default=None, description="What the picture shows, staged; None: read from the prompt.")
    sheet: bool = Field(default=False, description="A character sheet (front and side view on a plain ground).")


class IllustrateTool(StoryTool):
    role: ClassVar[str | None] = "illustrator"
    name: str = "illustrate"
    description: str = "Draw one illustration of a scene with the given characters, in the story's style."
    args_schema: type[BaseModel] = IllustrateArgs

    def forward(self, **arguments):
        args = IllustrateArgs(**arguments)
        request = IllustrationRequest(
            prompt=args.prompt, seed=args.seed, width=args.width, height=args.height,
            negative_prompt=args.negative_prompt, scene=args.scene, style=args.style, palette=args.palette,
            figures=[Figure(**{**f.model_dump(), "reference_image": self._open(f.reference_image)}) for f in args.figures],
            caption=args.caption, shot=args.shot, sheet=args.sheet,
        )
        return cast(IllustratorBackend, self.backend).illustrate([request])[0]

    def _open(self, path: str | None):
        from storyteller.images import load_image

        return None if path is None else load_image(self.readable(path))


class NarrateArgs(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    voice_id: str | None = Field(default=None, description="A voice of the narrator backend; default: its first.")
    length_scale: float = Field(default=1.0, gt=0.3, lt=3.0)
    pitch_shift: float = Field(default=0.0, ge=-12, le=12)


class NarrateTool(StoryTool):
    role: ClassVar[str | None] = "narrator"
    name: str = "narrate"
    description: str = "Read text aloud with a narrator voice; returns audio."
    args_schema: type[BaseModel] = NarrateArgs

    def forward(self, text: str, voice_id: str | None = None, length_scale: float = 1.0, pitch_shift: float = 0.0):
        voice = None if voice_id is None else VoiceSpec(voice_id, length_scale, pitch_shift)
        return cast(NarratorBackend, self.backend).synthesize(text, voice)


# -- the story's memory -----------------------------------------------------------------------
class MemoryTool(BaseTool):
    """A tool over a story's memory (storyteller.memory.Memory). It changes the memory in RAM; the
    owner of the memory saves it (`memory.save()`) when it commits a turn."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    role: ClassVar[str | None] = None
    memory: Any = Field(exclude=True)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        result = self.forward(*args, **kwargs)
        return (self.describe(result), result) if self.response_format == "content_and_artifact" else result

    def describe(self, result: Any) -> str:
        return str(result)

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class RememberArgs(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="The fact to remember, in one or two sentences.")
    type: Literal["fact", "place", "object"] = Field(default="fact", description="What kind of thing it is.")
    key: str | None = Field(default=None, max_length=200, description="What it is about, e.g. 'the lighthouse'.")
    characters: list[str] = Field(default_factory=list, max_length=8, description="Slugs of characters involved.")
    page: int = Field(default=0, ge=0, description="The page it comes from (0: the whole story); undo drops it with its page.")


class RememberTool(MemoryTool):
    name: str = "remember"
    description: str = "Remember a fact, place or object of the story, so later pages stay consistent with it."
    args_schema: type[BaseModel] = RememberArgs

    def forward(self, text: str, type: str = "fact", key: str | None = None, characters: list[str] | None = None,
                page: int = 0):
        record_id = self.memory.add_fact(text, type=type, key=key, page=page, characters=characters or [])
        return self.memory.records[record_id]

    def describe(self, result: Any) -> str:
        return f"remembered ({result.type}, record {result.id}): {result.text}"


class RetrieveArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="What to look up, in words.")
    k: int = Field(default=5, ge=1, le=50, description="How many records at most.")
    types: list[Literal["character", "place", "object", "style", "fact", "page_summary"]] | None = Field(
        default=None, description="Only records of these types (default: all text records).")


class RetrieveTool(MemoryTool):
    name: str = "retrieve"
    description: str = "Look up what the story's memory holds about something: characters, places, facts, earlier pages."
    args_schema: type[BaseModel] = RetrieveArgs

    def forward(self, query: str, k: int = 5, types: list[str] | None = None):
        return self.memory.search(query, k, types=types)

    def describe(self, result: Any) -> str:
        if not result:
            return "nothing found"
        return "\n".join(f"- ({h.record.type}, score {h.score:.2f}) {h.record.summary or h.record.text}" for h in result)
