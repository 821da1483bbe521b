"""Poses: how a figure is drawn doing something, and the marks that make an action read.

A pose is (action, expression, facing) from the shot's vocabularies. Each family's drawer knows
some actions by heart (`ARTICULATED`: a person raises an arm to wave, a dog lifts a paw, a bird
spreads its wings); for the rest, the whole sprite is moved the nearest way (`BODY_MOVES`: lifted
for a jump, leaned for a run, laid down to sleep) and every action gets its picture-book mark
(speed lines, music notes, a speech mark, "z z"). What was drawn how is returned, so the page's
provenance can say that a fish "climbing" is a tilted fish, never that it climbed.

The colours of a figure never depend on its pose: identity is colour and shape, the pose is
geometry and ink marks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from storyteller.backends.storyboard.colors import INK


@dataclass(frozen=True)
class Pose:
    action: str = "stand"
    expression: str = "neutral"
    facing: str = "front"


STANDING = Pose()

# Actions each family's drawer articulates itself (limbs, wings, body); others get a body move.
ARTICULATED = {
    "person": {"stand", "walk", "run", "jump", "sit", "wave", "point", "hold", "hug", "sleep", "fly", "swim", "climb",
               "dance", "reach", "hide", "look", "talk"},
    "quadruped": {"stand", "walk", "run", "jump", "sit", "wave", "point", "hold", "hug", "sleep", "fly", "swim", "reach",
                  "hide", "look", "talk", "dance", "climb"},
    "robot": {"stand", "wave", "point", "hold", "hug", "reach", "talk", "look"},
    "bird": {"stand", "walk", "run", "jump", "sit", "wave", "point", "hold", "hug", "sleep", "fly", "swim", "reach",
             "hide", "look", "talk", "dance", "climb"},
}
# Articulated actions that also lean the whole figure (a dog dancing on its hind legs).
ARTICULATED_LEAN = {("quadruped", "climb"): 22.0, ("quadruped", "dance"): 24.0, ("bird", "dance"): 12.0,
                    ("bird", "climb"): 18.0, ("person", "dance"): 6.0, ("person", "run"): -6.0,
                    ("person", "sleep"): 90.0, ("person", "swim"): -70.0, ("person", "fly"): -20.0}
# How a whole sprite moves for an action its drawer does not articulate:
# (degrees to lean, counter-clockwise; lift as a share of the height; vertical squash).
BODY_MOVES = {
    "walk": (4.0, 0.0, 1.0), "run": (-10.0, 0.04, 1.0), "jump": (0.0, 0.28, 1.0), "sit": (0.0, 0.0, 0.8),
    "sleep": (90.0, 0.0, 1.0), "fly": (-12.0, 0.42, 1.0), "swim": (-8.0, 0.0, 0.92), "climb": (22.0, 0.08, 1.0),
    "dance": (12.0, 0.06, 1.0), "reach": (6.0, 0.05, 1.0), "hide": (0.0, 0.0, 0.68), "hug": (-6.0, 0.0, 1.0),
    "wave": (-4.0, 0.0, 1.0), "point": (-5.0, 0.0, 1.0), "hold": (3.0, 0.0, 1.0), "look": (3.0, 0.0, 1.0),
    "talk": (0.0, 0.0, 1.0), "stand": (0.0, 0.0, 1.0),
}
# Kinds drawn by each family's drawer (others: creatures, moved as a whole).
FAMILY_OF = {"person": "person", "quadruped": "quadruped", "dragon": "quadruped", "bird": "bird", "owl": "bird",
             "penguin": "bird", "duck": "bird", "chicken": "bird", "robot": "robot"}


def family(kind: str) -> str:
    return FAMILY_OF.get(kind, "creature")


def face_of(pose: Pose) -> str:
    """The expression the face shows: a sleeper's eyes are closed whatever the shot says."""
    return "sleepy" if pose.action == "sleep" else pose.expression


