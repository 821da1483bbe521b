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
from dataclasses import dataclass
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


HAIR_ADJECTIVES = {"long", "short", "curly", "straight", "wavy", "messy", "thick", "braided", "fluffy", "shiny",
                   "silky", "tousled", "spiky", "cropped", "flowing", "frizzy", "untidy", "neat"} | set(SHADE_WORDS)


def _color_near(words: list[str], anchor: set[str], span: int = 3) -> RGB | None:
    """The colour word just before one of `anchor` ("long red hair" -> red), looking back only
    through adjectives, so "blue dungarees, with pigtails" does not give blue hair."""
    for i, w in enumerate(words):
        if w in anchor or any(w.startswith(a) for a in anchor):
            for j in range(i - 1, max(-1, i - span - 1), -1):
                if words[j] in COLOR_WORDS:
                    return parse_color(" ".join(words[j - 1:j + 1]) if j and words[j - 1] in SHADE_WORDS else words[j])
                if words[j] not in HAIR_ADJECTIVES:
                    break
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
    if style == "bob":  # a full bob frames the face: hair to the jaw on both sides, behind the head
        pen.rect(cx - head_r * 1.2, head_cy - head_r * 0.3, cx + head_r * 1.2, head_cy + head_r * 0.85, rgba(hair),
                 radius=head_r * 0.35)
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
    if "wings" in spec.marks:  # a bat wing: three finger bones, a scalloped membrane between them
        membrane = mix(main, second, 0.45)
        shoulder = (cx + L * 0.12, cy - D * 0.4)
        tips = [(cx + L * 0.02, cy - D * 2.2), (cx - L * 0.3, cy - D * 1.75), (cx - L * 0.46, cy - D * 0.85)]
        outline = [shoulder, tips[0]]
        for a, b in zip(tips, tips[1:] + [(cx - L * 0.2, cy - D * 0.2)]):
            pull = ((a[0] + b[0]) / 2 * 0.7 + shoulder[0] * 0.3, (a[1] + b[1]) / 2 * 0.7 + shoulder[1] * 0.3)
            outline += bezier([a, pull, b], 8)[1:]
        pen.poly(outline, rgba(membrane))
        for tip in tips:
            pen.line([shoulder, tip], rgba(shade(main, 0.6)), 2.0)
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
            pen.ellipse(sx, sy, 3.5 + (a >> 16) % 3, 2.6 + (a >> 20) % 2,
                        rgba(second if look.species == "cow" else shade(main, 1.45)), outline=False)
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
            pen.line([(bx, head_y - R * 0.8), (bx + side * R * 0.35, head_y - R * 1.8),
                      (bx + side * R * 0.9, head_y - R * 2.2)], rgba((150, 110, 70)), 2.6)
            pen.line([(bx + side * R * 0.25, head_y - R * 1.45), (bx - side * R * 0.2, head_y - R * 2.0)], rgba((150, 110, 70)), 2.4)
    if "horns" in spec.marks:
        for side in (-1, 1):
            bx = head_x + side * R * 0.5
            pen.poly([(bx - 2.2, head_y - R * 0.75), (bx + side * R * 0.45, head_y - R * 1.6), (bx + 2.2, head_y - R * 0.7)],
                     (245, 235, 210, 255))
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
        pen.stroke(bezier([(x + 2, y), (x - L * 0.25, y + D * 0.2), (x - L * 0.35, y - D * 0.6), (x - L * 0.22, y - D * 1.0)],
                          14), rgba(main), max(2.5, L * 0.055))
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
        pen.poly([(hx - R * 0.2, hy + R * 0.66), (hx - R * 0.12, hy + R * 0.82), (hx - R * 0.04, hy + R * 0.67)],
                 (255, 255, 255, 255), outline=False)
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
                pen.line([(hx + side * R * 0.35, hy + R * (0.6 + dy)), (hx + side * R * 1.2, hy + R * (0.5 + dy * 2.5))],
                         (60, 50, 50, 160), 0.6)


# Other figure kinds ---------------------------------------------------------------------------
def draw_seal(pen: Pen, look: Look) -> None:
    main, second, _ = _beast_colors(look, SPECIAL_KINDS["seal"])
    cx, base = CANVAS_W / 2 - 6, BASE
    belly = second if second != main else shade(main, 1.4)
    pen.poly([(cx - 44, base - 8), (cx - 52, base - 16), (cx - 46, base - 9), (cx - 54, base - 2), (cx - 40, base - 3)],
             rgba(shade(main, 0.75)))
    body = bezier([(cx - 42, base - 4), (cx - 30, base - 28), (cx + 6, base - 30), (cx + 16, base - 38)], 14)
    body += bezier([(cx + 16, base - 38), (cx + 30, base - 46), (cx + 34, base - 20), (cx + 26, base)], 10)
    body += [(cx - 10, base), (cx - 42, base - 2)]
    pen.poly(body, rgba(main))
    belly_edge = bezier([(cx + 22, base - 30), (cx + 33, base - 18), (cx + 22, base - 1)], 8)
    pen.poly(belly_edge + [(cx, base - 1), (cx + 8, base - 14)], rgba(belly), outline=False)
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
            pen.poly([(cx + side * 15, base - H * 0.62), (cx + side * 26, base - H * 0.2), (cx + side * 17, base - H * 0.3)],
                     rgba(shade(main, 0.9)))
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
            pen.poly([(cx + side * H * 0.1, base - H * 0.88), (cx + side * H * 0.3, base - H * 1.08),
                      (cx + side * H * 0.3, base - H * 0.8)], rgba(main))
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
    pen.poly([(cx - H * 0.35, body_y - H * 0.05), (cx - H * 0.72, body_y - H * 0.28), (cx - H * 0.66, body_y + H * 0.05)],
             rgba(shade(main, 0.8)))
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
        for y in (base - 14, base - 6):  # bows on the kite's tail
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
        self.extras: list[str] = []  # sun/moon, when the sky drew them
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
    def gradient(self, top: RGB, bottom: RGB, y0: int = 0, y1: int | None = None, toned: bool = True,
                 mid: RGB | None = None) -> None:
        y1 = self.h if y1 is None else y1
        if y1 <= y0:
            return
        stops = [top, mid, bottom] if mid else [top, bottom]
        cols = np.array([self.tone(c)[:3] if toned else c for c in stops], float)
        t = np.linspace(0.0, 1.0, y1 - y0)
        at = np.linspace(0.0, 1.0, len(stops))
        rows = np.stack([np.interp(t, at, cols[:, ch]) for ch in range(3)], axis=1).astype(np.uint8)
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
            for _ in range(5):
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
        self.extras.append("moon")
        self.glow(x, y, r * 3.2, (120, 130, 170))
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=(250, 244, 214))
        for dx, dy, cr in ((-0.3, -0.2, 0.2), (0.25, 0.3, 0.14), (0.35, -0.35, 0.1)):
            self.draw.ellipse([x + (dx - cr) * r, y + (dy - cr) * r, x + (dx + cr) * r, y + (dy + cr) * r], fill=(232, 224, 196))

    def sun(self, x: float, y: float, r: float) -> None:
        self.extras.append("sun")
        color = (255, 214, 90) if self.spec.time == "day" else (255, 160, 90)
        for i in range(12):
            a = i * np.pi / 6 + self.rng.uniform(0, 0.2)
            self.draw.line([(x + np.cos(a) * r * 1.3, y + np.sin(a) * r * 1.3), (x + np.cos(a) * r * 1.75, y + np.sin(a) * r * 1.75)],
                           fill=(*color, 200), width=max(2, int(r * 0.14)))
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=color)

    # sky ------------------------------------------------------------------------------
    def sky(self, top: RGB = (110, 170, 232), bottom: RGB = (205, 230, 246), clouds: bool = True, mid: RGB | None = None) -> None:
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
            self.gradient(top, bottom, 0, self.horizon + 4, mid=mid)
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
        self.extras.append("rainbow")
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
        bd.round_tree(bd.rng.uniform(0, bd.w), bd.horizon + bd.h * 0.03, bd.h * 0.22,
                      fruit=(230, 80, 70) if bd.rng.random() < 0.4 else None)
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
                bd.draw.ellipse([x + np.cos(ang) * s - s, y + np.sin(ang) * s - s, x + np.cos(ang) * s + s,
                                 y + np.sin(ang) * s + s], fill=bd.tone(col))
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
        bd.extras.append("boat")
    pts = bd.ridge(shore, bd.h * 0.015, (238, 214, 164), waves=1.3)
    bd.draw.line(pts, fill=bd.tone((250, 250, 250), 210), width=3 * SCENE_SS)
    for _ in range(int(bd.w / 60)):  # pebbles and shells
        x, y = bd.rng.uniform(0, bd.w), bd.rng.uniform(shore + bd.h * 0.04, bd.h)
        r = bd.h * bd.rng.uniform(0.004, 0.01)
        bd.draw.ellipse([x - r * 1.4, y - r, x + r * 1.4, y + r],
                        fill=bd.tone(bd.rng.choice(((200, 180, 150), (250, 230, 220), (170, 160, 150)))))
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
            col = shade(bd.accent(bd.rng.randrange(8),
                                  bd.rng.choice(((214, 150, 120), (200, 190, 170), (170, 180, 200), (230, 200, 150)))), shade_k)
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
    bd.sky((90, 168, 232), (255, 228, 186), clouds=False, mid=(176, 218, 240))
    if bd.rng.random() < 0.6:  # distant mesas
        x = bd.rng.uniform(0.1, 0.7) * bd.w
        bd.draw.polygon([(x, bd.horizon), (x + bd.h * 0.05, bd.horizon - bd.h * 0.12), (x + bd.h * 0.3, bd.horizon - bd.h * 0.12),
                         (x + bd.h * 0.36, bd.horizon)], fill=bd.tone((214, 150, 110)))
    for i, col in enumerate(((238, 196, 140), (244, 208, 150), (236, 190, 126))):
        bd.ridge(bd.horizon + i * bd.h * 0.07, bd.h * (0.04 - i * 0.008), col, waves=1.5 + i * 0.4)
    for _ in range(bd.rng.randint(2, 4)):
        x, base = bd.rng.choice((bd.rng.uniform(0.02, 0.25),
                                 bd.rng.uniform(0.75, 0.98))) * bd.w, bd.horizon + bd.rng.uniform(0.05, 0.2) * bd.h
        _cactus(bd, x, base, bd.h * bd.rng.uniform(0.12, 0.22))


