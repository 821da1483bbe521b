"""Every other kind of figure: seals, turtles, birds, robots, octopuses, fish, snowmen, and
friendly shapes (clouds, kites, buses, anything unknown)."""

from __future__ import annotations

from storyteller.backends.storyboard.beasts import beast_colors
from storyteller.backends.storyboard.colors import INK, hsv, luminance, parse_color, rgba, shade, stable_int
from storyteller.backends.storyboard.pen import BASE, CANVAS_W, Look, Pen, bezier, eye, face, mouth
from storyteller.backends.storyboard.people import ARMS
from storyteller.backends.storyboard.poses import Pose, limb


# The kinds drawn here, with their default colours (used where a figure names fewer colours).
SPECIAL_KINDS = {"seal": ("grey", "silver"), "turtle": ("green", "tan"), "bird": ("blue", "orange"),
                 "owl": ("brown", "cream"), "penguin": ("black", "white"), "duck": ("yellow", "orange"),
                 "chicken": ("white", "red"), "robot": ("silver", "red"), "octopus": ("purple", "pink"),
                 "fish": ("orange", "white"), "snowman": ("white", "red"), "cloud": ("white", "sky"),
                 "kite": ("red", "yellow"), "bus": ("yellow", "red"), "blob": ("lilac", "cream")}


def draw_seal(pen: Pen, look: Look, pose: Pose) -> None:
    main, second, _ = beast_colors(look, SPECIAL_KINDS["seal"])
    cx, base = CANVAS_W / 2 - 6, BASE
    belly = second if second != main else shade(main, 1.4)
    pen.poly([(cx - 44, base - 8), (cx - 52, base - 16), (cx - 46, base - 9), (cx - 54, base - 2), (cx - 40, base - 3)],
             rgba(shade(main, 0.75)))
    body = bezier([(cx - 42, base - 4), (cx - 30, base - 28), (cx + 6, base - 30), (cx + 16, base - 38)], 14)
    body += bezier([(cx + 16, base - 38), (cx + 30, base - 46), (cx + 34, base - 20), (cx + 26, base)], 10)
    body += [(cx - 10, base), (cx - 42, base - 2)]
    pen.poly(body, rgba(main))
    belly_edge = bezier([(cx + 22, base - 30), (cx + 33, base - 18), (cx + 22, base - 1)], 8)
    pen.poly(belly_edge + [(cx, base - 1), (cx + 8, base - 14)], rgba(belly), outline=False)
    for i in range(6):  # spotted coat
        a = stable_int(look.key, "seal", i)
        pen.circle(cx - 30 + a % 40, base - 16 + (a >> 8) % 10, 1.3 + (a >> 16) % 2, rgba(shade(main, 0.7)), outline=False)
    pen.ellipse(cx + 10, base - 6, 9, 4.5, rgba(shade(main, 0.8)))  # front flipper
    hx, hy, R = cx + 26, base - 50, 14
    pen.circle(hx, hy, R, rgba(main))
    pen.ellipse(hx, hy + R * 0.42, R * 0.5, R * 0.34, rgba(belly), outline=False)
    face(pen, hx, hy - R * 0.15, R, gap=0.42, eye_r=0.17, smile=False)
    pen.ellipse(hx, hy + R * 0.26, R * 0.18, R * 0.12, rgba(INK), outline=False)
    for side in (-1, 1):
        for dy in (0.35, 0.5):
            pen.line([(hx + side * R * 0.3, hy + R * dy), (hx + side * R * 1.25, hy + R * (dy - 0.1))], (60, 60, 66, 170), 0.6)


def draw_turtle(pen: Pen, look: Look, pose: Pose) -> None:
    shell, skin, _ = beast_colors(look, SPECIAL_KINDS["turtle"])
    cx, base = CANVAS_W / 2, BASE
    for x in (cx - 18, cx + 14):
        pen.rect(x - 4, base - 12, x + 4, base, rgba(skin), radius=3)
    pen.poly([(cx - 30, base - 10), (cx - 36, base - 6), (cx - 28, base - 6)], rgba(skin))
    pen.draw.pieslice([(cx - 30) * pen.k, (base - 42) * pen.k, (cx + 26) * pen.k, (base - 2) * pen.k], 180, 360,
                      fill=rgba(shell), outline=INK, width=pen.outline_w)
    pen.rect(cx - 31, base - 24, cx + 27, base - 18, rgba(shade(shell, 0.75)), radius=2)
    dark = rgba(shade(shell, 0.7))
    for x in (cx - 18, cx - 2, cx + 14):
        pen.poly([(x - 6, base - 26), (x - 4, base - 34), (x + 4, base - 34), (x + 6, base - 26)], dark, outline=False)
    pen.rect(cx + 20, base - 22, cx + 32, base - 12, rgba(skin), radius=4)
    pen.circle(cx + 36, base - 24, 10, rgba(skin))
    face(pen, cx + 36, base - 25, 10, gap=0.42)


