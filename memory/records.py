"""What the memory remembers: typed records and character sheets, as plain pydantic models.

A record is one vector in one space plus the metadata needed to use it without the vector: what
it is (type), what it is about (key), which page it came from (so undo can drop it), its text and
the asset it was embedded from. Records are saved in `memory/records.json`; vectors live only in
the FAISS files next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storyteller.story import Character

Space = Literal["text", "visual"]
SPACES: tuple[str, ...] = ("text", "visual")
# "illustration" is a page's accepted image in the visual space: it is what the eval and the
# style/character reference sets are built from, and what undo has to drop with its page.
RecordType = Literal["character", "place", "object", "style", "fact", "page_summary", "illustration"]
RECORD_TYPES: tuple[str, ...] = ("character", "place", "object", "style", "fact", "page_summary", "illustration")

# Page 0 means "from the plan": such records survive undo of every page.
PLAN_PAGE = 0


@dataclass(slots=True)
class MemoryRecord:
    """One vector's metadata. A slotted dataclass, not a pydantic model: a 100k-record memory must
    load in well under a second, and these are checked by `__post_init__` instead."""

    id: int  # the id of its vector in the FAISS index of its space
    space: Space
    type: RecordType
    key: str  # what it is about: a character slug, a place name, 'page-3', 'style'
    page: int = PLAN_PAGE  # page it came from; 0 = the plan
    text: str = ""
    summary: str = ""  # short form used when the budget is tight (page summaries)
    summary_method: str = ""  # how `summary` was made, e.g. 'extractive: first sentences'
    asset: str | None = None  # story-folder-relative path the vector was made from
    characters: list[str] = field(default_factory=list)  # slugs of the characters involved

    def __post_init__(self) -> None:
        if type(self.id) is not int or self.id < 0:
            raise ValueError(f"record id must be a non-negative int, got {self.id!r}")
        if self.space not in SPACES:
            raise ValueError(f"record {self.id}: unknown space {self.space!r}")
        if self.type not in RECORD_TYPES:
            raise ValueError(f"record {self.id}: unknown type {self.type!r}; types are {', '.join(RECORD_TYPES)}")
        if type(self.page) is not int or self.page < 0:
            raise ValueError(f"record {self.id}: page must be a non-negative int, got {self.page!r}")
        if not isinstance(self.key, str) or not isinstance(self.text, str):
            raise ValueError(f"record {self.id}: key and text must be strings")

    @classmethod
    def from_dict(cls, data: dict) -> MemoryRecord:
        try:
            return cls(**data)
        except TypeError as exc:  # unknown or missing fields
            raise ValueError(f"bad memory record {data!r}: {exc}") from None

    def to_dict(self) -> dict:
        """Only the fields that differ from their defaults: records.json stays small."""
        data = {"id": self.id, "space": self.space, "type": self.type, "key": self.key}
        for name in ("page", "text", "summary", "summary_method", "asset", "characters"):
            value = getattr(self, name)
            if value != _DEFAULTS[name]:
                data[name] = value
        return data


_DEFAULTS = {"page": PLAN_PAGE, "text": "", "summary": "", "summary_method": "", "asset": None, "characters": []}


class CharacterSheet(BaseModel):
    """A lorebook entry: everything the writer and the illustrator need to keep a character on model."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    appearance: str = ""
    personality: str = ""
    voice: str = ""
    reference_assets: list[str] = Field(default_factory=list)
    page: int = Field(default=PLAN_PAGE, ge=0, description="Page that introduced the character.")

    @classmethod
    def from_character(cls, character: Character, *, page: int = PLAN_PAGE) -> CharacterSheet:
        voice = ""
        if character.voice is not None:
            voice = f"{character.voice.voice_id} (speed x{1 / character.voice.length_scale:.2f}, pitch {character.voice.pitch_shift:+g})"
        return cls(
            slug=character.slug,
            name=character.name,
            aliases=list(character.aliases),
            appearance=character.appearance.describe(),
            personality=character.personality,
            voice=voice,
            reference_assets=[a.path for a in character.reference_assets],
            page=page,
        )

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def render(self) -> str:
        """The full sheet as the writer's context shows it. Not the voice: a writer shown
        "voice: joe-high (speed x1.09)" wrote it into a page, and a voice is nothing a page says."""
        lines = [f"{self.name}" + (f" (also: {', '.join(self.aliases)})" if self.aliases else "")]
        for label, value in (("looks", self.appearance), ("personality", self.personality)):
            if value:
                lines.append(f"  {label}: {value}")
        return "\n".join(lines)

    def render_short(self) -> str:
        """One line, for when the full sheet does not fit the budget."""
        return f"{self.name}: {self.appearance}" if self.appearance else self.name

    def mention_pattern(self) -> re.Pattern[str]:
        # Whole-word, case-insensitive; longest names first so "Mira Stone" wins over "Mira".
        names = sorted({n.strip() for n in self.names if n.strip()}, key=len, reverse=True)
        return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
