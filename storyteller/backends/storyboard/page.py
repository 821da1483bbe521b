"""Page composition: where the figures stand, then background, props, weather, lights, style and text."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from storyteller.backends.base import IllustrationRequest
from storyteller.backends.storyboard.colors import INK, RGB, luminance, mix, parse_color, stable_int
from storyteller.backends.storyboard.figures import draw_figure, resolve_look
from storyteller.backends.storyboard.landscapes import PAINTERS
from storyteller.backends.storyboard.props import paint_props, paint_weather
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop, analyse_scene
from storyteller.backends.storyboard.styles import apply_style, style_treatment
from storyteller.backends.storyboard.text import clean_text, draw_text_safe, get_font, pill, text_width, wrap_text

RENDERER_VERSION = 1
MODEL_ID = f"storyboard-renderer/{RENDERER_VERSION} (procedural, no neural model)"
CORNER_LABEL = "storyboard · procedural, no neural model"
MAX_FIGURES_IN_ROW = 4  # more than this go to a second row further back


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
            pill(draw, x + sprite.width / 2, y + sprite.height + 3, name, label_font,
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
        pill(draw, w - tw / 2 - size * 0.55 - 4, 4, CORNER_LABEL, small, fill=(255, 255, 255, 200), ink=(70, 66, 72),
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
