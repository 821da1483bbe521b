"""`storyteller play [DIR]`: a story told turn by turn in the terminal, with the reader steering.

Plain text at the prompt is a direction: the next page is written from it (the text streams in as
the model writes it), illustrated and narrated, and saved as a turn before the prompt comes back.
Lines starting with `/` are commands (`/help`). Everything a command does is a call of the Python
API (storyteller.api.Storyteller); this package only reads input and shows what happens.

Ctrl-C while a turn is being made cancels that turn (the API's cancel token; the story stays as it
was); Ctrl-C at the prompt clears the line; Ctrl-D or /quit leaves. The folder is not held between
turns: each command opens, locks and closes it, so a killed session loses at most the turn in
progress, and `storyteller play DIR` finishes an interrupted run before the first prompt.

The package, from the top down:

- session.py: Play (the folder, its branch, the prompt loop, running a turn) and the entry points
  run_play and start_new;
- commands.py: the /command registry (Command, COMMANDS, the `command` decorator) and every handler;
- worker.py: run_turn (an API call in a worker thread; Ctrl-C cancels it), QuitNow, shield;
- views.py: TurnView (the live area of a turn) and the renderers page_row, plural, verdict; the
  words for events that `storyteller new` shows too are storyteller.cli.progress's;
- input.py: LineReader, PlayCompleter (Tab completion), split_path, state_dir.
"""

from __future__ import annotations

from storyteller.cli.play.commands import COMMANDS, Command, command
from storyteller.cli.play.input import LineReader, PlayCompleter, state_dir
from storyteller.cli.play.session import Play, run_play, start_new
from storyteller.cli.play.worker import QuitNow, run_turn

__all__ = ["COMMANDS", "Command", "LineReader", "Play", "PlayCompleter", "QuitNow", "command", "run_play", "run_turn",
           "start_new", "state_dir"]
