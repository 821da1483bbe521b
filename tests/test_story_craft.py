"""Story craft on scripted fakes and hand-made texts: the arc, the bible's cast checks, beats that
repeat, the page critic, the text measures `eval` reports, and joining a split model."""

from __future__ import annotations

import hashlib
import re
import json
import sys

import pytest
from fakes import PlanningLLM, plan_json, stage_answer

from storyteller.agent.arc import arc_for, guidance
from storyteller.agent.critic import critique, strangers
from storyteller.agent.plan import StoryBible, bible_problems, kind_options, repair_bible, several_allowed
from storyteller.backends.base import Completion
from storyteller.memory import prose
from storyteller.memory.eval import copied_beats, evaluate_text
from storyteller.story import ARC_STAGES, Bible, Character, Page, PageBeat, Story, StyleGuide

PREMISE_KINDS = {
    "A fox who finds a lantern in the snow": ["fox"],
    "A lighthouse keeper who befriends a seal": ["lighthouse", "keeper"],
    "Two sisters build a robot out of kitchen parts": ["sister"],
    "A lost kite travels around the world": ["kite"],
    "A grandmother teaches her grandson to bake bread on a rainy day": ["grandmother"],
    "A mouse astronaut plans a trip to the moon": ["mouse", "astronaut"],
    "A city bus that dreams of seeing the sea": ["city", "bus"],
    "A boy and his dog search for the last autumn leaf": ["boy", "dog"],
    "Three friends get lost in a museum after closing time": ["friend"],
    "A young witch's broom refuses to fly": ["witch", "broom"],
    "A family of hedgehogs moves to a new garden": ["hedgehog"],
    "A retired pirate captain opens a bakery and his old crew shows up one by one": ["pirate", "captain"],
}


@pytest.mark.parametrize("premise, kinds", PREMISE_KINDS.items())
def test_the_premise_names_its_protagonist(premise, kinds):
    assert prose.premise_kinds(premise) == kinds


def test_kind_options_add_the_compound_and_plurals_allow_a_second_of_a_kind():
    assert kind_options("A lighthouse keeper who befriends a seal") == ["lighthouse", "keeper", "lighthouse keeper"]
    assert several_allowed("Two sisters build a robot", "sister")
    assert several_allowed("A family of hedgehogs moves", "hedgehog")
    assert not several_allowed("A fox who finds a lantern in the snow", "fox")


@pytest.mark.parametrize("pages", [1, 2, 3, 4, 5, 6, 7, 12, 30])
def test_every_page_count_gets_a_sensible_arc(pages):
    arc = arc_for(pages)
    assert len(arc) == pages and set(arc) <= set(ARC_STAGES)
    order = [ARC_STAGES.index(s) for s in arc]
    assert order == sorted(order)  # stages in story order, never back
    assert arc[-1] in ("resolution", "closing")
    if pages >= 2:
        assert arc[0] == "opening"
    if pages >= 4:
        assert "trouble" in arc and "turn" in arc
    if pages >= 7:
        assert set(arc) == set(ARC_STAGES)
    if pages == 30:
        assert arc.count("try") >= 12  # a long book's middle is its attempts


def test_tries_escalate_and_the_last_page_ends():
    bible = Bible(protagonist="fern", kind="fox", want="to find the lantern", obstacle="deep snow", setting="a wood")
    assert "try 1 of 3" in guidance("try", bible, "Fern", index=1, of=3)
    assert "harder" in guidance("try", bible, "Fern", index=2, of=3)
    assert "almost works" in guidance("try", bible, "Fern", index=3, of=3)
    assert "ends warmly" in guidance("turn", bible, "Fern", last=True)


def _bible(cast_kinds, names=None, roles=None):
    plan = json.loads(stage_answer(plan_json(2), "Decide the story's bible"))
    hero = plan["protagonist"]
    names = names or [f"N{i}" for i in range(len(cast_kinds))]
    roles = roles or ["friend", "helper", "obstacle"][: len(cast_kinds)]
    plan["cast"] = [{**hero, "name": n, "kind": k, "role": r} for n, k, r in zip(names, cast_kinds, roles)]
    return StoryBible.model_validate(plan)


