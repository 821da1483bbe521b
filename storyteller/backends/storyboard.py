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


# -- figures ------------------------------------------------------------------------------------
# A figure is drawn in "units": 100 units = the height of an adult person. Every drawer works on a
# generous transparent canvas with the feet on the baseline, at 3x resolution; the result is
# downsampled (anti-aliasing) and cropped to what was drawn. Nothing here looks at a page seed.
SUPERSAMPLE = 3
CANVAS_W, CANVAS_H, BASE = 200, 150, 146  # units; feet/base of every figure on y = BASE


def bezier(points: list[tuple[float, float]], steps: int = 16) -> list[tuple[float, float]]:
    """Points along a Bezier curve of any degree (de Casteljau); for tails, hair and hills."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        pts = list(points)
        while len(pts) > 1:
            pts = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for a, b in zip(pts, pts[1:])]
        out.append(pts[0])
    return out


class Pen:
    """Draws shapes in figure units onto a supersampled RGBA canvas, each with an ink outline."""

    def __init__(self, unit_px: float, width_u: float = CANVAS_W, height_u: float = CANVAS_H):
        self.k = unit_px / 100 * SUPERSAMPLE
        self.unit_px = unit_px
        self.image = Image.new("RGBA", (max(1, round(width_u * self.k)), max(1, round(height_u * self.k))), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)
        self.outline_w = max(1, round(1.5 * self.k))

    def _xy(self, points) -> list[tuple[float, float]]:
        return [(x * self.k, y * self.k) for x, y in points]

    def _outline(self, outline) -> tuple[Any, int]:
        if outline is False or outline is None:
            return None, 0
        return (INK if outline is True else outline), self.outline_w

    def ellipse(self, cx, cy, rx, ry, fill, outline=True) -> None:
        color, width = self._outline(outline)
        box = [(cx - rx) * self.k, (cy - ry) * self.k, (cx + rx) * self.k, (cy + ry) * self.k]
        self.draw.ellipse(box, fill=fill, outline=color, width=width)

    def circle(self, cx, cy, r, fill, outline=True) -> None:
        self.ellipse(cx, cy, r, r, fill, outline)

    def rect(self, x0, y0, x1, y1, fill, radius=0.0, outline=True) -> None:
        color, width = self._outline(outline)
        box = [x0 * self.k, y0 * self.k, x1 * self.k, y1 * self.k]
        radius = min(radius, (x1 - x0) / 2, (y1 - y0) / 2)
        self.draw.rounded_rectangle(box, radius=radius * self.k, fill=fill, outline=color, width=width)

    def poly(self, points, fill, outline=True) -> None:
        color, width = self._outline(outline)
        self.draw.polygon(self._xy(points), fill=fill, outline=color, width=width)

    def line(self, points, color, width_u: float, round_ends: bool = True) -> None:
        pts = self._xy(points)
        w = max(1, round(width_u * self.k))
        self.draw.line(pts, fill=color, width=w, joint="curve")
        if round_ends:
            for x, y in (pts[0], pts[-1]):
                self.draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=color)

    def stroke(self, points, fill, width_u: float) -> None:
        """A thick limb with an ink outline: an ink line, then the fill line on top."""
        self.line(points, INK, width_u + 3.0)
        self.line(points, fill, width_u)

    def arc(self, cx, cy, rx, ry, start, end, color, width_u: float) -> None:
        box = [(cx - rx) * self.k, (cy - ry) * self.k, (cx + rx) * self.k, (cy + ry) * self.k]
        self.draw.arc(box, start, end, fill=color, width=max(1, round(width_u * self.k)))

    def finish(self) -> Image.Image:
        """Downsample (anti-aliasing) and crop to the drawn pixels, keeping the feet at the bottom."""
        small = self.image.resize(
            (max(1, round(self.image.width / SUPERSAMPLE)), max(1, round(self.image.height / SUPERSAMPLE))),
            Image.LANCZOS,
        )
        box = small.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
        return small.crop(box) if box else small


def face(pen: Pen, cx: float, cy: float, size: float, *, eye_color: RGB = INK, blush: bool = True,
         smile: bool = True, gap: float = 0.42, eye_r: float = 0.13) -> None:
    """Friendly picture-book face: dot eyes with a highlight, a small smile, pink cheeks."""
    er = size * eye_r
    for side in (-1, 1):
        ex = cx + side * size * gap
        pen.circle(ex, cy, er, rgba(eye_color), outline=False)
        pen.circle(ex + er * 0.35, cy - er * 0.35, er * 0.38, (255, 255, 255, 235), outline=False)
        if blush:
            pen.ellipse(ex + side * size * 0.12, cy + size * 0.36, size * 0.17, size * 0.1, (240, 120, 130, 110), outline=False)
    if smile:
        pen.arc(cx, cy + size * 0.28, size * 0.2, size * 0.14, 20, 160, rgba(INK), max(0.9, size * 0.07))


# People ---------------------------------------------------------------------------------------
FEMALE_WORDS = {"girl", "woman", "sister", "mother", "mum", "mom", "mommy", "mummy", "grandma", "granny",
                "grandmother", "queen", "princess", "witch", "lady", "aunt", "auntie", "daughter", "she", "her",
                "niece", "ballerina", "fairy", "mermaid"}
MALE_WORDS = {"boy", "man", "brother", "father", "dad", "daddy", "grandpa", "grandfather", "king", "prince",
              "wizard", "uncle", "son", "he", "his", "him", "nephew", "gentleman"}
CHILD_WORDS = {"girl", "boy", "child", "kid", "sister", "brother", "daughter", "son", "baby", "toddler",
               "little", "young", "niece", "nephew", "schoolgirl", "schoolboy", "twin"}
OLD_WORDS = {"old", "elderly", "grandma", "granny", "grandmother", "grandpa", "grandfather", "aged", "wizard"}
SKIN_TONES: tuple[RGB, ...] = ((255, 220, 190), (246, 204, 168), (228, 180, 140), (198, 140, 100),
                               (160, 106, 72), (118, 78, 54))
HAIR_COLORS: tuple[RGB, ...] = ((70, 46, 30), (120, 72, 40), (30, 26, 28), (200, 150, 80), (170, 80, 40), (92, 60, 40))
PERSON_WORDS = (FEMALE_WORDS | MALE_WORDS | CHILD_WORDS | OLD_WORDS | {
    "person", "human", "keeper", "lighthousekeeper", "knight", "pirate", "baker", "chef", "cook", "farmer",
    "sailor", "fisherman", "fisher", "teacher", "doctor", "explorer", "astronaut", "detective", "elf", "giant",
    "people", "friend", "traveller", "traveler", "shepherd", "gardener", "painter", "musician", "captain",
    "scientist", "inventor", "ranger", "postman", "postwoman", "student", "villager", "merchant", "hunter",
    "clown", "dancer", "warrior", "adult", "teen", "teenager", "parent", "grandparent", "nurse", "queen"})


@dataclass(frozen=True)
class Look:
    """What a figure's drawing depends on, resolved once from the Figure."""

    kind: str          # person, quadruped, seal, turtle, bird, penguin, owl, robot, dragon, octopus, fish, ...
    species: str       # the matched species word ("fox", "girl", ...)
    words: frozenset   # words of species + description
    colors: tuple      # parsed colours, in the figure's order
    color_words: tuple # the figure's colour strings, lower case
    description: str
    key: str

    def color(self, i: int, default: RGB) -> RGB:
        return self.colors[i] if i < len(self.colors) else default

    def has(self, *words: str) -> bool:
        return any(w in self.words for w in words)

    def pick(self, salt: str, options):
        """A stable choice for this character (same key -> same choice on every page)."""
        return options[stable_int(self.key, self.species, salt) % len(options)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _color_near(words: list[str], anchor: set[str], span: int = 3) -> RGB | None:
    """The colour word closest before one of `anchor` ("long red hair" -> red)."""
    for i, w in enumerate(words):
        if w in anchor or any(w.startswith(a) for a in anchor):
            for j in range(i - 1, max(-1, i - span - 1), -1):
                if words[j] in COLOR_WORDS:
                    return COLOR_WORDS[words[j]]
    return None


def draw_person(pen: Pen, look: Look) -> None:
    words = _words(look.description)
    child = look.has(*CHILD_WORDS)
    old = look.has(*OLD_WORDS)
    masculine = look.has(*MALE_WORDS, "beard", "bearded", "moustache", "mustache")
    female = look.has(*FEMALE_WORDS) or (not masculine and look.pick("gender", (True, False)))
    role = next((r for r in ("knight", "witch", "wizard", "keeper", "sailor", "fisherman", "captain", "pirate",
                             "king", "queen", "prince", "princess", "chef", "baker", "cook", "astronaut", "explorer")
                 if look.has(r)), "")
    if "lighthouse" in look.words:
        role = role or "keeper"

    H = 76.0 if child else 100.0
    cx = CANVAS_W / 2
    skin = look.pick("skin", SKIN_TONES)
    hair = _color_near(words, {"hair", "haired", "braid", "pigtail", "curl", "ponytail", "beard"})
    explicit_hair = hair is not None
    if hair is None:
        hair = look.pick("hair", ((225, 225, 225), (200, 200, 206))) if old else look.pick("haircol", HAIR_COLORS)
    palette = [c for c, w in zip(look.colors, look.color_words) if not (explicit_hair and parse_color(w) == hair)]
    cloth = palette[0] if palette else hsv(stable_int(look.key, "cloth") % 360 / 360, 0.55, 0.8)
    lower = palette[1] if len(palette) > 1 else mix(cloth, (40, 50, 90), 0.55)
    accent = palette[2] if len(palette) > 2 else hsv(stable_int(look.key, "acc") % 360 / 360, 0.6, 0.85)
    if role == "knight":
        cloth, lower = (196, 202, 214), (150, 156, 170)
        accent = palette[0] if palette else accent
    if role == "astronaut":
        cloth, lower = (240, 242, 246), (220, 224, 230)
        accent = palette[0] if palette else (230, 90, 60)
    dress = (female and (look.has("dress", "skirt", "gown", "princess", "queen", "witch")
                         or (not look.has("trousers", "jeans", "pants", "overalls", "dungarees", "shorts")
                             and look.pick("dress", (True, False)))))
    if role in ("knight", "astronaut"):
        dress = False

    head_r = H * (0.19 if child else 0.135)
    base = BASE
    leg_top = base - H * (0.3 if child else 0.33)
    neck_y = base - H * (0.62 if child else 0.7)
    head_cy = neck_y - head_r * 0.82
    shoulder = H * (0.15 if child else 0.14)
    boot = (70, 52, 44) if not look.has("boots") else mix(accent, INK, 0.3)

    # Legs and shoes, behind the body.
    leg_w = H * 0.075
    for side in (-1, 1):
        lx = cx + side * H * 0.058
        leg_col = skin if (dress and not look.has("tights", "trousers")) else lower
        pen.rect(lx - leg_w / 2, leg_top - 4, lx + leg_w / 2, base - 3, rgba(leg_col), radius=2)
        pen.ellipse(lx + side * 1.5, base - 3.2, leg_w * 0.75, 3.4, rgba(boot))

    # Long hair hangs behind the body.
    style = _hair_style(look, female, child, old, role)
    if style in ("long", "braid") and role not in ("knight", "astronaut"):
        pen.rect(cx - head_r * 1.12, head_cy - head_r * 0.2, cx + head_r * 1.12, neck_y + H * 0.16, rgba(hair), radius=head_r * 0.6)

    # Arms (behind the torso so the shoulders stay clean).
    arm_w = H * 0.065
    for side in (-1, 1):
        sx = cx + side * shoulder * 0.85
        hand = (cx + side * shoulder * 1.45, leg_top + H * 0.02)
        pen.stroke([(sx, neck_y + 5), (cx + side * shoulder * 1.3, neck_y + H * 0.16), hand], rgba(cloth), arm_w)
        pen.circle(hand[0], hand[1] + 1, arm_w * 0.62, rgba(skin if role not in ("knight", "astronaut") else lower))

    # Torso: a dress flares, a tunic is a rounded block; knights get a tabard, keepers a jumper.
    if dress:
        hem = base - H * (0.16 if child else 0.2)
        pen.poly([(cx - shoulder * 0.8, neck_y + 1), (cx + shoulder * 0.8, neck_y + 1),
                  (cx + shoulder * 1.45, hem), (cx - shoulder * 1.45, hem)], rgba(cloth))
        pen.line([(cx - shoulder * 1.35, hem - 3), (cx + shoulder * 1.35, hem - 3)], rgba(shade(cloth, 0.8)), 1.6)
        pen.line([(cx - shoulder * 0.75, neck_y + H * 0.13), (cx + shoulder * 0.75, neck_y + H * 0.13)], rgba(accent), 2.2)
    else:
        pen.rect(cx - shoulder, neck_y, cx + shoulder, leg_top + 3, rgba(cloth), radius=shoulder * 0.55)
        if role == "knight":
            pen.rect(cx - shoulder * 0.62, neck_y + 4, cx + shoulder * 0.62, leg_top + 6, rgba(accent), radius=2)
            pen.poly([(cx, neck_y + 9), (cx + 4, neck_y + 14), (cx, neck_y + 20), (cx - 4, neck_y + 14)], rgba((240, 210, 80)))
        elif role in ("keeper", "sailor", "fisherman", "captain"):
            for i in range(3):  # a striped jumper
                y = neck_y + 7 + i * (leg_top - neck_y - 8) / 3
                pen.line([(cx - shoulder + 1.5, y), (cx + shoulder - 1.5, y)], rgba(shade(cloth, 1.5)), 2.0, round_ends=False)
        else:
            pen.line([(cx, neck_y + 4), (cx, leg_top)], rgba(shade(cloth, 0.82)), 1.0)  # a simple button line
            for i in range(2):
                pen.circle(cx, neck_y + 9 + i * 8, 1.2, rgba(shade(cloth, 0.6)), outline=False)
    if role in ("chef", "baker", "cook") or look.has("apron"):
        pen.rect(cx - shoulder * 0.7, neck_y + H * 0.1, cx + shoulder * 0.7, leg_top + 8, (250, 250, 246, 255), radius=3)

    # Head, hair, face, headwear.
    pen.rect(cx - 3, neck_y - 5, cx + 3, neck_y + 2, rgba(skin), outline=False)
    if role == "astronaut":
        pen.circle(cx, head_cy, head_r * 1.45, (225, 235, 245, 255))
    if style == "pigtails":
        for side in (-1, 1):
            pen.circle(cx + side * head_r * 1.15, head_cy + head_r * 0.25, head_r * 0.48, rgba(hair))
    pen.circle(cx, head_cy, head_r, rgba(skin))
    _hair_front(pen, style, cx, head_cy, head_r, hair, accent)
    face(pen, cx, head_cy + head_r * 0.12, head_r, eye_color=(40, 36, 40), gap=0.4)
    if look.has("glasses", "spectacles", "goggles"):
        for side in (-1, 1):
            pen.circle(cx + side * head_r * 0.4, head_cy + head_r * 0.12, head_r * 0.27, None)
        pen.line([(cx - head_r * 0.14, head_cy + head_r * 0.1), (cx + head_r * 0.14, head_cy + head_r * 0.1)], rgba(INK), 1.0)
    if (not female and (old or role in ("keeper", "wizard", "fisherman", "captain"))) or look.has("beard"):
        beard = hair if explicit_hair or not old else (236, 236, 236)
        pen.poly([(cx - head_r * 0.78, head_cy + head_r * 0.35), (cx + head_r * 0.78, head_cy + head_r * 0.35),
                  (cx + head_r * 0.5, head_cy + head_r * (1.6 if role == "wizard" else 1.15)),
                  (cx, head_cy + head_r * (2.1 if role == "wizard" else 1.4)),
                  (cx - head_r * 0.5, head_cy + head_r * (1.6 if role == "wizard" else 1.15))], rgba(beard))
        pen.arc(cx, head_cy + head_r * 0.5, head_r * 0.22, head_r * 0.12, 20, 160, rgba(INK), 1.0)
    if look.has("scarf"):
        pen.rect(cx - shoulder * 0.85, neck_y - 2, cx + shoulder * 0.85, neck_y + 4, rgba(accent), radius=2.5)
        pen.rect(cx + shoulder * 0.2, neck_y, cx + shoulder * 0.55, neck_y + 15, rgba(accent), radius=1.5)
    _headwear(pen, look, role, cx, head_cy, head_r, cloth, accent)


def _hair_style(look: Look, female: bool, child: bool, old: bool, role: str) -> str:
    for word, style in (("pigtail", "pigtails"), ("braid", "long"), ("ponytail", "long"), ("bun", "bun"),
                        ("curly", "curly"), ("curls", "curly"), ("bald", "bald"), ("spiky", "spiky"),
                        ("long", "long"), ("short", "short"), ("bob", "bob")):
        if any(w.startswith(word) for w in look.words):
            return style
    if role in ("knight", "astronaut"):
        return "short"
    if female:
        return look.pick("hairstyle", ("pigtails", "long", "bob") if child else ("long", "bun", "bob"))
    return look.pick("hairstyle", ("short", "curly", "spiky") if child else ("short", "curly", "bald") if old else ("short", "curly"))


def _hair_front(pen: Pen, style: str, cx, cy, r, hair: RGB, accent: RGB) -> None:
    """Hair over the top of the head, drawn as a cap plus a fringe."""
    col = rgba(hair)
    if style == "bald":
        pen.ellipse(cx - r * 0.95, cy + r * 0.05, r * 0.2, r * 0.32, col)
        pen.ellipse(cx + r * 0.95, cy + r * 0.05, r * 0.2, r * 0.32, col)
        return
    if style == "curly":
        for i in range(7):
            a = np.pi * (1.05 + i * 0.15)
            pen.circle(cx + np.cos(a) * r * 0.92, cy + np.sin(a) * r * 0.88, r * 0.34, col)
        return
    if style == "spiky":
        pts = [(cx - r * 1.02, cy - r * 0.05)]
        for i in range(6):
            a = np.pi * (1.0 + (i + 0.5) / 6)
            pts.append((cx + np.cos(a) * r * 1.3, cy + np.sin(a) * r * 1.3))
            a2 = np.pi * (1.0 + (i + 1) / 6)
            pts.append((cx + np.cos(a2) * r * 0.9, cy + np.sin(a2) * r * 0.85))
        pts.append((cx + r * 1.02, cy - r * 0.05))
        pen.poly(pts, col)
        return
    # short / long / bob / bun / pigtails: a cap over the top half with a side-swept fringe
    if style == "bob":  # a full bob: hair to the jaw on both sides
        pen.rect(cx - r * 1.2, cy - r * 0.3, cx + r * 1.2, cy + r * 0.85, col, radius=r * 0.35)
    side_y = {"bob": r * 0.75, "long": r * 0.5}.get(style, r * 0.05)
    cap = [(cx - r * 1.05, cy + side_y)]
    cap += [(cx + np.cos(a) * r * 1.07, cy + np.sin(a) * r * 1.07) for a in np.linspace(np.pi, 2 * np.pi, 18)]
    cap += [(cx + r * 1.05, cy + side_y),
            (cx + r * 0.75, cy - r * 0.05), (cx + r * 0.1, cy - r * 0.42), (cx - r * 0.5, cy - r * 0.2),
            (cx - r * 0.85, cy + r * 0.05)]
    pen.poly(cap, col)
    if style == "bun":
        pen.circle(cx, cy - r * 1.15, r * 0.42, col)
    if style == "pigtails":
        for side in (-1, 1):
            pen.circle(cx + side * r * 0.95, cy - r * 0.35, r * 0.16, rgba(accent))


def _headwear(pen: Pen, look: Look, role: str, cx, cy, r, cloth: RGB, accent: RGB) -> None:
    top = cy - r
    if role in ("witch", "wizard"):
        hat = cloth if role == "witch" else mix(cloth, (60, 60, 150), 0.5)
        pen.ellipse(cx, top + r * 0.15, r * 1.6, r * 0.32, rgba(hat))
        pen.poly([(cx - r * 0.95, top + r * 0.12), (cx + r * 0.95, top + r * 0.12), (cx + r * 0.35, top - r * 1.5),
                  (cx - r * 0.15, top - r * 1.85)], rgba(hat))
        pen.line([(cx - r * 0.85, top - r * 0.05), (cx + r * 0.85, top - r * 0.05)], rgba(accent), 2.0, round_ends=False)
    elif role == "knight":
        pen.circle(cx, cy - r * 0.05, r * 1.08, (200, 206, 218, 255))
        pen.rect(cx - r * 0.8, cy - r * 0.02, cx + r * 0.8, cy + r * 0.2, (40, 44, 54, 255), radius=1)
        pen.line([(cx, top - r * 0.1), (cx - r * 0.5, top - r * 0.9), (cx - r * 1.0, top - r * 0.6)], rgba(accent), 3.0)
    elif role in ("keeper", "sailor", "fisherman", "captain"):
        cap = (40, 52, 92) if role != "fisherman" else (236, 196, 60)
        pen.rect(cx - r * 0.95, top - r * 0.3, cx + r * 0.95, top + r * 0.45, rgba(cap), radius=r * 0.4)
        pen.rect(cx - r * 1.15, top + r * 0.3, cx + r * 1.15, top + r * 0.52, rgba(shade(cap, 0.7)), radius=1.5)
    elif role in ("king", "queen", "prince", "princess") or look.has("crown", "tiara"):
        gold = (240, 196, 60, 255)
        pts = [(cx - r * 0.7, top + r * 0.25), (cx - r * 0.75, top - r * 0.45), (cx - r * 0.35, top - r * 0.05),
               (cx, top - r * 0.6), (cx + r * 0.35, top - r * 0.05), (cx + r * 0.75, top - r * 0.45), (cx + r * 0.7, top + r * 0.25)]
        pen.poly(pts, gold)
    elif role in ("chef", "baker", "cook"):
        white = (252, 252, 250, 255)
        for dx in (-0.5, 0.0, 0.5):
            pen.circle(cx + dx * r, top - r * 0.45, r * 0.5, white)
        pen.rect(cx - r * 0.75, top - r * 0.35, cx + r * 0.75, top + r * 0.25, white, radius=1)
    elif role == "pirate":
        pen.poly([(cx - r * 1.05, top + r * 0.4), (cx - r * 0.8, top - r * 0.2), (cx + r * 0.8, top - r * 0.2),
                  (cx + r * 1.05, top + r * 0.4)], rgba((200, 40, 40)))
    elif role == "astronaut":
        pen.ellipse(cx - r * 0.55, cy - r * 0.65, r * 0.25, r * 0.15, (255, 255, 255, 200), outline=False)
    elif look.has("hat", "cap", "beanie", "bonnet", "hood"):
        pen.rect(cx - r * 0.95, top - r * 0.35, cx + r * 0.95, top + r * 0.4, rgba(accent), radius=r * 0.5)
        if look.has("beanie", "bobble", "woolly"):
            pen.circle(cx, top - r * 0.45, r * 0.25, rgba(shade(accent, 1.4)))


# Four-legged animals --------------------------------------------------------------------------
@dataclass(frozen=True)
class Beast:
    """Proportions of a four-legged animal, in units (an adult person is 100 tall)."""

    length: float = 56        # body length
    depth: float = 26         # body height
    legs: float = 16          # leg length
    head: float = 15          # head radius
    ears: str = "point"       # point, round, long, floppy, small
    tail: str = "thin"        # bushy, thin, puff, stub, long, curly, tuft, spade
    snout: str = "round"      # point, round, flat, trunk
    colors: tuple = ("brown", "cream")
    marks: tuple = ()         # belly, spikes, mane, stripes, spots, horn, antlers, mask, wool, whiskers, horns, tiptail


BEASTS: dict[str, Beast] = {
    "fox": Beast(58, 24, 15, 16, "point", "bushy", "point", ("orange", "white"), ("belly", "tiptail", "whiskers")),
    "wolf": Beast(64, 27, 19, 17, "point", "bushy", "point", ("grey", "white"), ("belly",)),
    "cat": Beast(46, 21, 14, 14, "point", "thin", "round", ("grey", "white"), ("belly", "whiskers")),
    "kitten": Beast(36, 17, 11, 13, "point", "thin", "round", ("orange", "white"), ("belly", "whiskers")),
    "dog": Beast(54, 25, 17, 16, "floppy", "stub", "round", ("brown", "cream"), ("belly",)),
    "puppy": Beast(42, 21, 13, 15, "floppy", "stub", "round", ("tan", "cream"), ("belly",)),
    "mouse": Beast(26, 14, 6, 10, "round", "long", "point", ("grey", "pink"), ("whiskers",)),
    "rat": Beast(32, 15, 7, 10, "round", "long", "point", ("grey", "pink"), ("whiskers",)),
    "hedgehog": Beast(36, 20, 6, 11, "small", "none", "point", ("brown", "cream"), ("spikes",)),
    "bear": Beast(70, 38, 18, 20, "round", "stub", "round", ("brown", "tan"), ("belly",)),
    "rabbit": Beast(34, 20, 9, 13, "long", "puff", "round", ("white", "pink"), ("whiskers",)),
    "bunny": Beast(30, 18, 8, 12, "long", "puff", "round", ("white", "pink"), ("whiskers",)),
    "hare": Beast(40, 20, 15, 13, "long", "puff", "round", ("brown", "cream"), ("whiskers",)),
    "squirrel": Beast(30, 17, 8, 11, "point", "bushy", "round", ("russet", "cream"), ("belly",)),
    "badger": Beast(52, 24, 10, 15, "small", "stub", "point", ("grey", "white"), ("mask",)),
    "raccoon": Beast(46, 22, 11, 14, "point", "bushy", "point", ("grey", "white"), ("mask",)),
    "otter": Beast(52, 18, 8, 13, "small", "long", "round", ("brown", "cream"), ("belly", "whiskers")),
    "lion": Beast(66, 30, 20, 17, "round", "tuft", "round", ("gold", "cream"), ("mane",)),
    "tiger": Beast(66, 28, 19, 17, "round", "thin", "round", ("orange", "white"), ("stripes", "belly")),
    "horse": Beast(70, 30, 34, 15, "point", "long", "long", ("chestnut", "cream"), ("mane",)),
    "pony": Beast(58, 27, 24, 14, "point", "long", "long", ("white", "pink"), ("mane",)),
    "unicorn": Beast(64, 28, 30, 14, "point", "long", "long", ("white", "lilac"), ("mane", "horn")),
    "deer": Beast(60, 26, 30, 14, "point", "puff", "point", ("tawny", "cream"), ("antlers", "spots")),
    "cow": Beast(72, 34, 20, 17, "small", "tuft", "flat", ("white", "black"), ("spots", "horns")),
    "pig": Beast(54, 30, 10, 16, "point", "curly", "flat", ("pink", "rose"), ()),
    "sheep": Beast(54, 32, 14, 13, "small", "stub", "round", ("cream", "charcoal"), ("wool",)),
    "lamb": Beast(44, 27, 12, 12, "small", "stub", "round", ("white", "charcoal"), ("wool",)),
    "goat": Beast(54, 26, 20, 13, "small", "stub", "long", ("white", "grey"), ("horns",)),
    "elephant": Beast(84, 48, 24, 24, "floppy", "thin", "trunk", ("grey", "pink"), ()),
    "panda": Beast(64, 36, 16, 19, "round", "stub", "round", ("white", "black"), ("panda",)),
    "koala": Beast(40, 26, 10, 16, "round", "none", "round", ("grey", "white"), ()),
    "monkey": Beast(40, 22, 16, 14, "round", "curly", "round", ("brown", "tan"), ("belly",)),
    "frog": Beast(30, 16, 6, 12, "none", "none", "flat", ("green", "lime"), ("belly",)),
    "lizard": Beast(48, 12, 6, 10, "none", "long", "point", ("green", "yellow"), ()),
    "dinosaur": Beast(70, 32, 20, 16, "none", "long", "round", ("green", "yellow"), ("spikes_back",)),
    "dragon": Beast(70, 30, 18, 17, "none", "spade", "dragon", ("green", "gold"), ("wings", "spikes_back", "horns")),
}
ALIASES = {"foxes": "fox", "vixen": "fox", "cub": "bear", "teddy": "bear", "kitty": "cat", "tomcat": "cat",
           "hound": "dog", "pup": "puppy", "doggy": "dog", "mice": "mouse", "hedgehogs": "hedgehog",
           "bunnies": "bunny", "leveret": "hare", "stag": "deer", "reindeer": "deer", "doe": "deer", "fawn": "deer",
           "calf": "cow", "ox": "cow", "bull": "cow", "piglet": "pig", "hog": "pig", "dino": "dinosaur",
           "toad": "frog", "gecko": "lizard", "chameleon": "lizard", "tortoise": "turtle", "pinniped": "seal",
           "sealion": "seal", "walrus": "seal", "pup_seal": "seal", "droid": "robot", "android": "robot",
           "automaton": "robot", "bot": "robot", "wyvern": "dragon", "dragonet": "dragon", "squid": "octopus",
           "goldfish": "fish", "salmon": "fish", "whale": "fish", "dolphin": "fish", "shark": "fish",
           "puffin": "bird", "robin": "bird", "sparrow": "bird", "crow": "bird", "raven": "bird", "parrot": "bird",
           "gull": "bird", "seagull": "bird", "swan": "duck", "goose": "duck", "duckling": "duck", "hen": "chicken",
           "chick": "chicken", "rooster": "chicken", "cockerel": "chicken", "pony": "pony", "mare": "horse",
           "stallion": "horse", "foal": "pony", "donkey": "horse", "zebra": "horse", "tigress": "tiger",
           "lioness": "lion", "wolfcub": "wolf", "ewe": "sheep", "ram": "sheep", "billy": "goat", "ape": "monkey",
           "chimp": "monkey", "gorilla": "monkey", "blob": "blob", "ghost": "blob", "monster": "blob",
           "creature": "blob", "slime": "blob", "star": "blob", "moon": "blob", "sun": "blob", "balloon": "blob",
           "teapot": "blob", "toy": "blob", "snowmen": "snowman", "lorry": "bus", "truck": "bus", "car": "bus",
           "tram": "bus", "train": "bus", "van": "bus", "taxi": "bus", "kites": "kite", "raincloud": "cloud"}
SPECIAL_KINDS = {"seal": ("grey", "silver"), "turtle": ("green", "tan"), "bird": ("blue", "orange"),
                 "owl": ("brown", "cream"), "penguin": ("black", "white"), "duck": ("yellow", "orange"),
                 "chicken": ("white", "red"), "robot": ("silver", "red"), "octopus": ("purple", "pink"),
                 "fish": ("orange", "white"), "snowman": ("white", "red"), "cloud": ("white", "sky"),
                 "kite": ("red", "yellow"), "bus": ("yellow", "red"), "blob": ("lilac", "cream")}
GENERIC_SPECIES = {"", "person", "human", "character", "creature", "animal", "other", "thing", "being", "friend"}


def resolve_look(figure: Figure) -> Look:
    """Decide what kind of figure this is from its species (then its description) and its colours."""
    species_words = _words(figure.species or "")
    desc_words = _words(figure.description or "")
    search = species_words if set(species_words) - GENERIC_SPECIES else species_words + desc_words
    kind, match = "", ""
    for w in search:
        w2 = ALIASES.get(w, w)
        if w2 in BEASTS:
            kind, match = ("dragon" if w2 == "dragon" else "quadruped"), w2
        elif w2 in SPECIAL_KINDS:
            kind, match = w2, w2
        elif w2.rstrip("s") in BEASTS:
            kind, match = "quadruped", w2.rstrip("s")
        elif w in PERSON_WORDS:
            kind, match = "person", w
        if kind:
            break
    if not kind:
        kind, match = ("person", "person") if set(species_words) <= GENERIC_SPECIES else ("blob", "blob")
    colors = tuple(parse_color(c) for c in (figure.colors or []) if str(c).strip())
    return Look(kind=kind, species=match, words=frozenset(species_words + desc_words), colors=colors,
                color_words=tuple(str(c).strip().lower() for c in (figure.colors or []) if str(c).strip()),
                description=figure.description or "", key=figure.key or "")


def _beast_colors(look: Look, defaults: tuple) -> tuple[RGB, RGB, RGB]:
    main = look.color(0, parse_color(defaults[0]))
    second = look.color(1, parse_color(defaults[1]) if len(defaults) > 1 else shade(main, 1.5))
    third = look.color(2, shade(main, 0.55))
    return main, second, third


def draw_quadruped(pen: Pen, look: Look, spec: Beast) -> None:
    main, second, third = _beast_colors(look, spec.colors)
    far = shade(main, 0.78)
    L, D, legs, R = spec.length, spec.depth, spec.legs, spec.head
    cx = CANVAS_W / 2 - 8
    cy = BASE - legs - D / 2 + 3
    head_x, head_y = cx + L * 0.46, cy - D * 0.45 - R * 0.45
    if spec.snout == "long":  # horses: head held forward and up on a neck
        head_x, head_y = cx + L * 0.56, cy - D * 0.7 - R * 0.7
    leg_w = max(5.0, L * 0.11)

    # Tail first (behind the body), far legs, wings.
    tail_root = (cx - L * 0.44, cy - D * 0.1)
    _tail(pen, spec.tail, tail_root, L, D, main, second, "tiptail" in spec.marks)
    if "wings" in spec.marks:  # a bat wing: bony top edge, scalloped membrane
        wing = shade(main, 0.72)
        wx, wy = cx, cy - D * 0.3
        tip = (wx - L * 0.2, wy - D * 2.0)
        top = bezier([(wx + L * 0.2, wy), (wx + L * 0.1, wy - D * 1.6), tip], 10)
        scallops = []
        for a, b in ((tip, (wx - L * 0.36, wy - D * 0.9)), ((wx - L * 0.36, wy - D * 0.9), (wx - L * 0.3, wy - D * 0.1))):
            mid = ((a[0] + b[0]) / 2 + L * 0.1, (a[1] + b[1]) / 2 + D * 0.1)
            scallops += bezier([a, mid, b], 6)
        pen.poly(top + scallops + [(wx - L * 0.1, wy + 2)], rgba(wing))
        pen.line(top, rgba(shade(main, 0.5)), 2.2)
    for x in (cx - L * 0.26, cx + L * 0.3):
        pen.rect(x - leg_w / 2 + 3, cy, x + leg_w / 2 + 3, BASE - 1.5, rgba(far), radius=leg_w * 0.45)
    if "spikes_back" in spec.marks:
        for i in range(6):
            sx = cx - L * 0.32 + i * L * 0.12
            sy = cy - D * 0.5 * np.sqrt(max(0.0, 1 - ((sx - cx) / (L * 0.5)) ** 2))
            pen.poly([(sx - 4, sy + 3), (sx, sy - 8), (sx + 4, sy + 3)], rgba(second))

    # Body.
    if "spikes" in spec.marks:  # hedgehog: a spiky coat over a cream body
        pts = []
        for i in range(29):
            a = np.pi * (0.95 + i / 28 * 1.1)
            rr = 1.28 if i % 2 else 1.0
            pts.append((cx + np.cos(a) * L * 0.52 * rr, cy + 2 + np.sin(a) * D * 0.62 * rr))
        pen.ellipse(cx, cy + 2, L * 0.5, D * 0.5, rgba(second))
        pen.poly(pts, rgba(shade(main, 0.8)))
    elif "wool" in spec.marks:  # sheep: a cloud of wool
        for i in range(9):
            a = 2 * np.pi * i / 9
            pen.circle(cx + np.cos(a) * L * 0.38, cy + np.sin(a) * D * 0.32, D * 0.32, rgba(main))
        pen.ellipse(cx, cy, L * 0.45, D * 0.42, rgba(main), outline=False)
    else:
        pen.ellipse(cx, cy, L / 2, D / 2, rgba(main))
    if "belly" in spec.marks:
        pen.ellipse(cx + L * 0.2, cy + D * 0.12, L * 0.2, D * 0.3, rgba(second), outline=False)
    if "stripes" in spec.marks:
        for i in range(5):
            x = cx - L * 0.3 + i * L * 0.14
            pen.line([(x - 2, cy - D * 0.44), (x + 1, cy - D * 0.1), (x - 1, cy + D * 0.05)], rgba(INK), 2.2)
    if "spots" in spec.marks:
        for i in range(5):
            a = stable_int(look.key, "spot", i)
            sx = cx - L * 0.3 + (a % 100) / 100 * L * 0.55
            sy = cy - D * 0.25 + ((a >> 8) % 100) / 100 * D * 0.4
            pen.ellipse(sx, sy, 3.5 + (a >> 16) % 3, 2.6 + (a >> 20) % 2, rgba(second if look.species == "cow" else shade(main, 1.45)), outline=False)
    if "panda" in spec.marks:
        pen.ellipse(cx + L * 0.12, cy - D * 0.05, L * 0.22, D * 0.5, rgba(second), outline=False)

    # Near legs and paws.
    for x in (cx - L * 0.34, cx + L * 0.22):
        pen.rect(x - leg_w / 2, cy + 2, x + leg_w / 2, BASE, rgba(main if "panda" not in spec.marks else second), radius=leg_w * 0.45)
        if spec.snout == "long" or look.species in ("goat", "deer", "cow"):
            pen.rect(x - leg_w / 2, BASE - 3.5, x + leg_w / 2, BASE, rgba(shade(main, 0.45)), radius=1)

    # Neck for long-necked beasts, then the head (front-facing: a picture-book convention).
    if spec.snout == "long":
        pen.poly([(cx + L * 0.28, cy - D * 0.35), (head_x - R * 0.6, head_y), (head_x + R * 0.5, head_y + R * 0.3),
                  (cx + L * 0.5, cy + D * 0.1)], rgba(main))
    if "mane" in spec.marks:
        mane = second if spec.snout != "long" else shade(main, 0.6) if look.color(1, None) is None else second
        if spec.snout == "long":
            pen.poly([(head_x - R * 0.2, head_y - R * 0.9), (head_x - R * 1.1, head_y + R * 0.2),
                      (cx + L * 0.22, cy - D * 0.45), (cx + L * 0.3, cy - D * 0.2), (head_x - R * 0.3, head_y + R * 0.5)],
                     rgba(look.color(1, (250, 200, 230) if look.species == "unicorn" else shade(main, 0.55))))
        else:
            for i in range(12):
                a = 2 * np.pi * i / 12
                pen.circle(head_x + np.cos(a) * R * 1.05, head_y + np.sin(a) * R * 1.05, R * 0.42, rgba(shade(main, 0.62)))
    _ears(pen, spec.ears, head_x, head_y, R, main, second)
    if "antlers" in spec.marks:
        for side in (-1, 1):
            bx = head_x + side * R * 0.45
            pen.line([(bx, head_y - R * 0.8), (bx + side * R * 0.35, head_y - R * 1.8), (bx + side * R * 0.9, head_y - R * 2.2)], rgba((150, 110, 70)), 2.6)
            pen.line([(bx + side * R * 0.25, head_y - R * 1.45), (bx - side * R * 0.2, head_y - R * 2.0)], rgba((150, 110, 70)), 2.4)
    if "horns" in spec.marks:
        for side in (-1, 1):
            bx = head_x + side * R * 0.5
            pen.poly([(bx - 2.2, head_y - R * 0.75), (bx + side * R * 0.45, head_y - R * 1.6), (bx + 2.2, head_y - R * 0.7)], (245, 235, 210, 255))
    head_rx = R * (1.12 if spec.snout != "long" else 0.9)
    pen.ellipse(head_x, head_y, head_rx, R * (0.95 if spec.snout != "long" else 1.05), rgba(main if "panda" not in spec.marks else main))
    if "horn" in spec.marks:
        pen.poly([(head_x - 2.5, head_y - R * 0.85), (head_x, head_y - R * 2.1), (head_x + 2.5, head_y - R * 0.85)], (250, 220, 120, 255))
    if "mask" in spec.marks:
        pen.ellipse(head_x, head_y - R * 0.05, R * 0.95, R * 0.32, rgba(shade(main, 0.35)), outline=False)
    if "panda" in spec.marks:
        for side in (-1, 1):
            pen.ellipse(head_x + side * R * 0.42, head_y - R * 0.02, R * 0.28, R * 0.34, rgba(second), outline=False)
    _snout(pen, spec, look, head_x, head_y, R, main, second)


def _tail(pen: Pen, style: str, root, L, D, main: RGB, second: RGB, tip: bool) -> None:
    x, y = root
    if style == "bushy":
        upper = bezier([(x + 4, y - D * 0.2), (x - L * 0.25, y - D * 0.9), (x - L * 0.55, y - D * 0.55), (x - L * 0.5, y + D * 0.25)], 14)
        lower = bezier([(x - L * 0.5, y + D * 0.25), (x - L * 0.38, y + D * 0.05), (x - L * 0.15, y + D * 0.1), (x + 4, y + D * 0.25)], 10)
        pen.poly(upper + lower, rgba(main))
        if tip:
            pen.ellipse(x - L * 0.48, y + D * 0.08, L * 0.09, D * 0.24, rgba(second))
    elif style == "thin":
        pen.stroke(bezier([(x + 2, y), (x - L * 0.25, y + D * 0.2), (x - L * 0.35, y - D * 0.6), (x - L * 0.22, y - D * 1.0)], 14), rgba(main), max(2.5, L * 0.055))
    elif style == "long":
        pen.stroke(bezier([(x + 2, y + D * 0.1), (x - L * 0.3, y + D * 0.2), (x - L * 0.45, y + D * 0.9), (x - L * 0.7, y + D * 0.7)], 14),
                   rgba(second if second != main and luminance(second) > 0.6 and L < 40 else main), max(1.6, L * 0.04))
    elif style == "puff":
        pen.circle(x - 1, y - D * 0.05, D * 0.28, rgba(shade(second, 1.3) if luminance(main) < 0.8 else main))
    elif style == "stub":
        pen.stroke([(x + 2, y), (x - L * 0.12, y - D * 0.35)], rgba(main), max(3.0, L * 0.07))
    elif style == "curly":
        pen.stroke([(x + 2, y), (x - 5, y - 4), (x - 8, y + 1), (x - 4, y + 4), (x - 7, y - 7)], rgba(main), 2.2)
    elif style == "tuft":
        pen.stroke(bezier([(x + 2, y), (x - L * 0.2, y + D * 0.1), (x - L * 0.3, y - D * 0.3)], 10), rgba(main), 2.4)
        pen.circle(x - L * 0.3, y - D * 0.35, 3.2, rgba(shade(main, 0.55)))
    elif style == "spade":
        pts = bezier([(x + 2, y), (x - L * 0.3, y + D * 0.6), (x - L * 0.6, y + D * 0.2), (x - L * 0.75, y - D * 0.3)], 14)
        pen.stroke(pts, rgba(main), max(4.0, L * 0.08))
        tx, ty = pts[-1]
        pen.poly([(tx, ty - 7), (tx + 5, ty + 2), (tx, ty + 1), (tx - 5, ty + 2)], rgba(second))


def _ears(pen: Pen, style: str, hx, hy, R, main: RGB, second: RGB) -> None:
    for side in (-1, 1):
        ex = hx + side * R * 0.62
        if style == "point":
            pts = [(ex - side * R * 0.42, hy - R * 0.55), (ex + side * R * 0.12, hy - R * 1.55), (ex + side * R * 0.42, hy - R * 0.3)]
            pen.poly(pts, rgba(main))
            inner = [(ex - side * R * 0.2, hy - R * 0.62), (ex + side * R * 0.1, hy - R * 1.25), (ex + side * R * 0.26, hy - R * 0.5)]
            pen.poly(inner, rgba(mix(second, (60, 40, 40), 0.25) if luminance(second) > 0.85 else second), outline=False)
        elif style == "round":
            pen.circle(ex + side * R * 0.12, hy - R * 0.82, R * 0.4, rgba(main))
            pen.circle(ex + side * R * 0.12, hy - R * 0.82, R * 0.22, rgba(second), outline=False)
        elif style == "small":
            pen.circle(ex + side * R * 0.2, hy - R * 0.72, R * 0.24, rgba(main))
        elif style == "long":
            pen.ellipse(ex - side * R * 0.15, hy - R * 1.55, R * 0.3, R * 0.95, rgba(main))
            pen.ellipse(ex - side * R * 0.15, hy - R * 1.5, R * 0.14, R * 0.7, rgba(second), outline=False)
        elif style == "floppy":
            pen.ellipse(ex + side * R * 0.48, hy + R * 0.05, R * 0.32, R * 0.68, rgba(shade(main, 0.72)))


def _snout(pen: Pen, spec: Beast, look: Look, hx, hy, R, main: RGB, second: RGB) -> None:
    light = second if luminance(second) > luminance(main) else shade(main, 1.45)
    if spec.snout == "dragon":  # a broad muzzle with nostrils and a toothy grin
        pen.ellipse(hx, hy + R * 0.45, R * 0.8, R * 0.45, rgba(shade(main, 1.25)))
        face(pen, hx, hy - R * 0.3, R, gap=0.45, smile=False, blush=False)
        for side in (-1, 1):
            pen.ellipse(hx + side * R * 0.28, hy + R * 0.32, R * 0.09, R * 0.06, rgba(INK), outline=False)
        pen.arc(hx, hy + R * 0.45, R * 0.45, R * 0.25, 20, 160, rgba(INK), 1.1)
        pen.poly([(hx - R * 0.2, hy + R * 0.66), (hx - R * 0.12, hy + R * 0.82), (hx - R * 0.04, hy + R * 0.67)], (255, 255, 255, 255), outline=False)
        return
    if spec.snout == "trunk":
        face(pen, hx, hy - R * 0.12, R, gap=0.5, blush=True, smile=False)
        pen.stroke(bezier([(hx, hy + R * 0.3), (hx, hy + R * 1.3), (hx + R * 0.6, hy + R * 1.5)], 10), rgba(main), R * 0.42)
        return
    if spec.snout == "point":  # a fox-like face: pale cheeks meeting at a dark nose
        pen.poly([(hx - R * 1.05, hy + R * 0.05), (hx - R * 0.3, hy + R * 0.2), (hx, hy + R * 0.85),
                  (hx + R * 0.3, hy + R * 0.2), (hx + R * 1.05, hy + R * 0.05), (hx + R * 0.5, hy + R * 0.7),
                  (hx, hy + R * 0.98), (hx - R * 0.5, hy + R * 0.7)], rgba(light), outline=False)
        face(pen, hx, hy - R * 0.1, R, gap=0.42, smile=False)
        pen.ellipse(hx, hy + R * 0.68, R * 0.17, R * 0.12, rgba(INK), outline=False)
    elif spec.snout == "flat":  # pigs, cows, frogs
        face(pen, hx, hy - R * 0.25, R, gap=0.45, smile=look.species == "frog")
        if look.species != "frog":
            pen.ellipse(hx, hy + R * 0.42, R * 0.5, R * 0.32, rgba(shade(second if look.species == "pig" else (240, 190, 190), 1.0)))
            for side in (-1, 1):
                pen.circle(hx + side * R * 0.18, hy + R * 0.42, R * 0.08, rgba(INK), outline=False)
    else:
        muzzle_y = hy + R * (0.42 if spec.snout == "round" else 0.55)
        pen.ellipse(hx, muzzle_y, R * 0.45, R * 0.32, rgba(light), outline=False)
        face(pen, hx, hy - R * 0.12, R, gap=0.42, smile=False)
        pen.ellipse(hx, muzzle_y - R * 0.14, R * 0.15, R * 0.1, rgba(INK), outline=False)
        pen.arc(hx, muzzle_y + R * 0.02, R * 0.16, R * 0.1, 20, 160, rgba(INK), 0.9)
    if "whiskers" in spec.marks:
        for side in (-1, 1):
            for dy in (-0.1, 0.08):
                pen.line([(hx + side * R * 0.35, hy + R * (0.6 + dy)), (hx + side * R * 1.2, hy + R * (0.5 + dy * 2.5))], (60, 50, 50, 160), 0.6)


# Other figure kinds ---------------------------------------------------------------------------
def draw_seal(pen: Pen, look: Look) -> None:
    main, second, _ = _beast_colors(look, SPECIAL_KINDS["seal"])
    cx, base = CANVAS_W / 2 - 6, BASE
    belly = second if second != main else shade(main, 1.4)
    pen.poly([(cx - 44, base - 8), (cx - 52, base - 16), (cx - 46, base - 9), (cx - 54, base - 2), (cx - 40, base - 3)], rgba(shade(main, 0.75)))
    body = bezier([(cx - 42, base - 4), (cx - 30, base - 28), (cx + 6, base - 30), (cx + 16, base - 38)], 14)
    body += bezier([(cx + 16, base - 38), (cx + 30, base - 46), (cx + 34, base - 20), (cx + 26, base)], 10)
    body += [(cx - 10, base), (cx - 42, base - 2)]
    pen.poly(body, rgba(main))
    pen.poly(bezier([(cx + 22, base - 30), (cx + 33, base - 18), (cx + 22, base - 1)], 8) + [(cx, base - 1), (cx + 8, base - 14)], rgba(belly), outline=False)
    for i in range(6):  # spotted coat
        a = stable_int(look.key, "seal", i)
        pen.circle(cx - 30 + a % 40, base - 16 + (a >> 8) % 10, 1.3 + (a >> 16) % 2, rgba(shade(main, 0.7)), outline=False)
    pen.ellipse(cx + 10, base - 6, 9, 4.5, rgba(shade(main, 0.8)))  # front flipper
    hx, hy, R = cx + 26, base - 50, 14
    pen.circle(hx, hy, R, rgba(main))
    pen.ellipse(hx, hy + R * 0.42, R * 0.5, R * 0.34, rgba(belly), outline=False)
    face(pen, hx, hy - R * 0.15, R, gap=0.42, eye_r=0.17, smile=False)
    pen.ellipse(hx, hy + R * 0.26, R * 0.18, R * 0.12, rgba(INK), outline=False)
    for side in (-1, 1):
        for dy in (0.35, 0.5):
            pen.line([(hx + side * R * 0.3, hy + R * dy), (hx + side * R * 1.25, hy + R * (dy - 0.1))], (60, 60, 66, 170), 0.6)


def draw_turtle(pen: Pen, look: Look) -> None:
    shell, skin, _ = _beast_colors(look, SPECIAL_KINDS["turtle"])
    cx, base = CANVAS_W / 2, BASE
    for x in (cx - 18, cx + 14):
        pen.rect(x - 4, base - 12, x + 4, base, rgba(skin), radius=3)
    pen.poly([(cx - 30, base - 10), (cx - 36, base - 6), (cx - 28, base - 6)], rgba(skin))
    pen.draw.pieslice([(cx - 30) * pen.k, (base - 42) * pen.k, (cx + 26) * pen.k, (base - 2) * pen.k], 180, 360,
                      fill=rgba(shell), outline=INK, width=pen.outline_w)
    pen.rect(cx - 31, base - 24, cx + 27, base - 18, rgba(shade(shell, 0.75)), radius=2)
    dark = rgba(shade(shell, 0.7))
    for x in (cx - 18, cx - 2, cx + 14):
        pen.poly([(x - 6, base - 26), (x - 4, base - 34), (x + 4, base - 34), (x + 6, base - 26)], dark, outline=False)
    pen.rect(cx + 20, base - 22, cx + 32, base - 12, rgba(skin), radius=4)
    pen.circle(cx + 36, base - 24, 10, rgba(skin))
    face(pen, cx + 36, base - 25, 10, gap=0.42)


def draw_bird(pen: Pen, look: Look) -> None:
    kind = look.kind
    main, second, third = _beast_colors(look, SPECIAL_KINDS[kind])
    cx, base = CANVAS_W / 2, BASE
    beak = (240, 150, 40)
    if kind == "penguin":  # upright and front-facing
        H = 62
        for side in (-1, 1):
            pen.ellipse(cx + side * 7, base - 2, 7, 3, rgba(beak))
            pen.poly([(cx + side * 15, base - H * 0.62), (cx + side * 26, base - H * 0.2), (cx + side * 17, base - H * 0.3)], rgba(shade(main, 0.9)))
        pen.ellipse(cx, base - H * 0.45, H * 0.3, H * 0.43, rgba(main))
        pen.ellipse(cx, base - H * 0.34, H * 0.21, H * 0.3, rgba(second), outline=False)
        pen.ellipse(cx, base - H * 0.78, H * 0.2, H * 0.14, rgba(second), outline=False)
        face(pen, cx, base - H * 0.78, H * 0.2, gap=0.45, smile=False, eye_r=0.16)
        pen.poly([(cx - 4, base - H * 0.73), (cx + 4, base - H * 0.73), (cx, base - H * 0.64)], rgba(beak))
        if look.has("scarf") or len(look.colors) > 2:
            pen.rect(cx - H * 0.24, base - H * 0.66, cx + H * 0.24, base - H * 0.59, rgba(third), radius=2)
        if look.has("bow", "bowtie", "waiter", "café", "cafe"):
            pen.poly([(cx, base - H * 0.6), (cx - 6, base - H * 0.64), (cx - 6, base - H * 0.55), (cx, base - H * 0.59),
                      (cx + 6, base - H * 0.55), (cx + 6, base - H * 0.64)], rgba((210, 50, 50)))
        return
    if kind == "owl":
        H = 46
        pen.ellipse(cx, base - H * 0.47, H * 0.36, H * 0.47, rgba(main))
        pen.ellipse(cx, base - H * 0.32, H * 0.23, H * 0.28, rgba(second), outline=False)
        for side in (-1, 1):
            pen.ellipse(cx + side * H * 0.33, base - H * 0.42, H * 0.1, H * 0.25, rgba(shade(main, 0.75)))
            pen.poly([(cx + side * H * 0.1, base - H * 0.88), (cx + side * H * 0.3, base - H * 1.08), (cx + side * H * 0.3, base - H * 0.8)], rgba(main))
            pen.circle(cx + side * H * 0.14, base - H * 0.7, H * 0.14, (255, 255, 255, 255))
            pen.circle(cx + side * H * 0.14, base - H * 0.7, H * 0.07, rgba(INK), outline=False)
            pen.circle(cx + side * H * 0.14 + 1, base - H * 0.72, H * 0.025, (255, 255, 255, 255), outline=False)
            pen.line([(cx + side * 4, base), (cx + side * 4, base - 4)], rgba(beak), 1.8)
        pen.poly([(cx - 3, base - H * 0.62), (cx + 3, base - H * 0.62), (cx, base - H * 0.52)], rgba(beak))
        return
    # side-view birds: small birds, ducks, chickens; facing right
    H = 40 if kind in ("duck", "chicken") else 30
    body_y = base - H * 0.42
    for side in (-3, 3):
        pen.line([(cx + side, body_y + H * 0.2), (cx + side, base - 1), (cx + side + 4, base - 1)], rgba(beak), 1.6)
    pen.poly([(cx - H * 0.35, body_y - H * 0.05), (cx - H * 0.72, body_y - H * 0.28), (cx - H * 0.66, body_y + H * 0.05)], rgba(shade(main, 0.8)))
    pen.ellipse(cx, body_y, H * 0.45, H * 0.3, rgba(main))
    hx, hy, R = cx + H * 0.32, body_y - H * 0.35, H * 0.22
    if kind == "chicken":
        pen.circle(hx - 1, hy - R * 1.05, R * 0.35, rgba(second))
        pen.circle(hx + R * 0.4, hy - R * 1.0, R * 0.3, rgba(second))
    pen.circle(hx, hy, R, rgba(main))
    if kind != "chicken":
        pen.ellipse(cx + H * 0.1, body_y + H * 0.08, H * 0.2, H * 0.13, rgba(second if kind == "bird" else shade(main, 1.3)), outline=False)
    pen.ellipse(cx - H * 0.05, body_y - H * 0.02, H * 0.26, H * 0.15, rgba(shade(main, 0.8)))  # wing
    pen.circle(hx + R * 0.25, hy - R * 0.15, R * 0.18, rgba(INK), outline=False)
    pen.circle(hx + R * 0.3, hy - R * 0.22, R * 0.07, (255, 255, 255, 255), outline=False)
    if kind == "duck":
        pen.ellipse(hx + R * 1.15, hy + R * 0.25, R * 0.55, R * 0.22, rgba(second if look.color(1, None) else beak))
    else:
        pen.poly([(hx + R * 0.8, hy - R * 0.2), (hx + R * 1.6, hy + R * 0.1), (hx + R * 0.8, hy + R * 0.35)], rgba(beak))


def draw_robot(pen: Pen, look: Look) -> None:
    metal, accent, _ = _beast_colors(look, SPECIAL_KINDS["robot"])
    dark = shade(metal, 0.7)
    cx, base = CANVAS_W / 2, BASE
    for side in (-1, 1):  # legs and feet
        pen.rect(cx + side * 8 - 3.5, base - 24, cx + side * 8 + 3.5, base - 4, rgba(dark), radius=1.5)
        pen.rect(cx + side * 8 - 6, base - 6, cx + side * 8 + 6, base, rgba(shade(metal, 0.55)), radius=2)
    for side in (-1, 1):  # arms with claw hands
        pen.stroke([(cx + side * 16, base - 52), (cx + side * 24, base - 42), (cx + side * 24, base - 32)], rgba(dark), 4)
        pen.circle(cx + side * 24, base - 30, 4, rgba(accent))
    pen.rect(cx - 17, base - 58, cx + 17, base - 22, rgba(metal), radius=5)
    pen.rect(cx - 10, base - 50, cx + 10, base - 34, rgba(shade(metal, 0.85)), radius=2)
    for i, col in enumerate((accent, (90, 200, 120), (250, 210, 60))):
        pen.circle(cx - 6 + i * 6, base - 42, 2.2, rgba(col))
    pen.rect(cx - 3, base - 63, cx + 3, base - 57, rgba(dark), outline=False)
    pen.line([(cx, base - 88), (cx, base - 97)], rgba(INK), 1.4)
    pen.circle(cx, base - 99, 3.2, rgba(accent))
    pen.rect(cx - 16, base - 89, cx + 16, base - 62, rgba(metal), radius=6)
    pen.rect(cx - 12, base - 85, cx + 12, base - 67, (40, 50, 70, 255), radius=4)
    for side in (-1, 1):
        pen.circle(cx + side * 5.5, base - 78, 2.8, (120, 230, 255, 255), outline=False)
        pen.circle(cx + side * 18, base - 75, 2.5, rgba(accent))  # ear bolts
    pen.arc(cx, base - 73.5, 4.5, 2.8, 20, 160, (120, 230, 255, 255), 1.2)


def draw_octopus(pen: Pen, look: Look) -> None:
    main, second, _ = _beast_colors(look, SPECIAL_KINDS["octopus"])
    cx, base = CANVAS_W / 2, BASE
    for i in range(6):
        x0 = cx - 14 + i * 5.6
        dx = (i - 2.5) * 7
        pen.stroke(bezier([(x0, base - 24), (x0 + dx * 0.5, base - 6), (x0 + dx, base), (x0 + dx * 1.35, base - 6)], 12), rgba(main), 4.2)
    pen.ellipse(cx, base - 36, 20, 22, rgba(main))
    for i in range(4):
        pen.circle(cx - 10 + i * 6, base - 46 + (i % 2) * 4, 1.8, rgba(second), outline=False)
    face(pen, cx, base - 30, 16, gap=0.42, eye_r=0.17)


def draw_fish(pen: Pen, look: Look) -> None:
    main, second, _ = _beast_colors(look, SPECIAL_KINDS["fish"])
    cx, base = CANVAS_W / 2, BASE - 8  # fish hover a little
    pen.poly([(cx - 20, base - 16), (cx - 34, base - 28), (cx - 30, base - 16), (cx - 34, base - 4)], rgba(shade(main, 0.85)))
    pen.ellipse(cx, base - 16, 24, 15, rgba(main))
    for i in range(2):
        pen.line([(cx - 6 + i * 9, base - 29), (cx - 8 + i * 9, base - 3)], rgba(second), 3.0)
    pen.poly([(cx - 4, base - 30), (cx + 6, base - 38), (cx + 10, base - 29)], rgba(shade(main, 0.85)))
    pen.circle(cx + 12, base - 19, 4.2, (255, 255, 255, 255))
    pen.circle(cx + 13, base - 19, 2.2, rgba(INK), outline=False)
    pen.arc(cx + 16, base - 12, 4, 2.5, 20, 160, rgba(INK), 1.0)


def draw_snowman(pen: Pen, look: Look) -> None:
    scarf = look.color(0, parse_color("red")) if look.colors and luminance(look.colors[0]) < 0.9 else look.color(1, parse_color("red"))
    snow = (250, 252, 255, 255)
    cx, base = CANVAS_W / 2, BASE
    pen.circle(cx, base - 20, 20, snow)
    pen.circle(cx, base - 50, 15, snow)
    for side in (-1, 1):
        pen.line([(cx + side * 13, base - 52), (cx + side * 28, base - 62), (cx + side * 32, base - 60)], rgba((110, 76, 50)), 1.8)
    pen.circle(cx, base - 74, 11, snow)
    for i in range(3):
        pen.circle(cx, base - 56 + i * 10 - (12 if i == 2 else 0), 1.6, rgba(INK), outline=False)
    face(pen, cx, base - 76, 11, gap=0.38, smile=True)
    pen.poly([(cx, base - 74), (cx + 11, base - 71), (cx, base - 71.5)], rgba((240, 130, 40)))
    pen.rect(cx - 12, base - 66, cx + 12, base - 61, rgba(scarf), radius=2)
    pen.rect(cx + 4, base - 64, cx + 9, base - 50, rgba(scarf), radius=1.5)
    pen.rect(cx - 12, base - 86, cx + 12, base - 83, rgba((40, 40, 46)), radius=1)
    pen.rect(cx - 8, base - 100, cx + 8, base - 84, rgba((40, 40, 46)), radius=1)


def draw_blob(pen: Pen, look: Look) -> None:
    """Clouds, kites, buses and anything unknown: friendly shapes with eyes, in their colours."""
    main, second, third = _beast_colors(look, SPECIAL_KINDS.get(look.kind, SPECIAL_KINDS["blob"]))
    if look.kind == "blob" and not look.colors:
        main = hsv(stable_int(look.key, look.species, "blob") % 360 / 360, 0.45, 0.9)
        second = shade(main, 1.5)
    cx, base = CANVAS_W / 2, BASE
    if look.kind == "cloud":
        for dx, dy, r in ((-16, -22, 13), (0, -32, 17), (17, -24, 13), (-6, -14, 13), (10, -13, 12)):
            pen.circle(cx + dx, base - 8 + dy, r, rgba(main))
        pen.ellipse(cx, base - 26, 24, 12, rgba(main), outline=False)
        face(pen, cx, base - 32, 14, gap=0.42)
    elif look.kind == "kite":
        pen.line(bezier([(cx, base - 22), (cx - 12, base - 12), (cx + 6, base - 6), (cx - 4, base)], 12), rgba(INK), 0.8)
        for t, y in ((0.0, base - 14), (0.0, base - 6)):
            pen.poly([(cx - 6, y - 3), (cx - 2, y), (cx - 6, y + 3)], rgba(second))
        pen.poly([(cx, base - 70), (cx + 20, base - 46), (cx, base - 22), (cx - 20, base - 46)], rgba(main))
        pen.poly([(cx, base - 70), (cx + 20, base - 46), (cx, base - 46)], rgba(second), outline=False)
        pen.poly([(cx, base - 46), (cx - 20, base - 46), (cx, base - 22)], rgba(second), outline=False)
        pen.line([(cx, base - 70), (cx, base - 22)], rgba(INK), 0.9)
        pen.line([(cx - 20, base - 46), (cx + 20, base - 46)], rgba(INK), 0.9)
        face(pen, cx, base - 50, 10, gap=0.45)
    elif look.kind == "bus":
        pen.rect(cx - 48, base - 50, cx + 48, base - 8, rgba(main), radius=8)
        for i in range(4):
            pen.rect(cx - 42 + i * 19, base - 44, cx - 28 + i * 19, base - 30, (200, 230, 250, 255), radius=2)
        pen.rect(cx + 34, base - 44, cx + 44, base - 30, (200, 230, 250, 255), radius=2)
        pen.line([(cx - 46, base - 24), (cx + 46, base - 24)], rgba(second), 3.0, round_ends=False)
        for x in (cx - 30, cx + 30):
            pen.circle(x, base - 8, 8, rgba((50, 50, 56)))
            pen.circle(x, base - 8, 3, rgba((190, 190, 196)), outline=False)
        face(pen, cx + 39, base - 37, 8, gap=0.5, blush=False)
    else:  # a gumdrop creature with stubby feet and arms
        for side in (-1, 1):
            pen.ellipse(cx + side * 10, base - 3, 8, 4, rgba(shade(main, 0.7)))
            pen.ellipse(cx + side * 25, base - 26, 5, 8, rgba(main))
        pen.poly(bezier([(cx - 24, base - 4), (cx - 30, base - 62), (cx + 30, base - 62), (cx + 24, base - 4)], 20), rgba(main))
        pen.ellipse(cx, base - 18, 14, 11, rgba(second), outline=False)
        face(pen, cx, base - 40, 18, gap=0.42, eye_r=0.15)


DRAWERS = {
    "person": draw_person, "seal": draw_seal, "turtle": draw_turtle, "bird": draw_bird, "owl": draw_bird,
    "penguin": draw_bird, "duck": draw_bird, "chicken": draw_bird, "robot": draw_robot, "octopus": draw_octopus,
    "fish": draw_fish, "snowman": draw_snowman, "cloud": draw_blob, "kite": draw_blob, "bus": draw_blob, "blob": draw_blob,
}
FIGURE_MAX_WIDTH = 1.25  # in units of the figure height: wider sprites are scaled down (always, every page)


@functools.lru_cache(maxsize=128)
def _sprite(look: Look, height: int) -> Image.Image:
    pen = Pen(height)
    if look.kind in ("quadruped", "dragon"):
        draw_quadruped(pen, look, BEASTS[look.species])
    else:
        DRAWERS[look.kind](pen, look)
    sprite = pen.finish()
    limit = max(1, round(height * FIGURE_MAX_WIDTH))
    if sprite.width > limit:  # a wide dragon: keep it inside its slot on a crowded page
        sprite = sprite.resize((limit, max(1, round(sprite.height * limit / sprite.width))), Image.LANCZOS)
    return sprite


def draw_figure(figure: Figure, height: int) -> Image.Image:
    """The character as an RGBA sprite, feet at the bottom edge. `height` is the size of an adult
    person on the page; smaller species come out smaller. Depends only on the figure's key,
    species, colours and description (and `height`), so it is identical on every page."""
    return _sprite(resolve_look(figure), max(8, int(height))).copy()


# -- scenes -----------------------------------------------------------------------------------
# Keywords -> setting. Scene text is read first; the prompt only when the scene names nothing.
SETTING_WORDS: dict[str, tuple[str, ...]] = {
    "snow": ("snow", "snowy", "winter", "wintry", "ice", "icy", "frozen", "frost", "frosty", "blizzard", "snowman",
             "sled", "sledge", "igloo", "arctic", "polar", "snowfall", "snowflakes"),
    "forest": ("forest", "woods", "wood", "woodland", "tree", "trees", "jungle", "pine", "pines", "oak", "grove", "glade"),
    "sea": ("sea", "ocean", "beach", "lighthouse", "shore", "coast", "harbour", "harbor", "waves", "seaside", "island",
            "bay", "pier", "port", "rockpool", "seashore", "cove"),
    "underwater": ("underwater", "reef", "seabed", "seafloor", "coral", "undersea"),
    "indoor": ("room", "house", "home", "kitchen", "bakery", "cafe", "café", "museum", "library", "bedroom", "inside",
               "indoors", "shop", "classroom", "school", "attic", "cottage", "restaurant", "parlour", "hall", "castle",
               "workshop", "tearoom", "teashop", "lab", "laboratory"),
    "city": ("city", "street", "streets", "bus", "town", "road", "market", "station", "traffic", "skyscraper",
             "downtown", "avenue", "alley", "rooftop", "rooftops"),
    "desert": ("desert", "sand", "sandy", "dune", "dunes", "cactus", "cacti", "oasis", "sahara", "camel", "pyramid"),
    "space": ("space", "rocket", "planet", "planets", "galaxy", "astronaut", "spaceship", "orbit", "asteroid", "alien",
              "cosmos", "spacecraft", "satellite"),
    "garden": ("garden", "meadow", "field", "fields", "flowers", "flower", "park", "farm", "lawn", "orchard", "picnic",
               "grass", "grassy", "village", "countryside"),
    "mountain": ("mountain", "mountains", "hill", "hills", "peak", "peaks", "valley", "alps", "summit", "cliff", "cliffs"),
    "river": ("river", "lake", "pond", "stream", "creek", "waterfall", "bridge", "canal", "riverbank"),
    "cave": ("cave", "cavern", "tunnel", "underground", "mine", "grotto", "den", "burrow"),
    "sky": ("sky", "clouds", "cloud", "flying", "flight", "air", "rainbow", "airship", "soaring"),
}
# Indoor words that mean "we are inside" even when an outdoor word is present ("kitchen window on a
# snowy night"); the others ("a café in the desert") become a prop of the outdoor setting instead.
STRONG_INDOOR = {"kitchen", "room", "bedroom", "inside", "indoors", "library", "museum", "classroom", "attic",
                 "hall", "parlour", "workshop", "lab", "laboratory", "school"}
NIGHT_WORDS = {"night", "moon", "moonlight", "moonlit", "stars", "starry", "starlit", "dark", "darkness",
               "midnight", "nighttime", "bedtime", "nocturnal", "starlight"}
DUSK_WORDS = {"sunset", "dusk", "evening", "twilight", "dawn", "sunrise", "sundown"}
RAIN_WORDS = {"rain", "rainy", "raining", "drizzle", "puddle", "puddles", "downpour", "wet", "showers"}
STORM_WORDS = {"storm", "stormy", "thunder", "lightning", "gale", "thunderstorm", "tempest"}
PROP_WORDS: dict[str, tuple[str, ...]] = {
    "lantern": ("lantern", "lanterns", "lamp", "torch", "glow", "glowing"),
    "kite": ("kite", "kites"),
    "door": ("door", "doorway", "gate"),
    "tree": ("tree", "oak", "apple tree"),
    "boat": ("boat", "ship", "sailboat", "rowboat", "yacht", "ferry"),
    "sun": ("sun", "sunny", "sunshine", "sunlight"),
    "moon": ("moon", "moonlight", "moonlit"),
    "lighthouse": ("lighthouse",),
    "house": ("house", "cottage", "cabin", "home", "hut"),
    "campfire": ("campfire", "bonfire", "fire", "fireplace", "hearth"),
    "balloon": ("balloon", "balloons"),
    "umbrella": ("umbrella", "umbrellas"),
    "flowers": ("flower", "flowers", "tulips", "roses", "daisies", "bouquet"),
    "rainbow": ("rainbow",),
    "rocket": ("rocket", "spaceship", "spacecraft"),
    "bus": ("bus",),
    "mushroom": ("mushroom", "mushrooms", "toadstool", "toadstools"),
    "cake": ("cake", "cakes", "cupcake", "bread", "pie", "cookies", "pastry", "pastries", "buns"),
    "cafe": ("café", "cafe", "tearoom", "teashop", "coffee"),
    "candle": ("candle", "candles"),
    "book": ("book", "books", "map", "letter"),
    "star": ("wishing star", "shooting star", "falling star"),
}
INDOOR_KINDS = ("kitchen", "bakery", "café", "cafe", "museum", "library", "bedroom", "classroom", "workshop", "attic")


@dataclass
class SceneSpec:
    setting: str
    time: str = "day"                 # day, dusk, night
    weather: tuple[str, ...] = ()     # snow, rain, storm
    props: tuple[str, ...] = ()
    room: str = ""                    # for indoor: kitchen, bakery, ...
    matched: tuple[str, ...] = ()     # the words that decided, for provenance


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", text.lower())


def analyse_scene(scene: str, prompt: str = "", caption: str = "") -> SceneSpec:
    """Pick the setting, time of day, weather and props from the words of a scene."""
    scene_t, prompt_t = _tokens(scene), _tokens(prompt)
    source = scene_t if any(w in words for w in scene_t for words in SETTING_WORDS.values()) else scene_t + prompt_t
    all_t = scene_t + prompt_t + _tokens(caption)
    all_text = " ".join(all_t)
    scores: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, w in enumerate(source):
        for setting, words in SETTING_WORDS.items():
            if w in words:
                scores[setting] = scores.get(setting, 0) + (0.5 if setting == "sky" else 1.0)
                first.setdefault(setting, i)
    outdoor = {s: v for s, v in scores.items() if s not in ("indoor", "snow")}
    strong_indoor = any(w in STRONG_INDOOR for w in source)
    matched = tuple(w for w in source if any(w in words for words in SETTING_WORDS.values()))
    weather: list[str] = []
    if "indoor" in scores and (strong_indoor or not outdoor):
        setting = "indoor"
    elif outdoor:
        setting = max(outdoor, key=lambda s: (outdoor[s], -first[s]))
    elif "snow" in scores:
        setting = "snow"
    else:
        setting = "garden"  # a friendly default: a sunny meadow
    if "snow" in scores and setting != "snow":
        weather.append("snow")
    words_all = set(all_t)
    if words_all & STORM_WORDS:
        weather.append("storm")
    if words_all & (RAIN_WORDS | STORM_WORDS):
        weather.append("rain")
    time = "night" if words_all & NIGHT_WORDS else "dusk" if words_all & DUSK_WORDS else "day"
    if setting == "space":
        time = "night"
    props = []
    for prop, words in PROP_WORDS.items():
        if any((" " in w and w in all_text) or w in words_all for w in words):
            props.append(prop)
    if setting == "indoor" and "cafe" in props:
        props.remove("cafe")  # the room itself is the café
    room = next((r for r in INDOOR_KINDS if r in words_all), "") if setting == "indoor" else ""
    room = {"cafe": "café"}.get(room, room)
    if setting != "indoor" and not strong_indoor:
        if words_all & {"bakery", "shop", "restaurant", "café", "cafe", "tearoom", "teashop"}:
            props.append("cafe")  # a stall with an awning, set in the landscape
        if words_all & {"house", "cottage", "home"} and "house" not in props:
            props.append("house")
    return SceneSpec(setting=setting, time=time, weather=tuple(dict.fromkeys(weather)),
                     props=tuple(dict.fromkeys(props)), room=room, matched=matched)


SCENE_SS = 2  # the background is drawn at 2x and downsampled, for smooth edges


class Backdrop:
    """Draws a background at SCENE_SS x scale. Every colour goes through `tone` (time of day,
    weather), except lights (`glow`), which stay bright at night."""

    def __init__(self, spec: SceneSpec, width: int, height: int, rng: random.Random, palette: list[RGB]):
        self.spec, self.rng, self.palette = spec, rng, palette
        self.w, self.h = width * SCENE_SS, height * SCENE_SS
        self.image = Image.new("RGB", (self.w, self.h), (200, 220, 240))
        self.draw = ImageDraw.Draw(self.image, "RGBA")
        self.lights: list[tuple[float, float, float, RGB]] = []  # (x, y, radius, colour) in page px
        self.horizon = int(self.h * rng.uniform(0.5, 0.58))
        self.ground_y = self.horizon

    # colour handling -----------------------------------------------------------------
    def tone(self, color: RGB, alpha: int = 255) -> tuple[int, int, int, int]:
        r, g, b = color
        if self.spec.time == "night":
            r, g, b = r * 0.36 + 8, g * 0.42 + 12, b * 0.6 + 30
        elif self.spec.time == "dusk":
            r, g, b = r * 0.92 + 18, g * 0.78 + 8, b * 0.72 + 10
        if "rain" in self.spec.weather:
            grey = (r + g + b) / 3
            r, g, b = (0.6 * r + 0.4 * grey) * 0.88, (0.6 * g + 0.4 * grey) * 0.88, (0.6 * b + 0.4 * grey) * 0.92
        return int(min(255, r)), int(min(255, g)), int(min(255, b)), alpha

    def accent(self, i: int, default: RGB) -> RGB:
        return self.palette[i % len(self.palette)] if self.palette else default

    def glow(self, x: float, y: float, radius: float, color: RGB) -> None:
        """Register a light (drawn later as a soft additive halo), in 2x coordinates."""
        self.lights.append((x / SCENE_SS, y / SCENE_SS, radius / SCENE_SS, color))

    # shapes ---------------------------------------------------------------------------
    def gradient(self, top: RGB, bottom: RGB, y0: int = 0, y1: int | None = None, toned: bool = True) -> None:
        y1 = self.h if y1 is None else y1
        if y1 <= y0:
            return
        t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
        a = np.array(self.tone(top)[:3] if toned else top, float)
        b = np.array(self.tone(bottom)[:3] if toned else bottom, float)
        rows = (a * (1 - t) + b * t).astype(np.uint8)
        band = np.repeat(rows[:, None, :], self.w, axis=1)
        self.image.paste(Image.fromarray(band, "RGB"), (0, y0))

    def ridge(self, base_y: float, amplitude: float, color: RGB, waves: int = 3, alpha: int = 255, to: int | None = None) -> list:
        """A rolling hill line from edge to edge, filled down to `to` (default: the bottom)."""
        phase = [self.rng.uniform(0, 2 * np.pi) for _ in range(3)]
        xs = np.linspace(0, self.w, 64)
        ys = base_y - amplitude * (0.55 * np.sin(xs / self.w * np.pi * waves + phase[0])
                                   + 0.3 * np.sin(xs / self.w * np.pi * waves * 2.3 + phase[1])
                                   + 0.15 * np.sin(xs / self.w * np.pi * waves * 5.1 + phase[2]))
        pts = list(zip(xs.tolist(), ys.tolist()))
        bottom = self.h if to is None else to
        self.draw.polygon(pts + [(self.w, bottom), (0, bottom)], fill=self.tone(color, alpha))
        return pts

    def cloud(self, x: float, y: float, size: float, color: RGB = (255, 255, 255), alpha: int = 235) -> None:
        fill = self.tone(color, alpha)
        for dx, dy, r in ((-0.9, 0.15, 0.55), (-0.35, -0.25, 0.7), (0.3, -0.1, 0.62), (0.85, 0.2, 0.5), (0.0, 0.25, 0.6)):
            self.draw.ellipse([x + (dx - r) * size, y + (dy - r) * size * 0.8, x + (dx + r) * size, y + (dy + r) * size * 0.8], fill=fill)

    def pine(self, x: float, base: float, height: float, color: RGB = (52, 112, 72), snow: bool = False) -> None:
        trunk = height * 0.1
        self.draw.rectangle([x - trunk * 0.6, base - trunk * 1.6, x + trunk * 0.6, base], fill=self.tone((110, 76, 50)))
        for i in range(3):
            top = base - height + i * height * 0.24
            half = height * (0.22 + i * 0.1)
            bottom = top + height * 0.42
            self.draw.polygon([(x, top), (x + half, bottom), (x - half, bottom)], fill=self.tone(shade(color, 1 - i * 0.06)))
            if snow:
                self.draw.polygon([(x, top), (x + half * 0.45, top + height * 0.19), (x + half * 0.15, top + height * 0.16),
                                   (x, top + height * 0.2), (x - half * 0.2, top + height * 0.15), (x - half * 0.45, top + height * 0.19)],
                                  fill=self.tone((248, 250, 255)))

    def round_tree(self, x: float, base: float, height: float, color: RGB = (92, 160, 80), fruit: RGB | None = None) -> None:
        trunk_w = height * 0.09
        self.draw.rectangle([x - trunk_w, base - height * 0.5, x + trunk_w, base], fill=self.tone((120, 84, 56)))
        r = height * 0.3
        for dx, dy in ((-0.55, -1.8), (0.55, -1.75), (0.0, -2.35), (-0.2, -1.55), (0.3, -2.1)):
            self.draw.ellipse([x + dx * r - r * 0.7, base + dy * r - r * 0.7, x + dx * r + r * 0.7, base + dy * r + r * 0.7],
                              fill=self.tone(shade(color, 0.92 + 0.05 * dx)))
        if fruit:
            for i in range(5):
                fx = x + self.rng.uniform(-0.9, 0.9) * r
                fy = base + self.rng.uniform(-2.6, -1.4) * r
                self.draw.ellipse([fx - r * 0.1, fy - r * 0.1, fx + r * 0.1, fy + r * 0.1], fill=self.tone(fruit))

    def stars(self, count: int, y_max: float) -> None:
        for _ in range(count):
            x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, y_max)
            r = self.rng.choice((1.2, 1.6, 2.0, 2.0, 3.0)) * SCENE_SS
            bright = (255, 250, 215, self.rng.randint(150, 255))
            if r > 4:
                self.draw.polygon([(x, y - r * 2.2), (x + r * 0.5, y), (x, y + r * 2.2), (x - r * 0.5, y)], fill=bright)
                self.draw.polygon([(x - r * 2.2, y), (x, y + r * 0.5), (x + r * 2.2, y), (x, y - r * 0.5)], fill=bright)
            else:
                self.draw.ellipse([x - r / 2, y - r / 2, x + r / 2, y + r / 2], fill=bright)

    def moon(self, x: float, y: float, r: float) -> None:
        self.glow(x, y, r * 3.2, (120, 130, 170))
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=(250, 244, 214))
        for dx, dy, cr in ((-0.3, -0.2, 0.2), (0.25, 0.3, 0.14), (0.35, -0.35, 0.1)):
            self.draw.ellipse([x + (dx - cr) * r, y + (dy - cr) * r, x + (dx + cr) * r, y + (dy + cr) * r], fill=(232, 224, 196))

    def sun(self, x: float, y: float, r: float) -> None:
        color = (255, 214, 90) if self.spec.time == "day" else (255, 160, 90)
        for i in range(12):
            a = i * np.pi / 6 + self.rng.uniform(0, 0.2)
            self.draw.line([(x + np.cos(a) * r * 1.3, y + np.sin(a) * r * 1.3), (x + np.cos(a) * r * 1.75, y + np.sin(a) * r * 1.75)],
                           fill=(*color, 200), width=max(2, int(r * 0.14)))
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=color)

    # sky ------------------------------------------------------------------------------
    def sky(self, top: RGB = (110, 170, 232), bottom: RGB = (205, 230, 246), clouds: bool = True) -> None:
        spec, rng = self.spec, self.rng
        if spec.time == "night":
            self.gradient((12, 18, 50), (56, 62, 118), 0, self.horizon + 4, toned=False)
            if "rain" not in spec.weather:
                self.stars(int(self.w * self.horizon / 9000) + 12, self.horizon * 0.92)
                self.moon(self.w * rng.uniform(0.12, 0.88), self.horizon * rng.uniform(0.18, 0.32), self.h * 0.055)
        elif spec.time == "dusk":
            self.gradient((84, 84, 160), (255, 176, 120), 0, self.horizon + 4, toned=False)
            self.sun(self.w * rng.uniform(0.15, 0.85), self.horizon * 0.92, self.h * 0.07)
        else:
            self.gradient(top, bottom, 0, self.horizon + 4)
            if "sun" in spec.props or ("rain" not in spec.weather and rng.random() < 0.5):
                self.sun(self.w * rng.uniform(0.1, 0.9), self.horizon * rng.uniform(0.2, 0.35), self.h * 0.05)
        if "rainbow" in spec.props and spec.time != "night":
            self._rainbow()
        if clouds:
            grey = "rain" in spec.weather
            for _ in range(rng.randint(2, 4) + (4 if grey else 0)):
                self.cloud(rng.uniform(0, self.w), rng.uniform(0.08, 0.6) * self.horizon, self.h * rng.uniform(0.05, 0.09),
                           (150, 156, 170) if grey else (255, 255, 255), 230 if grey else 200)

    def _rainbow(self) -> None:
        cx, cy, r = self.w * self.rng.uniform(0.3, 0.7), self.horizon + self.h * 0.05, self.h * 0.42
        for i, col in enumerate(((230, 70, 70), (245, 150, 60), (245, 220, 80), (100, 190, 90), (80, 140, 220), (140, 90, 200))):
            rr = r - i * self.h * 0.018
            self.draw.arc([cx - rr, cy - rr, cx + rr, cy + rr], 180, 360, fill=(*col, 150), width=int(self.h * 0.018))