def _cactus(bd: Backdrop, x: float, base: float, tall: float) -> None:
    g = bd.tone((80, 160, 90))
    w = tall * 0.16
    bd.draw.rounded_rectangle([x - w, base - tall, x + w, base], radius=w, fill=g)
    for side, h0 in ((-1, 0.55), (1, 0.4)):
        ax = x + side * w * 2.4
        bd.draw.rounded_rectangle([min(x, ax) - w * 0.6, base - tall * h0, max(x, ax) + w * 0.6, base - tall * h0 + w * 1.2],
                                  radius=w * 0.6, fill=g)
        bd.draw.rounded_rectangle([ax - w * 0.7, base - tall * (h0 + 0.3), ax + w * 0.7, base - tall * h0 + w * 1.2],
                                  radius=w * 0.7, fill=g)


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
                bd.draw.line([(x + k * 4, y), (x + k * 4 + (k - 1.5) * 5, y - bd.h * 0.07)], fill=bd.tone((70, 130, 60)),
                             width=SCENE_SS * 2)
            bd.draw.ellipse([x + 2, y - bd.h * 0.075, x + 10, y - bd.h * 0.05], fill=bd.tone((120, 80, 50)))
    bd.water_line = top + bd.h * 0.05
    if "boat" in bd.spec.props:
        _boat(bd, bd.w * bd.rng.uniform(0.2, 0.8), top + bd.h * 0.06, bd.h * 0.07)
        bd.extras.append("boat")


def paint_cave(bd: Backdrop) -> None:
    bd.horizon = int(bd.h * 0.6)
    bd.gradient((50, 40, 44), (90, 72, 64), 0, bd.h)
    # The way out: an arch at the back of the cave with a glimpse of the outside.
    ox, r = bd.w * bd.rng.uniform(0.25, 0.75), bd.h * 0.16
    outside = ((150, 200, 235), (200, 230, 200)) if bd.spec.time == "day" else ((30, 36, 80), (50, 60, 100))
    arch = Image.new("L", (bd.w, bd.h), 0)
    ImageDraw.Draw(arch).ellipse([ox - r, bd.horizon - r * 1.6, ox + r, bd.horizon + r * 1.6], fill=255)
    view = Image.new("RGB", (bd.w, bd.h), outside[0])
    ImageDraw.Draw(view).rectangle([0, bd.horizon - r * 0.3, bd.w, bd.h], fill=outside[1])
    bd.image.paste(view, (0, 0), arch)
    bd.glow(ox, bd.horizon - r * 0.5, bd.h * 0.3, (110, 100, 80) if bd.spec.time == "day" else (40, 50, 90))
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
    bd.draw.polygon([(x - size, y - size * 0.25), (x + size, y - size * 0.25), (x + size * 0.7, y + size * 0.12),
                     (x - size * 0.7, y + size * 0.12)], fill=bd.tone(hull))
    bd.draw.line([(x, y - size * 0.25), (x, y - size * 1.3)], fill=bd.tone((90, 70, 60)), width=max(2, int(size * 0.05)))
    bd.draw.polygon([(x + size * 0.05, y - size * 1.25), (x + size * 0.75, y - size * 0.35),
                     (x + size * 0.05, y - size * 0.35)], fill=bd.tone((250, 248, 240)))


ROOM_WALLS: dict[str, RGB] = {"kitchen": (250, 236, 200), "bakery": (248, 226, 196), "café": (236, 214, 196),
                              "museum": (226, 222, 232), "library": (170, 112, 84), "bedroom": (206, 222, 246),
                              "classroom": (236, 232, 200), "workshop": (200, 180, 150), "attic": (196, 170, 140)}


def paint_indoor(bd: Backdrop) -> None:
    room = bd.spec.room or "room"
    bd.horizon = int(bd.h * bd.rng.uniform(0.6, 0.66))
    wall = ROOM_WALLS.get(room) or mix(bd.accent(0, (236, 220, 200)), (250, 244, 232), 0.6)
    bd.gradient(shade(wall, 1.05), shade(wall, 0.93), 0, bd.horizon)
    stripe = shade(wall, 0.94)
    if room in ("room", "bedroom", "café"):
        for x in np.arange(0, bd.w, bd.h * 0.06):
            bd.draw.rectangle([x, 0, x + bd.h * 0.022, bd.horizon], fill=bd.tone(stripe))
    floor = (196, 150, 104) if room not in ("kitchen", "museum") else (236, 232, 224)
    bd.draw.rectangle([0, bd.horizon, bd.w, bd.h], fill=bd.tone(floor))
    if room == "kitchen":  # chequered tiles
        tile = bd.h * 0.06
        for j, y in enumerate(np.arange(bd.horizon, bd.h, tile)):
            for i, x in enumerate(np.arange(0, bd.w, tile)):
                if (i + j) % 2:
                    bd.draw.rectangle([x, y, x + tile, y + tile], fill=bd.tone(mix(bd.accent(0, (210, 110, 100)), floor, 0.55)))
    else:
        for y in np.arange(bd.horizon, bd.h, bd.h * 0.045):
            bd.draw.line([(0, y), (bd.w, y)], fill=bd.tone(shade(floor, 0.86)), width=SCENE_SS)
    bd.draw.rectangle([0, bd.horizon - bd.h * 0.02, bd.w, bd.horizon], fill=bd.tone(shade(wall, 0.7)))

    # A window onto the weather outside, and maybe a door; placed on opposite sides.
    left = bd.rng.random() < 0.5
    wx = bd.w * (bd.rng.uniform(0.1, 0.25) if left else bd.rng.uniform(0.6, 0.78))
    _window(bd, wx, bd.h * 0.12, bd.h * 0.26, bd.h * 0.22)
    if "door" in bd.spec.props or bd.rng.random() < 0.4:
        dx = bd.w * (bd.rng.uniform(0.78, 0.9) if left else bd.rng.uniform(0.08, 0.2))
        _door(bd, dx, bd.horizon, bd.h * 0.36)
    furniture = {"kitchen": _kitchen, "bakery": _bakery, "café": _cafe_room, "museum": _museum, "library": _library,
                 "bedroom": _bedroom}.get(room, _living_room)
    furniture(bd, wx, left)


def _window(bd: Backdrop, x: float, y: float, w: float, h: float) -> None:
    frame = bd.tone((250, 250, 246))
    night = bd.spec.time == "night"
    bd.draw.rectangle([x - 6, y - 6, x + w + 6, y + h + 6], fill=frame)
    top, bottom = ((20, 28, 70), (60, 70, 130)) if night else ((120, 180, 236), (200, 230, 250))
    t = np.linspace(0, 1, int(h))[:, None]
    rows = (np.array(top) * (1 - t) + np.array(bottom) * t).astype(np.uint8)
    bd.image.paste(Image.fromarray(np.repeat(rows[:, None, :], int(w), axis=1), "RGB"), (int(x), int(y)))
    if night:
        bd.draw.ellipse([x + w * 0.62, y + h * 0.15, x + w * 0.82, y + h * 0.15 + w * 0.2], fill=(250, 244, 214))
        for _ in range(6):
            sx, sy = x + bd.rng.uniform(0.05, 0.95) * w, y + bd.rng.uniform(0.05, 0.6) * h
            bd.draw.ellipse([sx - 2, sy - 2, sx + 2, sy + 2], fill=(255, 250, 220))
    if "snow" in bd.spec.weather:
        bd.draw.rectangle([x, y + h * 0.8, x + w, y + h], fill=bd.tone((240, 244, 252)))
        for _ in range(14):
            sx, sy = x + bd.rng.uniform(0, w), y + bd.rng.uniform(0, h * 0.8)
            bd.draw.ellipse([sx - 2.5, sy - 2.5, sx + 2.5, sy + 2.5], fill=(255, 255, 255))
    elif "rain" in bd.spec.weather:
        for _ in range(14):
            sx, sy = x + bd.rng.uniform(0, w - 6), y + bd.rng.uniform(0, h - 14)
            bd.draw.line([(sx, sy), (sx + 4, sy + 12)], fill=(200, 220, 240), width=2)
    else:
        bd.draw.rectangle([x, y + h * 0.78, x + w, y + h], fill=bd.tone((120, 180, 100)))
    bd.draw.line([(x + w / 2, y), (x + w / 2, y + h)], fill=frame, width=5)
    bd.draw.line([(x, y + h / 2), (x + w, y + h / 2)], fill=frame, width=5)
    curtain = bd.accent(2, (220, 110, 100))
    for cx0, sgn in ((x - 10, 1), (x + w + 10, -1)):
        bd.draw.polygon([(cx0, y - 12), (cx0 + sgn * w * 0.22, y - 12), (cx0 + sgn * w * 0.08, y + h + 14),
                         (cx0, y + h + 14)], fill=bd.tone(curtain))
    bd.draw.rectangle([x - 16, y - 18, x + w + 16, y - 10], fill=bd.tone((150, 110, 80)))