def test_clones_of_the_hero_are_refused_unless_the_premise_names_several():
    fox_premise = "A fox who finds a lantern in the snow"
    clones = _bible(["fox", "fox"], names=["John", "Sarah"], roles=["friend", "helper"])
    problems = bible_problems(clones, fox_premise)
    assert sum("like Fern" in p for p in problems) == 2
    repaired, done = repair_bible(clones, fox_premise)
    assert repaired.cast == [] and len(done) == 2
    assert not bible_problems(_bible(["sister"]), "Two sisters build a robot")
    sisters = _bible(["father", "mother"], names=["Dad", "Mom"])
    sisters = sisters.model_copy(update={"protagonist": sisters.protagonist.model_copy(update={"kind": "sister"})})
    assert any("names 2 of the sister's kind, the cast has 1" in p for p in bible_problems(sisters, "Two sisters build a robot"))
    assert not any("names 2" in p for p in bible_problems(sisters, "A sister builds a robot"))
    # the other sister under the hero's own name gets a name of her own; a clone under it still goes
    twin = _bible(["sister"], names=[sisters.protagonist.name])
    twin = twin.model_copy(update={"protagonist": sisters.protagonist})
    repaired, done = repair_bible(twin, "Two sisters build a robot")
    assert [m.kind for m in repaired.cast] == ["sister"] and repaired.cast[0].name != sisters.protagonist.name
    assert "the name was taken" in done[0]
    assert repair_bible(twin, "A sister builds a robot")[0].cast == []
    odd = _bible(["owl", "owl"], names=["Hoot", "Fern"], roles=["friend", "friend"])
    found = bible_problems(odd, fox_premise)
    assert any("used twice" in p for p in found) and any("both a owl" in p for p in found)
    assert any("both have the role friend" in p for p in found)


def test_a_member_named_for_a_creature_is_drawn_as_one():
    """Snowman the human is a snowman; a person named for a trade stays a person."""
    cast = _bible(["human", "person", "human"], names=["Snowman", "Mr Owl", "Baker"])
    repaired, done = repair_bible(cast, "A fox who finds a lantern in the snow")
    assert [m.kind for m in repaired.cast] == ["snowman", "owl", "human"]
    assert done == ["Snowman's kind human -> snowman: the name says so", "Mr Owl's kind person -> owl: the name says so"]


class AnsweringLLM(PlanningLLM):
    """The planning fake, answering some prompts its own way (`reply`), recorded like the others."""

    def reply(self, messages, json_schema, text: str) -> Completion:
        with self._lock:
            self.calls.append({"messages": messages, "json_schema": json_schema})
        result, provenance = self.timed("complete", lambda: text)
        return Completion(text=result, output_tokens=1, provenance=provenance)


def teller_on(registry, make_teller, llm: type, **settings):
    """A storyteller whose LLM is the fake class `llm` of this module (registered under its name)."""
    from storyteller import Storyteller
    from storyteller.config import RoleConfig

    registry.add_backend("llm", llm.name, f"test_story_craft:{llm.__name__}")
    base = make_teller()
    return Storyteller(base.settings.model_copy(update={"llm": RoleConfig(backend=llm.name), **settings}), registry=registry)


class ClonePlanner(AnsweringLLM):
    """A small model's habit: the hero and two more of its kind, every time it is asked."""

    name = "cloner"

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        if "Decide the story's bible" in messages[1]["content"]:
            answer = json.loads(stage_answer(plan_json(0), messages[1]["content"], json_schema=json_schema))
            answer["cast"] = [{**answer["protagonist"], "name": n, "role": r} for n, r in (("John", "friend"), ("Tom", "helper"))]
            text = json.dumps(answer)
            return self.reply(messages, json_schema, text)
        return super().complete(messages, json_schema=json_schema, on_text=on_text, **kwargs)


def test_a_planner_that_clones_its_hero_is_reasked_then_repaired(registry, make_teller, tmp_path):
    teller = teller_on(registry, make_teller, ClonePlanner)
    story = teller.new_story("A fox who finds a lantern in the snow", out=tmp_path / "s", pages=2)
    bible_calls = [c for c in teller.toolbox.llm.calls if "Decide the story's bible" in c["messages"][1]["content"]]
    assert len(bible_calls) == 3  # re-asked with the problem, up to the bound
    assert "like Fern" in bible_calls[1]["messages"][-1]["content"]
    assert [c.appearance.species for c in story.characters] == ["fox"]  # one fox: the clones are gone
    assert len(story.plan_provenance.parameters["bible_repairs"]) == 2
    assert story.bible.protagonist == "fern" and story.characters[0].role == "protagonist"


