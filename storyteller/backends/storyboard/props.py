"""Props named in the shot (lantern, kite, lighthouse, bread...) and the weather, over the backdrop.

Scenery props stand on the horizon, sky props fly above it, everything else (the small things in
things.py, and a labelled parcel for a name with no drawing) stands in the gaps between the
figures, or in a character's hand. A prop that cannot be drawn in this place (a lighthouse indoors)
is reported with the reason, never dropped without a word.
"""

from __future__ import annotations

from storyteller.backends.storyboard.colors import shade
from storyteller.backends.storyboard.landscapes import boat, grass_color
from storyteller.backends.storyboard.pen import bezier
from storyteller.backends.storyboard.rooms import cafe_table
from storyteller.backends.storyboard.scenes import SCENE_SS, Backdrop, SceneSpec
from storyteller.backends.storyboard.things import THINGS, placeholder


# Background props stand on the horizon, sky props above it, foreground props in the gaps between figures.
BACKGROUND_PROPS = ("lighthouse", "house", "tree", "rocket", "bus", "cafe", "door", "boat")
SKY_PROPS = ("kite", "balloon", "star")
FOREGROUND_PROPS = ("lantern", "campfire", "cake", "candle", "umbrella", "mushroom", "flowers")


# Props the sky paints (Backdrop.sky), when the time of day allows.
SKY_PAINTED = ("sun", "moon", "rainbow")
KNOWN = (*BACKGROUND_PROPS, *SKY_PROPS, *FOREGROUND_PROPS, *SKY_PAINTED)
# Props that can be held: drawn in the hand of a character whose action is "hold".
HOLDABLE = ("lantern", "book", "umbrella", "flowers", "candle", "bread", "spoon", "teacup", "map", "letter", "newspaper",
            "paintbrush", "sword", "shield", "crown", "broom", "hat", "ball", "basket", "apple", "carrot", "key", "gift",
            "bell", "shell", "leaf", "bag", "cake", "tools", "gears", "bone", "kite", "balloon", "star", "pot", "clock",
            "telescope", "globe", "bucket", "flag")


