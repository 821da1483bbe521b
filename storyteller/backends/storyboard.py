"""The offline default illustrator: a procedural storyboard renderer, not a neural model.

No text-to-image model ships with storyteller, so the default draws an honest storyboard panel
with Pillow and numpy: a setting picked from keywords in the scene text (snowy night, seaside,
kitchen...), a few props named in the text (lantern, kite, boat...), each character as a simple
figure built from its species and colours, a style treatment (watercolor, pencil, crayon, pixel
art, ink, oil or flat), the caption and a corner label saying what made the picture.

Invariants the rest of storyteller relies on:
- Deterministic: the same request gives the same pixels, in any process (hashes are hashlib,
  never Python's salted `hash`). Different seeds vary the composition.
- A character looks the same on every page: `draw_figure` depends only on the figure's key,
  species, colours and description, and its scale only on the page size; the seed moves it.
- Any text renders: captions and names are sanitised, fonts fall back, nothing raises on emoji,
  RTL or markup.

Layout of this module: colours and text helpers -> the backend class -> figures -> scenes ->
style treatments -> page composition.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from storyteller.backends.base import Figure, IllustrationRequest, IllustratorBackend, ImageResult
from storyteller.errors import InvalidInput

RENDERER_VERSION = 1
MODEL_ID = f"storyboard-renderer/{RENDERER_VERSION} (procedural, no neural model)"
CORNER_LABEL = "storyboard · procedural, no neural model"
MIN_SIDE, MAX_SIDE = 64, 2048
MAX_FIGURES_IN_ROW = 4  # more than this go to a second row further back
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

RGB = tuple[int, int, int]


class StoryboardInputError(InvalidInput, ValueError):
    """A request the renderer cannot draw. A ValueError too, like diffusers' check_inputs errors."""


# -- colours ----------------------------------------------------------------------------------
# Colour words as people write them in character descriptions ("an orange fox with a white
# tail"). Values are picture-book tones rather than pure web colours.
COLOR_WORDS: dict[str, RGB] = {
    "red": (214, 62, 54), "scarlet": (222, 44, 40), "crimson": (180, 30, 52), "ruby": (170, 22, 60),
    "maroon": (122, 34, 42), "rust": (178, 82, 40), "russet": (160, 82, 45), "copper": (190, 110, 60),
    "orange": (238, 128, 42), "ginger": (222, 120, 50), "amber": (240, 170, 40), "peach": (250, 190, 150),
    "coral": (246, 124, 100), "salmon": (244, 150, 124), "yellow": (248, 212, 60), "gold": (232, 184, 50),
    "golden": (232, 184, 50), "mustard": (214, 170, 40), "honey": (226, 170, 70), "blonde": (240, 210, 130),
    "blond": (240, 210, 130), "cream": (250, 240, 210), "ivory": (252, 248, 232), "beige": (230, 214, 180),
    "sand": (226, 200, 150), "tan": (206, 168, 120), "khaki": (190, 176, 120), "caramel": (196, 128, 70),
    "brown": (140, 90, 56), "chestnut": (128, 64, 40), "auburn": (150, 60, 40), "chocolate": (100, 60, 36),
    "hazel": (140, 110, 60), "fawn": (210, 170, 120), "tawny": (196, 130, 60), "sepia": (112, 80, 50),
    "green": (80, 168, 84), "emerald": (40, 150, 100), "lime": (160, 210, 70), "mint": (160, 226, 190),
    "olive": (128, 128, 60), "teal": (40, 140, 140), "turquoise": (60, 200, 196), "cyan": (70, 200, 220),
    "blue": (62, 118, 214), "sky": (130, 190, 240), "navy": (34, 50, 110), "indigo": (72, 60, 150),
    "purple": (136, 76, 176), "violet": (150, 96, 210), "lilac": (200, 162, 222), "lavender": (190, 176, 230),
    "plum": (120, 50, 100), "magenta": (210, 60, 160), "pink": (244, 150, 190), "rose": (230, 110, 140),
    "white": (248, 248, 244), "snow": (250, 252, 255), "silver": (196, 202, 210), "grey": (150, 150, 156),
    "gray": (150, 150, 156), "slate": (100, 112, 128), "charcoal": (60, 62, 68), "black": (40, 40, 46),
    "ebony": (36, 32, 34), "bronze": (176, 120, 60), "spotted": (230, 220, 200), "striped": (220, 160, 80),
    "tabby": (190, 140, 90), "calico": (230, 170, 110),
}
SHADE_WORDS = {"dark": 0.62, "deep": 0.7, "light": 1.35, "pale": 1.45, "bright": 1.15, "soft": 1.2}

INK: RGB = (52, 42, 46)  # outline colour: a warm near-black reads softer than pure black


def stable_int(*parts: Any) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def parse_color(value: str) -> RGB:
    """'#rrggbb', a colour word, 'dark green', or anything else -> a stable colour from its hash."""
    text = str(value).strip().lower()
    if HEX_COLOR.match(text):
        return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    words = re.findall(r"[a-z]+", text)
    factor = 1.0
    for word in words:
        factor *= SHADE_WORDS.get(word, 1.0)
    base = next((COLOR_WORDS[w] for w in reversed(words) if w in COLOR_WORDS), None)
    if base is None:
        # Unknown words still get a colour, the same one every time, pleasant rather than muddy.
        h = stable_int("colour", text)
        base = hsv((h % 360) / 360, 0.45 + (h >> 9) % 30 / 100, 0.72 + (h >> 17) % 20 / 100)
    return shade(base, factor) if factor != 1.0 else base


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return int(r * 255), int(g * 255), int(b * 255)


