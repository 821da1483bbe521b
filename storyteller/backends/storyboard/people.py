"""People: picture-book children and adults, built from the words of their description.

Gender, age, role (knight, keeper, chef...), hair and headwear come from the description; what
the words leave open is a stable per-character choice (`Look.pick`), so a person looks the same
on every page.
"""

from __future__ import annotations

import numpy as np

from storyteller.backends.storyboard.colors import (
    COLOR_WORDS, INK, RGB, SHADE_WORDS, hsv, mix, parse_color, rgba, shade, stable_int,
)
from storyteller.backends.storyboard.pen import BASE, CANVAS_W, Look, Pen, face, split_words
from storyteller.backends.storyboard.poses import Pose, limb


FEMALE_WORDS = {"girl", "woman", "sister", "mother", "mum", "mom", "mommy", "mummy", "grandma", "granny",
                "grandmother", "queen", "princess", "witch", "lady", "aunt", "auntie", "daughter", "she", "her",
                "niece", "ballerina", "fairy", "mermaid"}
MALE_WORDS = {"boy", "man", "brother", "father", "dad", "daddy", "grandpa", "grandfather", "king", "prince",
              "wizard", "uncle", "son", "he", "his", "him", "nephew", "gentleman"}
CHILD_WORDS = {"girl", "boy", "child", "kid", "sister", "brother", "daughter", "son", "baby", "toddler",
               "little", "young", "niece", "nephew", "schoolgirl", "schoolboy", "twin"}
OLD_WORDS = {"old", "elderly", "grandma", "granny", "grandmother", "grandpa", "grandfather", "aged", "wizard"}
SKIN_TONES: tuple[RGB, ...] = ((255, 220, 190), (246, 204, 168), (228, 180, 140), (198, 140, 100),
                               (160, 106, 72), (118, 78, 54))
HAIR_COLORS: tuple[RGB, ...] = ((70, 46, 30), (120, 72, 40), (30, 26, 28), (200, 150, 80), (170, 80, 40), (92, 60, 40))
PERSON_WORDS = (FEMALE_WORDS | MALE_WORDS | CHILD_WORDS | OLD_WORDS | {
    "person", "human", "keeper", "lighthousekeeper", "knight", "pirate", "baker", "chef", "cook", "farmer",
    "sailor", "fisherman", "fisher", "teacher", "doctor", "explorer", "astronaut", "detective", "elf", "giant",
    "people", "friend", "traveller", "traveler", "shepherd", "gardener", "painter", "musician", "captain",
    "scientist", "inventor", "ranger", "postman", "postwoman", "student", "villager", "merchant", "hunter",
    "clown", "dancer", "warrior", "adult", "teen", "teenager", "parent", "grandparent", "nurse", "queen"})

# What someone is to the others, not what they are: as a character's kind ("Sara, a rival",
# "Lily, a family member") a planner means a person. Not in PERSON_WORDS, which also says who
# arrives in a direction ("the guide points the way" brings in no one new).
ROLE_WORDS = {"rival", "member", "classmate", "neighbour", "neighbor", "teammate", "companion", "partner",
              "sidekick", "buddy", "pal", "enemy", "villain", "stranger", "visitor", "guest", "helper", "mentor",
              "guide", "relative", "cousin", "sibling", "family", "bully", "owner", "shopkeeper", "guard", "librarian",
              "mayor", "leader", "boss", "protagonist", "hero", "heroine"}


