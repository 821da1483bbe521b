"""EPUB 3 export, built by hand: a zip whose layout epubcheck accepts.

Contents: a title page (cover picture, title, premise), one XHTML page per story page (the
illustration, the text, the narration as an <audio> player), and an "About" page (characters and
how every asset was made). Narration is also wired as EPUB 3 media overlays at page granularity:
a reading system that supports read-aloud plays each page's narration and highlights its text.

Narration is transcoded from WAV (not an EPUB core media type) to AAC in MP4 (`audio/mp4`) with
the ffmpeg binary from imageio-ffmpeg. The output is deterministic: same folder, same bytes.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from storyteller.errors import StorytellerError
from storyteller.export.source import StorySource
from storyteller.export.html import TEMPLATES, _provenance_rows, environment
from storyteller.story import Asset

# Characters XML 1.0 forbids; model text could contain them and they would break the book.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CORE_IMAGES = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg"), "GIF": ("image/gif", ".gif")}
ACTIVE_CLASS = "-epub-media-overlay-active"


def write(source: StorySource, path: Path) -> None:
    path.write_bytes(render(source))


def render(source: StorySource) -> bytes:
    story = source.story
    language = story.language  # dc:language and every page's xml:lang
    files: dict[str, bytes] = {}  # path inside OEBPS/ -> bytes
    manifest: list[dict] = []

    def add(path: str, data: bytes, media_type: str, properties: str | None = None) -> dict:
        item = {"id": f"item-{len(manifest) + 1}", "href": quote(path), "media_type": media_type,
                "properties": properties, "media_overlay": None}  # fmt: skip
        files[path] = data
        manifest.append(item)
        return item

    images: dict[str, dict] = {}

    def image(asset: Asset, *, cover: bool = False) -> dict:
        if asset.path not in images:
            data, media_type, suffix = _core_image(source.data(asset))
            path = str(PurePosixPath(asset.path).with_suffix(suffix))
            while path in files:  # a converted x.webp must not overwrite a genuine x.png
                path = str(PurePosixPath(path).with_stem(PurePosixPath(path).stem + "-1"))
            images[asset.path] = add(path, data, media_type, "cover-image" if cover else None)
        return images[asset.path]

    env = _environment()
    modified = max(_utc(t) for t in [story.created_at, *(turn.at for turn in story.history)])
    cover = next((p.illustration for p in story.pages if p.illustration), None)
    if cover is not None:
        image(cover, cover=True)

    title_page = add("title.xhtml", b"", "application/xhtml+xml")
    spine = [title_page]
    pages, overlay_durations = [], []
    narration = _transcode_all(source)
    for page in story.pages:
        name = f"page-{page.number:04d}"
        view = {"number": page.number, "text": page.text, "image": None, "audio": None}
        if page.illustration is not None:
            view["image"] = {"href": image(page.illustration)["href"], "alt": source.alt_text(page)}
        item = add(f"{name}.xhtml", b"", "application/xhtml+xml")
        if page.narration is not None:
            audio = add(f"audio/{name}.m4a", narration[page.number], "audio/mp4")
            duration = source.audio_duration(page.narration)
            view["audio"] = {"href": audio["href"]}
            smil = env.get_template("epub_overlay.smil.jinja").render(
                page_href=item["href"], audio_href=audio["href"], clip_end=_clock(duration)
            )
            overlay = add(f"overlays/{name}.smil", smil.encode("utf-8"), "application/smil+xml")
            item["media_overlay"] = overlay["id"]
            overlay_durations.append((overlay["id"], duration))
        files[f"{name}.xhtml"] = (
            env.get_template("epub_page.xhtml.jinja")
            .render(title=source.title, page=view, language=language)
            .encode("utf-8")
        )
        spine.append(item)
        pages.append({"href": item["href"], "number": page.number})

    characters = []
    for character in story.characters:
        refs = [
            {"href": image(asset)["href"], "alt": f"Reference image {i} of {character.name}"}
            for i, asset in enumerate(character.reference_assets, 1)
        ]
        characters.append(
            {
                "name": character.name,
                "appearance": character.appearance.describe(),
                "personality": character.personality,
                "voice": character.voice,
                "references": refs,
            }
        )
    about = add("about.xhtml", b"", "application/xhtml+xml")
    files["about.xhtml"] = (
        env.get_template("epub_about.xhtml.jinja")
        .render(title=source.title, characters=characters, provenance=_provenance_rows(source), language=language)
        .encode("utf-8")
    )
    spine.append(about)
    files["title.xhtml"] = (
        env.get_template("epub_title.xhtml.jinja")
        .render(story=story, title=source.title, cover=images[cover.path]["href"] if cover else None, language=language)
        .encode("utf-8")
    )
    add("style.css", (TEMPLATES / "epub.css").read_text(encoding="utf-8").encode("utf-8"), "text/css")
    add("nav.xhtml", b"", "application/xhtml+xml", "nav")
    files["nav.xhtml"] = (
        env.get_template("epub_nav.xhtml.jinja")
        .render(
            title=source.title, pages=pages, title_href=title_page["href"], about_href=about["href"], language=language
        )
        .encode("utf-8")
    )

    opf = env.get_template("epub_package.opf.jinja").render(
        story=story,
        title=source.title,
        language=language,
        identifier=_identifier(story),
        modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        manifest=manifest,
        spine=spine,
        overlays=[(oid, _clock(seconds)) for oid, seconds in overlay_durations],
        total_duration=_clock(sum(seconds for _, seconds in overlay_durations)),
        active_class=ACTIVE_CLASS,
    )
    return _zip(files, opf.encode("utf-8"), modified.timetuple()[:6])


def _environment():
    # Runs before escaping: strips characters that would make the XHTML ill-formed.
    return environment(finalize=lambda value: _INVALID_XML.sub("", value) if isinstance(value, str) else value)


def _zip(files: dict[str, bytes], opf: bytes, date_time: tuple) -> bytes:
    date_time = max(date_time, (1980, 1, 1, 0, 0, 0))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:

        def put(name: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> None:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            book.writestr(info, data)

        # The OCF rule: 'mimetype' first, stored uncompressed, so the type can be sniffed at offset 38.
        put("mimetype", b"application/epub+zip", zipfile.ZIP_STORED)
        put("META-INF/container.xml", (TEMPLATES / "epub_container.xml").read_bytes())
        put("OEBPS/content.opf", opf)
        for name in sorted(files):
            # Already-compressed media gain nothing from deflate.
            stored = name.endswith((".png", ".jpg", ".gif", ".m4a"))
            put(f"OEBPS/{name}", files[name], zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _core_image(data: bytes) -> tuple[bytes, str, str]:
    """Image bytes in an EPUB core media type (PNG, JPEG, GIF); anything else becomes PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        if picture.format in _CORE_IMAGES:
            return data, *_CORE_IMAGES[picture.format]
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue(), "image/png", ".png"


