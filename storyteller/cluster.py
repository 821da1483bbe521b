"""Batches on a Ray cluster: each story a Ray task, the backends in Ray actors (`batch --ray`).

    driver (storyteller batch --ray ADDRESS)
      BatchHub actor: makes the backend actors, collects the tasks' events for the progress display
      story task (one per story, anywhere in the cluster) -> storyteller.batch.run_story, the same
          new_story/resume/evaluate calls as in one process, through a Storyteller whose registry
          (ActorRegistry) hands out proxies to the actors of the task's node
      BackendHost actor (one per role and node, made when a task on that node first needs the role):
          the role's real backend, loaded once there and shared by the node's tasks

A role's actor reserves what `[ray.roles.ROLE]` in the config asks (num_gpus for the illustrator,
CPUs for narration...); a node that lacks it uses the actor of a node that has it. A role whose
backend is a client of a served model (the `openai` backends, e.g. a vLLM server) gets no actor:
each task talks to the server itself. Model calls run in the actors through the one instrumented
path (Backend.timed); their ModelCall events travel back with each call and are emitted in the
task, so model time and provenance are what they are in one process (the provenance also names
the actor that made it, `ray_actor`). Every method of a role's interface runs in the actor (an
image embedder's `view` and `character_similarity` too, so the gate scores as it does in one
process); anything a backend offers beyond its interface is looked up there on first use. An LLM's text
reaches the task whole, not streamed; the driver is sent a story's events without its text deltas
and model calls (the result carries its model time).

A task whose worker dies (killed, out of memory, node lost) is started again by Ray (up to
`ray.max_retries`); it finds the story folder as the dead one left it (every write is atomic, the
lock died with the process) and resumes it: nothing committed is lost. The story folders must be on
storage every node sees at the same path; a task checks that it sees this run's report there.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
import os
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storyteller.backends import Registry
from storyteller.backends.base import (Backend, CaptionerBackend, DetectorBackend, IllustratorBackend,
                                       ImageEmbedderBackend, LLMBackend, NarratorBackend, TextEmbedderBackend,
                                       TranscriberBackend, VQABackend, caller)
from storyteller.batch import REPORT_FILE, ErrorInfo, Job, StoryEvent, StoryResult, run_story
from storyteller.cancel import CancelToken
from storyteller.config import Settings
from storyteller.errors import BackendCallError, BackendUnavailable, StoryFolderError, StorytellerError
from storyteller.events import BaseEvent, ModelCall, PageTextDelta, emit, listening
from storyteller.install import install_hint

# How often the retried call of a restarted backend actor (its process died) is tried again.
ACTOR_RESTARTS = 3


def import_ray():
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailable(f"Ray is not installed ({exc}): `--ray` runs the batch on a Ray cluster",
                                 fix=install_hint("ray")) from exc
    return ray


def frozen_settings(data: dict) -> Settings:
    """The driver's settings exactly as they were (a Settings.model_dump()), not merged with this
    worker's environment variables or config files: every task and actor runs the same configuration."""
    from pydantic_settings import PydanticBaseSettingsSource

    def sources(cls, settings_cls, init_settings, *others, **named) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    frozen = type("Settings", (Settings,), {"settings_customise_sources": classmethod(sources)})
    return frozen(**data)


# =============================================================================================
# errors across processes
# =============================================================================================
def _portable(exc: BaseException) -> tuple:
    """An exception as plain data: StorytellerErrors keep their class, message and fix (some take
    keyword-only arguments, which plain pickling of an exception loses)."""
    if isinstance(exc, StorytellerError):
        return type(exc).__module__, type(exc).__qualname__, exc.args, dict(exc.__dict__)
    return (BackendCallError.__module__, BackendCallError.__qualname__, (f"{type(exc).__name__}: {exc}",),
            {"message": f"{type(exc).__name__}: {exc}", "fix": None})