def _grass(bd: Backdrop) -> RGB:
    return (244, 247, 252) if "snow" in bd.spec.weather else (116, 186, 88)


def paint_garden(bd: Backdrop) -> None:
    bd.sky()
    snow = "snow" in bd.spec.weather
    bd.ridge(bd.horizon, bd.h * 0.05, (206, 226, 240) if snow else (150, 200, 120), waves=2)
    for _ in range(bd.rng.randint(1, 3)):
        bd.round_tree(bd.rng.uniform(0, bd.w), bd.horizon + bd.h * 0.03, bd.h * 0.22, fruit=(230, 80, 70) if bd.rng.random() < 0.4 else None)
    bd.ridge(bd.horizon + bd.h * 0.06, bd.h * 0.03, _grass(bd), waves=1.5)
    fence_y = bd.horizon + bd.h * 0.09
    if bd.rng.random() < 0.6:
        wood = (236, 224, 200)
        bd.draw.rectangle([0, fence_y - bd.h * 0.035, bd.w, fence_y - bd.h * 0.028], fill=bd.tone(wood))
        for x in np.arange(bd.rng.uniform(0, 30), bd.w, bd.h * 0.05):
            bd.draw.rectangle([x, fence_y - bd.h * 0.06, x + bd.h * 0.012, fence_y], fill=bd.tone(wood))
    if not snow:
        for _ in range(int(bd.w / 40)):
            x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(fence_y + bd.h * 0.02, bd.h)
            s = bd.h * 0.008 * (0.6 + (y - bd.horizon) / bd.h)
            col = bd.accent(bd.rng.randrange(8), bd.rng.choice(((240, 90, 110), (250, 210, 70), (250, 250, 250), (170, 120, 220))))
            for a in range(5):
                ang = a * 2 * np.pi / 5
                bd.draw.ellipse([x + np.cos(ang) * s - s, y + np.sin(ang) * s - s, x + np.cos(ang) * s + s, y + np.sin(ang) * s + s], fill=bd.tone(col))
            bd.draw.ellipse([x - s * 0.7, y - s * 0.7, x + s * 0.7, y + s * 0.7], fill=bd.tone((250, 220, 90)))


