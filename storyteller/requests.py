"""Every operation on a story, as a typed request.

    from storyteller.requests import NewStory, Reillustrate
    teller.run(NewStory(premise="A fox who finds a lantern", out="fox", pages=4))
    teller.run(Reillustrate(folder="fox", page=2))

A request is a pydantic model that checks its own values when it is made: text is cleaned and
bounded (`clean_text`), numbers are in range, a named photo exists. So a check exists once and an
error reads the same whether it came through the API, the CLI, `storyteller play` or LangChain.
Every refusal is an InvalidInput (unknown keys and wrong types included), raised as the request is
made, before any folder is opened or model loaded. What depends on the folder (does it already
hold a story, does page 7 exist, who is "Milo") is checked by the runner (storyteller.agent.runner),
which executes each request and commits its turn.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from storyteller.backends.base import Transcript
from storyteller.errors import InvalidInput
from storyteller.story import CAST_ROLES, Story, Voice

MAX_PREMISE_CHARS = 2000
MAX_DIRECTION_CHARS = 1000
MAX_SAID_CHARS = 500
MAX_PAGES = 50
MAX_LINES = 20  # a photo scene's lines: a scene, not a play
SEED_LIMIT = 2**32  # seeds are handed to backends as unsigned 32-bit numbers


def clean_text(value: str, *, what: str, max_chars: int) -> str:
    """User text for prompts: control characters removed, length bounded, never empty."""
    if not isinstance(value, str):
        raise InvalidInput(f"the {what} is text, got {type(value).__name__}")
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    value = " ".join(value.split())
    if not value:
        raise InvalidInput(f"the {what} is empty", fix=f"give a {what}, e.g. \"A fox who finds a lantern in the snow\"")
    if len(value) > max_chars:
        raise InvalidInput(f"the {what} is {len(value)} characters; at most {max_chars} are accepted",
                           fix=f"shorten the {what} to a few sentences")
    return value


def existing_image(image: str | Path | None) -> Path | None:
    """A photo the reader named: it must be a file (a link is left to storyteller.images.load_image,
    which says what is wrong with a dangling or looping one)."""
    if image is None:
        return None
    path = Path(image).expanduser()
    if not path.is_symlink() and not path.is_file():
        raise InvalidInput(f"image not found: {image}" if not path.exists() else f"{image} is not a file")
    return path


def text(what: str, max_chars: int) -> Any:
    """A text field of a request, cleaned and bounded by clean_text."""
    return Annotated[str, BeforeValidator(lambda value: clean_text(value, what=what, max_chars=max_chars))]


def between(what: str, low: int, high: int) -> Any:
    """An integer field of a request from `low` to `high`."""
    def check(value: int) -> int:
        if not low <= value <= high:
            raise InvalidInput(f"{what} must be between {low} and {high}, got {value}")
        return value
    return Annotated[int, AfterValidator(check)]


def _seed_from_zero(value: int) -> int:
    if value < 0:
        raise InvalidInput(f"seed must be 0 or more, got {value}")
    return value


def _seed_in_range(value: int | None) -> int | None:
    if value is not None and not 0 <= value < SEED_LIMIT:
        raise InvalidInput(f"seed must be between 0 and 2**32 - 1, got {value}")
    return value


Premise = text("premise", MAX_PREMISE_CHARS)
StyleName = text("style", 100)
Mood = text("mood", 100)
Direction = text("direction", MAX_DIRECTION_CHARS)
CharacterName = text("character", 200)
Said = text("line", MAX_SAID_CHARS)
Summary = text("summary", 200)
Question = text("question", 2000)
def _folder(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise InvalidInput("the folder is empty", fix="name a folder, e.g. fox")
    return value


Folder = Annotated[Path, BeforeValidator(_folder)]  # never "" (which would be the current folder)
Photo = Annotated[Path | None, BeforeValidator(existing_image)]
Seed = Annotated[int, AfterValidator(_seed_from_zero)]
PageNumber = Annotated[int, Field(strict=True)]  # True is not page 1


class Request(BaseModel):
    """One operation on a story. Made like any pydantic model; a bad value is an InvalidInput."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    what: ClassVar[str] = "story"  # how errors name the request

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InvalidInput(self._describe(exc)) from None

    @classmethod
    def _describe(cls, exc: ValidationError) -> str:
        errors = exc.errors()
        missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
        if missing:
            return f"the {cls.what} request lacks {' and '.join(missing)}"
        unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
        if unknown:
            return (f"unknown keys in the {cls.what} request: {', '.join(unknown)}; "
                    f"known: {', '.join(cls.model_fields)}")
        first = errors[0]
        field = ".".join(str(part) for part in first["loc"]) or cls.what
        return f"the {cls.what} request's {field} = {first.get('input')!r}: {first['msg']}"


class _OnFolder(Request):
    """A request on an existing story folder."""

    folder: Folder


class NewStory(Request):
    """Plan, write, illustrate and narrate a story into the new folder `out`."""

    what: ClassVar[str] = "new story"
    premise: Premise
    out: Folder
    pages: between("pages", 1, MAX_PAGES) = 6
    style: StyleName = "watercolor"
    seed: Seed = 0
    image: Photo = None  # a photo to start from
    language: str | None = None  # None: the premise's (storyteller.languages.detect)

    @model_validator(mode="after")
    def _language(self) -> NewStory:
        from storyteller import languages

        self.language = languages.get(self.language).code if self.language else languages.detect(self.premise)
        return self