def _transcode_all(source: StorySource) -> dict[int, bytes]:
    """Each page's WAV narration as AAC in an MP4 container (an EPUB core audio type)."""
    pages = [p for p in source.story.pages if p.narration is not None]
    if not pages:
        return {}
    from storyteller.export.video import ffmpeg_exe

    ffmpeg = ffmpeg_exe()
    out: dict[int, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="storyteller-epub-") as tmp_name:
        tmp = Path(tmp_name)
        for page in pages:
            wav, m4a = tmp / f"{page.number}.wav", tmp / f"{page.number}.m4a"
            wav.write_bytes(source.data(page.narration))
            command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav),
                       "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                       "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "mp4", str(m4a)]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise StorytellerError(
                    f"ffmpeg could not convert {source.folder / page.narration.path} to AAC: "
                    + result.stderr.strip()[-1000:]
                )
            out[page.number] = m4a.read_bytes()
    return out


def _identifier(story) -> str:
    # Stable across exports of the same story, so a reader keeps its place when the book is updated.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'storyteller:{story.title}:{story.created_at.isoformat()}')}"


def _utc(moment: datetime) -> datetime:
    # A hand-edited story.json may hold naive times: read them as UTC, as the models write them.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _clock(seconds: float) -> str:
    """A SMIL clock value, h:mm:ss.fff."""
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"
