"""Scripted fake models for testing the agent loop deterministically and fast.

They are real backends in every other respect (registered through the registry, called through
`timed()`), so the tests exercise the same paths as the real models.
"""

from __future__ import annotations

import abc
import json
import os
import re
import threading
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from storyteller.errors import BackendCallError
from storyteller.backends.base import (AudioResult, Backend, Completion, IllustratorBackend, ImageResult, LLMBackend, ToolCall,
                                       NarratorBackend, TextEmbedderBackend, VoiceSpec)


# Distinct events, so the fixture's beats are no copies of each other for the planner's novelty check.
EVENTS = ["Fern finds a glowing lantern under a pine", "the owl hoots a warning from a branch",
          "a cold wind blows the light out", "they follow paw prints to a frozen pond",
          "Fern lights the lantern with a spark", "the moon comes out over the hills",
          "a lost hare asks the way home", "everyone shares warm soup by the fire"]


def plan_json(pages: int = 3, *, title: str = "The Lantern", names=("Fern", "Owl")) -> str:
    """A whole plan, as a test writes it: the scripted LLMs answer the planner's stages from it
    (the bible from title and characters, page k's beat from pages[k-1])."""
    return json.dumps({
        "title": title,
        "style_description": "soft washes of colour",
        "characters": [
            {"name": name, "species": "fox" if i == 0 else "owl", "look": "bright eyes", "clothing": "a red scarf",
             "colors": ["orange", "white"], "personality": "curious"}
            for i, name in enumerate(names)
        ],
        "pages": [
            {"beat": f"Beat {n}: {EVENTS[(n - 1) % len(EVENTS)]}.", "scene": "snowy forest at night",
             "characters": list(names[: 1 + n % 2])}
            for n in range(1, pages + 1)
        ],
    })


def stage_answer(fixture: str, prompt: str, reasked: bool = False, json_schema: dict | None = None) -> str:
    """The planner stage's answer from a plan fixture: the bible, or the beat of the page the
    prompt asks for (a beat re-asked as a copy gets a new event). A fixture that is not a plan (a
    test of a broken model) is the answer as is. Like grammar-constrained decoding, the bible's
    protagonist takes the kind the schema allows (the premise's own word)."""
    try:
        plan = json.loads(fixture)
        characters = plan["characters"]
    except (ValueError, KeyError, TypeError):
        return fixture

    def sheet(c, **extra):
        return {"name": c["name"], "kind": c["species"], "look": c["look"], "clothing": c["clothing"],
                "colors": c["colors"], "personality": c["personality"], **extra}

    if is_bible_prompt(prompt):
        roles = ["friend", "helper", "mentor", "family", "rival", "obstacle"]
        hero = sheet(characters[0])
        kinds = _enum(json_schema, "Hero", "kind")
        if kinds and hero["kind"] not in kinds:
            hero["kind"] = kinds[0]
        return json.dumps({
            "title": plan["title"], "protagonist": hero, "want": "to bring light to the forest",
            "obstacle": "the night is long and cold", "setting": "a snowy forest in winter",
            "cast": [sheet(c, role=c.get("role", roles[i % len(roles)])) for i, c in enumerate(characters[1:])],
            "style_description": plan["style_description"]})
    number = int(re.search(r"(?:Now plan page|现在安排第) (\d+)", prompt).group(1))
    pages = plan["pages"]
    if number <= len(pages) and not reasked:
        beat = dict(pages[number - 1])
    else:
        beat = {"beat": f"Beat {number}: {EVENTS[(number - 1) % len(EVENTS)]}, as the reader asked.",
                "scene": "snowy forest at night", "characters": [characters[0]["name"]]}
    # Like a grammar, the stage's opening words (a pattern in the schema) come first.
    pattern = ((json_schema or {}).get("properties", {}).get("beat") or {}).get("pattern", "")
    if pattern.startswith("^"):
        opener = re.sub(r"\\(.)", r"\1", pattern[1:pattern.index(" [^")])
        beat["beat"] = f"{opener} {beat['beat'].replace(chr(34), '')}"
    return json.dumps(beat)