# Arm and leg angles per action (degrees from straight down, positive away from the body's middle;
# see poses.limb), for the front side (+1: the side the figure faces) and the back side (-1).
ARMS = {
    "stand": ((30, 8), (30, 8)), "walk": ((38, 20), (18, 0)), "run": ((70, 150), (40, -20)),
    "jump": ((155, 170), (155, 170)), "sit": ((20, 70), (20, 70)), "wave": ((140, 175), (30, 8)),
    "point": ((90, 90), (30, 8)), "hold": ((25, -75), (25, -75)), "hug": ((85, 80), (-30, -85)),
    "sleep": ((15, 5), (15, 5)), "fly": ((100, 95), (100, 95)), "swim": ((165, 175), (165, 175)),
    "climb": ((165, 178), (135, 150)), "dance": ((150, 120), (85, 40)), "reach": ((150, 160), (150, 160)),
    "hide": ((40, -165), (40, -165)), "look": ((60, -170), (30, 8)), "talk": ((45, 100), (30, 8)),
}
LEGS = {
    "walk": ((14, 4), (-4, 8)), "run": ((50, -10), (-10, 25)), "jump": ((40, -30), (40, -30)),
    "sit": ((80, -95), (80, -95)), "swim": ((12, -10), (8, 14)), "climb": ((70, -20), (0, 0)),
    "dance": ((55, 35), (0, 0)), "hide": ((45, -50), (45, -50)), "fly": ((4, 8), (4, 8)),
}
# How far the body sinks towards the ground, as a share of the leg: sitting cross-legged, crouching.
DROPS = {"sit": 0.78, "hide": 0.42}


HAIR_ADJECTIVES = {"long", "short", "curly", "straight", "wavy", "messy", "thick", "braided", "fluffy", "shiny",
                   "silky", "tousled", "spiky", "cropped", "flowing", "frizzy", "untidy", "neat"} | set(SHADE_WORDS)


def _color_near(words: list[str], anchor: set[str], span: int = 3) -> RGB | None:
    """The colour word just before one of `anchor` ("long red hair" -> red), looking back only
    through adjectives, so "blue dungarees, with pigtails" does not give blue hair."""
    for i, w in enumerate(words):
        if w in anchor or any(w.startswith(a) for a in anchor):
            for j in range(i - 1, max(-1, i - span - 1), -1):
                if words[j] in COLOR_WORDS:
                    return parse_color(" ".join(words[j - 1:j + 1]) if j and words[j - 1] in SHADE_WORDS else words[j])
                if words[j] not in HAIR_ADJECTIVES:
                    break
    return None


