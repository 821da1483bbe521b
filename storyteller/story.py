"""The story state: pydantic v2 models and nothing else.

Everything the program knows about a story lives in these models and is saved as `story.json`
in the story folder. Assets (images, audio) are files next to it, referenced by relative path and
sha256, and each carries the provenance of the model call that made it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from storyteller.errors import InvalidInput

# Version history (old story.json files load and are saved at the current version):
#   1: the first round.
#   2: the story bible (Story.bible, Character.role), arc stages on beats (PageBeat.stage), the
#      reader's direction kept with its beat (PageBeat.direction), a shot per page (Page.shot). Everything new has a default, so a version-1 file migrates as it is.
#   3: talking with a photo: how each subject looks (Character.expression), the reader's side of a
#      conversation (Page.exchange), the objects of a guided scene (Page.objects, DialogueLine.about).
#      All default to empty, so version-1 and -2 files migrate as they are.
#   4: the story's language (Story.language, BCP-47; "en" for every older story).
SCHEMA_VERSION = 4

AssetKind = Literal["image", "audio", "reference_image", "photo", "midi"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def slugify(name: str, *, fallback: str = "item", max_length: int = 48) -> str:
    """A file-name-safe slug: ASCII letters, digits and '-', never empty, never a reserved name.

    Names come from users and from language models, so this is the only way a name reaches the
    file system. Chinese names are spelled in pinyin ("小狐狸" -> "xiao-hu-li"), where pypinyin is
    installed, so their files stay readable.
    """
    if re.search(r"[\u3400-\u9fff]", name):
        try:
            from pypinyin import lazy_pinyin
        except ImportError:
            pass
        else:
            name = " ".join(lazy_pinyin(name))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:max_length].strip("-")
    if not slug:
        slug = fallback
    if slug in _WINDOWS_RESERVED:
        slug = f"{slug}-{fallback}"
    return slug


class StoryModel(BaseModel):
    # Unknown fields are an error: a typo in a hand-edited story.json must not vanish silently.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Provenance(StoryModel):
    """How an asset or a text was made: enough to reproduce or audit it."""

    backend: str = Field(description="Registered backend name, e.g. 'llamacpp' or 'storyboard'.")
    model: str = Field(description="Model id, file or directory; for procedural backends, what it is.")
    kind: Literal["neural", "procedural", "classical"] = Field(
        description="'procedural' and 'classical' outputs are made without a neural model."
    )
    seed: int | None = None
    prompt: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    duration_s: float = Field(ge=0, description="Wall time of the model call.")
    created_at: datetime = Field(default_factory=utc_now)


class Voice(StoryModel):
    """A narrator voice: which backend voice/speaker, and how it is varied."""

    voice_id: str = Field(description="A voice the narrator backend offers (speaker id or name).")
    length_scale: float = Field(default=1.0, gt=0.3, lt=3.0, description=">1 speaks slower.")
    pitch_shift: float = Field(default=0.0, ge=-12, le=12, description="Semitones.")


class SpokenLine(StoryModel):
    """One stretch of a narration: what is said, by whom, in which voice, and when in the audio."""

    text: str
    speaker: str | None = Field(default=None, description="Character slug; None: the narrator.")
    tone: str = Field(default="", description="How it is said, e.g. 'excited'; rendered as pace and pitch.")
    voice: Voice
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    offset: int | None = Field(default=None, ge=0, description="Where `text` starts in the page text.")


class Asset(StoryModel):
    path: str = Field(description="Relative to the story folder, POSIX separators.")
    kind: AssetKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str
    provenance: Provenance
    lines: list[SpokenLine] = Field(default_factory=list, description="Audio: the spoken lines in order, timed.")

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        parts = value.split("/")
        if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"asset path must be relative and inside the story folder: {value!r}")
        return value


class Region(StoryModel):
    """Where a character is in the photo it comes from, as fractions of the photo's width and height."""

    label: str = Field(description="What the detector found there: 'face', 'cat face', 'person', 'cat', ...")
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)
    score: float | None = None
    detector: str = Field(description="The backend that found it, and its kind.")


