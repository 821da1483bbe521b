"""The agent: what a reader says about a story, turned by the LLM into the product's operations.

    reply = teller.chat("fox", "what colour is the fox's scarf on page 3?")
    reply.text, reply.steps   # the answer, and each tool called with its arguments and result

A LangGraph graph of two nodes. The model node offers the LLM the tools (the story's operations,
below) and reads back a reply or one tool call; the call is checked (a tool that exists, arguments
of its schema, values the story has: page 3 exists, "Milo" is in the cast) and a refused call goes
back to the model with the reason, within `max_steps` model calls. The tool node runs the call
through the same operation the API and `storyteller play` use, so every change is a committed
turn that `undo` takes back, and that turn records the agent's step (session.agent_step).

Why the design is shaped for a small model:
- Closed vocabularies: a page is one of the story's page numbers, a character one of its names, a
  voice one of the narrator's; under the llama.cpp grammar nothing else can be written.
- A tool's result is the answer (`direct`): one model call per request, not two, so a request
  is answered in seconds on two cores. A tool whose result the model must still work on says so.
- Deterministic repair, recorded: the reader said "page 3" and the model wrote 2; the repair is
  kept with the step, never silent.
- The story's own words (title, names) reach the prompt as data, and no tool takes a path, a URL or
  a command from the model: an instruction hidden in a premise or a caption can at worst choose
  among the story's own operations, and `undo` (the one that removes work) needs the reader's own
  words to ask for it.

Every request, what the model answered and each step are appended to the story folder's
`chat.jsonl`: the conversation's provenance.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storyteller import prompts
from storyteller.backends.base import ToolCall
from storyteller.cancel import as_token
from storyteller.errors import Cancelled, StorytellerError
from storyteller.events import AgentReply, AgentStep, StoryDone, emit, listening
from storyteller.requests import Chat
from storyteller.session import agent_step, atomic_write_bytes, load_story
from storyteller.story import Story

if TYPE_CHECKING:
    from storyteller.api import Storyteller

CHAT_LOG = "chat.jsonl"
EXPORT_FORMATS = ("html", "epub", "mp4", "json")


@dataclass
class Context:
    """What a tool works on: the story as it is now, the reader's words and photo, the teller."""

    teller: Storyteller
    folder: Path
    story: Story
    message: str
    image: Path | None
    cancel: Any
    on_event: Any = None  # the chat's listener: the operations' own events reach it too

    def reload(self) -> None:
        self.story = load_story(self.folder)


@dataclass
class Step:
    """One model call of the agent and what came of it (what chat.jsonl and the turns record)."""

    number: int
    tool: str | None             # None: the model replied in words
    arguments: dict[str, Any]
    result: str | None = None
    error: str | None = None     # why the call was refused or failed (given back to the model)
    repairs: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)   # the LLM call's provenance
    duration_s: float = 0.0

    def record(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}


@dataclass
class ChatReply:
    text: str
    steps: list[Step]
    story: Story

    @property
    def tools(self) -> list[str]:
        return [s.tool for s in self.steps if s.tool and s.error is None]


# =============================================================================================
# the tools: the story's operations (a tool is a name, a description, typed arguments, forward)
# =============================================================================================
class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tool:
    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]] = _Args
    direct: ClassVar[bool] = True   # the result is the reader's answer
    kinds: ClassVar[tuple[str, ...]] = ("story",)  # the kinds of story (Story.kind) it works on

    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        """Closed values for some arguments, from the story: {argument: JSON schema fragment}."""
        return {}

    def spec(self, ctx: Context) -> dict[str, Any]:
        schema = self.Args.model_json_schema()
        properties = schema.get("properties", {})
        for name, closed in self.vocabulary(ctx).items():
            properties[name] = {**{k: v for k, v in properties[name].items() if k in ("description", "title")}, **closed}
        parameters = {"type": "object", "properties": properties, "required": schema.get("required", []),
                      "additionalProperties": False}
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": parameters}}

    def instead(self, ctx: Context) -> tuple[str, dict[str, Any]] | None:
        """The tool and arguments the reader's words show were meant instead of this one, if any
        (a deterministic repair, recorded with the step)."""
        return None

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        """Deterministic fixes to the model's arguments, each described (changes `arguments`)."""
        return []

    def check(self, ctx: Context, args: BaseModel) -> list[str]:
        """What the schema cannot say: problems the model is told about and asked again."""
        return []

    def forward(self, ctx: Context, args: Any) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


# -- page numbers: the story's, and the one the reader named ------------------------------------
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12}
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def page_named(message: str, pages: int) -> int | None:
    """The page the reader's words name ("page 3", "p. 3", "the third page", "the last page",
    "第3页", "第三页"), or None when they name none or more than one."""
    low = message.lower()
    found: set[int] = set()
    found |= {int(n) for n in re.findall(r"\b(?:page|p\.|pg\.?)\s*(\d{1,3})\b", low)}
    found |= {_ORDINALS[w] for w in re.findall(r"\b(" + "|".join(_ORDINALS) + r")\s+page\b", low)}
    for digits in re.findall(r"第\s*(\d{1,3})\s*[页頁张張幅]", message):
        found.add(int(digits))
    for word in re.findall(r"第\s*([一二两三四五六七八九十]{1,3})\s*[页頁张張幅]", message):
        found.add(_zh_number(word))
    if re.search(r"\b(last|final) page\b|最后一[页頁张張幅]", low):
        found.add(pages)
    return found.pop() if len(found) == 1 else None