def _door(bd: Backdrop, x: float, base: float, h: float) -> None:
    w = h * 0.48
    col = bd.accent(3, (150, 96, 64))
    bd.draw.rectangle([x - w / 2 - 6, base - h - 6, x + w / 2 + 6, base], fill=bd.tone((240, 236, 226)))
    bd.draw.rounded_rectangle([x - w / 2, base - h, x + w / 2, base], radius=w * 0.12, fill=bd.tone(col))
    for y0, y1 in ((0.1, 0.45), (0.55, 0.92)):
        bd.draw.rounded_rectangle([x - w * 0.35, base - h + h * y0, x + w * 0.35, base - h + h * y1], radius=6,
                                  outline=bd.tone(shade(col, 0.75)), width=SCENE_SS * 2)
    bd.draw.ellipse([x + w * 0.3, base - h * 0.5, x + w * 0.4, base - h * 0.45], fill=bd.tone((240, 200, 80)))


def _shelf_items(bd: Backdrop, x0: float, x1: float, y: float, kind: str) -> None:
    bd.draw.rectangle([x0, y, x1, y + bd.h * 0.012], fill=bd.tone((140, 96, 64)))
    x = x0 + 6
    while x < x1 - bd.h * 0.04:
        if kind == "books":
            bw, bh = bd.h * bd.rng.uniform(0.014, 0.024), bd.h * bd.rng.uniform(0.06, 0.085)
            col = bd.accent(bd.rng.randrange(8),
                            bd.rng.choice(((200, 70, 60), (60, 110, 180), (230, 180, 60), (90, 150, 90), (140, 90, 160))))
            bd.draw.rectangle([x, y - bh, x + bw, y], fill=bd.tone(col))
            x += bw + 2
        elif kind == "bread":
            r = bd.h * 0.025
            bd.draw.ellipse([x, y - r * 1.3, x + r * 2.4, y], fill=bd.tone((214, 150, 80)))
            for k in range(3):
                bd.draw.line([(x + r * (0.6 + k * 0.5), y - r * 1.1), (x + r * (0.9 + k * 0.5), y - r * 0.4)],
                             fill=bd.tone((240, 200, 140)), width=SCENE_SS)
            x += r * 2.8
        else:  # jars
            jw, jh = bd.h * 0.03, bd.h * bd.rng.uniform(0.035, 0.05)
            col = bd.accent(bd.rng.randrange(8), bd.rng.choice(((230, 140, 80), (200, 80, 90), (120, 170, 90), (240, 210, 100))))
            bd.draw.rounded_rectangle([x, y - jh, x + jw, y], radius=4, fill=bd.tone(col))
            bd.draw.rectangle([x - 1, y - jh - 5, x + jw + 1, y - jh + 1], fill=bd.tone((200, 200, 206)))
            x += jw + bd.h * 0.015


def _counter(bd: Backdrop, x0: float, x1: float, top_col: RGB, body_col: RGB) -> float:
    top = bd.horizon - bd.h * 0.16
    bd.draw.rectangle([x0, top, x1, bd.horizon], fill=bd.tone(body_col))
    bd.draw.rectangle([x0 - 6, top - bd.h * 0.02, x1 + 6, top], fill=bd.tone(top_col))
    for x in np.arange(x0 + bd.h * 0.01, x1 - bd.h * 0.05, bd.h * 0.1):
        bd.draw.rectangle([x + 4, top + bd.h * 0.02, x + bd.h * 0.09, bd.horizon - bd.h * 0.015],
                          outline=bd.tone(shade(body_col, 0.8)), width=SCENE_SS * 2)
        bd.draw.ellipse([x + bd.h * 0.075, top + bd.h * 0.07, x + bd.h * 0.083, top + bd.h * 0.078], fill=bd.tone((90, 80, 70)))
    return top


def _kitchen(bd: Backdrop, wx: float, window_left: bool) -> None:
    x0, x1 = (bd.w * 0.42, bd.w * 0.98) if window_left else (bd.w * 0.02, bd.w * 0.56)
    top = _counter(bd, x0, x1, (220, 220, 226), bd.accent(0, (130, 180, 190)))
    sx = x0 + (x1 - x0) * bd.rng.uniform(0.45, 0.7)  # stove with a pot
    bd.draw.rectangle([sx - bd.h * 0.06, top - bd.h * 0.006, sx + bd.h * 0.06, top], fill=bd.tone((60, 60, 66)))
    bd.draw.rounded_rectangle([sx - bd.h * 0.045, top - bd.h * 0.07, sx + bd.h * 0.045, top - bd.h * 0.006], radius=6,
                              fill=bd.tone((200, 70, 60)))
    bd.draw.rectangle([sx - bd.h * 0.055, top - bd.h * 0.075, sx + bd.h * 0.055, top - bd.h * 0.065], fill=bd.tone((170, 60, 50)))
    for k in range(3):  # steam
        bd.draw.arc([sx - bd.h * 0.02 + k * 10, top - bd.h * 0.16, sx + k * 10, top - bd.h * 0.09], 250, 110,
                    fill=(255, 255, 255, 150), width=SCENE_SS * 2)
    _shelf_items(bd, x0 + bd.h * 0.02, x0 + (x1 - x0) * 0.5, bd.h * 0.2, "jars")
    for k in range(3):  # hanging pans
        px = x0 + (x1 - x0) * (0.62 + k * 0.1)
        bd.draw.line([(px, bd.h * 0.1), (px, bd.h * 0.16)], fill=bd.tone((90, 80, 70)), width=SCENE_SS)
        bd.draw.ellipse([px - bd.h * 0.025, bd.h * 0.16, px + bd.h * 0.025, bd.h * 0.21], fill=bd.tone((190, 120, 70)))


def _bakery(bd: Backdrop, wx: float, window_left: bool) -> None:
    x0, x1 = (bd.w * 0.4, bd.w * 0.98) if window_left else (bd.w * 0.02, bd.w * 0.58)
    top = _counter(bd, x0, x1, (236, 220, 190), (180, 120, 80))
    _shelf_items(bd, x0 + 10, x1 - 10, top - bd.h * 0.02, "bread")
    for y in (bd.h * 0.14, bd.h * 0.26):
        _shelf_items(bd, x0 + 10, x1 - 10, y, "bread")
    _bunting(bd, bd.h * 0.05)


def _cafe_room(bd: Backdrop, wx: float, window_left: bool) -> None:
    bx = bd.w * (0.62 if window_left else 0.2)  # chalkboard menu
    bd.draw.rectangle([bx - bd.h * 0.1, bd.h * 0.12, bx + bd.h * 0.1, bd.h * 0.3], fill=bd.tone((50, 60, 56)))
    for k in range(4):
        bd.draw.line([(bx - bd.h * 0.07, bd.h * (0.16 + k * 0.035)),
                      (bx + bd.h * bd.rng.uniform(0.0, 0.07), bd.h * (0.16 + k * 0.035))], fill=(230, 230, 220), width=SCENE_SS)
    for k in range(2):  # pendant lamps
        lx = bd.w * (0.3 + 0.4 * k)
        bd.draw.line([(lx, 0), (lx, bd.h * 0.08)], fill=bd.tone((60, 60, 60)), width=SCENE_SS)
        bd.draw.pieslice([lx - bd.h * 0.04, bd.h * 0.06, lx + bd.h * 0.04, bd.h * 0.12], 180, 360,
                         fill=bd.tone(bd.accent(k, (230, 120, 80))))
        bd.glow(lx, bd.h * 0.1, bd.h * 0.12, (255, 220, 150))
    for tx in (bd.w * 0.08, bd.w * 0.92):
        _cafe_table(bd, tx, bd.horizon + bd.h * 0.08, bd.h * 0.12)


def _cafe_table(bd: Backdrop, x: float, base: float, size: float) -> None:
    bd.draw.rectangle([x - size * 0.05, base - size, x + size * 0.05, base], fill=bd.tone((80, 70, 66)))
    bd.draw.ellipse([x - size * 0.6, base - size * 1.08, x + size * 0.6, base - size * 0.92], fill=bd.tone((240, 236, 228)))
    bd.draw.rounded_rectangle([x - size * 0.14, base - size * 1.3, x + size * 0.1, base - size * 1.02], radius=4,
                              fill=bd.tone((250, 250, 250)))
    bd.draw.arc([x + size * 0.04, base - size * 1.25, x + size * 0.2, base - size * 1.1], 270, 90,
                fill=bd.tone((250, 250, 250)), width=SCENE_SS * 2)


def _museum(bd: Backdrop, wx: float, window_left: bool) -> None:
    for k in range(3):
        fx = bd.w * (0.4 + 0.2 * k) if window_left else bd.w * (0.1 + 0.2 * k)
        fw, fh = bd.h * 0.12, bd.h * 0.15
        bd.draw.rectangle([fx - fw / 2 - 8, bd.h * 0.14 - 8, fx + fw / 2 + 8, bd.h * 0.14 + fh + 8], fill=bd.tone((200, 160, 70)))
        bd.draw.rectangle([fx - fw / 2, bd.h * 0.14, fx + fw / 2, bd.h * 0.14 + fh],
                          fill=bd.tone(bd.accent(k, ((120, 170, 220), (230, 180, 120), (150, 200, 140))[k])))
        bd.draw.ellipse([fx - fw * 0.2, bd.h * 0.14 + fh * 0.3, fx + fw * 0.2, bd.h * 0.14 + fh * 0.7], fill=bd.tone((250, 230, 160)))
    px = bd.w * (0.9 if window_left else 0.1)
    bd.draw.rectangle([px - bd.h * 0.05, bd.horizon - bd.h * 0.14, px + bd.h * 0.05, bd.horizon + bd.h * 0.02],
                      fill=bd.tone((236, 232, 226)))
    bd.draw.ellipse([px - bd.h * 0.035, bd.horizon - bd.h * 0.23, px + bd.h * 0.035, bd.horizon - bd.h * 0.14],
                    fill=bd.tone((60, 110, 170)))


