"""`storyteller eval DIR`: ViStoryBench-style consistency metrics for a finished story folder.

Metrics (mean over pairs, measured the way the consistency gate measures them: the embedder's
character measure and "style" view when it has them, cosine similarity otherwise):

* character identification, self: a character's illustrations compared with each other;
  cross: a character's illustrations compared with its reference images;
* style, self: all illustrations compared with each other; cross: illustrations vs the story's
  reference images (character references, user photos);
* text-image alignment: page text vs illustration; only with an image embedder that has a text
  tower (CLIP/SigLIP), else None with the reason;
* on-stage character count: faces found by OpenCV's Haar cascades (human and cat faces) vs the
  page's on-stage characters; None where nothing at all is detected (e.g. drawn storyboard figures);
* text-beat similarity (when a text embedder is given): page text vs the plan's beat for it;
* the gate's record: how many pages were retried or kept below threshold, read from provenance.

Differences from ViStoryBench, stated so numbers are not over-read: it crops each character with a
detector and compares face/identity features (and a style model, CSD); here whole illustrations
are compared with the configured embedder, so "character" similarity mixes identity with scene.
A metric that cannot be measured is None with a note, never a default number.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from storyteller.memory.gate import ConsistencyGate, text_tower_reason
from storyteller.memory.index import as_matrix
from storyteller.session import load_story


class CharacterEval(BaseModel):
    slug: str
    name: str
    pages: list[int] = Field(description="Illustrated pages the character is on stage in.")
    references: int = Field(description="Reference images the story holds for it.")
    self_similarity: float | None = None
    cross_similarity: float | None = None


class PageEval(BaseModel):
    page: int
    illustrated: bool
    on_stage: int
    faces_detected: int | None = None
    text_alignment: float | None = None
    text_beat_similarity: float | None = None
    gate_attempts: int | None = None
    gate_passed: bool | None = None


class EvalReport(BaseModel):
    folder: str
    title: str
    pages: int
    illustrated_pages: int
    image_embedder: str
    image_embedder_kind: str
    text_embedder: str | None = None
    character_self: float | None = None
    character_cross: float | None = None
    style_self: float | None = None
    style_cross: float | None = None
    text_alignment: float | None = None
    onstage_count_match: float | None = Field(default=None, description="Share of illustrated pages whose detected count equals the on-stage count.")
    text_beat_similarity: float | None = None
    gate_retried_pages: int | None = None
    gate_failed_pages: int | None = None
    characters: list[CharacterEval] = Field(default_factory=list)
    page_scores: list[PageEval] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def _pairwise_mean(score, vectors: np.ndarray, crowds: list[int]) -> float | None:
    """Mean over page pairs of score(a -> b, characters on b), both directions."""
    if len(vectors) < 2:
        return None
    return _mean(
        (float(score(vectors[i][None], vectors[j], crowds[j])[0]) + float(score(vectors[j][None], vectors[i], crowds[i])[0])) / 2
        for i, j in itertools.combinations(range(len(vectors)), 2)
    )


def _cross_mean(score, references: np.ndarray, vectors: np.ndarray, crowds: list[int]) -> float | None:
    if not len(references) or not len(vectors):
        return None
    return _mean(float(score(references, vectors[j], crowds[j]).mean()) for j in range(len(vectors)))


def _load_image(path: Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalcatface.xml")


def _face_counter():
    """(count(image) -> faces, None), or (None, why not) when no detector is available."""
    try:
        import cv2
    except ImportError:
        from storyteller.install import install_hint

        return None, f"OpenCV is not installed ({install_hint('embedded')})"
    folder = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or ".")
    if not hasattr(cv2, "CascadeClassifier") or not all((folder / name).is_file() for name in _CASCADES):
        # OpenCV 5 moved the Haar cascades out of the main package.
        return None, f"OpenCV {cv2.__version__} ships no Haar cascades (opencv-python-headless<5 does)"
    cascades = [cv2.CascadeClassifier(str(folder / name)) for name in _CASCADES]

    def count(image) -> int:
        grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
        return sum(len(c.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))) for c in cascades)

    return count, None


def evaluate_story(folder: Path | str, image_embedder, text_embedder=None) -> EvalReport:
    folder = Path(folder)
    story = load_story(folder)
    notes: list[str] = []
    report = EvalReport(
        folder=str(folder), title=story.title, pages=len(story.pages), illustrated_pages=0,
        image_embedder=f"{image_embedder.name}:{image_embedder.model_id}",
        image_embedder_kind=getattr(image_embedder, "kind", "neural"),
        text_embedder=None if text_embedder is None else f"{text_embedder.name}:{text_embedder.model_id}",
    )

    # -- illustrations, embedded once ---------------------------------------------------------
    illustrated = [p for p in story.pages if p.illustration is not None and (folder / p.illustration.path).is_file()]
    missing = [p.number for p in story.pages if p.illustration is not None and not (folder / p.illustration.path).is_file()]
    if missing:
        notes.append(f"illustration files missing for pages {missing}")
    images = [_load_image(folder / p.illustration.path) for p in illustrated]
    vectors = as_matrix(image_embedder.embed_images(images)) if images else np.zeros((0, 0), np.float32)
    by_page = {p.number: vectors[i] for i, p in enumerate(illustrated)}
    report.illustrated_pages = len(illustrated)

    # The gate's own measures, so eval and gate agree on what "consistent" means.
    gate = ConsistencyGate(image_embedder)
    crowd = {p.number: max(1, len(p.characters)) for p in illustrated}

    def style_score(references, vector, _crowd):
        return gate.style_scores(references, vector)

    # -- characters: self and cross ---------------------------------------------------------
    all_refs = []
    for character in story.characters:
        pages = [p.number for p in illustrated if character.slug in p.characters]
        ref_paths = [folder / a.path for a in character.reference_assets if (folder / a.path).is_file()]
        refs = as_matrix(image_embedder.embed_images([_load_image(p) for p in ref_paths])) if ref_paths else np.zeros((0, 0))
        if len(refs):
            all_refs.append(refs)
        page_vectors = np.stack([by_page[n] for n in pages]) if pages else np.zeros((0, 0))
        report.characters.append(CharacterEval(
            slug=character.slug, name=character.name, pages=pages, references=len(ref_paths),
            self_similarity=_pairwise_mean(gate.character_scores, page_vectors, [crowd[n] for n in pages]),
            cross_similarity=_cross_mean(gate.character_scores, refs, page_vectors, [crowd[n] for n in pages]),
        ))
    report.character_self = _mean(c.self_similarity for c in report.characters)
    report.character_cross = _mean(c.cross_similarity for c in report.characters)
    if report.character_cross is None:
        notes.append("character cross similarity not measured: no character has reference images")

    # -- style ------------------------------------------------------------------------------
    crowds = [crowd[p.number] for p in illustrated]
    report.style_self = _pairwise_mean(style_score, vectors, crowds)
    photo_paths = [folder / a.path for a in story.assets() if a.kind == "photo" and (folder / a.path).is_file()]
    if photo_paths:
        all_refs.append(as_matrix(image_embedder.embed_images([_load_image(p) for p in photo_paths])))
    if all_refs:
        report.style_cross = _cross_mean(style_score, np.concatenate(all_refs), vectors, crowds)
    else:
        notes.append("style cross similarity not measured: the story has no reference images")

    # -- per page: alignment, counts, beats, gate --------------------------------------------
    reason = text_tower_reason(image_embedder)
    text_vectors = None
    if illustrated and reason is None:
        text_vectors = as_matrix(image_embedder.embed_texts([p.text for p in illustrated]))
    elif illustrated:
        notes.append(f"text-image alignment {reason}")
    beat_sims: dict[int, float] = {}
    if text_embedder is not None:
        with_beats = [p for p in story.pages if 0 < p.number <= len(story.outline)]
        if with_beats:
            page_vecs = as_matrix(text_embedder.embed([p.text for p in with_beats]))
            beat_vecs = as_matrix(text_embedder.embed([story.outline[p.number - 1].beat for p in with_beats]))
            beat_sims = {p.number: round(float(page_vecs[i] @ beat_vecs[i]), 4) for i, p in enumerate(with_beats)}
    count_faces, no_detector = _face_counter() if illustrated else (None, None)
    if no_detector:
        notes.append(f"on-stage character count not measured: {no_detector}")
    index_of = {p.number: i for i, p in enumerate(illustrated)}
    for page in story.pages:
        entry = PageEval(page=page.number, illustrated=page.number in index_of, on_stage=len(page.characters),
                         text_beat_similarity=beat_sims.get(page.number))
        if page.number in index_of:
            i = index_of[page.number]
            if text_vectors is not None:
                entry.text_alignment = round(float(vectors[i] @ text_vectors[i]), 4)
            if count_faces is not None:
                entry.faces_detected = count_faces(images[i])
        consistency = page.illustration.provenance.parameters.get("consistency") if page.illustration else None
        if isinstance(consistency, dict) and consistency.get("attempts"):
            entry.gate_attempts = len(consistency["attempts"])
            entry.gate_passed = bool(consistency.get("passed"))
        report.page_scores.append(entry)

    report.text_alignment = _mean(p.text_alignment for p in report.page_scores)
    report.text_beat_similarity = _mean(p.text_beat_similarity for p in report.page_scores)
    detected = [p for p in report.page_scores if p.faces_detected is not None]
    if detected and any(p.faces_detected for p in detected):
        report.onstage_count_match = round(sum(p.faces_detected == p.on_stage for p in detected) / len(detected), 4)
    elif detected:
        notes.append("on-stage character count not detectable: no face found on any page (Haar cascades find "
                     "photographic human and cat faces, not drawn figures)")
    gated = [p for p in report.page_scores if p.gate_attempts is not None]
    if gated:
        report.gate_retried_pages = sum(p.gate_attempts > 1 for p in gated)
        report.gate_failed_pages = sum(not p.gate_passed for p in gated)
    elif illustrated:
        notes.append("no consistency-gate records in the illustrations' provenance")
    report.notes = notes
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "[dim]not measured[/dim]"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_table(report: EvalReport):
    """A rich Table of the report: the story-level metrics, then one row per character."""
    from rich.table import Table

    table = Table(title=f"{report.title}: {report.illustrated_pages}/{report.pages} pages illustrated",
                  caption=f"image embedder {report.image_embedder} ({report.image_embedder_kind})")
    table.add_column("metric")
    table.add_column("self", justify="right")
    table.add_column("cross", justify="right")
    table.add_row("character identification similarity", _fmt(report.character_self), _fmt(report.character_cross))
    table.add_row("style similarity", _fmt(report.style_self), _fmt(report.style_cross))
    table.add_row("text-image alignment", _fmt(report.text_alignment), "")
    table.add_row("on-stage character count match", _fmt(report.onstage_count_match), "")
    if report.text_embedder is not None:
        table.add_row("page text vs planned beat", _fmt(report.text_beat_similarity), "")
    if report.gate_retried_pages is not None:
        table.add_row("gate: pages retried / below threshold", f"{report.gate_retried_pages} / {report.gate_failed_pages}", "")
    for character in report.characters:
        table.add_row(f"  {character.name} ({len(character.pages)} pages, {character.references} refs)",
                      _fmt(character.self_similarity), _fmt(character.cross_similarity))
    for note in report.notes:
        table.add_row(f"[dim]note: {note}[/dim]", "", "")
    return table