def _enum(json_schema: dict | None, definition: str, field: str) -> list[str]:
    try:
        spec = json_schema["$defs"][definition]["properties"][field]
    except (KeyError, TypeError):
        return []
    return spec.get("enum") or ([spec["const"]] if "const" in spec else [])


def is_plan_request(messages) -> bool:
    return is_bible_prompt(messages[1]["content"]) or any(m in messages[1]["content"] for m in ("Now plan page", "现在安排第"))


def is_bible_prompt(prompt: str) -> bool:
    return "Decide the story's bible" in prompt or "请定下故事的设定" in prompt


def shot_json(json_schema: dict) -> str:
    """A page's shot (storyteller.agent.shots): the same staging for every page, each character on
    stage walking and happy."""
    cast_ref = json_schema["properties"]["cast"]["$ref"].rsplit("/", 1)[1]
    slugs = list(json_schema["$defs"][cast_ref]["properties"])
    return json.dumps({"setting": "snow", "time_of_day": "night", "weather": "snow", "camera": "medium",
                       "cast": {slug: {"action": "walk", "expression": "happy"} for slug in slugs}})


def is_shot_request(json_schema: dict | None) -> bool:
    return bool(json_schema) and json_schema.get("title") == "ShotAnswer"


def newcomer_json(messages) -> str:
    """A newcomer's sheet (storyteller.agent.cast): the kind the prompt names, a name of its own."""
    kind = re.search(r'"kind": "([^"]+)"', messages[-1]["content"]).group(1)
    return json.dumps({"name": f"Newt the {kind}"[:24], "kind": kind, "look": "bright eyes", "clothing": "none",
                       "colors": ["grey"], "personality": "curious", "role": "friend"})


def rule_tool_call(messages, tools) -> ToolCall:
    """The scripted agent's choice, by rule from the reader's words: a question is asked of the page
    it names (else the last), "redraw" redraws, "remember" keeps a fact, anything else continues
    the story (on a photo scene: is said to its characters)."""
    content = messages[-1]["content"]
    said = content.partition("The reader: ")[2].split("\n(The reader")[0].strip() or content.strip()
    offered = {t["function"]["name"]: t["function"]["parameters"]["properties"] for t in tools}
    pages = offered.get("ask_picture", offered.get("redraw_page", {})).get("page", {}).get("enum") or [1]
    named = re.search(r"page (\d+)", said)
    page = int(named.group(1)) if named else pages[-1]
    low = said.lower()
    if low.startswith("redraw") and "redraw_page" in offered:
        return ToolCall("redraw_page", {"page": page})
    if low.startswith("remember") and "remember" in offered:
        return ToolCall("remember", {"fact": said.partition(" ")[2] or said})
    if said.endswith("?") and "ask_picture" in offered:
        return ToolCall("ask_picture", {"page": page, "question": said})
    if "continue_story" in offered:
        return ToolCall("continue_story", {"direction": said})
    return ToolCall("talk", {"said": said})


class ScriptedLLM(LLMBackend):
    """Answers plan requests (json_schema given) from `plans`, in order, page requests with
    numbered page texts, shot requests with shot_json and newcomers' sheets with newcomer_json.
    Records every call (shots and newcomers apart)."""

    name = "scripted"

    def __init__(self, plans: tuple[str, ...] = (), page_delay: float = 0.0, constrained: bool = True,
                 tools: bool = False):
        super().__init__()
        self.supports_tools = tools  # with tools: the agent's calls are chosen by rule_tool_call
        self.plans = list(plans)
        self.page_delay = page_delay
        self.constrained = constrained
        self.calls: list[dict] = []
        self.shot_calls: list[dict] = []  # the pages' shot requests (storyteller.agent.shots)
        self.newcomer_calls: list[dict] = []  # sheets of characters who join (storyteller.agent.cast)
        self._pages = 0
        self._plan = self.plans[0] if self.plans else ""
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "scripted-fake"

    @property
    def supports_json_schema(self) -> bool:
        return self.constrained

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None, on_text=None,
                 tools=None, tool_choice="auto"):
        if tools:
            call, provenance = self.timed("complete", lambda: rule_tool_call(messages, tools), prompt=messages[-1]["content"])
            return Completion(text="", output_tokens=5, provenance=provenance, tool_calls=[call])

        def run():
            with self._lock:
                if is_shot_request(json_schema):  # kept apart: the plan and page tests count `calls`
                    self.shot_calls.append({"messages": messages, "json_schema": json_schema, "seed": seed})
                    return shot_json(json_schema)
                if "Someone new arrives" in messages[-1]["content"]:
                    self.newcomer_calls.append({"messages": messages, "json_schema": json_schema})
                    return newcomer_json(messages)
                self.calls.append({"messages": messages, "json_schema": json_schema, "seed": seed})
                if is_bible_prompt(messages[1]["content"]):
                    # Each bible request (a re-ask too) takes the next fixture; the last one stays.
                    self._plan = self.plans.pop(0) if len(self.plans) > 1 else self.plans[0]
                if is_plan_request(messages):
                    return stage_answer(self._plan, messages[1]["content"], "must not tell again" in messages[1]["content"],
                                        json_schema)
                self._pages += 1
                number = self._pages
            time.sleep(self.page_delay)
            text = page_answer(number, json_schema or _schema_in_prompt(messages))
            for word in text.split(" "):
                if on_text:
                    on_text(word + " ")
            return text

        text, provenance = self.timed("complete", run, seed=seed, prompt=messages[-1]["content"])
        return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)