def draw_person(pen: Pen, look: Look, pose: Pose) -> tuple[float, float]:
    """Draw the person in `pose` (front side: the sprite's right); returns the hand that holds things."""
    words = split_words(look.description)
    child = look.has(*CHILD_WORDS)
    old = look.has(*OLD_WORDS)
    masculine = look.has(*MALE_WORDS, "beard", "bearded", "moustache", "mustache")
    female = look.has(*FEMALE_WORDS) or (not masculine and look.pick("gender", (True, False)))
    role = next((r for r in ("knight", "witch", "wizard", "keeper", "sailor", "fisherman", "captain", "pirate",
                             "king", "queen", "prince", "princess", "chef", "baker", "cook", "astronaut", "explorer")
                 if look.has(r)), "")
    if "lighthouse" in look.words:
        role = role or "keeper"

    H = 76.0 if child else 100.0
    cx = CANVAS_W / 2
    skin = look.pick("skin", SKIN_TONES)
    hair = _color_near(words, {"hair", "haired", "braid", "pigtail", "curl", "ponytail", "beard"})
    explicit_hair = hair is not None
    if hair is None:
        hair = look.pick("hair", ((225, 225, 225), (200, 200, 206))) if old else look.pick("haircol", HAIR_COLORS)
    palette = [c for c, w in zip(look.colors, look.color_words) if not (explicit_hair and parse_color(w) == hair)]
    cloth = palette[0] if palette else hsv(stable_int(look.key, "cloth") % 360 / 360, 0.55, 0.8)
    lower = palette[1] if len(palette) > 1 else mix(cloth, (40, 50, 90), 0.55)
    accent = palette[2] if len(palette) > 2 else hsv(stable_int(look.key, "acc") % 360 / 360, 0.6, 0.85)
    if role == "knight":
        cloth, lower = (196, 202, 214), (150, 156, 170)
        accent = palette[0] if palette else accent
    if role == "astronaut":
        cloth, lower = (240, 242, 246), (220, 224, 230)
        accent = palette[0] if palette else (230, 90, 60)
    dress = (female and (look.has("dress", "skirt", "gown", "princess", "queen", "witch")
                         or (not look.has("trousers", "jeans", "pants", "overalls", "dungarees", "shorts")
                             and look.pick("dress", (True, False)))))
    if role in ("knight", "astronaut"):
        dress = False

    head_r = H * (0.19 if child else 0.135)
    base = BASE
    leg_len = H * (0.3 if child else 0.33) + 1
    drop = DROPS.get(pose.action, 0.0) * leg_len
    body = base + drop  # where the feet would be if the legs were straight: the upper body hangs from it
    leg_top = body - H * (0.3 if child else 0.33)
    neck_y = body - H * (0.62 if child else 0.7)
    head_cy = neck_y - head_r * 0.82
    shoulder = H * (0.15 if child else 0.14)
    boot = (70, 52, 44) if not look.has("boots") else mix(accent, INK, 0.3)

    # Legs and shoes, behind the body: two-part strokes, straight when standing.
    leg_w = H * 0.075
    leg_col_bare = (dress and not look.has("tights", "trousers"))
    tiptoe = 2.5 if pose.action == "reach" else 0.0
    for side in (-1, 1):
        lx = cx + side * H * 0.058
        leg_col = skin if leg_col_bare else lower
        angles = LEGS.get(pose.action, ((0, 0), (0, 0)))[0 if side == 1 else 1]
        points = limb((lx, leg_top - 1), side, angles, (leg_len * 0.5, leg_len * 0.5 - 3 - tiptoe))
        pen.stroke(points, rgba(leg_col), leg_w)
        fx, fy = points[-1]
        pen.ellipse(fx + side * 1.5, fy + 0.3, leg_w * (0.6 if tiptoe else 0.75), 3.4, rgba(boot))

    # Long hair hangs behind the body.
    style = _hair_style(look, female, child, old, role)
    if style in ("long", "braid") and role not in ("knight", "astronaut"):
        pen.rect(cx - head_r * 1.12, head_cy - head_r * 0.2, cx + head_r * 1.12, neck_y + H * 0.16, rgba(hair), radius=head_r * 0.6)

    # Arms (behind the torso so the shoulders stay clean), in the pose's angles.
    arm_w = H * 0.065
    upper = np.hypot(shoulder * 0.45, H * 0.16 - 5)
    fore = np.hypot(shoulder * 0.15, leg_top + H * 0.02 - neck_y - H * 0.16)
    hands = {}
    for side in (-1, 1):
        sx = cx + side * shoulder * 0.85
        points = limb((sx, neck_y + 5), side, ARMS.get(pose.action, ARMS["stand"])[0 if side == 1 else 1], (upper, fore))
        pen.stroke(points, rgba(cloth), arm_w)
        hands[side] = points[-1]
    arms_front = pose.action in ("hide", "look", "hold", "hug")  # hands in front of the body: drawn after it
    if not arms_front:
        for side in (-1, 1):
            pen.circle(hands[side][0], hands[side][1] + 1, arm_w * 0.62, rgba(skin if role not in ("knight", "astronaut") else lower))

    # Torso: a dress flares, a tunic is a rounded block; knights get a tabard, keepers a jumper.
    if dress:
        hem = body - H * (0.16 if child else 0.2)
        pen.poly([(cx - shoulder * 0.8, neck_y + 1), (cx + shoulder * 0.8, neck_y + 1),
                  (cx + shoulder * 1.45, hem), (cx - shoulder * 1.45, hem)], rgba(cloth))
        pen.line([(cx - shoulder * 1.35, hem - 3), (cx + shoulder * 1.35, hem - 3)], rgba(shade(cloth, 0.8)), 1.6)
        pen.line([(cx - shoulder * 0.75, neck_y + H * 0.13), (cx + shoulder * 0.75, neck_y + H * 0.13)], rgba(accent), 2.2)
    else:
        pen.rect(cx - shoulder, neck_y, cx + shoulder, leg_top + 3, rgba(cloth), radius=shoulder * 0.55)
        if role == "knight":
            pen.rect(cx - shoulder * 0.62, neck_y + 4, cx + shoulder * 0.62, leg_top + 6, rgba(accent), radius=2)
            pen.poly([(cx, neck_y + 9), (cx + 4, neck_y + 14), (cx, neck_y + 20), (cx - 4, neck_y + 14)], rgba((240, 210, 80)))
        elif role in ("keeper", "sailor", "fisherman", "captain"):
            for i in range(3):  # a striped jumper
                y = neck_y + 7 + i * (leg_top - neck_y - 8) / 3
                pen.line([(cx - shoulder + 1.5, y), (cx + shoulder - 1.5, y)], rgba(shade(cloth, 1.5)), 2.0, round_ends=False)
        else:
            pen.line([(cx, neck_y + 4), (cx, leg_top)], rgba(shade(cloth, 0.82)), 1.0)  # a simple button line
            for i in range(2):
                pen.circle(cx, neck_y + 9 + i * 8, 1.2, rgba(shade(cloth, 0.6)), outline=False)
    if role in ("chef", "baker", "cook") or look.has("apron"):
        pen.rect(cx - shoulder * 0.7, neck_y + H * 0.1, cx + shoulder * 0.7, leg_top + 8, (250, 250, 246, 255), radius=3)

    # Head, hair, face, headwear.
    pen.rect(cx - 3, neck_y - 5, cx + 3, neck_y + 2, rgba(skin), outline=False)
    if role == "astronaut":
        pen.circle(cx, head_cy, head_r * 1.45, (225, 235, 245, 255))
    if style == "pigtails":
        for side in (-1, 1):
            pen.circle(cx + side * head_r * 1.15, head_cy + head_r * 0.25, head_r * 0.48, rgba(hair))
    if style == "bob":  # a full bob frames the face: hair to the jaw on both sides, behind the head
        pen.rect(cx - head_r * 1.2, head_cy - head_r * 0.3, cx + head_r * 1.2, head_cy + head_r * 0.85, rgba(hair),
                 radius=head_r * 0.35)
    pen.circle(cx, head_cy, head_r, rgba(skin))
    _hair_front(pen, style, cx, head_cy, head_r, hair, accent)
    face(pen, cx, head_cy + head_r * 0.12, head_r, eye_color=(40, 36, 40), gap=0.4)
    if look.has("glasses", "spectacles", "goggles"):
        for side in (-1, 1):
            pen.circle(cx + side * head_r * 0.4, head_cy + head_r * 0.12, head_r * 0.27, None)
        pen.line([(cx - head_r * 0.14, head_cy + head_r * 0.1), (cx + head_r * 0.14, head_cy + head_r * 0.1)], rgba(INK), 1.0)
    if (not female and (old or role in ("keeper", "wizard", "fisherman", "captain"))) or look.has("beard"):
        beard = hair if explicit_hair or not old else (236, 236, 236)
        pen.poly([(cx - head_r * 0.78, head_cy + head_r * 0.35), (cx + head_r * 0.78, head_cy + head_r * 0.35),
                  (cx + head_r * 0.5, head_cy + head_r * (1.6 if role == "wizard" else 1.15)),
                  (cx, head_cy + head_r * (2.1 if role == "wizard" else 1.4)),
                  (cx - head_r * 0.5, head_cy + head_r * (1.6 if role == "wizard" else 1.15))], rgba(beard))
        pen.arc(cx, head_cy + head_r * 0.5, head_r * 0.22, head_r * 0.12, 20, 160, rgba(INK), 1.0)
    if look.has("scarf"):
        pen.rect(cx - shoulder * 0.85, neck_y - 2, cx + shoulder * 0.85, neck_y + 4, rgba(accent), radius=2.5)
        pen.rect(cx + shoulder * 0.2, neck_y, cx + shoulder * 0.55, neck_y + 15, rgba(accent), radius=1.5)
    _headwear(pen, look, role, cx, head_cy, head_r, cloth, accent)
    if arms_front:  # hands over the eyes, at the brow, holding something, reaching round someone
        for side in (-1, 1):
            points = limb((cx + side * shoulder * 0.85, neck_y + 5), side,
                          ARMS[pose.action][0 if side == 1 else 1], (upper, fore))
            if pose.action != "look" or side == 1:
                pen.stroke(points[1:], rgba(cloth), arm_w)
            pen.circle(points[-1][0], points[-1][1] + 1, arm_w * 0.62,
                       rgba(skin if role not in ("knight", "astronaut") else lower))
    if pose.action == "hold":
        return ((hands[-1][0] + hands[1][0]) / 2, (hands[-1][1] + hands[1][1]) / 2)
    return hands[1]