def _library(bd: Backdrop, wx: float, window_left: bool) -> None:
    x0, x1 = (bd.w * 0.42, bd.w * 0.98) if window_left else (bd.w * 0.02, bd.w * 0.56)
    bd.draw.rectangle([x0, bd.h * 0.06, x1, bd.horizon], fill=bd.tone((110, 70, 50)))
    for y in np.arange(bd.h * 0.16, bd.horizon, bd.h * 0.11):
        _shelf_items(bd, x0 + 8, x1 - 8, y, "books")


def _bedroom(bd: Backdrop, wx: float, window_left: bool) -> None:
    bx = bd.w * (0.75 if window_left else 0.25)
    bw = bd.h * 0.3
    quilt = bd.accent(0, (120, 160, 220))
    bd.draw.rounded_rectangle([bx - bw, bd.horizon - bd.h * 0.2, bx - bw + 14, bd.horizon + bd.h * 0.04], radius=6,
                              fill=bd.tone((160, 110, 70)))
    bd.draw.rounded_rectangle([bx - bw, bd.horizon - bd.h * 0.08, bx + bw, bd.horizon + bd.h * 0.02], radius=10, fill=bd.tone(quilt))
    bd.draw.ellipse([bx - bw + 16, bd.horizon - bd.h * 0.12, bx - bw + bd.h * 0.14, bd.horizon - bd.h * 0.06],
                    fill=bd.tone((250, 250, 250)))
    lx = bx + bw + bd.h * 0.06
    bd.draw.rectangle([lx - bd.h * 0.03, bd.horizon - bd.h * 0.1, lx + bd.h * 0.03, bd.horizon], fill=bd.tone((150, 110, 80)))
    bd.draw.polygon([(lx - bd.h * 0.035, bd.horizon - bd.h * 0.13), (lx + bd.h * 0.035, bd.horizon - bd.h * 0.13),
                     (lx + bd.h * 0.02, bd.horizon - bd.h * 0.18), (lx - bd.h * 0.02, bd.horizon - bd.h * 0.18)], fill=(255, 226, 150))
    if bd.spec.time != "day":
        bd.glow(lx, bd.horizon - bd.h * 0.14, bd.h * 0.16, (255, 210, 130))


def _living_room(bd: Backdrop, wx: float, window_left: bool) -> None:
    px = bd.w * (0.65 if window_left else 0.3)
    bd.draw.rectangle([px - bd.h * 0.08, bd.h * 0.14, px + bd.h * 0.08, bd.h * 0.27], fill=bd.tone((200, 160, 70)))
    bd.draw.rectangle([px - bd.h * 0.065, bd.h * 0.155, px + bd.h * 0.065, bd.h * 0.255], fill=bd.tone((150, 200, 230)))
    bd.draw.polygon([(px - bd.h * 0.065, bd.h * 0.255), (px - bd.h * 0.02, bd.h * 0.19), (px + bd.h * 0.02, bd.h * 0.23),
                     (px + bd.h * 0.065, bd.h * 0.2), (px + bd.h * 0.065, bd.h * 0.255)], fill=bd.tone((100, 160, 90)))
    sx = bd.w * (0.88 if window_left else 0.1)  # a potted plant
    bd.draw.polygon([(sx - bd.h * 0.035, bd.horizon - bd.h * 0.08), (sx + bd.h * 0.035, bd.horizon - bd.h * 0.08),
                     (sx + bd.h * 0.025, bd.horizon), (sx - bd.h * 0.025, bd.horizon)], fill=bd.tone((200, 110, 70)))
    for a in range(7):
        ang = np.pi * (1.1 + a * 0.13)
        bd.draw.ellipse([sx + np.cos(ang) * bd.h * 0.06 - bd.h * 0.02, bd.horizon - bd.h * 0.1 + np.sin(ang) * bd.h * 0.08 - bd.h * 0.012,
                         sx + np.cos(ang) * bd.h * 0.06 + bd.h * 0.02, bd.horizon - bd.h * 0.1 + np.sin(ang) * bd.h * 0.08 + bd.h * 0.012],
                        fill=bd.tone((70, 150, 80)))
    rug = bd.accent(1, (200, 90, 90))
    bd.draw.ellipse([bd.w * 0.25, bd.horizon + bd.h * 0.12, bd.w * 0.75, bd.horizon + bd.h * 0.28], fill=bd.tone(rug, 150))


def _bunting(bd: Backdrop, y: float) -> None:
    pts = bezier([(0, y), (bd.w / 2, y + bd.h * 0.06), (bd.w, y)], 24)
    bd.draw.line(pts, fill=bd.tone((120, 100, 90)), width=SCENE_SS)
    for i, (x, yy) in enumerate(pts[1:-1]):
        col = bd.accent(i, ((230, 90, 90), (250, 200, 80), (100, 170, 220), (120, 190, 120))[i % 4])
        bd.draw.polygon([(x - bd.h * 0.018, yy), (x + bd.h * 0.018, yy), (x, yy + bd.h * 0.04)], fill=bd.tone(col))


PAINTERS = {"garden": paint_garden, "snow": paint_snow, "forest": paint_forest, "sea": paint_sea,
            "underwater": paint_underwater, "city": paint_city, "desert": paint_desert, "space": paint_space,
            "mountain": paint_mountain, "river": paint_river, "cave": paint_cave, "sky": paint_sky, "indoor": paint_indoor}


# Props: background ones stand on the horizon, foreground ones in the gaps between figures ----
BACKGROUND_PROPS = ("lighthouse", "house", "tree", "rocket", "bus", "cafe", "door", "boat")
SKY_PROPS = ("kite", "balloon", "star")
FOREGROUND_PROPS = ("lantern", "campfire", "cake", "candle", "umbrella", "mushroom", "flowers", "book")


def paint_props(bd: Backdrop, spec: SceneSpec, boxes: list[tuple[float, float, float, float]]) -> list[str]:
    """Draw the props the text names; returns those drawn. `boxes` are figure boxes (x0, y0, x1, y1)
    in 2x coordinates, which foreground props keep clear of."""
    drawn: list[str] = []
    used: list[tuple[float, float]] = []

    def free_x(width: float) -> float:
        """A background position away from other background props (tries both sides first)."""
        best, best_d = bd.w * 0.5, -1.0
        for _ in range(12):
            x = bd.rng.uniform(width / 2 + 4, max(width / 2 + 5, bd.w - width / 2 - 4))
            d = min([abs(x - (a + b) / 2) - (b - a) / 2 - width / 2 for a, b in used] or [bd.w])
            if d > best_d:
                best, best_d = x, d
        used.append((best - width / 2, best + width / 2))
        return best

    s = bd.h
    for prop in spec.props:
        if prop == "lighthouse" and spec.setting != "indoor":
            x = bd.w * bd.rng.choice((bd.rng.uniform(0.06, 0.18), bd.rng.uniform(0.82, 0.94)))
            used.append((x - s * 0.08, x + s * 0.08))
            _lighthouse(bd, x, bd.horizon + s * 0.02, s * 0.42)
        elif prop == "house" and spec.setting not in ("indoor", "space", "underwater"):
            _house(bd, free_x(s * 0.3), bd.horizon + s * 0.05, s * 0.22)
        elif prop == "tree" and spec.setting not in ("forest", "indoor", "space", "underwater", "sky"):
            x = free_x(s * 0.2)
            if "snow" in spec.weather or spec.setting == "snow":
                bd.pine(x, bd.horizon + s * 0.06, s * 0.34, snow=True)
            else:
                bd.round_tree(x, bd.horizon + s * 0.06, s * 0.3)
        elif prop == "rocket" and spec.setting != "indoor":
            _rocket(bd, free_x(s * 0.12), bd.horizon + s * 0.04, s * 0.3)
        elif prop == "bus" and spec.setting != "indoor":
            y = getattr(bd, "road", (bd.horizon, bd.horizon + s * 0.06))[1] - s * 0.01
            _bus(bd, free_x(s * 0.42), y, s * 0.13)
        elif prop == "cafe" and spec.setting != "indoor":
            _stall(bd, free_x(s * 0.36), bd.horizon + s * 0.1, s * 0.2)
        elif prop == "door" and spec.setting != "indoor":
            x = free_x(s * 0.2)
            bd.draw.ellipse([x - s * 0.14, bd.horizon - s * 0.1, x + s * 0.14, bd.horizon + s * 0.12],
                            fill=bd.tone(shade(_grass(bd), 0.85)))
            bd.draw.chord([x - s * 0.045, bd.horizon - s * 0.05, x + s * 0.045, bd.horizon + s * 0.04], 180, 360,
                          fill=bd.tone(bd.accent(3, (200, 70, 60))))
            bd.draw.rectangle([x - s * 0.045, bd.horizon - s * 0.006, x + s * 0.045, bd.horizon + s * 0.07],
                              fill=bd.tone(bd.accent(3, (200, 70, 60))))
        elif prop == "boat" and spec.setting not in ("sea", "river") and hasattr(bd, "water_line"):
            _boat(bd, free_x(s * 0.2), bd.water_line, s * 0.08)
        elif prop == "kite":
            _kite(bd, boxes)
        elif prop == "balloon":
            for i in range(3):
                x, y = bd.w * bd.rng.uniform(0.1, 0.9), bd.horizon * bd.rng.uniform(0.2, 0.6)
                col = bd.accent(i, ((230, 70, 80), (250, 200, 60), (80, 150, 230))[i])
                bd.draw.line([(x, y + s * 0.04), (x + 6, y + s * 0.14)], fill=bd.tone((90, 90, 90)), width=SCENE_SS)
                bd.draw.ellipse([x - s * 0.03, y - s * 0.04, x + s * 0.03, y + s * 0.04], fill=bd.tone(col))
        elif prop == "star":
            x, y = bd.w * bd.rng.uniform(0.2, 0.8), bd.horizon * bd.rng.uniform(0.1, 0.3)
            bd.draw.line([(x, y), (x - s * 0.2, y + s * 0.08)], fill=(255, 240, 200, 140), width=SCENE_SS * 2)
            bd.draw.regular_polygon((x, y, s * 0.025), 5, fill=(255, 230, 120))
            bd.glow(x, y, s * 0.08, (255, 230, 150))
        elif prop in FOREGROUND_PROPS:
            if _foreground_prop(bd, prop, boxes):
                drawn.append(prop)
            continue
        else:
            continue
        drawn.append(prop)
    return drawn


