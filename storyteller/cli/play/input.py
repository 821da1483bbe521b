"""Reading what the reader types: LineReader (prompt_toolkit with history and suggestions on a
terminal, plain input() when piped), PlayCompleter (Tab completion of /commands and their
arguments), split_path (a command's leading path, quoted or not) and state_dir (where the input
history and the error log live)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from storyteller.errors import InvalidInput, StorytellerError

try:
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document
except ModuleNotFoundError as exc:  # a core dependency; say how to fix a broken install, not a traceback
    from storyteller.install import install_hint

    raise StorytellerError("`storyteller play` needs prompt_toolkit, which is not installed",
                           fix=install_hint(None)) from exc

if TYPE_CHECKING:
    from storyteller.cli.play.session import Play


def state_dir() -> Path:
    """Where input history and the error log live: $XDG_STATE_HOME/storyteller (~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "storyteller"


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


class PlayCompleter(Completer):
    """Tab completion: /commands, then page numbers, character and branch names, formats, paths."""

    def __init__(self, play: Play):
        from storyteller.cli.play.commands import COMMANDS  # here: the commands use this module's split_path

        self.play = play
        self.commands = COMMANDS
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        play, text, commands = self.play, document.text_before_cursor, self.commands
        if not text.startswith("/"):
            return
        if " " not in text:
            for name in sorted({c.name for c in commands.values()}):
                if name.startswith(text[1:].lower()):
                    yield Completion("/" + name, start_position=-len(text), display_meta=commands[name].help)
            return
        name, _, rest = text[1:].partition(" ")
        name = name.lower()
        name = commands[name].name if name in commands else name  # an alias completes as its command
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
            choices = sorted({c.name for c in commands.values()})
        for choice in choices:
            if choice.lower().startswith(current.lower()):
                yield Completion(choice, start_position=-len(current))


def split_path(rest: str) -> tuple[str, str]:
    """`PATH rest` or `"PATH WITH SPACES" rest` (the rest is free text, apostrophes and all)."""
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise InvalidInput(f"the path starts with {rest[0]} but has no closing {rest[0]}")
        return rest[1:end], rest[end + 1:].strip()
    path, _, after = rest.partition(" ")
    return path, after.strip()