def _rebuild(data: tuple) -> BaseException:
    module, name, args, state = data
    cls = getattr(importlib.import_module(module), name)
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


# =============================================================================================
# actors
# =============================================================================================
# Ray sets OMP_NUM_THREADS in its workers (1 in an actor that reserves no CPU, else the CPUs it
# reserves), and torch reads it when first imported. With another thread count its sums run in
# another order: a story's text embeddings differ in their last bits from one process's (measured:
# 1 thread in the actor, 2 in one process), and what follows from them can differ (the memory's
# ranking, a gate's choice). Actors and story tasks take the driver's values instead (unset: the
# libraries' own defaults), so a batch on Ray computes what one process computes.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def driver_threads() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in THREAD_VARIABLES}


def _use_threads(threads: dict[str, str | None]) -> None:
    for name, value in threads.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class BackendHost:
    """One role's backend in an actor: constructed from the batch's settings, loaded on first use,
    called by every task of its node (several at once, each call in its own thread)."""

    def __init__(self, settings_data: dict, role: str, threads: dict[str, str | None]):
        _use_threads(threads)  # before the backend imports torch (see THREAD_VARIABLES)
        from storyteller.agent.toolbox import Toolbox

        self.role = role
        self.toolbox = Toolbox(frozen_settings(settings_data))
        self.label = f"{role} actor on {_node_ip()} pid {os.getpid()}"

    def describe(self) -> tuple[bool, Any]:
        try:
            backend = self.toolbox.backend(self.role)
            info = {"name": backend.name, "kind": backend.kind, "model_id": backend.model_id, "host": self.label}
            if isinstance(backend, LLMBackend):
                info.update(context_length=backend.context_length, supports_json_schema=backend.supports_json_schema)
            if isinstance(backend, ImageEmbedderBackend):
                info.update(has_text_tower=backend.has_text_tower, gate_thresholds=dict(backend.gate_thresholds))
            return True, info
        except Exception as exc:
            return False, _portable(exc)

    def attribute(self, name: str) -> tuple[str, Any]:
        """What the backend has under a public name its role's interface lacks (the ensemble
        narrator's `unavailable`, a backend's own extras): a value, a method, or missing."""
        backend = self.toolbox.backend(self.role)
        if name.startswith("_") or not hasattr(backend, name):
            return "missing", None
        value = getattr(backend, name)
        return ("method", None) if callable(value) else ("value", value)

    def call(self, method: str, args: tuple, kwargs: dict, whose: str | None = None) -> tuple[bool, Any, list[BaseEvent]]:
        """The backend's `method` for the story `whose` (see backends.base.caller), with the events it
        emitted (model calls, loading) for the caller."""
        events: list[BaseEvent] = []
        try:
            with listening(events.append):
                result = contextvars.copy_context().run(self._run, whose, method, args, kwargs)
            for item in result if isinstance(result, list) else [result]:
                provenance = getattr(item, "provenance", None)
                if provenance is not None:
                    provenance.parameters["ray_actor"] = self.label
            return True, result, events
        except Exception as exc:
            return False, _portable(exc), events

    def _run(self, whose: str | None, method: str, args: tuple, kwargs: dict) -> Any:
        caller.set(whose)  # in this call's own copy of the context (calls run in threads of their own)
        return getattr(self.toolbox.backend(self.role), method)(*args, **kwargs)


