"""`storyteller batch`: the live progress of many stories, then a table of how each went."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from storyteller.batch import REPORT_FILE, BatchPlanned, BatchReport, StoryEvent, StoryFinished, StoryStarted
from storyteller.events import ImageReady, ModelCall, PageWritten, PlanProgress, PlanReady, TurnCommitted


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class BatchProgress:
    """Stories done/running/failed, pages, an ETA from the pages done so far, and a line for each
    running story; driven by the batch's events (from whichever thread sends them)."""

    def __init__(self, console: Console):
        self.console = console
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.planned: BatchPlanned | None = None
        self.running: dict[int, dict] = {}
        self.names: dict[int, str] = {}
        self.done = self.failed = self.pages_done = 0

    def on_event(self, event) -> None:
        with self.lock:
            if isinstance(event, BatchPlanned):
                self.planned = event
                self.started = time.monotonic()
                for bad in event.bad_lines:
                    self.console.print(f"[yellow]line {bad.line} not run:[/yellow] {bad.error}", highlight=False)
                if event.skipped:
                    self.console.print(f"{event.skipped} stor{'ies' if event.skipped != 1 else 'y'} already finished: skipped")
            elif isinstance(event, StoryStarted):
                name = Path(event.folder).name
                self.names[event.index] = name
                self.running[event.index] = {"name": name, "page": event.pages_done, "total": None, "doing": (
                    f"resuming after page {event.pages_done}" if event.resumed else "planning"), "where": event.where}
            elif isinstance(event, StoryEvent):
                self._story(event.index, event.event)
            elif isinstance(event, StoryFinished):
                self.running.pop(event.index, None)
                result = event.result
                name = Path(result.folder).name
                if result.status in ("done", "resumed"):
                    self.done += 1
                    self.console.print(f"[green]{result.status}[/green] line {result.line} {name}: {result.pages_done} pages "
                                       f"in {_duration(result.wall_s)}", highlight=False)
                elif result.status == "failed":
                    self.failed += 1
                    self.console.print(f"[red]failed[/red] line {result.line} {name}: "
                                       f"{result.error.message if result.error else ''}", highlight=False)

    def _story(self, index: int, event) -> None:
        state = self.running.get(index)
        if state is None:
            return
        if isinstance(event, PlanProgress):
            state["doing"] = "planning" if event.stage == "bible" else f"planned {event.done}/{event.total} pages"
        elif isinstance(event, PlanReady):
            state["total"] = event.pages
            state["doing"] = f"writing: {event.title}"
        elif isinstance(event, PageWritten):
            state["doing"] = f"page {event.page} written"
        elif isinstance(event, ImageReady):
            state["doing"] = f"page {event.page} illustrated"
        elif isinstance(event, ModelCall) and event.operation == "load":
            state["doing"] = f"loaded {event.role} in {event.duration_s:.1f}s"
        elif isinstance(event, TurnCommitted) and event.action in ("page", "continue"):
            state["page"] = max(event.pages or [state["page"]])
            self.pages_done += len(event.pages)

    def __rich__(self):
        with self.lock:
            planned = self.planned
            if planned is None:
                return Text("reading the premises…")
            elapsed = time.monotonic() - self.started
            waiting = planned.to_run - self.done - self.failed - len(self.running)
            if self.pages_done:
                eta = f"ETA {_duration((planned.pages - self.pages_done) * elapsed / self.pages_done)}"
            else:
                eta = "ETA after the first page"
            head = Text.from_markup(
                f"[bold]{self.done}[/bold] done · [bold]{len(self.running)}[/bold] running · "
                f"[bold]{self.failed}[/bold] failed · {max(waiting, 0)} waiting  |  pages {self.pages_done}/{planned.pages}"
                f"  |  {_duration(elapsed)} elapsed, {eta}")
            lines = [Text(f"  {s['name'][:40]:<40} page {s['page']}/{s['total'] or '?'}  {s['doing'][:50]}",
                          style="dim") for s in self.running.values()]
            return Group(head, *lines)


