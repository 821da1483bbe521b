"""A reader's photo: checked, described by the captioner, and copied into the story folder.

The photo is the reader's, so it is copied byte for byte (never re-encoded); its asset's
provenance is that of its description, with `source` saying where the picture came from.
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


def store_photo(folder: StoryFolder, photo: Photo, stem: str) -> Asset:
    """Copy the photo into the folder (images/STEM.ext) as a 'photo' asset."""
    provenance = photo.provenance.model_copy(deep=True)
    provenance.parameters.update(source="photo supplied by the reader, copied unchanged",
                                 original_name=photo.path.name[:200], description=photo.description)
    return folder.write_asset("photo", stem, photo.path.read_bytes(), suffix=photo.suffix,
                              media_type=photo.media_type, provenance=provenance)