class BatchHub:
    """The batch's own actor (owned by the driver, so everything it makes ends with the batch): it
    makes the backend actors, one per role and node, and holds the tasks' events until the driver
    takes them. Sequential, so one task's events stay in the order it posted them."""

    def __init__(self, settings_data: dict, threads: dict[str, str | None]):
        self.settings_data = settings_data
        self.threads = threads
        self.settings = frozen_settings(settings_data)
        self.hosts: dict[tuple[str, str], Any] = {}
        self.events: list[BaseEvent] = []

    def host(self, role: str, node_id: str) -> tuple[bool, Any]:
        """The actor of `role` for a task on `node_id`: that node's, made on first need, or where
        the node lacks the resources the role asks for, one on a node that has them."""
        ray = import_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if (role, node_id) in self.hosts:
            return True, self.hosts[role, node_id]
        wanted = self.settings.ray.role(role)
        need = {"CPU": wanted.num_cpus, "GPU": wanted.num_gpus, "memory": wanted.memory or 0, **wanted.resources}
        nodes = {n["NodeID"]: n for n in ray.nodes() if n.get("Alive")}

        def fits(node) -> bool:
            return all(node["Resources"].get(name, 0) >= amount for name, amount in need.items() if amount)

        target = node_id if node_id in nodes and fits(nodes[node_id]) else None
        if target is None:
            existing = next((h for (r, n), h in self.hosts.items() if r == role and n in nodes and fits(nodes[n])), None)
            if existing is not None:
                self.hosts[role, node_id] = existing
                return True, existing
            target = next((n for n, node in nodes.items() if fits(node)), None)
        if target is None:
            asked = ", ".join(f"{name} {amount:g}" for name, amount in need.items() if amount)
            return False, _portable(BackendUnavailable(
                f"no node of the Ray cluster has what the {role} actor asks for ({asked})",
                fix=f"add a node that has it, or lower [ray.roles.{role}] in the config"))
        actor = _remote(BackendHost).options(
            num_cpus=wanted.num_cpus, num_gpus=wanted.num_gpus, memory=wanted.memory,
            resources=wanted.resources or None, max_concurrency=wanted.max_concurrency,
            # A dead actor is started again (its model loaded again) and the call retried there:
            # backend calls are pure functions of their inputs and seeds.
            max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=target, soft=False),
        ).remote(self.settings_data, role, self.threads)
        self.hosts[role, target] = self.hosts[role, node_id] = actor
        return True, actor

    def post(self, event: BaseEvent) -> None:
        self.events.append(event)

    def take(self) -> list[BaseEvent]:
        events, self.events = self.events, []
        return events

    def placement(self) -> dict[str, int]:
        """How many actors each role has (for the report)."""
        actors: dict[str, set] = {}
        for (role, _), actor in self.hosts.items():
            actors.setdefault(role, set()).add(actor._actor_id.hex())
        return {role: len(ids) for role, ids in sorted(actors.items())}


@functools.cache
def _remote(cls):
    return import_ray().remote(cls)


def _node_ip() -> str:
    import ray

    return ray.util.get_node_ip_address()


# =============================================================================================
# the task side: proxies to the actors
# =============================================================================================
class _Remote:
    """What every proxy shares: the actor's description, and a call that brings back the result,
    the events the call emitted in the actor (emitted again here) and its error, as raised there."""

    served = False

    def __init__(self, handle, info: dict):
        Backend.__init__(self)
        self._handle, self._info = handle, info
        self.name, self.kind = info["name"], info["kind"]

    @property
    def model_id(self) -> str:
        return self._info["model_id"]

    def ensure_setup(self) -> None:
        self._call("ensure_setup")

    def __getattr__(self, name: str) -> Any:
        """An optional capability of the backend in the actor (see BackendHost.attribute): its value,
        or a method calling it there; AttributeError where it has none, as in one process."""
        if name.startswith("_"):
            raise AttributeError(name)
        import ray

        found = self.__dict__.setdefault("_attributes", {})
        if name not in found:
            found[name] = ray.get(self._handle.attribute.remote(name))
        kind, value = found[name]
        if kind == "missing":
            raise AttributeError(f"the {self.name} backend has no {name!r}")
        return value if kind == "value" else functools.partial(self._call, name)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import ray

        try:
            ok, value, events = ray.get(self._handle.call.remote(method, args, kwargs, caller.get()))
        except ray.exceptions.RayActorError as exc:
            raise BackendUnavailable(f"the {self._info['host']} died and could not be started again: {exc}",
                                     fix="see the Ray logs of that node (often: out of memory)") from exc
        for event in events:
            emit(event)
        if not ok:
            raise _rebuild(value)
        return value