def _schema_in_prompt(messages) -> dict | None:
    """The schema a backend without grammar decoding is shown in its prompt."""
    _, found, schema = messages[-1]["content"].partition("JSON schema of the answer:\n")
    return json.loads(schema) if found else None


def page_answer(number: int, json_schema: dict | None) -> str:
    """Page `number`: its slots when the writer asks for them (storyteller.agent.writer.page_model),
    composed by the writer to 'Scene N text. Snow falls on the pines. "…" says Fern. Fern walks on
    through the snow.' (from page 2 on, the sentences said before are dropped as repeats)."""
    narration, after = f"Scene {number} text.", "Fern walks on through the snow."
    properties = (json_schema or {}).get("properties", {})
    if "narration" not in properties:
        return f"{narration} {after}"
    slots = {"narration": f"{narration} Snow falls on the pines.", "after": after}
    if "speaker" in properties:
        speaker = properties["speaker"]
        slots.update(speaker=(speaker.get("enum") or [speaker.get("const")])[0], says=f"We go on, {number} steps more")
    return json.dumps(slots)


class PlanningLLM(ScriptedLLM):
    """Plans any number of pages (a beat for whichever page is asked), and streams pages word by
    word, `word_delay` seconds apart (time to press Ctrl-C)."""

    name = "planning"

    def __init__(self, word_delay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.word_delay = word_delay

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        if is_shot_request(json_schema):
            return super().complete(messages, json_schema=json_schema, **kwargs)
        if is_plan_request(messages):
            with self._lock:
                self.calls.append({"messages": messages, "json_schema": json_schema, "seed": kwargs.get("seed")})
            text, provenance = self.timed(
                "complete", lambda: stage_answer(plan_json(0), messages[1]["content"], json_schema=json_schema),
                prompt=messages[-1]["content"])
            return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)

        def slowly(delta):
            if on_text:
                on_text(delta)
            time.sleep(self.word_delay)

        return super().complete(messages, json_schema=json_schema, on_text=slowly, **kwargs)


class StatelessLLM(PlanningLLM):
    """Plans any number of pages and writes page N from the prompt alone ("Now write page N"), so
    stories sharing one instance, one after another, at once or in other processes, each get what
    they would get alone: what a batch compares across schedulers. A bible asked for a premise
    containing `fail_on` fails (one story of a batch failing); `page_delay` slows each page."""

    name = "stateless"

    def __init__(self, fail_on: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.fail_on = fail_on

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        prompt = messages[-1]["content"]
        if self.fail_on and "Decide the story's bible" in messages[1]["content"] and self.fail_on in prompt:
            raise BackendCallError(f"stateless LLM told to fail on premises with {self.fail_on!r}")
        if is_shot_request(json_schema) or is_plan_request(messages):
            return super().complete(messages, json_schema=json_schema, on_text=on_text, **kwargs)
        number = int(re.search(r"Now write page (\d+)", prompt).group(1))

        def run():
            time.sleep(self.page_delay)
            return page_answer(number, json_schema or _schema_in_prompt(messages))

        text, provenance = self.timed("complete", run, seed=kwargs.get("seed"), prompt=prompt)
        if on_text:
            on_text(text)
        return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)


