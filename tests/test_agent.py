"""The agent loop on scripted fake models: plan, re-ask, pages, concurrency, commits, resume."""

from __future__ import annotations

import hashlib
import json

import pytest
from fakes import plan_json

from storyteller.errors import BackendCallError, InvalidInput, StoryFolderError, StoryLocked, StructuredOutputError
from storyteller.events import AudioReady, ImageReady, ModelCall, PageWritten, PlanReady, PlanRetry, TurnCommitted
from storyteller.session import StoryFolder, load_story


def test_new_story_writes_a_complete_folder(make_teller, tmp_path):
    events = []
    teller = make_teller(llm={"plans": [plan_json(3)]})
    story = teller.new_story("A fox who finds a lantern", out=tmp_path / "fox", pages=3, style="watercolor",
                             on_event=events.append)

    assert story.title == "The Lantern"
    assert [c.slug for c in story.characters] == ["fern", "owl"]
    loaded = load_story(tmp_path / "fox")
    assert loaded == story
    assert [p.number for p in loaded.pages] == [1, 2, 3]
    for page in loaded.pages:
        for asset in (page.illustration, page.narration):
            data = (tmp_path / "fox" / asset.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset.sha256
        assert page.illustration.path == f"images/page-{page.number:02d}.png"
        assert page.narration.path == f"audio/page-{page.number:02d}.wav"
        assert page.illustration.provenance.backend == "solid"
        assert page.text_provenance.backend == "scripted"
        assert page.text_provenance.seed == page.number  # seed 0 + page number
    assert [t.action for t in loaded.history] == ["plan", "page", "page", "page"]
    assert sorted(t.pages[0] for t in loaded.history[1:]) == [1, 2, 3]
    # Every file in the folder belongs to the story (nothing stray, no temp files left).
    files = sorted(str(p.relative_to(tmp_path / "fox")) for p in (tmp_path / "fox").rglob("*") if p.is_file())
    story_files = [f for f in files if not f.startswith("memory/")]
    assert story_files == sorted({"story.json", ".storyteller.lock", *(a.path for a in loaded.assets())})
    # Each character's sheet has a reference portrait, drawn before page 1 and used by the gate.
    for slug in ("fern", "owl"):
        (portrait,) = loaded.character(slug).reference_assets
        assert portrait.path == f"images/character-{slug}.png" and portrait.kind == "reference_image"
    assert "memory/records.json" in files and any(f.endswith(".faiss") for f in files)
    # Every illustration passed the consistency gate, and its scores are in its provenance.
    for page in loaded.pages:
        verdict = page.illustration.provenance.parameters["consistency"]
        assert verdict["attempts"] and verdict["chosen_attempt"] < 3

    kinds = [type(e) for e in events]
    assert kinds.index(PlanReady) < kinds.index(PageWritten)
    assert sum(k is ImageReady for k in kinds) == sum(k is AudioReady for k in kinds) == 3
    assert sum(k is TurnCommitted for k in kinds) == 3


def test_pages_are_written_with_plan_previous_pages_and_characters(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(3)]})
    teller.new_story("A fox", out=tmp_path / "s", pages=3)
    llm = teller.toolbox.llm
    page_prompts = [c["messages"][-1]["content"] for c in llm.calls if "Now write page" in c["messages"][1]["content"]]
    assert len(page_prompts) == 3
    assert "Fern the fox (protagonist)" in page_prompts[2] and "Owl the owl (friend)" in page_prompts[2]
    assert "looks: fox; orange, white" in page_prompts[2]  # the sheets on stage, from the memory
    assert "Beat 3" in page_prompts[2]
    assert "Scene 1 text." in page_prompts[2] and "Scene 2 text." in page_prompts[2]
    assert "the last page" in page_prompts[2] and "the last page" not in page_prompts[1]


def _bible_calls(llm) -> list[dict]:
    return [c for c in llm.calls if "Decide the story's bible" in c["messages"][1]["content"]]