WINGS_UP = {"wave", "fly", "reach", "hug", "point", "hold", "dance", "climb"}  # a wing or flipper raised
NO_FEET = {"sit", "sleep", "swim", "fly", "hide"}                               # feet tucked or under water
BIRD_DROPS = {"sit": 0.16, "sleep": 0.2, "swim": 0.28, "hide": 0.3}


def draw_bird(pen: Pen, look: Look, pose: Pose) -> tuple[float, float]:
    """Birds in `pose`: penguins and owls upright and front-facing, the others side-on facing right.
    Returns the raised wing's tip (where a held thing goes)."""
    kind, action = look.kind, pose.action
    main, second, third = beast_colors(look, SPECIAL_KINDS[kind])
    cx = CANVAS_W / 2
    beak = (240, 150, 40)
    wing_up = action in WINGS_UP
    if kind in ("penguin", "owl"):
        H = 62 if kind == "penguin" else 46
        base = BASE + BIRD_DROPS.get(action, 0.0) * H * 0.5
        tip = (cx + H * 0.45, base - H * 0.75)
        if action not in NO_FEET:
            step = {"walk": 3, "run": 6, "jump": -2}.get(action, 0)
            for side in (-1, 1):
                if kind == "penguin":
                    pen.ellipse(cx + side * (7 + step), BASE - 2, 7, 3, rgba(beak))
                else:
                    pen.line([(cx + side * (4 + step), BASE), (cx + side * 4, BASE - 4)], rgba(beak), 1.8)
        for side in (-1, 1):  # flippers / wings: the front one (+1) rises for waving, flying, reaching
            up = wing_up and (side == 1 or action in ("fly", "hug", "dance"))
            if kind == "penguin":
                shoulder = (cx + side * 15, base - H * 0.62)
                end = (cx + side * 30, base - H * 0.95) if up else (cx + side * 26, base - H * 0.2)
                pen.poly([shoulder, end, (cx + side * 17, base - H * (0.72 if up else 0.3))], rgba(shade(main, 0.9)))
            else:
                ey = base - H * (0.7 if up else 0.42)
                pen.ellipse(cx + side * H * (0.45 if up else 0.33), ey, H * (0.22 if up else 0.1), H * (0.1 if up else 0.25),
                            rgba(shade(main, 0.75)))
                end = (cx + side * H * 0.62, ey)
            if side == 1:
                tip = end
        if kind == "penguin":
            pen.ellipse(cx, base - H * 0.45, H * 0.3, H * 0.43, rgba(main))
            pen.ellipse(cx, base - H * 0.34, H * 0.21, H * 0.3, rgba(second), outline=False)
            pen.ellipse(cx, base - H * 0.78, H * 0.2, H * 0.14, rgba(second), outline=False)
            face(pen, cx, base - H * 0.78, H * 0.2, gap=0.45, smile=False, eye_r=0.16)
            pen.poly([(cx - 4, base - H * 0.73), (cx + 4, base - H * 0.73), (cx, base - H * (0.6 if pen.talking else 0.64))],
                     rgba(beak))
            if look.has("scarf") or len(look.colors) > 2:
                pen.rect(cx - H * 0.24, base - H * 0.66, cx + H * 0.24, base - H * 0.59, rgba(third), radius=2)
            if look.has("bow", "bowtie", "waiter", "café", "cafe"):
                pen.poly([(cx, base - H * 0.6), (cx - 6, base - H * 0.64), (cx - 6, base - H * 0.55), (cx, base - H * 0.59),
                          (cx + 6, base - H * 0.55), (cx + 6, base - H * 0.64)], rgba((210, 50, 50)))
            return tip
        pen.ellipse(cx, base - H * 0.47, H * 0.36, H * 0.47, rgba(main))
        pen.ellipse(cx, base - H * 0.32, H * 0.23, H * 0.28, rgba(second), outline=False)
        for side in (-1, 1):
            pen.poly([(cx + side * H * 0.1, base - H * 0.88), (cx + side * H * 0.3, base - H * 1.08),
                      (cx + side * H * 0.3, base - H * 0.8)], rgba(main))
            pen.circle(cx + side * H * 0.14, base - H * 0.7, H * 0.14, (255, 255, 255, 255))
            eye(pen, cx + side * H * 0.14, base - H * 0.7, H * 0.07, side=side)
        pen.poly([(cx - 3, base - H * 0.62), (cx + 3, base - H * 0.62), (cx, base - H * (0.48 if pen.talking else 0.52))],
                 rgba(beak))
        return tip
    # side-view birds: small birds, ducks, chickens; facing right
    H = 40 if kind in ("duck", "chicken") else 30
    base = BASE
    body_y = base - H * 0.42 + BIRD_DROPS.get(action, 0.0) * H
    if action not in NO_FEET:
        lean = {"walk": 3, "run": 6, "jump": -3}.get(action, 0)
        for side in (-3, 3):
            foot = cx + side + (lean if side > 0 else -lean)
            pen.line([(cx + side, body_y + H * 0.2), (foot, base - 1), (foot + 4, base - 1)], rgba(beak), 1.6)
    pen.poly([(cx - H * 0.35, body_y - H * 0.05), (cx - H * 0.72, body_y - H * 0.28), (cx - H * 0.66, body_y + H * 0.05)],
             rgba(shade(main, 0.8)))
    pen.ellipse(cx, body_y, H * 0.45, H * 0.3, rgba(main))
    tuck = action == "sleep"  # the head sinks into the shoulders
    hx, hy, R = cx + H * (0.22 if tuck else 0.32), body_y - H * (0.22 if tuck else 0.35), H * 0.22
    if kind == "chicken":
        pen.circle(hx - 1, hy - R * 1.05, R * 0.35, rgba(second))
        pen.circle(hx + R * 0.4, hy - R * 1.0, R * 0.3, rgba(second))
    pen.circle(hx, hy, R, rgba(main))
    if kind != "chicken":
        pen.ellipse(cx + H * 0.1, body_y + H * 0.08, H * 0.2, H * 0.13, rgba(second if kind == "bird" else shade(main, 1.3)), outline=False)
    wing = shade(main, 0.8)
    if wing_up:  # a wing raised above the back, its tip forward
        tip = (cx + H * 0.3, body_y - H * 0.85)
        pen.poly([(cx - H * 0.25, body_y - H * 0.1), (cx - H * 0.1, body_y - H * 0.75), tip, (cx + H * 0.12, body_y - H * 0.12)],
                 rgba(wing))
    else:
        tip = (cx + H * 0.2, body_y)
        pen.ellipse(cx - H * 0.05, body_y - H * 0.02, H * 0.26, H * 0.15, rgba(wing))
    eye(pen, hx + R * 0.25, hy - R * 0.15, R * 0.18)
    open_beak = R * 0.25 if pen.talking or pen.expression == "surprised" else 0.0
    if kind == "duck":
        pen.ellipse(hx + R * 1.15, hy + R * 0.25, R * 0.55, R * 0.22, rgba(second if look.color(1, None) else beak))
    else:
        pen.poly([(hx + R * 0.8, hy - R * 0.2 - open_beak), (hx + R * 1.6, hy + R * 0.1), (hx + R * 0.8, hy + R * 0.35 + open_beak)],
                 rgba(beak))
    return tip


