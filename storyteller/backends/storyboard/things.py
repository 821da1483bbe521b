"""Small things a page names (bread, a key, a broom, a newspaper...), each a few flat shapes.

Every painter draws one thing standing on `base`, centred on `x`, about `size` tall, on the
Backdrop (2x pixels, colours through its tone so night and rain reach them too). THINGS maps each
prop name of storyteller.staging.PROPS that is a hand-sized or ground object to its painter; the
bigger scenery props (house, lighthouse, boat...) live in props.py. A name with no painter is drawn
by `placeholder`: a parcel with the name on its tag, so nothing the text names disappears unseen.
"""

from __future__ import annotations

import math

from storyteller.backends.storyboard.colors import INK, shade
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop
from storyteller.backends.storyboard.text import clean_text, draw_text_safe, get_font, text_width


def _line(bd: Backdrop, points, color, width: float) -> None:
    bd.draw.line(points, fill=bd.tone(color), width=max(SCENE_SS, int(width)), joint="curve")


def bread(bd: Backdrop, x: float, base: float, size: float) -> None:
    for i, dx in enumerate((-0.35, 0.3)):
        w, h = size * 0.55, size * 0.42
        cx = x + dx * size
        bd.draw.ellipse([cx - w / 2, base - h, cx + w / 2, base], fill=bd.tone((214, 150, 80)), outline=bd.tone(INK))
        for k in range(3):
            sx = cx - w * 0.25 + k * w * 0.25
            _line(bd, [(sx - w * 0.06, base - h * 0.75), (sx + w * 0.06, base - h * 0.45)], (150, 96, 50), size * 0.03)


def oven(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.9
    bd.draw.rounded_rectangle([x - w / 2, base - size, x + w / 2, base], radius=size * 0.06, fill=bd.tone((90, 90, 100)))
    bd.draw.rounded_rectangle([x - w * 0.38, base - size * 0.62, x + w * 0.38, base - size * 0.12], radius=size * 0.04,
                              fill=(255, 170, 80))
    bd.glow(x, base - size * 0.37, size * 0.5, (255, 160, 70))
    for k in range(3):
        kx = x - w * 0.3 + k * w * 0.3
        bd.draw.ellipse([kx - size * 0.05, base - size * 0.88, kx + size * 0.05, base - size * 0.78], fill=bd.tone((40, 40, 46)))


def pot(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.7
    bd.draw.rounded_rectangle([x - w / 2, base - size * 0.55, x + w / 2, base], radius=size * 0.12, fill=bd.tone((200, 90, 60)))
    bd.draw.rectangle([x - w * 0.6, base - size * 0.6, x + w * 0.6, base - size * 0.5], fill=bd.tone((150, 60, 40)))
    _line(bd, [(x + w * 0.6, base - size * 0.55), (x + w * 1.0, base - size * 0.62)], (60, 50, 50), size * 0.06)
    for k in range(3):  # steam
        sx = x - w * 0.25 + k * w * 0.25
        bd.draw.arc([sx - size * 0.06, base - size * 1.0, sx + size * 0.06, base - size * 0.7], 90, 270,
                    fill=(255, 255, 255, 170), width=SCENE_SS)


def spoon(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x, base), (x, base - size * 0.7)], (180, 140, 100), size * 0.07)
    bd.draw.ellipse([x - size * 0.12, base - size, x + size * 0.12, base - size * 0.65], fill=bd.tone((190, 150, 110)))


