"""Many stories at once (storyteller.batch, storyteller.cluster): premises files and their bad
lines, a folder per story, reruns that skip and resume, one failing story among others, the CLI's
table and report, and the same batches on a local Ray cluster this module starts and stops: on
scripted fakes (the same results as in one process), with a worker killed mid-story, and two
stories on the embedded default (slow)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fakes import fake_plugin_env, fakes_config

from storyteller.batch import (REPORT_FILE, BatchPlanned, BatchReport, StoryEvent, StoryFinished, StoryStarted,
                               read_premises, run_batch)
from storyteller.cancel import CancelToken
from storyteller.errors import BackendUnavailable, InvalidInput, StoryLocked
from storyteller.events import ModelCall, TurnCommitted
from storyteller.export.source import StorySource
from storyteller.session import STORY_FILE, load_story

STORYTELLER = [sys.executable, "-c", "from storyteller.cli import main; main()"]
PREMISES = ["A fox who finds a lantern in the snow", "An owl who cannot sleep", "A hare who wants to touch the moon"]
# What the CLI, the Ray workers and make_teller(llm=...) select: the fakes, small pictures.
def fakes_batch_config(page_delay: float) -> str:
    return fakes_config("stateless", f"page_delay = {page_delay}", page_candidates=1, image_width=64, image_height=64)


def fakes_teller(make_teller, **llm):
    """A Storyteller on the fakes whose answers depend on the prompt alone (fakes.StatelessLLM)."""
    from storyteller.config import RoleConfig

    teller = make_teller(image_width=64, image_height=64)
    teller.settings.llm = RoleConfig(backend="stateless", options=llm)
    return type(teller)(teller.settings, registry=teller.toolbox.registry)


def signature(folder: Path) -> list:
    """What a story is, without timings: each page's text and its picture's and sound's sha256."""
    story = load_story(folder)
    return [story.title, [c.reference_assets[0].sha256 for c in story.characters],
            [(p.text, p.illustration.sha256, p.narration.sha256) for p in story.pages]]


# =============================================================================================
# premises
# =============================================================================================
def test_a_text_file_has_one_premise_a_line(tmp_path):
    path = tmp_path / "premises.txt"
    path.write_text("# a class of three\nA fox who finds a lantern\n\n  An owl who cannot sleep  \nA fox who finds a lantern\n")
    items, bad = read_premises(path, pages=4, style="crayon", seed=2)
    assert [(i.line, i.premise, i.pages, i.style, i.seed) for i in items] == [
        (2, "A fox who finds a lantern", 4, "crayon", 2), (4, "An owl who cannot sleep", 4, "crayon", 2)]
    assert [(b.line, b.error.split(":")[0]) for b in bad] == [(5, "the same story as line 2 (premise and settings)")]
    # A folder per story, named after it, the same on every reading.
    assert items[0].folder_name() == read_premises(path, pages=4, style="crayon", seed=2)[0][0].folder_name()
    assert items[0].folder_name().startswith("a-fox-who-finds-a-lantern-")
    assert items[0].folder_name() != read_premises(path, pages=5)[0][0].folder_name()