class RemoteLLM(_Remote, LLMBackend):
    @property
    def context_length(self) -> int:
        return self._info["context_length"]

    @property
    def supports_json_schema(self) -> bool:
        return self._info["supports_json_schema"]

    def complete(self, messages, *, on_text=None, **kwargs):
        completion = self._call("complete", messages, **kwargs)
        if on_text is not None and completion.text:
            on_text(completion.text)  # whole: an actor's call does not stream
        return completion


class RemoteCaptioner(_Remote, CaptionerBackend):
    def caption(self, image, prompt=None):
        return self._call("caption", image, prompt)


class RemoteVQA(_Remote, VQABackend):
    def answer(self, image, question):
        return self._call("answer", image, question)


class RemoteDetector(_Remote, DetectorBackend):
    def detect(self, image):
        return self._call("detect", image)

    def detect_objects(self, image):
        return self._call("detect_objects", image)


class RemoteIllustrator(_Remote, IllustratorBackend):
    def illustrate(self, requests):
        return self._call("illustrate", requests)


class RemoteNarrator(_Remote, NarratorBackend):
    _voices = None

    def voices(self):
        if self._voices is None:  # a backend's voices do not change while it runs
            self._voices = self._call("voices")
        return self._voices

    def synthesize(self, text, voice=None):
        return self._call("synthesize", text, voice)


class RemoteTranscriber(_Remote, TranscriberBackend):
    def transcribe(self, path, *, language=None):
        return self._call("transcribe", path, language=language)


class RemoteTextEmbedder(_Remote, TextEmbedderBackend):
    def embed(self, texts):
        return self._call("embed", texts)


class RemoteImageEmbedder(_Remote, ImageEmbedderBackend):
    @property
    def has_text_tower(self) -> bool:
        return self._info["has_text_tower"]

    @property
    def gate_thresholds(self) -> dict[str, float]:
        return self._info["gate_thresholds"]

    def view(self, vectors, aspect):
        return self._call("view", vectors, aspect)

    def character_similarity(self, references, vector, on_stage=1):
        return self._call("character_similarity", references, vector, on_stage=on_stage)

    def embed_images(self, images):
        return self._call("embed_images", images)

    def embed_texts(self, texts):
        return self._call("embed_texts", texts)


PROXIES: dict[str, type[_Remote]] = {
    "llm": RemoteLLM, "captioner": RemoteCaptioner, "vqa": RemoteVQA, "detector": RemoteDetector,
    "illustrator": RemoteIllustrator, "narrator": RemoteNarrator, "transcriber": RemoteTranscriber,
    "text_embedder": RemoteTextEmbedder, "image_embedder": RemoteImageEmbedder,
}


@functools.cache
def proxy_class(role: str, base: type[Backend]) -> type[_Remote]:
    """The proxy of `role`, whose interface is `base`: the built-in roles' above, or for a plugin's
    role one made from its interface, each abstract method (and property) of it answered in the
    actor, anything else looked up there on first use as for any proxy."""
    if role in PROXIES:
        return PROXIES[role]

    def forwarded(name: str, static: Any) -> Any:
        if isinstance(static, property):
            return property(lambda self: self._call("__getattribute__", name))

        def method(self, *args: Any, **kwargs: Any) -> Any:
            return self._call(name, *args, **kwargs)
        method.__name__ = name
        return method

    members = {name: forwarded(name, inspect.getattr_static(base, name))
               for name in base.__abstractmethods__ if not hasattr(_Remote, name)}
    return type(f"Remote{base.__name__}", (_Remote, base), members)


