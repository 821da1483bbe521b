"""Page composition of a shot: where the figures stand and how, then background, props, weather, lights, style, text."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from storyteller.backends.base import IllustrationRequest
from storyteller.backends.storyboard.colors import INK, RGB, luminance, mix, parse_color, stable_int
from storyteller.backends.storyboard.figures import draw_posed, resolve_look
from storyteller.backends.storyboard.landscapes import PAINTERS
from storyteller.backends.storyboard.poses import Pose
from storyteller.backends.storyboard.props import HOLDABLE, paint_props, paint_thing, paint_weather
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop, spec_from_shot
from storyteller.backends.storyboard.styles import apply_style, style_treatment
from storyteller.backends.storyboard.text import clean_text, draw_text_safe, get_font, needs_cjk, pill, text_width, wrap_text
from storyteller.staging import read_shot, stage
from storyteller.story import Shot, ShotCharacter

RENDERER_VERSION = 2
MODEL_ID = f"storyboard-renderer/{RENDERER_VERSION} (procedural, no neural model)"
CORNER_LABEL = "storyboard · procedural, no neural model"


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


CAMERA_SCALE = {"wide": 0.62, "medium": 1.0, "close-up": 1.75}  # figure size against the medium shot
CLOSE_UP_CROP = 0.28     # a close-up cuts this share of each near figure off at the bottom of the frame
FAR_SCALE = 0.62         # a character far away is drawn this much smaller, nearer the horizon
SLOT_X = {"left": 0.22, "centre": 0.5, "right": 0.78}
MIN_NEAR, MIN_FAR = 0.16, 0.1  # the smallest a figure is drawn, as a share of the scene's height


def cast_for(request: IllustrationRequest, shot: Shot) -> list[ShotCharacter]:
    """One staged member per figure, in the figures' order: the shot's entry for it, or (a figure
    the shot does not stage) standing where stage() puts it."""
    staged = {m.character: m for m in shot.cast}
    members = [staged.get(f.key, ShotCharacter(character=f.key)) for f in request.figures]
    if any(f.key not in staged for f in request.figures):
        members = stage(members)
    return members


def place_x(widths: list[int], members: list[ShotCharacter], width: int, rng: random.Random) -> list[float]:
    """Centre x of each figure: at its slot (left, centre, right), then pushed apart so no two
    overlap (huggers may touch), kept inside the page."""
    if len(members) > 3:  # a crowd: evenly along the row, in the cast's order
        xs = [width * (i + 0.5) / len(members) for i in range(len(members))]
    else:
        xs = [width * (SLOT_X[m.position] + rng.uniform(-0.03, 0.03)) for m in members]
    order = sorted(range(len(xs)), key=lambda i: (xs[i], i))
    margin = width * 0.02
    for _ in range(8):
        for a, b in zip(order, order[1:]):
            if members[a].depth != members[b].depth:
                continue  # one behind the other: they may overlap
            hugging = members[a].action == "hug" or members[b].action == "hug"
            need = (widths[a] + widths[b]) / 2 * (0.82 if hugging else 1.04)
            if xs[b] - xs[a] < need:
                push = (need - (xs[b] - xs[a])) / 2
                xs[a] -= push
                xs[b] += push
        for i in order:
            xs[i] = min(max(xs[i], margin + widths[i] / 2), width - margin - widths[i] / 2)
    return xs


def render_page(request: IllustrationRequest, *, caption: bool = True, labels: bool = True,
                corner_label: bool = True) -> tuple[Image.Image, dict[str, Any], list[Image.Image]]:
    """Draw one storyboard panel of the request's shot. Returns the image, the parameters
    provenance records (what was drawn, where each figure is, what could not be drawn and why) and
    each placed figure's mask (in the order of parameters["figures"])."""
    if request.sheet:
        return render_sheet(request, corner_label=corner_label)
    w, h = request.width, request.height
    rng = random.Random(stable_int("page", request.seed, request.scene, request.prompt, w, h))
    shot = request.shot or read_shot(f"{request.prompt} {request.caption}", request.scene,
                                     {f.key: [f.label, f.species] for f in request.figures})
    spec = spec_from_shot(shot, request.scene)
    treatment = style_treatment(request.style)
    palette = [parse_color(c) for c in request.palette or []]

    # Caption strip and label sizes come first: they decide how tall the scene is.
    caption_text = clean_text(request.caption) if caption else ""
    cap_font = get_font(max(9, round(min(h * 0.038, w * 0.028))), cjk=needs_cjk(caption_text))
    cap_pad = max(4, round(h * 0.018))
    cap_lines = wrap_text(caption_text, cap_font, w - 2 * cap_pad * 2, 3) if caption_text else []
    line_h = round(getattr(cap_font, "size", 10) * 1.3)
    strip_h = min(int(h * 0.4), len(cap_lines) * line_h + 2 * cap_pad) if cap_lines else 0
    scene_h = h - strip_h
    label_font = get_font(max(8, round(min(h * 0.03, w * 0.022))), bold=True,
                          cjk=needs_cjk(*(f.label for f in request.figures)))
    label_space = (getattr(label_font, "size", 10) * 1.6 + 6) if labels and request.figures else h * 0.03
    backdrop = Backdrop(spec, w, scene_h, rng, palette)
    horizon = backdrop.horizon / SCENE_SS

    # Characters: each in its pose, sized by the camera and its depth, at its place in the shot.
    members = cast_for(request, shot)
    unit = figure_unit(w, h) * CAMERA_SCALE[shot.camera]
    posed = []
    for f, m in zip(request.figures, members):
        size = unit * (FAR_SCALE if m.depth == "far" else 1.0)
        pose = Pose(m.action, m.expression, m.facing)
        p = draw_posed(f, size, pose)
        # A small creature in a wide shot would be a few pixels of outline: never smaller than this
        # share of the scene, so it stays recognisable (and measurable by the gate).
        least = scene_h * (MIN_FAR if m.depth == "far" else MIN_NEAR)
        if p.image.height < least:
            p = draw_posed(f, size * least / p.image.height, pose)
        posed.append(p)
    sprites = [p.image for p in posed]
    near_feet = scene_h - label_space - h * 0.01
    far_feet = horizon + (scene_h - label_space - horizon) * 0.3
    xs = place_x([s.width for s in sprites], members, w, rng)
    corners = []
    for x, sprite, member in zip(xs, sprites, members):
        feet = (far_feet if member.depth == "far" else near_feet) - rng.uniform(0, h * 0.02)
        if shot.camera == "close-up" and member.depth == "near":  # the frame cuts each figure at its middle
            feet = scene_h + sprite.height * CLOSE_UP_CROP
        corners.append((int(x - sprite.width / 2), int(feet - sprite.height)))
    boxes2x = [(x * SCENE_SS, y * SCENE_SS, (x + s.width) * SCENE_SS, (y + s.height) * SCENE_SS)
               for (x, y), s in zip(corners, sprites)]

    # A held prop goes in the hand of the first character whose action is "hold"; the rest are scenery.
    held: dict[int, str] = {}
    for i, (member, p) in enumerate(zip(members, posed)):
        free = [pr for pr in shot.props if pr in HOLDABLE and pr not in held.values()]
        if member.action == "hold" and p.hand is not None and free:
            held[i] = free[0]

    # Background at 2x, then props and weather, then down to page size and the palette tint.
    PAINTERS[spec.setting](backdrop)
    near = [b for b, m in zip(boxes2x, members) if m.depth == "near"]
    props, prop_notes = paint_props(backdrop, spec, near, skip=tuple(held.values()))
    paint_weather(backdrop)
    scene = backdrop.image.resize((w, scene_h), Image.LANCZOS)
    scene = palette_tint(scene, palette)

    # Figures with soft contact shadows, back row first; then what they hold, in front of them.
    shadow = Image.new("L", scene.size, 0)
    sd = ImageDraw.Draw(shadow)
    for (x, y), sprite, p in zip(corners, sprites, posed):
        lifted = sprite.height - _feet_row(sprite)
        sd.ellipse([x + sprite.width * 0.08, y + sprite.height - unit * 0.035, x + sprite.width * 0.92,
                    y + sprite.height + unit * 0.035], fill=max(30, 90 - lifted))
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, unit * 0.02)))
    scene = Image.composite(Image.new("RGB", scene.size, (30, 30, 50)), scene, shadow)
    order = sorted(range(len(sprites)), key=lambda i: corners[i][1] + sprites[i].height)
    for i in order:
        scene.paste(sprites[i], corners[i], sprites[i])
    lights = list(backdrop.lights)
    masks = figure_masks(sprites, corners, order, (w, h), scene_h)
    if held:
        layer = Backdrop(spec, w, scene_h, rng, palette, transparent=True)
        for i, prop in held.items():
            hx, hy = corners[i][0] + posed[i].hand[0], corners[i][1] + posed[i].hand[1]
            size = min(unit * 0.32, sprites[i].height * 0.3)  # a thing in hand is small beside its holder
            paint_thing(layer, prop, hx * SCENE_SS, (hy + size * 0.8) * SCENE_SS, size * SCENE_SS)  # hangs from it
        things = layer.image.resize(scene.size, Image.LANCZOS)
        scene.paste(things, (0, 0), things)
        # A thing held is small: its light too (a lantern on the ground lights the whole clearing).
        lights += [(x, y, r * 0.3, c) for x, y, r, c in layer.lights]
        props += list(held.values())
        # what is held hides part of whoever holds it
        covered = Image.new("L", (w, h), 0)
        covered.paste(things.getchannel("A").point(lambda a: 255 if a > 8 else 0), (0, 0))
        masks = [ImageChops.subtract(m, covered) for m in masks]
    scene = add_lights(scene, lights, strength=0.95 if spec.light == "glowing" else 0.75)
    scene = apply_style(scene, treatment, palette, request.seed)

    # Text last, so every style keeps it readable.
    page = Image.new("RGB", (w, h), (252, 250, 244))
    page.paste(scene, (0, 0))
    draw = ImageDraw.Draw(page, "RGBA")
    placements = []
    for (x, y), sprite, figure, member, p in zip(corners, sprites, request.figures, members, posed):
        box = _opaque_box(sprite, x, y, (w, h), scene_h)
        placements.append({
            **Placement(figure.key, figure.label, resolve_look(figure).kind, x, y, sprite.width, sprite.height).__dict__,
            "box": box, "action": member.action, "drawn_as": p.drawn_as, "expression": member.expression,
            "facing": member.facing, "position": member.position, "depth": member.depth,
            "holds": held.get(len(placements)),
        })
        name = clean_text(figure.label) or clean_text(figure.key)
        if labels and name:
            top = min(y + sprite.height + 3, scene_h - getattr(label_font, "size", 10) * 1.6 - 4)
            pill(draw, x + sprite.width / 2, top, name, label_font, max_width=max(unit * 1.2, sprite.width), page_width=w)
    _caption_and_label(draw, page, cap_lines, cap_font, cap_pad, line_h, scene_h, corner_label)

    parameters = {
        "renderer": MODEL_ID, "setting": spec.setting, "room": spec.room or None, "time_of_day": shot.time_of_day,
        "weather": shot.weather, "light": shot.light, "camera": shot.camera,
        "props": props + [e for e in backdrop.extras if e not in props], "props_asked": list(shot.props),
        "props_notes": prop_notes, "shot_source": "request" if request.shot is not None else "read from the prompt",
        "style_treatment": treatment, "style": request.style, "palette": list(request.palette or []), "width": w,
        "height": h, "figure_unit_px": round(unit, 1), "caption_lines": len(cap_lines), "figures": placements,
        "figures_drawn": len(placements),
    }
    return page, parameters, masks