def test_jsonl_bad_lines_are_reported_by_number_and_the_rest_run(tmp_path):
    path = tmp_path / "premises.jsonl"
    lines = [
        json.dumps({"premise": "A fox who finds a lantern", "pages": 2, "seed": 3}),
        '{"premise": "An owl"',  # 2: cut off
        json.dumps(["a list"]),  # 3
        json.dumps({"pages": 2}),  # 4: no premise
        json.dumps({"premise": "A hare", "pages": 0}),  # 5
        json.dumps({"premise": "A hare", "page": 2}),  # 6: a typo
        json.dumps({"premise": "A hare", "language": "fr"}),  # 7
        json.dumps({"premise": "   "}),  # 8
        json.dumps({"premise": "x" * 3000}),  # 9
        json.dumps({"premise": "A fox who finds a lantern", "pages": 2, "seed": 3}),  # 10: line 1 again
        json.dumps({"premise": "A badger who bakes bread", "style": "crayon", "language": "en"}),  # 11
    ]
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not text\n\n")
    items, bad = read_premises(path, pages=3)
    assert [(i.line, i.premise, i.pages, i.style, i.seed) for i in items] == [
        (1, "A fox who finds a lantern", 2, "watercolor", 3), (11, "A badger who bakes bread", 3, "crayon", 0)]
    errors = {b.line: b.error for b in bad}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert errors[2].startswith("not JSON")
    assert "a JSONL line is an object" in errors[3]
    assert errors[4] == "premise: Field required"
    assert errors[5] == "pages: Input should be greater than or equal to 1"
    assert errors[6] == "page: Extra inputs are not permitted"
    assert "does not tell stories in 'fr' yet" in errors[7]
    assert errors[8] == "the premise is empty"
    assert "at most 2000 are accepted" in errors[9]
    assert "the same story as line 1" in errors[10]
    assert errors[12] == "not UTF-8 text (byte 1)"