def test_the_critic_prefers_a_new_page_with_dialogue_to_a_copy_with_meta_text():
    earlier = ["Fern finds a lantern in the snow. It glows softly."]
    kwargs = dict(beat="Fern and Owl follow the tracks to the pond", earlier=earlier, names_on_stage=["Fern", "Owl"],
                  known_names=["Fern", "Owl"], sources=["Fern: fox; orange, white; face bright eyes; wearing a red scarf"],
                  want_dialogue=True)
    bad = critique("In conclusion, Fern finds a lantern in the snow. It glows softly. Page 3.", **kwargs)
    good = critique('Fern and Owl follow the little tracks to the frozen pond. "Look, a hare!" hoots Owl. '
                    "Fern's lantern swings in the wind.", **kwargs)
    assert good.score > bad.score
    assert any(f.startswith("meta:") for f in bad.faults) and bad.parts["novelty"] < 0.5
    assert good.parts["dialogue"] == 1.0 and not good.faults
    copied = critique("Fern wears a red scarf. Fern: fox; orange, white; face bright eyes; wearing a red scarf.", **kwargs)
    assert any(f.startswith("copied from the prompt") for f in copied.faults)
    assert strangers("Fern sees Tom by the pond. \"Hello,\" says Fern. Owl waves.", ["Fern", "Owl"]) == ["tom"]


class DraftLLM(PlanningLLM):
    """Pages from `drafts`, in order: a weak draft first, a better one second."""

    name = "drafts"
    drafts = [{"narration": "In conclusion, Fern finds a lantern. Page 2 of 2.", "speaker": "Fern", "says": "The end",
               "after": "In conclusion, the end."},
              {"narration": "Fern and Owl follow the tracks to the frozen pond.", "speaker": "Fern",
               "says": "Look, a lost hare!", "after": "The hare smiles and waves its paw."}]

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        if "Now write page" not in messages[-1]["content"]:
            return super().complete(messages, json_schema=json_schema, on_text=on_text, **kwargs)
        with self._lock:
            text = json.dumps(self.drafts[self._pages % len(self.drafts)])
            self._pages += 1
        result, provenance = self.timed("complete", lambda: text, seed=kwargs.get("seed"))
        return Completion(text=result, output_tokens=len(text.split()), provenance=provenance)


def test_page_candidates_are_scored_and_the_best_is_kept_with_every_score(registry, make_teller, tmp_path):
    story = teller_on(registry, make_teller, DraftLLM, page_candidates=2).new_story("A fox", out=tmp_path / "s", pages=1)
    page = story.pages[0]
    assert page.text == 'Fern and Owl follow the tracks to the frozen pond. "Look, a lost hare!" says Fern. ' \
                        "The hare smiles and waves its paw."  # the slots composed into prose
    record = page.text_provenance.parameters
    assert len(record["candidates"]) == 2 and record["chosen"] == 1
    first, second = record["candidates"]
    assert first["score"] < second["score"]
    assert first["repairs"]  # the tidying of the weak draft is recorded ("removed the opener", ...)
    assert set(second["parts"]) == {"novelty", "beat", "names", "length", "dialogue"}


def _story(pages: list[str], beats: list[str], premise="A fox who finds a lantern in the snow", species="fox") -> Story:
    hero = Character(name="Fern", slug="fern", role="protagonist")
    hero.appearance.species = species
    return Story(title="T", premise=premise, style=StyleGuide(name="watercolor"), characters=[hero],
                 bible=Bible(protagonist="fern", kind=species),
                 outline=[PageBeat(beat=b, scene="snow") for b in beats],
                 pages=[Page(number=i + 1, text=t, scene="snow") for i, t in enumerate(pages)])


