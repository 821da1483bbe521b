"""`storyteller play [DIR]`: a story told turn by turn in the terminal, with the reader steering.

Plain text at the prompt is a direction: the next page is written from it (the text streams in as
the model writes it), illustrated and narrated, and saved as a turn before the prompt comes back.
Lines starting with `/` are commands (`/help`). Everything a command does is a call of the Python
API (storyteller.api.Storyteller); this module only reads input and shows what happens.

Ctrl-C while a turn is being made cancels that turn (the API's cancel token; the story stays as it
was); Ctrl-C at the prompt clears the line; Ctrl-D or /quit leaves. The folder is not held between
turns: each command opens, locks and closes it, so a killed session loses at most the turn in
progress, and `storyteller play DIR` finishes an interrupted run before the first prompt.
"""

from __future__ import annotations

import difflib
import os
import re
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyteller.errors import Cancelled, InvalidInput, StorytellerError

try:
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document
except ModuleNotFoundError as exc:  # a core dependency; say how to fix a broken install, not a traceback
    from storyteller.install import install_hint

    raise StorytellerError("`storyteller play` needs prompt_toolkit, which is not installed",
                           fix=install_hint(None)) from exc
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from storyteller.events import (AudioReady, ConsistencyRetry, ConsistencyScored, ImageReady, ModelCall, PageTextDelta,
                                PageWritten, PlanReady, PlanRetry, Preparing)

if TYPE_CHECKING:
    from storyteller.api import Storyteller
    from storyteller.story import Story

STYLES = ["watercolor", "pencil", "crayon", "pixel art", "ink", "oil"]
DEFAULT_DIRECTION_FOR_PHOTO = "What the reader's picture shows comes into the story."
PROMPT_MARK = "› "