def draw_robot(pen: Pen, look: Look, pose: Pose) -> tuple[float, float]:
    """A robot; its arms take a person's pose (wave, point, hold...). Returns the front claw."""
    metal, accent, _ = beast_colors(look, SPECIAL_KINDS["robot"])
    dark = shade(metal, 0.7)
    cx, base = CANVAS_W / 2, BASE
    for side in (-1, 1):  # legs and feet
        pen.rect(cx + side * 8 - 3.5, base - 24, cx + side * 8 + 3.5, base - 4, rgba(dark), radius=1.5)
        pen.rect(cx + side * 8 - 6, base - 6, cx + side * 8 + 6, base, rgba(shade(metal, 0.55)), radius=2)
    claws = {}
    for side in (-1, 1):  # arms with claw hands
        angles = ARMS.get(pose.action, ARMS["stand"])[0 if side == 1 else 1]
        points = limb((cx + side * 16, base - 52), side, angles, (12.0, 11.0))
        pen.stroke(points, rgba(dark), 4)
        pen.circle(points[-1][0], points[-1][1] + 2, 4, rgba(accent))
        claws[side] = points[-1]
    pen.rect(cx - 17, base - 58, cx + 17, base - 22, rgba(metal), radius=5)
    pen.rect(cx - 10, base - 50, cx + 10, base - 34, rgba(shade(metal, 0.85)), radius=2)
    for i, col in enumerate((accent, (90, 200, 120), (250, 210, 60))):
        pen.circle(cx - 6 + i * 6, base - 42, 2.2, rgba(col))
    pen.rect(cx - 3, base - 63, cx + 3, base - 57, rgba(dark), outline=False)
    pen.line([(cx, base - 88), (cx, base - 97)], rgba(INK), 1.4)
    pen.circle(cx, base - 99, 3.2, rgba(accent))
    pen.rect(cx - 16, base - 89, cx + 16, base - 62, rgba(metal), radius=6)
    pen.rect(cx - 12, base - 85, cx + 12, base - 67, (40, 50, 70, 255), radius=4)
    for side in (-1, 1):
        eye(pen, cx + side * 5.5 + pen.gaze * 2, base - 78, 2.8, color=(120, 230, 255), side=side)
        pen.circle(cx + side * 18, base - 75, 2.5, rgba(accent))  # ear bolts
    if pen.talking or pen.expression != "neutral":
        mouth(pen, cx, base - 72, 4.5)
    else:
        pen.arc(cx, base - 73.5, 4.5, 2.8, 20, 160, (120, 230, 255, 255), 1.2)
    if pose.action == "hold":
        return ((claws[-1][0] + claws[1][0]) / 2, (claws[-1][1] + claws[1][1]) / 2)
    return claws[1]