def quality_table(report: BatchReport) -> Table:
    """One row a story: status, pages, wall and model time, and `storyteller eval`'s figures:
    beats copying an earlier beat, sentences repeated across pages, distinct-2, the share of
    pages with dialogue, meta text found, and the consistency gate's pages retried/below threshold."""
    totals = report.totals
    table = Table(title=f"{totals.get('done', 0) + totals.get('resumed', 0)} written, {totals.get('skipped', 0)} skipped, "
                        f"{totals.get('failed', 0)} failed ({report.scheduler})",
                  caption="copied: beats copying an earlier one; repeats: sentences repeated across pages; "
                          "dialogue: share of pages with a quoted line; gate: pages redrawn / below threshold")
    table.add_column("line", justify="right")
    table.add_column("story", max_width=39, overflow="ellipsis", no_wrap=True)
    table.add_column("status")
    for column in ("pages", "wall", "model", "copied", "repeats", "distinct-2", "dialogue", "meta", "gate"):
        table.add_column(column, justify="right")
    table.add_column("error", max_width=40, overflow="fold")
    colours = {"done": "green", "resumed": "green", "skipped": "dim", "failed": "red", "cancelled": "yellow",
               "not run": "yellow"}
    for s in report.stories:
        q = s.quality or {}

        def figure(key: str) -> str:
            value = q.get(key)
            return "-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

        gate = "-" if q.get("gate_retried_pages") is None else f"{q['gate_retried_pages']}/{q['gate_failed_pages']}"
        error = s.error.message if s.error else (f"eval: {s.eval_error.message}" if s.eval_error else "")
        table.add_row(str(s.line), Path(s.folder).name, f"[{colours[s.status]}]{s.status}[/]", f"{s.pages_done}/{s.pages}",
                      _duration(s.wall_s), _duration(s.model_s), figure("copied_beats"), figure("repeated_sentences"),
                      figure("distinct_2"), figure("dialogue_share"), figure("meta_text"), gate, error[:160])
    return table


def run_batch_command(teller, premises: Path, *, out: Path, pages: int, style: str, seed: int, language: str | None,
                      workers: int | None, ray: str | None) -> int:
    """The batch with its live progress; prints the table and where the report is. Exit status 1
    when a story failed or a line could not be run, else 0."""
    console = Console(stderr=True)
    progress = BatchProgress(console)
    try:
        with Live(progress, console=console, refresh_per_second=4, transient=True):
            report = teller.batch(premises, out=out, pages=pages, style=style, seed=seed, language=language,
                                  workers=workers, ray=ray, on_event=progress.on_event)
    except KeyboardInterrupt:
        console.print(f"interrupted: every story keeps its completed pages; run the same `storyteller batch` again to "
                      f"resume them (the report so far is in {out / REPORT_FILE})")
        return 130
    stdout = Console()
    if not stdout.is_terminal:  # a log or a pipe: wide enough for the table's columns
        stdout = Console(width=max(stdout.width, 140))
    stdout.print(quality_table(report))
    for bad in report.bad_lines:
        stdout.print(f"  [yellow]line {bad.line} not run:[/yellow] {bad.error}", highlight=False)
    totals = report.totals
    rate = f"{totals['stories_per_hour']:.1f} stories/hour" if totals.get("stories_per_hour") else "no story written"
    ran = totals["done"] + totals["resumed"]
    stdout.print(f"{ran} stories in {_duration(report.wall_s)}: {rate}; model loading {totals['load_s']:.1f}s"
                 + (f" ({totals['load_s'] / ran:.1f}s a story)" if ran else "")
                 + (f"; Ray actors {', '.join(f'{role} {n}' for role, n in report.actors.items())}" if report.actors else ""),
                 highlight=False)
    stdout.print(f"report: {Path(report.out) / REPORT_FILE}", highlight=False)
    return 1 if totals["failed"] or totals["cancelled"] or report.bad_lines else 0
