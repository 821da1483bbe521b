"""Many stories at once: `storyteller batch PREMISES --out DIR` and `Storyteller.batch(...)`.

A batch is a list of premises (a text file, one a line, or JSONL with premise/pages/style/seed/
language a line). Each becomes one story in its own folder under DIR, named after its premise and
settings (`a-fox-who-finds-a-lantern-3f2a1c`), so a rerun finds it again: a finished story is
skipped, an interrupted one resumed from its folder (`Storyteller.resume`), a new one written
(`Storyteller.new_story`). Every story runs through exactly those API calls, then `evaluate`;
the batch adds scheduling, progress and a report, never story logic of its own.

Schedulers:
- in-process (default): one process, one Storyteller, so every model is loaded once and shared
  by all the stories; `workers` stories run at once in threads (the LLM serves one call at a
  time, so this helps where one story's pictures and narration overlap another's writing);
- Ray (`ray="auto"` or an address): each story a Ray task, the backends in actors, one per role
  and node (storyteller.cluster).

The report (DIR/batch-report.json, rewritten atomically as each story ends) holds, per story: its
folder, status, wall time, model time, model-load time, the figures of `storyteller eval`, and
the error if it failed; one failing story never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from storyteller.cancel import CancelToken, SupportsIsSet, as_token
from storyteller.errors import Cancelled, InvalidInput, StorytellerError, StoryFolderError, StoryLocked
from storyteller.events import BaseEvent, Event, ModelCall, listening
from storyteller.requests import MAX_PAGES, Premise, StyleName
from storyteller.session import STORY_FILE, atomic_write_bytes, load_story
from storyteller.story import slugify

if TYPE_CHECKING:
    from storyteller.api import Storyteller

REPORT_FILE = "batch-report.json"
LOCK_FILE = ".storyteller-batch.lock"

Status = Literal["done", "resumed", "skipped", "failed", "cancelled", "not run"]


# =============================================================================================
# premises
# =============================================================================================
class BatchItem(BaseModel):
    """One line of the premises file: what `new_story` is asked for."""

    model_config = ConfigDict(extra="forbid")
    line: int = Field(default=0, description="Line of the premises file (1-based); set by the reader.")
    premise: Premise
    pages: int = Field(default=6, ge=1, le=MAX_PAGES)
    style: StyleName = "watercolor"
    seed: int = Field(default=0, ge=0, lt=2**32)
    language: str | None = Field(default=None, description="None: the premise's (storyteller.languages.detect).")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        from storyteller import languages

        return languages.get(value).code if value else None

    def key(self) -> str:
        """What makes two lines the same story: the premise and every setting, not the line."""
        return json.dumps(self.model_dump(exclude={"line"}), sort_keys=True, ensure_ascii=False)

    def folder_name(self) -> str:
        """The story's folder under the batch folder: readable, and the same on every rerun."""
        digest = hashlib.sha256(self.key().encode()).hexdigest()[:6]
        return f"{slugify(self.premise, fallback='story', max_length=32)}-{digest}"


class BadLine(BaseModel):
    line: int
    error: str
    text: str = Field(default="", description="The start of the line as it was read.")


def _invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
        return "; ".join(parts)
    return getattr(exc, "message", None) or str(exc)


