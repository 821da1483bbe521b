"""The runner: executes a request (storyteller.requests) and returns the story it made or changed.

    story = execute(toolbox, Reillustrate(folder="fox", page=2), on_event=print)

Every operation on a story comes here, from the API, the CLI, `storyteller play` and LangChain
alike. The runner makes the StoryRun: for a new story or photo scene one that creates its folder,
otherwise one on the folder it opens (and so locks). It hands the run to the request's handler
(one per request type, registered with `@handles`) and always closes the folder. A handler
checks what depends on the story (does page 7 exist, who is "Milo"), works through the run's
nodes and commits through `StoryRun.commit`, the one place a turn is committed. The events of
the work reach `on_event`, ending with StoryDone, or with Error before the error is raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from storyteller.agent.graph import StoryRun
from storyteller.agent.toolbox import Toolbox
from storyteller.backends.base import caller
from storyteller.cancel import SupportsIsSet, as_token
from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.events import BaseEvent, Error, StoryDone, emit, listening
from storyteller.requests import (AddCharacter, Ask, ChangeCharacter, ContinueStory, EditStory, NewStory, PhotoScene, Reillustrate, Remember,
                                  Renarrate, Request, Resume, Score, SetVoice, Talk)
from storyteller.session import STORY_FILE, asset_file, load_story
from storyteller.story import Story, Voice

if TYPE_CHECKING:
    from storyteller.backends.base import TextResult

R = TypeVar("R", bound=Request)
Handler = Callable[[StoryRun, Any], None]
HANDLERS: dict[type[Request], Handler] = {}


def handles(kind: type[R]) -> Callable[[Callable[[StoryRun, R], None]], Callable[[StoryRun, R], None]]:
    """Register the handler of a request type (a later issue's request adds one here)."""
    def register(handler: Callable[[StoryRun, R], None]) -> Callable[[StoryRun, R], None]:
        HANDLERS[kind] = handler
        return handler
    return register


def execute(toolbox: Toolbox, request: Request, *, on_event: Callable[[BaseEvent], None] | None = None,
            cancel: SupportsIsSet | None = None) -> Story:
    """Run `request` to its end (or its error, or the cancel token) and return the story."""
    handler = HANDLERS.get(type(request))
    if handler is None:
        raise InvalidInput(f"{type(request).__name__} is not a request the runner knows",
                           fix="requests: " + ", ".join(kind.__name__ for kind in HANDLERS))
    token = as_token(cancel)
    run: StoryRun | None = None
    folder = request.out if isinstance(request, (NewStory, PhotoScene)) else request.folder
    whose = caller.set(str(Path(folder).resolve()))
    with listening(on_event):
        try:
            token.check("before starting")
            if isinstance(request, (NewStory, PhotoScene)):
                if (request.out / STORY_FILE).exists():
                    raise StoryFolderError(f"{request.out} already holds a story", fix=(
                        f"continue it with `storyteller resume {request.out}` or choose another --out"
                        if isinstance(request, NewStory) else "choose another --out"))
                run = StoryRun(toolbox, new=request if isinstance(request, NewStory) else None, seed=request.seed,
                               cancel=token)
            else:
                run = StoryRun.open(toolbox, request.folder, token)
            handler(run, request)
            story = run.opened.story
            emit(StoryDone(folder=str(run.opened.root), pages=len(story.pages), title=story.title))
            return story
        except Exception as exc:
            emit(Error.from_exception(exc))
            raise
        finally:
            caller.reset(whose)
            if run is not None and run.folder is not None:
                run.folder.close()


def ask(toolbox: Toolbox, request: Ask) -> TextResult:
    """Answer a question about a page's illustration with the VQA tool (read only: no turn)."""
    found = load_story(request.folder).page(request.page)
    if found.illustration is None:
        raise InvalidInput(f"page {request.page} has no illustration yet",
                           fix=f"finish it with `storyteller resume {request.folder}`")
    result = toolbox.ask.invoke({"image_path": str(asset_file(request.folder, found.illustration.path)),
                                 "question": request.question})
    result.details.setdefault("page", request.page)
    result.details.setdefault("image", found.illustration.path)
    return result


def narrator_voice(toolbox: Toolbox, voice: str | Voice | None, *, rate: float | None = None,
                   pitch: float | None = None) -> Voice | None:
    """A voice the narrator backend offers, from an id, a number of its list or a Voice (with
    `rate` and `pitch` on top); InvalidInput listing the voices otherwise."""
    from storyteller.agent.voices import parse_voice

    if voice is None:
        return None
    offered = toolbox.backend("narrator").voices()
    if isinstance(voice, str):
        return parse_voice(voice.strip(), offered, rate=rate, pitch=pitch)
    if voice.voice_id not in {v.voice_id for v in offered}:
        return parse_voice(voice.voice_id, offered)  # raises with the list of voices
    return parse_voice(voice.voice_id, offered, rate=rate or 1 / voice.length_scale,
                       pitch=voice.pitch_shift if pitch is None else pitch)


# -- the handlers ------------------------------------------------------------------------------
@handles(NewStory)
@handles(Resume)
def _run_graph(run: StoryRun, request: NewStory | Resume) -> None:
    run.run()  # a new story is planned first; a resumed one goes on from its first unfinished page


@handles(PhotoScene)
def _photo_scene(run: StoryRun, request: PhotoScene) -> None:
    from storyteller.agent.scene import make_photo_scene

    make_photo_scene(run, str(request.image), out=request.out, lines=request.lines, mood=request.mood,
                     language=request.language, keep_metadata=request.keep_metadata)


@handles(ContinueStory)
def _continue(run: StoryRun, request: ContinueStory) -> None:
    run.continue_story(request.direction, request.image)


@handles(Reillustrate)
def _reillustrate(run: StoryRun, request: Reillustrate) -> None:
    number = run.opened.story.page(request.page).number
    run.open_for_edit()
    run.reillustrate(number, request.seed, change=request.change)


@handles(Renarrate)
def _renarrate(run: StoryRun, request: Renarrate) -> None:
    number = run.opened.story.page(request.page).number
    voice = narrator_voice(run.toolbox, request.voice)
    run.open_for_edit()
    run.renarrate(number, voice)


@handles(Score)
def _score(run: StoryRun, request: Score) -> None:
    from storyteller.agent.score import score_story

    score_story(run, request.mood)


@handles(SetVoice)
def _set_voice(run: StoryRun, request: SetVoice) -> None:
    from storyteller.agent.voices import describe_voice

    story = run.opened.story
    if request.character.lower() == "narrator":
        target = None
    else:
        try:
            target = story.named_character(request.character)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, fix="or 'narrator' for the narrator") from None
    run.open_for_edit()
    new = narrator_voice(run.toolbox, request.voice, rate=request.rate, pitch=request.pitch)
    if target is None:
        slug, old, who = None, story.narrator_voice, "the narrator"
        story.narrator_voice = new
    else:
        slug, old, who = target.slug, target.voice, target.name
        target.voice = new
    run.commit("voice", f"{who}: voice {describe_voice(old)} -> {describe_voice(new)}",
               previous={"character": slug, "voice": old.model_dump() if old else None})
    if request.renarrate:
        for page in list(story.pages):  # the pages where that voice is heard
            if page.narration is not None and (slug is None or any(line.speaker == slug for line in page.narration.lines)):
                run.renarrate(page.number)


