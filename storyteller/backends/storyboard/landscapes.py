"""Outdoor settings, one painter each (garden, snow, forest, sea, ...), and the PAINTERS table."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from storyteller.backends.storyboard.colors import RGB, shade
from storyteller.backends.storyboard.rooms import paint_indoor
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop


def grass_color(bd: Backdrop) -> RGB:
    """The ground colour: grass, or snow when it snows."""
    return (244, 247, 252) if "snow" in bd.spec.weather else (116, 186, 88)


def paint_garden(bd: Backdrop) -> None:
    bd.sky()
    snow = "snow" in bd.spec.weather
    bd.ridge(bd.horizon, bd.h * 0.05, (206, 226, 240) if snow else (150, 200, 120), waves=2)
    for _ in range(bd.rng.randint(1, 3)):
        bd.round_tree(bd.rng.uniform(0, bd.w), bd.horizon + bd.h * 0.03, bd.h * 0.22,
                      fruit=(230, 80, 70) if bd.rng.random() < 0.4 else None)
    bd.ridge(bd.horizon + bd.h * 0.06, bd.h * 0.03, grass_color(bd), waves=1.5)
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
    bd.ridge(bd.horizon + bd.h * 0.04, bd.h * 0.02, grass_color(bd) if snow else (96, 160, 80), waves=1.5)
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
        boat(bd, bd.w * bd.rng.uniform(0.25, 0.75), bd.horizon + (shore - bd.horizon) * 0.45, bd.h * 0.09)
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
    bd.ridge(bd.horizon + bd.h * 0.05, bd.h * 0.025, grass_color(bd) if snow else (110, 176, 90), waves=1.5)
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
    bd.ridge(bottom + bd.h * 0.015, bd.h * 0.012, grass_color(bd), waves=1.2)
    if not snow:
        for _ in range(bd.rng.randint(3, 6)):  # reeds
            x, y = bd.rng.uniform(0, bd.w), bottom + bd.h * 0.02
            for k in range(4):
                bd.draw.line([(x + k * 4, y), (x + k * 4 + (k - 1.5) * 5, y - bd.h * 0.07)], fill=bd.tone((70, 130, 60)),
                             width=SCENE_SS * 2)
            bd.draw.ellipse([x + 2, y - bd.h * 0.075, x + 10, y - bd.h * 0.05], fill=bd.tone((120, 80, 50)))
    bd.water_line = top + bd.h * 0.05
    if "boat" in bd.spec.props:
        boat(bd, bd.w * bd.rng.uniform(0.2, 0.8), top + bd.h * 0.06, bd.h * 0.07)
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


def boat(bd: Backdrop, x: float, y: float, size: float) -> None:
    """A little sailing boat floating at `y`."""
    hull = bd.accent(1, (200, 70, 60))
    bd.draw.polygon([(x - size, y - size * 0.25), (x + size, y - size * 0.25), (x + size * 0.7, y + size * 0.12),
                     (x - size * 0.7, y + size * 0.12)], fill=bd.tone(hull))
    bd.draw.line([(x, y - size * 0.25), (x, y - size * 1.3)], fill=bd.tone((90, 70, 60)), width=max(2, int(size * 0.05)))
    bd.draw.polygon([(x + size * 0.05, y - size * 1.25), (x + size * 0.75, y - size * 0.35),
                     (x + size * 0.05, y - size * 0.35)], fill=bd.tone((250, 248, 240)))


PAINTERS = {"garden": paint_garden, "snow": paint_snow, "forest": paint_forest, "sea": paint_sea,
            "underwater": paint_underwater, "city": paint_city, "desert": paint_desert, "space": paint_space,
            "mountain": paint_mountain, "river": paint_river, "cave": paint_cave, "sky": paint_sky, "indoor": paint_indoor}