class Appearance(StoryModel):
    species: str = Field(default="person", description="person, fox, robot, ...")
    face: str = ""
    hair: str = ""
    clothing: str = ""
    colors: list[str] = Field(default_factory=list, description="Main colours, e.g. ['orange', 'white'].")
    props: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        bits = [self.species]
        if self.colors:
            bits.append(", ".join(self.colors))
        for label, value in (("face", self.face), ("hair", self.hair), ("wearing", self.clothing)):
            if value:
                bits.append(f"{label} {value}")
        if self.props:
            bits.append("with " + ", ".join(self.props))
        return "; ".join(bits)


# What a character is for in the story; the planner picks from these under the grammar.
ROLES = ("protagonist", "friend", "helper", "mentor", "family", "rival", "obstacle")
CAST_ROLES = ROLES[1:]  # everyone but the protagonist


class FaceReading(StoryModel):
    """How a subject looks in its photo, and how that was told: asked of a vision-language model, or
    measured by classical vision (a smile cascade), which can only tell a smile from no smile."""

    expression: Expression = Field(description="From EXPRESSIONS; 'neutral' when no smile or face could be told.")
    smiling: bool | None = Field(default=None, description="A smile seen; None: no face to look at.")
    face: Region | None = Field(default=None, description="Where the face is in the photo (for --blur-faces).")
    method: str = Field(description="Backend and kind, e.g. 'opencv smile cascade (classical)'.")
    detail: str = Field(default="", description="What was measured or answered.")