def body_move(sprite: Image.Image, action: str, anchor: tuple[float, float] | None, *, only_lift: bool = False,
              lean: float = 0.0):
    """Lean, lift and squash a finished sprite (feet on its bottom edge); the anchor follows.
    `only_lift`: the drawer articulated the action itself, only lift it off the ground (jumps,
    flights) and lean it by `lean` degrees."""
    angle, lift, squash = BODY_MOVES.get(action, (0.0, 0.0, 1.0))
    if only_lift:
        angle, squash = lean, 1.0
        lift = lift if action in ("jump", "fly") else 0.0

    w, h = sprite.size
    if squash != 1.0:
        sprite = sprite.resize((w, max(1, round(h * squash))), Image.LANCZOS)
        anchor = anchor and (anchor[0], anchor[1] * squash)
        w, h = sprite.size
    if angle:
        rotated = sprite.rotate(angle, resample=Image.BICUBIC, expand=True)
        if anchor is not None:  # PIL rotates counter-clockwise about the centre, expanding the canvas
            cx, cy = w / 2, h / 2
            a = math.radians(angle)
            dx, dy = anchor[0] - cx, anchor[1] - cy
            anchor = (rotated.width / 2 + dx * math.cos(a) + dy * math.sin(a),
                      rotated.height / 2 - dx * math.sin(a) + dy * math.cos(a))
        box = rotated.getchannel("A").point(lambda v: 255 if v > 8 else 0).getbbox()
        if box:
            rotated = rotated.crop(box)
            anchor = anchor and (anchor[0] - box[0], anchor[1] - box[1])
        sprite, (w, h) = rotated, rotated.size
    if lift:
        raised = Image.new("RGBA", (w, h + round(h * lift)), (0, 0, 0, 0))
        raised.paste(sprite, (0, 0))
        sprite = raised
    return sprite, anchor


def mirror(sprite: Image.Image, anchor):
    flipped = sprite.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return flipped, anchor and (sprite.width - anchor[0], anchor[1])


