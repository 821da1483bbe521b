"""The figure-drawing kit shared by every character drawer: units, Pen, face, Look, Bezier curves.

A figure is drawn in "units": 100 units = the height of an adult person. Every drawer works on a
generous transparent canvas with the feet on the baseline, at 3x resolution; the result is
downsampled (anti-aliasing) and cropped to what was drawn. Nothing here looks at a page seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from storyteller.backends.storyboard.colors import COLOR_WORDS, INK, RGB, hsv, parse_color, rgba, stable_int
from storyteller.languages import gloss


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
        # The pose's face, read by face()/eye()/mouth(): every drawer's face follows it.
        self.expression = "neutral"
        self.gaze = 0          # 0: looks at the reader; 1: turned towards the sprite's right
        self.talking = False   # an open mouth

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
        self.crop_box = box or (0, 0, small.width, small.height)  # where the sprite was cut from, in sprite pixels
        return small.crop(box) if box else small


def eye(pen: Pen, x: float, y: float, r: float, *, color: RGB = INK, side: int = 1) -> None:
    """One eye in the pen's expression; `side` -1 is the character's right eye (page left), for brows."""
    expression, gx = pen.expression, pen.gaze * r * 0.55
    ink = rgba(INK)
    if expression in ("sleepy", "closed"):  # closed: a downward lid line
        pen.arc(x, y - r * 0.2, r * 1.1, r * 0.8, 20, 160, ink, max(0.8, r * 0.55))
        return
    if expression == "happy":  # smiling eyes: upward arcs
        pen.arc(x, y + r * 0.5, r * 1.1, r * 1.0, 200, 340, ink, max(0.8, r * 0.55))
        return
    if expression in ("surprised", "scared"):  # wide open: a white eye, a small pupil
        pen.circle(x, y, r * 1.55, (255, 255, 255, 255), outline=rgba(INK))
        pupil = r * (0.75 if expression == "surprised" else 0.5)
        pen.circle(x + gx, y, pupil, rgba(color), outline=False)
    else:
        look_up = -r * 0.45 if expression == "thinking" else 0.0
        pen.circle(x + gx + (r * 0.4 if expression == "thinking" else 0), y + look_up, r, rgba(color), outline=False)
        pen.circle(x + gx + r * 0.35, y + look_up - r * 0.35, r * 0.38, (255, 255, 255, 235), outline=False)
    brow_y = y - r * 2.1
    if expression == "angry":  # brows down towards the middle
        pen.line([(x + side * r * 1.4, brow_y - r * 0.5), (x - side * r * 1.0, brow_y + r * 0.5)], ink, max(0.8, r * 0.45))
    elif expression in ("sad", "scared"):  # brows up towards the middle
        pen.line([(x + side * r * 1.3, brow_y + r * 0.4), (x - side * r * 1.0, brow_y - r * 0.5)], ink, max(0.8, r * 0.4))
    elif expression == "surprised":
        pen.arc(x, brow_y, r * 1.3, r * 0.7, 200, 340, ink, max(0.8, r * 0.4))
    elif expression == "thinking" and side == 1:
        pen.line([(x - r, brow_y - r * 0.6), (x + r * 1.2, brow_y - r * 0.9)], ink, max(0.8, r * 0.4))


def mouth(pen: Pen, x: float, y: float, w: float, *, smile: bool = True) -> None:
    """A mouth in the pen's expression (w: its half width). `smile` False: a neutral face has none
    (animals whose muzzle already reads as a mouth)."""
    expression, ink = pen.expression, rgba(INK)
    x += pen.gaze * w * 0.6
    stroke = max(0.9, w * 0.35)
    if pen.talking or expression == "surprised":
        pen.ellipse(x, y + w * 0.15, w * 0.45, w * 0.55, (150, 60, 70, 255), outline=ink)
    elif expression == "happy":
        pen.draw.pieslice([(x - w * 1.1) * pen.k, (y - w * 0.6) * pen.k, (x + w * 1.1) * pen.k, (y + w * 0.9) * pen.k],
                          0, 180, fill=(150, 60, 70, 255), outline=INK, width=pen.outline_w)
    elif expression == "sad":
        pen.arc(x, y + w * 0.6, w * 0.9, w * 0.6, 200, 340, ink, stroke)
    elif expression == "scared":
        pts = [(x - w + i * w / 3, y + (w * 0.15 if i % 2 else -w * 0.15)) for i in range(7)]
        pen.line(pts, ink, stroke * 0.8)
    elif expression == "angry":
        pen.line([(x - w * 0.8, y + w * 0.2), (x + w * 0.8, y + w * 0.2)], ink, stroke)
    elif expression in ("thinking", "sleepy"):
        pen.line([(x - w * 0.2, y + w * 0.1), (x + w * 0.6, y - w * 0.05)], ink, stroke)
    elif smile:
        pen.arc(x, y, w, w * 0.7, 20, 160, ink, stroke)


def face(pen: Pen, cx: float, cy: float, size: float, *, eye_color: RGB = INK, blush: bool = True,
         smile: bool = True, gap: float = 0.42, eye_r: float = 0.13) -> None:
    """Friendly picture-book face in the pen's expression: eyes with highlights and brows, a mouth,
    pink cheeks; turned towards the pen's gaze (0 front, 1 towards the right of the sprite)."""
    er = size * eye_r
    shift = pen.gaze * size * 0.28
    for side in (-1, 1):
        ex = cx + shift + side * size * gap * (1 - 0.25 * abs(pen.gaze))
        eye(pen, ex, cy, er, color=eye_color, side=side)
        if blush:
            pen.ellipse(ex + side * size * 0.12, cy + size * 0.36, size * 0.17, size * 0.1,
                        (240, 120, 130, 170 if pen.expression == "happy" else 110), outline=False)
    if pen.expression == "sad":  # a tear under the eye on the page's right
        pen.ellipse(cx + shift + size * gap, cy + er * 2.6, er * 0.6, er * 0.9, (120, 180, 240, 230), outline=False)
    if pen.expression != "neutral" or smile or pen.talking:
        mouth(pen, cx + shift, cy + size * 0.28, size * 0.2, smile=smile)


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

    def worn(self, *items: str) -> RGB | None:
        """The colour of a thing the figure wears (a scarf, a hat), None when it wears none: the
        colour word just before it ("a red woolly hat"), else the figure's third colour, else a
        stable one of its own."""
        text = gloss(self.description).lower()
        for item in items:
            found = re.search(rf"((?:[a-z]+[\s-]+){{0,3}})\b{item}s?\b", text)
            if found:
                words = re.findall(r"[a-z]+", found.group(1))
                for i in range(len(words) - 1, -1, -1):
                    if words[i] in COLOR_WORDS:
                        return parse_color(" ".join(words[max(0, i - 1):i + 1]))  # "dark green"
                return self.color(2, hsv(stable_int(self.key, item) % 360 / 360, 0.6, 0.8))
        return None

    def pick(self, salt: str, options):
        """A stable choice for this character (same key -> same choice on every page)."""
        return options[stable_int(self.key, self.species, salt) % len(options)]


def split_words(text: str) -> list[str]:
    """Lower-case a-z words of a figure's text. Scene text uses scenes.tokens, which keeps accented
    letters; they stay two functions because one would change which figure words match ("café").
    Chinese is read through its English gloss (狐狸 -> fox)."""
    return re.findall(r"[a-z]+", gloss(text).lower())
