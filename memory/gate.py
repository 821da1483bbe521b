"""The consistency gate: score an illustration against the story's references, retry if off-model.

Three scores, each a cosine similarity in the image embedder's space:

* character: for each character on stage with a reference set, the mean similarity of the new
  image to that character's references; the gate uses the lowest over the characters;
* style: the mean similarity to the story's style references (a style image, else the first
  illustration);
* text alignment: image vs page text, only when the image embedder has a text tower
  (CLIP/SigLIP); otherwise None and recorded as not measured, never a made-up number.

A score with no reference (the first page; a character's first appearance) is None: nothing to be
consistent with yet. `ConsistencyGate.run` calls `generate(attempt)` up to `max_attempts` times,
stops at the first attempt that passes every measured threshold, and otherwise keeps the attempt
whose worst margin (score - threshold) is highest. `GateResult.to_dict()` is what goes into
`Provenance.parameters["consistency"]`.

Thresholds depend on the embedder: the defaults fit the classical descriptor (where unrelated
photos score ~0.2-0.7 and the same subject re-rendered ~0.9+); CLIP-like embedders need their own
(e.g. text alignment ~0.25).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storyteller.errors import BackendUnavailable, InvalidInput
from storyteller.memory.index import as_matrix

DEFAULT_THRESHOLDS = {"character": 0.80, "style": 0.70, "text": 0.20}


def text_tower_reason(image_embedder) -> str | None:
    """None when the embedder can embed text; otherwise why text alignment is not measured."""
    if getattr(image_embedder, "has_text_tower", True) is False:
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
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
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
              text: str | None = None) -> dict[str, Any]:
        """Scores of one image. `characters`: slug -> reference images or vectors; `style`: same."""
        vector = as_matrix(self.image_embedder.embed_images([getattr(image, "image", image)]))[0]
        per_character: dict[str, float | None] = {}
        for slug, references in (characters or {}).items():
            refs = self._vectors(references)
            per_character[slug] = None if refs is None else round(float((refs @ vector).mean()), 4)
        measured = [s for s in per_character.values() if s is not None]
        style_refs = self._vectors(style)
        style_score = None if style_refs is None else round(float((style_refs @ vector).mean()), 4)
        text_score = self._text_alignment(vector, text)
        scores = {
            "characters": per_character,
            "character": min(measured) if measured else None,
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
        """Generate, score, and retry below threshold; `generate(attempt)` varies seed/conditioning."""
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
