"""A session of `storyteller play`: the Play class (the story folder, its branch, the prompt loop
that sends plain text to the agent and /lines to commands, and the running of each turn with
a live view), and the entry points: start_new (ask for a premise, plan and make the first pages)
and run_play (start or open a story, finish an interrupted run, then loop)."""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from storyteller.cli.play.commands import COMMANDS
from storyteller.cli.play.input import LineReader, PlayCompleter, state_dir
from storyteller.cli.play.views import page_row, plural
from storyteller.cli.play.worker import QuitNow, run_turn
from storyteller.errors import Cancelled, InvalidInput, StorytellerError

if TYPE_CHECKING:
    from storyteller.api import Storyteller
    from storyteller.story import Story

STYLES = ["watercolor", "pencil", "crayon", "pixel art", "ink", "oil"]
PROMPT_MARK = "› "


class Play:
    def __init__(self, teller: Storyteller, console: Console, folder: Path):
        self.teller = teller
        self.console = console
        self.folder = folder
        self.story: Story = teller.load(folder)
        self.branch = "main"
        self.branch_names: list[str] = ["main"]
        self.refresh_branches()
        self.reader = LineReader("play-history", PlayCompleter(self))

    # -- state ---------------------------------------------------------------------------------
    def reload(self) -> None:
        self.story = self.teller.load(self.folder)

    def refresh_branches(self) -> None:
        # Also finishes a branch switch that a crash interrupted (storyteller.history).
        infos = self.teller.branches(self.folder)
        self.branch = next(b.name for b in infos if b.active)
        self.branch_names = [b.name for b in infos]
        self.reload()

    @property
    def unfinished(self) -> bool:
        return not self.story.is_complete

    def prompt(self) -> str:
        return f"{self.branch} · page {len(self.story.pages)} {PROMPT_MARK}"

    # -- output --------------------------------------------------------------------------------
    def error(self, exc: StorytellerError) -> None:
        line = Text.assemble(("error: ", "bold red"), (exc.message.splitlines()[0] if exc.message else type(exc).__name__, ""))
        if exc.fix:
            line.append(f"  (fix: {exc.fix})", style="dim")
        self.console.print(line)

    def tell(self, message: str, style: str = "") -> None:
        self.console.print(Text(message, style=style))

    def show_header(self) -> None:
        story = self.story
        self.console.print(Text.assemble((story.title, "bold"), (f"  {plural(len(story.pages), 'page')} · branch {self.branch} · "
                                                                 f"{self.folder}", "dim")))

    def show_last_page(self) -> None:
        if self.story.pages:
            page = self.story.pages[-1]
            self.console.print(page_row(page.number, page.text))

    # -- running a turn ------------------------------------------------------------------------
    def work(self, call: Callable[[Callable, Any], Any]) -> Any:
        """Run one API call with a live view (see `run_turn`); the story is reloaded afterwards."""
        try:
            return run_turn(self.console, call)
        finally:
            self.reload_quietly()

    def reload_quietly(self) -> None:
        try:
            self.reload()
        except StorytellerError:
            pass

    def finish_unfinished(self) -> None:
        """Finish an interrupted run (pages of the plan, or a direction's page, not yet complete)."""
        if not self.unfinished:
            return
        missing = len(self.story.outline) - len([p for p in self.story.pages if p.illustration and p.narration])
        self.tell(f"finishing the interrupted run ({plural(missing, 'page')} to complete)…", "dim")
        self.work(lambda on_event, cancel: self.teller.resume(self.folder, on_event=on_event, cancel=cancel))
        self.tell(f"done: {plural(len(self.story.pages), 'page')}", "dim")

    def talk(self, text: str, heard=None) -> None:
        """Say something to a photo scene's characters; they answer (a "talk" turn)."""
        story = self.work(lambda on_event, cancel: self.teller.talk(self.folder, text, heard=heard, on_event=on_event,
                                                                    cancel=cancel))
        self.tell(f"saved page {story.pages[-1].number} (turn {len(story.history)}; /undo takes it back)", "dim")

    def heard(self, recording: Path) -> None:
        """Transcribe a recording, show it, let the reader accept (Enter) or correct it, then talk."""
        with self.console.status("listening…"):
            transcript = self.teller.listen(recording, language=self.story.language)
        self.tell(f"heard: {transcript.text}")
        try:
            corrected = self.reader.read("Enter to use it, or correct it › ", default=transcript.text).strip()
        except (KeyboardInterrupt, EOFError):
            self.tell("not used", "dim")
            return
        self.talk(corrected or transcript.text, heard=transcript)

    def direction(self, text: str, image: Path | None = None) -> None:
        self.finish_unfinished()
        story = self.work(lambda on_event, cancel: self.teller.continue_story(
            self.folder, text, image, on_event=on_event, cancel=cancel))
        page = story.pages[-1]
        notes = page.text_provenance.parameters if page.text_provenance else {}
        if notes.get("photo"):
            self.tell(f"       photo      {notes['photo']}: {notes.get('photo_description', '')}", "dim")
        self.tell(f"saved page {page.number} (turn {len(story.history)})", "dim")

    def chat(self, text: str, image: Path | None = None) -> None:
        """Plain text: the agent answers it, or calls the operations that do what it asks (the
        tools it called are shown as it goes). An LLM that cannot call tools writes the next page
        from the words, as /next does."""
        if not self.teller.toolbox.llm.supports_tools:
            (self.talk if self.story.kind == "photo" else self.direction)(text)
            return
        self.finish_unfinished()
        turns, pages = len(self.story.history), len(self.story.pages)
        reply = self.work(lambda on_event, cancel: self.teller.chat(self.folder, text, image=image, on_event=on_event,
                                                                    cancel=cancel))
        if len(self.story.pages) > pages:  # the page was shown as it was written
            self.tell(f"saved page {self.story.pages[-1].number} (turn {len(self.story.history)})", "dim")
            return
        self.console.print(Text(reply.text))
        if len(self.story.history) > turns:
            self.tell(f"saved (turn {len(self.story.history)}; /undo takes it back)", "dim")

    # -- the loop ------------------------------------------------------------------------------
    def loop(self) -> int:
        first = ("Say something to them (\"@Name ...\" to address one; /say FILE for a recording), or ask about the scene"
                 if self.story.kind == "photo" else "Type what happens next, or ask about the story in your own words")
        self.console.print(Text(f"{first}. /help lists the commands; Tab completes them; Ctrl-D quits.", style="dim"))
        while True:
            try:
                line = self.reader.read(self.prompt())
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt: the line is cleared
            except EOFError:
                break
            try:
                if self.handle(line) is False:
                    break
            except Cancelled:
                self.tell(f"cancelled: the story is as it was ({plural(len(self.story.pages), 'page')}, "
                          f"turn {len(self.story.history)})", "yellow")
            except StorytellerError as exc:
                self.error(exc)
            except KeyboardInterrupt:
                self.tell("interrupted", "yellow")
            except QuitNow:
                raise
            except Exception as exc:  # a bug: one line here, the traceback in the log
                self.unexpected(exc)
        self.tell(f"bye: {plural(len(self.story.pages), 'page')} saved in {self.folder} "
                  f"(go on with `storyteller play {self.folder}`)", "dim")
        return 0

    def unexpected(self, exc: Exception) -> None:
        log = state_dir() / "play.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("".join(traceback.format_exception(exc)) + "\n")
            where = f" (details in {log})"
        except OSError:
            where = ""
        self.console.print(Text.assemble(("unexpected error: ", "bold red"), (f"{type(exc).__name__}: {exc}{where}", "")))
        self.reload_quietly()

    def handle(self, line: str) -> bool | None:
        text = line.strip()
        if not text:
            self.tell("say what should happen next, or ask about the story in your own words; /help lists the commands", "dim")
            return None
        if not text.startswith("/"):  # the agent reads it; "@Name ..." on a photo scene is said to them
            (self.talk if self.story.kind == "photo" and text.startswith("@") else self.chat)(text)
            return None
        name, _, rest = text[1:].partition(" ")
        found = COMMANDS.get(name.lower())
        if found is None:
            names = sorted(COMMANDS)
            close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.5)
            hint = f"did you mean /{close[0]}? " if close else ""
            self.tell(f"unknown command /{name}: {hint}(/help lists the commands)", "yellow")
            return None
        return found.run(self, rest.strip())

    # -- argument helpers ----------------------------------------------------------------------
    def page_number(self, token: str | None) -> int:
        """The page a command names: no token is the last page; Story.page says which pages there are."""
        pages = len(self.story.pages)
        if token is None or not pages:  # the last page ("the story has no pages yet" when there is none)
            return self.story.page(pages).number
        if not token.isdigit():
            raise InvalidInput(f"a page is a number, got {token!r}")
        return self.story.page(int(token)).number


