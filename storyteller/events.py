"""Typed progress events, and the one place they are sent from.

Whoever runs the agent (the CLI's progress bars, an API caller's callback, a benchmark) installs a
sink with `listening(callback)`; everything below (agent nodes, backends' model calls) calls
`emit(event)` without knowing who listens. A context variable carries the sink, so two stories
running concurrently in one process each reach only their own listener.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field

from storyteller.story import Provenance


class _Event(BaseModel):
    pass


BaseEvent = _Event  # the public name of every event's base class (for type hints)


class ModelCall(_Event):
    type: Literal["model_call"] = "model_call"
    role: str
    operation: str
    backend: str
    model: str
    duration_s: float
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    prompt_evaluated: int | None = Field(default=None, description="Prompt tokens computed, after a reused prefix.")
    first_token_s: float | None = None
    thread: str = ""
    started_at: float = 0.0


class Preparing(_Event):
    """Slow one-time work before a model can load (joining and checking split model files)."""

    type: Literal["preparing"] = "preparing"
    what: str
    done: int
    total: int
    unit: str = "bytes"


class PlanReady(_Event):
    type: Literal["plan_ready"] = "plan_ready"
    title: str
    pages: int
    characters: list[str]


class PlanProgress(_Event):
    """The planner finished a stage: the bible (done=0), then each page's beat (done=k of total)."""

    type: Literal["plan_progress"] = "plan_progress"
    stage: str
    done: int
    total: int


class PlanRetry(_Event):
    type: Literal["plan_retry"] = "plan_retry"
    attempt: int
    error: str


class PageTextDelta(_Event):
    type: Literal["page_text_delta"] = "page_text_delta"
    page: int
    delta: str


class PageWritten(_Event):
    type: Literal["page_written"] = "page_written"
    page: int
    text: str


class ImageReady(_Event):
    type: Literal["image_ready"] = "image_ready"
    page: int
    path: str
    provenance: Provenance


class ConsistencyScored(_Event):
    type: Literal["consistency_scored"] = "consistency_scored"
    page: int
    attempts: int
    passed: bool
    scores: dict


class ConsistencyRetry(_Event):
    """The consistency gate found an illustration off-model and draws it again with another seed."""

    type: Literal["consistency_retry"] = "consistency_retry"
    page: int
    attempt: int  # the attempt about to be drawn (1 = the second picture)
    seed: int
    previous: dict = Field(default_factory=dict)  # the scores of the attempt that failed


class AudioReady(_Event):
    type: Literal["audio_ready"] = "audio_ready"
    page: int
    path: str
    provenance: Provenance


class TurnCommitted(_Event):
    type: Literal["turn_committed"] = "turn_committed"
    turn: int
    action: str
    pages: list[int]


class StoryDone(_Event):
    type: Literal["done"] = "done"
    folder: str
    pages: int
    title: str = ""


class AgentStep(_Event):
    """One step of the agent (storyteller.agent.chat): a tool it called and what came back, or a
    call it made that was refused (`error`: the reason, given back to the model)."""

    type: Literal["agent_step"] = "agent_step"
    step: int
    tool: str
    arguments: dict = Field(default_factory=dict)
    result: str | None = None
    error: str | None = None
    repairs: list[str] = Field(default_factory=list, description="Deterministic fixes made to the call, recorded.")


class AgentReply(_Event):
    """What the agent says back to the reader (the last event of a chat, before StoryDone)."""

    type: Literal["agent_reply"] = "agent_reply"
    text: str
    tools: list[str] = Field(default_factory=list, description="The tools it called, in order.")


class Error(_Event):
    """The work stopped with an exception (which is raised right after this event)."""

    type: Literal["error"] = "error"
    error: str  # the exception's class name, e.g. "BackendCallError" or "Cancelled"
    message: str
    fix: str | None = None
    cancelled: bool = False

    @classmethod
    def from_exception(cls, exc: BaseException) -> Error:
        from storyteller.errors import Cancelled

        return cls(error=type(exc).__name__, message=getattr(exc, "message", None) or str(exc) or type(exc).__name__,
                   fix=getattr(exc, "fix", None), cancelled=isinstance(exc, Cancelled))


Event = Annotated[
    Union[ModelCall, Preparing, PlanReady, PlanProgress, PlanRetry, PageTextDelta, PageWritten, ImageReady, ConsistencyScored, ConsistencyRetry,
          AudioReady, TurnCommitted, AgentStep, AgentReply, StoryDone, Error],
    Field(discriminator="type"),
]

EventSink = Callable[[_Event], None]
_sink: contextvars.ContextVar[EventSink | None] = contextvars.ContextVar("storyteller_event_sink", default=None)


def emit(event: _Event) -> None:
    sink = _sink.get()
    if sink is not None:
        sink(event)


@contextlib.contextmanager
def listening(sink: EventSink | None) -> Iterator[None]:
    """Deliver events emitted in this context (and tasks copied from it) to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