class ActorRegistry(Registry):
    """The registry of a story task: a role the batch hosts in actors resolves to a proxy of its
    node's actor; anything else (a served model's client, a role with `actor = false`, another
    configuration such as a separate judge) is made here as in any process."""

    def __init__(self, hub, settings: Settings, node_id: str):
        super().__init__()
        self.load_plugins()
        self.hub, self.settings, self.node_id = hub, settings, node_id
        self._proxies: dict[str, _Remote] = {}
        self._proxy_lock = threading.Lock()

    def backend(self, role, name, options=None, uses=None):
        config = self.settings.role(role)
        local = super().backend(role, name, options, uses)  # cheap: nothing is loaded until used
        hosted = self.settings.ray.role(role).actor
        if (name, dict(options or {})) != (config.backend, config.options) or hosted is False or (
                hosted is None and local.served):
            return local
        with self._proxy_lock:
            if role not in self._proxies:
                import ray

                ok, handle = ray.get(self.hub.host.remote(role, self.node_id))
                if not ok:
                    raise _rebuild(handle)
                ok, info = ray.get(handle.describe.remote())
                if not ok:
                    raise _rebuild(info)
                self._proxies[role] = proxy_class(role, self.role_base(role))(handle, info)
            return self._proxies[role]


# A worker process runs many tasks of a batch one after another: they share its registry (and so
# the clients of served models it made), as the stories of one process do.
_registries: dict[tuple[str, str], ActorRegistry] = {}


def _story_task(hub, settings_data: dict, threads: dict[str, str | None], run_id: str, out: str, job_data: dict) -> dict:
    """One story of the batch, on whichever node Ray chose (retried there or elsewhere if its worker dies)."""
    import ray

    _use_threads(threads)
    from storyteller.api import Storyteller

    job = Job.model_validate(job_data)
    node_id = ray.get_runtime_context().get_node_id()
    where = f"node {_node_ip()}, pid {os.getpid()}"
    _check_shared(Path(out), run_id, where)
    settings = frozen_settings(settings_data)
    key = (run_id, node_id)
    if key not in _registries:
        _registries.clear()  # an earlier batch's registry: its actors are gone
        _registries[key] = ActorRegistry(hub, settings, node_id)
    teller = Storyteller(settings, registry=_registries[key])

    def relay(event: BaseEvent) -> None:
        # The stream of text deltas and every model call would flood the driver; the result
        # carries the story's model time, and loads are shown.
        inner = event.event if isinstance(event, StoryEvent) else None
        if isinstance(inner, PageTextDelta) or (isinstance(inner, ModelCall) and inner.operation != "load"):
            return
        hub.post.remote(event)

    result = run_story(teller, job.index, job.item, Path(job.folder), relay=relay, cancel=CancelToken(), where=where)
    ray.get(hub.placement.remote())  # the hub runs calls in order: every event posted above has arrived
    return result.model_dump(mode="json")


def _check_shared(out: Path, run_id: str, where: str) -> None:
    import json

    try:
        seen = json.loads((out / REPORT_FILE).read_bytes()).get("run_id")
    except (OSError, ValueError):
        seen = None
    if seen != run_id:
        raise StoryFolderError(
            f"the batch folder {out} as seen on {where} does not hold this run's {REPORT_FILE}: the story "
            "folders must be on storage every Ray node sees, at the same path",
            fix="put --out on a file system mounted on every node at the same path (NFS, a shared Kubernetes volume)")


