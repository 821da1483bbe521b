"""MP4 export: a narrated slideshow, one scene per page shown exactly as long as its narration,
with the story's music under the narration where it has some (`storyteller score`; export.soundtrack).

H.264 (libx264, yuv420p) + AAC, with the page text twice: burned into the frames below the
picture (readable anywhere) and as a mov_text subtitle track (exact text, selectable in players).
Encoding uses the ffmpeg binary shipped inside the imageio-ffmpeg wheel, never a system ffmpeg.

Long pages are split into caption chunks of at most three lines. Where the narration records its
spoken lines (who says what, when), each line's captions are on screen exactly while it is said,
with the speaker's name; otherwise each chunk stays up for a share of the page's narration
proportional to its length. A photo scene shows the speakers' name tags on the photo, the one
speaking highlighted. A page without narration is shown
silently for a reading time estimated from its length; a page without an illustration shows its
text on a plain background.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from storyteller.errors import BackendUnavailable, StorytellerError
from storyteller import languages
from storyteller.export.source import StorySource
from storyteller.install import install_hint, pip_hint

WIDTH, HEIGHT = 1280, 720
FPS = 12  # a slideshow: pictures change once a page; fewer frames encode ~2x faster
SAMPLE_RATE = 44100
CAPTION_BAND = 200  # pixels under the picture reserved for burned-in captions
CAPTION_LINES = 3
FONT_SIZE = 34
# The subtitle track's language, as MP4 spells it (ISO 639-2).
ISO_639_2 = {"en": "eng", "zh": "zho"}
BACKGROUND = (18, 18, 20)
TEXT_COLOUR = (245, 242, 235)
# Fonts tried for burned-in captions, widest coverage first; Pillow's built-in font is the fallback.
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
]


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise BackendUnavailable(
            "MP4 export needs the ffmpeg binary from the imageio-ffmpeg package, which is not installed",
            fix=install_hint("export"),
        ) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise BackendUnavailable(
            f"imageio-ffmpeg is installed but its ffmpeg binary is missing: {exc}",
            fix=pip_hint("--force-reinstall imageio-ffmpeg"),
        ) from exc


@dataclass
class Chunk:
    text: str
    start: float
    end: float
    speaker: str | None = None  # the character slug speaking, when the narration's lines are known
    about: str = ""  # a guided scene: the key of the thing the line is about (its tag is lit)


@dataclass
class Scene:
    number: int
    image: bytes | None
    audio: bytes | None
    duration: float
    chunks: list[Chunk]
    tags: list[tuple[str, str, tuple[float, float, float, float]]] = ()  # (slug, name, x y w h) on a photo


def reading_seconds(text: str) -> float:
    """How long a silent page stays up: about 2.5 words a second, 3 to 12 s."""
    return min(12.0, max(3.0, len(text.split()) / 2.5))


def plan_scenes(source: StorySource) -> list[Scene]:
    font = _story_font(source.story)
    story = source.story
    scenes, clock = [], 0.0
    for page in story.pages:
        duration = source.audio_duration(page.narration) if page.narration else reading_seconds(page.text)
        lines = page.narration.lines if page.narration else []
        if lines:  # captions follow the spoken lines, each on screen while it is said
            chunks = []
            # A conversation page's first line is the reader's; a guided scene's lines are about things.
            rows = [(languages.get(story.language).photo["reader"], "")] * (page.exchange is not None) + [(None, d.about) for d in page.dialogue]
            for i, line in enumerate(lines):
                end = lines[i + 1].start_s if i + 1 < len(lines) else duration
                reader, about = rows[i] if i < len(rows) else (None, "")
                name = _name(story, line.speaker) or reader
                pieces = _timed(split_captions(f"{name}: {line.text}" if name else line.text, font, WIDTH - 120,
                                               CAPTION_LINES), clock + (line.start_s if i else 0.0), clock + end, line.speaker)
                for chunk in pieces:
                    chunk.about = about
                chunks += pieces
        else:
            chunks = _timed(split_captions(page.text, font, WIDTH - 120, CAPTION_LINES), clock, clock + duration, None)
        chunks[-1].end = clock + duration  # no drift from rounding
        tags = []
        if page.illustration is not None and page.illustration.kind == "photo":
            for character in story.characters:
                region = character.photo_region
                if character.slug in page.characters and region is not None:
                    tags.append((character.slug, character.name, (region.x, region.y, region.w, region.h)))
            for thing in page.objects:
                region = thing.region
                tags.append((f"thing:{thing.key}", thing.name, (region.x, region.y, region.w, region.h)))
        scenes.append(
            Scene(
                number=page.number,
                image=source.data(page.illustration) if page.illustration else None,
                audio=source.data(page.narration) if page.narration else None,
                duration=duration,
                chunks=chunks,
                tags=tags,
            )
        )
        clock += duration
    return scenes


def _name(story, slug: str | None) -> str | None:
    if not slug:
        return None
    try:
        return story.character(slug).name
    except KeyError:
        return None


def _timed(pieces: list[str], start: float, end: float, speaker: str | None) -> list[Chunk]:
    """Pieces of caption sharing [start, end] in proportion to their length."""
    weights = [max(1, len(p)) for p in pieces]
    chunks, t = [], start
    for piece, weight in zip(pieces, weights, strict=True):
        share = (end - start) * weight / sum(weights)
        chunks.append(Chunk(piece, t, t + share, speaker))
        t += share
    chunks[-1].end = end
    return chunks


def write_mp4(source: StorySource, out: Path) -> None:
    ffmpeg = ffmpeg_exe()
    if not source.story.pages:
        raise StorytellerError(f"{source.folder} has no pages to put in a video", fix="write at least one page first")
    scenes = plan_scenes(source)
    total = sum(scene.duration for scene in scenes)
    with tempfile.TemporaryDirectory(prefix="storyteller-mp4-") as tmp_name:
        tmp = Path(tmp_name)
        # Video: one still per caption chunk, held for its duration (ffconcat lists them in order).
        lines = ["ffconcat version 1.0"]
        font = _story_font(source.story)
        for scene in scenes:
            picture = _load_picture(scene.image)
            for i, chunk in enumerate(scene.chunks):
                name = f"page{scene.number:04d}-{i:03d}.png"
                render_frame(picture, chunk.text, font, tags=scene.tags,
                             lit={chunk.speaker, f"thing:{chunk.about}" if chunk.about else None}).save(
                    tmp / name, format="PNG", compress_level=1)
                lines += [f"file '{name}'", f"duration {chunk.end - chunk.start:.6f}"]
        lines.append(lines[-2])  # the concat demuxer ignores the last duration unless the file repeats
        (tmp / "frames.ffconcat").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (tmp / "captions.ass").write_text(ass_subtitles(scenes), encoding="utf-8")

        inputs = ["-f", "concat", "-safe", "0", "-i", str(tmp / "frames.ffconcat")]
        filters, labels = [f"[0:v]fps={FPS},format=yuv420p[v]"], []
        if source.story.music:
            # The story's music under the narration, ducked while someone speaks (export.soundtrack).
            from storyteller.agent.graph import wav_bytes
            from storyteller.export.soundtrack import soundtrack

            story = source.story
            mixed, _ = soundtrack(story, source.data, [(p.narration, s.duration) for p, s in zip(story.pages, scenes,
                                                                                                   strict=True)],
                                  SAMPLE_RATE)
            (tmp / "soundtrack.wav").write_bytes(wav_bytes(mixed, SAMPLE_RATE))
            inputs += ["-i", str(tmp / "soundtrack.wav")]
            filters.append("[1:a]aformat=sample_fmts=fltp:channel_layouts=mono[a]")
            subtitle_input = 2
        else:
            for k, scene in enumerate(scenes, 1):
                if scene.audio is not None:
                    wav = tmp / f"page{scene.number:04d}.wav"
                    wav.write_bytes(scene.audio)
                    inputs += ["-i", str(wav)]
                else:
                    inputs += ["-f", "lavfi", "-t", f"{scene.duration:.6f}", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=mono"]
                # Narrations may come from different voices at different rates: resample each to one.
                filters.append(f"[{k}:a]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=mono[a{k}]")
                labels.append(f"[a{k}]")
            filters.append(f"{''.join(labels)}concat=n={len(scenes)}:v=0:a=1[a]")
            subtitle_input = len(scenes) + 1
        inputs += ["-i", str(tmp / "captions.ass")]
        command = [
            ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            *inputs,
            "-filter_complex", ";".join(filters),
            "-map", "[v]", "-map", "[a]", "-map", f"{subtitle_input}:s",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ar", str(SAMPLE_RATE),
            "-c:s", "mov_text", "-metadata:s:s:0", f"language={ISO_639_2.get(source.story.language[:2], 'und')}",
            "-metadata:s:s:0", "handler_name=Captions",
            "-metadata", f"title={source.story.title}",
            "-metadata", f"comment={source.story.premise}",
            "-t", f"{total:.6f}",
            "-movflags", "+faststart",
            "-f", "mp4", str(out),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise StorytellerError(f"ffmpeg could not encode the video: {result.stderr.strip()[-2000:]}")


# -- captions -----------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def caption_font(cjk: bool = False):
    """The captions' font; `cjk`: one with Chinese glyphs (the storyboard's, or a clear error)."""
    from PIL import ImageFont

    layout = ImageFont.Layout.RAQM if _has_raqm() else ImageFont.Layout.BASIC
    if cjk:
        from storyteller.backends.storyboard.text import get_font

        return ImageFont.truetype(get_font(FONT_SIZE, cjk=True).path, FONT_SIZE, layout_engine=layout)
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, FONT_SIZE, layout_engine=layout)
    return ImageFont.load_default(FONT_SIZE)


def _story_font(story):
    from storyteller.backends.storyboard.text import needs_cjk

    return caption_font(needs_cjk(story.title, *(p.text for p in story.pages), *(c.name for c in story.characters)))


def _has_raqm() -> bool:
    from PIL import features

    # raqm lays out right-to-left scripts (Hebrew, Arabic) in visual order.
    return bool(features.check("raqm"))


def drawable(text: str, font) -> str:
    """The text without characters the caption font has no glyph for (they would show as boxes).

    Burned-in captions drop them; the subtitle track keeps the exact text.
    """
    return "".join(ch for ch in text if ch.isspace() or not _missing_glyph(font, ch))


def _missing_glyph(font, ch: str) -> bool:
    key = (id(font), ch)
    if key not in _GLYPH_CACHE:
        # A missing glyph renders as the font's .notdef box, the same as a noncharacter does.
        _GLYPH_CACHE[key] = _mask(font, ch) == _mask(font, "\uffff")
    return _GLYPH_CACHE[key]


_GLYPH_CACHE: dict[tuple[int, str], bool] = {}


def _mask(font, ch: str) -> tuple:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def split_captions(text: str, font, max_width: int, max_lines: int) -> list[str]:
    """Split page text into caption chunks of at most `max_lines` wrapped lines each.

    Whole sentences are packed into a chunk while they fit, so a caption rarely stops mid-sentence;
    a sentence longer than a chunk is cut at line ends. A chunk's lines are joined with '\\n'.
    Chinese has no spaces: its sentences end at 。！？ and a line may break between any two characters.
    """
    sentences = [s for s in re.split(r"(?<=[.!?…])\s+|(?<=[。！？])(?![”」』])", " ".join(text.split())) if s.strip()]
    if not sentences:
        return [""]
    chunks: list[list[str]] = []
    current = ""
    for sentence in sentences:
        candidate = _join(current, sentence) if current else sentence
        if len(_wrap(_units(candidate), font, max_width)) <= max_lines:
            current = candidate
            continue
        if current:
            chunks.append(_wrap(_units(current), font, max_width))
        lines = _wrap(_units(sentence), font, max_width)
        while len(lines) > max_lines:
            chunks.append(lines[:max_lines])
            lines = lines[max_lines:]
        current = ""
        for line in lines:
            current = _join(current, line) if current else line
    chunks.append(_wrap(_units(current), font, max_width))
    return ["\n".join(lines) for lines in chunks]


_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f“”‘’]")


def _units(text: str) -> list[str]:
    """Where a line may break: between words, and anywhere inside a run of Chinese characters
    (each a unit, its punctuation kept with the character before it)."""
    units: list[str] = []
    for word in text.split():
        if not _WIDE.search(word):
            units.append(word)
            continue
        for piece in re.findall(r"[“‘「『（]*[^“‘「『（][，。！？、：；”’」』）…]*", word):
            units.append(piece)
    return units


def _join(left: str, right: str) -> str:
    """Two pieces of a line: a space between words, none where either side is Chinese."""
    if not left or not right:
        return left + right
    return left + right if _WIDE.match(left[-1]) or _WIDE.match(right[0]) else f"{left} {right}"


def _wrap(words: list[str], font, max_width: int) -> list[str]:
    lines, line = [], ""
    for word in words:
        candidate = _join(line, word) if line else word
        if line and font.getlength(drawable(candidate, font)) > max_width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return lines


def ass_subtitles(scenes: list[Scene]) -> str:
    """The captions as an ASS script, for ffmpeg to turn into a mov_text track.

    ASS is used rather than SRT because ffmpeg's SRT reader treats '<...>' as markup and drops it;
    in ASS only '\\N', '\\n' and '{\\' are special, and a word joiner (U+2060) after each backslash
    keeps those literal.
    """
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {WIDTH}",
        f"PlayResY: {HEIGHT}",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
        "MarginL, MarginR, MarginV, Encoding",
        "Style: Default,Sans,40,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,2,0,2,40,40,30,1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = []
    for scene in scenes:
        for chunk in scene.chunks:
            text = chunk.text.replace("\\", "\\\u2060").replace("\r", "").replace("\n", "\\N")
            events.append(f"Dialogue: 0,{_ass_time(chunk.start)},{_ass_time(chunk.end)},Default,,0,0,0,,{text}")
    return "\n".join(head + events) + "\n"


def _ass_time(seconds: float) -> str:
    centis = int(round(seconds * 100))
    hours, centis = divmod(centis, 360000)
    minutes, centis = divmod(centis, 6000)
    secs, centis = divmod(centis, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


# -- frames -------------------------------------------------------------------------------------
def _load_picture(data: bytes | None):
    from PIL import Image, ImageOps

    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as image:
        # A reader's photo may carry an EXIF rotation; detection ran on the upright picture.
        return ImageOps.exif_transpose(image).convert("RGB")


def render_frame(picture, caption: str, font, *, tags=(), lit: set = frozenset()):
    """A 1280x720 frame: the illustration fitted above, the caption centred in the band below. On a
    photo scene, each speaker's name tag sits where they are in the photo (and, in a guided scene,
    each thing's); the tags in `lit` (the one speaking, the thing talked about) are lit."""
    from PIL import Image, ImageDraw

    frame = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(frame)
    area_w, area_h = WIDTH - 40, HEIGHT - CAPTION_BAND - 30
    if picture is not None:
        scale = min(area_w / picture.width, area_h / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        fitted = picture.resize(size, Image.Resampling.LANCZOS)
        left, top = (WIDTH - size[0]) // 2, 20 + (area_h - size[1]) // 2
        frame.paste(fitted, (left, top))
        for slug, name, (x, y, w, h) in tags:
            on = slug in lit
            box = (left + x * size[0], top + y * size[1], left + (x + w) * size[0], top + (y + h) * size[1])
            draw.rounded_rectangle(box, radius=8, outline=(255, 213, 74) if on else (255, 255, 255), width=5 if on else 2)
            label = drawable(name, font)
            label_w = draw.textlength(label, font=font) + 20
            label_x = min(max(left, box[0]), left + size[0] - label_w)
            label_y = box[1] + 6
            draw.rounded_rectangle((label_x, label_y, label_x + label_w, label_y + FONT_SIZE + 12), radius=6,
                                   fill=(255, 213, 74) if on else (29, 29, 31))
            draw.text((label_x + 10, label_y + 4), label, font=font, fill=(29, 29, 31) if on else TEXT_COLOUR)
    lines = [drawable(line, font) for line in caption.split("\n")]
    line_height = round(FONT_SIZE * 1.3)
    if picture is None:  # no illustration: the text alone, in the middle of the frame
        top = (HEIGHT - line_height * len(lines)) // 2
    else:
        top = HEIGHT - CAPTION_BAND + (CAPTION_BAND - line_height * len(lines)) // 2
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((WIDTH - width) / 2, top + i * line_height), line, font=font, fill=TEXT_COLOUR)
    return frame