class PhotoScene(Request):
    """Make a photo speak: its people and animals, each with a voice, say `lines` lines."""

    what: ClassVar[str] = "photo scene"
    image: Annotated[Path, BeforeValidator(existing_image)]
    out: Folder
    lines: between("lines", 1, MAX_LINES) = 6
    mood: Mood = "playful"
    seed: Seed = 0
    language: str = "en"
    keep_metadata: bool = False  # else the stored photo has no EXIF, GPS or other metadata

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        from storyteller import languages

        return languages.get(value).code  # refuses a language storyteller does not speak


class Resume(_OnFolder):
    """Finish an interrupted story: pages not yet written, and missing pictures or sound."""

    what: ClassVar[str] = "resume"


class ContinueStory(_OnFolder):
    """One more page beyond the plan, steered by the reader's direction (and a photo)."""

    what: ClassVar[str] = "continue"
    direction: Direction
    image: Photo = None


class Reillustrate(_OnFolder):
    """Draw a page again, through the consistency gate."""

    what: ClassVar[str] = "reillustrate"
    page: PageNumber
    # The first attempt's; None: a fresh one derived from the history.
    seed: Annotated[int | None, AfterValidator(_seed_in_range)] = None
    # What the new picture should show differently ("at night", "Lucy smiling"): the page is
    # staged again with it. None: the same staging, another seed.
    change: text("change", 500) | None = None


class Renarrate(_OnFolder):
    """Narrate a page again, optionally with another narrator voice."""

    what: ClassVar[str] = "renarrate"
    page: PageNumber
    voice: str | Voice | None = None  # an id or number of the narrator's voices, or a Voice


class Score(_OnFolder):
    """Compose the story's background music (storyteller.agent.score): a piece for each run of
    pages that share a mood, or one piece in `mood` for the whole story."""

    what: ClassVar[str] = "score"
    mood: text("mood", 40) | None = None


class SetVoice(_OnFolder):
    """Give a character (or "narrator") another voice; renarrate the pages where it is heard."""

    what: ClassVar[str] = "set voice"
    character: CharacterName
    voice: str | Voice
    rate: float | None = Field(default=None, gt=0)  # >1 faster (its range: storyteller.agent.voices.parse_voice)
    pitch: float | None = None  # semitones
    renarrate: bool = True


class Talk(_OnFolder):
    """Say something to a photo scene's characters; they answer in character and in their voice."""

    what: ClassVar[str] = "talk"
    said: Said
    to: str | None = None  # a character; None: the one `said` addresses, else the last spoken to
    heard: Transcript | None = None  # the `listen` transcript the words come from (corrected or not)


class EditStory(_OnFolder):
    """Write back a story the caller loaded and edited, as an "edit" turn."""

    what: ClassVar[str] = "edit"
    story: Story
    summary: Summary = "edited by the caller"

    @field_validator("story", mode="before")
    @classmethod
    def _story(cls, value: Any) -> Story:
        # Revalidated from its dump: list edits bypass the model's validate_assignment.
        return Story.model_validate(value.model_dump() if isinstance(value, Story) else value)


class Ask(_OnFolder):
    """A question about a page's illustration (read only: no turn)."""

    what: ClassVar[str] = "ask"
    page: PageNumber
    question: Question



class Remember(_OnFolder):
    """A fact of the story to keep (a "fact" turn): the writer's context holds it from then on."""

    what: ClassVar[str] = "remember"
    fact: text("fact", 500)


class AddCharacter(_OnFolder):
    """Someone new in the cast (a "character" turn; undo takes them out): a sheet, a voice, memory
    entries and a sheet picture, so the writer, the narrator and the consistency gate know them."""

    what: ClassVar[str] = "add character"
    name: text("name", 24)
    kind: text("kind", 30)
    look: text("look", 50) | None = None
    clothing: text("clothing", 40) | None = None
    colors: list[text("colour", 16)] = Field(default_factory=list, max_length=3)
    personality: text("personality", 40) | None = None
    role: Literal[CAST_ROLES] = "friend"  # type: ignore[valid-type]


class ChangeCharacter(_OnFolder):
    """A change to a character's sheet (a "character" turn; undo puts the old sheet back): the
    sheet picture is drawn again, and with `redraw` the pages they are on (each its own turn)."""

    what: ClassVar[str] = "change character"
    character: text("character", 200)
    look: text("look", 50) | None = None
    clothing: text("clothing", 60) | None = None
    colors: list[text("colour", 16)] = Field(default_factory=list, max_length=3)
    personality: text("personality", 40) | None = None
    redraw: bool = False


class FindPictures(_OnFolder):
    """The pages whose pictures best match words, or another picture (read only: no turn)."""

    what: ClassVar[str] = "picture search"
    query: text("query", 500) | None = None
    image: Photo = None
    k: between("k", 1, 50) = 3

    @model_validator(mode="after")
    def _one_of(self) -> FindPictures:
        if (self.query is None) == (self.image is None):
            raise InvalidInput("a picture search takes words or a picture, one of the two",
                               fix='e.g. storyteller search fox "the sea", or --image photo.png')
        return self


class Chat(_OnFolder):
    """What the reader says about a story, in their own words: the agent (storyteller.agent.chat)
    answers, or calls the operations that do what was asked (each a turn the reader can undo)."""

    what: ClassVar[str] = "chat"
    message: text("message", MAX_DIRECTION_CHARS)
    image: Photo = None  # a photo the reader brings with the message (a direction's picture)
    max_steps: between("max_steps", 1, 8) = 4