class Character(StoryModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    role: str = Field(default="", description="protagonist, friend, helper, mentor, family, rival, obstacle; '' unknown.")
    aliases: list[str] = Field(default_factory=list)
    appearance: Appearance = Field(default_factory=Appearance)
    personality: str = ""
    voice: Voice | None = Field(default=None, description="Kept for every page and session; None until assigned.")
    reference_assets: list[Asset] = Field(default_factory=list)
    joined: int = Field(default=0, ge=0, description="The page the character joined the story on; 0: in the plan.")
    photo_region: Region | None = Field(default=None, description="Photo scenes: where the character is in the photo.")
    expression: FaceReading | None = Field(default=None, description="Photo scenes: how the character looks in the photo.")


class StyleGuide(StoryModel):
    name: str = Field(description="The style as the user asked for it, e.g. 'watercolor'.")
    description: str = ""
    palette: list[str] = Field(
        default_factory=list, description="Hex colours, '#rrggbb', that every illustration uses."
    )

    @field_validator("palette")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        for colour in value:
            if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
                raise ValueError(f"palette colours are '#rrggbb', got {colour!r}")
        return [c.lower() for c in value]


# The arc's stages, in story order (storyteller.agent.arc fits them to the page count).
ARC_STAGES = ("opening", "want", "trouble", "try", "turn", "resolution", "closing")


class PageBeat(StoryModel):
    """What the plan says should happen on a page, before it is written."""

    beat: str
    scene: str
    characters: list[str] = Field(default_factory=list, description="Character slugs on stage.")
    stage: str = Field(default="", description="The arc stage of the page (ARC_STAGES); '' in stories before v2.")
    direction: str = Field(default="", description="A page past the plan: what the reader asked for (the writer hears it).")


class Bible(StoryModel):
    """What the whole story is about, fixed before any beat: every later stage is written with it in view."""

    protagonist: str = Field(description="Slug of the main character: the one the premise names.")
    kind: str = Field(default="", description="What the premise says the protagonist is ('fox'), as the premise says it.")
    want: str = Field(default="", description="What the protagonist wants.")
    obstacle: str = Field(default="", description="What stands in the way.")
    setting: str = Field(default="", description="Where and when the story happens.")


# Closed vocabularies of a shot: what a planner may choose under a grammar and what every
# illustrator knows how to draw (the storyboard draws each; the diffusers prompt words them).
SETTINGS = ("snow", "forest", "sea", "underwater", "indoor", "city", "desert", "space", "garden", "mountain",
            "river", "cave", "sky")
TIMES_OF_DAY = ("morning", "day", "evening", "night")
WEATHERS = ("clear", "cloudy", "rain", "snow", "storm", "fog", "wind")
LIGHTS = ("bright", "soft", "warm", "dim", "glowing")
CAMERAS = ("wide", "medium", "close-up")
ACTIONS = ("stand", "walk", "run", "jump", "sit", "wave", "point", "hold", "hug", "sleep", "fly", "swim", "climb",
           "dance", "reach", "hide", "look", "talk")
EXPRESSIONS = ("neutral", "happy", "sad", "surprised", "scared", "angry", "thinking", "sleepy")
FACINGS = ("front", "left", "right")
POSITIONS = ("left", "centre", "right")
DEPTHS = ("near", "far")
# As types (Literal[("a", "b")] is Literal["a", "b"]), so the JSON schema, and a grammar built from it, hold the lists.
Setting, TimeOfDay, Weather, Light, Camera = (Literal[SETTINGS], Literal[TIMES_OF_DAY], Literal[WEATHERS],  # type: ignore[valid-type]
                                              Literal[LIGHTS], Literal[CAMERAS])
Action, Expression, Facing, Position, Depth = (Literal[ACTIONS], Literal[EXPRESSIONS], Literal[FACINGS],  # type: ignore[valid-type]
                                               Literal[POSITIONS], Literal[DEPTHS])


class ShotCharacter(StoryModel):
    """One character on stage in a shot: what they do and where they are."""

    character: str = Field(description="Character slug.")
    action: Action = Field(default="stand", description="From ACTIONS.")
    expression: Expression = Field(default="neutral", description="From EXPRESSIONS.")
    facing: Facing = Field(default="front", description="From FACINGS.")
    position: Position = Field(default="centre", description="From POSITIONS.")
    depth: Depth = Field(default="near", description="From DEPTHS.")


class Shot(StoryModel):
    """What a page's picture shows: the moment, staged. Filled by the planner under the grammar
    from the vocabularies above; what the model left out is filled from the page text, and
    `filled` records each such repair."""

    setting: Setting = Field(default="garden", description="From SETTINGS: the kind of place the picture is painted as.")
    place: str = Field(default="", description="The place in words ('a snowy clearing by the mill').")
    time_of_day: TimeOfDay = Field(default="day", description="From TIMES_OF_DAY.")
    weather: Weather = Field(default="clear", description="From WEATHERS.")
    light: Light = Field(default="soft", description="From LIGHTS.")
    props: list[str] = Field(default_factory=list, max_length=6, description="Things the page text names that the picture shows.")
    cast: list[ShotCharacter] = Field(default_factory=list, description="The characters on stage, in the picture's order.")
    camera: Camera = Field(default="medium", description="From CAMERAS.")
    filled: list[str] = Field(default_factory=list, description="Fields the deterministic pass filled, and from what.")
    provenance: Provenance | None = Field(default=None, description="The LLM call that staged it; None when only the words did.")


class DialogueLine(StoryModel):
    """A line of a photo scene's script."""

    speaker: str = Field(description="Character slug.")
    tone: str = ""
    text: str = Field(min_length=1)
    about: str = Field(default="", description="Guided scenes: the key of the photo object the line is about.")


class PhotoObject(StoryModel):
    """A thing a guided scene talks about: what the detector found, and where."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    region: Region


class Exchange(StoryModel):
    """The reader's side of a conversation page: what they said, to whom, and how it was heard."""

    said: str = Field(min_length=1, description="The reader's words, as used (after any correction).")
    to: str = Field(description="Slug of the character who answers.")
    chosen: str = Field(description="Why that character: 'named', 'asked', 'last spoken to', 'alone', 'first'.")
    heard: Provenance | None = Field(
        default=None, description="Voice input: the transcription (parameters: transcript, corrected, the recording's name and sha256).")


class Page(StoryModel):
    number: int = Field(ge=1)
    text: str
    scene: str
    characters: list[str] = Field(default_factory=list, description="Character slugs on stage.")
    dialogue: list[DialogueLine] = Field(default_factory=list, description="Photo scenes: the script of the page.")
    exchange: Exchange | None = Field(default=None, description="A conversation page: what the reader said to whom.")
    objects: list[PhotoObject] = Field(default_factory=list, description="A guided scene: the things in the photo.")
    shot: Shot | None = Field(default=None, description="What the picture shows; None in stories before v2.")
    text_provenance: Provenance | None = None
    illustration: Asset | None = None
    narration: Asset | None = None


class MusicCue(StoryModel):
    """Background music under some pages: a piece for their mood (the composer role), played from
    the first of them to the last, under the narration."""

    pages: list[int] = Field(min_length=1, description="The pages it plays under, in order.")
    mood: str
    key: str = Field(description='As the composer wrote it: "G major", "A minor".')
    tempo: int = Field(ge=1, description="Beats a minute.")
    audio: Asset
    score: Asset | None = Field(default=None, description="The MIDI file, where the composer writes one.")


class Turn(StoryModel):
    """One committed step of the story's history (plan, page, ...)."""

    number: int = Field(ge=1)
    action: str = Field(description="'plan', 'page', ...")
    summary: str
    pages: list[int] = Field(default_factory=list)
    previous: dict[str, Any] | None = Field(default=None, description="What the turn replaced, for undo (voice turns).")
    agent: dict[str, Any] | None = Field(default=None, description=(
        "The agent's step that made the turn: the reader's message, the tool, its arguments, the model call."))
    at: datetime = Field(default_factory=utc_now)


class Story(StoryModel):
    schema_version: Literal[4] = SCHEMA_VERSION
    kind: Literal["story", "photo"] = Field(
        default="story", description="'photo': a scene of what the people and animals in a photo say."
    )
    title: str
    premise: str
    language: str = Field(default="en", description="BCP-47 tag of the story's language: 'en', 'zh' (storyteller.languages).")
    style: StyleGuide
    characters: list[Character] = Field(default_factory=list)
    outline: list[PageBeat] = Field(default_factory=list, description="The plan's page beats.")
    pages: list[Page] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    seed: int = Field(default=0, ge=0, description="Base seed: page seeds derive from it, so a resume continues alike.")
    narrator_voice: Voice | None = Field(default=None, description="The voice that reads everything but dialogue.")
    bible: Bible | None = Field(default=None, description="Protagonist, want, obstacle, setting; None in stories before v2.")
    music: list[MusicCue] = Field(default_factory=list, description="Background music, by pages (`storyteller score`).")
    plan_provenance: Provenance | None = None
    created_at: datetime = Field(default_factory=utc_now)

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """An older story.json loads as the current version: every field added since has a default."""
        if isinstance(data, dict) and data.get("schema_version") in (1, 2, 3):
            data = {**data, "schema_version": SCHEMA_VERSION}
        return data

    def character(self, slug_or_name: str) -> Character:
        for character in self.characters:
            if slug_or_name in (character.slug, character.name) or slug_or_name in character.aliases:
                return character
        raise KeyError(slug_or_name)

    def called(self, name: str) -> Character | None:
        """The character whose name or alias is `name` (any case), if any: a newcomer may not take it."""
        wanted = " ".join(name.split()).lower()
        return next((c for c in self.characters if wanted in {n.lower() for n in (c.name, *c.aliases)}), None)

    def named_character(self, name: str) -> Character:
        """The character a reader names: slug, name or alias in any case, else the one whose name
        starts with it; InvalidInput listing the characters otherwise. (`character` is exact, for
        slugs the story itself stores.)"""
        wanted = " ".join(name.split()).lower()
        for character in self.characters:
            if wanted in (character.name.lower(), character.slug, *(a.lower() for a in character.aliases)):
                return character
        starts = [c for c in self.characters if wanted and c.name.lower().startswith(wanted)]
        if len(starts) == 1:
            return starts[0]
        names = ", ".join(c.name for c in self.characters) or "none"
        raise InvalidInput(f"the story has no character {name!r}; its characters are {names}")

    def page(self, number: int) -> Page:
        """Page `number` (from 1), or InvalidInput saying which pages there are."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidInput(f"a page number is an integer, got {number!r}")
        if not self.pages:
            raise InvalidInput("the story has no pages yet")
        if not 1 <= number <= len(self.pages):
            raise InvalidInput(f"page {number} does not exist; the story has pages 1 to {len(self.pages)}")
        return self.pages[number - 1]

    @property
    def is_complete(self) -> bool:
        return bool(self.outline) and len(self.pages) >= len(self.outline) and all(
            p.illustration and p.narration for p in self.pages
        )

    def assets(self) -> list[Asset]:
        found = [a for c in self.characters for a in c.reference_assets]
        for page in self.pages:
            found += [a for a in (page.illustration, page.narration) if a is not None]
        for cue in self.music:
            found += [a for a in (cue.audio, cue.score) if a is not None]
        return found
