"""Four-legged animals (and dragons): one parametric drawer, proportions per species in BEASTS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storyteller.backends.storyboard.colors import INK, RGB, luminance, mix, parse_color, rgba, shade, stable_int
from storyteller.backends.storyboard.poses import Pose, limb
from storyteller.backends.storyboard.pen import BASE, CANVAS_W, Look, Pen, bezier, face


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


def beast_colors(look: Look, defaults: tuple) -> tuple[RGB, RGB, RGB]:
    main = look.color(0, parse_color(defaults[0]))
    second = look.color(1, parse_color(defaults[1]) if len(defaults) > 1 else shade(main, 1.5))
    third = look.color(2, shade(main, 0.55))
    return main, second, third


# Leg angles per action (degrees from straight down, positive towards the head): front near, hind
# near, front far, hind far. A raised leg (over 60 degrees) is a lifted paw, shorter than a standing one.
QUAD_LEGS = {
    "walk": (18, -14, -12, 14), "run": (55, -50, 40, -40), "jump": (60, -60, 50, -50), "wave": (130, 0, 0, 0),
    "point": (90, 0, 0, 0), "hold": (70, 0, 0, 0), "reach": (150, 0, 8, 0), "hug": (95, 0, 80, 0),
    "fly": (70, -70, 60, -60), "climb": (120, -10, 100, -10), "dance": (110, 0, 90, 0),
}
# How far the body sinks, as a share of the legs: sitting on its haunches, crouching, lying, in water.
QUAD_DROPS = {"sit": 0.45, "hide": 0.55, "sleep": 0.92, "swim": 0.62}


FRONT_VIEW_ACTIONS = ("stand", "talk", "look")  # facing the reader, an animal is drawn head-on for these


def draw_quadruped(pen: Pen, look: Look, spec: Beast, pose: Pose) -> tuple[float, float]:
    """Draw the animal in `pose`, head to the right (or, facing front while standing, head-on);
    returns its front paw (what it holds things with)."""
    if pose.facing == "front" and pose.action in FRONT_VIEW_ACTIONS:
        return _front_view(pen, look, spec)
    main, second, third = beast_colors(look, spec.colors)
    far = shade(main, 0.78)
    L, D, legs, R = spec.length, spec.depth, spec.legs, spec.head
    action = pose.action
    cx = CANVAS_W / 2 - 8
    cy = BASE - legs - D / 2 + 3 + QUAD_DROPS.get(action, 0.0) * legs
    head_x, head_y = cx + L * 0.46, cy - D * 0.45 - R * 0.45
    if spec.snout == "long":  # horses: head held forward and up on a neck
        head_x, head_y = cx + L * 0.56, cy - D * 0.7 - R * 0.7
    head_y += {"sleep": R * 1.0, "look": -R * 0.45, "sit": -R * 0.35, "hide": R * 0.35}.get(action, 0.0)
    if action == "sleep":
        head_x += R * 0.3
    leg_w = max(5.0, L * 0.11)
    angles = QUAD_LEGS.get(action, (0, 0, 0, 0))

    def leg(x: float, top: float, angle: float, color, hoof: bool) -> tuple[float, float]:
        if action == "sleep":  # legs tucked under: only the paws show
            pen.ellipse(x + 2, BASE - 2.5, leg_w * 0.7, 2.5, rgba(color))
            return (x + 2, BASE - 2.5)
        length = max(3.0, BASE - top) * (0.8 if abs(angle) > 60 else 1.0)
        end = limb((x, top), 1, (angle, angle), (length / 2, length / 2))
        pen.stroke(end, rgba(color), leg_w - 1.5)
        if hoof:
            pen.circle(end[-1][0], end[-1][1] - 1, leg_w * 0.45, rgba(shade(main, 0.45)))
        return end[-1]

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
    hoofed = spec.snout == "long" or look.species in ("goat", "deer", "cow")
    for x, angle in ((cx - L * 0.26, angles[3]), (cx + L * 0.3, angles[2])):
        if action == "sit" and x < cx:
            continue  # the far haunch is hidden behind the near one
        leg(x + 3, cy, angle, far, False)
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

    # Near legs and paws (sitting: the hind leg folds into a haunch on the ground).
    near = main if "panda" not in spec.marks else second
    paw = (cx + L * 0.22, BASE)
    for x, angle, front in ((cx - L * 0.34, angles[1], False), (cx + L * 0.22, angles[0], True)):
        if action == "sit" and not front:
            pen.ellipse(x + 2, BASE - D * 0.32, L * 0.2, D * 0.34, rgba(near))
            pen.ellipse(x + L * 0.12, BASE - 2.5, leg_w * 0.8, 2.5, rgba(shade(near, 0.85)))
            continue
        end = leg(x, cy + 2, angle, near, hoofed)
        if front:
            paw = end

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
            _mane_ring(pen, head_x, head_y, R, main)
    _scarf(pen, look, head_x - R * 0.35, head_y + R * 0.88, R, profile=True)
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
    _head_features(pen, spec, look, head_x, head_y, R, main, second)
    _hat(pen, look, head_x, head_y, R)
    return paw


def _front_view(pen: Pen, look: Look, spec: Beast) -> tuple[float, float]:
    """The animal head-on: the body foreshortened behind its chest, front legs apart, the tail
    showing at one side, the same head (ears, muzzle, marks) as in profile."""
    main, second, _ = beast_colors(look, spec.colors)
    far = shade(main, 0.78)
    L, D, legs, R = spec.length, spec.depth, spec.legs, spec.head
    cx = CANVAS_W / 2
    cy = BASE - legs - D * 0.35
    leg_w = max(5.0, L * 0.11)
    tail_side = 1 if stable_int(look.key, "tail side") % 2 else -1
    pen.ellipse(cx + tail_side * D * 0.75, cy - D * 0.2, D * 0.32, D * 0.55, rgba(shade(main, 0.9)))  # the tail behind
    for side in (-1, 1):  # hind legs, further back
        pen.rect(cx + side * D * 0.42 - leg_w * 0.4, cy, cx + side * D * 0.42 + leg_w * 0.4, BASE - 2, rgba(far),
                 radius=leg_w * 0.4)
    if "spikes" in spec.marks:  # a hedgehog's coat shows all round
        pts = []
        for i in range(33):
            a = 2 * np.pi * i / 32
            rr = 1.3 if i % 2 else 1.0
            pts.append((cx + np.cos(a) * D * 0.66 * rr, cy + np.sin(a) * D * 0.62 * rr))
        pen.poly(pts, rgba(shade(main, 0.8)))
    pen.ellipse(cx, cy, D * 0.62, D * 0.58, rgba(main if "spikes" not in spec.marks else second))
    if "belly" in spec.marks or "wool" not in spec.marks:
        pen.ellipse(cx, cy + D * 0.1, D * 0.32, D * 0.36, rgba(second), outline=False)
    if "stripes" in spec.marks:
        for side in (-1, 1):
            pen.line([(cx + side * D * 0.5, cy - D * 0.2), (cx + side * D * 0.3, cy)], rgba(INK), 2.0)
    paw = (cx + D * 0.22, BASE)
    for side in (-1, 1):  # front legs
        x = cx + side * D * 0.22
        pen.rect(x - leg_w / 2, cy + 2, x + leg_w / 2, BASE, rgba(main if "panda" not in spec.marks else second),
                 radius=leg_w * 0.45)
    head_x, head_y = cx, cy - D * 0.55 - R * 0.55
    if "mane" in spec.marks and spec.snout != "long":
        _mane_ring(pen, head_x, head_y, R, main)
    _ears(pen, spec.ears, head_x, head_y, R, main, second)
    if "horns" in spec.marks or "horn" in spec.marks:
        pen.poly([(head_x - 2.5, head_y - R * 0.85), (head_x, head_y - R * 1.9), (head_x + 2.5, head_y - R * 0.85)],
                 (250, 226, 150, 255))
    _scarf(pen, look, head_x, head_y + R * 0.95, R, profile=False)
    pen.ellipse(head_x, head_y, R * 1.1, R * 0.98, rgba(main))
    _head_features(pen, spec, look, head_x, head_y, R, main, second)
    _hat(pen, look, head_x, head_y, R)
    return paw


# What an animal wears: the sheet's clothing ("wearing a red scarf") drawn as a picture book
# would: a band round the neck with a loose end, a hat between the ears (a woolly one with a
# bobble). Other clothes on an animal are not drawn.
def _scarf(pen: Pen, look: Look, x: float, y: float, R: float, *, profile: bool) -> None:
    color = look.worn("scarf", "shawl", "muffler")
    if color is None:
        return
    pen.ellipse(x, y, R * (0.7 if profile else 0.95), R * 0.3, rgba(color))
    end = x - R * 0.35 if profile else x + R * 0.4
    pen.rect(end - R * 0.16, y, end + R * 0.16, y + R * 0.95, rgba(shade(color, 0.85)), radius=R * 0.1)


def _hat(pen: Pen, look: Look, x: float, y: float, R: float) -> None:
    color = look.worn("hat", "cap", "beanie", "bonnet")
    if color is None:
        return
    top = y - R * 0.72
    if look.has("beanie", "bobble", "woolly", "wool", "knitted"):
        pen.ellipse(x, top, R * 0.8, R * 0.5, rgba(color))
        pen.rect(x - R * 0.82, top - R * 0.02, x + R * 0.82, top + R * 0.2, rgba(shade(color, 0.85)), radius=R * 0.1)
        pen.circle(x, top - R * 0.55, R * 0.2, rgba(shade(color, 1.35)))
        return
    pen.ellipse(x, top, R * 1.0, R * 0.18, rgba(color))  # the brim
    pen.rect(x - R * 0.58, top - R * 0.8, x + R * 0.58, top, rgba(color), radius=R * 0.12)
    pen.rect(x - R * 0.58, top - R * 0.22, x + R * 0.58, top - R * 0.06, rgba(shade(color, 0.6)), outline=False)


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


def _mane_ring(pen: Pen, hx, hy, R, main: RGB) -> None:
    """A short-snouted beast's mane (a lion's): a ring of tufts round the head, drawn before it."""
    for i in range(12):
        a = 2 * np.pi * i / 12
        pen.circle(hx + np.cos(a) * R * 1.05, hy + np.sin(a) * R * 1.05, R * 0.42, rgba(shade(main, 0.62)))


def _head_features(pen: Pen, spec: Beast, look: Look, hx, hy, R, main: RGB, second: RGB) -> None:
    """Everything drawn on the head, the same in profile and head-on: the marks that lie under
    the eyes (a raccoon's mask, a panda's eye patches), then the snout with the eyes."""
    if "mask" in spec.marks:
        pen.ellipse(hx, hy - R * 0.05, R * 0.95, R * 0.32, rgba(shade(main, 0.35)), outline=False)
    if "panda" in spec.marks:
        for side in (-1, 1):
            pen.ellipse(hx + side * R * 0.42, hy - R * 0.02, R * 0.28, R * 0.34, rgba(second), outline=False)
    _snout(pen, spec, look, hx, hy, R, main, second)


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