def add_marks(sprite: Image.Image, pose: Pose, anchor, unit: float):
    """The ink marks of an action and an expression, around the sprite (the canvas grows to hold
    them; the feet stay on the bottom edge). Marks point the way the figure faces."""
    pad = max(2, round(unit * 0.14))
    w, h = sprite.size
    out = Image.new("RGBA", (w + 2 * pad, h + pad), (0, 0, 0, 0))
    out.paste(sprite, (pad, pad))
    d = ImageDraw.Draw(out)
    ink = (*INK, 230)
    lw = max(1, round(unit * 0.012))
    ahead = -1 if pose.facing == "left" else 1  # +1: marks in front are to the right
    left, right, top, bottom = pad, pad + w, pad, pad + h
    front_x, back_x = (right, left) if ahead > 0 else (left, right)
    s = unit * 0.05
    action = pose.action
    if action == "run":  # speed lines behind
        for i in range(3):
            y = top + h * (0.35 + 0.18 * i)
            d.line([(back_x - ahead * pad * 0.1, y), (back_x - ahead * pad * 0.9, y)], fill=ink, width=lw)
    elif action == "walk":  # little dust puffs at the back foot
        d.ellipse([back_x - s * 0.6, bottom - s * 0.8, back_x + s * 0.2, bottom], outline=ink, width=lw)
    elif action == "jump":  # bounce arcs under the feet
        for i in range(2):
            r = s * (1.0 + i)
            d.arc([left + w / 2 - r * 2, bottom - r, left + w / 2 + r * 2, bottom + r], 200, 340, fill=ink, width=lw)
    elif action == "fly":  # a whoosh trail behind
        for i in range(2):
            y = top + h * (0.3 + 0.2 * i)
            d.arc([back_x - ahead * pad - pad, y - s, back_x - ahead * pad + pad, y + s], 90 if ahead > 0 else 270,
                  270 if ahead > 0 else 90, fill=ink, width=lw)
    elif action == "swim":  # ripples across the body
        y = top + h * 0.7
        for i in range(4):
            x = left + w * (0.1 + 0.27 * i)
            d.arc([x - s * 1.4, y - s * 0.5, x + s * 1.4, y + s * 0.5], 0, 180, fill=(60, 120, 200, 230), width=lw * 2)
    elif action == "sleep":  # z z z above
        font_s = max(3.0, s * 1.4)
        for i in range(3):
            x, y = front_x - ahead * pad * 0.6 + ahead * i * font_s * 0.9, top + pad * 0.5 - i * font_s * 0.9
            z = font_s * (0.6 + 0.25 * i)
            d.line([(x, y), (x + z, y), (x, y + z), (x + z, y + z)], fill=ink, width=lw)
    elif action == "dance":  # music notes
        for i, (fx, fy) in enumerate(((0.1, 0.15), (0.85, 0.05))):
            x, y = left + w * fx, top + h * fy
            d.ellipse([x - s * 0.7, y + s * 1.6, x + s * 0.5, y + s * 2.4], fill=ink)
            d.line([(x + s * 0.45, y + s * 2.0), (x + s * 0.45, y)], fill=ink, width=lw)
            d.line([(x + s * 0.45, y), (x + s * 1.2, y + s * 0.5)], fill=ink, width=lw)
    elif action == "talk":  # speech marks in front of the face
        for i in range(3):
            r = s * (0.8 + 0.6 * i)
            cx, cy = front_x, top + h * 0.2
            d.arc([cx - r, cy - r, cx + r, cy + r], -40 if ahead > 0 else 140, 40 if ahead > 0 else 220, fill=ink, width=lw)
    elif action == "point" and anchor is not None:  # a dotted line from the hand, the way it points
        ax, ay = anchor[0] + pad, anchor[1] + pad
        for i in range(1, 4):
            x = ax + ahead * i * s * 1.1
            d.ellipse([x - lw, ay - lw, x + lw, ay + lw], fill=ink)
    elif action in ("wave", "reach") and anchor is not None:  # movement arcs at the hand
        ax, ay = anchor[0] + pad, anchor[1] + pad
        r = s * 1.6
        d.arc([ax - r, ay - r, ax + r, ay + r], 200, 340, fill=ink, width=lw)
        if action == "wave":
            d.arc([ax - r * 1.6, ay - r * 1.6, ax + r * 1.6, ay + r * 1.6], 210, 330, fill=ink, width=lw)
    elif action == "hug":  # a heart above
        x, y = left + w / 2 + ahead * w * 0.3, top + s
        d.ellipse([x - s, y - s * 0.6, x, y + s * 0.4], fill=(230, 80, 110, 240))
        d.ellipse([x, y - s * 0.6, x + s, y + s * 0.4], fill=(230, 80, 110, 240))
        d.polygon([(x - s, y), (x + s, y), (x, y + s * 1.3)], fill=(230, 80, 110, 240))
    elif action == "hide":  # a peek of "..."
        for i in range(3):
            x = front_x + ahead * (i * s * 0.9 - pad * 0.2)
            d.ellipse([x - s * 0.25, top + s - s * 0.25, x + s * 0.25, top + s + s * 0.25], fill=ink)
    elif action == "look":  # sight lines in front of the eyes
        for dy in (-0.5, 0.5):
            y = top + h * 0.18 + dy * s
            d.line([(front_x + ahead * pad * 0.1, y), (front_x + ahead * pad * 0.7, y + dy * s)], fill=ink, width=lw)
    elif action == "climb":  # effort lines under
        d.line([(left + w * 0.3, bottom - 1), (left + w * 0.7, bottom - 1)], fill=ink, width=lw)
        d.line([(left + w * 0.4, bottom - s), (left + w * 0.6, bottom - s)], fill=ink, width=lw)
    # expressions that have a mark of their own
    if pose.expression == "thinking" and action != "sleep":
        for i in range(3):
            r = s * (0.25 + 0.2 * i)
            x, y = front_x + ahead * (s * 0.2 + i * s * 0.9), top + s * (1.8 - i * 0.8)
            d.ellipse([x - r, y - r, x + r, y + r], outline=ink, width=lw)
    elif pose.expression == "scared":  # a drop of sweat beside the head
        x, y = back_x + ahead * s * 0.6, top + s * 1.5
        d.polygon([(x, y - s * 0.8), (x - s * 0.45, y + s * 0.2), (x + s * 0.45, y + s * 0.2)], fill=(110, 170, 240, 240))
        d.ellipse([x - s * 0.45, y - s * 0.2, x + s * 0.45, y + s * 0.6], fill=(110, 170, 240, 240))
    elif pose.expression == "angry":  # a cross-vein mark
        x, y = back_x + ahead * s * 0.5, top + s
        for a, b in (((-1, -1), (1, 1)), ((-1, 1), (1, -1))):
            d.line([(x + a[0] * s * 0.5, y + a[1] * s * 0.5), (x + b[0] * s * 0.5, y + b[1] * s * 0.5)],
                   fill=(220, 60, 60, 240), width=lw * 2)
    elif pose.expression == "surprised":  # an exclamation mark
        x, y = front_x + ahead * s * 0.3, top + s * 0.2
        d.line([(x, y), (x, y + s * 1.2)], fill=ink, width=lw * 2)
        d.ellipse([x - lw, y + s * 1.5, x + lw, y + s * 1.5 + 2 * lw], fill=ink)
    box = out.getchannel("A").point(lambda v: 255 if v > 8 else 0).getbbox()
    crop = (box[0], box[1], box[2], out.height) if box else (0, 0, out.width, out.height)
    anchor = anchor and (anchor[0] + pad - crop[0], anchor[1] + pad - crop[1])
    return out.crop(crop), anchor


def limb(origin: tuple[float, float], side: int, angles: tuple[float, float], lengths: tuple[float, float]):
    """Points of a two-part limb from `origin`: angles in degrees from straight down, positive away
    from the body's middle on `side` (-1 left, 1 right); 180 is straight up."""
    points = [origin]
    x, y = origin
    for angle, length in zip(angles, lengths):
        a = math.radians(angle)
        x, y = x + side * math.sin(a) * length, y + math.cos(a) * length
        points.append((x, y))
    return points