class SolidIllustrator(IllustratorBackend):
    """One flat colour per seed: enough to check files, seeds and ordering."""

    name = "solid"
    kind = "procedural"

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay

    @property
    def model_id(self) -> str:
        return "solid-colour-fake"

    def illustrate(self, requests):
        results = []
        for request in requests:
            def run(request=request):
                time.sleep(self.delay)
                rng = np.random.default_rng(request.seed)
                return Image.new("RGB", (request.width, request.height), tuple(int(v) for v in rng.integers(0, 255, 3)))
            image, provenance = self.timed("illustrate", run, seed=request.seed, prompt=request.prompt)
            results.append(ImageResult(image=image, provenance=provenance))
        return results


class ToneNarrator(NarratorBackend):
    """A short sine tone per text, pitch from the voice."""

    name = "tone"
    kind = "procedural"

    def __init__(self, delay: float = 0.0, fail_on: str | None = None):
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on  # raise when the text contains this: a backend failing mid-story

    @property
    def model_id(self) -> str:
        return "sine-tone-fake"

    def voices(self):
        return [VoiceSpec("a"), VoiceSpec("b", pitch_shift=4), VoiceSpec("c", pitch_shift=-4), VoiceSpec("d", pitch_shift=7)]

    def synthesize(self, text, voice=None):
        voice = voice or self.voices()[0]

        def run():
            time.sleep(self.delay)
            if self.fail_on and self.fail_on in text:
                raise BackendCallError(f"tone narrator told to fail on {self.fail_on!r}")
            t = np.arange(int(0.3 * 16000)) / 16000
            return (0.3 * np.sin(2 * np.pi * 440 * 2 ** (voice.pitch_shift / 12) * t)).astype(np.float32)

        samples, provenance = self.timed("synthesize", run, prompt=text)
        return AudioResult(samples=samples, sample_rate=16000, provenance=provenance)


class HashEmbedder(TextEmbedderBackend):
    """Deterministic toy: hashed bag of lower-cased words, 256-d, unit length."""

    name = "toy-hash"
    kind = "procedural"

    def __init__(self, model: str = "hash-256"):
        super().__init__(model=model)
        self.model = model
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self.model

    def embed(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 256), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9']+", text.lower()):
                out[row, zlib.crc32(word.encode()) % 256] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


class SceneLLM(LLMBackend):
    """Answers a photo scene's JSON requests from the schema's keys: a cast names each subject
    after its key ("cat_1" -> "Cat One"), a script says a numbered line per key, a guide's tour a
    line about each thing, and a talk's reply repeats what the reader said (the first other
    character reacts). Records every request in `calls`."""

    name = "scene"

    def __init__(self):
        super().__init__()
        self.calls: list[dict] = []

    @property
    def model_id(self) -> str:
        return "scene-fake"

    @property
    def supports_json_schema(self) -> bool:
        return True

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None, on_text=None,
                 tools=None, tool_choice="auto"):
        if tools:
            call, provenance = self.timed("complete", lambda: rule_tool_call(messages, tools), prompt=messages[-1]["content"])
            return Completion(text="", output_tokens=5, provenance=provenance, tool_calls=[call])

        def run():
            self.calls.append({"messages": messages, "json_schema": json_schema})
            keys = list(json_schema["properties"])
            zh = bool(re.search(r"[\u4e00-\u9fff]", messages[0]["content"]))  # asked in Chinese: answers in it
            if json_schema.get("title") == "Reply":
                said = re.search(r'读者对(.+?)说：“(.*)”' if zh else r'The reader says to (.+?): "(.*)"',
                                 messages[1]["content"])  # [-1] may be a re-ask
                text = f"{said.group(1)}听见你说：{said.group(2)}" if zh else f"{said.group(1)} heard you say: {said.group(2)}"
                answer = {"answer": {"tone": "happy", "text": text}}
                if "about" in json_schema["$defs"]["Answer"]["properties"]:
                    answer["answer"]["about"] = json_schema["$defs"]["Answer"]["properties"]["about"]["enum"][0]
                if "reaction" in keys:
                    who = json_schema["$defs"]["Reaction"]["properties"]["who"]["enum"][0]
                    answer["reaction"] = {"who": who, "tone": "surprised",
                                          "text": f"{who}也在听！" if zh else f"{who} is listening too!"}
                return json.dumps(answer, ensure_ascii=False)
            if json_schema.get("title") == "Tour":
                line = "看这个{}。" if zh else "Look at the {}."
                return json.dumps({"title": "看一看" if zh else "A look around",
                                   **{key: {"tone": "calm", "text": line.format(key.split('_', 1)[1])} for key in keys[1:]}},
                                  ensure_ascii=False)
            if "title" in keys:
                answer = {"title": "照片里" if zh else "In the photo"}
                for i, key in enumerate(keys[1:]):
                    label, number = key.rsplit("_", 1)
                    name = "小" + "明红亮花冬春"[i] if zh else f"{label.replace('_', ' ').title()} {number}"
                    answer[key] = {"name": name, "personality": "好奇" if zh else "curious"}
            else:
                line = "第{}句是{}说的。" if zh else "Line {} is said by {}."
                answer = {key: {"tone": "excited" if i % 2 else "calm", "text": line.format(i + 1, key.split('_', 1)[1])}
                          for i, key in enumerate(keys)}
            return json.dumps(answer, ensure_ascii=False)

        text, provenance = self.timed("complete", run, seed=seed)
        return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)


