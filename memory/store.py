"""The story's memory: two FAISS spaces (text, visual), typed records, the lorebook, persistence.

Layout inside the story folder (written only through `atomic_write_bytes`):

    memory/
      records.json        manifest: format, next id, per-space {file, model, dim, count},
                          character sheets, and every record (type, key, page, text, asset, ...)
      text-<gen>.faiss    the text space (faiss.serialize_index of the space's index, see index.py)
      visual-<gen>.faiss  the visual space

`save()` writes a changed space to a *new* generation file first and `records.json` last, then
deletes files it no longer names. records.json is the commit point: after a crash at any moment
it names index files that exist and match it. On open, a space whose file is missing, does not
match the records, or was made by another embedder model is rebuilt from the records (texts are
kept in the records, images are re-read from their asset paths), so the index can always be
recovered from the story folder.

Every record carries the page it came from (0 = the plan). Undo and branch call
`truncate_to_page(n)`, which removes the ids of later pages from both spaces; `sync(story)` does
that and drops characters the story no longer has. Call `save()` before the session commits the
turn: a crash in between then leaves memory ahead of the story, which `open(..., story=...)` trims.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.memory.index import IVF_THRESHOLD, VectorSpace, as_matrix
from storyteller.memory.records import PLAN_PAGE, RECORD_TYPES, CharacterSheet, MemoryRecord, Space
from storyteller.memory.summary import (
    Summariser,
    TokenCounter,
    approx_tokens,
    extractive_summary,
    summariser_label,
)
from storyteller.session import asset_file, atomic_write_bytes
from storyteller.story import Character, Page, Story, StyleGuide

MEMORY_DIR = "memory"
MANIFEST = "records.json"
FORMAT = 1
_SHEETS = TypeAdapter(dict[str, CharacterSheet])
FACT_TYPES = ("fact", "place", "object", "style")


@dataclass(frozen=True)
class Hit:
    record: MemoryRecord
    score: float  # cosine similarity


def _embedder_id(embedder) -> str | None:
    return None if embedder is None else f"{embedder.name}:{embedder.model_id}"


def _to_pil(image):
    image = getattr(image, "image", image)  # an ImageResult is accepted too
    if isinstance(image, (str, Path)):
        from PIL import Image

        with Image.open(image) as opened:
            return opened.convert("RGB")
    return image


class Memory:
    """Open with `Memory.open(story_root, text_embedder, image_embedder)`; `root=None` keeps it in RAM."""

    def __init__(self, root: Path | str | None, text_embedder, image_embedder=None, *,
                 summarise: Summariser | None = None, ivf_threshold: int = IVF_THRESHOLD):
        self.root = Path(root) if root is not None else None
        self.text_embedder = text_embedder
        self.image_embedder = image_embedder
        self.summarise = summarise or extractive_summary
        self.ivf_threshold = ivf_threshold
        self.records: dict[int, MemoryRecord] = {}
        self.sheets: dict[str, CharacterSheet] = {}
        self.spaces: dict[str, VectorSpace | None] = {"text": None, "visual": None}
        self._next_id = 0
        self._files: dict[str, str | None] = {"text": None, "visual": None}
        self._dirty: set[str] = set()
        self._held: dict[str, dict | None] = {}
        self._meta_dirty = False
        self._lock = threading.RLock()  # illustrate and narrate finish on different threads

    # =========================================================================================
    # opening and saving
    # =========================================================================================
    @property
    def folder(self) -> Path | None:
        return None if self.root is None else self.root / MEMORY_DIR

    @classmethod
    def open(cls, story_root: Path | str, text_embedder, image_embedder=None, *, story: Story | None = None,
             summarise: Summariser | None = None, ivf_threshold: int = IVF_THRESHOLD) -> Memory:
        """Load the memory of a story folder (an empty one if it has none yet).

        With `story`, records of pages the story no longer has are dropped (see `sync`).
        """
        memory = cls(story_root, text_embedder, image_embedder, summarise=summarise, ivf_threshold=ivf_threshold)
        manifest_path = memory.folder / MANIFEST
        if manifest_path.is_file():
            memory._load(manifest_path)
        if story is not None:
            memory.sync(story)
        return memory

    def _load(self, manifest_path: Path) -> None:
        try:
            manifest = json.loads(manifest_path.read_bytes())
            if manifest.get("format") != FORMAT:
                raise ValueError(f"unknown memory format {manifest.get('format')!r}")
            records = [MemoryRecord.from_dict(r) for r in manifest["records"]]
            self.sheets = _SHEETS.validate_python(manifest.get("characters", {}))
            self._next_id = int(manifest["next_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoryFolderError(
                f"{manifest_path} is not a readable memory: {exc}",
                fix=f"delete {manifest_path.parent}, then rebuild it with Memory.rebuild_from_story(story)",
            ) from exc
        self.records = {r.id: r for r in records}
        embedders = {"text": self.text_embedder, "visual": self.image_embedder}
        for space in ("text", "visual"):
            info = manifest.get(space) or {}
            wanted = {r.id for r in records if r.space == space}
            self._files[space] = info.get("file")
            if embedders[space] is None:
                # Opened without an embedder for this space (e.g. text-only): keep its file and
                # manifest entry untouched; it is checked, or rebuilt, when opened with one.
                self._held[space] = info or None
                continue
            loaded = None
            if info.get("file") and info.get("model") == _embedder_id(embedders[space]):
                try:
                    loaded = VectorSpace.read(self.folder / info["file"], ivf_threshold=self.ivf_threshold,
                                              trained_on=int(info.get("trained_on", 0)))
                except Exception:  # missing or damaged file: rebuilt below from the records
                    loaded = None
                if loaded is not None and (len(loaded) != len(wanted) or set(loaded.ids().tolist()) != wanted):
                    loaded = None
            if loaded is not None or not wanted:
                self.spaces[space] = loaded
            else:
                self._rebuild(space)

    def _rebuild(self, space: Space) -> None:
        """Re-embed every record of a space: recovery, or the configured embedder changed."""
        records = [r for r in self.records.values() if r.space == space]
        self.spaces[space] = None
        if space == "text":
            vectors = self._embed_texts([r.text for r in records])
        else:
            images, kept = [], []
            for record in records:
                path = self.root / record.asset if (self.root and record.asset) else None
                if path is not None and path.is_file():
                    images.append(_to_pil(path))
                    kept.append(record)
                else:  # its asset is gone: the record cannot be recovered
                    del self.records[record.id]
            records = kept
            vectors = self._embed_images(images) if images else None
        if records:
            self._space(space, vectors.shape[1]).add([r.id for r in records], vectors)
        self._dirty.add(space)
        self._meta_dirty = True

    def save(self) -> None:
        """Persist changes atomically (no-op for an in-RAM memory or when nothing changed)."""
        if self.root is None:
            return
        with self._lock:
            if not self._dirty and not self._meta_dirty and (self.folder / MANIFEST).is_file():
                return
            folder = self.folder
            for space in sorted(self._dirty):
                index = self.spaces[space]
                if index is None:
                    self._files[space] = None
                    continue
                generation = 1 + max([int(p.stem.split("-")[1]) for p in folder.glob(f"{space}-*.faiss")
                                      if p.stem.split("-")[1].isdigit()], default=0)
                name = f"{space}-{generation}.faiss"
                atomic_write_bytes(folder / name, index.to_bytes(), inside=self.root)
                self._files[space] = name
            embedders = {"text": self.text_embedder, "visual": self.image_embedder}
            manifest: dict[str, Any] = {"format": FORMAT, "next_id": self._next_id}
            for space in ("text", "visual"):
                index = self.spaces[space]
                if index is None and self._held.get(space):
                    manifest[space] = self._held[space]
                    continue
                manifest[space] = None if index is None else {
                    "file": self._files[space], "model": _embedder_id(embedders[space]),
                    "dim": index.dim, "count": len(index), "index": index.kind, "trained_on": index.trained_on,
                }
            manifest["characters"] = {slug: sheet.model_dump() for slug, sheet in self.sheets.items()}
            manifest["records"] = [r.to_dict() for r in self.records.values()]
            atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode(),
                               inside=self.root)
            keep = {f for f in self._files.values() if f}
            for stale in folder.glob("*.faiss"):
                if stale.name not in keep:
                    stale.unlink(missing_ok=True)
            self._dirty.clear()
            self._meta_dirty = False

    # =========================================================================================
    # embedding and low-level adds
    # =========================================================================================
    def _embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return as_matrix(self.text_embedder.embed(list(texts)))

    def _embed_images(self, images: Sequence) -> np.ndarray:
        if self.image_embedder is None:
            raise InvalidInput("this memory has no image embedder, so it cannot hold images")
        return as_matrix(self.image_embedder.embed_images([_to_pil(i) for i in images]))

    def _space(self, space: Space, dim: int) -> VectorSpace:
        index = self.spaces[space]
        if index is None:
            index = self.spaces[space] = VectorSpace(dim, ivf_threshold=self.ivf_threshold)
        return index

    def add_records(self, records: Sequence[dict[str, Any]], vectors) -> list[int]:
        """Add records with precomputed vectors (all of one space). Returns their new ids.

        Each dict holds MemoryRecord fields except `id`. This is the primitive every other add uses;
        it is public for bulk loads and the scale benchmark.
        """
        if not records:
            return []
        matrix = as_matrix(vectors)
        if len(matrix) != len(records):
            raise ValueError(f"{len(records)} records for {len(matrix)} vectors")
        spaces = {r["space"] for r in records}
        if len(spaces) != 1:
            raise ValueError(f"add_records takes records of one space at a time, got {sorted(spaces)}")
        (space,) = spaces
        with self._lock:
            ids = list(range(self._next_id, self._next_id + len(records)))
            built = [MemoryRecord(id=i, **fields) for i, fields in zip(ids, records)]
            self._space(space, matrix.shape[1]).add(ids, matrix)
            self._next_id += len(records)
            for record in built:
                self.records[record.id] = record
            self._dirty.add(space)
            self._meta_dirty = True
        return ids

    # =========================================================================================
    # what the agent adds
    # =========================================================================================
    def add_texts(self, items: Sequence[dict[str, Any]]) -> list[int]:
        """Embed and add text records, one batch: dicts with `text` and `type` (+ key, page, characters)."""
        for item in items:
            if item.get("type") not in RECORD_TYPES:
                raise InvalidInput(f"unknown memory record type {item.get('type')!r}; types are {', '.join(RECORD_TYPES)}")
            if not str(item.get("text", "")).strip():
                raise InvalidInput("a text memory record needs non-empty text")
        vectors = self._embed_texts([i["text"] for i in items]) if items else None
        return self.add_records([{**i, "key": i.get("key") or i["type"], "space": "text"} for i in items], vectors)

    def add_fact(self, text: str, *, type: str = "fact", key: str | None = None, page: int = PLAN_PAGE,
                 characters: Iterable[str] = ()) -> int:
        """A fact, place, object or style note, e.g. add_fact("The lighthouse has a red door", type="place")."""
        return self.add_texts([{"text": text, "type": type, "key": key, "page": page, "characters": list(characters)}])[0]

    def add_character(self, character: Character, *, page: int = PLAN_PAGE, images: Sequence = ()) -> list[int]:
        """Register a lorebook entry: the sheet in the text space, reference images in the visual space.

        `images` are PIL images (or ImageResults / paths); when empty, the character's
        `reference_assets` are read from the story folder. Adding a known slug updates its sheet.
        """
        sheet = CharacterSheet.from_character(character, page=page)
        with self._lock:
            if character.slug in self.sheets:
                self._remove([r.id for r in self.records.values()
                              if r.type == "character" and r.key == character.slug and r.space == "text"])
            self.sheets[character.slug] = sheet
            self._meta_dirty = True
            ids = self.add_texts([{"text": sheet.render(), "type": "character", "key": sheet.slug, "page": page,
                                   "characters": [sheet.slug]}])
            assets: list[str | None] = [None] * len(images)
            if not images and self.image_embedder is not None and self.root is not None:
                found = [(asset_file(self.root, a.path), a.path) for a in character.reference_assets]
                images = [p for p, _ in found if p.is_file()]
                assets = [rel for p, rel in found if p.is_file()]
            if images:
                ids += self.add_reference_images(character.slug, images, assets=assets, page=page)
        return ids

    def add_reference_images(self, slug: str, images: Sequence, *, assets: Sequence[str | None] = (),
                             page: int = PLAN_PAGE) -> list[int]:
        """Add images to a character's visual reference set (what the gate compares against)."""
        if slug not in self.sheets:
            raise InvalidInput(f"no character {slug!r} in memory; add_character first")
        assets = list(assets) or [None] * len(images)
        vectors = self._embed_images(images)
        return self.add_records([{"space": "visual", "type": "character", "key": slug, "page": page, "asset": a,
                                  "characters": [slug]} for a in assets], vectors)

    def add_style(self, style: StyleGuide, *, images: Sequence = (), assets: Sequence[str | None] = ()) -> list[int]:
        """The story's style: its description as a text record; style images as the visual style reference."""
        # Words only: hex palettes mean nothing to a writer, and small models copy them into the story.
        text = f"Style: {style.name}. {style.description}".strip()
        with self._lock:
            self._remove([r.id for r in self.records.values() if r.type == "style" and r.key == "style" and r.page == PLAN_PAGE])
            ids = self.add_texts([{"text": text, "type": "style", "key": "style"}])
            if images:
                assets = list(assets) or [None] * len(images)
                ids += self.add_records([{"space": "visual", "type": "style", "key": "style", "asset": a} for a in assets],
                                        self._embed_images(images))
        return ids

    def add_page(self, page: Page, *, image=None, asset: str | None = None, summary: str | None = None) -> list[int]:
        """Remember a written page: its text and summary; its illustration (if given) in the visual space.

        The first illustration in which a character appears becomes that character's reference when
        it has none, and the first illustration of the story becomes the style reference when no
        style image was given. All of it is scoped to the page, so undo removes it.
        """
        if summary is None:
            summary = self.summarise(page.text)
            method = summariser_label(self.summarise)
        else:
            method = "given"
        with self._lock:
            self._remove([r.id for r in self.records.values() if r.page == page.number and r.type == "page_summary"])
            ids = self.add_texts([{"text": page.text, "summary": summary, "type": "page_summary", "key": f"page-{page.number}",
                                   "page": page.number, "characters": list(page.characters),
                                   "summary_method": method}])
            if image is None and asset is None and page.illustration is not None and self.root is not None:
                asset = page.illustration.path
                path = self.root / asset
                image = path if path.is_file() else None
            if image is not None and self.image_embedder is not None:
                ids += self.add_illustration(page.number, image, asset=asset or (page.illustration.path if page.illustration else None),
                                             characters=page.characters)
        return ids

    def add_illustration(self, page: int, image, *, asset: str | None = None, characters: Iterable[str] = ()) -> list[int]:
        """A page's accepted illustration (see `add_page`). Replaces the page's previous one, and
        the references that were derived from it, so a redrawn page is re-derived cleanly."""
        characters = [c for c in characters]
        vector = self._embed_images([image])
        with self._lock:
            old = [r for r in self.records.values() if r.page == page and r.type == "illustration"]
            old_assets = {r.asset for r in old}
            self._remove([r.id for r in old] + [
                r.id for r in self.records.values()
                if r.page == page and r.space == "visual" and r.type in ("character", "style") and r.asset in old_assets
            ])
            records = [{"space": "visual", "type": "illustration", "key": f"page-{page}", "page": page, "asset": asset,
                        "characters": characters}]
            for slug in characters:
                if slug in self.sheets and not self.reference_ids(slug):
                    records.append({"space": "visual", "type": "character", "key": slug, "page": page, "asset": asset,
                                    "characters": [slug]})
            if not self.style_reference_ids():
                records.append({"space": "visual", "type": "style", "key": "style", "page": page, "asset": asset})
            return self.add_records(records, np.repeat(vector, len(records), axis=0))

    # =========================================================================================
    # undo / branch
    # =========================================================================================
    def forget_images(self, slug: str) -> int:
        """Drop a character's reference images (their look changed: the gate compares with the new ones)."""
        with self._lock:
            return self._remove([r.id for r in self.records.values()
                                 if r.space == "visual" and r.type == "character" and r.key == slug])

    def forget(self, ids: Iterable[int]) -> int:
        """Drop records by id (those it no longer has are skipped); how many went."""
        with self._lock:
            return self._remove([i for i in ids if i in self.records])

    def _remove(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self._lock:
            by_space: dict[str, list[int]] = {"text": [], "visual": []}
            for i in ids:
                record = self.records.pop(i)
                by_space[record.space].append(i)
            for space, space_ids in by_space.items():
                if space_ids and self.spaces[space] is not None:
                    self.spaces[space].remove(space_ids)
                    self._dirty.add(space)
            self._meta_dirty = True
        return len(ids)

    def truncate_to_page(self, last_page: int) -> int:
        """Forget everything that came from pages after `last_page` (0 keeps only the plan)."""
        with self._lock:
            removed = self._remove([r.id for r in self.records.values() if r.page > last_page])
            for slug in [s for s, sheet in self.sheets.items() if sheet.page > last_page]:
                del self.sheets[slug]
                self._meta_dirty = True
        return removed

    def rebuild_from_story(self, story: Story) -> None:
        """Forget everything and re-add what story.json holds: characters (with their reference
        images), the style, and every page with its illustration.

        For a story folder with no (or a damaged) memory. Facts the agent remembered on its own
        (`add_fact`) are not in story.json and do not come back.
        """
        with self._lock:
            self._remove(list(self.records))
            self.sheets.clear()
            self.spaces = {"text": None, "visual": None}
            self._dirty.update(("text", "visual"))
            self._held.clear()
            self._meta_dirty = True
            self.add_style(story.style)
            for character in story.characters:
                self.add_character(character)
            for page in story.pages:
                self.add_page(page)

    def sync(self, story: Story) -> int:
        """Make memory agree with the story: drop later pages' records and unknown characters."""
        last_page = max((p.number for p in story.pages), default=PLAN_PAGE)
        with self._lock:
            removed = self.truncate_to_page(last_page)
            known = {c.slug for c in story.characters}
            gone = [s for s in self.sheets if s not in known]
            removed += self._remove([r.id for r in self.records.values() if r.type == "character" and r.key in gone])
            for slug in gone:
                del self.sheets[slug]
                self._meta_dirty = True
        return removed

    # =========================================================================================
    # retrieval
    # =========================================================================================
    def _search(self, space: Space, vector: np.ndarray, k: int, types: Iterable[str] | None) -> list[Hit]:
        index = self.spaces[space]
        if index is None or k <= 0:
            return []
        types = set(types) if types is not None else None
        fetch = k if types is None else max(4 * k, 64)
        while True:
            scores, ids = index.search(vector, fetch)
            hits = [Hit(self.records[int(i)], float(s)) for s, i in zip(scores[0], ids[0])
                    if i >= 0 and int(i) in self.records and (types is None or self.records[int(i)].type in types)]
            if len(hits) >= k or fetch >= len(index):
                return hits[:k]
            fetch = min(fetch * 4, len(index))

    def search(self, query: str, k: int = 5, *, types: Iterable[str] | None = None) -> list[Hit]:
        """Text records most similar to `query` (cosine), optionally of some types only."""
        if not query.strip():
            return []
        with self._lock:
            if self.spaces["text"] is None:
                return []
            return self._search("text", self._embed_texts([query]), k, types)

    def search_vector(self, vector, k: int = 5, *, space: Space = "text", types: Iterable[str] | None = None) -> list[Hit]:
        with self._lock:
            return self._search(space, as_matrix(vector), k, types)

    def search_image(self, image, k: int = 5, *, types: Iterable[str] | None = None) -> list[Hit]:
        with self._lock:
            if self.spaces["visual"] is None:
                return []
            return self._search("visual", self._embed_images([image]), k, types)

    def mentioned(self, text: str) -> list[str]:
        """Slugs of characters whose name or an alias appears in `text` (whole words, any case)."""
        return [slug for slug, sheet in self.sheets.items() if sheet.mention_pattern().search(text)]

    def characters_for(self, query: str, characters_on_stage: Iterable[str] = (), k: int = 3, *,
                       hits: Sequence[Hit] | None = None) -> list[str]:
        """On stage first, then mentioned by name/alias, then similar by meaning (character sheets).

        `hits` are results of a search already made for `query` (saves embedding it twice)."""
        slugs = [s for s in characters_on_stage if s in self.sheets]
        if hits is None:
            hits = self.search(query, k, types=["character"])
        similar = [h.record.key for h in hits if h.record.type == "character"][:k]
        for slug in self.mentioned(query) + similar:
            if slug not in slugs and slug in self.sheets:
                slugs.append(slug)
        return slugs

    def reference_ids(self, slug: str) -> list[int]:
        return sorted(r.id for r in self.records.values() if r.space == "visual" and r.type == "character" and r.key == slug)

    def style_reference_ids(self) -> list[int]:
        return sorted(r.id for r in self.records.values() if r.space == "visual" and r.type == "style")

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Stored vectors by record id (all of one space), without re-embedding."""
        ids = list(ids)
        if not ids:
            return np.zeros((0, 0), np.float32)
        spaces = {self.records[i].space for i in ids}
        if len(spaces) != 1:
            raise ValueError("vectors() takes ids of one space")
        return self.spaces[spaces.pop()].get(ids)

    def references(self, slug: str) -> np.ndarray:
        """The character's visual reference set as vectors (empty if it has not been seen yet)."""
        return self.vectors(self.reference_ids(slug))

    def style_references(self) -> np.ndarray:
        return self.vectors(self.style_reference_ids())

    def page_records(self) -> list[MemoryRecord]:
        return sorted((r for r in self.records.values() if r.type == "page_summary"), key=lambda r: r.page)

    # =========================================================================================
    # the writer's context
    # =========================================================================================
    def context(self, query: str, characters_on_stage: Iterable[str] = (), budget_tokens: int = 1024, *,
                count_tokens: TokenCounter | None = None, recent_pages: int = 2, k_facts: int = 8) -> str:
        """What the writer (or the illustrator's prompt builder) should know, within `budget_tokens`.

        Filled in three passes, so that detail never crowds out coverage:
          1. essentials, each in its longest form that fits: sheets of the characters on stage
             (full, else one line), then the last `recent_pages` pages (full text, else summary);
          2. coverage, each in its shortest form: characters mentioned by name/alias or similar to
             the query (one line), facts/places/objects/style notes most similar to the query, and
             every older page as a one-sentence headline (most relevant, then most recent, first);
          3. detail: older pages upgraded to their stored summary while the budget allows.
        The whole text is measured with `count_tokens` (default: ~len/4) after every change, so the
        result never exceeds the budget whatever the tokenizer. Pages appear in story order.
        """
        count = count_tokens or approx_tokens
        on_stage = [s for s in characters_on_stage if s in self.sheets]
        with self._lock:
            pages = self.page_records()
            recent = pages[-recent_pages:] if recent_pages > 0 else []
            recent_ids = {r.id for r in recent}
            query_hits = self.search(query, max(k_facts, 16), types=(*FACT_TYPES, "page_summary", "character"))
            others = [s for s in self.characters_for(query, on_stage, k=3, hits=query_hits) if s not in on_stage]
            methods = sorted({r.summary_method for r in pages if r.summary_method})
            pages_header = "Story so far" + (f" (summaries are {'; '.join(methods)}):" if methods else ":")

            # item: (section, sort key, forms from longest to shortest)
            essentials = [("on_stage", i, [self.sheets[s].render(), self.sheets[s].render_short()])
                          for i, s in enumerate(on_stage)]
            essentials += [("pages", r.page, [f"Page {r.page}: {r.text}", self._summary_line(r)]) for r in reversed(recent)]
            facts = [h.record for h in query_hits if h.record.type in FACT_TYPES][:k_facts]
            relevant = [h.record for h in query_hits if h.record.type == "page_summary" and h.record.id not in recent_ids]
            relevant_ids = {r.id for r in relevant}
            older = relevant + [r for r in reversed(pages) if r.id not in recent_ids and r.id not in relevant_ids]
            coverage = [("others", i, [self.sheets[s].render_short()]) for i, s in enumerate(others)]
            coverage += [("facts", i, [f"- {r.text}"]) for i, r in enumerate(facts)]
            coverage += [("pages", r.page, [self._summary_line(r), self._headline(r)]) for r in older]

            chosen: dict[tuple[str, Any], str] = {}

            def fits(item_key, form) -> bool:
                trial = {**chosen, item_key: form}
                return count(self._render_context(trial, pages_header)) <= budget_tokens

            for section, key, forms in essentials:  # pass 1: longest form that fits
                form = next((f for f in forms if fits((section, key), f)), None)
                if form is not None:
                    chosen[(section, key)] = form
            for section, key, forms in coverage:  # pass 2: shortest form that fits
                if fits((section, key), forms[-1]):
                    chosen[(section, key)] = forms[-1]
            for section, key, forms in coverage:  # pass 3: upgrade while the budget allows
                if (section, key) in chosen:
                    for form in forms[:-1]:
                        if fits((section, key), form):
                            chosen[(section, key)] = form
                            break
            return self._render_context(chosen, pages_header)

    def _summary_line(self, record: MemoryRecord) -> str:
        summary = record.summary or extractive_summary(record.text)
        return f"Page {record.page} (summary): {summary}"

    def _headline(self, record: MemoryRecord) -> str:
        return f"Page {record.page} (summary): {extractive_summary(record.summary or record.text, max_chars=80)}"

    def _render_context(self, chosen: dict[tuple[str, Any], str], pages_header: str) -> str:
        headers = {
            "on_stage": "Characters on stage:",
            "others": "Other characters:",
            "facts": "Relevant facts:",
            "pages": pages_header,
        }
        blocks = []
        # Sheets first and facts (which differ with every query) last: successive pages' contexts
        # then start alike, and an LLM server's prompt cache computes that start only once.
        for section in ("on_stage", "others", "pages", "facts"):
            items = sorted((key, text) for (s, key), text in chosen.items() if s == section)
            if items:
                blocks.append("\n".join([headers[section], *(text for _, text in items)]))
        return "\n\n".join(blocks)