def test_text_measures_on_a_story_with_known_answers():
    pages = ['Fern finds a lantern in the snow. "It glows!" she says.',
             "The wind blows. Fern finds a lantern in the snow.",
             "In conclusion, Fern goes home. Page 3 was fun."]
    beats = ["The fox jumps from the snow to the lantern", "Fern meets an owl",
             "The fox jumps from the snow to the lantern"]
    report = evaluate_text(_story(pages, beats))
    assert report.copied_beats == [[3, 1]] and report.beat_max_similarity == 1.0
    assert report.repeated_sentences == [{"sentence": "Fern finds a lantern in the snow.", "pages": [1, 2]}]
    assert report.protagonist_matches_premise is True and report.premise_kinds == ["fox"]
    assert report.dialogue_share == round(1 / 3, 4)
    assert len(report.meta_text) == 2 and report.meta_text[0].startswith("page 3: summing up")
    assert 0 < report.distinct_2 < 1 and report.premise_coverage == 0.75  # "fox" is never said: Fern is
    assert report.reading_grade is not None and report.words_per_page > 5
    boy = evaluate_text(_story(pages, beats, species="boy"))
    assert boy.protagonist_matches_premise is False


def test_distinct_2_and_reading_grade_on_known_texts():
    assert prose.distinct_n("the fox ran and the fox ran", 2) == pytest.approx(4 / 6)
    assert prose.distinct_n("one", 2) is None
    assert prose.reading_grade("The cat sat. The dog ran.") < prose.reading_grade(
        "Extraordinarily complicated institutional considerations necessitated deliberation.")


def test_copied_beats_by_embedder_and_by_words():
    from fakes import HashEmbedder

    beats = ["The fox jumps from the snow to the lantern", "An owl hoots in the pine",
             "The fox jumps from the snow to the lantern!"]
    assert copied_beats(beats)[0] == [[3, 1]]
    by_embedder = copied_beats(beats, HashEmbedder())
    assert by_embedder[0] == [[3, 1]] and by_embedder[2].startswith("text embedder")


