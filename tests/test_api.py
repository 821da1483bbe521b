"""The public Python API on scripted fakes: continue/ask/redraw/renarrate/save/export, events as a
callback and an async iterator, cancellation (token, LLM stream, asyncio), LangChain tools, the
story graph as a subgraph, the Runnable, plugins, and two stories at once under asyncio."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
import time
from contextlib import aclosing
from pathlib import Path

import pytest
from fakes import plan_json

from storyteller.cancel import CancelToken
from storyteller.errors import BackendCallError, Cancelled, InvalidInput, StoryFolderError
from storyteller.events import (AudioReady, ConsistencyRetry, Error, ImageReady, ModelCall, PageTextDelta, PageWritten,
                                PlanReady, StoryDone, TurnCommitted)
from storyteller.session import StoryFolder, load_story


def files_match(root: Path, story) -> None:
    for asset in story.assets():
        assert hashlib.sha256((root / asset.path).read_bytes()).hexdigest() == asset.sha256


def unlocked(root: Path) -> bool:
    with StoryFolder.open(root):
        return True


@pytest.fixture
def photo(tmp_path) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path, quality=90)
    return path


@pytest.fixture
def two_pages(make_teller, tmp_path):
    """A finished 2-page story and the teller that made it."""
    teller = make_teller(llm={"plans": [plan_json(2)]})
    teller.new_story("A fox who finds a lantern", out=tmp_path / "fox", pages=2)
    return teller, tmp_path / "fox"


# =============================================================================================
# continue, ask, redraw, renarrate, save, export
# =============================================================================================
def test_continue_story_writes_one_more_page_from_direction_and_photo(two_pages, photo):
    teller, root = two_pages
    events = []
    story = teller.continue_story(root, "Owl flies over the frozen lake", image=photo, on_event=events.append)

    assert len(story.pages) == len(story.outline) == 3 and story.is_complete
    assert load_story(root) == story
    files_match(root, story)
    page = story.pages[2]
    assert story.history[-1].action == "continue" and story.history[-1].pages == [3]
    assert "owl" in page.characters  # named in the direction
    # The photo (with no metadata to remove) is copied byte for byte, described by the captioner, and named by the page.
    notes = page.text_provenance.parameters
    assert notes["direction"] == "Owl flies over the frozen lake"
    assert (root / notes["photo"]).read_bytes() == photo.read_bytes() and notes["photo"].endswith(".jpg")
    assert "classical analysis" in notes["photo_description"]
    # The writer was told the direction and what the photo shows, and not to end the story.
    prompt = teller.toolbox.llm.calls[-1]["messages"][-1]["content"]
    assert "Owl flies over the frozen lake" in prompt and notes["photo_description"][:40] in prompt
    assert "page 3 of 3" in prompt and "end the story warmly" not in prompt
    kinds = [type(e) for e in events]
    assert ImageReady in kinds and AudioReady in kinds and kinds[-1] is StoryDone
    assert [e.action for e in events if isinstance(e, TurnCommitted)] == ["continue"]
    # The continuation went through the consistency gate like any page.
    assert page.illustration.provenance.parameters["consistency"]["attempts"]


def test_a_new_story_can_start_from_a_photo(make_teller, tmp_path, photo):
    teller = make_teller(llm={"plans": [plan_json(2)]})
    story = teller.new_story("A trip to space", out=tmp_path / "s", pages=2, image=photo)
    notes = story.plan_provenance.parameters
    assert notes["photo"] == "images/premise-photo.jpg" and (tmp_path / "s" / notes["photo"]).read_bytes() == photo.read_bytes()
    assert story.premise == "A trip to space"  # the user's words; the planner also heard the photo
    plan_prompt = teller.toolbox.llm.calls[0]["messages"][-1]["content"]
    assert "A trip to space" in plan_prompt and notes["photo_description"][:40] in plan_prompt
    with pytest.raises(InvalidInput, match="image not found"):
        teller.new_story("A fox", out=tmp_path / "t", image=tmp_path / "missing.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(InvalidInput):
        teller.new_story("A fox", out=tmp_path / "t", image=tmp_path / "bad.jpg")
    assert not (tmp_path / "t" / "story.json").exists()


def test_continue_refuses_bad_input_and_unfinished_stories(make_teller, two_pages, tmp_path):
    teller, root = two_pages
    with pytest.raises(InvalidInput, match="direction is empty"):
        teller.continue_story(root, "  \n")
    with pytest.raises(InvalidInput, match="image not found"):
        teller.continue_story(root, "onwards", image=tmp_path / "nope.png")
    (tmp_path / "not-an-image.png").write_text("hello")
    with pytest.raises(InvalidInput, match="not an image"):
        teller.continue_story(root, "onwards", image=tmp_path / "not-an-image.png")
    assert load_story(root).history == teller.load(root).history and len(teller.load(root).outline) == 2

    broken = make_teller(llm={"plans": [plan_json(2)]}, narrator={"fail_on": "walks on"})
    with pytest.raises(BackendCallError):
        broken.new_story("A fox", out=tmp_path / "half", pages=2)
    with pytest.raises(StoryFolderError, match="unfinished pages"):
        teller.continue_story(tmp_path / "half", "onwards")


def test_a_failed_continuation_leaves_the_story_as_it_was(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]}, narrator={"fail_on": "Scene 3"})
    teller.new_story("A fox", out=tmp_path / "fox", pages=2)
    before = load_story(tmp_path / "fox")
    events = []
    with pytest.raises(BackendCallError):
        teller.continue_story(tmp_path / "fox", "A storm comes", on_event=events.append)
    assert load_story(tmp_path / "fox") == before
    assert isinstance(events[-1], Error) and events[-1].error == "BackendCallError" and not events[-1].cancelled
    assert unlocked(tmp_path / "fox")
    from storyteller.memory import Memory

    memory = Memory.open(tmp_path / "fox", teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert max(r.page for r in memory.records.values()) == 2  # page 3's memory was rolled back too


def test_ask_answers_about_a_page_illustration_with_provenance(two_pages):
    teller, root = two_pages
    answer = teller.ask(root, 2, "What colours are in the picture?")
    assert answer.text and answer.provenance.backend == "classical" and answer.provenance.prompt.startswith("What colours")
    assert answer.details["page"] == 2 and answer.details["image"] == "images/page-02.png"
    with pytest.raises(InvalidInput, match="pages 1 to 2"):
        teller.ask(root, 3, "Who is there?")
    with pytest.raises(InvalidInput, match="question is empty"):
        teller.ask(root, 1, "")
    assert asyncio.run(teller.aask(root, 1, "Is it dark?")).provenance.backend == "classical"


def test_reillustrate_and_renarrate_commit_new_versions(two_pages):
    teller, root = two_pages
    old = load_story(root).pages[1]
    events = []
    story = teller.reillustrate(root, 2, seed=123, on_event=events.append)
    new = story.pages[1].illustration
    assert story.history[-1].action == "reillustrate" and story.history[-1].pages == [2]
    assert new.path == f"images/page-02-turn{len(story.history)}.png" and new.provenance.seed in {123 + 7919 * i for i in range(3)}
    assert new.provenance.parameters["replaces"] == old.illustration.path and "consistency" in new.provenance.parameters
    assert (root / old.illustration.path).is_file()  # the old picture is kept, not overwritten
    assert [e.page for e in events if isinstance(e, ImageReady)] == [2] and isinstance(events[-1], StoryDone)

    story = teller.renarrate(root, 2, voice="b")
    assert story.history[-1].action == "renarrate"
    assert story.pages[1].narration.sha256 != old.narration.sha256  # another voice, another sound
    assert story.pages[0] == teller.load(root).pages[0] and story.pages[0].illustration.path == "images/page-01.png"
    files_match(root, load_story(root))
    with pytest.raises(InvalidInput, match="choose one of: 1 a, 2 b"):
        teller.renarrate(root, 1, voice="zz")
    with pytest.raises(InvalidInput, match="does not exist"):
        teller.reillustrate(root, 9)
    assert unlocked(root)


def test_a_page_redrawn_with_a_change_is_staged_again_and_undo_puts_the_staging_back(two_pages):
    teller, root = two_pages
    before = load_story(root).pages[1]
    assert (before.shot.time_of_day, before.shot.weather) == ("night", "snow")
    story = teller.reillustrate(root, 2, change="at dawn, in the rain")
    page = story.pages[1]
    assert page.shot.time_of_day == "morning" and page.shot.weather == "rain" and page.text == before.text
    assert page.illustration.provenance.parameters["change"] == "at dawn, in the rain"
    assert "at dawn, in the rain" in page.illustration.provenance.prompt
    assert page.illustration.provenance.parameters["replaced_shot"] == before.shot.model_dump(mode="json")
    undone = teller.undo(root)
    assert undone.story.pages[1].shot == before.shot and undone.story.pages[1].illustration == before.illustration
    with pytest.raises(InvalidInput):
        teller.reillustrate(root, 2, change="x" * 501)


def test_save_commits_an_edit_and_refuses_a_stale_copy(two_pages):
    teller, root = two_pages
    story = teller.load(root)
    story.pages[0].text = "Fern lifts the lantern and it glows like a tiny moon."
    saved = teller.save(root, story)
    assert saved.history[-1].action == "edit" and saved.history[-1].pages == [1]
    assert load_story(root).pages[0].text.endswith("tiny moon.")
    from storyteller.memory import Memory

    memory = Memory.open(root, teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert "tiny moon" in memory.search("lantern glows like a tiny moon", 1, types=["page_summary"])[0].record.text
    with pytest.raises(StoryFolderError, match="changed since"):
        teller.save(root, story)  # `story` predates the edit turn


def test_export_and_load_delegate(two_pages):
    teller, root = two_pages
    path = teller.export(root, "json")
    assert path.is_file() and path.parent == root / "exports"
    assert asyncio.run(teller.aexport(root, "json", root / "again.json")) == root / "again.json"
    assert asyncio.run(teller.aload(root)) == teller.load(root) == load_story(root)


# =============================================================================================
# events
# =============================================================================================
def test_consistency_retries_are_events(make_teller, tmp_path):
    events = []
    # A style threshold no picture can meet: every page after the first is redrawn, bounded.
    teller = make_teller(llm={"plans": [plan_json(2)]}, gate_attempts=2, gate_thresholds={"style": 1.5})
    teller.new_story("A fox", out=tmp_path / "s", pages=2, on_event=events.append)
    retries = [e for e in events if isinstance(e, ConsistencyRetry)]
    assert (2, 1) in [(r.page, r.attempt) for r in retries]
    assert all(r.attempt == 1 for r in retries)  # bounded by gate_attempts
    page2 = next(r for r in retries if r.page == 2)
    assert page2.previous["passed"] is False and page2.previous["style"] is not None
    assert page2.seed == 1000 * 0 + 2 + 7919


def test_astream_story_yields_events_as_they_happen_and_ends_with_done(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)], "page_delay": 0.05})

    async def collect():
        seen = []
        async for event in teller.astream_story("A fox", out=tmp_path / "s", pages=2):
            seen.append((time.perf_counter(), event))
        return seen

    seen = asyncio.run(collect())
    events = [e for _, e in seen]
    assert isinstance(events[0], (ModelCall, PlanReady)) and isinstance(events[-1], StoryDone)
    assert events[-1].folder == str(tmp_path / "s") and events[-1].title == "The Lantern"
    deltas = [e for e in events if isinstance(e, PageTextDelta)]
    assert "".join(d.delta for d in deltas if d.page == 1).startswith("Scene 1 text.")
    # Streamed, not batched at the end: the plan arrived well before the story was done.
    plan_at = next(t for t, e in seen if isinstance(e, PlanReady))
    assert seen[-1][0] - plan_at > 0.08


def test_astream_yields_error_then_raises(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]}, narrator={"fail_on": "Scene 1"})

    async def collect(seen):
        async for event in teller.astream_story("A fox", out=tmp_path / "s", pages=2):
            seen.append(event)

    seen: list = []
    with pytest.raises(BackendCallError):
        asyncio.run(collect(seen))
    assert isinstance(seen[-1], Error) and "Scene 1" in seen[-1].message
    assert unlocked(tmp_path / "s")


# =============================================================================================
# cancellation
# =============================================================================================
def test_cancel_token_stops_between_pages_and_resume_finishes(make_teller, tmp_path):
    cancel = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, TurnCommitted):
            cancel.set()

    teller = make_teller(llm={"plans": [plan_json(5)], "page_delay": 0.05})
    with pytest.raises(Cancelled):
        teller.new_story("A fox", out=tmp_path / "s", pages=5, on_event=on_event, cancel=cancel)
    assert unlocked(tmp_path / "s")
    partial = load_story(tmp_path / "s")
    assert 2 <= len(partial.history) and len(partial.pages) < 5  # stopped early, kept its committed turns
    committed = {n for t in partial.history for n in t.pages}
    assert all(partial.pages[n - 1].illustration and partial.pages[n - 1].narration for n in committed)
    files_match(tmp_path / "s", partial)
    assert isinstance(events[-1], Error) and events[-1].cancelled
    assert teller.resume(tmp_path / "s").is_complete


def test_cancel_inside_llm_streaming_keeps_the_page_out(make_teller, tmp_path):
    cancel = CancelToken()

    def on_event(event):
        if isinstance(event, PageTextDelta) and event.page == 2:
            cancel.cancel()

    teller = make_teller(llm={"plans": [plan_json(3)]})
    with pytest.raises(Cancelled, match="while writing page 2"):
        teller.new_story("A fox", out=tmp_path / "s", pages=3, on_event=on_event, cancel=cancel)
    assert [p.number for p in load_story(tmp_path / "s").pages] == [1]
    assert unlocked(tmp_path / "s")


def test_a_cancelled_token_stops_before_anything_is_made(make_teller, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        make_teller(llm={"plans": [plan_json(1)]}).new_story("A fox", out=tmp_path / "s", pages=1, cancel=cancel)
    assert not (tmp_path / "s").exists()


def test_cancelled_continuation_is_rolled_back(two_pages):
    teller, root = two_pages
    before = load_story(root)
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        teller.continue_story(root, "A storm", cancel=cancel,
                              on_event=lambda e: cancel.set() if isinstance(e, PageWritten) else None)
    assert load_story(root) == before and unlocked(root)


def test_asyncio_task_cancellation_stops_the_story_and_unlocks_the_folder(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(6)], "page_delay": 0.05})

    async def main():
        written = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_event(event):
            if isinstance(event, PageWritten):
                loop.call_soon_threadsafe(written.set)

        task = asyncio.create_task(teller.anew_story("A fox", out=tmp_path / "s", pages=6, on_event=on_event))
        await written.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # By the time CancelledError arrives the worker has stopped and released the folder.
        return unlocked(tmp_path / "s")

    assert asyncio.run(main())
    assert len(load_story(tmp_path / "s").pages) < 6


def test_closing_the_event_stream_cancels_the_story(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(6)], "page_delay": 0.05})

    async def main():
        async with aclosing(teller.astream_story("A fox", out=tmp_path / "s", pages=6)) as events:
            async for event in events:
                if isinstance(event, PageWritten):
                    break
        return unlocked(tmp_path / "s")

    assert asyncio.run(main())
    assert len(load_story(tmp_path / "s").pages) < 6


# =============================================================================================
# two stories at once (asyncio): no shared state or files, shared models
# =============================================================================================
def test_two_async_stories_share_models_not_state(make_teller, tmp_path):
    first = make_teller(llm={"plans": [plan_json(3)], "page_delay": 0.1})
    second = make_teller(llm={"plans": [plan_json(3)], "page_delay": 0.1})
    for role in ("llm", "illustrator", "narrator", "text_embedder", "image_embedder"):
        assert first.toolbox.backend(role) is second.toolbox.backend(role)
    heard: dict[str, list] = {"a": [], "b": []}

    async def main():
        return await asyncio.gather(
            first.anew_story("A fox in the snow", out=tmp_path / "a", pages=3, seed=1, style="pencil", on_event=heard["a"].append),
            second.anew_story("A whale in the sea", out=tmp_path / "b", pages=3, seed=2, style="crayon", on_event=heard["b"].append),
        )

    started = time.perf_counter()
    a, b = asyncio.run(main())
    elapsed = time.perf_counter() - started
    assert (a.premise, a.seed, a.style.name) == ("A fox in the snow", 1, "pencil")
    assert (b.premise, b.seed, b.style.name) == ("A whale in the sea", 2, "crayon")
    assert load_story(tmp_path / "a") == a and load_story(tmp_path / "b") == b
    assert [p.text_provenance.seed for p in a.pages] == [2, 3, 4] and [p.text_provenance.seed for p in b.pages] == [3, 4, 5]
    for key, story in (("a", a), ("b", b)):
        files_match(tmp_path / key, story)
        done = [e for e in heard[key] if isinstance(e, StoryDone)]
        assert len(done) == 1 and done[0].folder == str(tmp_path / key)  # each hears only its own story
        assert {e.path for e in heard[key] if isinstance(e, ImageReady)} == {p.illustration.path for p in story.pages}
        assert sum(isinstance(e, TurnCommitted) for e in heard[key]) == 3
    # One model instance served both, concurrently: 6 pages of 0.1 s each in well under 0.6 s of writing.
    llm = first.toolbox.llm
    assert len([c for c in llm.calls if "Now write page" in c["messages"][1]["content"]]) == 6
    spans = {key: [(e.started_at, e.started_at + e.duration_s) for e in heard[key]
                   if isinstance(e, ModelCall) and e.role == "llm" and e.operation == "complete"] for key in heard}
    assert any(min(x[1], y[1]) > max(x[0], y[0]) for x in spans["a"] for y in spans["b"])
    assert elapsed < 10


# =============================================================================================
# LangChain tools
# =============================================================================================
def test_every_tool_is_a_langchain_tool_with_a_valid_tool_calling_schema(two_pages, photo):
    import jsonschema
    from langchain_core.messages import ToolMessage
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from storyteller.backends.base import AudioResult, ImageResult, TextResult
    from storyteller.langchain import tools

    teller, root = two_pages
    built = {t.name: t for t in tools(teller)}
    assert set(built) == {"caption", "ask", "illustrate", "narrate"}  # remember/retrieve need a memory
    for tool in built.values():
        spec = convert_to_openai_tool(tool)["function"]
        assert spec["name"] == tool.name and spec["description"]
        jsonschema.Draft202012Validator.check_schema(spec["parameters"])
        assert spec["parameters"]["type"] == "object" and "backend" not in spec["parameters"]["properties"]
    illustrate_schema = convert_to_openai_tool(built["illustrate"])["function"]["parameters"]
    jsonschema.validate({"prompt": "a fox", "seed": 3, "figures": [{"key": "fern", "label": "Fern"}]}, illustrate_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"prompt": "a fox"}, illustrate_schema)  # seed is required

    caption = built["caption"].invoke({"image_path": str(photo)})
    assert isinstance(caption, TextResult) and "classical analysis" in caption.text
    image = built["illustrate"].invoke({"prompt": "a fox", "seed": 5, "width": 96, "height": 64})
    assert isinstance(image, ImageResult) and image.image.size == (96, 64) and image.provenance.seed == 5
    audio = built["narrate"].invoke({"text": "Hello fox.", "voice_id": "b"})
    assert isinstance(audio, AudioResult) and audio.seconds > 0
    answer = built["ask"].invoke({"image_path": str(root / "images/page-01.png"), "question": "Is it bright?"})
    assert answer.provenance.backend == "classical"
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        built["narrate"].invoke({"text": ""})

    # For an agent: a short text for the model, the result object as the ToolMessage's artifact.
    agent_tool = {t.name: t for t in tools(teller, for_agents=True)}["illustrate"]
    message = agent_tool.invoke({"type": "tool_call", "id": "call-1", "name": "illustrate",
                                 "args": {"prompt": "a fox", "seed": 5, "width": 96, "height": 64}})
    assert isinstance(message, ToolMessage) and "96x64" in message.content and message.tool_call_id == "call-1"
    assert isinstance(message.artifact, ImageResult)


def test_memory_tools_remember_and_retrieve(registry):
    from storyteller.config import Settings
    from storyteller.langchain import tools
    from storyteller.memory import Memory

    from storyteller import Storyteller

    teller = Storyteller(Settings(text_embedder={"backend": "hash"}), registry=registry)
    memory = Memory(None, teller.toolbox.backend("text_embedder"))
    remember, retrieve = tools(teller, names=["remember", "retrieve"], memory=memory)
    record = remember.invoke({"text": "The lighthouse has a red door.", "type": "place", "key": "lighthouse", "page": 2})
    assert record.type == "place" and record.page == 2
    remember.invoke({"text": "Fern is afraid of thunder."})
    hits = retrieve.invoke({"query": "what colour is the lighthouse door", "k": 1})
    assert hits[0].record.key == "lighthouse"
    from storyteller.errors import ConfigError

    with pytest.raises(ConfigError, match="memory"):
        tools(teller, names=["remember"])


# =============================================================================================
# LangGraph: the story graph as a subgraph; the Runnable
# =============================================================================================
def test_story_graph_is_a_subgraph_of_a_users_graph(make_teller, tmp_path):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from storyteller.langchain import StoryGraphState, story_graph

    class State(StoryGraphState, total=False):
        request: str
        blurb: str

    teller = make_teller(llm={"plans": [plan_json(2)]})
    builder = StateGraph(State)
    builder.add_node("prepare", lambda s: {"premise": s["request"].removeprefix("story: "), "out": str(tmp_path / "fox"), "pages": 2})
    builder.add_node("story", story_graph(teller))
    builder.add_node("blurb", lambda s: {"blurb": f"{s['title']}: {len(s['texts'])} pages, first: {s['texts'][0]}"})
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "story")
    builder.add_edge("story", "blurb")
    builder.add_edge("blurb", END)
    app = builder.compile(checkpointer=InMemorySaver())

    config = {"configurable": {"thread_id": "t1"}}
    custom, updates = [], []
    # A subgraph's custom stream reaches the parent's stream with subgraphs=True (LangGraph's rule).
    for namespace, mode, chunk in app.stream({"request": "story: A fox who finds a lantern"}, config,
                                             stream_mode=["custom", "updates"], subgraphs=True):
        if mode == "custom":
            custom.append(chunk)
        elif not namespace:
            updates.append(chunk)
    state = app.get_state(config).values
    assert state["blurb"].startswith("The Lantern: 2 pages, first: Scene")
    assert state["images"] == ["images/page-01.png", "images/page-02.png"] and state["folder"] == str(tmp_path / "fox")
    assert load_story(tmp_path / "fox").is_complete
    assert any(isinstance(e, PlanReady) for e in custom) and isinstance(custom[-1], StoryDone)  # events reach the user's stream
    assert [next(iter(u)) for u in updates] == ["prepare", "story", "blurb"]

    # Idempotent on its folder: invoked again, it resumes (here: nothing left to do) instead of failing.
    calls = len(teller.toolbox.llm.calls)
    again = story_graph(teller).invoke({"premise": "A fox who finds a lantern", "out": str(tmp_path / "fox")})
    assert again["texts"] == state["texts"] and len(teller.toolbox.llm.calls) == calls
    with pytest.raises(StoryFolderError, match="another story"):
        story_graph(teller).invoke({"premise": "A whale", "out": str(tmp_path / "fox")})

    # And asynchronously, through the async API.
    result = asyncio.run(story_graph(teller).ainvoke({"premise": "A fox", "out": str(tmp_path / "async"), "pages": 2}))
    assert result["title"] == "The Lantern" and set(result) == {"folder", "title", "texts", "images", "narrations"}


def test_storyteller_is_a_runnable(make_teller, tmp_path):
    from langchain_core.runnables import RunnableLambda

    teller = make_teller(llm={"plans": [plan_json(2)]})
    runnable = teller.as_runnable()
    story = runnable.invoke({"premise": "A fox", "out": str(tmp_path / "a"), "pages": 2})
    assert story.is_complete and story == load_story(tmp_path / "a")

    chain = RunnableLambda(lambda topic: {"premise": f"A story about {topic}", "out": str(tmp_path / "b"), "pages": 2}) | runnable
    story = asyncio.run(chain.ainvoke("a lantern"))
    assert story.premise == "A story about a lantern"

    async def stream():
        return [e async for e in runnable.astream({"premise": "A fox", "out": str(tmp_path / "c"), "pages": 2})]

    events = asyncio.run(stream())
    assert isinstance(events[-1], StoryDone) and events[-1].folder == str(tmp_path / "c")
    assert sum(isinstance(e, TurnCommitted) for e in events) == 2
    sync_events = list(runnable.stream({"premise": "A fox", "out": str(tmp_path / "d"), "pages": 2}))
    assert isinstance(sync_events[-1], StoryDone)
    with pytest.raises(InvalidInput, match="lacks out"):
        runnable.invoke({"premise": "A fox"})


# =============================================================================================
# plugins
# =============================================================================================
def test_a_plugin_package_adds_a_backend_and_a_tool(tmp_path, monkeypatch):
    import subprocess
    import zipfile

    from storyteller.backends import Registry
    from storyteller.config import RoleConfig, Settings
    from storyteller.langchain import tools

    from storyteller import Storyteller

    import shutil

    source = tmp_path / "plugin_example"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(Path(__file__).parent / "plugin_example", source, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("storyteller_plugin_example-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # what `pip install --target` does, without touching the venv
        archive.extractall(site)
    monkeypatch.syspath_prepend(str(site))
    try:
        registry = Registry()
        registry.load_plugins()
        assert [e.plugin for e in registry.backends("narrator") if e.name == "morse"] == ["example"]
        assert "reading_time" in {t.name for t in registry.tools()}

        from fakes import register_fakes

        register_fakes(registry)
        teller = Storyteller(Settings(llm=RoleConfig(backend="scripted", options={"plans": [plan_json(1)]}),
                                      illustrator=RoleConfig(backend="solid"), narrator=RoleConfig(backend="morse"),
                                      text_embedder=RoleConfig(backend="hash")), registry=registry)
        story = teller.new_story("A fox", out=tmp_path / "s", pages=1)
        assert story.pages[0].narration.provenance.backend == "morse"
        assert story.pages[0].narration.provenance.kind == "procedural"
        reading_time = {t.name: t for t in tools(teller)}["reading_time"]
        assert reading_time.invoke({"text": "one two three " * 50}) == "about 1.0 minutes aloud"
        exported = teller.export(tmp_path / "s", "txt")  # a format from the plugin, by its one registration
        assert exported.parent == tmp_path / "s" / "exports" and exported.suffix == ".txt"
        assert exported.read_text(encoding="utf-8").startswith(story.title)
        assert [e.plugin for e in registry.exporters() if e.name == "txt"] == ["example"]
    finally:
        for name in [m for m in sys.modules if m.startswith("storyteller_plugin_example")]:
            del sys.modules[name]