class TallyBackend(Backend):
    """A plugin's own role (the Ray tests host it in an actor): counts a text's words."""

    role = "tally"

    @abc.abstractmethod
    def count(self, text: str) -> int: ...

    @property
    @abc.abstractmethod
    def where(self) -> int:
        """The process that counts."""


class WordTally(TallyBackend):
    name = "words"
    kind = "procedural"

    @property
    def model_id(self) -> str:
        return "str.split"

    def count(self, text: str) -> int:
        return len(text.split())

    @property
    def where(self) -> int:
        return os.getpid()


def register_tally(registry) -> None:
    """The fakes and a role of a plugin's own (the Ray cluster's plugin)."""
    register_fakes(registry)
    registry.add_role("tally", base="fakes:TallyBackend", default="words", summary="counts words (a test role)")
    registry.add_backend("tally", "words", "fakes:WordTally")


def register_fakes(registry) -> None:
    registry.add_backend("llm", "scripted", "fakes:ScriptedLLM")
    registry.add_backend("llm", "scene", "fakes:SceneLLM")
    registry.add_backend("llm", "planning", "fakes:PlanningLLM")
    registry.add_backend("llm", "stateless", "fakes:StatelessLLM")
    registry.add_backend("illustrator", "solid", "fakes:SolidIllustrator")
    registry.add_backend("narrator", "tone", "fakes:ToneNarrator")
    registry.add_backend("text_embedder", "hash", "fakes:HashEmbedder")


def fakes_config(llm: str, llm_options: str, **settings: object) -> str:
    """A storyteller.toml selecting these fakes: `llm` with its inline `llm_options`, the solid
    illustrator, the tone narrator and the hash embedder, after the top-level `settings`."""
    top = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return (f"{top}\n[llm]\nbackend = \"{llm}\"\noptions = {{ {llm_options} }}\n\n"
            "[illustrator]\nbackend = \"solid\"\n\n[narrator]\nbackend = \"tone\"\n\n"
            "[text_embedder]\nbackend = \"hash\"\n")


def fake_plugin_env(site: Path, config: str, register: str = "register_fakes") -> dict[str, str]:
    """Environment for running the real CLI or an example script in a subprocess on these fakes:
    a plugin (an entry point in a dist-info on PYTHONPATH) that registers them (with `register`),
    and `config` as the storyteller.toml that selects them."""
    (site / "storyteller_test_fakes.py").write_text(f"from fakes import {register} as register\n")
    dist = site / "storyteller_test_fakes-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: storyteller-test-fakes\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[storyteller.plugins]\ntest-fakes = storyteller_test_fakes:register\n")
    (site / "storyteller.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTELLER_")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).parent)]),
               STORYTELLER_CONFIG=str(site / "storyteller.toml"), HF_HUB_OFFLINE="1")
    return env