def _gaps(bd: Backdrop, boxes, width: float) -> list[float]:
    """x centres of free spans along the feet line wide enough for `width`, nearest the first figure first."""
    spans, x = [], 0.0
    for x0, _, x1, _ in sorted(boxes):
        if x0 - x >= width:
            spans.append((x, x0))
        x = max(x, x1)
    if bd.w - x >= width:
        spans.append((x, bd.w))
    if not boxes:
        return [bd.w * bd.rng.uniform(0.2, 0.8)]
    first = boxes[0]
    centres = []
    for a, b in spans:  # hug the figure-side edge of the span: props belong to someone
        centres.append(a + width * 0.6 if abs(a - first[2]) < abs(b - first[0]) else b - width * 0.6)
    return sorted(centres, key=lambda c: abs(c - (first[0] + first[2]) / 2))


def _foreground_prop(bd: Backdrop, prop: str, boxes) -> bool:
    s = bd.h
    size = {"lantern": 0.11, "campfire": 0.16, "cake": 0.2, "candle": 0.08, "umbrella": 0.2, "mushroom": 0.1,
            "flowers": 0.12, "book": 0.1}[prop] * s
    spots = _gaps(bd, boxes, size * 1.1)
    if not spots:
        return False
    x = spots[0]
    base = max((b[3] for b in boxes), default=bd.h * 0.88) - s * 0.01
    bd.occupied = getattr(bd, "occupied", []) + [x]
    if prop == "lantern":
        _lantern(bd, x, base, size)
    elif prop == "campfire":
        for a in (-0.5, 0.5):
            bd.draw.line([(x - size * 0.5, base - size * (0.1 + a * 0.1)), (x + size * 0.5, base - size * (0.1 - a * 0.1))],
                         fill=bd.tone((120, 80, 50)), width=int(size * 0.12))
        for k, col in enumerate(((240, 110, 40), (250, 180, 50), (255, 235, 140))):
            f = 1 - k * 0.3
            bd.draw.polygon([(x - size * 0.3 * f, base - size * 0.15), (x - size * 0.15 * f, base - size * 0.6 * f),
                             (x, base - size * 0.95 * f),
                             (x + size * 0.12 * f, base - size * 0.55 * f), (x + size * 0.3 * f, base - size * 0.15)], fill=col)
        bd.glow(x, base - size * 0.4, s * 0.3, (255, 150, 60))
    elif prop == "cake":
        bd.draw.rectangle([x - size * 0.04, base - size * 0.7, x + size * 0.04, base], fill=bd.tone((140, 100, 70)))
        bd.draw.ellipse([x - size * 0.55, base - size * 0.78, x + size * 0.55, base - size * 0.62], fill=bd.tone((240, 236, 230)))
        bd.draw.rounded_rectangle([x - size * 0.32, base - size * 1.05, x + size * 0.32, base - size * 0.72], radius=6,
                                  fill=bd.tone(bd.accent(2, (240, 160, 180))))
        bd.draw.rectangle([x - size * 0.32, base - size * 1.05, x + size * 0.32, base - size * 0.96], fill=bd.tone((255, 250, 245)))
        bd.draw.rectangle([x - 2, base - size * 1.22, x + 2, base - size * 1.05], fill=(250, 250, 240))
        bd.draw.ellipse([x - 4, base - size * 1.32, x + 4, base - size * 1.2], fill=(255, 210, 90))
        bd.glow(x, base - size * 1.26, s * 0.05, (255, 210, 120))
    elif prop == "candle":
        bd.draw.rectangle([x - size * 0.12, base - size * 0.6, x + size * 0.12, base], fill=bd.tone((250, 246, 230)))
        bd.draw.ellipse([x - size * 0.08, base - size * 0.85, x + size * 0.08, base - size * 0.6], fill=(255, 210, 90))
        bd.glow(x, base - size * 0.72, s * 0.12, (255, 200, 110))
    elif prop == "umbrella":
        col = bd.accent(0, (220, 60, 70))
        bd.draw.line([(x, base - size * 0.9), (x, base - size * 0.05)], fill=bd.tone((70, 60, 60)), width=SCENE_SS * 2)
        bd.draw.arc([x, base - size * 0.15, x + size * 0.16, base], 0, 180, fill=bd.tone((70, 60, 60)), width=SCENE_SS * 2)
        bd.draw.pieslice([x - size * 0.5, base - size * 1.1, x + size * 0.5, base - size * 0.6], 180, 360, fill=bd.tone(col))
    elif prop == "mushroom":
        bd.draw.rounded_rectangle([x - size * 0.14, base - size * 0.5, x + size * 0.14, base], radius=5, fill=bd.tone((250, 244, 230)))
        bd.draw.pieslice([x - size * 0.45, base - size * 0.85, x + size * 0.45, base - size * 0.25], 180, 360, fill=bd.tone((220, 60, 50)))
        for dx, dy in ((-0.2, -0.68), (0.15, -0.72), (0.0, -0.62), (0.3, -0.6)):
            bd.draw.ellipse([x + (dx - 0.05) * size, base + (dy - 0.04) * size, x + (dx + 0.05) * size,
                             base + (dy + 0.04) * size], fill=bd.tone((255, 255, 255)))
    elif prop == "flowers":
        for k in range(5):
            fx = x + (k - 2) * size * 0.2
            top = base - size * (0.6 + 0.25 * ((k * 7) % 3) / 2)
            bd.draw.line([(fx, base), (fx, top)], fill=bd.tone((70, 140, 60)), width=SCENE_SS * 2)
            col = bd.accent(k, ((240, 90, 120), (250, 210, 60), (170, 120, 230), (250, 150, 60), (250, 250, 250))[k])
            bd.draw.regular_polygon((fx, top, size * 0.1), 6, fill=bd.tone(col))
            bd.draw.ellipse([fx - size * 0.04, top - size * 0.04, fx + size * 0.04, top + size * 0.04], fill=bd.tone((250, 220, 80)))
    elif prop == "book":
        bd.draw.polygon([(x - size * 0.5, base - size * 0.2), (x, base - size * 0.1), (x + size * 0.5, base - size * 0.2),
                         (x + size * 0.5, base), (x, base + size * 0.08), (x - size * 0.5, base)], fill=bd.tone((250, 248, 240)))
        bd.draw.line([(x, base - size * 0.1), (x, base + size * 0.08)], fill=bd.tone((150, 140, 130)), width=SCENE_SS)
    return True


def _lantern(bd: Backdrop, x: float, base: float, size: float) -> None:
    metal = bd.tone((60, 56, 60))
    w = size * 0.42
    bd.glow(x, base - size * 0.45, bd.h * 0.36, (255, 180, 80))
    bd.glow(x, base - size * 0.5, bd.h * 0.1, (255, 230, 160))  # a bright core around the flame
    bd.draw.arc([x - w * 0.5, base - size * 1.2, x + w * 0.5, base - size * 0.85], 180, 360, fill=metal, width=SCENE_SS * 2)
    bd.draw.polygon([(x - w * 0.7, base - size * 0.88), (x + w * 0.7, base - size * 0.88), (x + w * 0.4, base - size * 1.02),
                     (x - w * 0.4, base - size * 1.02)], fill=metal)
    bd.draw.rounded_rectangle([x - w / 2, base - size * 0.88, x + w / 2, base - size * 0.14], radius=5, fill=(255, 214, 110))
    bd.draw.ellipse([x - w * 0.2, base - size * 0.62, x + w * 0.2, base - size * 0.32], fill=(255, 250, 220))
    for dx in (-w / 2, 0, w / 2):
        bd.draw.line([(x + dx, base - size * 0.88), (x + dx, base - size * 0.14)], fill=metal, width=SCENE_SS * 2)
    bd.draw.rectangle([x - w * 0.65, base - size * 0.16, x + w * 0.65, base], fill=metal)