def _zh_number(word: str) -> int:
    if word.startswith("十"):
        return 10 + (_ZH_DIGITS[word[1]] if len(word) > 1 else 0)
    if len(word) >= 2 and word[1] == "十":
        return _ZH_DIGITS[word[0]] * 10 + (_ZH_DIGITS[word[2]] if len(word) > 2 else 0)
    return _ZH_DIGITS[word[0]]


class _PageTool(Tool):
    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        return {"page": {"type": "integer", "enum": [p.number for p in ctx.story.pages]}}

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        named = page_named(ctx.message, len(ctx.story.pages))
        if named is not None and arguments.get("page") != named and 1 <= named <= len(ctx.story.pages):
            before = arguments.get("page")
            arguments["page"] = named
            return [f"page {before} -> {named}: the reader's words name page {named}"]
        return []

    def check(self, ctx: Context, args: Any) -> list[str]:
        if not 1 <= args.page <= len(ctx.story.pages):
            return [f"page must be one of the story's pages, 1 to {len(ctx.story.pages)}; got {args.page}"]
        return []


class _CharacterTool(Tool):
    narrator: ClassVar[bool] = False  # whether "narrator" is one of the answers

    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        names = [c.name for c in ctx.story.characters] + (["narrator"] if self.narrator else [])
        return {self.Args.character_field: {"type": "string", "enum": names}} if names else {}  # type: ignore[attr-defined]

    def check(self, ctx: Context, args: Any) -> list[str]:
        name = getattr(args, self.Args.character_field)  # type: ignore[attr-defined]
        if self.narrator and name.lower() == "narrator":
            return []
        try:
            ctx.story.named_character(name)
        except StorytellerError as exc:
            return [exc.message]
        return []


# -- the tools ------------------------------------------------------------------------------
class ContinueArgs(_Args):
    direction: str = Field(min_length=1, max_length=1000, description="what should happen next, in the reader's words")


class ContinueTool(Tool):
    name = "continue_story"
    description = "Write the next page: what happens next, or who arrives, as the reader tells it."
    Args = ContinueArgs

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        # The direction is kept in the story's outline as the reader's own: a small model asked
        # in Chinese often writes it in English (or the other way), so then their words are it.
        from storyteller.memory.prose import is_cjk

        direction = arguments.get("direction")
        if isinstance(direction, str) and direction.strip() and is_cjk(direction) != is_cjk(ctx.message):
            arguments["direction"] = ctx.message.strip()
            return [f"direction {direction[:60]!r} -> the reader's own words: it was in another language"]
        return []

    def forward(self, ctx: Context, args: ContinueArgs) -> str:
        story = ctx.teller.continue_story(ctx.folder, args.direction, image=ctx.image, cancel=ctx.cancel, on_event=ctx.on_event)
        page = story.pages[-1]
        return f"Page {page.number}: {page.text}"


class AskPictureArgs(_Args):
    page: int = Field(description="the page number")
    question: str = Field(min_length=1, max_length=2000, description="the reader's question about the picture")


class AskPictureTool(_PageTool):
    name = "ask_picture"
    description = "Answer a question about what a page's picture shows: colours, clothes, who or what is in it."
    Args = AskPictureArgs
    kinds = ("story", "photo")

    def instead(self, ctx: Context) -> tuple[str, dict[str, Any]] | None:
        # A question is for the picture; words that ask for a new drawing of a named page, and ask
        # nothing, are for redraw_page ("make a new illustration for the third page").
        named = page_named(ctx.message, len(ctx.story.pages))
        if named is not None and _DRAW_AGAIN.search(ctx.message) and not re.search(r"[?？]", ctx.message):
            return "redraw_page", {"page": named}
        return None

    def forward(self, ctx: Context, args: AskPictureArgs) -> str:
        return ctx.teller.ask(ctx.folder, args.page, args.question).text


_DRAW_AGAIN = re.compile(r"\b(re-?draw|re-?illustrate|draw (?:it |this |that |the picture |the page )?again|"
                         r"(?:a |another )?new (?:illustration|picture|drawing|image)|another (?:illustration|picture|drawing))\b|"
                         r"重画|重新画|再画", re.I)


class QueryArgs(_Args):
    query: str = Field(min_length=1, max_length=500, description="what to look for, in a few words")


# A message that opens like a story's next step ("Then a storm breaks", "然后……") tells what happens.
_NARRATIVE_OPENER = re.compile(r"^\W*(then|and then|next|suddenly|after that|later)\b|^\W*(然后|接着|后来|突然)", re.I)