def read_premises(source: str | Path | Iterable[str | dict], *, pages: int = 6, style: str = "watercolor",
                  seed: int = 0, language: str | None = None) -> tuple[list[BatchItem], list[BadLine]]:
    """The stories a premises file (or a list of premises or of JSONL-style dicts) asks for, and
    the lines that cannot be run, each with its number and why. `pages`, `style`, `seed` are the
    defaults for what a line does not say (`language` None: each premise's own). A text file has one premise a line (blank lines and
    lines starting with '#' are skipped); a file ending in .jsonl/.ndjson, or whose first line
    starts with '{', is JSONL. A line asking for the same story as an earlier one is reported, not
    run twice (the same seed would write the same story; give it another seed)."""
    defaults = {"pages": pages, "style": style, "seed": seed, "language": language}
    entries: list[tuple[int, Any]] = []
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"premises file not found: {path}",
                               fix="give a text file with one premise a line, or JSONL with a premise a line") from None
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
        lines = raw.splitlines()
        first = next((line.strip() for line in lines if line.strip() and not line.strip().startswith(b"#")), b"")
        jsonl = path.suffix.lower() in (".jsonl", ".ndjson") or first.startswith(b"{")
        for number, line in enumerate(lines, 1):
            if not line.strip() or (not jsonl and line.strip().startswith(b"#")):
                continue
            try:
                text = line.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                entries.append((number, ValueError(f"not UTF-8 text (byte {exc.start + 1})")))
                continue
            if jsonl:
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    entries.append((number, ValueError(f"not JSON: {exc}")))
                    continue
                entries.append((number, value if isinstance(value, dict) else
                                ValueError("a JSONL line is an object, e.g. {\"premise\": \"...\", \"pages\": 4}")))
            else:
                entries.append((number, text))
    else:
        entries = list(enumerate(source, 1))

    items: list[BatchItem] = []
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    for number, entry in entries:
        shown = (entry if isinstance(entry, str) else json.dumps(entry, ensure_ascii=False)
                 if isinstance(entry, dict) else "")[:80]
        if isinstance(entry, Exception):
            bad.append(BadLine(line=number, error=str(entry)))
            continue
        try:
            fields = {"premise": entry} if isinstance(entry, str) else dict(entry)
            if "line" in fields:
                raise ValueError("'line' is not a field of a premise (fields: premise, pages, style, seed, language)")
            item = BatchItem(**{**defaults, **fields, "line": number})
        except (ValidationError, StorytellerError, ValueError, TypeError) as exc:
            bad.append(BadLine(line=number, error=_invalid(exc), text=shown))
            continue
        if item.key() in seen:
            bad.append(BadLine(line=number, text=shown,
                               error=f"the same story as line {seen[item.key()]} (premise and settings): made once; "
                                     "give it another seed for a second one"))
            continue
        seen[item.key()] = number
        items.append(item)
    return items, bad


# =============================================================================================
# results and the report
# =============================================================================================
class ErrorInfo(BaseModel):
    type: str
    message: str
    fix: str | None = None
    traceback: str | None = Field(default=None, description="Only for errors storyteller did not raise on purpose.")

    @classmethod
    def of(cls, exc: BaseException) -> ErrorInfo:
        ours = isinstance(exc, StorytellerError)
        return cls(type=type(exc).__name__, message=getattr(exc, "message", None) or str(exc) or type(exc).__name__,
                   fix=getattr(exc, "fix", None),
                   traceback=None if ours else "".join(traceback.format_exception(exc))[-4000:])


def quality_figures(report) -> dict[str, Any]:
    """The figures of `storyteller eval` (storyteller.memory.EvalReport) that a batch table shows."""
    text = report.text
    return {
        "copied_beats": len(text.copied_beats) if text else None,
        "repeated_sentences": len(text.repeated_sentences) if text else None,
        "distinct_2": text.distinct_2 if text else None,
        "dialogue_share": text.dialogue_share if text else None,
        "meta_text": len(text.meta_text) if text else None,
        "gate_retried_pages": report.gate_retried_pages,
        "gate_failed_pages": report.gate_failed_pages,
        "character_self": report.character_self,
        "style_self": report.style_self,
        "text_alignment": report.text_alignment,
    }


class StoryResult(BaseModel):
    line: int
    premise: str
    pages: int
    style: str
    seed: int
    language: str | None = None
    folder: str
    status: Status = "not run"
    title: str | None = None
    pages_done: int = 0
    turns: int = 0
    wall_s: float | None = Field(default=None, description="This run's time on the story (an earlier run's when skipped).")
    model_s: float | None = Field(default=None, description=(
        "Sum of the story's model calls as timed (calls that overlap each count); with several stories at "
        "once, a call waiting for a shared model counts."))
    load_s: float | None = Field(default=None, description="Model loading this story's calls triggered.")
    model_calls: int = 0
    where: str = Field(default="", description="Which process (and Ray node) ran it.")
    attempts: int = Field(default=0, description="How often it was started in this run (Ray retries a dead worker's story).")
    quality: dict[str, Any] | None = Field(default=None, description="The table's figures from `evaluate` (quality_figures).")
    eval: dict[str, Any] | None = Field(default=None, description="The whole `storyteller eval` report.")
    eval_error: ErrorInfo | None = None
    error: ErrorInfo | None = None

    @classmethod
    def of(cls, item: BatchItem, folder: Path) -> StoryResult:
        return cls(**item.model_dump(exclude={"line"}), line=item.line, folder=str(folder))