def test_invalid_plan_is_reasked_with_the_error(make_teller, tmp_path):
    events = []
    teller = make_teller(llm={"plans": ["this is not json", plan_json(2)]})
    story = teller.new_story("A fox", out=tmp_path / "s", pages=2, on_event=events.append)

    plan_calls = _bible_calls(teller.toolbox.llm)
    assert len(plan_calls) == 2
    assert "no JSON object" in plan_calls[1]["messages"][-1]["content"]
    assert plan_calls[1]["messages"][-2] == {"role": "assistant", "content": "this is not json"}
    assert [e.attempt for e in events if isinstance(e, PlanRetry)] == [1]
    assert story.plan_provenance.parameters["failed_attempts"][0]["output"] == "this is not json"


def test_a_beat_that_copies_an_earlier_beat_is_reasked_and_recorded(make_teller, tmp_path):
    plan = json.loads(plan_json(3))
    plan["pages"][1]["beat"] = plan["pages"][0]["beat"]  # the small model's habit: page 2 tells page 1 again
    teller = make_teller(llm={"plans": [json.dumps(plan)]})
    story = teller.new_story("A fox", out=tmp_path / "s", pages=3)

    first, second = story.outline[0].beat, story.outline[1].beat
    record = story.plan_provenance.parameters["beats"][1]
    copy = record["attempts"][0]
    assert record["reasked"] and copy["similar_to"] == 1 and copy["similarity"] >= record["threshold"]
    assert record["attempts"][record["kept"]]["beat"] == second and second != copy["beat"]
    assert record["attempts"][1]["opener"] != copy["opener"]  # asked afresh, to start another way
    # The re-ask is a new question naming what not to tell again, not a reply to the copy.
    reasks = [c for c in teller.toolbox.llm.calls if "must not tell again" in c["messages"][1]["content"]]
    assert len(reasks) == 1 and first in reasks[0]["messages"][1]["content"]
    assert not story.plan_provenance.parameters["beats"][0]["reasked"]


def test_plan_slips_are_reasked_then_repaired(make_teller, tmp_path):
    plan = json.loads(plan_json(2))
    plan["characters"].append(dict(plan["characters"][0]))  # Fern twice: a clone of the hero
    plan["pages"][0]["beat"] = "Beat 1: the owl wakes up in the snow."
    plan["pages"][0]["characters"] = ["Fern"]
    teller = make_teller(llm={"plans": [json.dumps(plan)]})
    story = teller.new_story("A fox", out=tmp_path / "s", pages=2)
    assert [c.name for c in story.characters] == ["Fern", "Owl"]
    assert [c.role for c in story.characters] == ["protagonist", "friend"]
    # Re-asked with the problem up to the bound, then repaired, and both recorded.
    calls = _bible_calls(teller.toolbox.llm)
    assert len(calls) == 3 and "Fern is used twice" in calls[1]["messages"][-1]["content"]
    assert story.plan_provenance.parameters["bible_repairs"] == ["dropped Fern: the name is taken"]
    assert story.plan_provenance.parameters["failed_attempts"][-1]["kept"] is True
    assert story.outline[0].characters == ["fern", "owl"]  # the beat names the owl by its kind


def test_error_after_the_reask_bound_carries_every_attempt(make_teller, tmp_path):
    teller = make_teller(llm={"plans": ['{"title": "x"}']}, plan_attempts=2)
    with pytest.raises(StructuredOutputError) as info:
        teller.new_story("A fox", out=tmp_path / "s", pages=2)
    assert len(info.value.attempts) == 2
    assert all("protagonist" in a["error"] for a in info.value.attempts)
    assert "2 attempts" in info.value.message and info.value.fix
    assert not (tmp_path / "s" / "story.json").exists()


def test_backend_without_schema_support_gets_the_schema_in_the_prompt(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(1)], "constrained": False})
    teller.new_story("A fox", out=tmp_path / "s", pages=1)
    plan_call = teller.toolbox.llm.calls[0]
    assert plan_call["json_schema"] is None
    assert "JSON schema of the answer" in plan_call["messages"][-1]["content"]


