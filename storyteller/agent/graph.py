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
from storyteller.events import AudioReady, ImageReady, PageTextDelta, PageWritten, PlanReady, TurnCommitted, emit
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
    _page_lock: threading.Lock = field(default_factory=threading.Lock)

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
            self.folder.commit("plan", f"planned {len(story.outline)} pages: {story.title}")
            emit(PlanReady(title=story.title, pages=len(story.outline), characters=[c.name for c in story.characters]))
        return {"next_page": len(self.folder.story.pages) + 1}

    def write_page(self, state: GraphState) -> GraphState:
        story = self.folder.story
        number = state["next_page"]
        beat = story.outline[number - 1]
        text, provenance = write_page(
            self.toolbox.llm, story, number, previous=[p.text for p in story.pages], seed=self.seed + number,
            on_text=lambda delta: emit(PageTextDelta(page=number, delta=delta)),
        )
        mentioned = [c.slug for c in story.characters if c.name.lower() in text.lower() and c.slug not in beat.characters]
        page = Page(number=number, text=text, scene=beat.scene, characters=[*beat.characters, *mentioned],
                    text_provenance=provenance)
        with self._page_lock:
            story.pages.append(page)
            self.folder.save()
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
        result = self.toolbox.illustrate.invoke({
            "prompt": f"{page.scene}. {page.text}", "seed": self.seed * 1000 + page.number, "scene": page.scene,
            "style": f"{story.style.name}. {story.style.description}".strip(". "), "palette": story.style.palette,
            "figures": figures, "caption": page.text, "width": settings.image_width, "height": settings.image_height,
        })
        asset = self.folder.write_asset("image", f"page-{page.number:02d}", png_bytes(result.image), suffix=".png",
                                        media_type="image/png", provenance=result.provenance)
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