def _lighthouse(bd: Backdrop, x: float, base: float, h: float) -> None:
    w0, w1 = h * 0.16, h * 0.1
    bd.draw.ellipse([x - h * 0.22, base - h * 0.06, x + h * 0.22, base + h * 0.08], fill=bd.tone((120, 114, 110)))
    bands = 5
    for i in range(bands):
        y0, y1 = base - h * 0.8 * i / bands, base - h * 0.8 * (i + 1) / bands
        a0, a1 = w0 + (w1 - w0) * i / bands, w0 + (w1 - w0) * (i + 1) / bands
        col = (220, 60, 60) if i % 2 == 0 else (250, 250, 246)
        bd.draw.polygon([(x - a0, y0), (x + a0, y0), (x + a1, y1), (x - a1, y1)], fill=bd.tone(col))
    top = base - h * 0.8
    bd.draw.rectangle([x - w1 * 1.4, top - h * 0.02, x + w1 * 1.4, top + h * 0.01], fill=bd.tone((50, 50, 56)))
    lamp = (255, 236, 150) if bd.spec.time != "day" else bd.tone((250, 240, 200))
    bd.draw.rectangle([x - w1 * 0.8, top - h * 0.12, x + w1 * 0.8, top - h * 0.02], fill=lamp)
    bd.draw.polygon([(x - w1 * 1.1, top - h * 0.12), (x + w1 * 1.1, top - h * 0.12), (x, top - h * 0.2)], fill=bd.tone((220, 60, 60)))
    bd.draw.rectangle([x - w0 * 0.3, base - h * 0.14, x + w0 * 0.3, base], fill=bd.tone((80, 60, 50)))
    if bd.spec.time != "day":
        ly = top - h * 0.07
        for sgn in (-1, 1):
            bd.draw.polygon([(x, ly), (x + sgn * bd.w * 0.5, ly - h * 0.2), (x + sgn * bd.w * 0.5, ly + h * 0.08)],
                            fill=(255, 240, 180, 60))
        bd.glow(x, ly, h * 0.4, (255, 220, 140))


def _house(bd: Backdrop, x: float, base: float, h: float) -> None:
    w = h * 1.1
    wall = bd.accent(0, (240, 220, 190))
    bd.draw.rectangle([x + w * 0.2, base - h * 1.15, x + w * 0.32, base - h * 0.7], fill=bd.tone((150, 90, 70)))
    bd.draw.rectangle([x - w / 2, base - h * 0.65, x + w / 2, base], fill=bd.tone(wall))
    bd.draw.polygon([(x - w * 0.6, base - h * 0.62), (x, base - h * 1.1), (x + w * 0.6, base - h * 0.62)], fill=bd.tone((190, 80, 70)))
    bd.draw.rectangle([x - w * 0.1, base - h * 0.38, x + w * 0.1, base], fill=bd.tone((130, 84, 60)))
    lit = bd.spec.time != "day"
    for dx in (-0.32, 0.32):
        win = [x + dx * w - w * 0.09, base - h * 0.48, x + dx * w + w * 0.09, base - h * 0.28]
        bd.draw.rectangle(win, fill=(255, 216, 120) if lit else bd.tone((180, 210, 236)))
        if lit:
            bd.glow(x + dx * w, base - h * 0.38, h * 0.3, (255, 200, 110))


def _rocket(bd: Backdrop, x: float, base: float, h: float) -> None:
    w = h * 0.16
    body = bd.accent(0, (236, 236, 240))
    for sgn in (-1, 1):
        bd.draw.polygon([(x + sgn * w, base - h * 0.35), (x + sgn * w * 1.9, base), (x + sgn * w, base)], fill=bd.tone((220, 60, 60)))
    bd.draw.rounded_rectangle([x - w, base - h * 0.78, x + w, base], radius=w * 0.4, fill=bd.tone(body))
    bd.draw.polygon([(x - w, base - h * 0.75), (x, base - h * 1.05), (x + w, base - h * 0.75)], fill=bd.tone((220, 60, 60)))
    bd.draw.ellipse([x - w * 0.5, base - h * 0.62, x + w * 0.5, base - h * 0.46], fill=bd.tone((120, 190, 240)))


def _bus(bd: Backdrop, x: float, base: float, h: float) -> None:
    w = h * 3.0
    col = bd.accent(0, (230, 70, 60))
    bd.draw.rounded_rectangle([x - w / 2, base - h, x + w / 2, base - h * 0.15], radius=h * 0.15, fill=bd.tone(col))
    for i in range(5):
        wx = x - w / 2 + w * (0.06 + i * 0.18)
        bd.draw.rectangle([wx, base - h * 0.88, wx + w * 0.13, base - h * 0.55], fill=bd.tone((200, 226, 246)))
    for dx in (-0.3, 0.3):
        bd.draw.ellipse([x + dx * w - h * 0.16, base - h * 0.32, x + dx * w + h * 0.16, base], fill=bd.tone((50, 50, 56)))
    if bd.spec.time != "day":
        bd.glow(x + w / 2, base - h * 0.3, h * 0.8, (255, 230, 160))


def _stall(bd: Backdrop, x: float, base: float, h: float) -> None:
    """An outdoor café: counter, striped awning, a little table."""
    w = h * 1.4
    c1, c2 = bd.accent(0, (230, 80, 80)), (250, 248, 240)
    bd.draw.rectangle([x - w / 2, base - h * 0.45, x + w / 2, base], fill=bd.tone((200, 150, 100)))
    bd.draw.rectangle([x - w / 2 + 4, base - h * 1.05, x - w / 2 + 10, base - h * 0.45], fill=bd.tone((120, 90, 70)))
    bd.draw.rectangle([x + w / 2 - 10, base - h * 1.05, x + w / 2 - 4, base - h * 0.45], fill=bd.tone((120, 90, 70)))
    stripes = 7
    for i in range(stripes):
        x0 = x - w * 0.6 + w * 1.2 * i / stripes
        bd.draw.polygon([(x0, base - h * 1.05), (x0 + w * 1.2 / stripes, base - h * 1.05), (x0 + w * 1.2 / stripes, base - h * 0.85),
                         (x0, base - h * 0.85)], fill=bd.tone(c1 if i % 2 == 0 else c2))
        bd.draw.pieslice([x0, base - h * 0.92, x0 + w * 1.2 / stripes, base - h * 0.78], 0, 180, fill=bd.tone(c1 if i % 2 == 0 else c2))
    for k in range(3):  # cups on the counter
        cx = x - w * 0.25 + k * w * 0.25
        bd.draw.rounded_rectangle([cx - h * 0.05, base - h * 0.58, cx + h * 0.05, base - h * 0.45], radius=3, fill=bd.tone((250, 250, 250)))
    _cafe_table(bd, x + w * 0.85, base + h * 0.15, h * 0.5)


def _kite(bd: Backdrop, boxes) -> None:
    s = bd.h
    kx, ky = bd.w * bd.rng.uniform(0.25, 0.75), bd.horizon * bd.rng.uniform(0.2, 0.4)
    if boxes:  # the string runs down to the first figure
        x0, y0, x1, y1 = boxes[0]
        hx, hy = (x0 + x1) / 2 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.45
    else:
        hx, hy = kx + s * 0.2, bd.h * 0.9
    bd.draw.line(bezier([(kx, ky + s * 0.06), ((kx + hx) / 2 - s * 0.05, (ky + hy) / 2 + s * 0.1), (hx, hy)], 20),
                 fill=(70, 70, 80, 200), width=SCENE_SS)
    col, col2 = bd.accent(0, (230, 70, 80)), bd.accent(1, (250, 200, 60))
    pts = [(kx, ky - s * 0.07), (kx + s * 0.05, ky), (kx, ky + s * 0.06), (kx - s * 0.05, ky)]
    bd.draw.polygon(pts, fill=bd.tone(col))
    bd.draw.polygon([pts[0], pts[1], (kx, ky)], fill=bd.tone(col2))
    bd.draw.polygon([(kx, ky), pts[2], pts[3]], fill=bd.tone(col2))
    tail = bezier([(kx, ky + s * 0.06), (kx - s * 0.06, ky + s * 0.12), (kx + s * 0.02, ky + s * 0.18), (kx - s * 0.04, ky + s * 0.24)], 12)
    bd.draw.line(tail, fill=bd.tone((90, 90, 100)), width=SCENE_SS)
    for i in (3, 7, 11):
        tx, ty = tail[i]
        bd.draw.polygon([(tx - 6, ty - 4), (tx, ty), (tx - 6, ty + 4)], fill=bd.tone(col))
        bd.draw.polygon([(tx + 6, ty - 4), (tx, ty), (tx + 6, ty + 4)], fill=bd.tone(col))


def paint_weather(bd: Backdrop) -> None:
    """Falling snow and rain over the background (behind the characters, so they stay clean)."""
    rng = bd.rng
    if "storm" in bd.spec.weather:
        x = bd.w * rng.uniform(0.2, 0.8)
        pts, y = [(x, 0)], 0.0
        while y < bd.horizon * 0.8:
            y += bd.h * rng.uniform(0.04, 0.08)
            x += bd.h * rng.uniform(-0.05, 0.05)
            pts.append((x, y))
        bd.draw.line(pts, fill=(255, 250, 200), width=SCENE_SS * 3)
        bd.glow(pts[-1][0], pts[-1][1], bd.h * 0.2, (200, 200, 255))
    if "rain" in bd.spec.weather:
        for _ in range(int(bd.w * bd.h / 3500)):
            x, y = rng.uniform(-20, bd.w), rng.uniform(0, bd.h)
            ln = bd.h * rng.uniform(0.02, 0.04)
            bd.draw.line([(x, y), (x + ln * 0.3, y + ln)], fill=(210, 225, 245, 150), width=SCENE_SS)
    if "snow" in bd.spec.weather or bd.spec.setting == "snow":
        for _ in range(int(bd.w * bd.h / 6000)):
            x, y = rng.uniform(0, bd.w), rng.uniform(0, bd.h)
            r = rng.choice((1.0, 1.5, 2.0, 3.0)) * SCENE_SS
            bd.draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, rng.randint(150, 240)))