def draw_octopus(pen: Pen, look: Look, pose: Pose) -> None:
    main, second, _ = beast_colors(look, SPECIAL_KINDS["octopus"])
    cx, base = CANVAS_W / 2, BASE
    for i in range(6):
        x0 = cx - 14 + i * 5.6
        dx = (i - 2.5) * 7
        pen.stroke(bezier([(x0, base - 24), (x0 + dx * 0.5, base - 6), (x0 + dx, base), (x0 + dx * 1.35, base - 6)], 12), rgba(main), 4.2)
    pen.ellipse(cx, base - 36, 20, 22, rgba(main))
    for i in range(4):
        pen.circle(cx - 10 + i * 6, base - 46 + (i % 2) * 4, 1.8, rgba(second), outline=False)
    face(pen, cx, base - 30, 16, gap=0.42, eye_r=0.17)


def draw_fish(pen: Pen, look: Look, pose: Pose) -> None:
    main, second, _ = beast_colors(look, SPECIAL_KINDS["fish"])
    cx, base = CANVAS_W / 2, BASE - 8  # fish hover a little
    pen.poly([(cx - 20, base - 16), (cx - 34, base - 28), (cx - 30, base - 16), (cx - 34, base - 4)], rgba(shade(main, 0.85)))
    pen.ellipse(cx, base - 16, 24, 15, rgba(main))
    for i in range(2):
        pen.line([(cx - 6 + i * 9, base - 29), (cx - 8 + i * 9, base - 3)], rgba(second), 3.0)
    pen.poly([(cx - 4, base - 30), (cx + 6, base - 38), (cx + 10, base - 29)], rgba(shade(main, 0.85)))
    pen.circle(cx + 12, base - 19, 4.2, (255, 255, 255, 255))
    eye(pen, cx + 13, base - 19, 2.2)
    pen.arc(cx + 16, base - 12, 4, 2.5, 20, 160, rgba(INK), 1.0)


