"""What a turn looks like in the terminal: TurnView (the live area that streams the page being
written, with spinners for pictures and narration in progress, above which finished pages and
assets are printed for good), and the small renderers the commands share (page_row, plural,
verdict). The words for a model load and a plan re-ask are storyteller.cli.progress's, shared with
the progress bars of `storyteller new`."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from storyteller.cli.progress import agent_step, model_loaded, plan_retried
from storyteller.events import (AgentStep, AudioReady, ConsistencyRetry, ConsistencyScored, ImageReady, ModelCall, PageTextDelta,
                                PageWritten, PlanReady, PlanRetry, Preparing)


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
                print_now = Text(f"  {plan_retried(event)}", style="dim")
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
            elif isinstance(event, AgentStep):  # which tool the agent called, with what
                print_now = Text(f"  {agent_step(event)}", style="dim" if event.error is None else "yellow")
            elif isinstance(event, ModelCall) and event.operation == "load" and event.duration_s >= 1:
                print_now = Text(f"  {model_loaded(event)}", style="dim")
        if print_now is not None:
            self.console.print(print_now)


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