def paint_props(bd: Backdrop, spec: SceneSpec, boxes: list[tuple[float, float, float, float]],
                skip: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """Draw the shot's props (but `skip`: those held by a character); returns those drawn and, for
    the others, why not or how ("placeholder"). `boxes` are figure boxes (x0, y0, x1, y1) in 2x
    coordinates, which foreground props keep clear of."""
    drawn: list[str] = []
    notes: dict[str, str] = {}
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
        if prop in skip:
            continue
        if prop in SKY_PAINTED:
            if prop in bd.extras:
                drawn.append(prop)
            else:
                notes[prop] = f"not drawn: no {prop} in the sky at {spec.hour}" if spec.setting != "indoor" else \
                    f"not drawn: no sky indoors"
            continue
        if prop in ("door", "window") and spec.setting == "indoor":
            drawn.append(prop)  # the room painter puts a window in every room, and a door when one is named
            continue
        if prop == "window":  # outdoors, a window is a house's
            _house(bd, free_x(s * 0.3), bd.horizon + s * 0.05, s * 0.22)
            drawn.append(prop)
            notes[prop] = "drawn as a house's windows"
            continue
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
            y = (bd.road[1] if bd.road else bd.horizon + s * 0.06) - s * 0.01
            _bus(bd, free_x(s * 0.42), y, s * 0.13)
        elif prop == "cafe" and spec.setting == "indoor" and spec.room == "café":
            pass  # the room itself is the café
        elif prop == "cafe" and spec.setting != "indoor":
            _stall(bd, free_x(s * 0.36), bd.horizon + s * 0.1, s * 0.2)
        elif prop == "door" and spec.setting != "indoor":
            x = free_x(s * 0.2)
            bd.draw.ellipse([x - s * 0.14, bd.horizon - s * 0.1, x + s * 0.14, bd.horizon + s * 0.12],
                            fill=bd.tone(shade(grass_color(bd), 0.85)))
            bd.draw.chord([x - s * 0.045, bd.horizon - s * 0.05, x + s * 0.045, bd.horizon + s * 0.04], 180, 360,
                          fill=bd.tone(bd.accent(3, (200, 70, 60))))
            bd.draw.rectangle([x - s * 0.045, bd.horizon - s * 0.006, x + s * 0.045, bd.horizon + s * 0.07],
                              fill=bd.tone(bd.accent(3, (200, 70, 60))))
        elif prop == "boat" and spec.setting not in ("sea", "river") and bd.water_line is not None:
            boat(bd, free_x(s * 0.2), bd.water_line, s * 0.08)
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
        elif prop == "boat" and spec.setting in ("sea", "river"):
            if "boat" not in bd.extras:  # the water painter floats it
                notes[prop] = "not drawn: no room on the water"
                continue
        elif prop in FOREGROUND_PROPS or prop in THINGS or prop not in KNOWN:
            _foreground_prop(bd, prop, boxes)
            drawn.append(prop)
            if prop not in FOREGROUND_PROPS and prop not in THINGS:
                notes[prop] = "placeholder: no drawing for it, a labelled parcel"
            continue
        else:  # scenery that does not belong here (a lighthouse indoors, a boat with no water)
            notes[prop] = f"not drawn: a {prop} does not fit in this scene ({spec.setting})"
            continue
        drawn.append(prop)
    return drawn, notes


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


FOREGROUND_SIZES = {"lantern": 0.11, "campfire": 0.16, "cake": 0.2, "candle": 0.08, "umbrella": 0.2, "mushroom": 0.1,
                    "flowers": 0.12}


def _foreground_prop(bd: Backdrop, prop: str, boxes) -> None:
    """A ground prop in a gap between the figures; with no gap wide enough, on the horizon behind them."""
    s = bd.h
    size = (FOREGROUND_SIZES.get(prop) or THINGS.get(prop, (None, 0.12))[1]) * s
    spots = _gaps(bd, boxes, size * 1.1)
    if spots:
        x, base = spots[0], max((b[3] for b in boxes), default=bd.h * 0.88) - s * 0.01
    else:
        size *= 0.6
        x, base = bd.w * bd.rng.uniform(0.15, 0.85), bd.horizon + s * 0.06
    paint_thing(bd, prop, x, base, size)


def paint_thing(bd: Backdrop, prop: str, x: float, base: float, size: float) -> None:
    """One ground or hand prop standing on `base` at `x`, about `size` tall (2x pixels)."""
    s = bd.h
    if prop in THINGS:
        THINGS[prop][0](bd, x, base, size)
        return
    if prop not in FOREGROUND_SIZES:
        placeholder(bd, x, base, size, prop)
        return
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
    cafe_table(bd, x + w * 0.85, base + h * 0.15, h * 0.5)


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
    """Falling snow and rain over the background (behind the characters, so they stay clean).
    Indoors the weather is in the window (rooms.py), not falling through the room."""
    if bd.spec.setting == "indoor":
        return
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
    if "wind" in bd.spec.weather:  # gusts and blown leaves
        for _ in range(6):
            x, y = rng.uniform(0, bd.w), rng.uniform(0.1, 0.9) * bd.h
            ln = bd.h * rng.uniform(0.08, 0.16)
            bd.draw.arc([x - ln, y - ln * 0.15, x + ln, y + ln * 0.15], 200, 340, fill=(255, 255, 255, 170), width=SCENE_SS)
        for _ in range(8):
            x, y, r = rng.uniform(0, bd.w), rng.uniform(0.1, 0.8) * bd.h, bd.h * 0.008
            bd.draw.ellipse([x - r * 1.6, y - r, x + r * 1.6, y + r], fill=bd.tone(rng.choice(((220, 120, 40), (200, 160, 50)))))
    if "fog" in bd.spec.weather:  # banks of mist low over the ground
        for i in range(4):
            y = bd.horizon + (bd.h - bd.horizon) * (i / 4) - bd.h * 0.05
            bd.draw.ellipse([-bd.w * 0.2, y - bd.h * 0.06, bd.w * 1.2, y + bd.h * 0.06], fill=(236, 238, 242, 70))
    if "snow" in bd.spec.weather or bd.spec.setting == "snow":
        for _ in range(int(bd.w * bd.h / 6000)):
            x, y = rng.uniform(0, bd.w), rng.uniform(0, bd.h)
            r = rng.choice((1.0, 1.5, 2.0, 3.0)) * SCENE_SS
            bd.draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, rng.randint(150, 240)))
