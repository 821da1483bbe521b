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

A caller can cancel a run (`StoryRun.cancel`): every node, every illustration attempt and every
streamed text delta checks the token and raises `Cancelled`. LangGraph waits for the nodes of a
super-step before it re-raises, so when `run()` returns or raises nothing is still writing into the
folder. The same nodes serve `continue_story` (one page beyond the plan, from the reader's
direction; a failed or cancelled continuation is rolled back to the story as it was) and the
re-illustration and re-narration of one page (`reillustrate`, `renarrate`).
"""

from __future__ import annotations

import io
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from storyteller.agent.photos import describe_photo, store_photo
from storyteller.agent.plan import plan_beat, plan_story
from storyteller.agent.shots import make_shot
from storyteller.agent.toolbox import Toolbox
from storyteller.agent.voices import assign_voices, narrate_page
from storyteller.agent.writer import write_page
from storyteller.cancel import CancelToken
from storyteller.events import (AudioReady, ConsistencyRetry, ConsistencyScored, ImageReady, PageTextDelta, PageWritten,
                                PlanReady, TurnCommitted, emit)
from storyteller.errors import BackendUnavailable
from storyteller.memory import ConsistencyGate
from storyteller.session import StoryFolder
from storyteller.requests import NewStory
from storyteller.story import Asset, Page, Story, Turn, Voice

# Attempt i of the consistency gate draws with seed base + SEED_STRIDE * i.
SEED_STRIDE = 7919


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


def _quietly(load):
    """A background load whose failure is left to the first real use: that call loads again and
    raises the error where the user sees it (a thread's exception would only be printed)."""
    def run() -> None:
        try:
            load()
        except Exception:
            pass
    return run


class _ReportingGate(ConsistencyGate):
    """The gate, remembering the scores of its last attempt for the retry event."""

    last_scores: dict = {}

    def score(self, image, **kwargs):
        self.last_scores = super().score(image, **kwargs)
        return self.last_scores


@dataclass
class StoryRun:
    """One story being made: with which tools, into which folder (or, for a new story, what to
    plan: `new`). The runner (storyteller.agent.runner) makes one per request."""

    toolbox: Toolbox
    folder: StoryFolder | None = None
    new: NewStory | None = None  # what `plan` makes when the folder does not exist yet
    seed: int = 0
    memory: Any = None  # storyteller.memory.Memory, opened with the folder
    cancel: CancelToken = field(default_factory=CancelToken)
    # continue_story: page number -> what goes into that page's text provenance (direction, photo).
    text_notes: dict[int, dict] = field(default_factory=dict)
    # continue_story: the story before the continuation, restored if the run fails or is cancelled.
    rollback_to: Story | None = None
    # Held while the story or the folder changes: the media nodes of one super-step run in threads.
    # Re-entrant: a page's media attach and its turn's commit happen under one hold.
    _page_lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def open(cls, toolbox: Toolbox, folder: str | Path, cancel: CancelToken) -> StoryRun:
        """A run on an existing story folder (locked until the runner closes it)."""
        opened = StoryFolder.open(folder)
        return cls(toolbox, folder=opened, seed=opened.story.seed, cancel=cancel)

    def create_folder(self, out: str | Path, story: Story) -> StoryFolder:
        """The new story's folder (after a new story's plan or a photo scene's cast): the run
        writes into it from now on."""
        self.folder = StoryFolder.create(out, story)
        return self.folder

    def commit(self, action: str, summary: str, *, pages: list[int] | None = None,
               previous: dict | None = None) -> Turn:
        """Commit a turn: the one way a change to a story becomes part of its history. The memory
        is saved first (a committed turn never lacks its memory), then the turn is recorded and
        the story saved (the unit of durability), then announced: PlanReady for a plan, else
        TurnCommitted."""
        with self._page_lock:
            if self.memory is not None:
                self.memory.save()
            turn = self.opened.commit(action, summary, pages=pages, previous=previous)
        story = self.opened.story
        emit(PlanReady(title=story.title, pages=len(story.outline), characters=[c.name for c in story.characters])
             if action == "plan" else TurnCommitted(turn=turn.number, action=action, pages=turn.pages))
        return turn

    def open_memory(self, *, start_lorebook: bool = True) -> None:
        """The story's memory; for a story whose memory has no sheets yet (a new one), its lorebook
        is started from the plan (sheets, portraits, style) unless `start_lorebook` is False."""
        from storyteller.images import load_image
        from storyteller.memory import Memory

        story = self.opened.story
        self.memory = Memory.open(self.opened.root, self.toolbox.backend("text_embedder"),
                                  self.toolbox.backend("image_embedder"), story=story)
        if start_lorebook and not self.memory.sheets:  # a new story: its lorebook starts with the plan
            for character in story.characters:
                self.memory.add_character(character)
                if character.reference_assets:  # a photo scene's characters come with their crop of the photo
                    self.memory.add_reference_images(
                        character.slug, [load_image(self.opened.asset_path(a)) for a in character.reference_assets],
                        assets=[a.path for a in character.reference_assets])
                else:
                    self.draw_portrait(character)
            self.memory.add_style(story.style)
            self.memory.save()

    def ensure_voices(self) -> bool:
        """Give the narrator and each character without one a voice from the narrator backend (kept
        in the sheets, so every later page and session reuses it). True when any was given."""
        story = self.opened.story
        if story.narrator_voice is not None and all(c.voice for c in story.characters):
            return False
        assign_voices(story, self.toolbox.backend("narrator").voices())
        return True

    def figure(self, character) -> dict:
        reference = character.reference_assets[0] if character.reference_assets else None
        return {"key": character.slug, "label": character.name, "description": character.appearance.describe(),
                "colors": character.appearance.colors, "species": character.appearance.species,
                "reference_image": str(self.opened.asset_path(reference)) if reference else None}

    def add_character(self, character, *, page: int) -> None:
        """Bring a character into the cast from page `page` on (a newcomer, or one the reader
        adds): a voice, the sheet in memory and a sheet picture, which the gate then compares
        their pages with. The memory keeps page `page` with them, so an undo of that page, or a
        memory synced to an earlier story, forgets them."""
        story = self.opened.story
        character.joined = page
        with self._page_lock:
            story.characters.append(character)
            assign_voices(story, self.toolbox.backend("narrator").voices())
        self.memory.add_character(character, page=page)
        self.draw_portrait(character, page=page)
        with self._page_lock:
            self.opened.save()

    def bring_in_newcomers(self, number: int) -> list[dict]:
        """Who the direction (and photo) or the beat of continuation page `number` brings in joins
        the cast and the page (storyteller.agent.cast); their records, for the page's provenance."""
        from storyteller.agent.cast import arrivals, newcomer_sheet

        story = self.opened.story
        beat = story.outline[number - 1]
        words = " ".join(x for x in (beat.direction, beat.beat) if x)
        records = []
        for i, kind in enumerate(arrivals(story, words)):
            self.cancel.check(f"before the newcomer of page {number}")
            character, record = newcomer_sheet(self.toolbox.llm, story, kind, words,
                                               seed=self.seed * 1000 + 500 + 10 * number + i)
            self.add_character(character, page=number)
            beat.characters = list(dict.fromkeys([*beat.characters, character.slug]))[:4]
            records.append(record)
        if records:
            with self._page_lock:
                self.opened.save()
        return records

    def draw_portrait(self, character, *, page: int = 0, stem: str | None = None) -> None:
        """The character's sheet, drawn once from its sheet before page 1: the character large on a
        plain ground, front and side view, with its name and colours. It is the picture on the
        character's sheet and what reference-taking illustrators (IP-Adapter) are conditioned on;
        the consistency gate compares each page's region of the character with its views."""
        from storyteller.memory.gate import crop_region

        story, settings = self.opened.story, self.toolbox.settings
        self.cancel.check(f"before drawing {character.name}")
        result = self.toolbox.illustrate.invoke({
            "prompt": f"Character reference sheet: {character.name}, {character.appearance.describe()}, front view and "
                      "side view, full figure, plain background",
            "scene": "plain background", "style": f"{story.style.name}. {story.style.description}".strip(". "),
            "palette": story.style.palette, "figures": [self.figure(character)], "caption": character.name,
            "seed": (self.seed * 1000 + 900 + story.characters.index(character)) % 2**32, "sheet": True,
            "width": settings.image_width, "height": settings.image_height,
        })
        asset = self.opened.write_asset("reference_image", stem or f"character-{character.slug}", png_bytes(result.image),
                                        suffix=".png", media_type="image/png", provenance=result.provenance)
        character.reference_assets = [asset]
        # What the gate compares a page's region with: each view the illustrator placed ("slug",
        # "slug#side"), cut out as the gate cuts a page; an illustrator that cannot say where it
        # drew gives the whole sheet.
        views = [name for name in result.regions if name.split("#")[0] == character.slug]
        images = [crop_region(result.image, result.regions[v], mask=result.masks.get(v)) for v in views] or [result.image]
        self.memory.add_reference_images(character.slug, images, assets=[asset.path] * len(images), page=page)

    # -- nodes --------------------------------------------------------------------------------
    def plan(self, state: GraphState) -> GraphState:
        self.cancel.check("before planning")
        if self.folder is None:
            new = self.new
            premise, photo = new.premise, None
            if new.image is not None:  # the planner hears what the photo shows; the story keeps the user's premise
                photo = describe_photo(self.toolbox, str(new.image))
                premise = f"{premise} The story starts from the reader's photo, which shows: {photo.seen}"
                self.cancel.check("before planning")
            # The text embedder (seconds to load) is first needed by the memory and the beats'
            # novelty check, after the bible: its load overlaps the bible's LLM call.
            embedder = self.toolbox.backend("text_embedder")
            threading.Thread(target=_quietly(embedder.ensure_setup), name="load-text-embedder", daemon=True).start()
            story = plan_story(self.toolbox.llm, premise, pages=new.pages, style=new.style, seed=self.seed,
                               max_attempts=self.toolbox.settings.plan_attempts, language=new.language)
            story.premise = new.premise
            provenance = story.plan_provenance
            assign_voices(story, self.toolbox.backend("narrator").voices())
            self.create_folder(new.out, story)
            if photo is not None:
                asset = store_photo(self.folder, photo, "premise-photo")
                provenance.parameters.update(photo=asset.path, photo_sha256=asset.sha256,
                                             photo_description=photo.description)
            self.open_memory()
            self.commit("plan", f"planned {len(story.outline)} pages: {story.title}")
        else:
            if self.ensure_voices():  # a story from before voices were kept in the sheets
                self.opened.save()
            if self.memory is None:
                self.open_memory()
        return {"next_page": len(self.opened.story.pages) + 1}

    def write_page(self, state: GraphState) -> GraphState:
        story = self.opened.story
        number = state["next_page"]
        self.cancel.check(f"before writing page {number}")
        if plan_beat(self.toolbox.llm, story, number, self.toolbox.backend("text_embedder")):
            with self._page_lock:
                self.opened.save()  # the beat is part of the plan: a resume does not plan it again
        beat = story.outline[number - 1]
        if beat.direction:  # a continuation's page: who its words bring in joins first (again on resume: no one twice)
            newcomers = self.bring_in_newcomers(number)
            if newcomers:
                self.text_notes.setdefault(number, {})["newcomers"] = newcomers
        # The memory's context holds the character sheets, the last page in full (a small model
        # shown two copies from them) and summaries of older ones, sized to a third of the LLM's
        # context window. Every character's sheet, in story order, not only those on stage: the
        # prompts of successive pages then start alike, which the LLM's prompt cache reuses.
        context = self.memory.context(f"{beat.beat} {beat.scene}", [c.slug for c in story.characters], recent_pages=1,
                                      budget_tokens=self.toolbox.llm.context_length // 3)

        text, provenance = write_page(
            self.toolbox.llm, story, number, context=context, seed=self.seed + number,
            direction=beat.direction, candidates=self.toolbox.settings.page_candidates,
            on_text=lambda delta: emit(PageTextDelta(page=number, delta=delta)),
            check=lambda: self.cancel.check(f"while writing page {number}"),  # stops the LLM mid-stream
        )
        provenance.parameters.update(self.text_notes.get(number, {}))
        mentioned = [c.slug for c in story.characters if c.name.lower() in text.lower() and c.slug not in beat.characters]
        on_stage = [*beat.characters, *mentioned]
        self.cancel.check(f"before staging page {number}")
        shot = make_shot(self.toolbox.llm, text=text, scene=beat.scene, cast=[story.character(s) for s in on_stage],
                         seed=self.seed + number, previous=story.pages[-1].shot if story.pages else None)
        page = Page(number=number, text=text, scene=beat.scene, characters=on_stage, text_provenance=provenance,
                    shot=shot)
        with self._page_lock:
            story.pages.append(page)
            self.opened.save()
        self.memory.add_page(page)
        emit(PageWritten(page=number, text=text))
        return {"next_page": number + 1}

    def illustrate(self, task: MediaTask) -> GraphState:
        story = self.opened.story
        page = story.pages[task["page"] - 1]
        asset = self.draw(page, self.seed * 1000 + page.number, stem=f"page-{page.number:02d}")
        emit(ImageReady(page=page.number, path=asset.path, provenance=asset.provenance))
        self._attach(page.number, "illustration", asset)
        return {}

    def narrate(self, task: MediaTask) -> GraphState:
        self.narrate_one(task["page"])
        return {}

    def narrate_one(self, number: int) -> None:
        """Narrate a written page (the media step a photo scene's page also takes); its turn is
        committed once it has its picture too."""
        page = self.opened.story.pages[number - 1]
        asset = self.speak(page, None, stem=f"page-{page.number:02d}")
        emit(AudioReady(page=page.number, path=asset.path, provenance=asset.provenance))
        self._attach(page.number, "narration", asset)

    # -- the work of the media nodes, shared with reillustrate/renarrate ---------------------------------
    def draw(self, page: Page, base_seed: int, *, stem: str, change: str | None = None) -> Asset:
        """Illustrate a page's shot through the consistency gate; write the chosen picture and remember it."""
        story = self.opened.story
        self.cancel.check(f"before illustrating page {page.number}")
        # The figures in the shot's order (the picture's left to right intent), then anyone else on stage.
        staged = [m.character for m in page.shot.cast] if page.shot else []
        order = [s for s in staged if s in page.characters] + [s for s in page.characters if s not in staged]
        figures = [self.figure(story.character(slug)) for slug in order]
        settings = self.toolbox.settings
        request = {
            "prompt": f"{page.scene}. {change + '. ' if change else ''}{page.text}", "scene": page.scene,
            "style": f"{story.style.name}. {story.style.description}".strip(". "), "palette": story.style.palette,
            "figures": figures, "caption": page.text, "width": settings.image_width, "height": settings.image_height,
            "shot": page.shot.model_dump(mode="json", exclude={"provenance"}) if page.shot else None,
        }
        results = {}
        gate = _ReportingGate(self.toolbox.backend("image_embedder"), settings.gate_thresholds or None,
                              max_attempts=settings.gate_attempts)

        def attempt(number: int):
            # Each retry is a new seed: the gate keeps the attempt most consistent with the references.
            seed = (base_seed + SEED_STRIDE * number) % 2**32
            if number:
                self.cancel.check(f"before redrawing page {page.number}")
                emit(ConsistencyRetry(page=page.number, attempt=number, seed=seed, previous=gate.last_scores))
            results[number] = self.locate(self.toolbox.illustrate.invoke({**request, "seed": seed}), order)
            return results[number]

        verdict = gate.run_for_page(attempt, self.memory, page.characters, text=page.text)
        result = results[verdict.attempt]
        result.provenance.parameters["consistency"] = verdict.to_dict()
        # Counted, not guessed: figures the illustrator put in the picture against characters on stage.
        # (None: nobody could say where anyone is, so nothing was counted.)
        result.provenance.parameters["on_stage"] = {
            "asked": len(page.characters), "drawn": len(result.regions) if result.regions or not order else None,
            "source": result.provenance.parameters.get("regions_source", "illustrator")}
        asset = self.opened.write_asset("image", stem, png_bytes(result.image), suffix=".png",
                                        media_type="image/png", provenance=result.provenance)
        self.memory.add_illustration(page.number, result.image, asset=asset.path, characters=page.characters)
        emit(ConsistencyScored(page=page.number, attempts=len(verdict.attempts), passed=verdict.passed,
                               scores=verdict.scores))
        return asset

    def locate(self, result, order: list[str]):
        """Where the characters are in a picture whose illustrator did not say (a diffusion model):
        the detector role's people and animals, matched to the characters left to right in the
        shot's order. The provenance records that the regions were detected, and by what."""
        if result.regions or not order:
            result.provenance.parameters.setdefault("regions_source", "illustrator")
            return result
        try:
            found = self.toolbox.backend("detector").detect(result.image)
        except BackendUnavailable as exc:  # the gate then scores the whole picture, and says why
            result.provenance.parameters["regions_source"] = f"none: the detector is unavailable ({exc.message})"
            return result
        detector = f"detector {found.provenance.backend}:{found.provenance.model}"
        if len(found.detections) < len(order):
            # A detector that finds fewer than are on stage may just not know them (the embedded one
            # knows people and ten animals, no fox): which one is missing is unknown, so the gate
            # scores the whole picture rather than fail a character that may well be there.
            result.provenance.parameters["regions_source"] = (
                f"none: the {detector} found {len(found.detections)} of {len(order)} characters")
            return result
        boxes = sorted(found.detections, key=lambda d: -(d.score or 0))[:len(order)]
        boxes.sort(key=lambda d: d.box[0])
        result.regions = {slug: d.box for slug, d in zip(order, boxes)}
        result.provenance.parameters["regions_source"] = detector
        return result

    def speak(self, page: Page, narrator: Voice | None, *, stem: str) -> Asset:
        """Narrate a page, narration in the narrator's voice (or `narrator`) and each quoted line in
        its speaker's; write one audio file with the lines' timing."""
        self.cancel.check(f"before narrating page {page.number}")
        samples, rate, lines, provenance = narrate_page(self.toolbox.narrate, self.opened.story, page, narrator)
        asset = self.opened.write_asset("audio", stem, wav_bytes(samples, rate), suffix=".wav",
                                        media_type="audio/wav", provenance=provenance)
        asset.lines = lines
        return asset

    def continue_story(self, direction: str, image: Path | None = None) -> None:
        """One page beyond the plan from the reader's direction (and photo): its beat is planned,
        and the page is written, illustrated and narrated like a planned one, as a "continue"
        turn. If that fails or is cancelled, the story is put back as it was."""
        from storyteller.agent import continuation

        self.rollback_to = self.opened.story.model_copy(deep=True)
        step = continuation.prepare(self.toolbox, self.opened, direction, image)
        notes: dict[str, Any] = {"direction": direction}
        if step.photo is not None:
            notes.update(photo=step.photo.path, photo_sha256=step.photo.sha256, photo_description=step.photo_description)
        self.text_notes[step.page] = notes
        self.run()

    def _new_version_stem(self, number: int) -> str:
        # A redraw never overwrites the file story.json points at: a crash between writing the file
        # and committing would leave a story whose asset does not match its sha256. The old file
        # stays (the turn history and the new asset's provenance name it).
        return f"page-{number:02d}-turn{len(self.opened.story.history) + 1}"

    def reillustrate(self, number: int, seed: int | None = None, *, change: str | None = None) -> Asset:
        """Illustrate page `number` again (through the gate) and commit a "reillustrate" turn.
        `change`: what the picture should show differently; the page is staged again with it (the
        text stays), and undo puts the old staging back with the old picture."""
        story = self.opened.story
        page = story.pages[number - 1]
        if seed is None:  # a fresh seed that the story's own attempts never used, reproducible from the history
            seed = (self.seed * 1000 + number + 104729 * len(story.history)) % 2**32
        old_shot = page.shot
        if change:
            self.cancel.check(f"before staging page {number} again")
            page.shot = make_shot(self.toolbox.llm, text=page.text, scene=page.scene, change=change, seed=seed,
                                  cast=[story.character(s) for s in page.characters],
                                  previous=story.pages[number - 2].shot if number > 1 else None)
        try:
            asset = self.draw(page, seed, stem=self._new_version_stem(number), change=change)
        except BaseException:
            page.shot = old_shot  # nothing is committed: the page keeps its staging
            raise
        if change:
            asset.provenance.parameters.update(
                change=change, replaced_shot=old_shot.model_dump(mode="json") if old_shot else None)
        return self._replace(number, "illustration", asset, "reillustrate")

    def renarrate(self, number: int, voice: Voice | None = None) -> Asset:
        """Narrate page `number` again (optionally with another narrator voice; characters keep
        theirs) and commit a "renarrate" turn."""
        page = self.opened.story.pages[number - 1]
        asset = self.speak(page, voice, stem=self._new_version_stem(number))
        return self._replace(number, "narration", asset, "renarrate")

    def _replace(self, number: int, slot: str, asset: Asset, action: str) -> Asset:
        with self._page_lock:
            page = self.opened.story.pages[number - 1]
            old = getattr(page, slot)
            if old is not None:
                asset.provenance.parameters["replaces"] = old.path
                # The whole record of the previous version, so that undo can put it back exactly.
                asset.provenance.parameters["replaced_asset"] = old.model_dump(mode="json")
            setattr(page, slot, asset)
            emit((ImageReady if slot == "illustration" else AudioReady)(page=number, path=asset.path,
                                                                      provenance=asset.provenance))
            self.commit(action, f"page {number}: new {slot} {asset.path}", pages=[number])
        return asset

    # -- routing ------------------------------------------------------------------------------
    def after_plan(self, state: GraphState):
        from langgraph.graph import END
        from langgraph.types import Send

        # On resume, pages written before the interruption may still lack their media.
        sends: list[Any] = [Send(node, {"page": p.number}) for p in self.opened.story.pages
                 for node, done in (("illustrate", p.illustration), ("narrate", p.narration)) if done is None]
        if state["next_page"] <= len(self.opened.story.outline):
            sends.append("write_page")
        return sends or END

    def after_write(self, state: GraphState):
        from langgraph.types import Send

        written = state["next_page"] - 1
        targets: list[Any] = [Send("illustrate", {"page": written}), Send("narrate", {"page": written})]
        if state["next_page"] <= len(self.opened.story.outline):
            targets.append("write_page")
        return targets

    def _attach(self, number: int, slot: str, asset: Asset) -> None:
        """Put an asset on its page; commit the page's turn once text, image and audio are all there."""
        with self._page_lock:
            page = self.opened.story.pages[number - 1]
            setattr(page, slot, asset)
            if page.illustration and page.narration:
                action = "continue" if self.opened.story.outline[number - 1].direction else "page"
                self.commit(action, f"page {number}: {page.text[:80]}", pages=[number])
            else:
                self.opened.save()

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
        # Never a checkpointer, even inside a user's graph that has one: the story folder is this
        # graph's durable state (a re-run resumes from it), and its state is one page number.
        return builder.compile(checkpointer=False, name="storyteller")

    def run(self) -> StoryFolder:
        outline = len(self.opened.story.outline) if self.folder else self.new.pages
        try:
            # One super-step per page plus plan and the last media step; LangGraph's default bound
            # (25) would stop a long story.
            self.graph().invoke({}, {"recursion_limit": outline + 10})
        except BaseException:
            if self.rollback_to is not None and self.folder is not None:
                self.restore(self.rollback_to)
            raise
        return self.opened

    @property
    def opened(self) -> StoryFolder:
        """The story folder, once planning created it (or the run was given one)."""
        if self.folder is None:
            raise RuntimeError("the story folder is not open yet: the run has not planned")
        return self.folder

    def open_for_edit(self) -> None:
        """Memory and voices for work on an existing story outside the graph (reillustrate, renarrate)."""
        if self.ensure_voices():
            self.opened.save()
        if self.memory is None:
            self.open_memory()

    def restore(self, story: Story) -> None:
        """Put the folder (and its memory) back to `story`; files written since stay unreferenced."""
        with self._page_lock:
            self.opened.story = story
            self.opened.save()
            if self.memory is not None:
                self.memory.sync(story)
                self.memory.save()