def paint_snow(bd: Backdrop) -> None:
    bd.sky((150, 190, 230), (228, 238, 250))
    bd.ridge(bd.horizon - bd.h * 0.02, bd.h * 0.06, (214, 226, 244), waves=2)
    for _ in range(bd.rng.randint(4, 8)):
        bd.pine(bd.rng.uniform(0, bd.w), bd.horizon + bd.h * bd.rng.uniform(0.0, 0.04), bd.h * bd.rng.uniform(0.14, 0.26),
                (60, 110, 90), snow=True)
    bd.ridge(bd.horizon + bd.h * 0.05, bd.h * 0.025, (246, 249, 255), waves=1.2)
    for _ in range(6):  # soft blue shadows in the snow
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + bd.h * 0.1, bd.h)
        bd.draw.ellipse([x - bd.h * 0.12, y - bd.h * 0.012, x + bd.h * 0.12, y + bd.h * 0.012], fill=bd.tone((205, 220, 242), 160))


def paint_forest(bd: Backdrop) -> None:
    snow = "snow" in bd.spec.weather
    bd.sky((120, 180, 220), (214, 236, 226))
    bd.ridge(bd.horizon - bd.h * 0.02, bd.h * 0.05, (200, 214, 230) if snow else (120, 160, 120), waves=2)
    for _ in range(bd.rng.randint(7, 11)):  # far row
        bd.pine(bd.rng.uniform(-20, bd.w + 20), bd.horizon + bd.h * 0.02, bd.h * bd.rng.uniform(0.25, 0.35), (70, 120, 96), snow=snow)
    bd.ridge(bd.horizon + bd.h * 0.04, bd.h * 0.02, _grass(bd) if snow else (96, 160, 80), waves=1.5)
    for _ in range(bd.rng.randint(3, 5)):  # near row, tall, at the sides so the middle stays open
        x = bd.rng.choice((bd.rng.uniform(-0.05, 0.22), bd.rng.uniform(0.78, 1.05))) * bd.w
        if bd.rng.random() < 0.5 or snow:
            bd.pine(x, bd.horizon + bd.h * 0.12, bd.h * bd.rng.uniform(0.45, 0.6), (46, 100, 70), snow=snow)
        else:
            bd.round_tree(x, bd.horizon + bd.h * 0.12, bd.h * 0.4, (80, 150, 76))
    if not snow:
        for _ in range(4):
            x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + bd.h * 0.15, bd.h)
            bd.draw.ellipse([x - bd.h * 0.05, y - bd.h * 0.03, x + bd.h * 0.05, y + bd.h * 0.01], fill=bd.tone((70, 140, 70)))