class _SearchTool(Tool):
    def instead(self, ctx: Context) -> tuple[str, dict[str, Any]] | None:
        if _NARRATIVE_OPENER.search(ctx.message):
            return "continue_story", {"direction": ctx.message}
        # A search finds the page; a question about a page the reader already names is for its picture.
        named = page_named(ctx.message, len(ctx.story.pages))
        if named is not None and 1 <= named <= len(ctx.story.pages):
            return "ask_picture", {"page": named, "question": ctx.message}
        return None


class FindPicturesTool(_SearchTool):
    name = "find_pictures"
    description = "Find the pages whose pictures show something: a place, a thing, a moment."
    Args = QueryArgs

    def forward(self, ctx: Context, args: QueryArgs) -> str:
        from storyteller.agent.search import describe_hits

        return describe_hits(ctx.teller.search(ctx.folder, args.query, k=3))


class SearchStoryTool(_SearchTool):
    name = "search_story"
    description = "Find where in the story's text something happens or is said, and what the story remembers of it."
    Args = QueryArgs

    def forward(self, ctx: Context, args: QueryArgs) -> str:
        from storyteller.agent.search import search_story

        hits = search_story(ctx.teller.toolbox, ctx.folder, args.query)
        if not hits:
            return "the story says nothing about that"
        lines = []
        for hit in hits:
            where = f"page {hit.record.page}" if hit.record.type == "page_summary" else f"remembered {hit.record.type}"
            words = " ".join(hit.record.text.split())
            lines.append(f"{where} ({hit.score:.2f}): {words[:160]}{'...' if len(words) > 160 else ''}")
        return "\n".join(lines)


class CharacterArgs(_Args):
    character_field: ClassVar[str] = "name"
    name: str = Field(min_length=1, max_length=200, description="the character's name")


_PICTURE_WORDS = re.compile(r"\b(picture|image|illustration|drawing|drawn|shown|show)\b|图|画", re.I)


class ShowCharacterTool(_CharacterTool):
    name = "show_character"
    description = "Tell who a character is and how they look and sound (their character sheet)."
    Args = CharacterArgs
    kinds = ("story", "photo")

    def instead(self, ctx: Context) -> tuple[str, dict[str, Any]] | None:
        # The sheet says how someone looks in general; a question about the picture of a page the
        # reader names ("who is in the picture on the last page?") is for that picture.
        named = page_named(ctx.message, len(ctx.story.pages))
        if named is not None and 1 <= named <= len(ctx.story.pages) and _PICTURE_WORDS.search(ctx.message):
            return "ask_picture", {"page": named, "question": ctx.message}
        return None

    def forward(self, ctx: Context, args: CharacterArgs) -> str:
        from storyteller.agent.voices import describe_voice

        c = ctx.story.named_character(args.name)
        pages = [p.number for p in ctx.story.pages if c.slug in p.characters]
        parts = [f"{c.name}" + (f" ({c.role})" if c.role else ""), f"looks: {c.appearance.describe()}"]
        if c.personality:
            parts.append(f"personality: {c.personality}")
        parts.append(f"voice: {describe_voice(c.voice)}")
        if c.joined:
            parts.append(f"joined on page {c.joined}")
        if pages:
            parts.append(f"on pages {', '.join(map(str, pages))}")
        if c.reference_assets:
            parts.append(f"sheet picture: {c.reference_assets[0].path}")
        return "; ".join(parts)


class AddCharacterArgs(_Args):
    name: str = Field(min_length=1, max_length=24, description="the newcomer's name (make one up if the reader gives none)")
    kind: str = Field(min_length=1, max_length=30, description="what they are: a cat, an old sailor, a robot")
    look: str = Field(default="", max_length=50, description="face, hair or fur, in a few words")
    clothing: str = Field(default="", max_length=40, description="what they wear or carry")


# Words with which a reader asks for someone to be added to the cast (not for something to happen).
_ADD_WORDS = re.compile(r"\b(add|adds|adding|new character|introduce|into the cast|to the cast|join the cast)\b|"
                        r"加一个|加个|添加|增加|新角色|引入", re.I)


class AddCharacterTool(Tool):
    name = "add_character"
    description = "Bring someone new into the cast for the pages to come, without writing a page yet."
    Args = AddCharacterArgs

    def instead(self, ctx: Context) -> tuple[str, dict[str, Any]] | None:
        # "A cat comes out of the snow" is an event, not a request to add someone: the page is
        # written, and the cat joins the cast with it (storyteller.agent.cast).
        return None if _ADD_WORDS.search(ctx.message) else ("continue_story", {"direction": ctx.message})

    def check(self, ctx: Context, args: AddCharacterArgs) -> list[str]:
        return [f"the story already has {args.name}: choose another name"] if ctx.story.called(args.name) else []

    def forward(self, ctx: Context, args: AddCharacterArgs) -> str:
        from storyteller.agent.voices import describe_voice

        story = ctx.teller.add_character(ctx.folder, args.name, args.kind, look=args.look or None,
                                         clothing=args.clothing or None, on_event=ctx.on_event, cancel=ctx.cancel)
        c = story.characters[-1]
        return f"{c.name} joins the story: {c.appearance.describe()}; voice {describe_voice(c.voice)}"


