"""Progress bars for a story run, driven by the agent's events, and the words for an event that
every CLI display says the same way (`storyteller new` here, `storyteller play`'s turn view)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from storyteller.events import (AgentStep, AudioReady, ImageReady, ModelCall, PageWritten, PlanProgress, PlanReady,
                                PlanRetry, Preparing, TurnCommitted)


def model_loaded(event: ModelCall) -> str:
    """A model load: `loaded the llm (llamacpp, qwen2.5-0.5b) in 2.1 s`."""
    return f"loaded the {event.role} ({event.backend}, {event.model}) in {event.duration_s:.1f} s"


def plan_retried(event: PlanRetry) -> str:
    """The planner's answer was not a valid plan (attempt `event.attempt`): it is asked again."""
    return f"the plan was not valid; asking again (attempt {event.attempt + 1})"


def agent_step(event: AgentStep) -> str:
    """A step of the agent: `-> ask_picture(page=3, question=...)` and what came of it."""
    arguments = ", ".join(f"{k}={v!r}" for k, v in event.arguments.items())
    line = f"-> {event.tool}({arguments})"
    if event.repairs:
        line += f"  [repaired: {'; '.join(event.repairs)}]"
    if event.error is not None:
        line += f"  refused: {event.error}"
    return line


def agent_line(console: Console, event) -> None:
    """What `storyteller chat` shows of the agent's work as it happens (on stderr)."""
    if isinstance(event, AgentStep):
        console.print(agent_step(event), style="dim" if event.error is None else "yellow", highlight=False, markup=False)
    elif isinstance(event, ModelCall) and event.operation == "load":
        console.print(model_loaded(event), style="dim", highlight=False)
    elif isinstance(event, PageWritten):
        console.print(f"page {event.page} written", style="dim", highlight=False)
    elif isinstance(event, TurnCommitted):
        console.print(f"turn {event.turn} committed ({event.action})", style="dim", highlight=False)


class StoryProgress:
    def __init__(self, console: Console, pages: int, *, story=None):
        """`story`: when resuming, what is already done counts as done."""
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("[dim]{task.fields[note]}"), console=console, transient=False,
        )
        done = story.pages if story else []
        self.plan = self.progress.add_task("plan", total=1, completed=int(story is not None), note="")
        self.text = self.progress.add_task("pages written", total=pages, completed=len(done), note="")
        self.images = self.progress.add_task("illustrations", total=pages, completed=sum(bool(p.illustration) for p in done), note="")
        self.audio = self.progress.add_task("narration", total=pages, completed=sum(bool(p.narration) for p in done), note="")
        self.preparing: dict[str, object] = {}

    def __enter__(self) -> StoryProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def on_event(self, event) -> None:
        p = self.progress
        if isinstance(event, Preparing):
            # One-time work before a model loads (joining a split model, ~1 GB): its own bar.
            if event.what not in self.preparing:
                self.preparing[event.what] = p.add_task("preparing (MiB)", total=event.total // 2**20, note=event.what)
            p.update(self.preparing[event.what], completed=event.done // 2**20)
        elif isinstance(event, PlanProgress):
            p.update(self.plan, note="bible written, planning pages" if event.stage == "bible"
                     else f"page {event.done}/{event.total} planned")
        elif isinstance(event, ModelCall) and event.operation == "load":
            p.console.log(model_loaded(event))
        elif isinstance(event, PlanRetry):
            p.update(self.plan, note=plan_retried(event))
        elif isinstance(event, PlanReady):
            p.update(self.plan, completed=1, note=event.title)
            for task in (self.text, self.images, self.audio):
                p.update(task, total=event.pages)
        elif isinstance(event, PageWritten):
            p.advance(self.text)
            p.update(self.text, note=event.text[:50])
        elif isinstance(event, ImageReady):
            p.advance(self.images)
            p.update(self.images, note=event.path)
        elif isinstance(event, AudioReady):
            p.advance(self.audio)
            p.update(self.audio, note=event.path)