# -- page composition ---------------------------------------------------------------------------
@dataclass
class Placement:
    key: str
    label: str
    kind: str
    x: int      # top-left of the sprite on the page
    y: int
    width: int
    height: int


def figure_unit(width: int, height: int) -> int:
    """The height of an adult person on a page of this size. It depends on the page size only
    (not the caption or the seed), so a character keeps its scale from page to page."""
    return max(8, int(min(height * 0.4, width / 4.6)))


def layout_figures(sprites: list[Image.Image], width: int, feet_y: float, spread: float, rng: random.Random) -> list[tuple[int, int]]:
    """Top-left corners for the sprites: up to MAX_FIGURES_IN_ROW side by side without overlap
    (the free space is shared out at random), any more in a row further back."""
    front, back = sprites[:MAX_FIGURES_IN_ROW], sprites[MAX_FIGURES_IN_ROW:]
    positions: list[tuple[int, int]] = []
    margin = width * 0.03
    free = width - 2 * margin - sum(s.width for s in front)
    if free >= 0:
        weights = [rng.uniform(0.5, 1.5) for _ in range(len(front) + 1)]
        x = margin + free * weights[0] / sum(weights)
        for sprite, w in zip(front, weights[1:]):
            foot = feet_y - rng.uniform(0, spread)
            positions.append((int(x), int(foot - sprite.height)))
            x += sprite.width + free * w / sum(weights)
    else:  # too wide to fit side by side: spread the centres evenly, overlapping as little as possible
        for i, sprite in enumerate(front):
            cx = width * (i + 0.5) / len(front)
            positions.append((int(cx - sprite.width / 2), int(feet_y - (i % 2) * spread - sprite.height)))
    for i, sprite in enumerate(back):
        cx = width * (i + 1) / (len(back) + 1) + rng.uniform(-0.03, 0.03) * width
        positions.append((int(cx - sprite.width / 2), int(feet_y - spread * 4 - sprite.height)))
    return positions


def palette_tint(image: Image.Image, palette: list[RGB], strength: float = 0.25) -> Image.Image:
    """Pull the scene towards the style palette with a gradient map (dark -> light through the
    palette colours sorted by brightness), blended so the scene stays readable."""
    if not palette:
        return image
    stops = sorted(palette, key=luminance)
    colors = [mix(stops[0], (20, 20, 30), 0.6)] + stops + [mix(stops[-1], (255, 255, 250), 0.7)]
    positions = np.linspace(0.0, 255.0, len(colors))
    lut = np.stack([np.interp(np.arange(256), positions, [c[ch] for c in colors]) for ch in range(3)], axis=1)
    arr = np.asarray(image, dtype=np.float32)
    lum = np.clip(arr @ np.array([0.299, 0.587, 0.114], np.float32), 0, 255).astype(np.uint8)
    mapped = lut[lum]
    return Image.fromarray(np.clip(arr * (1 - strength) + mapped * strength, 0, 255).astype(np.uint8), "RGB")


def add_lights(image: Image.Image, lights, strength: float = 0.75) -> Image.Image:
    """Soft halos around lanterns, windows, the moon: a screen blend of radial falloffs."""
    if not lights:
        return image
    arr = np.asarray(image, dtype=np.float32) / 255.0
    h, w = arr.shape[:2]
    light = np.zeros_like(arr)
    for x, y, r, color in lights:
        x0, x1 = max(0, int(x - r)), min(w, int(x + r) + 1)
        y0, y1 = max(0, int(y - r)), min(h, int(y + r) + 1)
        if x0 >= x1 or y0 >= y1 or r <= 0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        falloff = np.clip(1.0 - np.hypot(xx - x, yy - y) / r, 0.0, 1.0) ** 2
        light[y0:y1, x0:x1] += falloff[..., None] * (np.array(color, np.float32) / 255.0) * strength
    light = np.clip(light, 0, 1)
    out = 1.0 - (1.0 - arr) * (1.0 - light)
    return Image.fromarray((out * 255 + 0.5).astype(np.uint8), "RGB")


def _pill(draw: ImageDraw.ImageDraw, center_x: float, top: float, text: str, font, *, fill=(255, 255, 255, 225),
          ink=INK, max_width: float | None = None, page_width: int | None = None) -> None:
    """A rounded label with text, kept inside the page."""
    if max_width is not None and text_width(font, text) > max_width:
        while len(text) > 1 and text_width(font, text + "…") > max_width:
            text = text[:-1]
        text += "…"
    size = getattr(font, "size", 10)
    tw = text_width(font, text)
    pad_x, pad_y = size * 0.55, size * 0.25
    x0 = center_x - tw / 2 - pad_x
    if page_width is not None:
        x0 = max(2, min(x0, page_width - tw - 2 * pad_x - 2))
    box = [x0, top, x0 + tw + 2 * pad_x, top + size + 2 * pad_y]
    draw.rounded_rectangle(box, radius=(size + 2 * pad_y) / 2, fill=fill, outline=(*ink, 90) if len(ink) == 3 else ink)
    draw_text_safe(draw, (x0 + pad_x, top + pad_y + size * 0.02), text, font, ink)


def style_treatment(style: str) -> str:
    """The treatment a style text asks for; unknown styles get the flat picture-book look."""
    words = set(_tokens(style or ""))
    text = (style or "").lower()
    for treatment, keys in (("pixel", ("pixel", "8", "bit", "retro", "voxel", "sprite")),
                            ("watercolor", ("watercolor", "watercolour", "aquarelle", "wash", "watercolors")),
                            ("pencil", ("pencil", "sketch", "graphite", "charcoal", "sketchy", "sketched")),
                            ("crayon", ("crayon", "crayons", "pastel", "chalk", "oilpastel")),
                            ("ink", ("ink", "comic", "manga", "lineart", "cartoon", "inked", "outline", "graphic")),
                            ("oil", ("oil", "painterly", "gouache", "acrylic", "impasto", "painting", "painted"))):
        if words & set(keys) or (treatment == "pixel" and ("8-bit" in text or "pixel" in text)) \
                or (treatment == "ink" and "line art" in text):
            return treatment
    return "flat"


