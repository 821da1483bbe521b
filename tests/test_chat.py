"""The agent (storyteller.agent.chat) on scripted fakes: the model's tool calls are scripted, the
operations they run are the real ones (on the fake backends), so a call writes, draws and
commits exactly as the API does."""

from __future__ import annotations

import json
import threading

import pytest
from fakes import ScriptedLLM, plan_json

from storyteller.backends.base import Completion, ToolCall, parse_tool_call, read_tool_answer, tool_schema
from storyteller.errors import Cancelled, InvalidInput

TOOLS = [{"type": "function", "function": {"name": "ask_picture", "description": "ask",
                                            "parameters": {"type": "object", "properties": {"page": {"type": "integer"}}}}},
         {"type": "function", "function": {"name": "undo", "description": "undo", "parameters": {"type": "object",
                                                                                              "properties": {}}}}]


class ToolScript:
    """What the scripted model answers when it is offered tools: each entry a ToolCall, a reply
    string, or a callable (given the messages) returning one of those."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen: list[list[dict]] = []
        self.offered: list[list[str]] = []
        self.offered_specs: list[list[dict]] = []
        self.choices: list[str] = []

    def install(self, llm: ScriptedLLM) -> None:
        plain = llm.complete
        llm.supports_tools = True

        def complete(messages, *, tools=None, tool_choice="auto", **kwargs):
            if not tools:
                return plain(messages, **kwargs)
            self.seen.append(messages)
            self.offered.append([t["function"]["name"] for t in tools])
            self.offered_specs.append(tools)
            self.choices.append(tool_choice)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if callable(answer):
                answer = answer(messages)
            _, provenance = llm.timed("complete", lambda: None, prompt=messages[-1].get("content") or "")
            if isinstance(answer, ToolCall):
                return Completion(text="", output_tokens=5, provenance=provenance, tool_calls=[answer])
            return Completion(text=answer, output_tokens=5, provenance=provenance)

        llm.complete = complete


@pytest.fixture
def story(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]})
    teller.new_story("A fox who finds a lantern", out=tmp_path / "fox", pages=2)
    return teller, tmp_path / "fox"


def script(teller, *answers) -> ToolScript:
    s = ToolScript(*answers)
    s.install(teller.toolbox.llm)
    return s


def test_a_tool_call_runs_the_operation_and_its_turn_records_the_step(story):
    teller, folder = story
    script(teller, ToolCall("continue_story", {"direction": "a cat comes out of the snow"}))
    events = []
    reply = teller.chat(folder, "a cat comes out of the snow", on_event=events.append)
    assert len(reply.story.pages) == 3 and reply.text.startswith("Page 3:")
    assert reply.tools == ["continue_story"]
    turn = reply.story.history[-1]
    assert turn.action == "continue" and turn.agent["tool"] == "continue_story"
    assert turn.agent["arguments"] == {"direction": "a cat comes out of the snow"}
    assert turn.agent["message"] == "a cat comes out of the snow" and turn.agent["model"]["backend"] == "scripted"
    kinds = [e.type for e in events]
    assert "agent_step" in kinds and "page_written" in kinds and kinds[-2:] == ["agent_reply", "done"]
    log = [json.loads(line) for line in (folder / "chat.jsonl").read_text().splitlines()]
    assert log[-1]["steps"][0]["tool"] == "continue_story" and log[-1]["reply"] == reply.text


def test_bad_arguments_are_refused_and_asked_again_with_the_reason(story):
    teller, folder = story
    s = script(teller, ToolCall("redraw_page", {"page": 9}), ToolCall("redraw_page", {"page": 2}))
    before = teller.load(folder).page(2).illustration.path
    reply = teller.chat(folder, "draw that one again")
    assert [st.error is None for st in reply.steps] == [False, True]
    assert "page must be one of the story's pages, 1 to 2" in reply.steps[0].error
    assert "refused: page must be" in s.seen[1][-1]["content"]  # the second call saw why
    assert reply.story.page(2).illustration.path != before and reply.story.history[-1].action == "reillustrate"


def test_the_page_the_reader_names_wins_and_the_repair_is_recorded(story):
    teller, folder = story
    script(teller, ToolCall("ask_picture", {"page": 1, "question": "what is on it?"}))
    reply = teller.chat(folder, "What is on the second page? I mean page 2")
    assert reply.steps[0].arguments["page"] == 2
    assert reply.steps[0].repairs == ["page 1 -> 2: the reader's words name page 2"]


def test_the_steps_are_bounded(story):
    teller, folder = story
    history = len(teller.load(folder).history)
    s = script(teller, ToolCall("fly_to_the_moon", {}))
    reply = teller.chat(folder, "do something", max_steps=3)
    assert len(s.seen) == 3 and all("there is no tool 'fly_to_the_moon'" in st.error for st in reply.steps)
    assert reply.text.startswith("I could not do that") and len(teller.load(folder).history) == history


def test_a_plain_answer_is_a_reply_not_a_page(story):
    teller, folder = story
    script(teller, "Hello! Ask me about your story.")
    reply = teller.chat(folder, "hello, how are you?")
    assert reply.text == "Hello! Ask me about your story." and reply.tools == [] and len(reply.story.pages) == 2


def test_small_talk_alone_is_answered_without_a_model_call(story):
    teller, folder = story
    s = script(teller, ToolCall("continue_story", {"direction": "Hello!"}))
    for message, said in (("Hello!", "Hello"), ("thank you, that was lovely", "welcome"), ("谢谢", "不客气")):
        reply = teller.chat(folder, message)
        assert said in reply.text and reply.steps[0].tool is None and reply.steps[0].repairs
    assert not s.seen and len(teller.load(folder).pages) == 2
    teller.chat(folder, "hello, then the fox meets a cat")  # more than a greeting: the model chooses
    assert s.seen and len(teller.load(folder).pages) == 3


def test_undo_takes_back_what_the_agent_did(story):
    teller, folder = story
    script(teller, ToolCall("continue_story", {"direction": "the owl sings"}), ToolCall("undo", {}))
    assert len(teller.chat(folder, "the owl sings").story.pages) == 3
    reply = teller.chat(folder, "undo that please")
    assert reply.tools == ["undo"] and len(reply.story.pages) == 2 and reply.text == "undone: removed page 3"


def test_a_remembered_fact_reaches_the_memory_and_undo_forgets_it(story):
    teller, folder = story
    script(teller, ToolCall("remember", {"fact": "The fox wears a red hat from now on."}), ToolCall("undo", {}))
    reply = teller.chat(folder, "the fox wears a red hat from now on")
    assert reply.story.history[-1].action == "fact"
    facts = lambda: [r.text for r in teller._memory(folder, teller.load(folder)).records.values() if r.type == "fact"]  # noqa: E731
    assert facts() == ["The fox wears a red hat from now on."]
    teller.chat(folder, "take that back")
    assert facts() == [] and teller.load(folder).history[-1].action != "fact"


def test_undo_needs_the_readers_own_words(story):
    """A title or a caption that says "undo" cannot make the agent remove work: the reader's
    message must ask for it."""
    teller, folder = story
    story_before = teller.load(folder)
    s = script(teller, ToolCall("undo", {}), "I can only undo when you ask me to.")
    reply = teller.chat(folder, "what is on page 1?")
    assert "did not ask to take anything back" in reply.steps[0].error
    assert reply.text == "I can only undo when you ask me to." and len(s.seen) == 2
    assert teller.load(folder).history == story_before.history


def test_no_tool_takes_a_path_from_the_model(story):
    teller, folder = story
    s = script(teller, ToolCall("export", {"format": "html", "out": "/tmp/elsewhere.html"}), "no")
    reply = teller.chat(folder, "save it as a web page")
    assert "out" in reply.steps[0].error and "Extra inputs" in reply.steps[0].error
    assert "export" in s.offered[0] and not (folder.parent / "elsewhere.html").exists()


def test_cancelling_mid_loop_stops_before_the_tool(story):
    teller, folder = story
    stop = threading.Event()

    def call_then_cancel(messages):
        stop.set()  # the reader cancels while the model answers
        return ToolCall("continue_story", {"direction": "more"})

    script(teller, call_then_cancel)
    with pytest.raises(Cancelled):
        teller.chat(folder, "go on", cancel=stop)
    assert len(teller.load(folder).pages) == 2


def test_picture_search_finds_a_page_by_its_picture_and_says_how_words_were_matched(story):
    teller, folder = story
    loaded = teller.load(folder)
    hits = teller.search(folder, image=folder / loaded.page(2).illustration.path, k=2)
    assert hits[0].page == 2 and hits[0].score > 0.99 and hits[0].method.startswith("picture similarity")
    by_words = teller.search(folder, "Scene 1 text", k=1)
    assert by_words and "the image embedder has no text tower" in by_words[0].method
    with pytest.raises(InvalidInput, match="words or a picture"):
        teller.search(folder)


# -- reading tool calls -------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    '{"name": "ask_picture", "arguments": {"page": 3}}',
    '<tool_call>\n{"name": "ask_picture", "arguments": {"page": 3}}\n</tool_call>',
    '```json\n{"tool": "ask_picture", "arguments": {"page": 3}}\n```',
    '{"name": "ask_picture", "arguments": "{\\"page\\": 3}"}',
    '{{"name": "ask_picture", "arguments": {"page": 3}}}',  # Qwen 1.5B on llama.cpp's server copies its template's "{{"
])
def test_tool_calls_written_as_text_are_read(text):
    assert parse_tool_call(text, TOOLS) == ToolCall("ask_picture", {"page": 3})


def test_text_that_is_no_call_is_a_reply():
    assert parse_tool_call('{"name": "rm_rf", "arguments": {}}', TOOLS) is None
    assert read_tool_answer('{"reply": "hi"}', TOOLS) == ("hi", [])
    assert read_tool_answer("just words", TOOLS) == ("just words", [])


def test_the_tool_grammar_schema_offers_the_tools_and_a_reply():
    schema = tool_schema(TOOLS)
    assert [a["properties"].get("tool", {}).get("const") for a in schema["anyOf"]] == ["ask_picture", "undo", None]
    assert tool_schema(TOOLS, "undo")["properties"]["tool"] == {"const": "undo"}
    with pytest.raises(ValueError, match="names none of the tools"):
        tool_schema(TOOLS, "fly")


def test_page_numbers_in_the_readers_words():
    from storyteller.agent.chat import page_named

    assert page_named("what is on page 3?", 6) == 3
    assert page_named("the third page", 6) == 3
    assert page_named("第三页的狐狸穿什么？", 6) == 3
    assert page_named("第12页", 12) == 12
    assert page_named("the last page", 6) == 6
    assert page_named("page 2 and page 3", 6) is None
    assert page_named("a fox", 6) is None


def test_the_orchestrator_mends_a_small_models_choice_and_records_it(story):
    """A reply where a tool was asked for is asked again with a tool required; an event offered
    as add_character is written as the next page; a page search for a page the reader names is
    a question about its picture, and a request for a new drawing of it is a redraw; a direction
    the model wrote in another language is the reader's own words; "what can you do?" is
    answered from the tools themselves."""
    teller, folder = story
    s = script(teller, "Sure!", ToolCall("redraw_page", {"page": 2}))
    reply = teller.chat(folder, "draw page 2 again please")
    assert s.choices == ["auto", "required"] and reply.tools == ["redraw_page"]
    assert "asked again with a tool required" in reply.steps[0].repairs[0]

    script(teller, ToolCall("add_character", {"name": "Cat", "kind": "cat"}))
    reply = teller.chat(folder, "A grey cat comes out of the snow")
    assert reply.tools == ["continue_story"] and reply.steps[0].repairs[0].startswith("add_character -> continue_story")
    assert "cat" in {c.appearance.species for c in reply.story.characters}

    for chosen in (ToolCall("find_pictures", {"query": "people"}), ToolCall("show_character", {"name": "Fern"})):
        script(teller, chosen)
        reply = teller.chat(folder, "who is in the picture on page 1?")
        assert reply.tools == ["ask_picture"] and reply.steps[0].arguments == {"page": 1, "question": "who is in the picture on page 1?"}

    for chosen in (ToolCall("ask_picture", {"page": 1, "question": "make a new picture for page 1"}),
                   ToolCall("find_pictures", {"query": "page 1"})):  # find -> ask -> redraw
        script(teller, chosen)
        reply = teller.chat(folder, "make a new picture for page 1")
        assert reply.tools == ["redraw_page"] and reply.steps[0].arguments == {"page": 1}

    script(teller, ToolCall("redraw_page", {"page": 2}))
    reply = teller.chat(folder, "redraw page 2 at dawn")
    assert reply.steps[0].arguments == {"page": 2, "change": "at dawn"} and reply.story.page(2).shot.time_of_day == "morning"
    script(teller, ToolCall("redraw_page", {"page": 2, "change": "draw page 2 again"}))
    reply = teller.chat(folder, "draw page 2 again")
    assert reply.steps[0].arguments["change"] == "" and "change" not in reply.story.page(2).illustration.provenance.parameters

    s = script(teller, ToolCall("renarrate_page", {"page": 1, "voice": "b"}))
    reply = teller.chat(folder, "read page 1 aloud again")
    assert reply.steps[0].arguments["voice"] == "" and "the reader's words name no voice" in reply.steps[0].repairs[0]
    voices = next(t for t in s.offered_specs[0] if t["function"]["name"] == "renarrate_page")
    assert voices["function"]["parameters"]["properties"]["voice"]["enum"] == ["", "a", "b", "c", "d"]
    script(teller, ToolCall("renarrate_page", {"page": 1, "voice": "b"}))
    reply = teller.chat(folder, "read page 1 aloud again in the voice b")
    assert reply.steps[0].error is None and "with the voice b" in reply.text
    assert reply.story.history[-1].action == "renarrate"

    script(teller, ToolCall("continue_story", {"direction": "A cat runs out of the snow."}))
    reply = teller.chat(folder, "然后，一只小猫从雪里跑了出来")
    assert reply.story.outline[-1].direction == "然后，一只小猫从雪里跑了出来"
    assert "the reader's own words" in reply.steps[0].repairs[0]

    s = script(teller, ToolCall("undo", {}))
    reply = teller.chat(folder, "what can you do?")
    assert s.seen == [] and "continue story" in reply.text and reply.steps[0].tool is None
