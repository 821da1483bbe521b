"""A story folder opened for export: the validated story plus its verified asset bytes.

Every exporter reads the folder through this one class, so every format gets the same checks:
each asset the story references must exist and match its sha256. A missing or altered file is an
error naming the file, never a silently dropped picture or a page that goes quiet.
"""

from __future__ import annotations

import hashlib
import io
import wave
from dataclasses import dataclass, field
from pathlib import Path

from storyteller.errors import StoryFolderError
from storyteller.session import asset_file, load_story, read_bytes
from storyteller.story import Asset, Character, Page, Story


@dataclass
class StorySource:
    folder: Path
    story: Story
    _data: dict[str, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, folder: Path | str, *, blur_faces: bool = False, music: bool = True) -> StorySource:
        """The folder's story and verified assets; with `blur_faces`, the reader's photos and the
        crops of them are handed out with their faces blurred (the story folder keeps them);
        without `music`, the story as if it had no music."""
        folder = Path(folder)
        source = cls(folder, load_story(folder))
        if not music:
            source.story.music = []
        for asset in source.story.assets():
            source._data[asset.path] = source._read_verified(asset)
        if blur_faces:
            source._blur_faces()
        return source

    def _blur_faces(self) -> None:
        """Faces where the photo scene recorded them, and wherever OpenCV's face cascades find one
        (classical), in every photo and every crop of one."""
        from PIL import Image

        from storyteller.images import blurred, face_boxes

        recorded = [(r.x, r.y, r.x + r.w, r.y + r.h) for c in self.story.characters
                    if c.expression and (r := c.expression.face)]
        photos = {a.path: a for a in self.story.assets() if a.kind == "photo"}
        crops = {a.path: a for a in self.story.assets() if a.provenance.backend == "photo-crop"}
        for path, asset in {**photos, **crops}.items():
            with Image.open(io.BytesIO(self._data[path])) as opened:
                fmt = opened.format or "PNG"
                image = opened.convert("RGB")
            boxes = face_boxes(image)
            if path in photos:
                boxes += recorded
            else:  # a crop: the recorded faces, moved into the crop's own fractions
                x0, y0, x1, y1 = asset.provenance.parameters.get("box", (0, 0, 1, 1))
                margin = asset.provenance.parameters.get("margin", 0.0)
                dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
                left, top = max(0.0, x0 - dx), max(0.0, y0 - dy)
                width, height = min(1.0, x1 + dx) - left, min(1.0, y1 + dy) - top
                boxes += [((a - left) / width, (b - top) / height, (c - left) / width, (d - top) / height)
                          for a, b, c, d in recorded if c > left and a < left + width and d > top and b < top + height]
            buffer = io.BytesIO()
            blurred(image, boxes).save(buffer, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
            self._data[path] = buffer.getvalue()

    def _read_verified(self, asset: Asset) -> bytes:
        path = asset_file(self.folder, asset.path)
        data = read_bytes(path, missing=StoryFolderError(
            f"{path} is referenced by story.json ({asset.kind}) but does not exist",
            fix="restore the file from a backup, or regenerate that page"))
        digest = hashlib.sha256(data).hexdigest()
        if digest != asset.sha256:
            raise StoryFolderError(
                f"{path} does not match story.json (sha256 {digest[:12]}…, expected {asset.sha256[:12]}…): "
                "the file was changed or corrupted after it was made",
                fix="restore the original file, or regenerate that page",
            )
        return data

    @property
    def title(self) -> str:
        """The title to show; a story may not have one yet, and a book or page needs one."""
        return self.story.title.strip() or "Untitled story"

    def data(self, asset: Asset) -> bytes:
        return self._data[asset.path]

    def audio_duration(self, asset: Asset) -> float:
        """Seconds of a WAV narration, read from its header."""
        try:
            with wave.open(io.BytesIO(self.data(asset))) as wav:
                return wav.getnframes() / float(wav.getframerate())
        except (wave.Error, EOFError) as exc:
            raise StoryFolderError(
                f"{self.folder / asset.path} is not a readable PCM WAV file: {exc}",
                fix="regenerate the narration for that page",
            ) from exc

    def character_names(self, page: Page) -> list[str]:
        """Names of the characters on a page; an unknown slug is shown as written, not dropped."""
        names = []
        for slug in page.characters:
            try:
                names.append(self.story.character(slug).name)
            except KeyError:
                names.append(slug)
        return names

    def alt_text(self, page: Page) -> str:
        names = self.character_names(page)
        text = f"Illustration for page {page.number}: {page.scene.strip().rstrip('.')}."
        if names:
            text += " Characters: " + ", ".join(names) + "."
        return text

    def consistency_scores(self, character: Character) -> list[tuple[int, float]]:
        """(page, score) pairs for this character: the consistency gate's score of the attempt it
        kept, from `provenance.parameters["consistency"]` (see storyteller.memory.gate.GateResult)."""
        scores = []
        for page in self.story.pages:
            if page.illustration is None or character.slug not in page.characters:
                continue
            verdict = page.illustration.provenance.parameters.get("consistency")
            if not isinstance(verdict, dict) or not verdict.get("attempts"):
                continue
            kept = verdict["attempts"][verdict.get("chosen_attempt", 0)]
            score = (kept.get("characters") or {}).get(character.slug)
            if isinstance(score, (int, float)) and not isinstance(score, bool):
                scores.append((page.number, float(score)))
        return scores