def render_page(request: IllustrationRequest, *, caption: bool = True, labels: bool = True,
                corner_label: bool = True) -> tuple[Image.Image, dict[str, Any]]:
    """Draw one storyboard panel. Returns the image and the parameters provenance records."""
    w, h = request.width, request.height
    rng = random.Random(stable_int("page", request.seed, request.scene, request.prompt, w, h))
    spec = analyse_scene(request.scene, request.prompt, request.caption)
    treatment = style_treatment(request.style)
    palette = [parse_color(c) for c in request.palette or []]

    # Caption strip and label sizes come first: they decide how tall the scene is.
    caption_text = clean_text(request.caption) if caption else ""
    cap_font = get_font(max(9, round(min(h * 0.038, w * 0.028))))
    cap_pad = max(4, round(h * 0.018))
    cap_lines = wrap_text(caption_text, cap_font, w - 2 * cap_pad * 2, 3) if caption_text else []
    line_h = round(getattr(cap_font, "size", 10) * 1.3)
    strip_h = min(int(h * 0.4), len(cap_lines) * line_h + 2 * cap_pad) if cap_lines else 0
    scene_h = h - strip_h
    label_font = get_font(max(8, round(min(h * 0.03, w * 0.022))), bold=True)
    label_space = (getattr(label_font, "size", 10) * 1.6 + 6) if labels and request.figures else h * 0.03

    # Characters: the same sprite on every page; only where it stands depends on the seed.
    unit = figure_unit(w, h)
    sprites = [draw_figure(f, unit) for f in request.figures]
    feet_y = scene_h - label_space - h * 0.01
    spread = h * 0.025
    corners = layout_figures(sprites, w, feet_y, spread, rng)
    boxes2x = [(x * SCENE_SS, y * SCENE_SS, (x + s.width) * SCENE_SS, (y + s.height) * SCENE_SS) for (x, y), s in zip(corners, sprites)]

    # Background at 2x, then props and weather, then down to page size and the palette tint.
    backdrop = Backdrop(spec, w, scene_h, rng, palette)
    PAINTERS[spec.setting](backdrop)
    props = paint_props(backdrop, spec, boxes2x[:MAX_FIGURES_IN_ROW])
    paint_weather(backdrop)
    scene = backdrop.image.resize((w, scene_h), Image.LANCZOS)
    scene = palette_tint(scene, palette)

    # Figures with soft contact shadows, back row first.
    shadow = Image.new("L", scene.size, 0)
    sd = ImageDraw.Draw(shadow)
    for (x, y), sprite in zip(corners, sprites):
        sd.ellipse([x + sprite.width * 0.08, y + sprite.height - unit * 0.035, x + sprite.width * 0.92,
                    y + sprite.height + unit * 0.035], fill=90)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, unit * 0.02)))
    scene = Image.composite(Image.new("RGB", scene.size, (30, 30, 50)), scene, shadow)
    order = sorted(range(len(sprites)), key=lambda i: corners[i][1] + sprites[i].height)
    for i in order:
        scene.paste(sprites[i], corners[i], sprites[i])
    scene = add_lights(scene, backdrop.lights)
    scene = apply_style(scene, treatment, palette, request.seed)

    # Text last, so every style keeps it readable.
    page = Image.new("RGB", (w, h), (252, 250, 244))
    page.paste(scene, (0, 0))
    draw = ImageDraw.Draw(page, "RGBA")
    placements = []
    for (x, y), sprite, figure in zip(corners, sprites, request.figures):
        placements.append(Placement(figure.key, figure.label, resolve_look(figure).kind, x, y, sprite.width, sprite.height))
        name = clean_text(figure.label) or clean_text(figure.key)
        if labels and name:
            _pill(draw, x + sprite.width / 2, y + sprite.height + 3, name, label_font,
                  max_width=max(unit * 1.2, sprite.width), page_width=w)
    if cap_lines:
        draw.rectangle([0, scene_h, w, h], fill=(252, 250, 244))
        draw.line([(0, scene_h), (w, scene_h)], fill=(*INK, 120), width=max(1, h // 256))
        for i, line in enumerate(cap_lines):
            draw_text_safe(draw, (cap_pad * 2, scene_h + cap_pad + i * line_h), line, cap_font, INK)
    if corner_label:
        small = get_font(max(7, round(min(h * 0.022, w * 0.016))))
        tw = text_width(small, CORNER_LABEL)
        size = getattr(small, "size", 8)
        _pill(draw, w - tw / 2 - size * 0.55 - 4, 4, CORNER_LABEL, small, fill=(255, 255, 255, 200), ink=(70, 66, 72),
              max_width=w - 12)

    parameters = {
        "renderer": MODEL_ID, "setting": spec.setting, "room": spec.room or None, "time_of_day": spec.time,
        "weather": list(spec.weather), "props": props + [e for e in backdrop.extras if e not in props],
        "matched_words": list(spec.matched), "style_treatment": treatment, "style": request.style,
        "palette": list(request.palette or []), "width": w, "height": h, "figure_unit_px": unit,
        "caption_lines": len(cap_lines),
        "figures": [p.__dict__ for p in placements],
    }
    return page, parameters


# -- style treatments -------------------------------------------------------------------------
# Each works on the finished scene (figures included) with numpy and Pillow filters; text is
# drawn afterwards so it stays crisp. All noise is seeded from the request seed.
def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled bicubically."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = Image.fromarray((rng.random((gh, gw)) * 255).astype(np.uint8), "L")
    return np.asarray(grid.resize((w, h), Image.BICUBIC), dtype=np.float32) / 255.0


def _luma(arr: np.ndarray) -> np.ndarray:
    return arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114


def _to_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")


def style_watercolor(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    # Bleeding edges: displace pixels along a smooth random field, so edges wander like wet paint.
    amp = max(1.0, w / 320)
    dx = (_smooth_noise(rng, h, w, w / 40) - 0.5) * 2 * amp
    dy = (_smooth_noise(rng, h, w, w / 40) - 0.5) * 2 * amp
    yy, xx = np.mgrid[0:h, 0:w]
    src = np.asarray(image, dtype=np.float32)
    arr = src[np.clip((yy + dy).astype(int), 0, h - 1), np.clip((xx + dx).astype(int), 0, w - 1)]
    soft = np.asarray(_to_image(arr).filter(ImageFilter.GaussianBlur(max(0.8, w / 600))), dtype=np.float32)
    wide = np.asarray(_to_image(arr).filter(ImageFilter.GaussianBlur(max(2.0, w / 150))), dtype=np.float32)
    # Pigment pools at the edge of a wash: darken where the sharp image is darker than its surroundings.
    edge = np.clip((_luma(wide) - _luma(soft)) / 40.0, 0, 1)[..., None]
    arr = soft * (1 - 0.22 * edge)
    arr = arr * 0.86 + 255 * 0.14  # thin, transparent washes
    blotch = _smooth_noise(rng, h, w, w / 12)[..., None]
    grain = rng.random((h, w), dtype=np.float32)[..., None]
    arr = arr * (0.94 + 0.1 * blotch) * (0.965 + 0.05 * grain)
    paper = np.array([253, 250, 242], np.float32)
    return _to_image(arr * paper / 255.0)


def style_pencil(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    inv_blur = np.asarray(Image.fromarray(255 - gray.astype(np.uint8)).filter(ImageFilter.GaussianBlur(max(1.5, w / 260))),
                          dtype=np.float32)
    dodge = np.clip(gray * 255.0 / np.maximum(1.0, 255.0 - inv_blur), 0, 255)  # colour dodge: outlines remain
    lines = dodge ** 3 / 255 ** 2  # darken the strokes
    tone = 0.62 + 0.38 * (gray / 255.0)  # light graphite shading of the areas
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(3, w // 160)
    hatch = ((xx + yy) % period == 0) & (gray < 110)
    cross = ((xx - yy) % period == 0) & (gray < 60)
    out = lines * tone
    out = np.where(hatch | cross, out * 0.72, out)
    grain = rng.random((h, w), dtype=np.float32)
    out = out * (0.95 + 0.06 * grain)
    paper = np.array([250, 248, 240], np.float32) / 255.0
    graphite = np.array([0.96, 0.97, 1.0], np.float32)
    return _to_image(out[..., None] * paper * graphite)


def _streaks(rng: np.random.Generator, h: int, w: int, length: int, width: int, slope: float) -> np.ndarray:
    """A stroke texture: random values constant along short slanted strokes."""
    rows = max(4, int((h + w * abs(slope)) / width) + 2)
    cols = max(4, int(w / length) + 2)
    table = rng.random((rows, cols), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    a = ((yy + xx * slope + w * abs(slope)) / width).astype(int) % rows
    b = ((xx + (yy * 7) % length) / length).astype(int) % cols
    return table[a, b]


def style_crayon(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    from PIL import ImageEnhance

    image = ImageEnhance.Color(image).enhance(1.25)
    arr = np.asarray(image, dtype=np.float32)
    wax = _streaks(rng, h, w, max(6, w // 60), max(2, w // 300), 0.45)
    paper = np.array([252, 250, 244], np.float32)
    gaps = np.clip((wax - 0.72) / 0.28, 0, 1)[..., None] * 0.75  # paper showing through the wax
    arr = arr * (0.9 + 0.14 * wax[..., None])
    arr = arr * (1 - gaps) + paper * gaps
    edges = np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32)
    edges = np.asarray(Image.fromarray(np.clip(edges * 2, 0, 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)),
                       dtype=np.float32) / 255.0
    arr = arr * (1 - 0.35 * edges[..., None] * (0.6 + 0.4 * wax[..., None]))
    return _to_image(arr)


def style_pixel(image: Image.Image, palette: list[RGB]) -> Image.Image:
    w, h = image.size
    factor = max(2, round(w / 150))
    small = image.resize((max(1, w // factor), max(1, h // factor)), Image.BOX)
    # A retro palette: octree quantising keeps small distinct areas (a penguin's black) that a
    # median cut would merge into the large ones around them.
    small = small.quantize(colors=48, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).convert("RGB")
    return small.resize((w, h), Image.NEAREST)


def style_ink(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Comic ink: punchier flat colours, bold ink lines on the strong edges, halftone dots in shadow."""
    from PIL import ImageEnhance

    w, h = image.size
    punchy = ImageEnhance.Contrast(ImageEnhance.Color(image).enhance(1.25)).enhance(1.1)
    arr = np.asarray(punchy, dtype=np.float32)
    lum = _luma(np.asarray(image, dtype=np.float32)) / 255.0
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(4, w // 110)
    r = np.clip(0.55 - lum, 0, 1) * period * 0.9  # halftone: dots grow as it gets darker
    dots = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < r**2
    arr = np.where(dots[..., None], arr * 0.72, arr)
    # Lines only where the picture has a real edge (a blurred copy ignores eyes and fine texture).
    edges = np.asarray(image.convert("L").filter(ImageFilter.GaussianBlur(max(0.8, w / 900))).filter(ImageFilter.FIND_EDGES),
                       dtype=np.float32)
    line = np.clip((edges - 18) / 30, 0, 1)
    if w >= 1024:
        line = np.asarray(Image.fromarray((line * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)), dtype=np.float32) / 255
    return _to_image(arr * (1 - 0.85 * line[..., None]) + np.array(INK, np.float32) * 0.85 * line[..., None])


def style_oil(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    from PIL import ImageEnhance

    w, h = image.size
    dabs = image.filter(ImageFilter.MedianFilter(5 if w < 1200 else 7))
    dabs = ImageEnhance.Color(dabs).enhance(1.2)
    arr = np.asarray(dabs, dtype=np.float32)
    strokes = _streaks(rng, h, w, max(8, w // 40), max(3, w // 200), -0.6)
    relief = strokes - np.roll(strokes, 2, axis=0)  # light from above on the brush ridges
    arr = arr * (1 + 0.09 * relief[..., None]) * (0.96 + 0.06 * strokes[..., None])
    varnish = np.array([1.03, 1.0, 0.92], np.float32)
    return _to_image(arr * varnish)


def apply_style(image: Image.Image, treatment: str, palette: list[RGB], seed: int) -> Image.Image:
    rng = np.random.default_rng(stable_int("style", treatment, seed))
    if treatment == "watercolor":
        return style_watercolor(image, rng)
    if treatment == "pencil":
        return style_pencil(image, rng)
    if treatment == "crayon":
        return style_crayon(image, rng)
    if treatment == "pixel":
        return style_pixel(image, palette)
    if treatment == "ink":
        return style_ink(image, rng)
    if treatment == "oil":
        return style_oil(image, rng)
    return image