class ChangeCharacterArgs(_Args):
    character_field: ClassVar[str] = "name"
    name: str = Field(min_length=1, max_length=200, description="the character's name")
    look: str = Field(default="", max_length=50, description="their new face, hair or fur, if that changes")
    clothing: str = Field(default="", max_length=60, description="what they wear or carry from now on, if that changes")
    colors: list[str] = Field(default_factory=list, max_length=3, description="their new colours, if those change")
    redraw_pages: bool = Field(default=False, description="also draw the pages they are on again")


# Words with which a reader asks for the pages already drawn to change too (else: from now on).
_REDRAW_WORDS = re.compile(r"\b(redraw|draw (?:them|the pages|it) again|every page|all (?:the )?pages|earlier pages|"
                           r"pages before|everywhere|throughout)\b|重画|重新画|所有的?页|每一页", re.I)


_WORN = re.compile(r"\b(hat|cap|hood|scarf|coat|jacket|cloak|cape|dress|skirt|shirt|sweater|jumper|boots|shoes|"
                   r"gloves|mittens|glasses|crown|bow|tie|apron|backpack|bag)s?\b|帽|围巾|外套|衣|裙|鞋|眼镜|王冠", re.I)


class ChangeCharacterTool(_CharacterTool):
    name = "change_character"
    description = "Change how a character looks or what they wear from now on (a new sheet); optionally redraw their pages."
    Args = ChangeCharacterArgs
    kinds = ("story", "photo")

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        done = []
        look = arguments.get("look")
        if isinstance(look, str) and _WORN.search(look) and not arguments.get("clothing"):
            arguments["clothing"], arguments["look"] = look, ""
            done.append(f"look {look!r} -> clothing: it is something worn")
        wanted = bool(_REDRAW_WORDS.search(ctx.message))
        if bool(arguments.get("redraw_pages")) != wanted:
            arguments["redraw_pages"] = wanted
            done.append(f"redraw_pages -> {str(wanted).lower()}: the reader's words "
                        + ("ask for the pages drawn so far" if wanted else "do not ask to redraw the pages drawn so far"))
        return done

    def check(self, ctx: Context, args: ChangeCharacterArgs) -> list[str]:
        problems = super().check(ctx, args)
        if not (args.look or args.clothing or args.colors):
            problems.append("say what changes: look, clothing or colors")
        return problems

    def forward(self, ctx: Context, args: ChangeCharacterArgs) -> str:
        story = ctx.teller.change_character(ctx.folder, args.name, look=args.look or None,
                                            clothing=args.clothing or None, colors=args.colors, redraw=args.redraw_pages,
                                            on_event=ctx.on_event, cancel=ctx.cancel)
        c = story.named_character(args.name)
        pages = [p.number for p in story.pages if c.slug in p.characters]
        return f"{c.name} now: {c.appearance.describe()}" + (
            f"; pages {', '.join(map(str, pages))} drawn again" if args.redraw_pages and pages else "; from the next page on")


class PageArgs(_Args):
    page: int = Field(description="the page number")


_CHANGE_WORDS = re.compile(r"\b(with|but|showing|so that|and make (?:it|him|her|them))\b\s*|"
                           r"(?=\bat (?:night|dawn|dusk|sunset|sunrise)\b|\bin (?:the )?(?:rain|snow|winter|summer|autumn|spring)\b)|"
                           r"[，,]\s*(?:要|让|把)|改成|换成", re.I)


class RedrawArgs(_Args):
    page: int = Field(description="the page number")
    change: str = Field("", max_length=500, description="what the new picture shows differently, in the reader's words "
                                                         "(empty: just draw it again)")


class RedrawTool(_PageTool):
    name = "redraw_page"
    description = "Draw a page's picture again, with a change when the reader asks for one."
    Args = RedrawArgs

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        # The change is the reader's: words after "with", "but", "at", "showing" ... in their message.
        # None there: just draw it again, whatever a small model put in `change`.
        done = super().repair(ctx, arguments)
        found = _CHANGE_WORDS.search(ctx.message)
        asked = ctx.message[found.end():].strip(" .!?。！？") if found else ""
        given = str(arguments.get("change") or "").strip()
        if not asked and given:
            arguments["change"] = ""
            done.append(f"change {given[:60]!r} -> none: the reader's words ask for no change")
        elif asked and not given:
            arguments["change"] = asked
            done.append(f"change -> {asked[:60]!r}: from the reader's words")
        return done

    def forward(self, ctx: Context, args: RedrawArgs) -> str:
        story = ctx.teller.reillustrate(ctx.folder, args.page, change=args.change.strip() or None, cancel=ctx.cancel,
                                        on_event=ctx.on_event)
        return (f"page {args.page} redrawn{' (' + args.change.strip() + ')' if args.change.strip() else ''}: "
                f"{story.page(args.page).illustration.path}")


