"""The Python API. The CLI is a thin layer over this: everything it does is done here.

    from storyteller import Storyteller
    teller = Storyteller()                       # embedded default, or Storyteller(config_file="storyteller.toml")
    story = teller.new_story("A fox who finds a lantern in the snow", out="fox", pages=6, style="watercolor")
    story = teller.continue_story("fox", "The lantern starts to sing", image="photo.jpg")
    answer = teller.ask("fox", 2, "What colour is the lantern?")
    teller.export("fox", "html")

Each method that changes a story builds a request of storyteller.requests (the one place its input
is checked) and runs it with `run`, which hands it to the runner (storyteller.agent.runner); a
caller may build the request itself: `teller.run(Reillustrate(folder="fox", page=2))`.

Every long call takes `on_event` (a callback receiving typed events from storyteller.events, from
whichever thread does the work) and `cancel` (a threading.Event or storyteller.cancel.CancelToken;
the work stops at the next safe point and raises Cancelled, the folder keeps its last completed
turn and is unlocked). Each method has an async twin (`anew_story`, `acontinue_story`, ...) that
runs it in a worker thread (`arun` for a request), so an event loop is never blocked; cancelling the asyncio task
cancels the work and waits until the folder is released. `astream` (any request), `astream_story`/
`astream_continue`/`astream_resume` yield the events as an async iterator, ending with `StoryDone` (or raising the
error after yielding `Error`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from storyteller.cancel import CancelToken, SupportsIsSet
from storyteller.config import Settings, load_settings
from storyteller.events import BaseEvent
from storyteller.requests import (AddCharacter, Ask, ChangeCharacter, Chat, ContinueStory, EditStory, FindPictures, NewStory, PhotoScene, Reillustrate,
                                  Remember, Renarrate, Request, Resume, Score, SetVoice, Talk)
from storyteller.session import StoryFolder, load_story
from storyteller.story import Story, Voice

if TYPE_CHECKING:
    from storyteller.backends import Registry
    from storyteller.batch import BatchReport
    from storyteller.export import Format
    from storyteller.backends.base import TextResult, Transcript
    from storyteller.agent.chat import ChatReply
    from storyteller.agent.search import PictureHit
    from storyteller.history import BranchInfo, Undone
    from storyteller.langchain import StoryRunnable
    from storyteller.memory import EvalReport

EventCallback = Callable[[BaseEvent], None]
T = TypeVar("T")


def export_story(folder: str | Path, fmt: Format, out: str | Path | None = None, *, self_contained: bool = True,
                 blur_faces: bool = False, music: bool = True, registry: Registry | None = None) -> Path:
    """Export a story folder in a registered format (html, json, mp4, epub, and those plugins add);
    returns the path written (see storyteller.export). `blur_faces`: faces in the reader's photos
    (and their crops) are blurred in the export. `music` False: the story's music is left out."""
    from storyteller.export import export_story as export

    return export(Path(folder), fmt, out, self_contained=self_contained, blur_faces=blur_faces, music=music,
                  registry=registry)