def teacup(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.6
    bd.draw.ellipse([x - w * 0.7, base - size * 0.12, x + w * 0.7, base], fill=bd.tone((250, 250, 246)))
    bd.draw.chord([x - w / 2, base - size * 0.75, x + w / 2, base - size * 0.05], 0, 180, fill=bd.tone(bd.accent(1, (120, 170, 220))))
    bd.draw.rectangle([x - w / 2, base - size * 0.42, x + w / 2, base - size * 0.38], fill=bd.tone(bd.accent(1, (120, 170, 220))))
    bd.draw.arc([x + w * 0.35, base - size * 0.42, x + w * 0.75, base - size * 0.15], 270, 90, fill=bd.tone((250, 250, 246)),
                width=SCENE_SS * 2)


def clock(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.38
    cy = base - size * 0.55
    bd.draw.rectangle([x - size * 0.08, cy, x + size * 0.08, base], fill=bd.tone((140, 100, 70)))
    bd.draw.ellipse([x - r, cy - r, x + r, cy + r], fill=bd.tone((250, 240, 210)), outline=bd.tone((140, 100, 70)), width=SCENE_SS * 2)
    for k in range(12):
        a = k * math.pi / 6
        bd.draw.ellipse([x + math.cos(a) * r * 0.8 - 1, cy + math.sin(a) * r * 0.8 - 1, x + math.cos(a) * r * 0.8 + 1,
                         cy + math.sin(a) * r * 0.8 + 1], fill=bd.tone(INK))
    _line(bd, [(x, cy), (x, cy - r * 0.65)], INK, SCENE_SS * 1.5)
    _line(bd, [(x, cy), (x + r * 0.45, cy + r * 0.1)], INK, SCENE_SS * 1.5)


def gears(bd: Backdrop, x: float, base: float, size: float) -> None:
    for dx, r, col in ((-0.22, 0.3, (170, 170, 180)), (0.25, 0.22, (200, 160, 70))):
        cx, cy = x + dx * size, base - r * size
        teeth = [(cx + math.cos(a) * r * size * (1.0 if k % 2 else 0.78), cy + math.sin(a) * r * size * (1.0 if k % 2 else 0.78))
                 for k, a in enumerate(i * math.pi / 8 for i in range(16))]
        bd.draw.polygon(teeth, fill=bd.tone(col))
        bd.draw.ellipse([cx - r * size * 0.3, cy - r * size * 0.3, cx + r * size * 0.3, cy + r * size * 0.3], fill=bd.tone((80, 80, 90)))


def tools(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x - size * 0.3, base), (x + size * 0.1, base - size * 0.8)], (140, 100, 70), size * 0.08)
    bd.draw.polygon([(x - size * 0.05, base - size * 0.9), (x + size * 0.3, base - size * 0.75), (x + size * 0.22, base - size * 0.62),
                     (x - size * 0.1, base - size * 0.75)], fill=bd.tone((120, 124, 134)))
    _line(bd, [(x + size * 0.15, base), (x + size * 0.35, base - size * 0.6)], (150, 156, 166), size * 0.07)


