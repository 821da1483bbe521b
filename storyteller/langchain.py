"""storyteller inside LangChain and LangGraph applications.

    from storyteller import Storyteller
    from storyteller.langchain import story_graph, tools

    teller = Storyteller()
    caption, ask, illustrate, narrate = tools(teller, names=["caption", "ask", "illustrate", "narrate"])
    builder.add_node("story", story_graph(teller))        # a compiled graph, as a subgraph of yours
    story = teller.as_runnable().invoke({"premise": "A fox", "out": "fox"})

* `tools(teller)`: every tool registered in the teller's registry (the built-ins and plugins'),
  built with the backend of its role, as LangChain tools. With `for_agents=True` they answer an
  LLM agent with a short text and carry the result object as the ToolMessage's artifact.
* `story_graph(teller)`: a compiled LangGraph graph {premise, out, pages?, style?, seed?, image?} ->
  {folder, title, texts, images, narrations}. Its node runs the story graph (plan -> write_page ->
  illustrate || narrate) and is idempotent on its folder: run again after a failure, it resumes
  the story instead of starting over. Storyteller's events reach `stream_mode="custom"`.
* `StoryRunnable`: the storyteller as a Runnable: `invoke`/`ainvoke` return the Story,
  `stream`/`astream` yield its events (the last is StoryDone).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool

from storyteller.cancel import CancelToken
from storyteller.errors import ConfigError, InvalidInput, StoryFolderError
from storyteller.events import BaseEvent
from storyteller.requests import NewStory, Resume
from storyteller.session import STORY_FILE, load_story
from storyteller.story import Story

if TYPE_CHECKING:
    from storyteller.api import Storyteller


# =============================================================================================
# tools
# =============================================================================================
def tools(teller: Storyteller, *, names: Sequence[str] | None = None, memory: Any = None,
          for_agents: bool = False, allowed_dirs: Sequence[str | Path] | None = None) -> list[BaseTool]:
    """The registry's tools as LangChain tools, in registration order (or in the order of `names`).

    `allowed_dirs`: the folders whose files the tools may read when an agent names a path (the
    story folder, the user's photos); tools built for agents read nothing without it.

    `memory`: a storyteller.memory.Memory for `remember`/`retrieve` (left out without one, unless
    named). Tools of plugins that subclass neither StoryTool nor MemoryTool are built with no
    arguments.
    """
    from storyteller.tools import MemoryTool, StoryTool

    registry = teller.toolbox.registry
    known = [entry.name for entry in registry.tools()]
    wanted = list(names) if names is not None else known
    built: list[BaseTool] = []
    for name in wanted:
        cls = registry.tool_class(name)  # ConfigError naming the known tools for an unknown name
        arguments: dict[str, Any] = {"response_format": "content_and_artifact"} if for_agents else {}
        if issubclass(cls, MemoryTool):
            if memory is None:
                if names is not None:
                    raise ConfigError(f"the {name!r} tool works on a story's memory; pass memory=Memory.open(...)")
                continue
            arguments["memory"] = memory
        elif issubclass(cls, StoryTool) and allowed_dirs is not None:
            arguments["allowed_dirs"] = [Path(d) for d in allowed_dirs]
        elif not issubclass(cls, StoryTool):
            arguments = {}  # a plugin's own kind of tool: built with no arguments
        built.append(teller.toolbox.tool(name, **arguments))
    return built


# =============================================================================================
# requests
# =============================================================================================
class StoryInput(TypedDict):
    premise: str
    out: str


class StoryRequest(StoryInput, total=False):
    """What a new story needs: premise and folder; pages, style and seed are optional."""

    pages: int
    style: str
    seed: int
    image: str  # a photo to start from


class StoryOutput(TypedDict):
    folder: str
    title: str
    texts: list[str]        # page texts, in order
    images: list[str]       # illustration paths, relative to the folder
    narrations: list[str]   # narration paths, relative to the folder


class StoryGraphState(TypedDict, total=False):
    premise: str
    out: str
    pages: int
    style: str
    seed: int
    image: str
    folder: str
    title: str
    texts: list[str]
    images: list[str]
    narrations: list[str]


_OPTIONS = ("pages", "style", "seed", "image")


def _from_state(state: StoryGraphState) -> NewStory:
    return _request({k: v for k, v in state.items() if k in ("premise", "out", *_OPTIONS)})


def _request(value: Any) -> NewStory:
    """The NewStory a request dict asks for (its checks, and their errors, are NewStory's)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"a story request is a dict with 'premise' and 'out', got {type(value).__name__}",
                           fix='invoke({"premise": "A fox who finds a lantern", "out": "fox"})')
    return NewStory(**{k: v for k, v in value.items() if v is not None})


def _output(story: Story, folder: str | Path) -> StoryOutput:
    return StoryOutput(
        folder=str(folder), title=story.title, texts=[p.text for p in story.pages],
        images=[p.illustration.path if p.illustration else "" for p in story.pages],
        narrations=[p.narration.path if p.narration else "" for p in story.pages],
    )


def _existing(request: NewStory) -> bool:
    """True when the request's folder holds the story of its premise (so a re-run resumes it)."""
    if not (request.out / STORY_FILE).exists():
        return False
    story = load_story(request.out)
    if story.premise != request.premise:
        raise StoryFolderError(f"{request.out} already holds another story ({story.title!r})", fix="choose another out folder")
    return True


# =============================================================================================
# the story graph, for a user's graph
# =============================================================================================
def story_graph(teller: Storyteller, *, name: str = "storyteller"):
    """A compiled LangGraph graph: StoryRequest -> StoryOutput, to invoke or add as a subgraph."""
    from langgraph.config import get_stream_writer
    from langgraph.graph import END, START, StateGraph

    def tell(state: StoryGraphState) -> StoryOutput:
        request = _from_state(state)
        work = Resume(folder=request.out) if _existing(request) else request
        story = teller.run(work, on_event=get_stream_writer())  # storyteller's events -> stream_mode="custom"
        return _output(story, request.out)

    async def atell(state: StoryGraphState) -> StoryOutput:
        request = _from_state(state)
        work = Resume(folder=request.out) if _existing(request) else request
        story = await teller.arun(work, on_event=get_stream_writer())
        return _output(story, request.out)

    builder = StateGraph(StoryGraphState, input_schema=StoryRequest, output_schema=StoryOutput)
    builder.add_node("tell", RunnableLambda(tell, afunc=atell, name="tell"))
    builder.add_edge(START, "tell")
    builder.add_edge("tell", END)
    return builder.compile(name=name)


# =============================================================================================
# the storyteller as a Runnable
# =============================================================================================
class StoryRunnable(Runnable[StoryRequest, Story]):
    """`invoke`/`ainvoke`: StoryRequest -> Story. `stream`/`astream`: the run's events (storyteller.events),
    ending with StoryDone; load the story with `teller.load(done.folder)`. Cancelling the task of
    `ainvoke`/`astream` (or closing the stream) cancels the story at its next safe point."""

    def __init__(self, teller: Storyteller):
        self.teller = teller
        self.name = "storyteller"

    def invoke(self, input: StoryRequest, config: RunnableConfig | None = None, **kwargs: Any) -> Story:
        def run(request: StoryRequest) -> Story:
            return self.teller.run(_request(request))

        return self._call_with_config(run, input, config)

    async def ainvoke(self, input: StoryRequest, config: RunnableConfig | None = None, **kwargs: Any) -> Story:
        async def run(request: StoryRequest) -> Story:
            return await self.teller.arun(_request(request))

        return await self._acall_with_config(run, input, config)

    async def astream(self, input: StoryRequest, config: RunnableConfig | None = None,  # type: ignore[override]
                      **kwargs: Any) -> AsyncIterator[BaseEvent]:
        stream = self.teller.astream(_request(input))
        try:
            async for event in stream:
                yield event
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def stream(self, input: StoryRequest, config: RunnableConfig | None = None,  # type: ignore[override]
               **kwargs: Any) -> Iterator[BaseEvent]:
        request = _request(input)
        events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        token = CancelToken()
        end = object()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.teller.run(request, on_event=events.put, cancel=token)
            except BaseException as exc:  # handed to the consumer's thread below
                failure.append(exc)
            finally:
                events.put(end)

        worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="storyteller-stream", daemon=True)
        worker.start()
        try:
            while (event := events.get()) is not end:
                yield event
            if failure:
                raise failure[0]
        finally:
            token.cancel()  # no-op when finished; stops the story when the consumer closes the stream early
            worker.join()