def test_media_of_one_page_overlap_writing_the_next(make_teller, tmp_path):
    events = []
    teller = make_teller(llm={"plans": [plan_json(3)], "page_delay": 0.4}, illustrator={"delay": 0.4},
                         narrator={"delay": 0.4}, gate_attempts=1)
    teller.new_story("A fox", out=tmp_path / "s", pages=3, on_event=events.append)
    calls = [e for e in events if isinstance(e, ModelCall) and e.operation != "load"]
    # The first two illustrator calls are the characters' portraits, drawn before page 1. The LLM's
    # page calls are the slow ones (page_delay): the plan and each page's shot answer at once.
    by_role = {"llm": [None, *[c for c in calls if c.role == "llm" and c.duration_s >= 0.3]],
               "illustrator": [None, *[c for c in calls if c.role == "illustrator"][2:]],
               "narrator": [None, *[c for c in calls if c.role == "narrator"]]}
    spans = {(role, n): (e.started_at, e.started_at + e.duration_s)
             for role, role_calls in by_role.items() for n, e in enumerate(role_calls) if e is not None}

    def overlap(a, b):
        return min(a[1], b[1]) - max(a[0], b[0]) > 0.2

    # llm page call 2 writes page 2, while page 1 is illustrated and narrated.
    assert overlap(spans[("llm", 2)], spans[("illustrator", 1)])
    assert overlap(spans[("llm", 2)], spans[("narrator", 1)])
    assert overlap(spans[("illustrator", 1)], spans[("narrator", 1)])


def test_a_failing_backend_keeps_completed_pages_and_resume_finishes(make_teller, tmp_path):
    out = tmp_path / "s"
    broken = make_teller(llm={"plans": [plan_json(3)]}, narrator={"fail_on": "Scene 2"})
    with pytest.raises(BackendCallError):
        broken.new_story("A fox", out=out, pages=3)
    partial = load_story(out)
    assert partial.pages[0].narration is not None
    assert [t.action for t in partial.history][:2] == ["plan", "page"]
    assert partial.pages[1].narration is None

    fixed = make_teller(llm={"plans": [plan_json(3)], "page_delay": 0.0001})
    story = fixed.resume(out)
    assert story.is_complete
    assert story.pages[0] == partial.pages[0]  # completed work is kept, not redone
    rewritten = [c for c in fixed.toolbox.llm.calls if "Now write page" in c["messages"][1]["content"]]
    assert len(rewritten) == 3 - len(partial.pages)


def test_refuses_to_overwrite_and_locks_the_folder(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(1)]})
    teller.new_story("A fox", out=tmp_path / "s", pages=1)
    with pytest.raises(StoryFolderError, match="already holds a story"):
        teller.new_story("A fox", out=tmp_path / "s", pages=1)
    with StoryFolder.open(tmp_path / "s"):
        with pytest.raises(StoryLocked):
            StoryFolder.open(tmp_path / "s")


@pytest.mark.parametrize("premise", ["", "   \n\t ", "\x00\x01"])
def test_empty_premise_is_refused(make_teller, tmp_path, premise):
    with pytest.raises(InvalidInput, match="premise is empty"):
        make_teller().new_story(premise, out=tmp_path / "s")


def test_huge_premise_is_refused_with_the_limit(make_teller, tmp_path):
    with pytest.raises(InvalidInput, match="at most 2000"):
        make_teller().new_story("fox " * 300_000, out=tmp_path / "s")


def test_two_stories_at_once_share_models_not_state(make_teller, tmp_path):
    import threading

    teller = make_teller(llm={"plans": [plan_json(2)], "page_delay": 0.05})
    seen: dict[str, list] = {"a": [], "b": []}
    threads = [threading.Thread(target=teller.new_story, args=("A fox",),
                                kwargs={"out": tmp_path / k, "pages": 2, "on_event": seen[k].append}) for k in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in seen:
        assert load_story(tmp_path / key).is_complete
        assert sum(isinstance(e, TurnCommitted) for e in seen[key]) == 2  # each listener hears only its story
    assert len([c for c in teller.toolbox.llm.calls if "Now write page" in c["messages"][1]["content"]]) == 4  # one shared model