class RenarrateArgs(_Args):
    page: int = Field(description="the page number")
    voice: str = Field("", max_length=200, description="another narrator voice for this page, when the reader names one "
                                                       "(empty: the story's)")


class RenarrateTool(_PageTool):
    name = "renarrate_page"
    description = "Record a page's narration again, in another narrator voice when the reader names one."
    Args = RenarrateArgs

    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        return {**super().vocabulary(ctx), "voice": {"type": "string", "enum": ["", *(v.voice_id for v in ctx.teller.voices())]}}

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        # Another voice only when the reader's words name it: a small model fills every field.
        done = super().repair(ctx, arguments)
        voice = str(arguments.get("voice") or "")
        if voice and not re.search(rf"(?<!\w){re.escape(voice)}(?!\w)", ctx.message, re.I):
            arguments["voice"] = ""
            done.append(f"voice {voice!r} -> the story's: the reader's words name no voice")
        return done

    def forward(self, ctx: Context, args: RenarrateArgs) -> str:
        story = ctx.teller.renarrate(ctx.folder, args.page, voice=args.voice or None, cancel=ctx.cancel,
                                     on_event=ctx.on_event)
        return (f"page {args.page} narrated again{' with the voice ' + args.voice if args.voice else ''}: "
                f"{story.page(args.page).narration.path}")


class VoiceArgs(_Args):
    character_field: ClassVar[str] = "character"
    character: str = Field(min_length=1, max_length=200, description="a character's name, or narrator")
    voice: str = Field(min_length=1, max_length=200, description="one of the narrator backend's voices")


class SetVoiceTool(_CharacterTool):
    name = "set_voice"
    description = "Give a character, or the narrator, another voice (and narrate their lines again)."
    Args = VoiceArgs
    narrator = True
    kinds = ("story", "photo")

    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        voices = [v.voice_id for v in ctx.teller.voices()]
        return {**super().vocabulary(ctx), "voice": {"type": "string", "enum": voices}}

    def forward(self, ctx: Context, args: VoiceArgs) -> str:
        from storyteller.agent.voices import describe_voice

        story = ctx.teller.set_voice(ctx.folder, args.character, args.voice, cancel=ctx.cancel, on_event=ctx.on_event)
        if args.character.lower() == "narrator":
            return f"the narrator now speaks with {describe_voice(story.narrator_voice)}"
        c = story.named_character(args.character)
        return f"{c.name} now speaks with {describe_voice(c.voice)}"


class RememberArgs(_Args):
    fact: str = Field(min_length=1, max_length=500, description="the fact, as one sentence")


class RememberTool(Tool):
    name = "remember"
    description = "Keep a fact for the pages to come: a rule of the story, a detail, what someone has or wears."
    Args = RememberArgs

    def forward(self, ctx: Context, args: RememberArgs) -> str:
        ctx.teller.remember(ctx.folder, args.fact, on_event=ctx.on_event)
        return f"remembered: {args.fact}"


# Words with which a reader asks to take something back; undo removes work, so the agent calls it
# only when the reader's own message says so (a story's text cannot talk it into one).
_UNDO_WORDS = re.compile(r"\b(undo|take (?:it |that |this )?back|revert|go back|remove the last|delete the last|"
                         r"scrap|cancel that|roll back)\b|撤销|撤回|取消|删掉|删除|退回|不要刚才|回到上一步", re.I)


class UndoTool(Tool):
    name = "undo"
    description = "Take back the last change (the last page written, a redrawn picture, a new voice, a fact)."
    kinds = ("story", "photo")

    def check(self, ctx: Context, args: BaseModel) -> list[str]:
        if not _UNDO_WORDS.search(ctx.message):
            return ["the reader did not ask to take anything back; undo only when they do"]
        return []

    def forward(self, ctx: Context, args: BaseModel) -> str:
        return f"undone: {ctx.teller.undo(ctx.folder).summary}"


_BRANCH_WORDS = re.compile(r"\b(branch|another way|other way|different way|alternative|what if)\b|分支|另一种|换一种", re.I)


class BranchArgs(_Args):
    name: str = Field(min_length=1, max_length=40, description="a short name: lower-case letters, digits, - or _")


class BranchTool(Tool):
    name = "branch"
    description = "Start a new branch of the story from here, to try another way (the reader names it)."
    Args = BranchArgs

    def repair(self, ctx: Context, arguments: dict[str, Any]) -> list[str]:
        name = arguments.get("name")
        if isinstance(name, str):
            fixed = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-._")[:40]
            if fixed and fixed != name:
                arguments["name"] = fixed
                return [f"branch name {name!r} -> {fixed!r}"]
        return []

    def check(self, ctx: Context, args: BranchArgs) -> list[str]:
        from storyteller.history import check_branch_name

        # A branch becomes the current story, so, like undo, only the reader's own words start one.
        if not _BRANCH_WORDS.search(ctx.message):
            return ["the reader did not ask for a branch; start one only when they do"]
        try:
            check_branch_name(args.name)
        except StorytellerError as exc:
            return [exc.message]
        return []

    def forward(self, ctx: Context, args: BranchArgs) -> str:
        ctx.teller.branch(ctx.folder, args.name)
        return f"now on the new branch {args.name!r} (the story so far comes with it)"