@handles(Talk)
def _talk(run: StoryRun, request: Talk) -> None:
    from storyteller.agent.talk import talk_page

    heard = None
    if request.heard is not None:
        heard = request.heard.provenance.model_copy(deep=True)
        heard.parameters["corrected"] = " ".join(request.heard.text.split()) != request.said
    run.open_for_edit()
    talk_page(run, request.said, to=request.to, heard=heard)


@handles(EditStory)
def _edit(run: StoryRun, request: EditStory) -> None:
    edited, opened = request.story, run.opened
    current = opened.story
    if edited.history != current.history:
        raise StoryFolderError(f"{request.folder} changed since this story was loaded ({len(current.history)} turns "
                               f"on disk, {len(edited.history)} in yours)", fix="load it again and redo the edit")
    for asset in edited.assets():
        path = opened.asset_path(asset)
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != asset.sha256:
            raise InvalidInput(f"the story names {asset.path}, which is missing or does not match its sha256")
    opened.story = edited  # saved by the commit, with the memory that follows it
    run.open_memory(start_lorebook=False)  # an edit updates what it changed; it draws nothing
    before = {p.number: p for p in current.pages}
    changed = sorted(p.number for p in edited.pages if before.get(p.number) != p)
    for number in changed:
        run.memory.add_page(edited.page(number))
    old_characters = {c.slug: c for c in current.characters}
    for character in edited.characters:
        if old_characters.get(character.slug) != character:
            run.memory.add_character(character)
    if edited.style != current.style:
        run.memory.add_style(edited.style)
    run.commit("edit", request.summary, pages=changed)


