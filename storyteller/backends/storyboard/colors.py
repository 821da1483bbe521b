"""Colours: parsing colour words and hex, mixing and shading, and the process-independent hash.

`stable_int` lives here because colours were its first user; every module that needs a
deterministic choice (a character's hairstyle, a page's composition, a style's noise) uses it.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from typing import Any

from storyteller.languages import gloss

RGB = tuple[int, int, int]
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


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
    words = re.findall(r"[a-z]+", gloss(text))  # 橘红 -> orange red
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