class ExportArgs(_Args):
    format: str = Field(description="html (a web page), epub (an e-book), mp4 (a film) or json")


class ExportTool(Tool):
    name = "export"
    description = "Save the whole story as one file: html (a web page), epub (an e-book), mp4 (a film) or json."
    Args = ExportArgs
    kinds = ("story", "photo")

    def vocabulary(self, ctx: Context) -> dict[str, dict[str, Any]]:
        return {"format": {"type": "string", "enum": list(EXPORT_FORMATS)}}

    def check(self, ctx: Context, args: ExportArgs) -> list[str]:
        return [] if args.format in EXPORT_FORMATS else [f"format must be one of {', '.join(EXPORT_FORMATS)}"]

    def forward(self, ctx: Context, args: ExportArgs) -> str:
        # Written where `storyteller export` writes by default, inside the story folder: the
        # model names a format, never a path.
        return f"saved {ctx.teller.export(ctx.folder, args.format)}"


class TalkArgs(_Args):
    said: str = Field(min_length=1, max_length=500, description="what the reader says to the people in the photo")


class TalkTool(Tool):
    name = "talk"
    description = "Say something to the people or animals in the photo; they answer in their voices."
    Args = TalkArgs
    kinds = ("photo",)

    def forward(self, ctx: Context, args: TalkArgs) -> str:
        story = ctx.teller.talk(ctx.folder, args.said, cancel=ctx.cancel, on_event=ctx.on_event)
        return story.pages[-1].text


TOOLS: tuple[Tool, ...] = (ContinueTool(), AskPictureTool(), FindPicturesTool(), SearchStoryTool(), ShowCharacterTool(),
                           AddCharacterTool(), ChangeCharacterTool(), RedrawTool(), RenarrateTool(), SetVoiceTool(), RememberTool(), UndoTool(), BranchTool(),
                           ExportTool(), TalkTool())


def tools_for(story: Story) -> list[Tool]:
    return [t for t in TOOLS if story.kind in t.kinds]


# =============================================================================================
# the graph
# =============================================================================================
# What the agent answers in words: greetings and thanks, and what it can do (answered from the
# tools' own descriptions, without a model call). Anything else asks for one of the tools.
_SMALL_TALK = re.compile(r"^\W*(hi|hello|hey|thanks|thank you|cheers|good (?:morning|evening|night)|bye|goodbye|"
                         r"ok|okay|great|lovely|nice|wow)\b|^\W*(你好|谢谢|再见|好的|太好了)", re.I)
# A message that is only a greeting, thanks or goodbye: nothing to do, so no tool and no model
# call (a small model, shown the story, answers "Hello!" with a page).
_ONLY_TALK = re.compile(r"^\W*(?:(hi|hello|hey|good (?:morning|afternoon|evening))|(thanks|thank you|cheers)|"
                        r"(bye|goodbye|good night))(?:\W+(?:there|everyone|all|friend|so much|a lot|again|"
                        r"(?:that|it) (?:was|is) \w+))*\W*$|^\W*(?:(你好|您好)|(谢谢|多谢)|(再见))\W*$", re.I)
_TALK_REPLIES = {
    "en": ("Hello! Tell me what should happen next, or ask me about a page, a picture or a character "
           "(\"what can you do?\" lists it all).",
           "You're welcome! Tell me whenever you want the story to go on.",
           "Goodbye! The story is kept in its folder; come back to it any time."),
    "zh": ("你好！告诉我接下来发生什么，或者问我某一页、某张图、某个角色（问“你能做什么”可以看到全部）。",
           "不客气！想让故事继续的时候告诉我。",
           "再见！故事保存在它的文件夹里，随时可以回来。"),
}
_HELP = re.compile(r"^\W*(what can you do|what do you do|what are you|how does this work|help|help me|what now)\W*$|"
                   r"你能做什么|你会做什么|你会什么|怎么用", re.I)


class AgentState(TypedDict, total=False):
    messages: list[dict[str, Any]]
    steps: list[Step]
    reply: str | None
    call: dict[str, Any] | None   # the checked call the tool node runs: tool, args, step
    model_calls: int


