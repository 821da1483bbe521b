"""A classical (non-neural) image descriptor for the image-embedder role.

No CLIP/SigLIP weights can be had offline here, so the embedded default describes an image with
hand-made features instead, and says so (kind = "classical"). The vector is four L2-normalised
blocks, weighted and concatenated, so the cosine similarity of two images is

    0.35 subject colours + 0.30 colour histogram + 0.20 colour layout + 0.15 edges

* subject colours: the colour histogram of the pixels that stand out from the image border's main
  colours (a classical foreground estimate), so a character's coat changing colour counts even
  when the background fills most of the picture;
* colour histogram: joint HSV histogram (12 hues x 2 saturations x 3 values, plus 4 grey levels
  for unsaturated pixels), square-rooted so the dot product is the Bhattacharyya coefficient;
* colour layout: the mean CIE Lab colour of each cell of a 4x4 grid, centred, so the block tells
  *where* colours are (a red coat at the bottom vs a red sky);
* edges: a HOG-like histogram of unsigned gradient orientations (9 bins) over a 2x2 grid and the
  whole image, magnitude-weighted.

What it can measure: palette, colour placement and coarse texture, which is what drifts when a
character's clothes or the style's palette change between pages. What it cannot: identity of a
face, pose-invariant likeness, or anything about text: it has no text tower, so text-image
alignment needs a CLIP/SigLIP image embedder and is reported as "not measured" with this one.
"""

from __future__ import annotations

from storyteller.backends.base import BackendOptions, ImageEmbedderBackend
from storyteller.errors import BackendUnavailable, InvalidInput

SIZE = 96
GRID = 4
HUE_BINS, SAT_BINS, VAL_BINS, GREY_BINS = 12, 2, 3, 4
ORIENT_BINS = 9
WEIGHTS = {"subject": 0.35, "histogram": 0.3, "layout": 0.2, "edges": 0.15}  # shares of the cosine similarity
BORDER = 6  # pixels of the 96x96 thumbnail taken as the background sample


def _unit(vector):
    import numpy as np

    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _srgb_to_lab(rgb):
    """(..., 3) floats in [0, 1] -> CIE Lab (D65)."""
    import numpy as np

    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _foreground_weight(lab):
    """Per-pixel weight in [0, 1]: how far its colour is from every common colour of the border.

    Illustrations and photos mostly frame their subject; the border shows the background (sky,
    ground, wall). A pixel more than ~30 Delta-E from all of the border's main colours is subject.
    """
    import numpy as np

    border = np.concatenate([lab[:BORDER].reshape(-1, 3), lab[-BORDER:].reshape(-1, 3),
                             lab[:, :BORDER].reshape(-1, 3), lab[:, -BORDER:].reshape(-1, 3)])
    cells = np.floor(border / 12.0).astype(np.int64) + 16  # 12-unit Lab cells, made non-negative
    keys = (cells[:, 0] * 64 + cells[:, 1]) * 64 + cells[:, 2]
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    main = [k for k in np.argsort(-counts)[:8] if counts[k] >= 0.02 * len(border)]
    nearest = np.full(lab.shape[:2], np.inf, dtype=np.float32)
    for k in main:
        representative = border[inverse == k].mean(axis=0)
        nearest = np.minimum(nearest, ((lab - representative) ** 2).sum(axis=-1))
    return np.clip((np.sqrt(nearest) - 10.0) / 20.0, 0.0, 1.0)


def describe_image(image):
    """The descriptor of one PIL image: float32, unit length, `descriptor_dim()` long."""
    import numpy as np
    from PIL import Image

    rgb_image = image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    rgb = np.asarray(rgb_image, dtype=np.float32) / 255.0

    # -- colour histogram (HSV), greys kept apart because their hue is noise ----------------
    hsv = np.asarray(rgb_image.convert("HSV"), dtype=np.float32) / 255.0
    h, s, v = hsv[..., 0].ravel(), hsv[..., 1].ravel(), hsv[..., 2].ravel()
    chromatic = (s >= 0.15) & (v >= 0.12)
    hue = np.minimum((h * HUE_BINS).astype(int), HUE_BINS - 1)
    sat = np.minimum(((s - 0.15) / 0.85 * SAT_BINS).astype(int), SAT_BINS - 1).clip(0)
    val = np.minimum((v * VAL_BINS).astype(int), VAL_BINS - 1)
    colour_bins = (hue * SAT_BINS + sat) * VAL_BINS + val
    grey_bins = HUE_BINS * SAT_BINS * VAL_BINS + np.minimum((v * GREY_BINS).astype(int), GREY_BINS - 1)
    bins = np.where(chromatic, colour_bins, grey_bins)
    histogram = np.bincount(bins, minlength=HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS).astype(np.float32)
    histogram = np.sqrt(histogram / histogram.sum())

    # -- colour layout: mean Lab per grid cell, centred on mid-grey ---------------------------
    lab = _srgb_to_lab(rgb)
    cell = SIZE // GRID
    layout = lab.reshape(GRID, cell, GRID, cell, 3).mean(axis=(1, 3))
    layout = (layout - np.array([50.0, 0.0, 0.0])) / np.array([50.0, 64.0, 64.0])
    layout = layout.ravel()

    # -- edges: HOG-like orientation histograms ----------------------------------------------
    grey = lab[..., 0] / 100.0
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    orientation = np.mod(np.arctan2(gy, gx), np.pi)
    obins = np.minimum((orientation / np.pi * ORIENT_BINS).astype(int), ORIENT_BINS - 1)
    half = SIZE // 2
    edge_blocks = []
    for region in (np.s_[:half, :half], np.s_[:half, half:], np.s_[half:, :half], np.s_[half:, half:], np.s_[:, :]):
        hist = np.bincount(obins[region].ravel(), weights=magnitude[region].ravel(), minlength=ORIENT_BINS)
        edge_blocks.append(_unit(np.sqrt(hist)))
    edges = np.concatenate(edge_blocks)

    # -- subject: colours of what stands out from the border (the background) --------------------
    weight = _foreground_weight(lab)
    subject = np.bincount(bins, weights=weight.ravel(), minlength=histogram.size)
    subject = np.sqrt(subject / subject.sum()) if subject.sum() > 0.01 * weight.size else np.zeros_like(histogram)

    blocks = {"subject": subject, "histogram": histogram, "layout": layout, "edges": edges}
    vector = np.concatenate([np.sqrt(WEIGHTS[name]) * _unit(block.astype(np.float64)) for name, block in blocks.items()])
    return _unit(vector).astype(np.float32)