class BatchReport(BaseModel):
    premises: str
    out: str
    scheduler: str
    workers: int
    started_at: str
    finished_at: str | None = None
    wall_s: float | None = None
    stories: list[StoryResult] = Field(default_factory=list)
    bad_lines: list[BadLine] = Field(default_factory=list)
    totals: dict[str, Any] = Field(default_factory=dict)
    actors: dict[str, int] = Field(default_factory=dict, description="Ray: the backend actors of each role (one per node that needed it).")
    run_id: str = Field(default="", description="This run's id (Ray tasks check they see this folder's report).")

    def count(self, *statuses: str) -> int:
        return sum(s.status in statuses for s in self.stories)

    def tally(self) -> None:
        ran = [s for s in self.stories if s.status in ("done", "resumed")]
        self.totals = {
            "stories": len(self.stories), "done": self.count("done"), "resumed": self.count("resumed"),
            "skipped": self.count("skipped"), "failed": self.count("failed"), "cancelled": self.count("cancelled"),
            "not_run": self.count("not run"), "bad_lines": len(self.bad_lines),
            "model_s": round(sum(s.model_s or 0 for s in ran), 2),
            "load_s": round(sum(s.load_s or 0 for s in self.stories if s.status != "skipped"), 2),
            "stories_per_hour": round(len(ran) / self.wall_s * 3600, 2) if self.wall_s and ran else None,
        }


# =============================================================================================
# events (what `on_event` of a batch receives)
# =============================================================================================
class BatchPlanned(BaseEvent):
    type: Literal["batch_planned"] = "batch_planned"
    stories: int
    to_run: int
    skipped: int
    pages: int = Field(description="Pages of the stories to run (the ETA counts these).")
    bad_lines: list[BadLine] = Field(default_factory=list)
    scheduler: str


class StoryStarted(BaseEvent):
    type: Literal["story_started"] = "story_started"
    index: int = Field(description="The story's position in the report's `stories`.")
    folder: str
    resumed: bool
    pages_done: int = 0
    where: str = ""


class StoryEvent(BaseEvent):
    """An event of one story of the batch (the same events `new_story` sends)."""

    type: Literal["story_event"] = "story_event"
    index: int
    event: Event


class StoryFinished(BaseEvent):
    type: Literal["story_finished"] = "story_finished"
    index: int
    result: StoryResult