class Agent:
    def __init__(self, teller: Storyteller, request: Chat, cancel: Any = None, on_event: Any = None):
        self.teller = teller
        self.request = request
        self.cancel = as_token(cancel)
        llm = teller.toolbox.llm
        if not llm.supports_tools:
            from storyteller.errors import BackendUnavailable

            raise BackendUnavailable(f"the configured LLM ({llm.name}) cannot call tools, so it cannot be asked in your own words",
                                     fix="use the operations themselves (storyteller continue / ask / reillustrate ...), "
                                         "or configure an LLM backend with supports_tools (every built-in one has it)")
        story = load_story(request.folder)
        self.ctx = Context(teller, Path(request.folder), story, request.message, request.image, self.cancel, on_event)
        self.tools = {t.name: t for t in tools_for(story)}

    def messages(self) -> list[dict[str, Any]]:
        story = self.ctx.story
        cast = [f"{c.name} ({', '.join(x for x in (c.appearance.species, c.role) if x)})" for c in story.characters]
        # The system prompt is the same for every story (the backend keeps its computed state
        # across runs); the story and the request follow it. What the orchestrator can read off
        # the words itself goes with them, as a note: which page they name. A small model then
        # weighs a tool that works on one page.
        system = prompts.render("agent_system", kind=story.kind)
        user = prompts.render("agent_user", title=story.title, kind=story.kind, pages=len(story.pages), cast=cast,
                              photo=self.ctx.image is not None, message=self.ctx.message,
                              named=page_named(self.ctx.message, len(story.pages)))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec(self.ctx) for t in self.tools.values()]

    # -- nodes --------------------------------------------------------------------------------
    def model(self, state: AgentState) -> AgentState:
        self.cancel.check("before the agent's next step")
        steps = list(state.get("steps", []))
        number = len(steps) + 1
        started = time.perf_counter()
        if number == 1 and _HELP.search(self.ctx.message):
            text = "I can do these for the story: " + "; ".join(
                f"{t.name.replace('_', ' ')} ({t.description.rstrip('.').lower()})" for t in self.tools.values()) + "."
            step = Step(number, None, {}, result=text, repairs=["answered from the tools' own descriptions"])
            return {"steps": [step], "reply": text, "call": None, "model_calls": 0}
        only_talk = _ONLY_TALK.match(self.ctx.message) if number == 1 else None
        if only_talk:
            groups = only_talk.groups()
            which = next(i for i, g in enumerate(groups) if g) % 3
            text = _TALK_REPLIES["zh" if any(groups[3:]) else "en"][which]
            step = Step(number, None, {}, result=text, repairs=["small talk only: answered without a tool"])
            return {"steps": [step], "reply": text, "call": None, "model_calls": 0}
        # A reply in words is for small talk; to anything else the model answers with a tool, and a
        # first reply there is asked again with a tool required (recorded). After a refused call a
        # reply is the model's way of saying it cannot.
        talk = bool(_SMALL_TALK.search(self.ctx.message))
        completion = self._complete(state["messages"], "auto")
        calls = state.get("model_calls", 0) + 1
        repairs: list[str] = []
        if not completion.tool_calls and not talk and number == 1 and calls < self.request.max_steps:
            repairs.append(f"the model replied in words ({(completion.text or '')[:60]!r}) to a request: asked again "
                           "with a tool required")
            completion = self._complete(state["messages"], "required")
            calls += 1
        model = completion.provenance.model_dump(mode="json", exclude_none=True)
        model.pop("prompt", None)  # the whole conversation; the message is recorded on its own
        if not completion.tool_calls:
            step = Step(number, None, {}, result=completion.text, model=model, repairs=repairs,
                        duration_s=round(time.perf_counter() - started, 3))
            return {"steps": [*steps, step], "reply": completion.text or "(no answer)", "call": None, "model_calls": calls}
        call = completion.tool_calls[0]
        # Each tool may say another is meant (a search for a named page is a question about its
        # picture, which may in turn be a request to draw it again): followed a few hops at most.
        for _ in range(3):
            meant = self.tools[call.name].instead(self.ctx) if call.name in self.tools else None
            if meant is None or meant[0] not in self.tools:
                break
            repairs.append(f"{call.name} -> {meant[0]}: the reader's words ask for that")
            call = ToolCall(meant[0], meant[1], call.id)
        arguments = dict(call.arguments)
        step = Step(number, call.name, arguments, model=model)
        problems, args = self._check(call.name, arguments, step)
        step.repairs = repairs + step.repairs
        step.duration_s = round(time.perf_counter() - started, 3)
        said = {"role": "assistant", "content": "", "tool_calls": [{
            "id": call.id or f"call-{number}", "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}]}
        if problems:
            step.error = "; ".join(problems)
            emit(AgentStep(step=number, tool=call.name, arguments=arguments, error=step.error, repairs=step.repairs))
            answer = {"role": "tool", "tool_call_id": said["tool_calls"][0]["id"], "name": call.name,
                      "content": f"refused: {step.error}. Call a tool again with that corrected, or reply."}
            return {"steps": [*steps, step], "messages": [*state["messages"], said, answer], "call": None,
                    "model_calls": calls}
        return {"steps": [*steps, step], "messages": [*state["messages"], said], "model_calls": calls,
                "call": {"tool": call.name, "args": args, "id": said["tool_calls"][0]["id"]}}

    def _complete(self, messages: list[dict[str, Any]], choice: str):
        return self.teller.toolbox.llm.complete(messages, tools=self.specs(), tool_choice=choice, max_tokens=256,
                                                temperature=0.0, seed=0)

    def _check(self, name: str, arguments: dict[str, Any], step: Step) -> tuple[list[str], Any]:
        tool = self.tools.get(name)
        if tool is None:
            return [f"there is no tool {name!r}; the tools are {', '.join(self.tools)}"], None
        step.repairs = tool.repair(self.ctx, arguments)
        try:
            args = tool.Args(**arguments)
        except ValidationError as exc:
            return [f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()[:4]], None
        return tool.check(self.ctx, args), args

    def run_tool(self, state: AgentState) -> AgentState:
        self.cancel.check("before the agent's tool")
        call, steps = state["call"], list(state["steps"])
        step = steps[-1]
        tool = self.tools[call["tool"]]
        started = time.perf_counter()
        token = agent_step.set({"message": self.ctx.message, "tool": tool.name, "arguments": step.arguments,
                                "repairs": step.repairs, "model": step.model})
        try:
            step.result = tool.forward(self.ctx, call["args"])
        except Cancelled:
            raise
        except StorytellerError as exc:
            step.error = exc.message + (f" ({exc.fix})" if getattr(exc, "fix", None) else "")
        finally:
            agent_step.reset(token)
            step.duration_s = round(step.duration_s + time.perf_counter() - started, 3)
        self.ctx.reload()
        emit(AgentStep(step=step.number, tool=tool.name, arguments=step.arguments, result=step.result, error=step.error,
                       repairs=step.repairs))
        if step.error is None and tool.direct:
            return {"steps": steps, "reply": step.result, "call": None}
        answer = {"role": "tool", "tool_call_id": call["id"], "name": tool.name,
                  "content": step.result if step.error is None else f"failed: {step.error}"}
        return {"steps": steps, "messages": [*state["messages"], answer], "call": None}

    # -- edges --------------------------------------------------------------------------------
    def after_model(self, state: AgentState) -> str:
        from langgraph.graph import END

        if state.get("reply") is not None:
            return END
        if state.get("call") is not None:
            return "tools"
        return "model" if state.get("model_calls", 0) < self.request.max_steps else END

    def after_tool(self, state: AgentState) -> str:
        from langgraph.graph import END

        if state.get("reply") is not None or state.get("model_calls", 0) >= self.request.max_steps:
            return END
        return "model"

    def graph(self):
        from langgraph.graph import END, START, StateGraph

        builder = StateGraph(AgentState)
        builder.add_node("model", self.model)
        builder.add_node("tools", self.run_tool)
        builder.add_edge(START, "model")
        builder.add_conditional_edges("model", self.after_model, ["tools", "model", END])
        builder.add_conditional_edges("tools", self.after_tool, ["model", END])
        return builder.compile()

    def decide(self) -> Step:
        """What the agent would do, without doing it: model calls (refused ones asked again, up to
        `max_steps`) until a call passes its checks or the model replies. The last step says which."""
        state: AgentState = {"messages": self.messages(), "steps": [], "model_calls": 0}
        while True:
            state = {**state, **self.model(state)}
            if state.get("reply") is not None or state.get("call") is not None or \
                    state["model_calls"] >= self.request.max_steps:
                return state["steps"][-1]

    def run(self) -> ChatReply:
        state = self.graph().invoke({"messages": self.messages(), "steps": [], "model_calls": 0},
                                    {"recursion_limit": 2 * self.request.max_steps + 4})
        steps: list[Step] = state["steps"]
        reply = state.get("reply")
        if reply is None:  # the steps ran out on refused or failed calls
            reply = f"I could not do that: {steps[-1].error}" if steps and steps[-1].error else "I could not do that."
        return ChatReply(text=reply, steps=steps, story=self.ctx.story)


def chat(teller: Storyteller, request: Chat, *, on_event=None, cancel=None) -> ChatReply:
    """Answer the reader's message (see the module docstring); the events end with AgentReply
    and StoryDone, or Error."""
    from storyteller.events import Error

    with listening(on_event):
        try:
            agent = Agent(teller, request, cancel, on_event)
            reply = agent.run()
            log_chat(request, reply)
            emit(AgentReply(text=reply.text, tools=reply.tools))
            emit(StoryDone(folder=str(request.folder), pages=len(reply.story.pages), title=reply.story.title))
            return reply
        except Exception as exc:
            emit(Error.from_exception(exc))
            raise


def log_chat(request: Chat, reply: ChatReply) -> None:
    """Append the request and its steps to the folder's chat.jsonl (under the folder's lock)."""
    from storyteller.session import StoryFolder
    from storyteller.story import utc_now

    entry = {"at": utc_now().isoformat(timespec="seconds"), "message": request.message, "image": str(request.image) if request.image else None,
             "steps": [s.record() for s in reply.steps], "reply": reply.text}
    with StoryFolder.open(request.folder) as opened:
        path = opened.root / CHAT_LOG
        earlier = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        atomic_write_bytes(path, earlier + (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"),
                           inside=opened.root)