def _block_slices() -> dict[str, slice]:
    sizes = {"subject": HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS, "histogram": HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS,
             "layout": GRID * GRID * 3, "edges": 5 * ORIENT_BINS}
    slices, start = {}, 0
    for name, size in sizes.items():
        slices[name] = slice(start, start + size)
        start += size
    return slices


# Which blocks each consistency question looks at (see ClassicalImageEmbedder.view).
VIEWS = {"character": ("subject",), "style": ("histogram", "edges")}


def descriptor_dim() -> int:
    return 2 * (HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS) + GRID * GRID * 3 + 5 * ORIENT_BINS


class ClassicalImageEmbedder(ImageEmbedderBackend):
    """Colour histogram + colour layout + edge orientations; no neural model, no text tower."""

    name = "classical"
    kind = "classical"
    has_text_tower = False
    # What the consistency gate should call consistent with this descriptor, measured on storyboard
    # pages (60 random shots per style: settings, times, cameras, actions, 1-3 characters): a
    # character's own pixels (the storyboard's mask) against its sheet's views score 0.41-0.98,
    # mean 0.81, and every page passes 0.5 in watercolor, ink and crayon; the same character
    # recoloured passes on 0-3% of pages. In pencil (greys) a recolour cannot be seen: it passes.
    # Boxes without masks (a detector's) and whole pictures score lower (whole pictures: 0.6-0.75
    # for the same character, about 0.2 recoloured). The gate's defaults are meant for CLIP.
    gate_thresholds = {"character": 0.5}

    class Options(BackendOptions):
        """None: the descriptor is fixed (its layout is versioned in model_id)."""

    @property
    def model_id(self) -> str:
        return "classical:subject+hsv-histogram+lab-layout+hog/v2"

    @property
    def dim(self) -> int:
        return descriptor_dim()

    def embed_images(self, images: list):
        import numpy as np

        for i, image in enumerate(images):
            if not hasattr(image, "convert"):
                raise InvalidInput(f"image {i} is a {type(image).__name__}, not a PIL image")

        def run():
            if not images:
                return np.zeros((0, self.dim), np.float32)
            return np.stack([describe_image(image) for image in images])

        vectors, _ = self.timed("embed_images", run, parameters={"images": len(images)})
        return vectors

    def view(self, vectors, aspect: str):
        """The part of stored descriptors that answers one question, re-normalised.

        "character": the subject-colour block only, so a character on model in a new scene (night
        instead of day) still matches, and the same scene with a recoloured character does not.
        "style": the global colour histogram and edge statistics (palette and texture, not
        composition). Works on vectors already in memory: no image is needed again.
        """
        import numpy as np

        if aspect not in VIEWS:
            raise ValueError(f"unknown view {aspect!r}; views are {', '.join(VIEWS)}")
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        slices = _block_slices()
        part = np.concatenate([vectors[:, slices[name]] for name in VIEWS[aspect]], axis=1)
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        return part / np.where(norms > 0, norms, 1.0)

    def character_similarity(self, references, vector, on_stage: int = 1):
        """How well each reference's subject colours are found in an image with `on_stage` characters.

        Whole-image similarity is diluted when several characters share the picture: a perfect
        Mira next to Pip covers only part of the subject pixels. So this is a containment score on
        the subject-colour histograms p (reference) and q (new image):

            sum_b min(p_b, on_stage * q_b)

        1.0 when the reference's colours make up at least 1/on_stage of the new subject; low when
        the character changed colour. Returns one score per reference row, in [0, 1].
        """
        import numpy as np

        subject = _block_slices()["subject"]
        refs = np.atleast_2d(np.asarray(references, dtype=np.float64))[:, subject]
        new = np.asarray(vector, dtype=np.float64).ravel()[subject]
        # blocks hold sqrt(histogram) scaled by a constant: square and renormalise to get p and q
        p = refs**2 / np.maximum((refs**2).sum(axis=1, keepdims=True), 1e-12)
        q = new**2 / max((new**2).sum(), 1e-12)
        return np.minimum(p, max(1, on_stage) * q[None, :]).sum(axis=1)

    def embed_texts(self, texts: list[str]):
        raise BackendUnavailable(
            "the classical image embedder has no text tower: it describes colours and edges, so it cannot "
            "place text and images in one space, and text-image alignment is not measured with it",
            fix="set image_embedder = \"clip\" (a CLIP/SigLIP model directory) to measure text-image alignment",
        )
