"""Scenes: a shot -> the SceneSpec the painters read, and the Backdrop canvas they paint on.

The Backdrop draws at 2x and owns the colour handling (time of day, weather, light) every painter
goes through.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from storyteller.backends.storyboard.colors import RGB, shade
from storyteller.staging import read_room
from storyteller.story import Shot


@dataclass
class SceneSpec:
    """What the backdrop painters need from a shot."""

    setting: str
    time: str = "day"                 # day, dusk, night: how the painters light the place
    weather: tuple[str, ...] = ()     # snow, rain, storm, fog, wind, cloudy
    props: tuple[str, ...] = ()
    room: str = ""                    # for indoor: kitchen, bakery, ...
    hour: str = "day"                 # the shot's time of day: morning, day, evening, night
    light: str = "soft"               # the shot's light: bright, soft, warm, dim, glowing


def spec_from_shot(shot: Shot, scene: str = "") -> SceneSpec:
    weather = {"clear": (), "storm": ("storm", "rain"), "snow": ("snow",)}.get(shot.weather, (shot.weather,))
    if shot.setting == "snow" and "snow" not in weather:
        weather = weather + ("snow",)  # a snowfield is white underfoot whatever falls
    return SceneSpec(
        setting=shot.setting, time={"morning": "day", "evening": "dusk"}.get(shot.time_of_day, shot.time_of_day),
        weather=weather, props=tuple(shot.props),
        room=read_room(shot.place, scene) if shot.setting == "indoor" else "", hour=shot.time_of_day, light=shot.light,
    )


SCENE_SS = 2  # the background is drawn at 2x and downsampled, for smooth edges


class Backdrop:
    """Draws a background at SCENE_SS x scale. Every colour goes through `tone` (time of day,
    weather), except lights (`glow`), which stay bright at night."""

    def __init__(self, spec: SceneSpec, width: int, height: int, rng: random.Random, palette: list[RGB],
                 transparent: bool = False):
        """`transparent`: a clear layer (things drawn in front of the figures) instead of a backdrop."""
        self.spec, self.rng, self.palette = spec, rng, palette
        self.w, self.h = width * SCENE_SS, height * SCENE_SS
        self.image = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0)) if transparent else \
            Image.new("RGB", (self.w, self.h), (200, 220, 240))
        self.draw = ImageDraw.Draw(self.image, "RGBA")
        self.lights: list[tuple[float, float, float, RGB]] = []  # (x, y, radius, colour) in page px
        self.extras: list[str] = []  # sun/moon, when the sky drew them
        self.horizon = int(self.h * rng.uniform(0.5, 0.58))
        self.water_line: float | None = None  # where boats float; set by the sea and river painters
        self.road: tuple[float, float] | None = None  # (top, bottom) of the street; set by the city painter

    # colour handling -----------------------------------------------------------------
    def tone(self, color: RGB, alpha: int = 255) -> tuple[int, int, int, int]:
        r, g, b = color
        if self.spec.time == "night":
            r, g, b = r * 0.36 + 8, g * 0.42 + 12, b * 0.6 + 30
        elif self.spec.time == "dusk":
            r, g, b = r * 0.92 + 18, g * 0.78 + 8, b * 0.72 + 10
        elif self.spec.hour == "morning":
            r, g, b = r * 0.94 + 16, g * 0.9 + 12, b * 0.9 + 14
        if "rain" in self.spec.weather or "cloudy" in self.spec.weather:
            grey = (r + g + b) / 3
            r, g, b = (0.6 * r + 0.4 * grey) * 0.88, (0.6 * g + 0.4 * grey) * 0.88, (0.6 * b + 0.4 * grey) * 0.92
        if "fog" in self.spec.weather:
            r, g, b = r * 0.55 + 100, g * 0.55 + 104, b * 0.55 + 110
        light = self.spec.light
        if light == "warm":
            r, g, b = r * 1.04 + 10, g * 0.98 + 2, b * 0.86
        elif light == "dim":
            r, g, b = r * 0.8, g * 0.8, b * 0.86
        elif light == "bright":
            r, g, b = r * 1.05 + 6, g * 1.05 + 6, b * 1.03 + 4
        elif light == "glowing":
            r, g, b = r * 0.86 + 8, g * 0.8 + 4, b * 0.78
        return int(min(255, max(0, r))), int(min(255, max(0, g))), int(min(255, max(0, b))), alpha

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
        elif spec.hour == "morning":  # a pale gold dawn, the sun low
            self.gradient((150, 190, 236), (255, 214, 176), 0, self.horizon + 4, toned=False, mid=(236, 206, 220))
            if "rain" not in spec.weather and "cloudy" not in spec.weather and "fog" not in spec.weather:
                self.sun(self.w * rng.uniform(0.1, 0.9), self.horizon * 0.8, self.h * 0.06)
        else:
            self.gradient(top, bottom, 0, self.horizon + 4, mid=mid)
            overcast = {"rain", "cloudy", "fog", "storm"} & set(spec.weather)
            if ("sun" in spec.props and not overcast) or (not overcast and rng.random() < 0.5):
                self.sun(self.w * rng.uniform(0.1, 0.9), self.horizon * rng.uniform(0.2, 0.35), self.h * 0.05)
        if "rainbow" in spec.props and spec.time != "night":
            self._rainbow()
        if "moon" in spec.props and spec.time != "night":  # a day moon, pale
            self.moon(self.w * rng.uniform(0.15, 0.85), self.horizon * rng.uniform(0.2, 0.35), self.h * 0.04)
        if clouds:
            grey = bool({"rain", "cloudy"} & set(spec.weather))
            for _ in range(rng.randint(2, 4) + (4 if grey else 0)):
                self.cloud(rng.uniform(0, self.w), rng.uniform(0.08, 0.6) * self.horizon, self.h * rng.uniform(0.05, 0.09),
                           (150, 156, 170) if grey else (255, 255, 255), 230 if grey else 200)

    def _rainbow(self) -> None:
        self.extras.append("rainbow")
        cx, cy, r = self.w * self.rng.uniform(0.3, 0.7), self.horizon + self.h * 0.05, self.h * 0.42
        for i, col in enumerate(((230, 70, 70), (245, 150, 60), (245, 220, 80), (100, 190, 90), (80, 140, 220), (140, 90, 200))):
            rr = r - i * self.h * 0.018
            self.draw.arc([cx - rr, cy - rr, cx + rr, cy + rr], 180, 360, fill=(*col, 150), width=int(self.h * 0.018))