def _hair_style(look: Look, female: bool, child: bool, old: bool, role: str) -> str:
    for word, style in (("pigtail", "pigtails"), ("braid", "long"), ("ponytail", "long"), ("bun", "bun"),
                        ("curly", "curly"), ("curls", "curly"), ("bald", "bald"), ("spiky", "spiky"),
                        ("long", "long"), ("short", "short"), ("bob", "bob")):
        if any(w.startswith(word) for w in look.words):
            return style
    if role in ("knight", "astronaut"):
        return "short"
    if female:
        return look.pick("hairstyle", ("pigtails", "long", "bob") if child else ("long", "bun", "bob"))
    return look.pick("hairstyle", ("short", "curly", "spiky") if child else ("short", "curly", "bald") if old else ("short", "curly"))


def _hair_front(pen: Pen, style: str, cx, cy, r, hair: RGB, accent: RGB) -> None:
    """Hair over the top of the head, drawn as a cap plus a fringe."""
    col = rgba(hair)
    if style == "bald":
        pen.ellipse(cx - r * 0.95, cy + r * 0.05, r * 0.2, r * 0.32, col)
        pen.ellipse(cx + r * 0.95, cy + r * 0.05, r * 0.2, r * 0.32, col)
        return
    if style == "curly":
        for i in range(7):
            a = np.pi * (1.05 + i * 0.15)
            pen.circle(cx + np.cos(a) * r * 0.92, cy + np.sin(a) * r * 0.88, r * 0.34, col)
        return
    if style == "spiky":
        pts = [(cx - r * 1.02, cy - r * 0.05)]
        for i in range(6):
            a = np.pi * (1.0 + (i + 0.5) / 6)
            pts.append((cx + np.cos(a) * r * 1.3, cy + np.sin(a) * r * 1.3))
            a2 = np.pi * (1.0 + (i + 1) / 6)
            pts.append((cx + np.cos(a2) * r * 0.9, cy + np.sin(a2) * r * 0.85))
        pts.append((cx + r * 1.02, cy - r * 0.05))
        pen.poly(pts, col)
        return
    # short / long / bob / bun / pigtails: a cap over the top half with a side-swept fringe
    side_y = {"bob": r * 0.75, "long": r * 0.5}.get(style, r * 0.05)
    cap = [(cx - r * 1.05, cy + side_y)]
    cap += [(cx + np.cos(a) * r * 1.07, cy + np.sin(a) * r * 1.07) for a in np.linspace(np.pi, 2 * np.pi, 18)]
    cap += [(cx + r * 1.05, cy + side_y),
            (cx + r * 0.75, cy - r * 0.05), (cx + r * 0.1, cy - r * 0.42), (cx - r * 0.5, cy - r * 0.2),
            (cx - r * 0.85, cy + r * 0.05)]
    pen.poly(cap, col)
    if style == "bun":
        pen.circle(cx, cy - r * 1.15, r * 0.42, col)
    if style == "pigtails":
        for side in (-1, 1):
            pen.circle(cx + side * r * 0.95, cy - r * 0.35, r * 0.16, rgba(accent))