def paint_sea(bd: Backdrop) -> None:
    bd.sky((100, 170, 230), (210, 234, 248))
    shore = bd.horizon + (bd.h - bd.horizon) * bd.rng.uniform(0.32, 0.42)
    water_top, water_bottom = (60, 130, 190), (90, 170, 200)
    bd.gradient(water_top, water_bottom, bd.horizon, int(shore) + 20)
    for _ in range(int(bd.w / 30)):
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + 6, shore)
        s = bd.h * 0.012 * (1 + (y - bd.horizon) / (shore - bd.horizon))
        bd.draw.arc([x - s * 2, y - s, x, y + s], 200, 340, fill=bd.tone((230, 244, 252), 200), width=SCENE_SS)
    if "boat" in bd.spec.props:
        _boat(bd, bd.w * bd.rng.uniform(0.25, 0.75), bd.horizon + (shore - bd.horizon) * 0.45, bd.h * 0.09)
    pts = bd.ridge(shore, bd.h * 0.015, (238, 214, 164), waves=1.3)
    bd.draw.line(pts, fill=bd.tone((250, 250, 250), 210), width=3 * SCENE_SS)
    for _ in range(int(bd.w / 60)):  # pebbles and shells
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(shore + bd.h * 0.04, bd.h)
        r = bd.h * bd.rng.uniform(0.004, 0.01)
        bd.draw.ellipse([x - r * 1.4, y - r, x + r * 1.4, y + r], fill=bd.tone(bd.rng.choice(((200, 180, 150), (250, 230, 220), (170, 160, 150)))))
    for _ in range(bd.rng.randint(1, 3)):  # gulls
        x, y, s = bd.rng.uniform(0, bd.w), bd.rng.uniform(0.15, 0.6) * bd.horizon, bd.h * 0.012
        bd.draw.line([(x - s * 2, y - s), (x, y), (x + s * 2, y - s)], fill=bd.tone((60, 60, 70)), width=SCENE_SS, joint="curve")
    bd.water_line = shore