# =============================================================================================
# the driver side
# =============================================================================================
def _reachable(address: str) -> None:
    """A HOST:PORT that nothing answers at fails here at once (Ray itself keeps trying for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise BackendUnavailable(
            f"nothing answers at {address} ({exc.strerror or exc}): no Ray cluster's head listens there",
            fix="give the address `ray start --head` printed (HOST:6379), or --ray auto for a Ray on this machine") from None


class RayScheduler:
    """Runs the batch's stories as Ray tasks; `address` "auto" (the cluster `ray start` made on this
    machine, or else a new local one for this batch) or a cluster's address (HOST:6379)."""

    def __init__(self, settings: Settings, address: str, workers: int | None):
        ray = import_ray()
        self.ray = ray
        self.settings = settings
        self.settings_data = settings.model_dump(mode="json")
        self.started_here = False
        if not ray.is_initialized():
            _reachable(address)
            try:
                ray.init(address=None if address == "auto" else address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendUnavailable(
                    f"cannot connect to the Ray cluster at {address}: {exc}",
                    fix="start one with `ray start --head` and give its address (HOST:6379), or use --ray auto for "
                        "a cluster on this machine") from exc
            self.started_here = True
        resources = ray.cluster_resources()
        self.cpus = resources.get("CPU", 0)
        self.nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        # Tasks blocked on an actor's answer give their CPU back to Ray, which would then start
        # every story at once; at most this many run.
        self.workers = workers or max(1, int(self.cpus // settings.ray.task_cpus))
        self.threads = driver_threads()
        self.hub = _remote(BatchHub).options(num_cpus=0).remote(self.settings_data, self.threads)
        self.address = address

    def describe(self) -> str:
        return (f"ray {self.ray.__version__} at {self.address}: {self.nodes} node{'s' * (self.nodes != 1)}, "
                f"{self.cpus:g} CPUs, {self.workers} stories at once")

    def run(self, jobs: list[Job], run_id: str, out: Path, finished: Callable[[StoryResult], None],
            relay: Callable[[BaseEvent], None], token: CancelToken) -> None:
        from storyteller.batch import StoryStarted

        ray = self.ray
        task = _remote(_story_task).options(num_cpus=self.settings.ray.task_cpus,
                                               max_retries=self.settings.ray.max_retries, retry_exceptions=False)
        queue = list(jobs)
        running: dict[Any, Job] = {}
        starts: Counter[int] = Counter()

        def drain() -> None:
            for event in ray.get(self.hub.take.remote()):
                if isinstance(event, StoryStarted):
                    starts[event.index] += 1
                relay(event)

        def cancel_running() -> None:
            for ref in running:
                ray.cancel(ref, force=True)  # the story keeps its last committed turn
            for ref, job in running.items():
                result = StoryResult.of(job.item, Path(job.folder))
                result.status, result.attempts = "cancelled", starts[job.index]
                result.error = ErrorInfo(type="Cancelled", message="the batch was cancelled",
                                         fix=f"run the batch again to resume {job.folder}")
                finished(result)
            running.clear()

        try:
            while queue or running:
                if token.is_set():
                    cancel_running()
                    return
                while queue and len(running) < self.workers:
                    job = queue.pop(0)
                    running[task.remote(self.hub, self.settings_data, self.threads, run_id, str(out),
                                         job.model_dump(mode="json"))] = job
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.25)
                drain()
                for ref in ready:
                    job = running.pop(ref)
                    finished(self._result(ref, job, starts[job.index]))
        except BaseException:
            cancel_running()
            raise

    def _result(self, ref, job: Job, starts: int) -> StoryResult:
        ray = self.ray
        try:
            result = StoryResult.model_validate(ray.get(ref))
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            result = StoryResult.of(job.item, Path(job.folder))
            result.status = "failed"
            if isinstance(cause, StorytellerError):
                result.error = ErrorInfo.of(cause)
            else:
                result.error = ErrorInfo(
                    type=type(exc).__name__,
                    message=f"the story's Ray task failed after {starts} start(s): {str(exc).splitlines()[0][:300]}",
                    fix="run the batch again to resume it; see the Ray logs of the node")
        result.attempts = max(starts, result.attempts)
        return result

    def placement(self) -> dict[str, int]:
        """How many backend actors each role has."""
        return self.ray.get(self.hub.placement.remote())

    def close(self) -> None:
        self.ray.kill(self.hub)  # and with it the backend actors it made
        if self.started_here:
            self.ray.shutdown()
