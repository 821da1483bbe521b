"""The story graph: plan, then write pages one after another while each written page is
illustrated and narrated concurrently.

    START -> plan -> write_page --(Send)--> illustrate(page n) -> END
                       |   ^     --(Send)--> narrate(page n)    -> END
                       +---+ (next page)

LangGraph runs the nodes of one super-step in parallel, so while page n+1 is being written,
page n is being illustrated and narrated: narration of page 2 overlaps the writing of page 3 and
the illustration of page 2. Page text depends on the pages before it, so writing stays sequential;
media depend only on their own page.

The graph's state is small (which page is next); the story itself lives in the StoryFolder, which
is the only writer of the folder. A page's turn is committed when its text, picture and sound are
all saved, so an interrupted run resumes at the first incomplete page.

The memory (storyteller.memory) is what keeps a long story coherent and its characters looking the
same: the writer's context comes from it within the LLM's budget, and every illustration passes the
consistency gate, which scores it against the characters' and the style's reference images and
redraws it with another seed, a bounded number of times, when it drifts.
"""

from __future__ import annotations

import io
import threading
import wave
from dataclasses import dataclass, field
from typing import TypedDict

from storyteller.agent.plan import make_plan, story_from_plan
from storyteller.agent.toolbox import Toolbox
from storyteller.agent.writer import write_page
from storyteller.memory import ConsistencyGate
from storyteller.events import AudioReady, ConsistencyScored, ImageReady, PageTextDelta, PageWritten, PlanReady, TurnCommitted, emit
from storyteller.session import StoryFolder
from storyteller.story import Asset, Page


class GraphState(TypedDict, total=False):
    next_page: int


class MediaTask(TypedDict):
    page: int


def wav_bytes(samples, sample_rate: int) -> bytes:
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