# =============================================================================================
# one story: the same API calls a single story makes
# =============================================================================================
def run_story(teller: Storyteller, index: int, item: BatchItem, folder: Path, *,
              relay: Callable[[BaseEvent], None], cancel: CancelToken, where: str) -> StoryResult:
    """Write (or resume) one story of a batch, then evaluate it; never raises for the story's own
    failure (it is the result's error), only for a cancel of the batch before it starts."""
    result = StoryResult.of(item, folder)
    result.where, result.attempts = where, 1
    loads = calls = 0.0
    count = 0
    lock = threading.Lock()

    def listen(event: BaseEvent) -> None:
        nonlocal loads, calls, count
        if isinstance(event, ModelCall):
            with lock:
                if event.operation == "load":
                    loads += event.duration_s
                else:
                    calls += event.duration_s
                    count += 1
        relay(StoryEvent(index=index, event=event))

    started = time.perf_counter()
    try:
        existing = load_story(folder) if (folder / STORY_FILE).exists() else None
        if existing is not None and existing.premise != item.premise:
            raise StoryFolderError(f"{folder} holds another story ({existing.title!r}: {existing.premise[:60]!r})",
                                   fix=f"move {folder} away; the batch writes this premise's story there")
        relay(StoryStarted(index=index, folder=str(folder), resumed=existing is not None,
                           pages_done=sum(bool(p.illustration and p.narration) for p in existing.pages) if existing else 0,
                           where=where))
        if existing is not None:
            story = teller.resume(folder, on_event=listen, cancel=cancel)
        else:
            story = teller.new_story(item.premise, out=folder, pages=item.pages, style=item.style, seed=item.seed,
                                     language=item.language, on_event=listen, cancel=cancel)
        result.status = "resumed" if existing is not None else "done"
    except Cancelled as exc:
        result.status, result.error = "cancelled", ErrorInfo.of(exc)
    except Exception as exc:  # one story's failure, whatever it is, is reported and the batch goes on
        result.status, result.error = "failed", ErrorInfo.of(exc)
    result.wall_s = round(time.perf_counter() - started, 2)
    try:
        story = load_story(folder)
        result.title, result.turns, result.language = story.title, len(story.history), story.language
        result.pages_done = sum(bool(p.illustration and p.narration) for p in story.pages)
    except StorytellerError:
        pass  # it failed before its folder held a story
    if result.status in ("done", "resumed"):
        try:
            with listening(listen):  # the embedders' calls count as the story's model time
                report = teller.evaluate(folder)
            result.quality, result.eval = quality_figures(report), report.model_dump(mode="json")
        except Exception as exc:  # the story is made; only its figures are missing
            result.eval_error = ErrorInfo.of(exc)
    result.load_s, result.model_s, result.model_calls = round(loads, 2), round(calls, 2), count
    return result