# =============================================================================================
# starting: a new story, or an existing folder
# =============================================================================================
def start_new(teller: Storyteller, console: Console, *, out: Path | None, premise: str | None, style: str | None,
              pages: int, seed: int, image: Path | None) -> tuple[Path | None, bool]:
    """Ask for what is missing, then plan and make the first pages. Returns the folder (None: the
    reader left before a story existed) and whether its making was cancelled."""
    from storyteller.requests import MAX_PREMISE_CHARS, clean_text
    from storyteller.session import STORY_FILE, free_folder
    from storyteller.story import slugify

    reader = LineReader("play-premises")
    console.print(Text("A new story. What is it about? (e.g. A fox who finds a lantern in the snow)", style="dim"))
    while True:
        try:
            while not premise:
                premise = reader.read("premise › ").strip()
                if not premise:
                    console.print(Text("a premise is a sentence or two about the story; Ctrl-D leaves", style="dim"))
            premise = clean_text(premise, what="premise", max_chars=MAX_PREMISE_CHARS)
            if style is None:
                style = reader.read(f"style [{STYLES[0]}] › ").strip() or STYLES[0]
        except (KeyboardInterrupt, EOFError):
            return None, False
        except StorytellerError as exc:
            console.print(Text(f"error: {exc.message}", style="red"))
            premise = None
            continue
        folder = out or free_folder(slugify(" ".join(premise.split()[:6]), fallback="story", max_length=40))
        console.print(Text(f"writing {plural(pages, 'page')} in {style} into {folder}/ "
                           "(Ctrl-C stops; what is finished is kept)", style="dim"))
        try:
            run_turn(console, lambda on_event, cancel: teller.new_story(premise, out=folder, pages=pages, style=style, seed=seed,
                                                                   image=image, on_event=on_event, cancel=cancel),
                     planning=True)
        except Cancelled:
            if (folder / STORY_FILE).is_file():
                console.print(Text("cancelled: the pages finished so far are kept; /resume finishes the rest", style="yellow"))
                return folder, True
            console.print(Text("cancelled before the plan was ready; nothing was saved", style="yellow"))
            premise, style = None, None
            continue
        return folder, False


