"""The story graph's tools (`storyteller.tools`): LangChain tools with pydantic argument schemas.

A tool is a small class (the smolagents shape): a name, a description, typed inputs, one
`forward`. It holds a backend, which loads its model on first use (`setup`), never at
construction. A tool validates its arguments, calls its backend and returns the backend's result
with provenance; it never writes files: the agent hands results to the session, which owns the
story folder.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from storyteller.backends.base import Backend, Figure, IllustrationRequest, VoiceSpec


class StoryTool(BaseTool):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    backend: Backend = Field(exclude=True)

    def setup(self) -> None:
        self.backend.ensure_setup()

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


# -- image understanding --------------------------------------------------------------------
class CaptionArgs(BaseModel):
    image_path: str = Field(description="Path of the image to describe.")
    prompt: str | None = Field(default=None, description="Optional focus, e.g. 'the people in it'.")


class CaptionTool(StoryTool):
    name: str = "caption"
    description: str = "Describe an image in one or two sentences."
    args_schema: type[BaseModel] = CaptionArgs

    def forward(self, image_path: str, prompt: str | None = None):
        from storyteller.images import load_image

        return self.backend.caption(load_image(image_path), prompt)


class AskArgs(BaseModel):
    image_path: str = Field(description="Path of the image the question is about.")
    question: str = Field(min_length=1, max_length=2000)


class AskTool(StoryTool):
    name: str = "ask"
    description: str = "Answer a question about an image (visual question answering)."
    args_schema: type[BaseModel] = AskArgs

    def forward(self, image_path: str, question: str):
        from storyteller.images import load_image

        return self.backend.answer(load_image(image_path), question)


# -- making pictures and sound --------------------------------------------------------------
class FigureArgs(BaseModel):
    key: str = Field(description="Stable id of the character (its slug).")
    label: str
    description: str = ""
    colors: list[str] = Field(default_factory=list)
    species: str = "person"


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


class IllustrateTool(StoryTool):
    name: str = "illustrate"
    description: str = "Draw one illustration of a scene with the given characters, in the story's style."
    args_schema: type[BaseModel] = IllustrateArgs

    def forward(self, **arguments):
        args = IllustrateArgs(**arguments)
        request = IllustrationRequest(
            prompt=args.prompt, seed=args.seed, width=args.width, height=args.height,
            negative_prompt=args.negative_prompt, scene=args.scene, style=args.style, palette=args.palette,
            figures=[Figure(**f.model_dump()) for f in args.figures], caption=args.caption,
        )
        return self.backend.illustrate([request])[0]


class NarrateArgs(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    voice_id: str | None = Field(default=None, description="A voice of the narrator backend; default: its first.")
    length_scale: float = Field(default=1.0, gt=0.3, lt=3.0)
    pitch_shift: float = Field(default=0.0, ge=-12, le=12)


class NarrateTool(StoryTool):
    name: str = "narrate"
    description: str = "Read text aloud with a narrator voice; returns audio."
    args_schema: type[BaseModel] = NarrateArgs

    def forward(self, text: str, voice_id: str | None = None, length_scale: float = 1.0, pitch_shift: float = 0.0):
        voice = None if voice_id is None else VoiceSpec(voice_id, length_scale, pitch_shift)
        return self.backend.synthesize(text, voice)