class Storyteller:
    def __init__(self, settings: Settings | None = None, *, config_file: str | Path | None = None,
                 registry: Registry | None = None):
        """`registry`: a private backend registry (default: the process-wide one, so models are shared)."""
        from storyteller.agent.toolbox import Toolbox

        self.settings = settings or load_settings(config_file)
        self.toolbox = Toolbox(self.settings, registry)

    # =========================================================================================
    # stories
    # =========================================================================================
    def run(self, request: Request, *, on_event: EventCallback | None = None,
            cancel: SupportsIsSet | None = None) -> Story:
        """Execute a request of storyteller.requests (NewStory, ContinueStory, Reillustrate, ...)
        and return the story; each method below builds its request and runs it here."""
        from storyteller.agent.runner import execute

        return execute(self.toolbox, request, on_event=on_event, cancel=cancel)

    def new_story(
        self,
        premise: str,
        *,
        out: str | Path,
        pages: int = 6,
        style: str = "watercolor",
        seed: int = 0,
        image: str | Path | None = None,
        language: str | None = None,
        on_event: EventCallback | None = None,
        cancel: SupportsIsSet | None = None,
    ) -> Story:
        """Plan, write, illustrate and narrate a story into the folder `out` (created; must not hold a story).

        `image`: a photo to start from. It is described by the captioner for the planner, and
        copied into the folder (`images/premise-photo.*`, named in the plan's provenance).
        `language`: the story's ("en", "zh"; storyteller.languages), else the premise's.
        """
        return self.run(NewStory(premise=premise, out=out, pages=pages, style=style, seed=seed, image=image,
                                 language=language), on_event=on_event, cancel=cancel)

    def photo_scene(self, image: str | Path, *, out: str | Path, lines: int = 6, mood: str = "playful", seed: int = 0,
                    language: str = "en", keep_metadata: bool = False, on_event: EventCallback | None = None,
                    cancel: SupportsIsSet | None = None) -> Story:
        """Make a photo speak: find the people and animals in it, give each a character sheet (with
        how they look) and a voice, write `lines` lines of what they say to each other (each with a
        tone), and narrate each line in its speaker's voice, into the new folder `out` (a story of
        kind "photo"), in `language` ("en", "zh"). A photo with nobody in it becomes a guided scene
        about the things in it. The photo is stored without EXIF, GPS or other metadata unless
        `keep_metadata`."""
        return self.run(PhotoScene(image=image, out=out, lines=lines, mood=mood, seed=seed, language=language,
                                   keep_metadata=keep_metadata), on_event=on_event, cancel=cancel)

    def resume(self, folder: str | Path, *, on_event: EventCallback | None = None,
               cancel: SupportsIsSet | None = None) -> Story:
        """Finish a story whose run was interrupted: pages not yet written, and missing pictures or sound."""
        return self.run(Resume(folder=folder), on_event=on_event, cancel=cancel)

    def continue_story(self, folder: str | Path, direction: str, image: str | Path | None = None, *,
                       on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> Story:
        """Write ONE more page beyond the plan, steered by `direction` (and a photo, optionally).

        The photo is copied into the folder, described by the captioner, and the description is
        woven into the page. The page is illustrated (through the consistency gate) and narrated
        like a planned one and committed as a "continue" turn. If it fails or is cancelled, the
        story is put back as it was.
        """
        return self.run(ContinueStory(folder=folder, direction=direction, image=image), on_event=on_event,
                        cancel=cancel)

    # =========================================================================================
    # many stories
    # =========================================================================================
    def batch(self, premises: str | Path | Iterable[str | dict], *, out: str | Path, pages: int = 6,
              style: str = "watercolor", seed: int = 0, language: str | None = None, workers: int | None = None,
              ray: str | None = None, on_event: EventCallback | None = None,
              cancel: SupportsIsSet | None = None) -> BatchReport:
        """Write many stories, each into its own folder under `out` (storyteller.batch).

        `premises`: a text file (one premise a line), a JSONL file (premise, pages, style, seed,
        language a line), or a list of premises or of such dicts; `pages`, `style`, `seed`,
        `language` are the defaults for what a line does not say (`language` None: each premise's). Lines that cannot be run are reported by number
        (`report.bad_lines`) and the rest run. Run again, finished stories are skipped and
        interrupted ones resumed. Each story is `new_story` (or `resume`) then `evaluate`; one that
        fails is reported (`report.stories[i].error`) and the others go on. `workers`: stories at
        once (in-process: threads sharing this Storyteller's models; default 1). `ray`: "auto" or
        a cluster's address, to run each story as a Ray task with the backends in Ray actors
        (storyteller.cluster; needs the `ray` extra). Events: BatchPlanned, StoryStarted,
        StoryEvent (a story's own events), StoryFinished. The report is also written, as each
        story ends, to `out`/batch-report.json."""
        from storyteller.batch import run_batch

        return run_batch(self, premises, out=out, pages=pages, style=style, seed=seed, language=language,
                         workers=workers, ray=ray, on_event=on_event, cancel=cancel)

    # =========================================================================================
    # talking with a photo's characters
    # =========================================================================================
    def listen(self, recording: str | Path, *, language: str = "en") -> Transcript:
        """What the reader said in a recording (a WAV or other audio file), by the transcriber role,
        in `language` (a story's: "en", "zh"): show it to them, let them correct it, then `talk`
        with it (`heard=`)."""
        import hashlib

        from storyteller import languages

        code = languages.get(language).code  # refuses a language storyteller does not speak
        path = Path(recording).expanduser()
        transcript = self.toolbox.backend("transcriber").transcribe(path, language=code)
        transcript.provenance.parameters.update(transcript=transcript.text, recording=path.name[:200],
                                                recording_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        return transcript

    def talk(self, folder: str | Path, said: str, *, to: str | None = None, heard: Transcript | None = None,
             on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> Story:
        """Say something to the characters of a photo scene: `to` a character (name, alias or slug),
        or to the one `said` addresses ("@Milo ...", "Milo, ..."), else to whoever was spoken to last.
        They answer in character and in their voice (others may react), as a "talk" turn: a page
        with the photo, what was said and the answers, narrated (undo takes it back). `heard`: the
        `listen` transcript the words come from (corrected or not; the page records which)."""
        return self.run(Talk(folder=folder, said=said, to=to, heard=heard), on_event=on_event, cancel=cancel)

    # =========================================================================================
    # pages
    # =========================================================================================
    def chat(self, folder: str | Path, message: str, *, image: str | Path | None = None, max_steps: int = 4,
             on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> ChatReply:
        """Say something about a story in your own words; the agent answers it or calls the
        operations that do it (each one a turn `undo` takes back). Returns the reply (`.text`),
        the steps (`.steps`: tool, arguments, result) and the story as it is now (`.story`)."""
        from storyteller.agent.chat import chat

        return chat(self, Chat(folder=folder, message=message, image=image, max_steps=max_steps),
                    on_event=on_event, cancel=cancel)

    def search(self, folder: str | Path, query: str | None = None, *, image: str | Path | None = None,
               k: int = 3) -> list[PictureHit]:
        """The pages whose pictures best match `query` (or the picture `image`), best first; each
        hit says how it was found (storyteller.agent.search)."""
        from storyteller.agent.search import find_pictures

        return find_pictures(self.toolbox, FindPictures(folder=folder, query=query, image=image, k=k))

    def remember(self, folder: str | Path, fact: str, *, on_event: EventCallback | None = None) -> Story:
        """Keep a fact of the story for the pages to come (a "fact" turn; undo forgets it)."""
        return self.run(Remember(folder=folder, fact=fact), on_event=on_event)

    def add_character(self, folder: str | Path, name: str, kind: str, *, look: str | None = None,
                      clothing: str | None = None, colors: list[str] | None = None, personality: str | None = None,
                      role: str = "friend", on_event: EventCallback | None = None,
                      cancel: SupportsIsSet | None = None) -> Story:
        """Someone new in the cast, from the next page on: a sheet, a voice, memory entries and a
        sheet picture (a "character" turn; undo takes them out). A direction that brings someone in
        ("a cat comes out of the snow") adds them by itself."""
        return self.run(AddCharacter(folder=folder, name=name, kind=kind, look=look, clothing=clothing,
                                     colors=colors or [], personality=personality, role=role),
                        on_event=on_event, cancel=cancel)

    def change_character(self, folder: str | Path, character: str, *, look: str | None = None,
                         clothing: str | None = None, colors: list[str] | None = None,
                         personality: str | None = None, redraw: bool = False,
                         on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> Story:
        """Change a character's sheet (what is given; the rest stays): their sheet picture is drawn
        again, the writer and the gate use the new sheet from now on, and with `redraw` the pages
        they are on are drawn again (a "character" turn, then one per page; undo takes each back)."""
        return self.run(ChangeCharacter(folder=folder, character=character, look=look, clothing=clothing,
                                        colors=colors or [], personality=personality, redraw=redraw),
                        on_event=on_event, cancel=cancel)

    def ask(self, folder: str | Path, page: int, question: str) -> TextResult:
        """Answer a question about a page's illustration with the VQA backend (answer + provenance)."""
        from storyteller.agent.runner import ask

        return ask(self.toolbox, Ask(folder=folder, page=page, question=question))

    def reillustrate(self, folder: str | Path, page: int, *, seed: int | None = None, change: str | None = None,
                     on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> Story:
        """Draw a page again (through the consistency gate), committed as a "reillustrate" turn.

        `seed`: the first attempt's seed (default: a fresh one derived from the history).
        `change`: what the picture should show differently ("at night", "Lucy smiling"); the page
        is staged again with those words winning over its own (the text stays). The previous
        picture's file is kept; the new asset's provenance names it (`replaces`) and the change.
        """
        return self.run(Reillustrate(folder=folder, page=page, seed=seed, change=change), on_event=on_event,
                        cancel=cancel)

    def renarrate(self, folder: str | Path, page: int, *, voice: str | Voice | None = None,
                  on_event: EventCallback | None = None, cancel: SupportsIsSet | None = None) -> Story:
        """Narrate a page again, optionally with another narrator voice (an id or number of
        `voices()`, or a storyteller.story.Voice; characters keep their own voices); committed as a
        "renarrate" turn."""
        return self.run(Renarrate(folder=folder, page=page, voice=voice), on_event=on_event, cancel=cancel)

    def score(self, folder: str | Path, *, mood: str | None = None, on_event: EventCallback | None = None,
              cancel: SupportsIsSet | None = None) -> Story:
        """Compose the story's background music with the composer role: a piece for each run of
        pages that share a mood (read off their words), or one piece in `mood` for the whole story.
        Committed as a "music" turn (undo takes it back); the MP4 and HTML exports play it under
        the narration."""
        return self.run(Score(folder=folder, mood=mood), on_event=on_event, cancel=cancel)

    def voices(self) -> list[Voice]:
        """The voices the configured narrator offers, most neutral first (what `set_voice` takes)."""
        from storyteller.agent.voices import to_voice

        return [to_voice(v) for v in self.toolbox.backend("narrator").voices()]

    def set_voice(self, folder: str | Path, character: str, voice: str | Voice, *, rate: float | None = None,
                  pitch: float | None = None, renarrate: bool = True, on_event: EventCallback | None = None,
                  cancel: SupportsIsSet | None = None) -> Story:
        """Give a character (name, alias or slug; "narrator" for the narrator) another voice: an id
        or number of `voices()`, or a Voice; `rate` (>1 faster) and `pitch` (semitones) adjust it.
        Committed as a "voice" turn (undo puts the old voice back); with `renarrate`, every page
        where that voice is heard is narrated again, each as a "renarrate" turn."""
        return self.run(SetVoice(folder=folder, character=character, voice=voice, rate=rate, pitch=pitch,
                                 renarrate=renarrate), on_event=on_event, cancel=cancel)

    # =========================================================================================
    # folders
    # =========================================================================================
    def load(self, folder: str | Path) -> Story:
        """The story in a folder (read only; no lock is taken)."""
        return load_story(Path(folder))

    def save(self, folder: str | Path, story: Story, *, summary: str = "edited by the caller") -> Story:
        """Write back a story you loaded and edited (page texts, characters, style), as an "edit" turn.

        The folder's history must be the one you loaded (else someone else changed it meanwhile),
        and every asset it names must exist with its recorded sha256. The memory follows the edit;
        an edited page keeps its picture and narration until you `reillustrate`/`renarrate` it.
        """
        return self.run(EditStory(folder=folder, story=story, summary=summary))

    def export(self, folder: str | Path, fmt: Format, out: str | Path | None = None, *,
               self_contained: bool = True, blur_faces: bool = False, music: bool = True) -> Path:
        """Export in a registered format: html, json, mp4, epub, or one a plugin adds (see
        storyteller.export); returns the path written. `blur_faces`: faces in the reader's photos
        are blurred in the export (the story keeps them). `music` False: the story's music
        (`score`) is left out of the MP4 and HTML."""
        return export_story(folder, fmt, out, self_contained=self_contained, blur_faces=blur_faces, music=music,
                            registry=self.toolbox.registry)

    def evaluate(self, folder: str | Path, *, judge: bool = False) -> EvalReport:
        """ViStoryBench-style consistency metrics and the text measures of a story folder
        (storyteller.memory.EvalReport); with `judge`, also a rubric score from the judge LLM (the
        `judge` role, else the story's own LLM, which the report says)."""
        from storyteller.memory import evaluate_story

        judge_llm, label = (self.toolbox.judge if judge else (None, ""))
        return evaluate_story(Path(folder), self.toolbox.backend("image_embedder"), self.toolbox.backend("text_embedder"),
                              judge=judge_llm, judge_label=label)

    def as_runnable(self) -> StoryRunnable:
        """This storyteller as a LangChain Runnable: {"premise", "out", ...} -> Story (see storyteller.langchain)."""
        from storyteller.langchain import StoryRunnable

        return StoryRunnable(self)

    # =========================================================================================
    # undo and branches (storyteller.history; used by `storyteller play`)
    # =========================================================================================
    def undo(self, folder: str | Path) -> Undone:
        """Take back the story's last turn: a page (`page`/`continue`: the page, its beat and its
        files go; the memory forgets it) or a new picture/narration (`reillustrate`/`renarrate`: the
        previous one comes back). Returns what was undone (`.turn`, `.summary`) and the `.story`."""
        from storyteller.history import Branches, undo_last_turn

        with StoryFolder.open(folder) as opened:
            Branches(opened)  # finishes a switch a crash interrupted, so the folder is one branch
            return undo_last_turn(opened, lambda story: self._memory(opened.root, story))

    def branch(self, folder: str | Path, name: str) -> Story:
        """Start branch `name` from the story as it is now and make it the current one. The branch
        you were on stays as it is, parked under its name (the first one is called "main")."""
        from storyteller.history import Branches

        with StoryFolder.open(folder) as opened:
            return Branches(opened).create(name)

    def branches(self, folder: str | Path) -> list[BranchInfo]:
        """Every branch of a story folder (`.name`, `.active`, `.path`, `.pages`, `.turns`), by name."""
        from storyteller.history import Branches

        with StoryFolder.open(folder) as opened:
            return Branches(opened).listing()

    def switch(self, folder: str | Path, name: str) -> Story:
        """Bring branch `name` into the story folder (the current one is parked); returns its story."""
        from storyteller.history import Branches

        with StoryFolder.open(folder) as opened:
            return Branches(opened).switch(name)

    def _memory(self, root: Path, story: Story):
        from storyteller.memory import Memory

        return Memory.open(root, self.toolbox.backend("text_embedder"), self.toolbox.backend("image_embedder"), story=story)

    # =========================================================================================
    # async twins: the sync work runs in a worker thread (context variables travel with it)
    # =========================================================================================
    async def arun(self, request: Request, *, cancel: SupportsIsSet | None = None, **kwargs: Any) -> Story:
        return await self._athread(self.run, request, cancel=cancel, **kwargs)

    async def anew_story(self, premise: str, *, cancel: SupportsIsSet | None = None, **kwargs: Any) -> Story:
        return await self._athread(self.new_story, premise, cancel=cancel, **kwargs)

    async def aphoto_scene(self, image: str | Path, *, cancel: SupportsIsSet | None = None, **kwargs: Any) -> Story:
        return await self._athread(self.photo_scene, image, cancel=cancel, **kwargs)

    async def aresume(self, folder: str | Path, *, cancel: SupportsIsSet | None = None, **kwargs: Any) -> Story:
        return await self._athread(self.resume, folder, cancel=cancel, **kwargs)

    async def abatch(self, premises: str | Path | Iterable[str | dict], *, cancel: SupportsIsSet | None = None,
                     **kwargs: Any) -> BatchReport:
        return await self._athread(self.batch, premises, cancel=cancel, **kwargs)

    async def acontinue_story(self, folder: str | Path, direction: str, image: str | Path | None = None, *,
                              cancel: SupportsIsSet | None = None, **kwargs: Any) -> Story:
        return await self._athread(self.continue_story, folder, direction, image, cancel=cancel, **kwargs)

    async def areillustrate(self, folder: str | Path, page: int, *, cancel: SupportsIsSet | None = None,
                            **kwargs: Any) -> Story:
        return await self._athread(self.reillustrate, folder, page, cancel=cancel, **kwargs)

    async def arenarrate(self, folder: str | Path, page: int, *, cancel: SupportsIsSet | None = None,
                         **kwargs: Any) -> Story:
        return await self._athread(self.renarrate, folder, page, cancel=cancel, **kwargs)

    async def achat(self, folder: str | Path, message: str, *, cancel: SupportsIsSet | None = None,
                    **kwargs: Any) -> ChatReply:
        return await self._athread(self.chat, folder, message, cancel=cancel, **kwargs)

    async def aask(self, folder: str | Path, page: int, question: str) -> TextResult:
        return await asyncio.to_thread(self.ask, folder, page, question)

    async def aload(self, folder: str | Path) -> Story:
        return await asyncio.to_thread(self.load, folder)

    async def asave(self, folder: str | Path, story: Story, **kwargs: Any) -> Story:
        return await asyncio.to_thread(self.save, folder, story, **kwargs)

    async def aexport(self, folder: str | Path, fmt: Format, out: str | Path | None = None, **kwargs: Any) -> Path:
        return await asyncio.to_thread(self.export, folder, fmt, out, **kwargs)

    async def aevaluate(self, folder: str | Path) -> EvalReport:
        return await asyncio.to_thread(self.evaluate, folder)

    # -- events as an async iterator ------------------------------------------------------------
    def astream(self, request: Request, *, cancel: SupportsIsSet | None = None) -> AsyncIterator[BaseEvent]:
        """`run`'s events as they happen: `async for event in teller.astream(NewStory(...))`."""
        return self._astream(self.run, request, cancel=cancel)

    def astream_story(self, premise: str, *, cancel: SupportsIsSet | None = None, **kwargs: Any) -> AsyncIterator[BaseEvent]:
        """`new_story`'s events as they happen: `async for event in teller.astream_story(...)`."""
        return self._astream(self.new_story, premise, cancel=cancel, **kwargs)

    def astream_continue(self, folder: str | Path, direction: str, image: str | Path | None = None, *,
                         cancel: SupportsIsSet | None = None) -> AsyncIterator[BaseEvent]:
        return self._astream(self.continue_story, folder, direction, image, cancel=cancel)

    def astream_resume(self, folder: str | Path, *, cancel: SupportsIsSet | None = None) -> AsyncIterator[BaseEvent]:
        return self._astream(self.resume, folder, cancel=cancel)

    # =========================================================================================
    # machinery
    # =========================================================================================
    @staticmethod
    async def _athread(method: Callable[..., T], *args: Any, cancel: SupportsIsSet | None = None, **kwargs: Any) -> T:
        """Run `method` in a worker thread; if this task is cancelled, cancel the work and wait for
        the thread to stop, so the story folder is unlocked when CancelledError reaches the caller."""
        token = CancelToken(cancel)
        worker = asyncio.ensure_future(asyncio.to_thread(method, *args, cancel=token, **kwargs))
        try:
            return await asyncio.shield(worker)
        except asyncio.CancelledError:
            token.cancel()
            await _settle(worker)
            raise

    async def _astream(self, method: Callable[..., Story], *args: Any, cancel: SupportsIsSet | None = None,
                       **kwargs: Any) -> AsyncIterator[BaseEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        end = object()
        token = CancelToken(cancel)

        def sink(event: BaseEvent) -> None:  # called on the worker's threads
            loop.call_soon_threadsafe(queue.put_nowait, event)

        worker = asyncio.ensure_future(asyncio.to_thread(method, *args, on_event=sink, cancel=token, **kwargs))
        # Runs after every event the worker scheduled before it finished: the end is always last.
        worker.add_done_callback(lambda _: queue.put_nowait(end))
        try:
            while (event := await queue.get()) is not end:
                yield event
            worker.result()  # the error, after its Error event
        finally:
            if not worker.done():  # the consumer stopped early or was cancelled
                token.cancel()
                await _settle(worker)


async def _settle(worker: asyncio.Future[Any]) -> None:
    """Wait until a cancelled worker thread has stopped (it stops at its next safe point)."""
    while not worker.done():
        try:
            await asyncio.wait({worker})
        except asyncio.CancelledError:  # cancelled again while waiting: the thread still holds the folder
            continue
    if not worker.cancelled():
        worker.exception()  # retrieved: its Cancelled is expected, not "never retrieved"
