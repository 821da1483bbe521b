"""The Python API. The CLI is a thin layer over this: everything it does is done here.

    from storyteller import Storyteller
    teller = Storyteller()                       # embedded default, or Storyteller(config_file="storyteller.toml")
    story = teller.new_story("A fox who finds a lantern in the snow", out="fox", pages=6, style="watercolor")
    story = teller.resume("fox")                 # finish an interrupted story
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

from storyteller.config import Settings, load_settings
from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.events import StoryDone, emit, listening
from storyteller.session import STORY_FILE, StoryFolder
from storyteller.story import Story

MAX_PREMISE_CHARS = 2000
MAX_PAGES = 50


def clean_text(value: str, *, what: str, max_chars: int) -> str:
    """User text for prompts: control characters removed, length bounded, never empty."""
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    value = " ".join(value.split())
    if not value:
        raise InvalidInput(f"the {what} is empty", fix=f"give a {what}, e.g. \"A fox who finds a lantern in the snow\"")
    if len(value) > max_chars:
        raise InvalidInput(f"the {what} is {len(value)} characters; at most {max_chars} are accepted",
                           fix=f"shorten the {what} to a few sentences")
    return value


def export_story(folder: str | Path, fmt: str, out: str | Path | None = None, *, self_contained: bool = True) -> Path:
    """Export a story folder as html, json, mp4 or epub; returns the path written (see storyteller.export)."""
    from storyteller.export import export_story as export

    return export(Path(folder), fmt, out, self_contained=self_contained)


class Storyteller:
    def __init__(self, settings: Settings | None = None, *, config_file: str | Path | None = None, registry=None):
        """`registry`: a private backend registry (default: the process-wide one, so models are shared)."""
        from storyteller.agent.toolbox import Toolbox

        self.settings = settings or load_settings(config_file)
        self.toolbox = Toolbox(self.settings, registry)

    def new_story(
        self,
        premise: str,
        *,
        out: str | Path,
        pages: int = 6,
        style: str = "watercolor",
        seed: int = 0,
        on_event: Callable | None = None,
    ) -> Story:
        """Plan, write, illustrate and narrate a story into the folder `out` (created; must not hold a story)."""
        from storyteller.agent.graph import StoryRun

        premise = clean_text(premise, what="premise", max_chars=MAX_PREMISE_CHARS)
        style = clean_text(style, what="style", max_chars=100)
        if seed < 0:
            raise InvalidInput(f"seed must be 0 or more, got {seed}")
        if not 1 <= pages <= MAX_PAGES:
            raise InvalidInput(f"pages must be between 1 and {MAX_PAGES}, got {pages}")
        out = Path(out)
        if (out / STORY_FILE).exists():
            raise StoryFolderError(f"{out} already holds a story",
                                   fix=f"continue it with `storyteller resume {out}` or choose another --out")
        run = StoryRun(self.toolbox, premise=premise, pages=pages, style=style, out=str(out), seed=seed)
        return self._run(run, on_event)

    def resume(self, folder: str | Path, *, on_event: Callable | None = None) -> Story:
        """Finish a story whose run was interrupted: pages not yet written, and missing pictures or sound."""
        from storyteller.agent.graph import StoryRun

        opened = StoryFolder.open(folder)
        return self._run(StoryRun(self.toolbox, folder=opened, seed=opened.story.seed), on_event)

    def evaluate(self, folder: str | Path):
        """ViStoryBench-style consistency metrics of a story folder (storyteller.memory.EvalReport)."""
        from storyteller.memory import evaluate_story

        return evaluate_story(Path(folder), self.toolbox.backend("image_embedder"), self.toolbox.backend("text_embedder"))

    def _run(self, run, on_event: Callable | None) -> Story:
        with listening(on_event):
            try:
                folder = run.run()
                emit(StoryDone(folder=str(folder.root), pages=len(folder.story.pages)))
                return folder.story
            finally:
                if run.folder is not None:
                    run.folder.close()