def _headwear(pen: Pen, look: Look, role: str, cx, cy, r, cloth: RGB, accent: RGB) -> None:
    top = cy - r
    if role in ("witch", "wizard"):
        hat = cloth if role == "witch" else mix(cloth, (60, 60, 150), 0.5)
        pen.ellipse(cx, top + r * 0.15, r * 1.6, r * 0.32, rgba(hat))
        pen.poly([(cx - r * 0.95, top + r * 0.12), (cx + r * 0.95, top + r * 0.12), (cx + r * 0.35, top - r * 1.5),
                  (cx - r * 0.15, top - r * 1.85)], rgba(hat))
        pen.line([(cx - r * 0.85, top - r * 0.05), (cx + r * 0.85, top - r * 0.05)], rgba(accent), 2.0, round_ends=False)
    elif role == "knight":
        pen.circle(cx, cy - r * 0.05, r * 1.08, (200, 206, 218, 255))
        pen.rect(cx - r * 0.8, cy - r * 0.02, cx + r * 0.8, cy + r * 0.2, (40, 44, 54, 255), radius=1)
        pen.line([(cx, top - r * 0.1), (cx - r * 0.5, top - r * 0.9), (cx - r * 1.0, top - r * 0.6)], rgba(accent), 3.0)
    elif role in ("keeper", "sailor", "fisherman", "captain"):
        cap = (40, 52, 92) if role != "fisherman" else (236, 196, 60)
        pen.rect(cx - r * 0.95, top - r * 0.3, cx + r * 0.95, top + r * 0.45, rgba(cap), radius=r * 0.4)
        pen.rect(cx - r * 1.15, top + r * 0.3, cx + r * 1.15, top + r * 0.52, rgba(shade(cap, 0.7)), radius=1.5)
    elif role in ("king", "queen", "prince", "princess") or look.has("crown", "tiara"):
        gold = (240, 196, 60, 255)
        pts = [(cx - r * 0.7, top + r * 0.25), (cx - r * 0.75, top - r * 0.45), (cx - r * 0.35, top - r * 0.05),
               (cx, top - r * 0.6), (cx + r * 0.35, top - r * 0.05), (cx + r * 0.75, top - r * 0.45), (cx + r * 0.7, top + r * 0.25)]
        pen.poly(pts, gold)
    elif role in ("chef", "baker", "cook"):
        white = (252, 252, 250, 255)
        for dx in (-0.5, 0.0, 0.5):
            pen.circle(cx + dx * r, top - r * 0.45, r * 0.5, white)
        pen.rect(cx - r * 0.75, top - r * 0.35, cx + r * 0.75, top + r * 0.25, white, radius=1)
    elif role == "pirate":
        pen.poly([(cx - r * 1.05, top + r * 0.4), (cx - r * 0.8, top - r * 0.2), (cx + r * 0.8, top - r * 0.2),
                  (cx + r * 1.05, top + r * 0.4)], rgba((200, 40, 40)))
    elif role == "astronaut":
        pen.ellipse(cx - r * 0.55, cy - r * 0.65, r * 0.25, r * 0.15, (255, 255, 255, 200), outline=False)
    elif look.has("hat", "cap", "beanie", "bonnet", "hood"):
        pen.rect(cx - r * 0.95, top - r * 0.35, cx + r * 0.95, top + r * 0.4, rgba(accent), radius=r * 0.5)
        if look.has("beanie", "bobble", "woolly"):
            pen.circle(cx, top - r * 0.45, r * 0.25, rgba(shade(accent, 1.4)))