def draw_snowman(pen: Pen, look: Look, pose: Pose) -> None:
    scarf = look.color(0, parse_color("red")) if look.colors and luminance(look.colors[0]) < 0.9 else look.color(1, parse_color("red"))
    snow = (250, 252, 255, 255)
    cx, base = CANVAS_W / 2, BASE
    pen.circle(cx, base - 20, 20, snow)
    pen.circle(cx, base - 50, 15, snow)
    for side in (-1, 1):
        pen.line([(cx + side * 13, base - 52), (cx + side * 28, base - 62), (cx + side * 32, base - 60)], rgba((110, 76, 50)), 1.8)
    pen.circle(cx, base - 74, 11, snow)
    for i in range(3):
        pen.circle(cx, base - 56 + i * 10 - (12 if i == 2 else 0), 1.6, rgba(INK), outline=False)
    face(pen, cx, base - 76, 11, gap=0.38, smile=True)
    pen.poly([(cx, base - 74), (cx + 11, base - 71), (cx, base - 71.5)], rgba((240, 130, 40)))
    pen.rect(cx - 12, base - 66, cx + 12, base - 61, rgba(scarf), radius=2)
    pen.rect(cx + 4, base - 64, cx + 9, base - 50, rgba(scarf), radius=1.5)
    pen.rect(cx - 12, base - 86, cx + 12, base - 83, rgba((40, 40, 46)), radius=1)
    pen.rect(cx - 8, base - 100, cx + 8, base - 84, rgba((40, 40, 46)), radius=1)


def draw_blob(pen: Pen, look: Look, pose: Pose) -> None:
    """Clouds, kites, buses and anything unknown: friendly shapes with eyes, in their colours."""
    main, second, third = beast_colors(look, SPECIAL_KINDS.get(look.kind, SPECIAL_KINDS["blob"]))
    if look.kind == "blob" and not look.colors:
        main = hsv(stable_int(look.key, look.species, "blob") % 360 / 360, 0.45, 0.9)
        second = shade(main, 1.5)
    cx, base = CANVAS_W / 2, BASE
    if look.kind == "cloud":
        for dx, dy, r in ((-16, -22, 13), (0, -32, 17), (17, -24, 13), (-6, -14, 13), (10, -13, 12)):
            pen.circle(cx + dx, base - 8 + dy, r, rgba(main))
        pen.ellipse(cx, base - 26, 24, 12, rgba(main), outline=False)
        face(pen, cx, base - 32, 14, gap=0.42)
    elif look.kind == "kite":
        pen.line(bezier([(cx, base - 22), (cx - 12, base - 12), (cx + 6, base - 6), (cx - 4, base)], 12), rgba(INK), 0.8)
        for y in (base - 14, base - 6):  # bows on the kite's tail
            pen.poly([(cx - 6, y - 3), (cx - 2, y), (cx - 6, y + 3)], rgba(second))
        pen.poly([(cx, base - 70), (cx + 20, base - 46), (cx, base - 22), (cx - 20, base - 46)], rgba(main))
        pen.poly([(cx, base - 70), (cx + 20, base - 46), (cx, base - 46)], rgba(second), outline=False)
        pen.poly([(cx, base - 46), (cx - 20, base - 46), (cx, base - 22)], rgba(second), outline=False)
        pen.line([(cx, base - 70), (cx, base - 22)], rgba(INK), 0.9)
        pen.line([(cx - 20, base - 46), (cx + 20, base - 46)], rgba(INK), 0.9)
        face(pen, cx, base - 50, 10, gap=0.45)
    elif look.kind == "bus":
        pen.rect(cx - 48, base - 50, cx + 48, base - 8, rgba(main), radius=8)
        for i in range(4):
            pen.rect(cx - 42 + i * 19, base - 44, cx - 28 + i * 19, base - 30, (200, 230, 250, 255), radius=2)
        pen.rect(cx + 34, base - 44, cx + 44, base - 30, (200, 230, 250, 255), radius=2)
        pen.line([(cx - 46, base - 24), (cx + 46, base - 24)], rgba(second), 3.0, round_ends=False)
        for x in (cx - 30, cx + 30):
            pen.circle(x, base - 8, 8, rgba((50, 50, 56)))
            pen.circle(x, base - 8, 3, rgba((190, 190, 196)), outline=False)
        face(pen, cx + 39, base - 37, 8, gap=0.5, blush=False)
    else:  # a gumdrop creature with stubby feet and arms
        for side in (-1, 1):
            pen.ellipse(cx + side * 10, base - 3, 8, 4, rgba(shade(main, 0.7)))
            pen.ellipse(cx + side * 25, base - 26, 5, 8, rgba(main))
        pen.poly(bezier([(cx - 24, base - 4), (cx - 30, base - 62), (cx + 30, base - 62), (cx + 24, base - 4)], 20), rgba(main))
        pen.ellipse(cx, base - 18, 14, 11, rgba(second), outline=False)
        face(pen, cx, base - 40, 18, gap=0.42, eye_r=0.15)
