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
* the gate's record: how many pages were retried or kept below threshold, read from provenance;
* text (`TextEval`, from storyteller.memory.prose): beats that copy an earlier beat (text embedder
  cosine, else shared content words), sentences repeated across pages, distinct-2, premise
  coverage, whether the protagonist is of the premise's kind, share of pages with dialogue,
  reading grade, meta text found;
* with a judge LLM (`storyteller eval --judge`): MM-StoryAgent's story_eval rubric, 1 to 5 each.

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

from storyteller.memory import prose
from storyteller.memory.gate import ConsistencyGate, text_tower_reason
from storyteller.memory.index import as_matrix
from storyteller.session import asset_file, load_story


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
    figures_drawn: int | None = Field(default=None, description="Figures the illustrator says it put in the picture.")


# A beat whose text-embedder cosine with an earlier beat reaches this is a copy of it. Measured on
# all-MiniLM-L6-v2: the two alternating fox beats of the first round ("The fox jumps from the snow
# to the lantern" / "The fox runs through the snow and through the lantern") score 0.83, while
# distinct beats of one story about the same fox and setting score 0.3-0.7.
BEAT_COPY_COSINE = 0.8
# Without a text embedder: the share of content words two beats have in common (Jaccard).
BEAT_COPY_JACCARD = 0.6


class TextEval(BaseModel):
    """How the story reads, measured on its words (see storyteller.memory.prose)."""

    beats: int
    copied_beats: list[list[int]] = Field(default_factory=list, description="[page, earlier page it copies] pairs.")
    beat_max_similarity: float | None = None
    beat_similarity_by: str = Field(description="'text embedder <name>' or 'content-word overlap'.")
    repeated_sentences: list[dict] = Field(default_factory=list, description="{sentence, pages} for each repeat.")
    distinct_2: float | None = None
    premise_coverage: float | None = None
    premise_kinds: list[str] = Field(default_factory=list, description="What the premise says the protagonist is.")
    protagonist: str | None = None
    protagonist_matches_premise: bool | None = None
    dialogue_share: float | None = Field(default=None, description="Share of pages with a quoted line.")
    reading_grade: float | None = Field(default=None, description="Flesch-Kincaid grade of the whole text.")
    words_per_page: float | None = None
    meta_text: list[str] = Field(default_factory=list, description="'page N: habit: phrase' for each find.")


class JudgeScores(BaseModel):
    """A judge LLM's rubric scores (MM-StoryAgent's story_eval dimensions), 1 to 5."""

    judge: str = Field(description="The judge's backend and model, and whether it is the story's own LLM.")
    interest: int
    coherence: int
    education: int
    warmth: int
    reasons: str = ""


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
    onstage_count_score: float | None = Field(
        default=None, description="Share of illustrated pages whose figures drawn (as the illustrator placed or the detector "
                                  "found them) equal the characters on stage: ViStoryBench's OCCM idea, counted not guessed.")
    text_beat_similarity: float | None = None
    gate_retried_pages: int | None = None
    gate_failed_pages: int | None = None
    characters: list[CharacterEval] = Field(default_factory=list)
    page_scores: list[PageEval] = Field(default_factory=list)
    text: TextEval | None = None
    judge: JudgeScores | None = None
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


def copied_beats(beats: list[str], text_embedder=None) -> tuple[list[list[int]], float | None, str]:
    """([page, earlier page] for each beat that copies an earlier one, the highest similarity of
    any two beats, how similarity was measured)."""
    if len(beats) < 2:
        return [], None, "nothing to compare"
    if text_embedder is not None:
        vectors = as_matrix(text_embedder.embed(beats))
        similarity = vectors @ vectors.T
        threshold, by = BEAT_COPY_COSINE, f"text embedder {text_embedder.name}:{text_embedder.model_id}"
    else:
        sets = [set(prose.content_words(b)) for b in beats]
        similarity = np.array([[len(a & b) / max(1, len(a | b)) for b in sets] for a in sets])
        threshold, by = BEAT_COPY_JACCARD, "content-word overlap"
    copies = [[j + 1, int(np.argmax(similarity[j, :j])) + 1] for j in range(1, len(beats))
              if float(similarity[j, :j].max()) >= threshold]
    upper = similarity[np.triu_indices(len(beats), k=1)]
    return copies, round(float(upper.max()), 4), by