# -- the split model, joined once -------------------------------------------------------------
@pytest.fixture
def split_model(tmp_path, monkeypatch):
    """Three 'packages' holding the parts of a small fake GGUF file, on sys.path, and the model's
    entry pointing at them; the cache in tmp."""
    from storyteller.backends import llamacpp

    data = b"GGUF" + bytes(range(256)) * 40
    chunks = [data[:4000], data[4000:8000], data[8000:]]
    site = tmp_path / "site"
    for i, chunk in enumerate(chunks, start=1):
        (site / f"fake_part{i}" / "data").mkdir(parents=True)
        (site / f"fake_part{i}" / "__init__.py").write_text("")
        (site / f"fake_part{i}" / "data" / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("STORYTELLER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(llamacpp.EMBEDDED_MODELS, "fake", {
        "parts": ["fake_part1", "fake_part2", "fake_part3"], "file": "fake.gguf", "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "pip": "fake-part1 fake-part2 fake-part3"})
    for name in ("fake_part1", "fake_part2", "fake_part3"):
        sys.modules.pop(name, None)
    return site, data


def test_a_split_model_is_joined_once_checked_and_rebuilt_when_damaged(split_model, tmp_path):
    from storyteller.backends.llamacpp import resolve_embedded
    from storyteller.events import Preparing, listening

    site, data = split_model
    events = []
    with listening(events.append):
        path = resolve_embedded("fake")
    assert path.read_bytes() == data and path.parent == tmp_path / "cache" / "models"
    assert any(isinstance(e, Preparing) and e.done == e.total == len(data) for e in events)  # progress shown
    events.clear()
    with listening(events.append):
        assert resolve_embedded("fake") == path
    assert not events  # the second run neither joins nor hashes: size and stamp match

    path.write_bytes(data[:5000])  # a partial file (a crash, a full disk)
    assert resolve_embedded("fake").read_bytes() == data
    damaged = bytearray(data)
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, other bytes: the stamp's mtime no longer matches
    assert resolve_embedded("fake").read_bytes() == data
    assert not list(path.parent.glob(".*.tmp"))  # no temp file left


def test_a_missing_or_wrong_part_is_a_clear_error(split_model):
    from storyteller.backends import llamacpp
    from storyteller.errors import BackendUnavailable

    site, data = split_model
    part = site / "fake_part2" / "data" / "part02.bin"
    chunk = part.read_bytes()
    part.write_bytes(bytes(len(chunk)))  # right size, wrong bytes
    with pytest.raises(BackendUnavailable, match="sha256") as wrong:
        llamacpp.resolve_embedded("fake")
    assert "reinstall" in wrong.value.fix
    from storyteller.paths import cache_dir

    assert not (cache_dir() / "models" / "fake.gguf").exists()  # nothing half-made left in place
    part.write_bytes(chunk[:-10])
    with pytest.raises(BackendUnavailable, match="not 1") as short:
        llamacpp.resolve_embedded("fake")
    assert "force-reinstall" in short.value.fix
    part.unlink()
    with pytest.raises(BackendUnavailable, match="fake_part2 is not installed"):
        llamacpp.resolve_embedded("fake")


class JudgeLLM(AnsweringLLM):
    """A judge that scores every book 4, 3, 2, 5 (interest, coherence, education, warmth)."""

    name = "judge"

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        if "Score the book" not in messages[1]["content"]:
            return super().complete(messages, json_schema=json_schema, on_text=on_text, **kwargs)
        return self.reply(messages, json_schema, json.dumps({"reasons": "Warm, but the middle drags.", "interest": 4,
                                                            "coherence": 3, "education": 2, "warmth": 5}))


def test_eval_judge_scores_with_the_judge_role_or_says_it_is_the_storys_own_llm(registry, make_teller, tmp_path):
    from storyteller import Storyteller
    from storyteller.config import RoleConfig

    own = teller_on(registry, make_teller, JudgeLLM)
    own.new_story("A fox", out=tmp_path / "s", pages=2)
    report = own.evaluate(tmp_path / "s", judge=True)
    assert (report.judge.interest, report.judge.coherence, report.judge.education, report.judge.warmth) == (4, 3, 2, 5)
    assert "the story's own LLM, not an independent judge" in report.judge.judge
    judge_prompt = own.toolbox.llm.calls[-1]["messages"][1]["content"]
    assert "Page 1:" in judge_prompt and "Page 2:" in judge_prompt  # the whole book is judged
    assert report.text is not None and report.text.beats == 2
    assert own.evaluate(tmp_path / "s").judge is None  # only when asked

    apart = Storyteller(own.settings.model_copy(update={"judge": RoleConfig(backend="judge")}), registry=registry)
    assert apart.evaluate(tmp_path / "s", judge=True).judge.judge.endswith("(judge role)")


# -- Chinese ------------------------------------------------------------------------------------
ZH_PREMISE_KINDS = {
    "一只穿着宇航服的猫想去月球": ["猫"],
    "小狐狸在雪地里找到一盏灯笼": ["狐狸"],
    "两姐妹用厨房里的零件造了一个机器人": ["姐妹"],
    "一个小男孩和他的狗寻找最后一片秋叶": ["小男孩", "狗"],
    "一只害羞的章鱼加入了珊瑚礁合唱团": ["章鱼"],
    "老钟表匠修好了小镇坏掉的时间": ["钟表匠"],
}


@pytest.mark.parametrize("premise, kinds", ZH_PREMISE_KINDS.items())
def test_a_chinese_premise_names_its_protagonist(premise, kinds):
    assert prose.premise_kinds(premise) == kinds


def test_text_measures_read_chinese():
    text = "小狐狸在雪地里找到一盏灯笼。“看！”小狐狸说。它很高兴！总之，这是一个好故事。第3页"
    assert prose.sentences(text) == ["小狐狸在雪地里找到一盏灯笼。", "“看！”小狐狸说。", "它很高兴！",
                                     "总之，这是一个好故事。", "第3页"]
    assert "狐狸" in prose.words(text) and "灯笼" in prose.content_words(text) and "的" not in prose.content_words(text)
    assert [m.split(":")[0] for m in prose.meta_text(text)] == ["总结", "页码"]
    assert prose.dialogue_lines("“你好呀，小熊！”狐狸说。「走吧。」") == ["你好呀，小熊！", "走吧。"]
    assert prose.reading_grade(text) is None  # Flesch-Kincaid is English-only
    assert prose.repeated_sentences(["小狐狸笑了。天黑了。", "天黑了。"]) == [("天黑了。", [1, 2])]
    assert prose.protagonist_matches("灯塔看守人和一只海豹交上了朋友", ["灯塔看守人"])
    assert prose.sentences('Fern runs. "Look!" said Owl. 小狐狸说：“你好。”然后走了。') == [
        "Fern runs.", '"Look!" said Owl.', "小狐狸说：“你好。”然后走了。"]


class ChineseLLM(AnsweringLLM):
    """Answers the planner like PlanningLLM, with Chinese names, and writes Chinese pages."""

    name = "chinese"

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        prompt = messages[1]["content"]
        if "请定下故事的设定" in prompt:
            hero = {"name": "小红", "kind": "狐狸", "look": "橘红色的毛", "clothing": "红围巾", "colors": ["橘红"],
                    "personality": "好奇"}
            text = json.dumps({"title": "雪夜的灯笼", "protagonist": hero, "want": "找到丢失的灯笼。",
                               "obstacle": "雪太深了。", "setting": "冬天的森林",
                               "cast": [{**hero, "name": "咕咕", "kind": "猫头鹰", "role": "friend", "colors": ["棕"]}],
                               "style_description": "柔和的水彩"}, ensure_ascii=False)
        elif "现在安排第" in prompt:
            number = int(re.search(r"现在安排第 (\d+)", prompt).group(1))
            opener = re.search(r'以"([^"]+)"开头', prompt)
            text = json.dumps({"beat": f"{opener.group(1) if opener else ''}第{number}件新鲜事发生在雪地里",
                               "scene": "雪地", "characters": ["小红"]}, ensure_ascii=False)
        elif "现在写第" in prompt:
            number = int(re.search(r"现在写第 (\d+)", prompt).group(1))
            text = json.dumps({"narration": f"小红在雪地里走了很久，看见了第{number}串脚印。", "speaker": "小红",
                               "says": f"我们快到了{number}次", "after": "风轻轻地吹着松树。"}, ensure_ascii=False)
        else:
            return super().complete(messages, json_schema=json_schema, on_text=on_text, **kwargs)
        return self.reply(messages, json_schema, text)


def test_a_chinese_premise_is_planned_and_written_in_chinese(registry, make_teller, tmp_path):
    import re as _re

    teller = teller_on(registry, make_teller, ChineseLLM)
    story = teller.new_story("小狐狸在雪地里找到一盏灯笼", out=tmp_path / "s", pages=2)
    assert story.language == "zh"  # detected from the premise
    prompts_seen = [c["messages"][1]["content"] for c in teller.toolbox.llm.calls]
    assert any("请定下故事的设定" in p and "狐狸" in p for p in prompts_seen)  # the Chinese bible prompt, its kind
    assert any('以"有一天，小红"开头' in p for p in prompts_seen)  # the Chinese opener of the opening
    assert [c.slug for c in story.characters] == ["xiao-hong", "gu-gu"]  # pinyin file names
    page = story.pages[0].text
    assert page.startswith("小红在雪地里走了很久") and "小红说：“我们快到了1次。”" in page
    assert _re.fullmatch(r"[^a-zA-Z]+", page)  # no English glue between the slots
    report = teller.evaluate(tmp_path / "s")
    assert report.text.protagonist_matches_premise and report.text.dialogue_share == 1.0
    assert report.text.reading_grade is None and report.text.meta_text == []
    assert teller.new_story("A fox", out=tmp_path / "e", pages=1, language="en").language == "en"
    with pytest.raises(Exception, match="does not tell stories in 'fr'"):
        teller.new_story("Un renard", out=tmp_path / "f", pages=1, language="fr")


def test_who_says_a_chinese_line_is_the_name_before_its_speech_verb():
    from storyteller.agent.voices import split_spoken
    from storyteller.story import Character

    cast = [Character(name="小红", slug="xiao-hong"), Character(name="咕咕", slug="gu-gu")]
    parts = split_spoken("咕咕飞过来。小红笑着说：“我们快到了。”风轻轻地吹着。咕咕问：“真的吗？”", cast, ["xiao-hong", "gu-gu"])
    spoken = [(p.text, p.speaker, p.tone) for p in parts if p.speaker]
    assert spoken == [("我们快到了。", "xiao-hong", "happy"), ("真的吗？", "gu-gu", "curious")]