def test_nothing_to_run_and_a_missing_file_are_clear_errors(make_teller, tmp_path):
    teller = fakes_teller(make_teller)
    with pytest.raises(InvalidInput, match="premises file not found"):
        teller.batch(tmp_path / "nope.txt", out=tmp_path / "out")
    (tmp_path / "bad.jsonl").write_text('{"pages": 2}\n')
    with pytest.raises(InvalidInput, match="every line was refused .premise: Field required on line 1."):
        teller.batch(tmp_path / "bad.jsonl", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written for a batch that cannot run


# =============================================================================================
# in one process
# =============================================================================================
def test_a_batch_writes_a_folder_per_story_loads_models_once_and_reports(make_teller, tmp_path):
    teller = fakes_teller(make_teller)
    events = []
    report = teller.batch(PREMISES, out=tmp_path / "class", pages=2, workers=2, on_event=events.append)
    assert [s.status for s in report.stories] == ["done"] * 3
    on_disk = BatchReport.model_validate_json((tmp_path / "class" / REPORT_FILE).read_bytes())
    assert on_disk.model_dump(exclude={"finished_at"}) == report.model_dump(exclude={"finished_at"})
    for story, premise in zip(report.stories, PREMISES):
        folder = Path(story.folder)
        assert folder.parent == tmp_path / "class" and load_story(folder).premise == premise
        assert load_story(folder).is_complete and story.pages_done == 2
        StorySource.open(folder)  # every asset there, with its sha256
        assert story.wall_s > 0 and story.model_s > 0 and story.model_calls > 0 and story.attempts == 1
        assert story.quality["copied_beats"] == 0 and story.quality["distinct_2"] > 0
        assert set(story.quality) >= {"repeated_sentences", "dialogue_share", "meta_text", "gate_retried_pages"}
        assert story.eval["title"] == load_story(folder).title
    # One process, one registry: each model was loaded once for the three stories.
    loads = [e.event.role for e in events if isinstance(e, StoryEvent) and isinstance(e.event, ModelCall)
             and e.event.operation == "load"]
    assert len(loads) == len(set(loads)) and "llm" in loads
    assert report.totals["done"] == 3 and report.totals["stories_per_hour"] > 0
    assert report.totals["load_s"] == pytest.approx(sum(s.load_s for s in report.stories), abs=0.05)
    kinds = [type(e) for e in events if not isinstance(e, StoryEvent)]
    assert kinds[0] is BatchPlanned and kinds.count(StoryStarted) == 3 and kinds.count(StoryFinished) == 3
    # Two workers: two stories were under way at once.
    started = [i for i, e in enumerate(events) if isinstance(e, StoryStarted)]
    finished = [i for i, e in enumerate(events) if isinstance(e, StoryFinished)]
    assert started[1] < finished[0]

    again = teller.batch(PREMISES, out=tmp_path / "class", pages=2)
    assert [s.status for s in again.stories] == ["skipped"] * 3
    assert [s.quality for s in again.stories] == [s.quality for s in report.stories]  # the figures are kept
    assert again.totals["stories_per_hour"] is None


def test_one_failing_story_is_reported_and_the_others_go_on(make_teller, tmp_path):
    teller = fakes_teller(make_teller, fail_on="owl")
    report = teller.batch(PREMISES, out=tmp_path / "out", pages=2)
    assert [s.status for s in report.stories] == ["done", "failed", "done"]
    failed = report.stories[1]
    assert failed.error.type == "BackendCallError" and "told to fail" in failed.error.message
    assert failed.error.traceback is None  # one of ours, said plainly
    assert failed.quality is None and report.totals["failed"] == 1
    # A rerun tries the failed story again (here it fails again), and skips the others.
    assert [s.status for s in teller.batch(PREMISES, out=tmp_path / "out", pages=2).stories] == [
        "skipped", "failed", "skipped"]


def test_a_cancelled_batch_resumes_where_it_stopped(make_teller, tmp_path):
    teller = fakes_teller(make_teller)
    token = CancelToken()
    seen: dict[int, list] = {}

    def on_event(event):
        if isinstance(event, StoryEvent) and isinstance(event.event, TurnCommitted) and event.index == 1:
            # The second story has its first page: the batch is stopped (Ctrl-C does the same).
            seen[1] = load_story(tmp_path / "out" / Path(report_folder(1)).name).history
            token.cancel()

    def report_folder(index):
        return json.loads((tmp_path / "out" / REPORT_FILE).read_bytes())["stories"][index]["folder"]

    half = teller.batch(PREMISES, out=tmp_path / "out", pages=3, on_event=on_event, cancel=token)
    assert [s.status for s in half.stories] == ["done", "cancelled", "not run"]
    assert half.stories[1].pages_done == 1
    resumed = teller.batch(PREMISES, out=tmp_path / "out", pages=3)
    assert [s.status for s in resumed.stories] == ["skipped", "resumed", "done"]
    story = load_story(Path(resumed.stories[1].folder))
    assert story.is_complete and story.history[:len(seen[1])] == seen[1]  # nothing committed was lost


def test_two_batches_on_one_folder_are_refused(make_teller, tmp_path):
    from filelock import FileLock

    from storyteller.batch import LOCK_FILE

    (tmp_path / "out").mkdir()
    with FileLock(str(tmp_path / "out" / LOCK_FILE)):
        with pytest.raises(StoryLocked, match="another storyteller batch is running"):
            fakes_teller(make_teller).batch(PREMISES[:1], out=tmp_path / "out", pages=1)


def test_abatch_runs_in_a_worker_thread(make_teller, tmp_path):
    import asyncio

    teller = fakes_teller(make_teller)
    report = asyncio.run(teller.abatch(PREMISES[:2], out=tmp_path / "out", pages=1))
    assert [s.status for s in report.stories] == ["done", "done"]


# =============================================================================================
# the command, as a user runs it
# =============================================================================================
@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    return fake_plugin_env(tmp_path_factory.mktemp("batch-fakes"), fakes_batch_config(0.15))


def _words(done) -> str:
    return " ".join((done.stdout + done.stderr).split())


def test_the_command_twice_then_killed_and_run_again(cli_env, tmp_path):
    premises = tmp_path / "class.txt"
    premises.write_text("\n".join(PREMISES[:2]) + "\n")
    run = lambda: subprocess.run([*STORYTELLER, "batch", str(premises), "--out", "class", "--pages", "2"],  # noqa: E731
                                 cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=120)
    first = run()
    assert first.returncode == 0, first.stdout + first.stderr
    words = _words(first)
    assert "2 written, 0 skipped, 0 failed" in words and "stories/hour" in words and "Traceback" not in words
    assert f"report: {tmp_path / 'class' / REPORT_FILE}" in words
    second = run()
    assert second.returncode == 0 and "0 written, 2 skipped" in _words(second)

    # Killed while its third story is being written: the rerun skips two and resumes the third.
    premises.write_text("\n".join(PREMISES) + "\n")
    batch = subprocess.Popen([*STORYTELLER, "batch", str(premises), "--out", "class", "--pages", "2"], cwd=tmp_path,
                             env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    third = tmp_path / "class" / read_premises(premises, pages=2)[0][2].folder_name()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and batch.poll() is None:
            try:
                if len(json.loads((third / STORY_FILE).read_bytes())["history"]) >= 2:  # planned, one page in
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        os.kill(batch.pid, signal.SIGKILL)
    finally:
        batch.kill()
        batch.wait(timeout=10)
    assert not load_story(third).is_complete, "the story ended before the batch could be killed"
    again = run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 skipped" in _words(again)
    report = BatchReport.model_validate_json((tmp_path / "class" / REPORT_FILE).read_bytes())
    assert [s.status for s in report.stories] == ["skipped", "skipped", "resumed"]
    for story in report.stories:
        assert load_story(Path(story.folder)).is_complete


def test_the_command_reports_bad_lines_and_exits_1(cli_env, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"premise": "A fox", "pages": 1}\n{"premise": "An owl", "pages": 99}\n')
    done = subprocess.run([*STORYTELLER, "batch", "p.jsonl", "--out", "out"], cwd=tmp_path, env=cli_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    words = _words(done)
    assert "line 2 not run: pages: Input should be less than or equal to 50" in words
    assert "1 written, 0 skipped, 0 failed" in words and "Traceback" not in words


def test_ray_missing_says_how_to_install_it(make_teller, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees
    with pytest.raises(BackendUnavailable, match="Ray is not installed") as caught:
        fakes_teller(make_teller).batch(PREMISES[:1], out=tmp_path / "out", pages=1, ray="auto")
    assert "[ray]" in caught.value.fix


def test_a_cluster_that_is_not_there_fails_at_once_and_writes_nothing(make_teller, tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=f"nothing answers at 127.0.0.1:{port}") as caught:
        fakes_teller(make_teller).batch(PREMISES[:1], out=tmp_path / "out", pages=1, ray=f"127.0.0.1:{port}")
    assert "ray start --head" in caught.value.fix and time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()


# =============================================================================================
# on a Ray cluster on this machine
# =============================================================================================
@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A one-node Ray cluster (`ray start --head` on 127.0.0.1, 2 CPUs) whose workers find the
    fakes plugin; stopped (and its files removed) after the module's tests."""
    pytest.importorskip("ray")
    env = fake_plugin_env(tmp_path_factory.mktemp("ray-fakes"), fakes_batch_config(0.3), register="register_tally")
    env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"  # stop at once when the test is done
    # Ray (2.60) turns token authentication on for a cluster when it finds ~/.ray/auth_token, which
    # any earlier local `ray.init()` on this machine writes (benchmarks/batch.py's does); then this
    # test's driver, holding no token, is refused. The mode is said here, for the cluster and the
    # driver alike, so what the machine ran before does not decide.
    env["RAY_AUTH_MODE"] = "disabled"
    driver_mode = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Ray's socket paths must stay short (a Unix socket path is at most 107 bytes).
    temp = Path(tempfile.mkdtemp(prefix="st-ray-", dir="/tmp"))
    log = open(temp / "start.log", "w")
    cluster = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block", f"--temp-dir={temp}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in (temp / "start.log").read_text():
            if cluster.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ray start failed:\n" + (temp / "start.log").read_text()[-3000:])
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        cluster.terminate()
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)  # only the processes this test started
            cluster.wait(timeout=10)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
        if driver_mode is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = driver_mode


def test_a_ray_batch_gives_what_one_process_gives(make_teller, ray_cluster, tmp_path):
    teller = fakes_teller(make_teller)
    events = []
    on_ray = teller.batch(PREMISES, out=tmp_path / "ray", pages=2, ray=ray_cluster, on_event=events.append)
    assert [s.status for s in on_ray.stories] == ["done"] * 3, [s.error for s in on_ray.stories]
    assert on_ray.scheduler.startswith("ray ") and "1 node" in on_ray.scheduler
    assert all(s.where.startswith("node ") and s.attempts == 1 for s in on_ray.stories)
    # One actor per role on the node, each model loaded once for the three stories (three tasks).
    assert on_ray.actors["llm"] == 1 and on_ray.actors["narrator"] == 1 and on_ray.actors["illustrator"] == 1
    loads = [e.event.role for e in events if isinstance(e, StoryEvent) and isinstance(e.event, ModelCall)]
    assert len(loads) == len(set(loads)) and "llm" in loads
    story = load_story(Path(on_ray.stories[0].folder))
    assert story.pages[0].illustration.provenance.parameters["ray_actor"].startswith("illustrator actor on ")
    assert on_ray.stories[0].quality["distinct_2"] > 0, on_ray.stories[0].eval_error
    assert on_ray.stories[0].model_s > 0

    in_process = fakes_teller(make_teller).batch(PREMISES, out=tmp_path / "local", pages=2)
    for a, b in zip(on_ray.stories, in_process.stories):
        assert Path(a.folder).name == Path(b.folder).name
        assert signature(Path(a.folder)) == signature(Path(b.folder))
        assert a.quality == b.quality


def test_a_worker_killed_mid_story_is_retried_and_loses_nothing(make_teller, ray_cluster, tmp_path):
    teller = fakes_teller(make_teller)
    killed: dict = {}
    pids: dict[int, int] = {}

    def on_event(event):
        if isinstance(event, StoryStarted):
            pids[event.index] = int(event.where.rsplit("pid ", 1)[1])
        elif (isinstance(event, StoryEvent) and event.index == 0 and isinstance(event.event, TurnCommitted)
              and event.event.action == "page" and not killed):
            folder = Path(json.loads((tmp_path / "out" / REPORT_FILE).read_bytes())["stories"][0]["folder"])
            killed["history"] = load_story(folder).history
            os.kill(pids[0], signal.SIGKILL)
            killed["pid"] = pids[0]

    report = teller.batch(PREMISES, out=tmp_path / "out", pages=3, ray=ray_cluster, on_event=on_event)
    assert killed, "the story ended before its worker could be killed"
    first = report.stories[0]
    assert first.status == "resumed" and first.attempts == 2 and f"pid {killed['pid']}" not in first.where
    assert [s.status for s in report.stories[1:]] == ["done", "done"]
    for result in report.stories:
        story = load_story(Path(result.folder))
        StorySource.open(Path(result.folder))
        assert story.is_complete
    history = load_story(Path(first.folder)).history
    assert history[:len(killed["history"])] == killed["history"]  # no committed turn lost
    # ... and its words are those of an uninterrupted run, its pages committed before the kill unchanged.
    alone = fakes_teller(make_teller).batch(PREMISES[:1], out=tmp_path / "alone", pages=3)
    resumed, uninterrupted = signature(Path(first.folder)), signature(Path(alone.stories[0].folder))
    assert [p[0] for p in resumed[2]] == [p[0] for p in uninterrupted[2]]
    committed = {n for turn in killed["history"] for n in turn.pages}
    assert committed and all(resumed[2][n - 1] == uninterrupted[2][n - 1] for n in committed)


def test_a_plugins_own_role_is_hosted_in_an_actor_too(make_teller, ray_cluster):
    """A role a plugin declares (the fakes' `tally`) gets a proxy made from its interface: its
    methods and properties answered by the backend in the actor."""
    import ray

    from fakes import register_tally
    from storyteller.cluster import ActorRegistry, RayScheduler
    from storyteller.config import RoleConfig

    teller = fakes_teller(make_teller)
    teller.settings.tally = RoleConfig(backend="words")
    scheduler = RayScheduler(teller.settings, ray_cluster, 1)
    try:
        registry = ActorRegistry(scheduler.hub, scheduler.settings, ray.get_runtime_context().get_node_id())
        register_tally(registry)
        tally = registry.backend("tally", "words")
        assert type(tally).__name__ == "RemoteTallyBackend" and tally.model_id == "str.split"
        assert tally.count("one two three") == 3 and tally.where != os.getpid()
        assert scheduler.placement() == {"tally": 1}
    finally:
        scheduler.close()


def test_the_command_on_ray(cli_env, ray_cluster, tmp_path):
    (tmp_path / "p.txt").write_text(PREMISES[0] + "\n")
    done = subprocess.run([*STORYTELLER, "batch", "p.txt", "--out", "out", "--pages", "1", "--ray", ray_cluster],
                          cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    words = _words(done)
    assert "1 written, 0 skipped, 0 failed (ray " in words and "Ray actors" in words and "Traceback" not in words


@pytest.mark.slow
def test_two_stories_on_the_embedded_default_on_ray(ray_cluster, tmp_path):
    """Two stories at once on the embedded default, its models in actors: each loaded once, and the
    stories' texts, pictures and narration those of a batch in one process, one story at a time
    (Ray's own thread settings would change the embeddings; the LLM keeps a KV state per story, and
    Piper seeds each line's noise from the line)."""
    from storyteller import Storyteller

    events = []
    lock = threading.Lock()

    def on_event(event):
        with lock:
            events.append(event)

    report = Storyteller().batch(PREMISES[:2], out=tmp_path / "out", pages=1, ray=ray_cluster, workers=2,
                                 on_event=on_event)
    assert [s.status for s in report.stories] == ["done", "done"], [s.error for s in report.stories]
    for result in report.stories:
        story = load_story(Path(result.folder))
        assert story.is_complete and story.pages[0].text
        assert story.pages[0].text_provenance.backend == "llamacpp"
        assert result.quality["distinct_2"] is not None
    loads = [(e.event.role, e.event.backend, e.event.model) for e in events
             if isinstance(e, StoryEvent) and isinstance(e.event, ModelCall) and e.event.operation == "load"]
    # Each model is loaded once for both stories (the narrator's ensemble loads one engine per voice kind).
    assert len(loads) == len(set(loads)) and [role for role, *_ in loads].count("llm") == 1, loads
    assert report.actors["llm"] == 1
    order = [type(e).__name__ for e in events if isinstance(e, (StoryStarted, StoryFinished))]
    assert order[:2] == ["StoryStarted", "StoryStarted"], order  # both under way at once
    # The same stories in this process, one at a time: the same words, pictures and sound.
    alone = Storyteller().batch(PREMISES[:2], out=tmp_path / "alone", pages=1, workers=1)
    for a, b in zip(report.stories, alone.stories, strict=True):
        assert signature(Path(a.folder)) == signature(Path(b.folder)), Path(a.folder).name


@pytest.mark.slow
def test_a_served_llm_is_shared_through_its_server_not_an_actor(make_teller, ray_cluster, llama_server, tmp_path):
    """The LLM served once (llama.cpp's OpenAI-compatible server on loopback, as vLLM would serve it
    to a cluster): every story task is a client of it, and only the other roles get actors."""
    from storyteller.config import RoleConfig

    teller = fakes_teller(make_teller)
    teller.settings.llm = RoleConfig(backend="openai", options={
        "base_url": llama_server, "json_mode": "json_object", "context_length": 2048, "timeout": 120})
    # The model served here is the smallest packaged one. Once, in CI, it gave no valid bible for
    # the fox premise in a Ray task; rerun alone, the fox is planned both in one process and in a
    # Ray task, so that was the small model's luck with the server's state, not Ray. One premise
    # keeps the test short; this test is about where the calls go, not the plans.
    report = type(teller)(teller.settings, registry=teller.toolbox.registry).batch(
        PREMISES[1:2], out=tmp_path / "out", pages=1, ray=ray_cluster)
    assert [s.status for s in report.stories] == ["done"], [s.error for s in report.stories]
    assert "llm" not in report.actors and report.actors["illustrator"] == 1
    for result in report.stories:
        page = load_story(Path(result.folder)).pages[0]
        assert page.text_provenance.backend == "openai" and page.text_provenance.parameters["base_url"] == llama_server
        assert "ray_actor" not in page.text_provenance.parameters  # the task's own client made it
        assert page.illustration.provenance.parameters["ray_actor"].startswith("illustrator actor on ")