def paint_underwater(bd: Backdrop) -> None:
    bd.horizon = int(bd.h * 0.7)
    bd.gradient((70, 190, 220), (20, 70, 130), 0, bd.h)
    for _ in range(4):  # light shafts
        x = bd.rng.uniform(0, bd.w)
        bd.draw.polygon([(x, 0), (x + bd.w * 0.06, 0), (x + bd.w * 0.16, bd.h), (x + bd.w * 0.09, bd.h)], fill=(255, 255, 255, 26))
    bd.ridge(bd.horizon, bd.h * 0.03, (226, 206, 160), waves=1.5)
    for _ in range(bd.rng.randint(5, 9)):
        x, base, tall = bd.rng.uniform(0, bd.w), bd.horizon + bd.rng.uniform(0, bd.h * 0.2), bd.h * bd.rng.uniform(0.15, 0.35)
        pts = [(x + np.sin(i * 0.9 + x) * bd.h * 0.015, base - tall * i / 8) for i in range(9)]
        bd.draw.line(pts, fill=bd.tone((60, 150, 90)), width=int(bd.h * 0.014), joint="curve")
    for _ in range(18):
        x, y, r = bd.rng.uniform(0, bd.w), bd.rng.uniform(0, bd.horizon), bd.h * bd.rng.uniform(0.004, 0.012)
        bd.draw.ellipse([x - r, y - r, x + r, y + r], outline=(230, 250, 255, 180), width=SCENE_SS)