# =============================================================================================
# the batch
# =============================================================================================
class Job(BaseModel):
    """A story the batch runs now, and where it stands."""

    index: int
    item: BatchItem
    folder: str
    pages_left: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _previous(out: Path) -> dict[str, StoryResult]:
    """The last run's results by folder (a skipped story keeps its figures); none if unreadable."""
    try:
        report = BatchReport.model_validate_json((out / REPORT_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return {Path(s.folder).name: s for s in report.stories}


def run_batch(teller: Storyteller, premises: str | Path | Iterable[str | dict], *, out: str | Path, pages: int = 6,
              style: str = "watercolor", seed: int = 0, language: str | None = None, workers: int | None = None,
              ray: str | None = None,
              on_event: Callable[[BaseEvent], None] | None = None,
              cancel: SupportsIsSet | None = None) -> BatchReport:
    """See Storyteller.batch."""
    from filelock import FileLock, Timeout

    if workers is not None and not 1 <= workers <= 256:
        raise InvalidInput(f"workers must be between 1 and 256, got {workers}")
    token = as_token(cancel)
    items, bad = read_premises(premises, pages=pages, style=style, seed=seed, language=language)
    if not items:
        raise InvalidInput("no premise to run" + (f": every line was refused ({bad[0].error} on line {bad[0].line})"
                                                  if bad else ": the premises are empty"),
                           fix="one premise a line, or JSONL lines like {\"premise\": \"A fox who finds a lantern\"}")
    out = Path(out).expanduser().absolute()
    if ray is not None:  # connected before anything is written: a cluster that cannot be reached leaves no folder
        from storyteller.cluster import RayScheduler

        scheduler: LocalScheduler | RayScheduler = RayScheduler(teller.settings, ray, workers)
    else:
        scheduler = LocalScheduler(teller, workers or 1)
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoryFolderError(f"cannot create {out}: {exc.strerror}", fix="choose another --out") from exc
        if not out.is_dir():
            raise StoryFolderError(f"{out} is not a folder", fix="choose another --out")
        lock = FileLock(str(out / LOCK_FILE), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoryLocked(f"another storyteller batch is running on {out}",
                              fix="wait for it to end (its progress is in batch-report.json), or choose another --out") from None
        try:
            return _run_locked(teller, items, bad, premises, out, scheduler, on_event or (lambda event: None), token)
        finally:
            lock.release()
    finally:
        scheduler.close()


def _run_locked(teller, items: list[BatchItem], bad: list[BadLine], premises, out: Path, scheduler,
                relay: Callable[[BaseEvent], None], token: CancelToken) -> BatchReport:
    previous = _previous(out)
    report = BatchReport(premises=str(premises) if isinstance(premises, (str, Path)) else "(given as a list)",
                         out=str(out), scheduler=scheduler.describe(), workers=scheduler.workers, started_at=_now(),
                         bad_lines=bad, run_id=os.urandom(8).hex())
    jobs: list[Job] = []
    for index, item in enumerate(items):
        folder = out / item.folder_name()
        result = StoryResult.of(item, folder)
        try:
            story = load_story(folder) if (folder / STORY_FILE).exists() else None
        except StoryFolderError:
            story = None  # the story's run says what is wrong with it
        if story is not None and story.premise == item.premise and story.is_complete:
            earlier = previous.get(folder.name)
            if earlier is not None and earlier.turns == len(story.history) and earlier.quality is not None:
                result = earlier.model_copy(update={"line": item.line, "folder": str(folder)})
            result.status, result.attempts, result.error = "skipped", 0, None
            result.title, result.turns, result.pages_done = story.title, len(story.history), len(story.pages)
        else:
            done = sum(bool(p.illustration and p.narration) for p in story.pages) if story else 0
            jobs.append(Job(index=index, item=item, folder=str(folder),
                            pages_left=max((len(story.outline) if story else item.pages) - done, 0)))
        report.stories.append(result)
    # A skipped story of an earlier run without figures (that run died first) is evaluated now.
    for result in report.stories:
        if result.status == "skipped" and result.quality is None:
            try:
                evaluation = teller.evaluate(result.folder)
                result.quality, result.eval = quality_figures(evaluation), evaluation.model_dump(mode="json")
            except Exception as exc:
                result.eval_error = ErrorInfo.of(exc)

    started = time.perf_counter()

    def save() -> None:
        report.wall_s = round(time.perf_counter() - started, 2)
        report.tally()
        atomic_write_bytes(out / REPORT_FILE, report.model_dump_json(indent=2).encode())

    save()  # before any story starts: Ray tasks check they see this run's report in the folder
    relay(BatchPlanned(stories=len(report.stories), to_run=len(jobs), skipped=len(report.stories) - len(jobs),
                      pages=sum(j.pages_left for j in jobs), bad_lines=bad, scheduler=report.scheduler))

    def finished(result: StoryResult) -> None:
        index = next(j.index for j in jobs if j.folder == result.folder)
        report.stories[index] = result
        save()
        relay(StoryFinished(index=index, result=result))

    try:
        scheduler.run(jobs, report.run_id, out, finished, relay, token)
    finally:
        report.actors = scheduler.placement()
        report.finished_at = _now()
        save()
    return report


class LocalScheduler:
    """In this process: one Storyteller (models loaded once, shared), `workers` stories at once."""

    def __init__(self, teller: Storyteller, workers: int):
        self.teller = teller
        self.workers = workers

    def describe(self) -> str:
        return f"in-process, {self.workers} worker{'s' * (self.workers != 1)}, pid {os.getpid()}"

    def run(self, jobs: list[Job], run_id: str, out: Path, finished: Callable[[StoryResult], None],
            relay: Callable[[BaseEvent], None], token: CancelToken) -> None:
        def one(job: Job) -> StoryResult:
            if token.is_set():  # the batch was cancelled before this story's turn: "not run"
                return StoryResult.of(job.item, Path(job.folder))
            return run_story(self.teller, job.index, job.item, Path(job.folder), relay=relay, cancel=token,
                             where=f"pid {os.getpid()}, {threading.current_thread().name}")

        with ThreadPoolExecutor(self.workers, thread_name_prefix="story") as pool:
            pending: set[Future] = {pool.submit(one, job) for job in jobs}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        finished(future.result())
            except BaseException:  # Ctrl-C or the caller's error: stop the stories at their next safe point
                token.cancel()
                for future in pending:
                    try:
                        finished(future.result())
                    except BaseException:
                        pass
                raise

    def placement(self) -> dict[str, int]:
        return {}  # no actors: the backends are this process's

    def close(self) -> None:
        pass  # the backends stay loaded in this process's registry, for whatever runs next
