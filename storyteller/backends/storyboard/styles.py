"""Style treatments: watercolor, pencil, crayon, pixel art, ink, oil, or the flat picture-book look.

Each works on the finished scene (figures included) with numpy and Pillow filters; text is
drawn afterwards so it stays crisp. All noise is seeded from the request seed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from storyteller.backends.storyboard.colors import INK, RGB, stable_int
from storyteller.staging import words as tokens


def style_treatment(style: str) -> str:
    """The treatment a style text asks for; unknown styles get the flat picture-book look."""
    words = set(tokens(style or ""))
    text = (style or "").lower()
    for treatment, keys in (("pixel", ("pixel", "8", "bit", "retro", "voxel", "sprite")),
                            ("watercolor", ("watercolor", "watercolour", "aquarelle", "wash", "watercolors")),
                            ("pencil", ("pencil", "sketch", "graphite", "charcoal", "sketchy", "sketched")),
                            ("crayon", ("crayon", "crayons", "pastel", "chalk", "oilpastel")),
                            ("ink", ("ink", "comic", "manga", "lineart", "cartoon", "inked", "outline", "graphic")),
                            ("oil", ("oil", "painterly", "gouache", "acrylic", "impasto", "painting", "painted"))):
        if words & set(keys) or (treatment == "pixel" and ("8-bit" in text or "pixel" in text)) \
                or (treatment == "ink" and "line art" in text):
            return treatment
    return "flat"


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled bicubically."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = Image.fromarray((rng.random((gh, gw)) * 255).astype(np.uint8), "L")
    return np.asarray(grid.resize((w, h), Image.BICUBIC), dtype=np.float32) / 255.0


def _luma(arr: np.ndarray) -> np.ndarray:
    return arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114


def _to_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")


def style_watercolor(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    # Bleeding edges: displace pixels along a smooth random field, so edges wander like wet paint.
    amp = max(1.0, w / 320)
    dx = (_smooth_noise(rng, h, w, w / 40) - 0.5) * 2 * amp
    dy = (_smooth_noise(rng, h, w, w / 40) - 0.5) * 2 * amp
    yy, xx = np.mgrid[0:h, 0:w]
    src = np.asarray(image, dtype=np.float32)
    arr = src[np.clip((yy + dy).astype(int), 0, h - 1), np.clip((xx + dx).astype(int), 0, w - 1)]
    soft = np.asarray(_to_image(arr).filter(ImageFilter.GaussianBlur(max(0.8, w / 600))), dtype=np.float32)
    wide = np.asarray(_to_image(arr).filter(ImageFilter.GaussianBlur(max(2.0, w / 150))), dtype=np.float32)
    # Pigment pools at the edge of a wash: darken where the sharp image is darker than its surroundings.
    edge = np.clip((_luma(wide) - _luma(soft)) / 40.0, 0, 1)[..., None]
    arr = soft * (1 - 0.22 * edge)
    arr = arr * 0.86 + 255 * 0.14  # thin, transparent washes
    blotch = _smooth_noise(rng, h, w, w / 12)[..., None]
    grain = rng.random((h, w), dtype=np.float32)[..., None]
    arr = arr * (0.94 + 0.1 * blotch) * (0.965 + 0.05 * grain)
    paper = np.array([253, 250, 242], np.float32)
    return _to_image(arr * paper / 255.0)


def style_pencil(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    inv_blur = np.asarray(Image.fromarray(255 - gray.astype(np.uint8)).filter(ImageFilter.GaussianBlur(max(1.5, w / 260))),
                          dtype=np.float32)
    dodge = np.clip(gray * 255.0 / np.maximum(1.0, 255.0 - inv_blur), 0, 255)  # colour dodge: outlines remain
    lines = dodge ** 3 / 255 ** 2  # darken the strokes
    tone = 0.62 + 0.38 * (gray / 255.0)  # light graphite shading of the areas
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(3, w // 160)
    hatch = ((xx + yy) % period == 0) & (gray < 110)
    cross = ((xx - yy) % period == 0) & (gray < 60)
    out = lines * tone
    out = np.where(hatch | cross, out * 0.72, out)
    grain = rng.random((h, w), dtype=np.float32)
    out = out * (0.95 + 0.06 * grain)
    paper = np.array([250, 248, 240], np.float32) / 255.0
    graphite = np.array([0.96, 0.97, 1.0], np.float32)
    return _to_image(out[..., None] * paper * graphite)


def _streaks(rng: np.random.Generator, h: int, w: int, length: int, width: int, slope: float) -> np.ndarray:
    """A stroke texture: random values constant along short slanted strokes."""
    rows = max(4, int((h + w * abs(slope)) / width) + 2)
    cols = max(4, int(w / length) + 2)
    table = rng.random((rows, cols), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    a = ((yy + xx * slope + w * abs(slope)) / width).astype(int) % rows
    b = ((xx + (yy * 7) % length) / length).astype(int) % cols
    return table[a, b]


def style_crayon(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    image = ImageEnhance.Color(image).enhance(1.25)
    arr = np.asarray(image, dtype=np.float32)
    wax = _streaks(rng, h, w, max(6, w // 60), max(2, w // 300), 0.45)
    paper = np.array([252, 250, 244], np.float32)
    gaps = np.clip((wax - 0.72) / 0.28, 0, 1)[..., None] * 0.75  # paper showing through the wax
    arr = arr * (0.9 + 0.14 * wax[..., None])
    arr = arr * (1 - gaps) + paper * gaps
    edges = np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32)
    edges = np.asarray(Image.fromarray(np.clip(edges * 2, 0, 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)),
                       dtype=np.float32) / 255.0
    arr = arr * (1 - 0.35 * edges[..., None] * (0.6 + 0.4 * wax[..., None]))
    return _to_image(arr)


def style_pixel(image: Image.Image, palette: list[RGB]) -> Image.Image:
    w, h = image.size
    factor = max(2, round(w / 150))
    small = image.resize((max(1, w // factor), max(1, h // factor)), Image.BOX)
    # A retro palette: octree quantising keeps small distinct areas (a penguin's black) that a
    # median cut would merge into the large ones around them.
    small = small.quantize(colors=48, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).convert("RGB")
    return small.resize((w, h), Image.NEAREST)


def style_ink(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Comic ink: punchier flat colours, bold ink lines on the strong edges, halftone dots in shadow."""
    w, h = image.size
    punchy = ImageEnhance.Contrast(ImageEnhance.Color(image).enhance(1.25)).enhance(1.1)
    arr = np.asarray(punchy, dtype=np.float32)
    lum = _luma(np.asarray(image, dtype=np.float32)) / 255.0
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(4, w // 110)
    r = np.clip(0.55 - lum, 0, 1) * period * 0.9  # halftone: dots grow as it gets darker
    dots = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < r**2
    arr = np.where(dots[..., None], arr * 0.72, arr)
    # Lines only where the picture has a real edge (a blurred copy ignores eyes and fine texture).
    edges = np.asarray(image.convert("L").filter(ImageFilter.GaussianBlur(max(0.8, w / 900))).filter(ImageFilter.FIND_EDGES),
                       dtype=np.float32)
    line = np.clip((edges - 18) / 30, 0, 1)
    if w >= 1024:
        line = np.asarray(Image.fromarray((line * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)), dtype=np.float32) / 255
    return _to_image(arr * (1 - 0.85 * line[..., None]) + np.array(INK, np.float32) * 0.85 * line[..., None])


def style_oil(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    dabs = image.filter(ImageFilter.MedianFilter(5 if w < 1200 else 7))
    dabs = ImageEnhance.Color(dabs).enhance(1.2)
    arr = np.asarray(dabs, dtype=np.float32)
    strokes = _streaks(rng, h, w, max(8, w // 40), max(3, w // 200), -0.6)
    relief = strokes - np.roll(strokes, 2, axis=0)  # light from above on the brush ridges
    arr = arr * (1 + 0.09 * relief[..., None]) * (0.96 + 0.06 * strokes[..., None])
    varnish = np.array([1.03, 1.0, 0.92], np.float32)
    return _to_image(arr * varnish)


# The treatments drawn with seeded noise (each from its own generator, seeded by treatment and
# request); pixel art uses none, and flat is the picture as drawn.
_NOISY_STYLES = {"watercolor": style_watercolor, "pencil": style_pencil, "crayon": style_crayon, "ink": style_ink,
                 "oil": style_oil}


def apply_style(image: Image.Image, treatment: str, palette: list[RGB], seed: int) -> Image.Image:
    if treatment == "pixel":
        return style_pixel(image, palette)
    style = _NOISY_STYLES.get(treatment)
    if style is None:
        return image
    return style(image, np.random.default_rng(stable_int("style", treatment, seed)))
