"""One more page beyond the plan, from the reader's direction (and optionally a photo).

The continuation is a page beat appended to the story's outline; the story graph then writes,
illustrates and narrates it exactly like a planned page, and commits it as a "continue" turn.
The beat's stage and the reader's words are saved before the page is written, so `resume`
finishes an interrupted continuation as it was asked; its words are planned like any page's, just
before the page (storyteller.agent.plan.plan_beat): with the bible, the arc so far and every
earlier beat in view, the reader's direction bending it. A direction that asks
for the ending ("and then the story ends") makes the page the story's resolution, so the writer
ends it warmly. Stories from before the bible keep the direction itself as the beat.
Keeping it in the outline means an interrupted continuation is finished by `resume`, like any
page. A photo is copied into the folder as a 'photo' asset, described by the captioner, and the
description is woven into the writer's prompt; the page's text provenance names the photo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from storyteller.agent.photos import describe_photo, store_photo
from storyteller.agent.toolbox import Toolbox
from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.session import StoryFolder
from storyteller.story import Asset, PageBeat

MAX_TOTAL_PAGES = 200  # a bound on continuing: the memory keeps context small, the folder does not need to

# What the writer is told for a page past the plan of a story from before the bible (its beat
# itself holds the reader's words).
CONTINUE_NOTE = "The story goes on past its planned ending, as the reader asked."


# A direction that asks for the story to end.
_ENDING = re.compile(r"\b(the end|(end|finish|close|conclude|wrap up) (the|this|our) (story|book|tale)|"
                     r"(story|book|tale) (ends|is over)|happily ever after|final page|last page|ending|goodnight|good night)\b", re.I)


@dataclass
class Continuation:
    page: int                 # the number of the page to write
    photo: Asset | None = None
    photo_description: str = ""


def _named(story, text: str) -> list[str]:
    """Characters the reader names (by name or alias, whole words)."""
    return [c.slug for c in story.characters
            if any(re.search(rf"\b{re.escape(n)}\b", text, re.I) for n in (c.name, *c.aliases) if n)]


def _on_stage(folder: StoryFolder, text: str) -> list[str]:
    """Characters the reader names, else those of the last page."""
    story = folder.story
    return _named(story, text) or (list(story.pages[-1].characters) if story.pages else [])


def prepare(toolbox: Toolbox, folder: StoryFolder, direction: str, image: str | Path | None = None) -> Continuation:
    """Append the continuation's page beat to the outline and save; returns what the run needs.

    The story must be complete (every planned page written, illustrated and narrated): a
    continuation follows the story as the reader last saw it.
    """
    story = folder.story
    if not story.is_complete:
        raise StoryFolderError(
            f"{folder.root} has unfinished pages ({len(story.pages)} of {len(story.outline)} written, "
            "or some lack their picture or narration)",
            fix=f"finish it first with `storyteller resume {folder.root}` (or Storyteller.resume)",
        )
    number = len(story.outline) + 1
    if number > MAX_TOTAL_PAGES:
        raise InvalidInput(f"the story already has {number - 1} pages; at most {MAX_TOTAL_PAGES} are supported")
    continuation = Continuation(page=number)
    asked = direction
    if image is not None:
        photo = describe_photo(toolbox, image)
        continuation.photo = store_photo(folder, photo, f"page-{number:02d}-photo")
        continuation.photo_description = photo.description
        asked += f" Weave in what the reader's photo shows: {photo.seen}"
    if story.bible is not None:
        # Planned like any page, just before it is written (storyteller.agent.plan.plan_beat).
        stage = "resolution" if _ENDING.search(direction) else "continue"
        beat = PageBeat(beat="", scene="", stage=stage, direction=asked, characters=_named(story, direction))
    else:
        scene = story.pages[-1].scene if story.pages else story.outline[-1].scene
        beat = PageBeat(beat=asked, scene=scene, characters=_on_stage(folder, direction), direction=CONTINUE_NOTE)
    story.outline.append(beat)
    folder.save()
    return continuation