def run_play(teller: Storyteller, folder: Path | None, *, out: Path | None = None, premise: str | None = None,
             style: str | None = None, pages: int = 3, seed: int = 0, image: Path | None = None,
             console: Console | None = None) -> int:
    from storyteller.session import STORY_FILE

    console = console or Console(highlight=False)
    if folder is not None and out is not None and folder != out:
        raise InvalidInput("give the story folder once: `storyteller play DIR` or `storyteller play --out DIR`")
    target = folder or out
    cancelled = fresh = False
    try:
        if target is None or not (target / STORY_FILE).is_file():
            fresh = True
            if target is not None and target.exists() and not target.is_dir():
                raise InvalidInput(f"{target} is not a folder")
            target, cancelled = start_new(teller, console, out=target, premise=premise, style=style, pages=pages,
                                          seed=seed, image=image)
            if target is None:
                return 0
        play = Play(teller, console, target)
        play.show_header()
        if play.unfinished and not cancelled:  # a run interrupted earlier: finish it first
            try:
                play.finish_unfinished()
            except Cancelled:
                play.tell("cancelled: the unfinished pages wait (/resume, or give a direction: they are finished first)",
                          "yellow")
            except StorytellerError as exc:
                play.error(exc)
        elif not fresh:
            play.show_last_page()  # where the story stands
        return play.loop()
    except QuitNow:
        console.print(Text("quit during a step; the story keeps its last completed turn "
                           f"(`storyteller play {target}` goes on from there)", style="yellow"))
        return 130