def paint_city(bd: Backdrop) -> None:
    bd.sky((120, 176, 226), (214, 232, 244))
    night = bd.spec.time == "night"
    for row, (shade_k, hmin, hmax) in enumerate(((0.8, 0.18, 0.3), (1.0, 0.1, 0.24))):
        x = bd.rng.uniform(-40, 0)
        while x < bd.w:
            bw, bh = bd.h * bd.rng.uniform(0.12, 0.2), bd.h * bd.rng.uniform(hmin, hmax)
            col = shade(bd.accent(bd.rng.randrange(8), bd.rng.choice(((214, 150, 120), (200, 190, 170), (170, 180, 200), (230, 200, 150)))), shade_k)
            top = bd.horizon - bh
            bd.draw.rectangle([x, top, x + bw, bd.horizon], fill=bd.tone(col))
            bd.draw.rectangle([x - 2, top - 4, x + bw + 2, top + 4], fill=bd.tone(shade(col, 0.75)))
            for wy in np.arange(top + bd.h * 0.03, bd.horizon - bd.h * 0.04, bd.h * 0.05):
                for wx in np.arange(x + bw * 0.15, x + bw - bw * 0.2, bw * 0.28):
                    lit = night and bd.rng.random() < 0.55
                    fill = (255, 220, 130) if lit else bd.tone((190, 215, 235))
                    bd.draw.rectangle([wx, wy, wx + bw * 0.14, wy + bd.h * 0.025], fill=fill)
                    if lit and row == 1 and bd.rng.random() < 0.2:
                        bd.glow(wx + bw * 0.07, wy, bd.h * 0.05, (255, 200, 110))
            x += bw + bd.h * bd.rng.uniform(0.0, 0.02)
    road_bottom = bd.horizon + bd.h * 0.13
    bd.draw.rectangle([0, bd.horizon, bd.w, road_bottom], fill=bd.tone((92, 94, 104)))
    for x in np.arange(bd.rng.uniform(0, 40), bd.w, bd.h * 0.12):
        bd.draw.rectangle([x, bd.horizon + bd.h * 0.062, x + bd.h * 0.06, bd.horizon + bd.h * 0.07], fill=bd.tone((240, 230, 180)))
    bd.draw.rectangle([0, road_bottom, bd.w, bd.h], fill=bd.tone((200, 196, 190)))
    bd.draw.rectangle([0, road_bottom, bd.w, road_bottom + bd.h * 0.012], fill=bd.tone((160, 156, 150)))
    for x in np.arange(0, bd.w, bd.h * 0.1):
        bd.draw.line([(x, road_bottom), (x - bd.h * 0.05, bd.h)], fill=bd.tone((180, 176, 170)), width=SCENE_SS)
    for x in (bd.w * bd.rng.uniform(0.03, 0.12), bd.w * bd.rng.uniform(0.88, 0.97)):  # lamp posts
        top = road_bottom - bd.h * 0.3
        bd.draw.rectangle([x - bd.h * 0.006, top, x + bd.h * 0.006, road_bottom + bd.h * 0.02], fill=bd.tone((60, 64, 72)))
        bd.draw.ellipse([x - bd.h * 0.02, top - bd.h * 0.025, x + bd.h * 0.02, top + bd.h * 0.01],
                        fill=(255, 230, 150) if bd.spec.time != "day" else bd.tone((230, 230, 210)))
        if bd.spec.time != "day":
            bd.glow(x, top, bd.h * 0.16, (255, 210, 120))
    bd.road = (bd.horizon, road_bottom)


