"""One more page beyond the plan, from the reader's direction (and optionally a photo).

The continuation is a page beat appended to the story's outline; the story graph then writes,
illustrates and narrates it exactly like a planned page, and commits it as a "continue" turn.
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

# What the writer is told for a page past the plan (the beat itself holds the reader's words).
CONTINUE_NOTE = "The story goes on past its planned ending, as the reader asked."


@dataclass
class Continuation:
    page: int                 # the number of the page to write
    direction: str            # what the writer is told besides the beat
    photo: Asset | None = None
    photo_description: str = ""


def _on_stage(folder: StoryFolder, text: str) -> list[str]:
    """Characters the reader names (by name or alias, whole words), else those of the last page."""
    story = folder.story
    named = [c.slug for c in story.characters
             if any(re.search(rf"\b{re.escape(n)}\b", text, re.I) for n in (c.name, *c.aliases) if n)]
    return named or (list(story.pages[-1].characters) if story.pages else [])


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
    continuation = Continuation(page=number, direction=CONTINUE_NOTE)
    beat = direction
    if image is not None:
        photo = describe_photo(toolbox, image)
        continuation.photo = store_photo(folder, photo, f"page-{number:02d}-photo")
        continuation.photo_description = photo.description
        beat += f" Weave in what the reader's photo shows: {continuation.photo_description}"
    scene = story.pages[-1].scene if story.pages else story.outline[-1].scene
    story.outline.append(PageBeat(beat=beat, scene=scene, characters=_on_stage(folder, direction)))
    folder.save()
    return continuation