@handles(AddCharacter)
def _add_character(run: StoryRun, request: AddCharacter) -> None:
    from storyteller.agent.plan import CastMember, character_from

    story = run.opened.story
    same = story.called(request.name)
    if same is not None:
        raise InvalidInput(f"the story already has a character called {same.name}",
                           fix="give the newcomer another name, or change that character instead")
    # Built, not validated as the LLM's plan: the reader may leave the colours to the kind's own.
    planned = CastMember.model_construct(name=request.name, kind=request.kind, look=request.look or "",
                                         clothing=request.clothing or "", colors=request.colors,
                                         personality=request.personality or "", role=request.role)
    character = character_from(planned, request.role, {c.slug for c in story.characters})
    run.open_for_edit()
    run.add_character(character, page=len(story.pages))
    run.commit("character", f"new character: {character.name}, {character.appearance.describe()}",
               previous={"added": character.slug})


@handles(ChangeCharacter)
def _change_character(run: StoryRun, request: ChangeCharacter) -> None:
    story = run.opened.story
    target = story.named_character(request.character)
    old = target.model_copy(deep=True)
    look = target.appearance
    if request.look is not None:
        look.face = request.look
    if request.clothing is not None:
        look.clothing = request.clothing
    if request.colors:
        look.colors = list(request.colors)
    if request.personality is not None:
        target.personality = request.personality
    if target == old:
        raise InvalidInput(f"nothing to change for {target.name}: give a new look, clothing, colours or personality")
    run.open_for_edit()
    # The sheet picture is drawn again as they look now, beside the old one (undo brings it back),
    # and the gate compares their pages with the new one only.
    target.reference_assets = []
    run.memory.forget_images(target.slug)
    run.memory.add_character(target, page=target.joined)
    run.draw_portrait(target, page=target.joined, stem=f"character-{target.slug}-turn{len(story.history) + 1}")
    changed = [f"{k} {v!r}" for k, v in (("look", request.look), ("clothing", request.clothing),
                                         ("colours", ", ".join(request.colors) or None),
                                         ("personality", request.personality)) if v is not None]
    run.commit("character", f"{target.name}: {'; '.join(changed)}",
               previous={"character": target.slug, "sheet": old.model_dump(mode="json")})
    if request.redraw:
        for page in list(story.pages):
            if target.slug in page.characters:
                run.reillustrate(page.number)


@handles(Remember)
def _remember(run: StoryRun, request: Remember) -> None:
    run.open_memory(start_lorebook=False)
    record = run.memory.add_fact(request.fact, page=len(run.opened.story.pages))
    # The fact lives in the memory (the writer's context reads it); the turn keeps its text and
    # record, so undo forgets it and a rebuilt memory could learn it again.
    run.commit("fact", f"remembered: {request.fact}", previous={"fact": request.fact, "record": record})
