"""Picture search over a story: the pages whose pictures match words, or another picture.

Words are matched against the pictures themselves (CLIP's text tower: the text and the images
share one space) when the image embedder has a text tower. Without one (the embedded default's
classical embedder sees only pixels) the words are matched against what each page says with the
text embedder, and every hit says so: it found the page by its words, not by its picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storyteller.requests import FindPictures
from storyteller.session import asset_file, load_story

if TYPE_CHECKING:
    from storyteller.agent.toolbox import Toolbox

# How each hit was found (what `PictureHit.method` says).
BY_PICTURE = "the picture itself (text-image embedding)"
BY_WORDS = "the page's words (text embedding: the image embedder has no text tower)"
BY_IMAGE = "picture similarity (image embedding)"


@dataclass(frozen=True)
class PictureHit:
    page: int
    image: str        # the illustration, relative to the story folder
    score: float      # cosine similarity in the space it was found in
    method: str       # BY_PICTURE, BY_WORDS or BY_IMAGE
    text: str         # the page's first words, to recognise it by


def _memory(toolbox: Toolbox, folder):
    """The story at `folder` and its memory, opened to read (no lock: nothing is written)."""
    from storyteller.memory import Memory

    story = load_story(folder)
    return story, Memory.open(folder, toolbox.backend("text_embedder"), toolbox.backend("image_embedder"), story=story)


def find_pictures(toolbox: Toolbox, request: FindPictures) -> list[PictureHit]:
    """The `request.k` best pages for the request's words or picture, best first (read only)."""
    from storyteller.images import load_image

    story, memory = _memory(toolbox, request.folder)
    image_embedder = memory.image_embedder
    if request.image is not None:
        hits, method = memory.search_image(load_image(request.image), request.k * 2, types=["illustration"]), BY_IMAGE
    elif image_embedder.has_text_tower:
        vector = image_embedder.embed_texts([request.query])
        hits, method = memory.search_vector(vector, request.k * 2, space="visual", types=["illustration"]), BY_PICTURE
    else:
        hits, method = memory.search(request.query, request.k * 2, types=["page_summary"]), BY_WORDS
    found: list[PictureHit] = []
    for hit in hits:
        number = hit.record.page
        if not 1 <= number <= len(story.pages) or any(f.page == number for f in found):
            continue
        page = story.pages[number - 1]
        if page.illustration is None or not asset_file(request.folder, page.illustration.path).is_file():
            continue
        found.append(PictureHit(page=number, image=page.illustration.path, score=round(float(hit.score), 4),
                                method=method, text=" ".join(page.text.split()[:12])))
    return found[:request.k]


def describe_hits(hits: list[PictureHit]) -> str:
    if not hits:
        return "no page's picture matches"
    lines = [f"page {h.page} ({h.score:.2f}): {h.image} - {h.text}..." for h in hits]
    return "\n".join(lines) + f"\n(found by {hits[0].method})"


def search_story(toolbox: Toolbox, folder, query: str, k: int = 4) -> list:
    """The memory's text records nearest `query`: pages' text and remembered facts (read only)."""
    return _memory(toolbox, folder)[1].search(query, k, types=["page_summary", "fact", "place", "object"])
