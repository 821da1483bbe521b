"""The consistency gate: score an illustration against the story's references, retry if off-model.

Three scores, each a cosine similarity in the image embedder's space:

* character: for each character on stage with a reference set, the mean score of the new image
  against that character's references; the gate uses the lowest over the characters. The score
  is the embedder's own `character_similarity` when it has one (the classical embedder: how much
  of the reference's subject colours the picture contains, allowing for the other characters on
  stage), else the cosine similarity of the embedder's "character" view (or of the whole vector);
* style: the mean cosine similarity of the "style" view (or whole vector) to the story's style
  references (a style image, else the first illustration);
* text alignment: image vs page text, only when the image embedder has a text tower
  (CLIP/SigLIP); otherwise None and recorded as not measured, never a made-up number.

Where the illustrator says where it put each character (`ImageResult.regions`: the storyboard
placed them, a ControlNet layout put them there, or the detector role found them), each
character's score compares *its own region* of the picture (padded by REGION_PAD so the crop's
border is background) with its references, as if it were alone on stage: a character recoloured,
or two characters swapped, fails even when the page's colours overall are right. A character the
regions do not include scores 0 (it is not in the picture). Without regions, the whole picture is
compared, with the other characters on stage allowed for.

A score with no reference (the first page; a character's first appearance) is None: nothing to be
consistent with yet. `ConsistencyGate.run` calls `generate(attempt)` up to `max_attempts` times,
stops at the first attempt that passes every measured threshold, and otherwise keeps the attempt
whose worst margin (score - threshold) is highest. `GateResult.to_dict()` is what goes into
`Provenance.parameters["consistency"]`.

Thresholds depend on the embedder. The defaults fit the classical descriptor, measured on
storyboard-like scenes: the same character in another scene or beside another character scores
0.87-1.0, the character in another coat colour 0.18-0.20; the same palette scores 0.87-0.94 for
style, a night scene in a daylight story ~0.33. CLIP-like embedders need their own values (text
alignment is typically judged around 0.25-0.30).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storyteller.errors import BackendUnavailable, InvalidInput
from storyteller.memory.index import as_matrix

DEFAULT_THRESHOLDS = {"character": 0.80, "style": 0.60, "text": 0.20}
REGION_PAD = 0.15  # a character's crop reaches this share of its box beyond it on every side


PLAIN = (246, 244, 238)  # the ground a masked figure is put on: the storyboard's sheet colour


def crop_region(image, box, pad: float = REGION_PAD, mask=None):
    """The part of a PIL image inside `box` ((x0, y0, x1, y1) as fractions), padded, clipped to the
    image. With a `mask` (an "L" image of the same size), only the masked pixels are kept, on a
    plain ground: the figure as a sheet shows it, whatever the scene behind it."""
    w, h = image.size
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
    left, top = max(0, int((x0 - dx) * w)), max(0, int((y0 - dy) * h))
    right, bottom = min(w, int(round((x1 + dx) * w))), min(h, int(round((y1 + dy) * h)))
    area = (left, top, max(left + 1, right), max(top + 1, bottom))
    cut = image.convert("RGB").crop(area)
    if mask is None:
        return cut
    from PIL import Image

    return Image.composite(cut, Image.new("RGB", cut.size, PLAIN), mask.crop(area))


def text_tower_reason(image_embedder) -> str | None:
    """None when the embedder can embed text; otherwise why text alignment is not measured."""
    if not image_embedder.has_text_tower:
        return f"not measured: {image_embedder.name} image embedder has no text tower (use a CLIP/SigLIP backend)"
    return None


@dataclass
class GateResult:
    image: Any                      # what generate() returned for the chosen attempt
    attempt: int                    # index of the chosen attempt (0-based)
    passed: bool
    attempts: list[dict[str, Any]]  # every attempt's scores
    thresholds: dict[str, float]
    max_attempts: int
    embedder: str
    notes: list[str] = field(default_factory=list)

    @property
    def scores(self) -> dict[str, Any]:
        return self.attempts[self.attempt]

    def to_dict(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "thresholds": dict(self.thresholds),
            "max_attempts": self.max_attempts,
            "attempts": [dict(a) for a in self.attempts],
            "chosen_attempt": self.attempt,
            "passed": self.passed,
            "notes": list(self.notes),
        }


class ConsistencyGate:
    def __init__(self, image_embedder, thresholds: Mapping[str, float] | None = None, max_attempts: int = 3):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        unknown = set(thresholds or {}) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise ValueError(f"unknown gate thresholds {sorted(unknown)}; known: {sorted(DEFAULT_THRESHOLDS)}")
        self.image_embedder = image_embedder
        # An embedder may say what its scores mean (its own calibration); the user's word is last.
        self.thresholds = {**DEFAULT_THRESHOLDS, **image_embedder.gate_thresholds, **(thresholds or {})}
        self.max_attempts = max_attempts
        self._text_reason = text_tower_reason(image_embedder)

    # -- scoring ---------------------------------------------------------------------------------
    def _vectors(self, items) -> np.ndarray | None:
        """References as vectors: a (n, d) array as is, or images embedded now."""
        if items is None:
            return None
        if isinstance(items, np.ndarray):
            return as_matrix(items) if items.size else None
        items = list(items)
        if not items:
            return None
        if all(isinstance(i, np.ndarray) for i in items):
            return as_matrix(np.stack([np.ravel(i) for i in items]))
        return as_matrix(self.image_embedder.embed_images([getattr(i, "image", i) for i in items]))

    def _view(self, vectors: np.ndarray, aspect: str) -> np.ndarray:
        """The embedder's view of its vectors for one question ("character"/"style"), if it has views."""
        return as_matrix(self.image_embedder.view(vectors, aspect))

    def character_scores(self, references: np.ndarray, vector: np.ndarray, on_stage: int = 1) -> np.ndarray:
        """One score per reference: the embedder's character measure (cosine unless it has its own)."""
        return np.asarray(self.image_embedder.character_similarity(references, vector, on_stage=on_stage),
                          dtype=np.float64)

    def style_scores(self, references: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return self._view(references, "style") @ self._view(vector, "style")[0]

    def _text_alignment(self, image_vector: np.ndarray, text: str | None) -> float | None:
        if not text or self._text_reason is not None:
            return None
        try:
            text_vector = as_matrix(self.image_embedder.embed_texts([text]))
        except BackendUnavailable as exc:  # an embedder that cannot, without saying so up front
            self._text_reason = f"not measured: {exc.message}"
            return None
        return float(image_vector @ text_vector[0])

    def score(self, image, *, characters: Mapping[str, Any] | None = None, style: Any = None,
              text: str | None = None, on_stage: int | None = None) -> dict[str, Any]:
        """Scores of one image (a PIL image, or a result with `.image` and `.regions`: where each
        character is). `characters`: slug -> reference images or vectors (every character on stage,
        with or without references); `style`: the same for the style; `on_stage`: how many
        characters the picture shows (default: len(characters)), for whole-picture scoring."""
        picture = getattr(image, "image", image)
        regions = dict(getattr(image, "regions", None) or {})
        masks = dict(getattr(image, "masks", None) or {})
        vector = as_matrix(self.image_embedder.embed_images([picture]))[0]
        crowd = max(1, on_stage if on_stage is not None else len(characters or {}))
        refs = {slug: self._vectors(references) for slug, references in (characters or {}).items()}
        per_character: dict[str, float | None] = {slug: None for slug in refs}
        if regions:
            found = [slug for slug, r in refs.items() if r is not None and slug in regions]
            crops = [crop_region(picture, regions[slug], mask=masks.get(slug)) for slug in found]
            crop_vectors = as_matrix(self.image_embedder.embed_images(crops)) if crops else None
            for i, slug in enumerate(found):
                per_character[slug] = round(float(self.character_scores(refs[slug], crop_vectors[i], 1).mean()), 4)
            for slug, r in refs.items():
                if r is not None and slug not in regions:
                    per_character[slug] = 0.0  # the picture does not show it
        else:
            for slug, r in refs.items():
                if r is not None:
                    per_character[slug] = round(float(self.character_scores(r, vector, crowd).mean()), 4)
        measured = [s for s in per_character.values() if s is not None]
        style_refs = self._vectors(style)
        style_score = None if style_refs is None else round(float(self.style_scores(style_refs, vector).mean()), 4)
        text_score = self._text_alignment(vector, text)
        scores = {
            "characters": per_character,
            "character": min(measured) if measured else None,
            "character_measure": ("region mask" if masks else "region") if regions else "whole picture",
            "style": style_score,
            "text": None if text_score is None else round(text_score, 4),
        }
        margins = {k: scores[k] - self.thresholds[k] for k in ("character", "style", "text") if scores[k] is not None}
        scores["passed"] = all(m >= 0 for m in margins.values())
        scores["worst_margin"] = round(min(margins.values()), 4) if margins else None
        return scores

    # -- the retry loop --------------------------------------------------------------------------
    def run(self, generate: Callable[[int], Any], *, characters: Mapping[str, Any] | None = None, style: Any = None,
            text: str | None = None) -> GateResult:
        """Generate, score, and retry below threshold; `generate(attempt)` varies seed/conditioning
        and returns an image, or a result with `.image` and `.regions` (scored per region)."""
        character_refs = {slug: self._vectors(refs) for slug, refs in (characters or {}).items()}
        style_refs = self._vectors(style)
        attempts, outputs = [], []
        for attempt in range(self.max_attempts):
            output = generate(attempt)
            if output is None:
                raise InvalidInput(f"generate({attempt}) returned no image")
            scores = {"attempt": attempt, **self.score(output, characters=character_refs, style=style_refs, text=text)}
            attempts.append(scores)
            outputs.append(output)
            if scores["passed"]:
                break
        best = max(range(len(attempts)), key=lambda i: (
            attempts[i]["passed"],
            attempts[i]["worst_margin"] if attempts[i]["worst_margin"] is not None else float("inf"),
            -i,
        ))
        notes = []
        if text and self._text_reason:
            notes.append(f"text alignment {self._text_reason}")
        if all(a["character"] is None for a in attempts) and characters:
            notes.append("character consistency not measured: no reference images yet (first appearance)")
        if all(a["style"] is None for a in attempts):
            notes.append("style consistency not measured: no style reference yet (first illustration)")
        return GateResult(
            image=outputs[best], attempt=best, passed=attempts[best]["passed"], attempts=attempts,
            thresholds=dict(self.thresholds), max_attempts=self.max_attempts,
            embedder=f"{self.image_embedder.name}:{self.image_embedder.model_id}", notes=notes,
        )

    def run_for_page(self, generate: Callable[[int], Any], memory, characters_on_stage: Sequence[str],
                     text: str | None = None) -> GateResult:
        """`run` with the reference sets the story's memory holds (vectors, no re-embedding)."""
        refs = {slug: memory.references(slug) for slug in characters_on_stage}
        return self.run(generate, characters=refs, style=memory.style_references(), text=text)