def evaluate_text(story, text_embedder=None) -> TextEval:
    """The text section of the report: every measure of storyteller.memory.prose over the story."""
    texts = [p.text for p in story.pages]
    whole = "\n".join(texts)
    beats = [b.beat for b in story.outline]
    copies, max_similarity, by = copied_beats(beats, text_embedder)
    protagonist = None
    if story.bible is not None and any(c.slug == story.bible.protagonist for c in story.characters):
        protagonist = story.character(story.bible.protagonist)
    elif story.characters:
        protagonist = story.characters[0]  # stories before the bible: the planner put the protagonist first
    matches = None
    if protagonist is not None:
        described = [protagonist.appearance.species, protagonist.name, story.bible.kind if story.bible else ""]
        matches = prose.protagonist_matches(story.premise, described)
    meta = [f"page {p.number}: {found}" for p in story.pages for found in prose.meta_text(p.text)]
    return TextEval(
        beats=len(beats), copied_beats=copies, beat_max_similarity=max_similarity, beat_similarity_by=by,
        repeated_sentences=[{"sentence": s, "pages": on} for s, on in prose.repeated_sentences(texts)],
        distinct_2=None if not texts else _round(prose.distinct_n(whole, 2)),
        premise_coverage=prose.premise_coverage(story.premise, whole) if texts else None,
        premise_kinds=prose.premise_kinds(story.premise),
        protagonist=None if protagonist is None else f"{protagonist.name} ({protagonist.appearance.species})",
        protagonist_matches_premise=matches,
        dialogue_share=round(sum(bool(prose.dialogue_lines(t)) for t in texts) / len(texts), 4) if texts else None,
        reading_grade=prose.reading_grade(whole) if texts else None,
        words_per_page=round(len(prose.words(whole)) / len(texts), 1) if texts else None,
        meta_text=meta,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def figures_drawn(asset) -> int | None:
    """How many figures a picture shows, as its provenance records it (storyteller.agent.graph's
    `on_stage`: the illustrator's regions or the detector's), None where it is not recorded."""
    parameters = asset.provenance.parameters if asset is not None else {}
    on_stage = parameters.get("on_stage")
    return on_stage.get("drawn") if isinstance(on_stage, dict) else None


def evaluate_story(folder: Path | str, image_embedder, text_embedder=None, judge=None, judge_label: str = "") -> EvalReport:
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
    illustrated = [p for p in story.pages if p.illustration is not None and asset_file(folder, p.illustration.path).is_file()]
    missing = [p.number for p in story.pages if p.illustration is not None and not (folder / p.illustration.path).is_file()]
    if missing:
        notes.append(f"illustration files missing for pages {missing}")
    images = [_load_image(asset_file(folder, p.illustration.path)) for p in illustrated]
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
        ref_paths = [asset_file(folder, a.path) for a in character.reference_assets if (folder / a.path).is_file()]
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
    photo_paths = [asset_file(folder, a.path) for a in story.assets() if a.kind == "photo" and (folder / a.path).is_file()]
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
        entry.figures_drawn = figures_drawn(page.illustration)
        report.page_scores.append(entry)

    report.text_alignment = _mean(p.text_alignment for p in report.page_scores)
    counted = [p for p in report.page_scores if p.figures_drawn is not None]
    if counted:
        report.onstage_count_score = round(sum(p.figures_drawn == p.on_stage for p in counted) / len(counted), 4)
    elif illustrated:
        notes.append("on-stage count score not measured: the illustrations do not record the figures drawn")
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
    report.text = evaluate_text(story, text_embedder)
    if judge is not None:
        report.judge = judge_story(story, judge, label=judge_label)
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
    table.add_row("on-stage count: figures drawn = characters on stage", _fmt(report.onstage_count_score), "")
    if report.text_embedder is not None:
        table.add_row("page text vs planned beat", _fmt(report.text_beat_similarity), "")
    if report.gate_retried_pages is not None:
        table.add_row("gate: pages retried / below threshold", f"{report.gate_retried_pages} / {report.gate_failed_pages}", "")
    for character in report.characters:
        table.add_row(f"  {character.name} ({len(character.pages)} pages, {character.references} refs)",
                      _fmt(character.self_similarity), _fmt(character.cross_similarity))
    if report.text is not None:
        t = report.text
        table.add_section()
        table.add_row("[b]text[/b]", "", "")
        table.add_row("beats copying an earlier beat", f"{len(t.copied_beats)} of {t.beats}",
                      f"max similarity {_fmt(t.beat_max_similarity)}")
        table.add_row("sentences repeated across pages", str(len(t.repeated_sentences)), "")
        table.add_row("distinct-2", _fmt(t.distinct_2), "")
        table.add_row("premise coverage", _fmt(t.premise_coverage), "")
        table.add_row(f"protagonist of the premise's kind ({', '.join(t.premise_kinds) or '?'})",
                      _fmt(t.protagonist_matches_premise), t.protagonist or "")
        table.add_row("pages with dialogue", _fmt(t.dialogue_share), "")
        table.add_row("reading grade (Flesch-Kincaid)", _fmt(t.reading_grade), f"{_fmt(t.words_per_page)} words/page")
        table.add_row("meta text", str(len(t.meta_text)), "; ".join(t.meta_text)[:60])
    if report.judge is not None:
        j = report.judge
        table.add_section()
        table.add_row(f"[b]judge[/b] {j.judge}", "", "")
        for dimension in ("interest", "coherence", "education", "warmth"):
            table.add_row(f"  {dimension} (1-5)", str(getattr(j, dimension)), "")
    for note in report.notes:
        table.add_row(f"[dim]note: {note}[/dim]", "", "")
    return table


class _Rubric(BaseModel):
    reasons: str = Field(max_length=300)
    interest: int = Field(ge=1, le=5)
    coherence: int = Field(ge=1, le=5)
    education: int = Field(ge=1, le=5)
    warmth: int = Field(ge=1, le=5)


def judge_story(story, judge, *, label: str = "") -> JudgeScores:
    """MM-StoryAgent's story_eval rubric from a judge LLM: reasons first (the scores are then
    decided after the reasons, not before), each dimension 1 to 5 under the grammar. `label` says
    what the judge is (e.g. that it is the story's own LLM, not an independent one)."""
    from storyteller import prompts
    from storyteller.agent.structured import generate_structured

    pages = [f"Page {p.number}: {p.text}" for p in story.pages]
    messages = [
        {"role": "system", "content": prompts.render("judge_system", language=story.language)},
        {"role": "user", "content": prompts.render("judge_user", language=story.language, title=story.title,
                                                   premise=story.premise, pages=pages)},
    ]
    rubric, _, _ = generate_structured(judge, messages, _Rubric, seed=0, temperature=0.0, max_tokens=260)
    name = f"{judge.name}:{judge.model_id}" + (f" ({label})" if label else "")
    return JudgeScores(judge=name, **rubric.model_dump())