@dataclass
class StoryRun:
    """One story being made: what to make, with which tools, into which folder."""

    toolbox: Toolbox
    folder: StoryFolder | None = None
    # What `plan` needs when the folder does not exist yet.
    premise: str = ""
    pages: int = 6
    style: str = "watercolor"
    out: str = ""
    seed: int = 0
    memory: object = None  # storyteller.memory.Memory, opened with the folder
    _page_lock: threading.Lock = field(default_factory=threading.Lock)

    def open_memory(self) -> None:
        from storyteller.memory import Memory

        story = self.folder.story
        self.memory = Memory.open(self.folder.root, self.toolbox.backend("text_embedder"),
                                  self.toolbox.backend("image_embedder"), story=story)
        if not self.memory.sheets:  # a new story: its lorebook starts with the plan
            for character in story.characters:
                self.memory.add_character(character)
            self.memory.add_style(story.style)
            self.memory.save()

    # -- nodes --------------------------------------------------------------------------------
    def plan(self, state: GraphState) -> GraphState:
        if self.folder is None:
            plan, completion, failed = make_plan(
                self.toolbox.llm, self.premise, pages=self.pages, style=self.style, seed=self.seed,
                max_attempts=self.toolbox.settings.plan_attempts,
            )
            story = story_from_plan(plan, premise=self.premise, style=self.style, seed=self.seed)
            provenance = completion.provenance
            provenance.parameters["failed_attempts"] = failed
            story.plan_provenance = provenance
            self.folder = StoryFolder.create(self.out, story)
            self.open_memory()
            self.folder.commit("plan", f"planned {len(story.outline)} pages: {story.title}")
            emit(PlanReady(title=story.title, pages=len(story.outline), characters=[c.name for c in story.characters]))
        elif self.memory is None:
            self.open_memory()
        return {"next_page": len(self.folder.story.pages) + 1}

    def write_page(self, state: GraphState) -> GraphState:
        story = self.folder.story
        number = state["next_page"]
        beat = story.outline[number - 1]
        # The memory's context holds the character sheets on stage, the last pages in full and
        # summaries of older ones, sized to a third of the LLM's context window.
        context = self.memory.context(f"{beat.beat} {beat.scene}", beat.characters,
                                      budget_tokens=self.toolbox.llm.context_length // 3)
        text, provenance = write_page(
            self.toolbox.llm, story, number, previous=[], context=context, seed=self.seed + number,
            on_text=lambda delta: emit(PageTextDelta(page=number, delta=delta)),
        )
        mentioned = [c.slug for c in story.characters if c.name.lower() in text.lower() and c.slug not in beat.characters]
        page = Page(number=number, text=text, scene=beat.scene, characters=[*beat.characters, *mentioned],
                    text_provenance=provenance)
        with self._page_lock:
            story.pages.append(page)
            self.folder.save()
        self.memory.add_page(page)
        emit(PageWritten(page=number, text=text))
        return {"next_page": number + 1}

    def illustrate(self, task: MediaTask) -> GraphState:
        story = self.folder.story
        page = story.pages[task["page"] - 1]
        figures = [
            {"key": c.slug, "label": c.name, "description": c.appearance.describe(), "colors": c.appearance.colors,
             "species": c.appearance.species}
            for c in (story.character(slug) for slug in page.characters)
        ]
        settings = self.toolbox.settings
        request = {
            "prompt": f"{page.scene}. {page.text}", "scene": page.scene,
            "style": f"{story.style.name}. {story.style.description}".strip(". "), "palette": story.style.palette,
            "figures": figures, "caption": page.text, "width": settings.image_width, "height": settings.image_height,
        }
        results = {}

        def draw(attempt: int):
            # Each retry is a new seed: the gate keeps the attempt most consistent with the references.
            results[attempt] = self.toolbox.illustrate.invoke({**request, "seed": self.seed * 1000 + page.number + 7919 * attempt})
            return results[attempt].image

        gate = ConsistencyGate(self.toolbox.backend("image_embedder"), settings.gate_thresholds or None,
                               max_attempts=settings.gate_attempts)
        verdict = gate.run_for_page(draw, self.memory, page.characters, text=page.text)
        result = results[verdict.attempt]
        result.provenance.parameters["consistency"] = verdict.to_dict()
        asset = self.folder.write_asset("image", f"page-{page.number:02d}", png_bytes(result.image), suffix=".png",
                                        media_type="image/png", provenance=result.provenance)
        self.memory.add_illustration(page.number, result.image, asset=asset.path, characters=page.characters)
        emit(ConsistencyScored(page=page.number, attempts=len(verdict.attempts), passed=verdict.passed,
                               scores=verdict.scores))
        self._attach(page.number, "illustration", asset)
        emit(ImageReady(page=page.number, path=asset.path, provenance=asset.provenance))
        return {}

    def narrate(self, task: MediaTask) -> GraphState:
        page = self.folder.story.pages[task["page"] - 1]
        result = self.toolbox.narrate.invoke({"text": page.text})
        asset = self.folder.write_asset("audio", f"page-{page.number:02d}", wav_bytes(result.samples, result.sample_rate),
                                        suffix=".wav", media_type="audio/wav", provenance=result.provenance)
        self._attach(page.number, "narration", asset)
        emit(AudioReady(page=page.number, path=asset.path, provenance=asset.provenance))
        return {}

    # -- routing ------------------------------------------------------------------------------
    def after_plan(self, state: GraphState):
        from langgraph.graph import END
        from langgraph.types import Send

        # On resume, pages written before the interruption may still lack their media.
        sends = [Send(node, {"page": p.number}) for p in self.folder.story.pages
                 for node, done in (("illustrate", p.illustration), ("narrate", p.narration)) if done is None]
        if state["next_page"] <= len(self.folder.story.outline):
            sends.append("write_page")
        return sends or END

    def after_write(self, state: GraphState):
        from langgraph.types import Send

        written = state["next_page"] - 1
        targets: list = [Send("illustrate", {"page": written}), Send("narrate", {"page": written})]
        if state["next_page"] <= len(self.folder.story.outline):
            targets.append("write_page")
        return targets

    def _attach(self, number: int, slot: str, asset: Asset) -> None:
        """Put an asset on its page; commit the page's turn once text, image and audio are all there."""
        with self._page_lock:
            page = self.folder.story.pages[number - 1]
            setattr(page, slot, asset)
            if page.illustration and page.narration:
                self.memory.save()  # before the commit: a committed turn never lacks its memory
                turn = self.folder.commit("page", f"page {number}: {page.text[:80]}", pages=[number])
                emit(TurnCommitted(turn=turn.number, action="page", pages=[number]))
            else:
                self.folder.save()

    def graph(self):
        from langgraph.graph import END, START, StateGraph

        builder = StateGraph(GraphState)
        builder.add_node("plan", self.plan)
        builder.add_node("write_page", self.write_page)
        builder.add_node("illustrate", self.illustrate)
        builder.add_node("narrate", self.narrate)
        builder.add_edge(START, "plan")
        builder.add_conditional_edges("plan", self.after_plan, ["write_page", "illustrate", "narrate", END])
        builder.add_conditional_edges("write_page", self.after_write, ["write_page", "illustrate", "narrate"])
        builder.add_edge("illustrate", END)
        builder.add_edge("narrate", END)
        return builder.compile()

    def run(self) -> StoryFolder:
        outline = len(self.folder.story.outline) if self.folder else self.pages
        # One super-step per page plus plan and the last media step; LangGraph's default bound (25)
        # would stop a long story.
        self.graph().invoke({}, {"recursion_limit": outline + 10})
        return self.folder

