"""HTML export: a reading view that works offline, from a file:// URL, on phone and desktop.

One self-contained file by default (images and narration inlined as data: URIs), or a folder
with index.html next to copies of the assets. Jinja2 renders with autoescape on and no model or
user text is ever marked safe: story text containing `<script>` shows as text. The page loads
nothing from outside itself: a Content-Security-Policy meta tag allows only the inlined style
and script (pinned by sha256) and media from the page itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from urllib.parse import quote

from storyteller import languages
from storyteller.export.source import StorySource
from storyteller.story import Asset, Page, Provenance, Story


TEMPLATES = Path(__file__).parent / "templates"

KIND_LABELS = {
    "neural": "neural model",
    "procedural": "procedural, no neural model",
    "classical": "classical, no neural model",
}


def render(source: StorySource) -> bytes:
    """One self-contained HTML file."""
    return _render(source, inline=True).encode("utf-8")


def write(source: StorySource, path: Path) -> None:
    path.write_bytes(render(source))


def write_folder(source: StorySource, out: Path) -> None:
    """index.html plus the assets at their story-folder paths (images/, audio/)."""
    for asset in source.story.assets():
        target = out / asset.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.data(asset))
    (out / "index.html").write_text(_render(source, inline=False), encoding="utf-8")


# -- rendering ---------------------------------------------------------------------------------
def environment(**options):
    """Jinja over the export templates (the EPUB's too): autoescaped for every template (the .jinja
    suffix would escape nothing under select_autoescape), strict about undefined names."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, **options)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _render(source: StorySource, *, inline: bool) -> str:
    from markupsafe import Markup

    css = (TEMPLATES / "story.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "story.js").read_text(encoding="utf-8")
    # Media from the page itself only: data: URIs when inlined, files beside index.html otherwise.
    media = "data:" if inline else "'self' data:"
    csp = "; ".join(
        [
            "default-src 'none'",
            f"img-src {media}",
            f"media-src {media}",
            f"style-src {_csp_hash(css)}",
            f"script-src {_csp_hash(js)}",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    story = source.story

    def src(asset: Asset) -> str:
        if inline:
            return f"data:{asset.media_type};base64," + base64.b64encode(source.data(asset)).decode("ascii")
        return quote(asset.path)

    pages = []
    for page in story.pages:
        view = {"number": page.number, "id": f"page-{page.number}", "text": page.text, "image": None, "audio": None}
        if page.illustration is not None:
            width, height = _image_size(source, page.illustration)
            view["image"] = {
                "src": src(page.illustration),
                "alt": source.alt_text(page),
                "width": width,
                "height": height,
            }
        view.update(_spoken_text(story, page))
        if page.narration is not None:
            # What a spoken line lights on a photo: its speaker's tag, or the tag of the thing it is about.
            about = [row["about"] for row in view["script"]] if view["script"] else []
            view["audio"] = {
                "src": src(page.narration),
                "duration": source.audio_duration(page.narration),
                "lines": json.dumps([{"start": line.start_s, "end": line.end_s, "speaker": line.speaker or "",
                                      "about": about[i] if i < len(about) else ""}
                                     for i, line in enumerate(page.narration.lines)]),
            }
        view["stage"] = _stage(story, page, view["image"])
        view["heard"] = _heard(page)
        pages.append(view)

    music = [{"src": src(cue.audio), "pages": " ".join(map(str, cue.pages)), "first": cue.pages[0], "last": cue.pages[-1],
              "mood": cue.mood, "key": cue.key, "tempo": cue.tempo} for cue in story.music]

    characters = []
    for character in story.characters:
        references = []
        for i, asset in enumerate(character.reference_assets, 1):
            width, height = _image_size(source, asset)
            references.append(
                {"src": src(asset), "alt": f"Reference image {i} of {character.name}", "width": width, "height": height}
            )
        characters.append(
            {
                "name": character.name,
                "aliases": character.aliases,
                "appearance": character.appearance.describe(),
                "personality": character.personality,
                "looks": (f"{character.expression.expression}, " + ("smiling" if character.expression.smiling else
                          "not smiling" if character.expression.smiling is False else "no face seen")
                          + f" ({character.expression.method})") if character.expression else None,
                "voice": character.voice,
                "references": references,
                "scores": source.consistency_scores(character),
            }
        )

    return (
        environment(keep_trailing_newline=True)
        .get_template("story.html.jinja")
        .render(
            story=story,
            title=source.title,
            pages=pages,
            music=music,
            characters=characters,
            provenance=_provenance_rows(source),
            palette_src=_palette_svg(story.style.palette),
            csp=csp,
            # Our own static files, not model or user text: the only markup marked safe.
            css=Markup(css),
            js=Markup(js),
        )
    )


def _spoken_text(story: Story, page: Page) -> dict:
    """The page text cut into pieces, each spoken line marked with its number, so the reading view
    can highlight the line being narrated. A photo scene's text is its script, one row per line."""
    lines = page.narration.lines if page.narration else []
    located = [ln for ln in lines if ln.offset is not None and page.text[ln.offset:ln.offset + len(ln.text)] == ln.text]
    if page.dialogue:
        script = []
        if page.exchange is not None:  # a conversation page: the reader's words come first
            script.append({"name": languages.get(story.language).photo["reader"], "speaker": "", "tone": "", "text": page.exchange.said, "about": "", "reader": True})
        for line in page.dialogue:
            try:
                name = story.character(line.speaker).name
            except KeyError:
                name = line.speaker
            script.append({"name": name, "speaker": line.speaker, "tone": line.tone, "text": line.text,
                           "about": line.about, "reader": False})
        # A scene's narration speaks its rows in order, one spoken line each.
        for i, row in enumerate(script):
            row["line"] = i if i < len(lines) and lines[i].text == row["text"] else None
        return {"script": script, "pieces": None}
    if len(located) != len(lines) or not lines:  # no timing, or the text was edited since: plain text
        return {"script": None, "pieces": [{"text": page.text, "line": None}]}
    pieces, cursor = [], 0
    for number, line in enumerate(lines):
        if line.offset < cursor:  # overlapping lines cannot be marked; show the text plainly
            return {"script": None, "pieces": [{"text": page.text, "line": None}]}
        if line.offset > cursor:
            pieces.append({"text": page.text[cursor:line.offset], "line": None})
        pieces.append({"text": line.text, "line": number, "speaker": line.speaker or ""})
        cursor = line.offset + len(line.text)
    if cursor < len(page.text):
        pieces.append({"text": page.text[cursor:], "line": None})
    return {"script": None, "pieces": pieces}


def _stage(story: Story, page: Page, image: dict | None) -> dict | None:
    """A photo with the speakers' name tags placed by where they were found in it (SVG, so no
    inline style is needed and the page's Content-Security-Policy stays strict)."""
    if image is None or not image["width"] or page.illustration is None or page.illustration.kind != "photo":
        return None
    width, height = image["width"], image["height"]
    font = max(14, round(max(min(width, height) * 0.05, width * 0.022)))
    tags = []
    for slug in page.characters:
        try:
            character = story.character(slug)
        except KeyError:
            continue
        region = character.photo_region
        if region is None:
            continue
        x, y, w, h = region.x * width, region.y * height, region.w * width, region.h * height
        label_w = font * (0.62 * len(character.name) + 1.0)
        label_y = y - font * 1.5 if y > font * 1.6 else y + font * 0.3
        label_x = min(max(0.0, x), max(0.0, width - label_w))
        tags.append({"slug": slug, "about": "", "name": character.name, "x": round(x, 1), "y": round(y, 1), "w": round(w, 1),
                     "h": round(h, 1), "label_x": round(label_x, 1), "label_y": round(label_y, 1),
                     "label_w": round(label_w, 1), "label_h": round(font * 1.3, 1),
                     "text_x": round(label_x + font * 0.5, 1), "text_y": round(label_y + font * 0.98, 1), "font": font})
    for thing in page.objects:  # a guided scene's things, lit while the guide talks about them
        region = thing.region
        x, y, w, h = region.x * width, region.y * height, region.w * width, region.h * height
        label_w = font * (0.62 * len(thing.name) + 1.0)
        label_y = y + h + font * 0.3 if y + h + font * 1.6 < height else y + font * 0.3
        label_x = min(max(0.0, x), max(0.0, width - label_w))
        tags.append({"slug": "", "about": thing.key, "name": thing.name, "x": round(x, 1), "y": round(y, 1),
                     "w": round(w, 1), "h": round(h, 1), "label_x": round(label_x, 1), "label_y": round(label_y, 1),
                     "label_w": round(label_w, 1), "label_h": round(font * 1.3, 1),
                     "text_x": round(label_x + font * 0.5, 1), "text_y": round(label_y + font * 0.98, 1), "font": font})
    return {"width": width, "height": height, "tags": tags} if tags else None


def _heard(page: Page) -> str | None:
    """How a conversation page's words reached the story, when they were spoken."""
    heard = page.exchange.heard if page.exchange else None
    if heard is None:
        return None
    corrected = heard.parameters.get("corrected")
    return (f"Spoken, heard by {heard.backend} ({heard.model})"
            + (f"; the reader corrected it from “{heard.parameters.get('transcript', '')}”" if corrected else ""))


def _image_size(source: StorySource, asset: Asset) -> tuple[int | None, int | None]:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(source.data(asset))) as image:
            return image.size
    except Exception:  # an undecodable image still gets an <img>; the browser shows its alt text
        return None, None


def _palette_svg(palette: list[str]) -> str | None:
    """The style palette as a strip of swatches, a data: SVG (colours are validated '#rrggbb')."""
    if not palette:
        return None
    rects = "".join(f'<rect x="{i * 24}" width="24" height="24" fill="{c}"/>' for i, c in enumerate(palette))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{24 * len(palette)}" height="24">{rects}</svg>'
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")


def _provenance_rows(source: StorySource) -> list[dict]:
    story = source.story
    rows: list[dict] = []

    def add(label: str, prov: Provenance | None, asset: Asset | None = None) -> None:
        if prov is None:
            return
        rows.append(
            {
                "label": label,
                "backend": prov.backend,
                "model": prov.model,
                "kind": prov.kind,
                "kind_label": KIND_LABELS[prov.kind],
                "seed": prov.seed,
                "duration": prov.duration_s,
                "prompt": prov.prompt,
                "parameters": json.dumps(prov.parameters, ensure_ascii=False, sort_keys=True, default=str)
                if prov.parameters
                else None,
                "file": asset.path if asset else None,
                "sha256": asset.sha256 if asset else None,
                "created_at": prov.created_at.isoformat(timespec="seconds"),
            }
        )

    add("Story plan", story.plan_provenance)
    for character in story.characters:
        for i, asset in enumerate(character.reference_assets, 1):
            add(f"{character.name}: reference image {i}", asset.provenance, asset)
    for page in story.pages:
        add(f"Page {page.number}: text", page.text_provenance)
        if page.illustration:
            add(f"Page {page.number}: illustration", page.illustration.provenance, page.illustration)
        if page.narration:
            add(f"Page {page.number}: narration", page.narration.provenance, page.narration)
    for cue in story.music:
        add(f"Music, pages {cue.pages[0]}-{cue.pages[-1]} ({cue.mood})", cue.audio.provenance, cue.audio)
    return rows
