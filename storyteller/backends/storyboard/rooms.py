"""Indoor settings: walls, floor, a window onto the weather, a door, and furniture per room."""

from __future__ import annotations

import numpy as np
from PIL import Image

from storyteller.backends.storyboard.colors import RGB, mix, shade
from storyteller.backends.storyboard.pen import bezier
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop


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
        cafe_table(bd, tx, bd.horizon + bd.h * 0.08, bd.h * 0.12)


def cafe_table(bd: Backdrop, x: float, base: float, size: float) -> None:
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