def figure_masks(sprites, corners, order, size, scene_h) -> list[Image.Image]:
    """Each figure's pixels on the page ("L", 255 on the figure): its sprite's opaque part where it
    is placed, inside the scene, less what the figures painted after it cover."""
    masks = []
    for sprite, corner in zip(sprites, corners):
        mask = Image.new("L", size, 0)
        mask.paste(sprite.getchannel("A").point(lambda a: 255 if a > 128 else 0), corner)
        ImageDraw.Draw(mask).rectangle([0, scene_h, size[0], size[1]], fill=0)
        masks.append(mask)
    for rank, i in enumerate(order):
        for j in order[rank + 1:]:
            masks[i] = ImageChops.subtract(masks[i], masks[j])
    return masks


def _feet_row(sprite: Image.Image) -> int:
    """How far up from the sprite's bottom edge its lowest opaque pixel is (0: standing)."""
    alpha = np.asarray(sprite.getchannel("A"))
    rows = np.nonzero(alpha.max(axis=1) > 8)[0]
    return int(sprite.height - 1 - rows[-1]) if len(rows) else 0


def _opaque_box(sprite: Image.Image, x: int, y: int, page: tuple[int, int], scene_h: int) -> list[float] | None:
    """The figure's drawn pixels, (x0, y0, x1, y1) as fractions of the page, clipped to the scene."""
    box = sprite.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if not box:
        return None
    width, height = page
    x0, y0 = max(0, x + box[0]), max(0, y + box[1])
    x1, y1 = min(width, x + box[2]), min(scene_h, y + box[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return [round(x0 / width, 4), round(y0 / height, 4), round(x1 / width, 4), round(y1 / height, 4)]


def _caption_and_label(draw, page, cap_lines, cap_font, cap_pad, line_h, scene_h, corner_label) -> None:
    w, h = page.size
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


SHEET_VIEWS = (("front", Pose("stand", "neutral", "front")), ("side", Pose("stand", "neutral", "right")))


def render_sheet(request: IllustrationRequest, *,
                 corner_label: bool = True) -> tuple[Image.Image, dict[str, Any], list[Image.Image]]:
    """A character sheet: each figure large on a plain ground, front and side view, with its name
    and its colours. The gate compares every page's figure with these views, and reference-taking
    illustrators (IP-Adapter) get this picture."""
    w, h = request.width, request.height
    page = Image.new("RGB", (w, h), (246, 244, 238))
    draw = ImageDraw.Draw(page, "RGBA")
    names = ", ".join(clean_text(f.label) or clean_text(f.key) for f in request.figures)
    title_font = get_font(max(10, round(h * 0.06)), bold=True, cjk=needs_cjk(names))
    small = get_font(max(8, round(h * 0.032)), cjk=needs_cjk(names))
    swatch_h = h * 0.1
    top, bottom = h * 0.14, h - swatch_h - h * 0.06
    cells = [(f, view, pose) for f in request.figures for view, pose in SHEET_VIEWS]
    cell_w = w / max(1, len(cells))
    placements, sprites = [], []
    for i, (figure, view, pose) in enumerate(cells):
        # as large as the cell allows: the sprite's size in units of its drawing height is known
        # only once drawn, so draw at the page's height and scale down to fit
        unit = (bottom - top) * 0.95
        sprite = draw_posed(figure, unit, pose).image
        # small creatures are drawn as large as people here: the sheet is for looking closely
        scale = min(3.0, (cell_w * 0.9) / sprite.width, (bottom - top) / sprite.height)
        if abs(scale - 1.0) > 0.02:
            sprite = draw_posed(figure, unit * scale, pose).image
        x = int(cell_w * i + (cell_w - sprite.width) / 2)
        y = int(bottom - sprite.height)
        page.paste(sprite, (x, y), sprite)
        placements.append({"key": figure.key, "label": figure.label, "view": view, "kind": resolve_look(figure).kind,
                           "x": x, "y": y, "width": sprite.width, "height": sprite.height,
                           "box": _opaque_box(sprite, x, y, (w, h), h)})
        sprites.append(sprite)
    # In the story's style treatment, so a page's figure and its sheet differ by pose, not by brushwork.
    page = apply_style(page, style_treatment(request.style), [parse_color(c) for c in request.palette or []], request.seed)
    draw = ImageDraw.Draw(page, "RGBA")
    draw_text_safe(draw, (w * 0.04, h * 0.03), names or "character sheet", title_font, INK)
    for i, placed in enumerate(placements):
        draw_text_safe(draw, (cell_w * i + cell_w * 0.05, bottom + 2), placed["view"], small, (110, 104, 110))
    # the palette: each named colour as a swatch with its name
    sx = w * 0.04
    sy = h - swatch_h - h * 0.02
    for figure in request.figures:
        for colour in figure.colors[:6]:
            rgb = parse_color(colour)
            draw.rounded_rectangle([sx, sy, sx + swatch_h, sy + swatch_h], radius=3, fill=rgb, outline=INK)
            draw_text_safe(draw, (sx + swatch_h + 3, sy + swatch_h * 0.3), clean_text(colour)[:14], small, INK)
            sx += swatch_h + text_width(small, clean_text(colour)[:14]) + 12
    _caption_and_label(draw, page, [], small, 0, 0, h, corner_label)
    parameters = {"renderer": MODEL_ID, "sheet": True, "views": [v for v, _ in SHEET_VIEWS], "width": w, "height": h,
                  "figures": placements, "figures_drawn": len(request.figures)}
    masks = figure_masks(sprites, [(p["x"], p["y"]) for p in placements], list(range(len(sprites))), (w, h), h)
    return page, parameters, masks