def paint_desert(bd: Backdrop) -> None:
    bd.sky((110, 176, 230), (250, 226, 184), clouds=False)
    if bd.rng.random() < 0.6:  # distant mesas
        x = bd.rng.uniform(0.1, 0.7) * bd.w
        bd.draw.polygon([(x, bd.horizon), (x + bd.h * 0.05, bd.horizon - bd.h * 0.12), (x + bd.h * 0.3, bd.horizon - bd.h * 0.12),
                         (x + bd.h * 0.36, bd.horizon)], fill=bd.tone((214, 150, 110)))
    for i, col in enumerate(((238, 196, 140), (244, 208, 150), (236, 190, 126))):
        bd.ridge(bd.horizon + i * bd.h * 0.07, bd.h * (0.04 - i * 0.008), col, waves=1.5 + i * 0.4)
    for _ in range(bd.rng.randint(2, 4)):
        x, base = bd.rng.choice((bd.rng.uniform(0.02, 0.25), bd.rng.uniform(0.75, 0.98))) * bd.w, bd.horizon + bd.rng.uniform(0.05, 0.2) * bd.h
        _cactus(bd, x, base, bd.h * bd.rng.uniform(0.12, 0.22))


def _cactus(bd: Backdrop, x: float, base: float, tall: float) -> None:
    g = bd.tone((80, 160, 90))
    w = tall * 0.16
    bd.draw.rounded_rectangle([x - w, base - tall, x + w, base], radius=w, fill=g)
    for side, h0 in ((-1, 0.55), (1, 0.4)):
        ax = x + side * w * 2.4
        bd.draw.rounded_rectangle([min(x, ax) - w * 0.6, base - tall * h0, max(x, ax) + w * 0.6, base - tall * h0 + w * 1.2], radius=w * 0.6, fill=g)
        bd.draw.rounded_rectangle([ax - w * 0.7, base - tall * (h0 + 0.3), ax + w * 0.7, base - tall * h0 + w * 1.2], radius=w * 0.7, fill=g)