def shade(color: RGB, factor: float) -> RGB:
    """factor < 1 darkens, > 1 lightens towards white (so white stays white)."""
    if factor <= 1.0:
        return tuple(int(c * factor) for c in color)  # type: ignore[return-value]
    t = min(1.0, factor - 1.0)
    return tuple(int(c + (255 - c) * t) for c in color)  # type: ignore[return-value]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def luminance(color: RGB) -> float:
    r, g, b = color
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


def rgba(color: RGB, alpha: int = 255) -> tuple[int, int, int, int]:
    return (*color, alpha)


# -- text -------------------------------------------------------------------------------------
FONT_FILES = (
    "DejaVuSans.ttf",  # found by FreeType on most Linux systems
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
BOLD_FONT_FILES = ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf") + FONT_FILES


@functools.lru_cache(maxsize=32)
def get_font(size: int, bold: bool = False):
    """A scalable font of `size` px; never fails (falls back to Pillow's own fonts)."""
    size = max(6, int(size))
    for candidate in BOLD_FONT_FILES if bold else FONT_FILES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, AttributeError):
        return ImageFont.load_default()


def clean_text(text: Any) -> str:
    """Printable text only: control and format characters out, lone surrogates replaced.

    Markup stays literal ('<script>' is just drawn); RTL marks and zero-width characters go
    because they can reorder or hide what a reader sees.
    """
    text = str(text or "").encode("utf-8", "replace").decode("utf-8")
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t\r" or cat == "Zs":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def text_width(font, text: str) -> float:
    try:
        return font.getlength(text)
    except Exception:  # a glyph the fallback bitmap font cannot measure
        return len(text) * getattr(font, "size", 10) * 0.6


def wrap_text(text: str, font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by pixel width; words longer than a line are broken; '…' if cut."""
    words = text.split(" ") if text else []
    lines: list[str] = []
    current = ""
    for word in words:
        while text_width(font, word) > max_width and len(word) > 1:  # break an over-long word
            cut = len(word)
            while cut > 1 and text_width(font, (current + " " if current else "") + word[:cut]) > max_width:
                cut -= 1
            if cut <= 1 and current:
                lines.append(current)
                current = ""
                continue
            lines.append((current + " " if current else "") + word[:cut])
            current, word = "", word[cut:]
        candidate = f"{current} {word}" if current else word
        if text_width(font, candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(font, last + "…") > max_width:
            last = last[:-1].rstrip()
        lines = lines[:max_lines - 1] + [last + "…"]
    return lines


def draw_text_safe(draw: ImageDraw.ImageDraw, xy, text: str, font, fill, **kwargs) -> None:
    """Draw text; a glyph problem in an exotic script must never cost the picture."""
    try:
        draw.text(xy, text, font=font, fill=fill, **kwargs)
    except Exception:
        draw.text(xy, text.encode("ascii", "replace").decode("ascii"), font=font, fill=fill, **kwargs)


# -- the backend ------------------------------------------------------------------------------
class StoryboardIllustrator(IllustratorBackend):
    """Draws storyboard panels procedurally. Options: none required.

    options: caption (bool, default True: draw the caption strip), labels (bool, default True:
    name labels under figures), corner_label (bool, default True).
    """

    name = "storyboard"
    kind = "procedural"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.draw_caption = bool(options.get("caption", True))
        self.draw_labels = bool(options.get("labels", True))
        self.draw_corner_label = bool(options.get("corner_label", True))

    @property
    def model_id(self) -> str:
        return MODEL_ID

    def check_inputs(self, request: IllustrationRequest) -> None:
        """Reject what cannot be drawn, naming the precise problem."""
        for side in ("width", "height"):
            value = getattr(request, side)
            if isinstance(value, bool) or not isinstance(value, int):
                raise StoryboardInputError(f"{side} must be an integer number of pixels, got {value!r}")
            if not MIN_SIDE <= value <= MAX_SIDE:
                raise StoryboardInputError(f"{side} {value} is out of range: it must be between {MIN_SIDE} and {MAX_SIDE}")
            if value % 8:
                raise StoryboardInputError(f"{side} {value} must be a multiple of 8 (e.g. {value - value % 8 or 8})")
        if isinstance(request.seed, bool) or not isinstance(request.seed, int):
            raise StoryboardInputError(f"seed must be an integer, got {request.seed!r}")
        if request.seed < 0:
            raise StoryboardInputError(f"seed must be >= 0, got {request.seed}")
        for i, entry in enumerate(request.palette or []):
            if not isinstance(entry, str) or not HEX_COLOR.match(entry):
                raise StoryboardInputError(f"palette[{i}] = {entry!r} is not a colour of the form '#rrggbb'")
        for i, figure in enumerate(request.figures or []):
            if not isinstance(figure, Figure):
                raise StoryboardInputError(f"figures[{i}] must be a Figure, got {type(figure).__name__}")

    def illustrate(self, requests: list[IllustrationRequest]) -> list[ImageResult]:
        for i, request in enumerate(requests):
            try:
                self.check_inputs(request)
            except StoryboardInputError as exc:
                raise StoryboardInputError(f"request {i}: {exc.message}") from None
        results = []
        for request in requests:
            holder: dict[str, Any] = {}

            def render(request=request, holder=holder):
                image, holder["parameters"] = render_page(
                    request, caption=self.draw_caption, labels=self.draw_labels, corner_label=self.draw_corner_label,
                )
                return image

            # Parameters are only known after drawing; the Provenance object is filled in after.
            image, provenance = self.timed("illustrate", render, seed=request.seed, prompt=request.prompt)
            provenance.parameters = holder["parameters"]
            results.append(ImageResult(image=image, provenance=provenance))
        return results