def state_dir() -> Path:
    """Where input history and the error log live: $XDG_STATE_HOME/storyteller (~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "storyteller"


class QuitNow(Exception):
    """Ctrl-C pressed three times while a step would not stop: leave at once (the folder is crash-safe)."""


# =============================================================================================
# reading lines: prompt_toolkit on a terminal, plain input() when piped
# =============================================================================================
class LineReader:
    def __init__(self, history_name: str, completer=None):
        self.session = None
        import sys

        if sys.stdin.isatty() and sys.stdout.isatty():
            from prompt_toolkit import PromptSession
            from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
            from prompt_toolkit.history import FileHistory, InMemoryHistory

            try:
                folder = state_dir()
                folder.mkdir(parents=True, exist_ok=True)
                history = FileHistory(str(folder / history_name))
            except OSError:  # a read-only home: history for this session only
                history = InMemoryHistory()
            self.session = PromptSession(history=history, completer=completer, auto_suggest=AutoSuggestFromHistory(),
                                         complete_while_typing=True, reserve_space_for_menu=4)

    def read(self, message: str, default: str = "") -> str:
        """One line; KeyboardInterrupt on Ctrl-C, EOFError on Ctrl-D."""
        if self.session is not None:
            return self.session.prompt(message, default=default)
        return input(message)


# =============================================================================================
# what happens during a turn: streamed text, then the picture and the narration
# =============================================================================================
class TurnView:
    """A live area (the page being written, spinners for pictures and sounds in progress) above
    which finished pages and assets are printed for good. Events arrive on worker threads."""

    def __init__(self, console: Console, *, planning: bool = False):
        self.console = console
        self.lock = threading.Lock()
        self.planning = planning
        self.writing: dict[int, str] = {}
        self.drawing: dict[int, str] = {}
        self.recording: set[int] = set()
        self.scores: dict[int, ConsistencyScored] = {}
        self.note = ""
        self._spinners: dict[tuple[str, int], Spinner] = {}  # kept, so that each one turns
        self.live = Live(self, console=console, refresh_per_second=12, transient=True)

    def __enter__(self) -> TurnView:
        self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        self.live.stop()

    def __rich__(self):
        with self.lock:
            rows: list[Any] = []
            if self.planning:
                rows.append(self._spinner(("plan", 0), Text("planning the story…", style="cyan")))
            width = max(20, self.console.width - 6)
            for page, text in sorted(self.writing.items()):
                tail = " ".join(text.split())[-width * 3:]  # the last lines of a long page; its own newlines would break the area
                rows.append(Text.assemble((f"{page:>3}  ", "bold cyan"), (tail, ""), ("▌", "cyan")))
            for page, note in sorted(self.drawing.items()):
                rows.append(self._spinner(("draw", page), Text(f"page {page}: drawing the picture{note}", style="dim")))
            for page in sorted(self.recording):
                rows.append(self._spinner(("record", page), Text(f"page {page}: recording the narration", style="dim")))
            if self.note:
                rows.append(Text(self.note, style="yellow"))
            return Group(*rows)

    def _spinner(self, key: tuple[str, int], text: Text) -> Spinner:
        spinner = self._spinners.get(key)
        if spinner is None:
            spinner = self._spinners[key] = Spinner("dots", text=text)
        spinner.text = text
        return spinner

    def say(self, note: str) -> None:
        with self.lock:
            self.note = note

    def on_event(self, event) -> None:
        print_now: Any = None
        with self.lock:
            if isinstance(event, PageTextDelta):
                self.writing[event.page] = self.writing.get(event.page, "") + event.delta
            elif isinstance(event, Preparing):  # one-time work before the model loads: say why nothing happens
                self.note = "" if event.done >= event.total else f"{event.what}: {100 * event.done // max(1, event.total)}%"
            elif isinstance(event, PageWritten):
                self.writing.pop(event.page, None)
                self.drawing.setdefault(event.page, "")
                self.recording.add(event.page)
                print_now = page_row(event.page, event.text)
            elif isinstance(event, PlanReady):
                self.planning = False
                print_now = Text.assemble(("  ", ""), (event.title, "bold"), (f"  ({plural(event.pages, 'page')}; ", "dim"),
                                          (", ".join(event.characters), "dim"), (")", "dim"))
            elif isinstance(event, PlanRetry):
                print_now = Text(f"  the plan was not valid; asking again (attempt {event.attempt + 1})", style="dim")
            elif isinstance(event, ConsistencyRetry):
                self.drawing[event.page] = f" again, attempt {event.attempt + 1} (the last one drifted off-model)"
            elif isinstance(event, ConsistencyScored):
                self.scores[event.page] = event
            elif isinstance(event, ImageReady):
                self.drawing.pop(event.page, None)
                print_now = Text.assemble(("       picture    ", "dim"), (event.path, "green"),
                                          (f"  {verdict(self.scores.get(event.page))}", "dim"))
            elif isinstance(event, AudioReady):
                self.recording.discard(event.page)
                print_now = Text.assemble(("       narration  ", "dim"), (event.path, "green"))
            elif isinstance(event, ModelCall) and event.operation == "load" and event.duration_s >= 1:
                print_now = Text(f"  loaded the {event.role} ({event.backend}, {event.model}) in {event.duration_s:.1f} s",
                                 style="dim")
        if print_now is not None:
            self.console.print(print_now)


def run_turn(console: Console, call: Callable[[Callable, Any], Any], *, planning: bool = False) -> Any:
    """Run `call(on_event, cancel)` (an API call) in a worker thread while a TurnView shows its
    events. Ctrl-C sets the cancel token: the API stops at its next safe point and raises
    Cancelled, which is re-raised here once the worker has stopped (so the folder is unlocked). A
    third Ctrl-C, for a step that will not stop, raises QuitNow."""
    from storyteller.cancel import CancelToken

    token = CancelToken()
    view = TurnView(console, planning=planning)
    box: dict[str, Any] = {}
    presses = 0

    def target() -> None:
        try:
            box["value"] = call(view.on_event, token)
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    def on_sigint(signum, frame) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            token.cancel()
            view.say("stopping… the story stays as it was before this turn")
        elif presses == 2:
            view.say("still stopping: the step in progress finishes first (Ctrl-C again to quit now)")
        else:
            raise QuitNow()

    worker = threading.Thread(target=target, name="storyteller-turn", daemon=True)
    previous = signal.signal(signal.SIGINT, on_sigint)  # the main thread waits; the worker works
    try:
        with view:
            worker.start()
            while worker.is_alive():
                worker.join(0.05)
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def page_row(number: int, text: str) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="bold cyan", min_width=3)
    grid.add_column(overflow="fold")
    grid.add_row(str(number), Text(text))
    return grid


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict(scored: ConsistencyScored | None) -> str:
    if scored is None:
        return ""
    scores = scored.scores
    parts = [f"{key} {scores[key]:.2f}" for key in ("character", "style", "text") if isinstance(scores.get(key), (int, float))]
    outcome = "consistent" if scored.passed else "best of the attempts"
    tries = plural(scored.attempts, "attempt")
    return f"({outcome}, {tries}{': ' + ', '.join(parts) if parts else ''})"


# =============================================================================================
# commands
# =============================================================================================
@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    run: Callable[[Play, str], bool | None]  # False ends the session
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}


def command(name: str, args: str, help: str, *aliases: str):
    """A /command. Its name is the verb the API and the CLI use for the same operation; aliases
    are older or shorter names that keep working (shown in /help)."""
    def register(fn):
        for key in (name, *aliases):
            COMMANDS[key] = Command(name, args, help, fn, aliases)
        return fn
    return register


class PlayCompleter(Completer):
    """Tab completion: /commands, then page numbers, character and branch names, formats, paths."""

    def __init__(self, play: Play):
        self.play = play
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        play, text = self.play, document.text_before_cursor
        if not text.startswith("/"):
            return
        if " " not in text:
            for name in sorted({c.name for c in COMMANDS.values()}):
                if name.startswith(text[1:].lower()):
                    yield Completion("/" + name, start_position=-len(text), display_meta=COMMANDS[name].help)
            return
        name, _, rest = text[1:].partition(" ")
        name = name.lower()
        name = COMMANDS[name].name if name in COMMANDS else name  # an alias completes as its command
        if name in ("image", "say") and " " not in rest.strip():
            yield from self.paths.get_completions(Document(rest, len(rest)), complete_event)
            return
        words = rest.split(" ")
        current = words[-1]
        choices: Iterable[str] = ()
        if name in ("ask", "reillustrate", "renarrate") and len(words) == 1:
            choices = [str(n) for n in range(1, len(play.story.pages) + 1)]
        elif name == "character":
            current = rest
            choices = [c.name for c in play.story.characters]
        elif name == "talk" and len(words) == 1 and current.startswith("@"):
            choices = [f"@{c.name}" for c in play.story.characters]
        elif name == "switch" and len(words) == 1:
            choices = [b for b in play.branch_names if b != play.branch]
        elif name == "export" and len(words) == 1:
            from storyteller.export import formats

            choices = formats()  # the plugin registry's (the one a Storyteller uses unless given its own)
        elif name == "help" and len(words) == 1:
            choices = sorted({c.name for c in COMMANDS.values()})
        for choice in choices:
            if choice.lower().startswith(current.lower()):
                yield Completion(choice, start_position=-len(current))


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

    # -- the loop ------------------------------------------------------------------------------
    def loop(self) -> int:
        first = ("Say something to them (\"@Name ...\" to address one; /say FILE for a recording)"
                 if self.story.kind == "photo" else "Type what happens next")
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
            self.tell("type what happens next (a direction for the next page), or /help for the commands", "dim")
            return None
        if not text.startswith("/"):  # on a photo scene, words are said to its characters
            (self.talk if self.story.kind == "photo" else self.direction)(text)
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
        if not self.story.pages:
            raise InvalidInput("the story has no pages yet")
        if token is None:
            return len(self.story.pages)
        if not token.isdigit():
            raise InvalidInput(f"a page is a number, got {token!r}")
        number = int(token)
        if not 1 <= number <= len(self.story.pages):
            raise InvalidInput(f"page {number} does not exist; the story has pages 1 to {len(self.story.pages)}")
        return number

    def find_character(self, name: str):
        wanted = name.strip().lower()
        for character in self.story.characters:
            if wanted in (character.name.lower(), character.slug, *(a.lower() for a in character.aliases)):
                return character
        starts = [c for c in self.story.characters if c.name.lower().startswith(wanted)]
        if len(starts) == 1:
            return starts[0]
        names = ", ".join(c.name for c in self.story.characters) or "none"
        raise InvalidInput(f"no character {name!r}; the characters are {names}")


def _split_path(rest: str) -> tuple[str, str]:
    """`PATH rest` or `"PATH WITH SPACES" rest` (the rest is free text, apostrophes and all)."""
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise InvalidInput(f"the path starts with {rest[0]} but has no closing {rest[0]}")
        return rest[1:end], rest[end + 1:].strip()
    path, _, after = rest.partition(" ")
    return path, after.strip()


def _shield(play: Play, what: str):
    """Ctrl-C during a quick change of the folder (undo, branch, switch) waits for it to finish."""
    import contextlib

    @contextlib.contextmanager
    def shielded():
        def on_sigint(signum, frame):
            play.tell(f"one moment: finishing {what} so the folder stays whole", "yellow")
        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
    return shielded()


# -- the commands --------------------------------------------------------------------------------
@command("help", "[COMMAND]", "this list, or one command's help")
def _help(play: Play, rest: str) -> None:
    unique = {c.name: c for c in COMMANDS.values()}
    if rest:
        found = COMMANDS.get(rest.lstrip("/").lower())
        if found is None:
            raise InvalidInput(f"there is no command /{rest.lstrip('/')}")
        play.console.print(Text.assemble((f"/{found.name} {found.args}".strip(), "bold"), f"  {found.help}"))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("any text", "what happens next: the next page is written from it, illustrated and narrated "
                  "(on a photo scene: what you say to its characters, as /talk)")
    for found in unique.values():
        also = f" (also {', '.join('/' + a for a in found.aliases)})" if found.aliases else ""
        table.add_row(f"/{found.name} {found.args}".strip(), found.help + also)
    play.console.print(table)
    play.console.print(Text("Ctrl-C stops the turn in progress (the story stays as it was); Ctrl-D or /quit leaves. "
                            "Every finished turn is already saved.", style="dim"))


@command("image", "PATH [DIRECTION]", "weave a picture into the next page (it is described, and may bring in a character or place)")
def _image(play: Play, rest: str) -> None:
    from storyteller.images import load_image

    if not rest:
        raise InvalidInput("/image needs a picture, e.g. /image ~/photos/cat.jpg The cat joins the fox")
    raw, direction = _split_path(rest)
    path = Path(raw).expanduser()
    if not path.exists():
        raise InvalidInput(f"image not found: {raw}")
    load_image(path)  # an unreadable picture is refused here, before anything starts
    play.direction(direction or DEFAULT_DIRECTION_FOR_PHOTO, image=path)


@command("talk", "[@NAME] WORDS", "say something to a photo scene's characters (plain text does the same there); they answer in their voices")
def _talk(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/talk needs words, e.g. /talk @" + (play.story.characters[0].name if play.story.characters else "Milo")
                           + " what are you looking at?")
    play.talk(rest)


@command("say", "FILE", "say it with a recording (WAV): it is transcribed, shown, and you accept or correct it")
def _say(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/say needs a recording, e.g. /say ~/hello.wav")
    raw, _ = _split_path(rest)
    play.heard(Path(raw).expanduser())


@command("mic", "", "push to talk: record from the microphone (where the machine has one), then as /say")
def _mic(play: Play, rest: str) -> None:
    from storyteller.microphone import Recording

    recording = Recording()  # says why not, where there is no input device
    try:
        play.reader.read("press Enter to start recording › ")
        recording.start()
        play.reader.read("speak, then press Enter to stop › ")
        play.heard(recording.stop())
    finally:
        recording.discard()


@command("next", "DIRECTION", "the next page, written from a direction (what plain text does, except on a photo scene)")
def _next(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/next needs a direction, e.g. /next They build a sandcastle")
    play.direction(rest)


@command("ask", "[PAGE] QUESTION", "a question about a page's picture, answered by the VQA model (default: the last page)")
def _ask(play: Play, rest: str) -> None:
    first, _, after = rest.partition(" ")
    page, question = (play.page_number(first), after.strip()) if first.isdigit() else (play.page_number(None), rest)
    if not question:
        raise InvalidInput("/ask needs a question, e.g. /ask 2 What colour is the lantern?")
    with play.console.status(f"looking at page {page}…"):
        answer = play.teller.ask(play.folder, page, question)
    play.console.print(Text(answer.text))
    p = answer.provenance
    play.tell(f"  {p.backend} ({p.kind}) {p.model}", "dim")


@command("characters", "", "who is in the story")
def _characters(play: Play, rest: str) -> None:
    from storyteller.export.source import StorySource

    source = StorySource(play.folder, play.story)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "looks", "voice", "pages", "consistency"):
        table.add_column(column)
    for character in play.story.characters:
        pages = [p.number for p in play.story.pages if character.slug in p.characters]
        scores = [s for _, s in source.consistency_scores(character)]
        table.add_row(character.name, character.appearance.describe(),
                      character.voice.voice_id if character.voice else "-", ", ".join(map(str, pages)) or "-",
                      f"{sum(scores) / len(scores):.2f} mean of {len(scores)}" if scores else "-")
    play.console.print(table)


@command("character", "NAME [voice VOICE [rate R] [pitch P]]",
         "a character's sheet, reference picture and consistency scores; with `voice`, list voices or give it another")
def _character(play: Play, rest: str) -> None:
    from storyteller.export.source import StorySource

    if not rest:
        raise InvalidInput("/character needs a name, e.g. /character " + (play.story.characters[0].name if play.story.characters else "Fern"))
    wants_voice = re.match(r"^(.*?)\s+voice(?:\s+(.*))?$", rest, re.I)
    if wants_voice:
        _voice(play, wants_voice.group(1), (wants_voice.group(2) or "").split())
        return
    character = play.find_character(rest)
    look = character.appearance
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("name", character.name + (f" (also {', '.join(character.aliases)})" if character.aliases else ""))
    table.add_row("species", look.species)
    for label, value in (("face", look.face), ("hair", look.hair), ("clothing", look.clothing),
                         ("colours", ", ".join(look.colors)), ("props", ", ".join(look.props)),
                         ("personality", character.personality)):
        if value:
            table.add_row(label, value)
    if character.voice:
        v = character.voice
        table.add_row("voice", f"{v.voice_id} (speed ×{1 / v.length_scale:.2f}, pitch {v.pitch_shift:+.1f})")
    for asset in character.reference_assets:
        table.add_row("reference", str((play.folder / asset.path).resolve()))
    scores = StorySource(play.folder, play.story).consistency_scores(character)
    if scores:
        table.add_row("consistency", "  ".join(f"p{page} {score:.2f}" for page, score in scores)
                      + f"   (mean {sum(s for _, s in scores) / len(scores):.2f})")
    else:
        table.add_row("consistency", "no scored pages yet")
    play.console.print(table)


def _voice(play: Play, name: str, words: list[str]) -> None:
    """/character NAME voice: list the voices; /character NAME voice VOICE [rate R] [pitch P]: change it."""
    from storyteller.agent.voices import describe_voice

    who = "narrator" if name.strip().lower() == "narrator" else play.find_character(name).name
    if not words:
        current = play.story.narrator_voice if who == "narrator" else play.find_character(who).voice
        play.tell(f"{who}: {describe_voice(current)}")
        for i, v in enumerate(play.teller.voices(), 1):
            play.console.print(f"  {i:>2}  {v.voice_id:<16} speed ×{1 / v.length_scale:.2f}  pitch {v.pitch_shift:+.1f}")
        play.tell(f"choose one with /character {name.strip()} voice NUMBER (optionally rate 1.1 pitch -2)", "dim")
        return
    options = dict(zip(words[1::2], words[2::2]))
    try:
        rate = float(options["rate"]) if "rate" in options else None
        pitch = float(options["pitch"]) if "pitch" in options else None
    except ValueError:
        raise InvalidInput("rate and pitch are numbers, e.g. /character Fern voice 2 rate 1.1 pitch -2") from None
    story = play.work(lambda on_event, cancel: play.teller.set_voice(
        play.folder, who, words[0], rate=rate, pitch=pitch, on_event=on_event, cancel=cancel))
    turn = next(t for t in reversed(story.history) if t.action == "voice")
    renarrated = sorted({n for t in story.history[turn.number:] if t.action == "renarrate" for n in t.pages})
    play.tell(turn.summary + (f"; pages narrated again: {', '.join(map(str, renarrated))}" if renarrated else ""))


@command("style", "", "the story's illustration style and palette")
def _style(play: Play, rest: str) -> None:
    style = play.story.style
    line = Text.assemble((style.name, "bold"), ("  " + style.description if style.description else "", ""))
    play.console.print(line)
    if style.palette:
        swatches = Text()
        for colour in style.palette:
            swatches.append("██ ", style=colour)
            swatches.append(f"{colour}  ", style="dim")
        play.console.print(swatches)


@command("pages", "", "the pages so far, one line each")
def _pages(play: Play, rest: str) -> None:
    for page in play.story.pages:
        text = page.text if len(page.text) <= 100 else page.text[:99] + "…"
        play.console.print(page_row(page.number, text))


@command("reillustrate", "[PAGE]", "draw a page's picture again with a fresh seed (default: the last page; /undo brings the old one back)",
         "retry")
def _reillustrate(play: Play, rest: str) -> None:
    number = play.page_number(rest.split()[0] if rest else None)
    story = play.work(lambda on_event, cancel: play.teller.reillustrate(play.folder, number, on_event=on_event, cancel=cancel))
    play.tell(f"page {number} has a new picture: {story.pages[number - 1].illustration.path} "
              f"(turn {len(story.history)}; the old file is kept)", "dim")


@command("renarrate", "[PAGE] [VOICE]", "narrate a page again, optionally with another voice, and show the WAV file",
         "narrate")
def _renarrate(play: Play, rest: str) -> None:
    words = rest.split()
    number = play.page_number(words[0] if words else None)
    voice = words[1] if len(words) > 1 else None
    story = play.work(lambda on_event, cancel: play.teller.renarrate(play.folder, number, voice=voice,
                                                                     on_event=on_event, cancel=cancel))
    wav = (play.folder / story.pages[number - 1].narration.path).resolve()
    play.tell(f"page {number} narration: {wav}")


@command("undo", "", "take back the last turn (a page, or a /reillustrate or /renarrate)")
def _undo(play: Play, rest: str) -> None:
    with _shield(play, "/undo"):
        undone = play.teller.undo(play.folder)
    play.reload()
    play.tell(f"undone: turn {undone.turn.number} ({undone.turn.action}): {undone.summary}; "
              f"the story has {plural(len(play.story.pages), 'page')}")
    play.show_last_page()


@command("branch", "NAME", "start a branch here and go on in it (the current branch stays as it is)")
def _branch(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/branch needs a name, e.g. /branch dragon-ending")
    before = play.branch
    with _shield(play, "/branch"):
        play.teller.branch(play.folder, rest)
    play.refresh_branches()
    play.tell(f"on branch {play.branch} from page {len(play.story.pages)}; {before} is kept as it was "
              f"(/switch {before} goes back)")


@command("branches", "", "the story's branches")
def _branches(play: Play, rest: str) -> None:
    infos = play.teller.branches(play.folder)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("", "branch", "pages", "turns", "folder"):
        table.add_column(column)
    for info in infos:
        table.add_row("*" if info.active else "", info.name, str(info.pages), str(info.turns), str(info.path))
    play.console.print(table)


@command("switch", "NAME", "go to another branch (the current one is kept)")
def _switch(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/switch needs a branch name: " + ", ".join(b for b in play.branch_names if b != play.branch))
    with _shield(play, "/switch"):
        play.teller.switch(play.folder, rest)
    play.refresh_branches()
    play.tell(f"on branch {play.branch}: {plural(len(play.story.pages), 'page')}")
    play.show_last_page()


@command("export", "FORMAT", "the story as html, json, mp4, epub… into its exports/ folder (/export alone lists the formats)")
def _export(play: Play, rest: str) -> None:
    registry = play.teller.toolbox.registry
    fmt = rest.lower().strip()
    if not fmt:
        table = Table(box=None, show_header=False)
        for entry in registry.exporters():
            table.add_row(entry.name, entry.summary)
        play.console.print(table)
        return
    registry.exporter(fmt)  # an unknown format is refused before anything starts
    with play.console.status(f"exporting {fmt}…"):
        path = play.teller.export(play.folder, fmt)
    play.tell(f"exported: {path}")


@command("resume", "", "finish an interrupted run (pages not yet written, drawn or narrated)")
def _resume(play: Play, rest: str) -> None:
    if not play.unfinished:
        play.tell("nothing to finish: every page is written, drawn and narrated", "dim")
        return
    play.finish_unfinished()


@command("save", "", "make sure everything is saved (every finished turn already is)")
def _save(play: Play, rest: str) -> None:
    play.reload()  # reads story.json back from the disk: what is there is what was saved
    state = "unfinished pages remain (/resume)" if play.unfinished else "complete"
    play.tell(f"saved: {plural(len(play.story.pages), 'page')}, {plural(len(play.story.history), 'turn')}, branch {play.branch}, "
              f"{state}, in {play.folder.resolve()}")


@command("quit", "", "leave (every finished turn is saved)", "exit")
def _quit(play: Play, rest: str) -> bool:
    return False


# =============================================================================================
# starting: a new story, or an existing folder
# =============================================================================================
def start_new(teller: Storyteller, console: Console, *, out: Path | None, premise: str | None, style: str | None,
              pages: int, seed: int, image: Path | None) -> tuple[Path | None, bool]:
    """Ask for what is missing, then plan and make the first pages. Returns the folder (None: the
    reader left before a story existed) and whether its making was cancelled."""
    from storyteller.api import MAX_PREMISE_CHARS, clean_text
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
