"""A reader's photo: checked, described by the captioner, and copied into the story folder.

The photo is the reader's, and may say more than it shows: where it was taken (GPS), when, with
which camera. By default it is stored without any metadata, its pixels kept exactly
(storyteller.images.without_metadata); `keep_metadata` copies it byte for byte instead. Either
way its asset's provenance is that of its description, with `source` saying where the picture
came from and `metadata` what happened to its metadata. Exports read the stored file, so they
hold what it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyteller.agent.toolbox import Toolbox
from storyteller.session import StoryFolder
from storyteller.story import Asset, Provenance

MAX_DESCRIPTION = 400


@dataclass
class Photo:
    path: Path
    image: Any  # the decoded picture (PIL), upright
    description: str
    provenance: Provenance  # of the description
    suffix: str
    media_type: str

    @property
    def seen(self) -> str:
        """What the photo shows, for an LLM's prompt: the description without the note in
        brackets on how it was made (that stays in provenance; a writer shown it copied it into
        the page)."""
        return re.sub(r"\s*\([^()]*\)\s*$", "", self.description).strip() or self.description


def describe_photo(toolbox: Toolbox, image: str | Path) -> Photo:
    """Check the image (InvalidInput for anything unreadable) and describe it with the captioner."""
    from PIL import Image

    from storyteller.images import load_image

    path = Path(image).expanduser()
    image = load_image(path)  # refuses anything that is not a readable, reasonably sized image
    with Image.open(path) as opened:
        fmt = (opened.format or "PNG").upper()
    result = toolbox.caption.invoke({"image_path": str(path)})
    description = " ".join(result.text.split())[:MAX_DESCRIPTION]
    return Photo(path=path, image=image, description=description, provenance=result.provenance,
                 suffix={"JPEG": ".jpg", "MPO": ".jpg"}.get(fmt, f".{fmt.lower()}"),
                 media_type=Image.MIME.get(fmt, "application/octet-stream"))


def store_photo(folder: StoryFolder, photo: Photo, stem: str, *, keep_metadata: bool = False) -> Asset:
    """Copy the photo into the folder (images/STEM.ext) as a 'photo' asset, without its metadata
    unless `keep_metadata`."""
    from storyteller.images import without_metadata

    provenance = photo.provenance.model_copy(deep=True)
    data, suffix, media_type = photo.path.read_bytes(), photo.suffix, photo.media_type
    if keep_metadata:
        source, metadata = "photo supplied by the reader, copied unchanged", "kept, as asked (--keep-metadata)"
    else:
        data, suffix, media_type, removed = without_metadata(data, photo.image)
        source = "photo supplied by the reader, its pixels kept"
        metadata = "removed: " + (", ".join(removed) if removed else "there was none")
    provenance.parameters.update(source=source, metadata=metadata, original_name=photo.path.name[:200],
                                 description=photo.description)
    return folder.write_asset("photo", stem, data, suffix=suffix, media_type=media_type, provenance=provenance)