def paint_space(bd: Backdrop) -> None:
    bd.horizon = int(bd.h * 0.68)
    bd.gradient((8, 6, 28), (40, 26, 70), 0, bd.horizon + 4, toned=False)
    bd.stars(int(bd.w * bd.horizon / 5000) + 30, bd.horizon)
    px, py, pr = bd.w * bd.rng.uniform(0.6, 0.9), bd.horizon * bd.rng.uniform(0.2, 0.45), bd.h * 0.09
    planet = bd.accent(0, (230, 150, 100))
    bd.draw.ellipse([px - pr * 2, py - pr * 0.45, px + pr * 2, py + pr * 0.45], outline=(240, 220, 180), width=int(pr * 0.12))
    bd.draw.ellipse([px - pr, py - pr, px + pr, py + pr], fill=planet)
    bd.draw.chord([px - pr * 2, py - pr * 0.45, px + pr * 2, py + pr * 0.45], 0, 180, outline=(240, 220, 180), width=int(pr * 0.12))
    ex, ey, er = bd.w * bd.rng.uniform(0.1, 0.35), bd.horizon * bd.rng.uniform(0.2, 0.5), bd.h * 0.05
    bd.draw.ellipse([ex - er, ey - er, ex + er, ey + er], fill=(70, 130, 220))
    bd.draw.ellipse([ex - er * 0.5, ey - er * 0.6, ex + er * 0.3, ey + er * 0.2], fill=(100, 180, 100))
    bd.ridge(bd.horizon, bd.h * 0.02, (170, 170, 180), waves=2)
    for _ in range(9):
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + bd.h * 0.04, bd.h)
        r = bd.h * bd.rng.uniform(0.015, 0.04)
        bd.draw.ellipse([x - r, y - r * 0.35, x + r, y + r * 0.35], fill=(130, 130, 142))
        bd.draw.ellipse([x - r * 0.8, y - r * 0.2, x + r * 0.8, y + r * 0.3], fill=(150, 150, 160))


def paint_mountain(bd: Backdrop) -> None:
    bd.sky((100, 166, 230), (214, 234, 248))
    snow = "snow" in bd.spec.weather
    for layer, (col, hmin, hmax) in enumerate((((150, 160, 196), 0.2, 0.32), ((120, 136, 160), 0.12, 0.22))):
        x = bd.rng.uniform(-0.2, 0) * bd.w
        while x < bd.w:
            half, tall = bd.h * bd.rng.uniform(0.16, 0.26), bd.h * bd.rng.uniform(hmin, hmax)
            base = bd.horizon + layer * bd.h * 0.03
            peak = (x + half, base - tall)
            bd.draw.polygon([(x, base), peak, (x + half * 2, base)], fill=bd.tone(col))
            cap = 0.3 if not snow else 0.55
            bd.draw.polygon([peak, (peak[0] + half * cap, peak[1] + tall * cap), (peak[0] + half * cap * 0.3, peak[1] + tall * cap * 0.8),
                             (peak[0] - half * cap * 0.2, peak[1] + tall * cap), (peak[0] - half * cap, peak[1] + tall * cap)],
                            fill=bd.tone((248, 250, 255)))
            x += half * bd.rng.uniform(1.1, 1.7)
    bd.ridge(bd.horizon + bd.h * 0.05, bd.h * 0.025, _grass(bd) if snow else (110, 176, 90), waves=1.5)
    for _ in range(bd.rng.randint(3, 6)):
        x = bd.rng.choice((bd.rng.uniform(0, 0.25), bd.rng.uniform(0.75, 1))) * bd.w
        bd.pine(x, bd.horizon + bd.h * bd.rng.uniform(0.06, 0.12), bd.h * bd.rng.uniform(0.12, 0.2), (50, 110, 76), snow=snow)


def paint_river(bd: Backdrop) -> None:
    bd.sky((110, 176, 232), (212, 234, 246))
    snow = "snow" in bd.spec.weather
    bd.ridge(bd.horizon, bd.h * 0.04, (160, 196, 150) if not snow else (220, 230, 244), waves=2)
    for _ in range(bd.rng.randint(2, 5)):
        bd.round_tree(bd.rng.uniform(0, bd.w), bd.horizon + bd.h * 0.02, bd.h * bd.rng.uniform(0.14, 0.2))
    top, bottom = bd.horizon + bd.h * 0.05, bd.horizon + bd.h * 0.16
    bd.gradient((90, 160, 210) if not snow else (190, 214, 236), (70, 140, 196) if not snow else (170, 200, 230), int(top), int(bottom))
    for _ in range(int(bd.w / 40)):
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(top + 4, bottom - 4)
        bd.draw.line([(x, y), (x + bd.h * 0.04, y)], fill=bd.tone((220, 240, 250), 190), width=SCENE_SS)
    bd.ridge(bottom + bd.h * 0.015, bd.h * 0.012, _grass(bd), waves=1.2)
    if not snow:
        for _ in range(bd.rng.randint(3, 6)):  # reeds
            x, y = bd.rng.uniform(0, bd.w), bottom + bd.h * 0.02
            for k in range(4):
                bd.draw.line([(x + k * 4, y), (x + k * 4 + (k - 1.5) * 5, y - bd.h * 0.07)], fill=bd.tone((70, 130, 60)), width=SCENE_SS * 2)
            bd.draw.ellipse([x + 2, y - bd.h * 0.075, x + 10, y - bd.h * 0.05], fill=bd.tone((120, 80, 50)))
    bd.water_line = top + bd.h * 0.05
    if "boat" in bd.spec.props:
        _boat(bd, bd.w * bd.rng.uniform(0.2, 0.8), top + bd.h * 0.06, bd.h * 0.07)


def paint_cave(bd: Backdrop) -> None:
    bd.horizon = int(bd.h * 0.6)
    bd.gradient((50, 40, 44), (90, 72, 64), 0, bd.h)
    ox, oy = bd.w * bd.rng.uniform(0.25, 0.75), bd.h * 0.42
    opening = (255, 240, 200) if bd.spec.time == "day" else (60, 70, 120)
    bd.draw.ellipse([ox - bd.h * 0.2, oy - bd.h * 0.24, ox + bd.h * 0.2, oy + bd.h * 0.2], fill=opening)
    bd.glow(ox, oy, bd.h * 0.35, (140, 120, 90) if bd.spec.time == "day" else (60, 70, 110))
    bd.ridge(bd.horizon, bd.h * 0.03, (110, 92, 80), waves=2)
    for x in np.arange(bd.rng.uniform(0, 40), bd.w, bd.h * 0.09):  # stalactites
        ln = bd.h * bd.rng.uniform(0.06, 0.18)
        bd.draw.polygon([(x, 0), (x + bd.h * 0.05, 0), (x + bd.h * 0.025, ln)], fill=bd.tone((74, 60, 58)))
    for _ in range(bd.rng.randint(3, 5)):  # glowing crystals
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + bd.h * 0.02, bd.horizon + bd.h * 0.12)
        col = bd.accent(bd.rng.randrange(8), bd.rng.choice(((120, 220, 255), (200, 140, 255), (140, 255, 190))))
        s = bd.h * 0.025
        bd.draw.polygon([(x - s * 0.5, y), (x, y - s * 2), (x + s * 0.5, y)], fill=col)
        bd.draw.polygon([(x + s * 0.3, y), (x + s * 0.9, y - s * 1.3), (x + s * 1.1, y)], fill=shade(col, 0.85))
        bd.glow(x, y - s, bd.h * 0.08, col)


def paint_sky(bd: Backdrop) -> None:
    bd.horizon = int(bd.h * 0.72)
    bd.sky((90, 160, 235), (200, 226, 250), clouds=True)
    for _ in range(bd.rng.randint(3, 5)):
        bd.cloud(bd.rng.uniform(0, bd.w), bd.rng.uniform(0.2, 0.6) * bd.h, bd.h * bd.rng.uniform(0.06, 0.1), alpha=220)
    for i in range(int(bd.w / (bd.h * 0.1)) + 2):  # a cloud bank to stand on
        x = i * bd.h * 0.1 + bd.rng.uniform(-10, 10)
        r = bd.h * bd.rng.uniform(0.08, 0.12)
        bd.draw.ellipse([x - r, bd.horizon - r * 0.5, x + r, bd.horizon + r * 1.2], fill=bd.tone((250, 252, 255)))
    bd.draw.rectangle([0, bd.horizon + bd.h * 0.04, bd.w, bd.h], fill=bd.tone((246, 249, 255)))
    for _ in range(5):
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(bd.horizon + bd.h * 0.08, bd.h)
        bd.draw.ellipse([x - bd.h * 0.1, y - bd.h * 0.01, x + bd.h * 0.1, y + bd.h * 0.01], fill=bd.tone((220, 230, 246), 150))


def _boat(bd: Backdrop, x: float, y: float, size: float) -> None:
    hull = bd.accent(1, (200, 70, 60))
    bd.draw.polygon([(x - size, y - size * 0.25), (x + size, y - size * 0.25), (x + size * 0.7, y + size * 0.12), (x - size * 0.7, y + size * 0.12)], fill=bd.tone(hull))
    bd.draw.line([(x, y - size * 0.25), (x, y - size * 1.3)], fill=bd.tone((90, 70, 60)), width=max(2, int(size * 0.05)))
    bd.draw.polygon([(x + size * 0.05, y - size * 1.25), (x + size * 0.75, y - size * 0.35), (x + size * 0.05, y - size * 0.35)], fill=bd.tone((250, 248, 240)))