def book(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.5
    bd.draw.polygon([(x - w, base - size * 0.2), (x, base - size * 0.1), (x + w, base - size * 0.2), (x + w, base),
                     (x, base + size * 0.08), (x - w, base)], fill=bd.tone((250, 248, 240)), outline=bd.tone(bd.accent(0, (170, 60, 60))))
    _line(bd, [(x, base - size * 0.1), (x, base + size * 0.08)], (150, 140, 130), SCENE_SS)


def map_(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.7
    bd.draw.polygon([(x - w, base - size * 0.1), (x + w, base - size * 0.2), (x + w * 0.9, base), (x - w * 0.9, base + size * 0.06)],
                    fill=bd.tone((240, 224, 180)))
    pts = [(x - w * 0.7, base - size * 0.02), (x - w * 0.2, base - size * 0.1), (x + w * 0.2, base - size * 0.04)]
    bd.draw.line(pts, fill=bd.tone((200, 60, 60)), width=SCENE_SS)
    _line(bd, [(x + w * 0.35, base - size * 0.12), (x + w * 0.5, base - size * 0.02)], (200, 60, 60), SCENE_SS * 1.5)
    _line(bd, [(x + w * 0.5, base - size * 0.12), (x + w * 0.35, base - size * 0.02)], (200, 60, 60), SCENE_SS * 1.5)


def letter(bd: Backdrop, x: float, base: float, size: float) -> None:
    w, h = size * 0.6, size * 0.42
    bd.draw.rectangle([x - w / 2, base - h, x + w / 2, base], fill=bd.tone((250, 246, 236)), outline=bd.tone((150, 140, 130)))
    bd.draw.line([(x - w / 2, base - h), (x, base - h * 0.4), (x + w / 2, base - h)], fill=bd.tone((150, 140, 130)), width=SCENE_SS)
    bd.draw.ellipse([x - size * 0.06, base - h * 0.5, x + size * 0.06, base - h * 0.3], fill=bd.tone((200, 50, 50)))


def newspaper(bd: Backdrop, x: float, base: float, size: float) -> None:
    w, h = size * 0.7, size * 0.85
    bd.draw.rectangle([x - w / 2, base - h, x + w / 2, base], fill=bd.tone((238, 236, 228)), outline=bd.tone((120, 120, 120)))
    bd.draw.rectangle([x - w * 0.42, base - h * 0.92, x + w * 0.42, base - h * 0.78], fill=bd.tone((60, 60, 66)))
    for k in range(5):
        y = base - h * (0.68 - k * 0.12)
        _line(bd, [(x - w * 0.4, y), (x + (w * 0.4 if k % 2 else w * 0.1), y)], (150, 150, 156), SCENE_SS)
    bd.draw.rectangle([x + w * 0.15, base - h * 0.68, x + w * 0.4, base - h * 0.4], fill=bd.tone((180, 190, 200)))


def paintbrush(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x - size * 0.2, base), (x + size * 0.2, base - size * 0.8)], (170, 120, 80), size * 0.07)
    bd.draw.polygon([(x + size * 0.16, base - size * 0.78), (x + size * 0.3, base - size * 1.0), (x + size * 0.26, base - size * 0.74)],
                    fill=bd.tone(bd.accent(0, (220, 60, 80))))
    for k, col in enumerate(((230, 60, 60), (250, 200, 60), (70, 140, 220))):  # a palette of paints beside it
        bd.draw.ellipse([x - size * 0.5 + k * size * 0.14, base - size * 0.1, x - size * 0.4 + k * size * 0.14, base],
                        fill=bd.tone(col))


def easel(bd: Backdrop, x: float, base: float, size: float) -> None:
    for dx in (-0.3, 0.3):
        _line(bd, [(x, base - size), (x + dx * size, base)], (150, 110, 70), size * 0.04)
    bd.draw.rectangle([x - size * 0.32, base - size * 0.95, x + size * 0.32, base - size * 0.45], fill=bd.tone((252, 250, 244)),
                      outline=bd.tone((150, 110, 70)), width=SCENE_SS)
    bd.draw.ellipse([x - size * 0.18, base - size * 0.82, x + size * 0.02, base - size * 0.62], fill=bd.tone((250, 200, 60)))
    bd.draw.polygon([(x - size * 0.25, base - size * 0.5), (x, base - size * 0.7), (x + size * 0.25, base - size * 0.5)],
                    fill=bd.tone((90, 160, 90)))


def sword(bd: Backdrop, x: float, base: float, size: float) -> None:
    bd.draw.polygon([(x - size * 0.04, base - size * 0.25), (x, base - size), (x + size * 0.04, base - size * 0.25)],
                    fill=bd.tone((210, 214, 224)), outline=bd.tone((120, 124, 134)))
    _line(bd, [(x - size * 0.16, base - size * 0.25), (x + size * 0.16, base - size * 0.25)], (200, 160, 60), size * 0.05)
    _line(bd, [(x, base - size * 0.24), (x, base)], (120, 80, 50), size * 0.06)


def shield(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.36
    pts = [(x - w, base - size), (x + w, base - size), (x + w, base - size * 0.45), (x, base), (x - w, base - size * 0.45)]
    bd.draw.polygon(pts, fill=bd.tone(bd.accent(0, (60, 90, 180))), outline=bd.tone((200, 160, 60)))
    _line(bd, [(x, base - size * 0.9), (x, base - size * 0.15)], (240, 210, 90), size * 0.05)
    _line(bd, [(x - w * 0.75, base - size * 0.62), (x + w * 0.75, base - size * 0.62)], (240, 210, 90), size * 0.05)


def crown(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.45
    pts = [(x - w, base), (x - w, base - size * 0.45), (x - w * 0.5, base - size * 0.2), (x, base - size * 0.6),
           (x + w * 0.5, base - size * 0.2), (x + w, base - size * 0.45), (x + w, base)]
    bd.draw.polygon(pts, fill=bd.tone((240, 196, 60)))
    bd.draw.ellipse([x - size * 0.07, base - size * 0.22, x + size * 0.07, base - size * 0.08], fill=bd.tone((200, 50, 80)))


def broom(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x + size * 0.25, base - size), (x - size * 0.05, base - size * 0.3)], (150, 100, 60), size * 0.06)
    bd.draw.polygon([(x - size * 0.02, base - size * 0.38), (x - size * 0.34, base), (x + size * 0.12, base),
                     (x + size * 0.05, base - size * 0.3)], fill=bd.tone((220, 180, 90)))


