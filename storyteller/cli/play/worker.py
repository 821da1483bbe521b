"""Running a step while the reader watches, and Ctrl-C during it: run_turn (an API call in a
worker thread, its events shown by a TurnView; SIGINT sets the cancel token), QuitNow (Ctrl-C a
third time, for a step that will not stop) and shield (Ctrl-C waits out a quick change of the
folder)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.text import Text

from storyteller.cli.play.views import TurnView


class QuitNow(Exception):
    """Ctrl-C pressed three times while a step would not stop: leave at once (the folder is crash-safe)."""


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


@contextlib.contextmanager
def shield(console: Console, what: str) -> Iterator[None]:
    """Ctrl-C during a quick change of the folder (undo, branch, switch) waits for it to finish."""
    def on_sigint(signum, frame) -> None:
        console.print(Text(f"one moment: finishing {what} so the folder stays whole", style="yellow"))
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
