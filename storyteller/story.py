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

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1

AssetKind = Literal["image", "audio", "reference_image", "photo"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def slugify(name: str, *, fallback: str = "item", max_length: int = 48) -> str:
    """A file-name-safe slug: ASCII letters, digits and '-', never empty, never a reserved name.

    Names come from users and from language models, so this is the only way a name reaches the
    file system.
    """
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


class Character(StoryModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    aliases: list[str] = Field(default_factory=list)
    appearance: Appearance = Field(default_factory=Appearance)
    personality: str = ""
    voice: Voice | None = Field(default=None, description="Kept for every page and session; None until assigned.")
    reference_assets: list[Asset] = Field(default_factory=list)
    photo_region: Region | None = Field(default=None, description="Photo scenes: where the character is in the photo.")


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


class PageBeat(StoryModel):
    """What the plan says should happen on a page, before it is written."""

    beat: str
    scene: str
    characters: list[str] = Field(default_factory=list, description="Character slugs on stage.")


class DialogueLine(StoryModel):
    """A line of a photo scene's script."""

    speaker: str = Field(description="Character slug.")
    tone: str = ""
    text: str = Field(min_length=1)


class Page(StoryModel):
    number: int = Field(ge=1)
    text: str
    scene: str
    characters: list[str] = Field(default_factory=list, description="Character slugs on stage.")
    dialogue: list[DialogueLine] = Field(default_factory=list, description="Photo scenes: the script of the page.")
    text_provenance: Provenance | None = None
    illustration: Asset | None = None
    narration: Asset | None = None


class Turn(StoryModel):
    """One committed step of the story's history (plan, page, ...)."""

    number: int = Field(ge=1)
    action: str = Field(description="'plan', 'page', ...")
    summary: str
    pages: list[int] = Field(default_factory=list)
    previous: dict[str, Any] | None = Field(default=None, description="What the turn replaced, for undo (voice turns).")
    at: datetime = Field(default_factory=utc_now)


class Story(StoryModel):
    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["story", "photo"] = Field(
        default="story", description="'photo': a scene of what the people and animals in a photo say."
    )
    title: str
    premise: str
    style: StyleGuide
    characters: list[Character] = Field(default_factory=list)
    outline: list[PageBeat] = Field(default_factory=list, description="The plan's page beats.")
    pages: list[Page] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    seed: int = Field(default=0, ge=0, description="Base seed: page seeds derive from it, so a resume continues alike.")
    narrator_voice: Voice | None = Field(default=None, description="The voice that reads everything but dialogue.")
    plan_provenance: Provenance | None = None
    created_at: datetime = Field(default_factory=utc_now)

    def character(self, slug_or_name: str) -> Character:
        for character in self.characters:
            if slug_or_name in (character.slug, character.name) or slug_or_name in character.aliases:
                return character
        raise KeyError(slug_or_name)

    @property
    def is_complete(self) -> bool:
        return bool(self.outline) and len(self.pages) >= len(self.outline) and all(
            p.illustration and p.narration for p in self.pages
        )

    def assets(self) -> list[Asset]:
        found = [a for c in self.characters for a in c.reference_assets]
        for page in self.pages:
            found += [a for a in (page.illustration, page.narration) if a is not None]
        return found