def hat(bd: Backdrop, x: float, base: float, size: float) -> None:
    col = bd.accent(0, (70, 60, 110))
    bd.draw.ellipse([x - size * 0.5, base - size * 0.12, x + size * 0.5, base], fill=bd.tone(col))
    bd.draw.polygon([(x - size * 0.28, base - size * 0.06), (x + size * 0.28, base - size * 0.06), (x + size * 0.05, base - size),
                     (x - size * 0.12, base - size * 0.7)], fill=bd.tone(col))


def ball(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.35
    bd.draw.ellipse([x - r, base - 2 * r, x + r, base], fill=bd.tone(bd.accent(2, (230, 70, 70))))
    bd.draw.chord([x - r, base - 2 * r, x + r, base], 200, 340, fill=bd.tone((250, 250, 246)))


def basket(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.55
    bd.draw.arc([x - w * 0.7, base - size, x + w * 0.7, base - size * 0.2], 180, 360, fill=bd.tone((150, 100, 60)), width=SCENE_SS * 2)
    bd.draw.polygon([(x - w, base - size * 0.55), (x + w, base - size * 0.55), (x + w * 0.8, base), (x - w * 0.8, base)],
                    fill=bd.tone((200, 150, 90)))
    for k in range(3):
        bd.draw.ellipse([x - w * 0.6 + k * w * 0.45, base - size * 0.7, x - w * 0.25 + k * w * 0.45, base - size * 0.45],
                        fill=bd.tone(((230, 60, 60), (250, 200, 60), (120, 190, 80))[k]))


def apple(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.32
    bd.draw.ellipse([x - r, base - 2 * r, x + r, base], fill=bd.tone((214, 50, 50)))
    _line(bd, [(x, base - 2 * r), (x + r * 0.2, base - 2.5 * r)], (100, 70, 40), SCENE_SS * 1.5)
    bd.draw.ellipse([x + r * 0.2, base - 2.6 * r, x + r * 0.8, base - 2.2 * r], fill=bd.tone((90, 160, 70)))


def carrot(bd: Backdrop, x: float, base: float, size: float) -> None:
    bd.draw.polygon([(x - size * 0.12, base - size * 0.7), (x + size * 0.12, base - size * 0.7), (x, base)], fill=bd.tone((240, 130, 40)))
    for dx in (-0.08, 0.0, 0.08):
        _line(bd, [(x, base - size * 0.7), (x + dx * size * 2, base - size)], (90, 160, 70), SCENE_SS * 1.5)


def key(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.16
    gold = (230, 190, 60)
    bd.draw.ellipse([x - size * 0.4 - r, base - size * 0.3 - r, x - size * 0.4 + r, base - size * 0.3 + r], outline=bd.tone(gold),
                    width=int(size * 0.08))
    _line(bd, [(x - size * 0.25, base - size * 0.3), (x + size * 0.4, base - size * 0.3)], gold, size * 0.08)
    for dx in (0.25, 0.38):
        _line(bd, [(x + dx * size, base - size * 0.3), (x + dx * size, base - size * 0.12)], gold, size * 0.07)
    bd.glow(x, base - size * 0.3, size * 0.4, (255, 230, 140))


def gift(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.4
    bd.draw.rectangle([x - w, base - size * 0.7, x + w, base], fill=bd.tone(bd.accent(1, (90, 150, 220))))
    bd.draw.rectangle([x - w * 0.15, base - size * 0.7, x + w * 0.15, base], fill=bd.tone((240, 90, 110)))
    for side in (-1, 1):
        bd.draw.ellipse([x + side * w * 0.55 - w * 0.4, base - size * 0.95, x + side * w * 0.55 + w * 0.4, base - size * 0.7],
                        outline=bd.tone((240, 90, 110)), width=SCENE_SS * 2)


def bell(bd: Backdrop, x: float, base: float, size: float) -> None:
    bd.draw.pieslice([x - size * 0.35, base - size * 0.95, x + size * 0.35, base - size * 0.1], 180, 360, fill=bd.tone((235, 190, 60)))
    bd.draw.rectangle([x - size * 0.35, base - size * 0.55, x + size * 0.35, base - size * 0.2], fill=bd.tone((235, 190, 60)))
    bd.draw.ellipse([x - size * 0.08, base - size * 0.22, x + size * 0.08, base - size * 0.06], fill=bd.tone((150, 110, 40)))


def telescope(bd: Backdrop, x: float, base: float, size: float) -> None:
    for dx in (-0.25, 0.0, 0.25):
        _line(bd, [(x, base - size * 0.45), (x + dx * size, base)], (110, 80, 60), size * 0.035)
    _line(bd, [(x - size * 0.35, base - size * 0.3), (x + size * 0.35, base - size * 0.75)], (200, 160, 70), size * 0.12)


def globe(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.35
    cy = base - size * 0.6
    bd.draw.rectangle([x - size * 0.2, base - size * 0.06, x + size * 0.2, base], fill=bd.tone((120, 90, 60)))
    _line(bd, [(x, base), (x, cy + r)], (120, 90, 60), size * 0.05)
    bd.draw.ellipse([x - r, cy - r, x + r, cy + r], fill=bd.tone((80, 150, 220)))
    bd.draw.ellipse([x - r * 0.6, cy - r * 0.5, x + r * 0.1, cy + r * 0.2], fill=bd.tone((110, 180, 90)))
    bd.draw.ellipse([x + r * 0.1, cy + r * 0.1, x + r * 0.6, cy + r * 0.6], fill=bd.tone((110, 180, 90)))


def ladder(bd: Backdrop, x: float, base: float, size: float) -> None:
    for dx in (-0.15, 0.15):
        _line(bd, [(x + dx * size - size * 0.1, base), (x + dx * size + size * 0.1, base - size)], (170, 120, 70), size * 0.04)
    for k in range(5):
        t = (k + 0.5) / 5
        _line(bd, [(x - size * 0.25 + t * size * 0.2, base - t * size), (x + size * 0.05 + t * size * 0.2, base - t * size)],
              (170, 120, 70), size * 0.03)


def bucket(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.35
    bd.draw.polygon([(x - w, base - size * 0.6), (x + w, base - size * 0.6), (x + w * 0.8, base), (x - w * 0.8, base)],
                    fill=bd.tone(bd.accent(2, (230, 90, 70))))
    bd.draw.arc([x - w, base - size * 0.9, x + w, base - size * 0.3], 180, 360, fill=bd.tone((80, 80, 90)), width=SCENE_SS)
    _line(bd, [(x + w * 1.2, base), (x + w * 1.6, base - size * 0.7)], (150, 110, 70), size * 0.05)


def shell(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.4
    bd.draw.pieslice([x - w, base - size * 0.7, x + w, base + size * 0.1], 180, 360, fill=bd.tone((250, 210, 200)))
    for k in range(5):
        a = math.pi * (1 + (k + 0.5) / 5)
        _line(bd, [(x, base - size * 0.3), (x + math.cos(a) * w, base - size * 0.3 + math.sin(a) * size * 0.4)], (220, 160, 150),
              SCENE_SS)


def rock(bd: Backdrop, x: float, base: float, size: float) -> None:
    bd.draw.polygon([(x - size * 0.6, base), (x - size * 0.45, base - size * 0.45), (x - size * 0.1, base - size * 0.6),
                     (x + size * 0.4, base - size * 0.4), (x + size * 0.6, base)], fill=bd.tone((150, 146, 140)))


def bench(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.9
    bd.draw.rectangle([x - w, base - size * 0.5, x + w, base - size * 0.42], fill=bd.tone((150, 100, 60)))
    bd.draw.rectangle([x - w, base - size * 0.85, x + w, base - size * 0.75], fill=bd.tone((150, 100, 60)))
    for dx in (-0.8, 0.8):
        bd.draw.rectangle([x + dx * w - size * 0.04, base - size * 0.85, x + dx * w + size * 0.04, base], fill=bd.tone((90, 70, 60)))


def bed(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 0.9
    bd.draw.rectangle([x - w, base - size * 0.45, x + w, base - size * 0.15], fill=bd.tone(bd.accent(1, (120, 160, 220))))
    bd.draw.rectangle([x - w, base - size * 0.75, x - w + size * 0.1, base], fill=bd.tone((150, 100, 60)))
    bd.draw.rectangle([x + w - size * 0.1, base - size * 0.55, x + w, base], fill=bd.tone((150, 100, 60)))
    bd.draw.ellipse([x - w + size * 0.12, base - size * 0.6, x - w + size * 0.55, base - size * 0.4], fill=bd.tone((250, 250, 246)))


def chair(bd: Backdrop, x: float, base: float, size: float) -> None:
    wood = (160, 110, 70)
    bd.draw.rectangle([x - size * 0.3, base - size * 0.5, x + size * 0.3, base - size * 0.42], fill=bd.tone(wood))
    bd.draw.rectangle([x - size * 0.3, base - size, x - size * 0.22, base], fill=bd.tone(wood))
    bd.draw.rectangle([x + size * 0.22, base - size * 0.5, x + size * 0.3, base], fill=bd.tone(wood))


def table(bd: Backdrop, x: float, base: float, size: float) -> None:
    wood = (170, 120, 76)
    bd.draw.rectangle([x - size * 0.7, base - size * 0.6, x + size * 0.7, base - size * 0.5], fill=bd.tone(wood))
    for dx in (-0.6, 0.6):
        bd.draw.rectangle([x + dx * size - size * 0.04, base - size * 0.5, x + dx * size + size * 0.04, base], fill=bd.tone(wood))


def nest(bd: Backdrop, x: float, base: float, size: float) -> None:
    for k in range(3):
        bd.draw.ellipse([x - size * 0.15 - k * size * 0.08 + k * size * 0.16 - size * 0.1, base - size * 0.55, x - k * size * 0.08
                         + k * size * 0.16 + size * 0.1, base - size * 0.25], fill=bd.tone((240, 236, 220)))
    bd.draw.chord([x - size * 0.55, base - size * 0.5, x + size * 0.55, base + size * 0.1], 0, 180, fill=bd.tone((150, 110, 70)))


def bone(bd: Backdrop, x: float, base: float, size: float) -> None:
    y = base - size * 0.2
    _line(bd, [(x - size * 0.4, y), (x + size * 0.4, y)], (240, 236, 220), size * 0.14)
    for dx in (-0.45, 0.45):
        for dy in (-0.08, 0.08):
            bd.draw.ellipse([x + dx * size - size * 0.08, y + dy * size - size * 0.08, x + dx * size + size * 0.08,
                             y + dy * size + size * 0.08], fill=bd.tone((240, 236, 220)))


def statue(bd: Backdrop, x: float, base: float, size: float) -> None:
    stone = (200, 200, 196)
    bd.draw.rectangle([x - size * 0.25, base - size * 0.3, x + size * 0.25, base], fill=bd.tone(shade(stone, 0.85)))
    bd.draw.rounded_rectangle([x - size * 0.13, base - size * 0.8, x + size * 0.13, base - size * 0.3], radius=size * 0.05,
                              fill=bd.tone(stone))
    bd.draw.ellipse([x - size * 0.1, base - size, x + size * 0.1, base - size * 0.8], fill=bd.tone(stone))


def flag(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x, base), (x, base - size)], (120, 110, 100), size * 0.03)
    bd.draw.polygon([(x, base - size), (x + size * 0.45, base - size * 0.88), (x, base - size * 0.72)],
                    fill=bd.tone(bd.accent(0, (220, 60, 60))))


def signpost(bd: Backdrop, x: float, base: float, size: float) -> None:
    _line(bd, [(x, base), (x, base - size)], (140, 100, 64), size * 0.06)
    bd.draw.polygon([(x - size * 0.3, base - size * 0.95), (x + size * 0.3, base - size * 0.95), (x + size * 0.42, base - size * 0.83),
                     (x + size * 0.3, base - size * 0.72), (x - size * 0.3, base - size * 0.72)], fill=bd.tone((200, 160, 100)))


def bag(bd: Backdrop, x: float, base: float, size: float) -> None:
    col = bd.accent(1, (160, 90, 60))
    bd.draw.rounded_rectangle([x - size * 0.3, base - size * 0.65, x + size * 0.3, base], radius=size * 0.12, fill=bd.tone(col))
    bd.draw.arc([x - size * 0.18, base - size * 0.85, x + size * 0.18, base - size * 0.5], 180, 360, fill=bd.tone(shade(col, 0.7)),
                width=SCENE_SS * 2)
    bd.draw.rectangle([x - size * 0.3, base - size * 0.45, x + size * 0.3, base - size * 0.38], fill=bd.tone(shade(col, 0.7)))


def leaf(bd: Backdrop, x: float, base: float, size: float) -> None:
    col = bd.accent(2, (220, 120, 40))
    bd.draw.polygon([(x, base), (x - size * 0.3, base - size * 0.45), (x, base - size * 0.9), (x + size * 0.3, base - size * 0.45)],
                    fill=bd.tone(col))
    _line(bd, [(x, base + size * 0.08), (x, base - size * 0.8)], shade(col, 0.6), SCENE_SS)


def bicycle(bd: Backdrop, x: float, base: float, size: float) -> None:
    r = size * 0.3
    for dx in (-0.42, 0.42):
        bd.draw.ellipse([x + dx * size - r, base - 2 * r, x + dx * size + r, base], outline=bd.tone((50, 50, 56)), width=SCENE_SS * 2)
    frame = bd.accent(0, (220, 60, 60))
    pts = [(x - size * 0.42, base - r), (x, base - r), (x + size * 0.2, base - r * 2.3), (x - size * 0.15, base - r * 2.3),
           (x - size * 0.42, base - r)]
    bd.draw.line(pts, fill=bd.tone(frame), width=SCENE_SS * 2)
    _line(bd, [(x + size * 0.2, base - r * 2.3), (x + size * 0.42, base - r)], frame, SCENE_SS * 2)


def car(bd: Backdrop, x: float, base: float, size: float) -> None:
    w = size * 1.1
    col = bd.accent(0, (70, 130, 210))
    bd.draw.rounded_rectangle([x - w / 2, base - size * 0.55, x + w / 2, base - size * 0.15], radius=size * 0.1, fill=bd.tone(col))
    bd.draw.polygon([(x - w * 0.3, base - size * 0.55), (x - w * 0.18, base - size * 0.85), (x + w * 0.2, base - size * 0.85),
                     (x + w * 0.32, base - size * 0.55)], fill=bd.tone(col))
    bd.draw.polygon([(x - w * 0.22, base - size * 0.57), (x - w * 0.14, base - size * 0.78), (x + w * 0.16, base - size * 0.78),
                     (x + w * 0.24, base - size * 0.57)], fill=bd.tone((200, 226, 246)))
    for dx in (-0.3, 0.3):
        bd.draw.ellipse([x + dx * w - size * 0.14, base - size * 0.28, x + dx * w + size * 0.14, base], fill=bd.tone((50, 50, 56)))


def train(bd: Backdrop, x: float, base: float, size: float) -> None:
    col = bd.accent(0, (200, 60, 60))
    bd.draw.rectangle([x - size * 0.9, base - size * 0.6, x + size * 0.3, base - size * 0.15], fill=bd.tone(col))
    bd.draw.rectangle([x + size * 0.3, base - size * 0.9, x + size * 0.8, base - size * 0.15], fill=bd.tone(shade(col, 0.8)))
    bd.draw.rectangle([x - size * 0.7, base - size * 0.85, x - size * 0.5, base - size * 0.6], fill=bd.tone((60, 60, 66)))
    for dx in (-0.7, -0.3, 0.1, 0.55):
        bd.draw.ellipse([x + dx * size - size * 0.12, base - size * 0.24, x + dx * size + size * 0.12, base], fill=bd.tone((50, 50, 56)))
    bd.draw.ellipse([x - size * 0.75, base - size * 1.2, x - size * 0.45, base - size * 0.95], fill=(240, 240, 240, 190))


def music(bd: Backdrop, x: float, base: float, size: float) -> None:
    """Notes in the air above the place: a song, a choir."""
    for k in range(3):
        nx, ny = x + (k - 1) * size * 0.5, base - size * (1.0 + 0.3 * (k % 2))
        bd.draw.ellipse([nx - size * 0.12, ny, nx + size * 0.08, ny + size * 0.14], fill=bd.tone(INK))
        _line(bd, [(nx + size * 0.07, ny + size * 0.06), (nx + size * 0.07, ny - size * 0.35)], INK, SCENE_SS * 1.5)
        _line(bd, [(nx + size * 0.07, ny - size * 0.35), (nx + size * 0.25, ny - size * 0.25)], INK, SCENE_SS * 1.5)


def placeholder(bd: Backdrop, x: float, base: float, size: float, name: str) -> None:
    """A thing the storyboard has no drawing for: a parcel with its name on the tag, so the page
    shows that it is there and says what it is."""
    w = size * 0.5
    bd.draw.rectangle([x - w, base - size * 0.7, x + w, base], fill=bd.tone((210, 170, 120)), outline=bd.tone((140, 100, 70)))
    bd.draw.line([(x - w, base - size * 0.7), (x + w, base)], fill=bd.tone((180, 140, 90)), width=SCENE_SS)
    font = get_font(max(8, int(size * 0.22)), bold=True)
    label = clean_text(name)[:18] or "?"
    tw = text_width(font, label)
    fs = getattr(font, "size", 10)
    bd.draw.rounded_rectangle([x - tw / 2 - 4, base - size * 0.7 - fs * 1.6, x + tw / 2 + 4, base - size * 0.7 - 2],
                              radius=4, fill=(255, 255, 250, 235), outline=INK)
    draw_text_safe(bd.draw, (x - tw / 2, base - size * 0.7 - fs * 1.45), label, font, INK)


# name -> (painter, size as a share of the page height)
THINGS = {
    "bread": (bread, 0.1), "oven": (oven, 0.22), "pot": (pot, 0.12), "spoon": (spoon, 0.1), "teacup": (teacup, 0.09),
    "clock": (clock, 0.2), "gears": (gears, 0.12), "tools": (tools, 0.12), "book": (book, 0.1), "map": (map_, 0.1),
    "letter": (letter, 0.1), "newspaper": (newspaper, 0.14), "paintbrush": (paintbrush, 0.13), "easel": (easel, 0.3),
    "sword": (sword, 0.2), "shield": (shield, 0.16), "crown": (crown, 0.08), "broom": (broom, 0.26), "hat": (hat, 0.12),
    "ball": (ball, 0.09), "basket": (basket, 0.12), "apple": (apple, 0.07), "carrot": (carrot, 0.1), "key": (key, 0.1),
    "gift": (gift, 0.12), "bell": (bell, 0.12), "telescope": (telescope, 0.22), "globe": (globe, 0.2), "ladder": (ladder, 0.36),
    "bucket": (bucket, 0.1), "shell": (shell, 0.07), "rock": (rock, 0.1), "bench": (bench, 0.16), "bed": (bed, 0.2),
    "chair": (chair, 0.18), "table": (table, 0.18), "nest": (nest, 0.09), "bone": (bone, 0.08), "statue": (statue, 0.3),
    "flag": (flag, 0.3), "signpost": (signpost, 0.26), "bag": (bag, 0.12), "leaf": (leaf, 0.08), "bicycle": (bicycle, 0.18),
    "car": (car, 0.16), "train": (train, 0.18), "music": (music, 0.1),
}
