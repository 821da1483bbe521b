"""Exports (JSON, HTML, MP4, EPUB) of a small story folder built by tests/story_fixtures.py.

Browser checks drive Debian's Chromium through Playwright (no browser download): they are skipped,
with the reason, when /usr/bin/chromium or the playwright package is absent. MP4 streams and
durations are measured by parsing the output of the same ffmpeg binary (imageio-ffmpeg ships no
ffprobe). epubcheck runs when Debian's `epubcheck` package (and java) is installed.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import pytest
from story_fixtures import COLOURS, HOSTILE_NAME, HOSTILE_TEXT, PAGES, build_story_folder, total_narration_seconds

from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.export import export_story
from storyteller.session import StoryFolder, load_story
from storyteller.story import SCHEMA_VERSION, Story

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NARRATION_SECONDS = [round(seconds * rate) / rate for _, _, _, seconds, rate in PAGES]


@pytest.fixture(scope="module")
def story_dir(tmp_path_factory) -> Path:
    return build_story_folder(tmp_path_factory.mktemp("export") / "fox")


def _copy(story_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(story_dir, target, ignore=shutil.ignore_patterns("exports"))
    return target


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and "exports" not in p.relative_to(folder).parts
    }


# -- common behaviour ---------------------------------------------------------------------------
def test_default_output_goes_to_exports_and_nothing_else_changes(story_dir, tmp_path):
    folder = _copy(story_dir, tmp_path)
    before = _snapshot(folder)
    written = export_story(folder, "json")
    assert written == folder / "exports" / "the-fox-the-owl.json"
    assert written.is_file() and (written.stat().st_mode & 0o044)  # shareable, not a private temp file
    assert _snapshot(folder) == before
    assert [p.name for p in (folder / "exports").iterdir()] == ["the-fox-the-owl.json"]  # no temp files left


@pytest.mark.parametrize("fmt", ["json", "html", "mp4", "epub"])
def test_missing_asset_is_an_error_naming_the_file(story_dir, tmp_path, fmt):
    folder = _copy(story_dir, tmp_path)
    (folder / "audio" / "page-2.wav").unlink()
    with pytest.raises(StoryFolderError, match=r"audio/page-2\.wav.*does not exist") as info:
        export_story(folder, fmt, tmp_path / f"out.{fmt}")
    assert info.value.fix
    assert not (tmp_path / f"out.{fmt}").exists()


def test_corrupt_asset_is_an_error_naming_the_file(story_dir, tmp_path):
    folder = _copy(story_dir, tmp_path)
    image = folder / "images" / "page-1.png"
    image.write_bytes(image.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(StoryFolderError, match=r"images/page-1\.png does not match story\.json \(sha256"):
        export_story(folder, "html", tmp_path / "out.html")


def test_not_a_story_folder(tmp_path):
    with pytest.raises(StoryFolderError, match="not a story folder") as info:
        export_story(tmp_path, "json")
    assert "storyteller new" in info.value.fix


def test_bad_arguments(story_dir, tmp_path):
    with pytest.raises(InvalidInput, match="unknown export format 'pdf'"):
        export_story(story_dir, "pdf")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="applies to html only"):
        export_story(story_dir, "epub", tmp_path / "x.epub", self_contained=False)


def test_refuses_to_write_over_the_story(story_dir, tmp_path):
    folder = _copy(story_dir, tmp_path)
    before = _snapshot(folder)
    for target in (folder / "story.json", folder / "images" / "page-1.png", folder / "audio" / "new.html", folder):
        with pytest.raises(InvalidInput, match="refusing to export"):
            export_story(folder, "html", target)
    assert _snapshot(folder) == before


# -- JSON -----------------------------------------------------------------------------------------
def test_json_round_trip_and_schema(story_dir, tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (test extra) validates against the schema")
    from storyteller.export.schema import schema_text, story_schema

    out = export_story(story_dir, "json", tmp_path / "story.json")
    assert Story.model_validate_json(out.read_bytes()) == load_story(story_dir)

    committed = REPO / "schema" / "story.schema.json"
    assert committed.read_text(encoding="utf-8") == schema_text(), "run `python -m storyteller.export.schema`"
    schema = json.loads(committed.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["version"] == SCHEMA_VERSION
    validator = jsonschema.Draft202012Validator(story_schema())
    document = json.loads(out.read_text(encoding="utf-8"))
    validator.validate(document)
    # The schema is as strict as the models: a typo'd field or a bad sha256 fails both.
    document["pages"][0]["txet"] = "typo"
    assert not validator.is_valid(document)
    del document["pages"][0]["txet"]
    document["pages"][0]["illustration"]["sha256"] = "nothex"
    assert not validator.is_valid(document)


# -- HTML (static checks) -------------------------------------------------------------------------
def test_html_escapes_story_text_and_loads_nothing_external(story_dir, tmp_path):
    out = export_story(story_dir, "html", tmp_path / "story.html")
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "{{ x }}" in html and "שלום 🦊" in html
    assert "<b>Owl</b>" not in html and "&lt;b&gt;Owl&lt;/b&gt;" in html
    assert html.count("<script") == 1  # ours, for navigation
    csp = html_lib.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1))
    assert csp.startswith("default-src 'none';") and "img-src data:;" in csp and "http" not in csp
    # Self-contained: every src is a data: URI.
    sources = re.findall(r"""\bsrc="([^"]*)\"""", html)
    assert len(sources) == 3 + 3 + 1 + 1  # page images, narrations, a reference image, the palette
    assert all(s.startswith("data:") for s in sources)
    assert not re.search(r"""(?:src|href)="(?:https?:)?//""", html)
    assert out.read_bytes() == export_story(story_dir, "html", tmp_path / "again.html").read_bytes()


def test_html_folder_mode_copies_assets(story_dir, tmp_path):
    index = export_story(story_dir, "html", tmp_path / "site", self_contained=False)
    assert index == tmp_path / "site" / "index.html"
    html = index.read_text(encoding="utf-8")
    story = load_story(story_dir)
    for asset in story.assets():
        assert f'src="{asset.path}"' in html
        assert hashlib.sha256((tmp_path / "site" / asset.path).read_bytes()).hexdigest() == asset.sha256
    # Re-exporting replaces a previous export, but never a folder that is something else.
    export_story(story_dir, "html", tmp_path / "site", self_contained=False)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(InvalidInput, match="not a previous HTML export"):
        export_story(story_dir, "html", other, self_contained=False)
    assert (other / "mine.txt").read_text() == "keep me"


# -- HTML in a real browser -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is absent (pip install playwright)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    events = {"errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: events["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: events["errors"].append(str(e)))

    def on_dialog(dialog):
        events["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: events["requests"].append(r.url))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, events


MEDIA_READY = """async () => {
  const images = await Promise.all([...document.images].map(i => i.decode().then(() => i.naturalWidth, () => 0)));
  const audio = await Promise.all([...document.querySelectorAll('audio')].map(a => a.readyState >= 1
    ? a.duration
    : new Promise(done => { a.addEventListener('loadedmetadata', () => done(a.duration));
                            a.addEventListener('error', () => done(-1)); a.load(); })));
  return {images, audio};
}"""


@pytest.mark.parametrize("self_contained", [True, False], ids=["single-file", "folder"])
def test_html_in_chromium(browser, story_dir, tmp_path, self_contained):
    out = export_story(
        story_dir, "html", tmp_path / ("story.html" if self_contained else "site"), self_contained=self_contained
    )
    page, events = _open(browser, out.as_uri(), {"width": 1280, "height": 900})

    media = page.evaluate(MEDIA_READY)
    assert len(media["images"]) == 3 + 1 + 1 and all(w > 0 for w in media["images"]), media
    assert media["audio"] == pytest.approx(NARRATION_SECONDS, abs=0.02)
    assert page.locator("article.page").count() == 3

    def visible_page() -> str:
        ids = [a.get_attribute("id") for a in page.locator("article.page").all() if a.is_visible()]
        assert len(ids) == 1, ids
        return ids[0]

    counter = page.locator(".counter").first
    assert visible_page() == "page-1" and counter.inner_text() == "Page 1 of 3"
    if self_contained:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "html-desktop.png", full_page=True)

    page.keyboard.press("ArrowRight")
    assert visible_page() == "page-2" and counter.inner_text() == "Page 2 of 3"
    assert page.evaluate("location.hash") == "#page-2"
    text = page.locator("#page-2 .text")
    assert text.inner_text() == HOSTILE_TEXT and text.is_visible()
    assert page.locator("#page-2").get_by_text("<script>alert(1)</script>", exact=False).is_visible()
    assert page.evaluate("document.scripts.length") == 1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # already on the last page: stays
    assert visible_page() == "page-3"
    page.keyboard.press("ArrowLeft")
    assert visible_page() == "page-2"

    # Buttons, reached with the keyboard, with a visible focus ring.
    page.locator(".pager .prev").first.focus()
    page.keyboard.press("Enter")
    assert visible_page() == "page-1"
    page.keyboard.press("Tab")  # to "Next"
    assert page.evaluate("document.activeElement.classList.contains('next')")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert visible_page() == "page-2"

    # Everything the page loaded came from the file itself or beside it.
    assert all(url.startswith(("file:", "data:")) for url in events["requests"]), events["requests"]

    # The Content-Security-Policy really blocks external loads.
    violation = page.evaluate("""() => new Promise(done => {
      document.addEventListener('securitypolicyviolation', e => done(e.effectiveDirective), {once: true});
      const img = document.createElement('img'); img.src = 'https://example.invalid/x.png'; document.body.append(img);
      setTimeout(() => done(null), 3000);
    })""")
    assert violation == "img-src"

    assert events["dialogs"] == []
    assert [e for e in events["errors"] if "Content Security Policy" not in e] == []
    assert HOSTILE_NAME in page.locator("#characters").inner_text()
    page.close()


def test_html_on_a_phone(browser, story_dir, tmp_path):
    out = export_story(story_dir, "html", tmp_path / "story.html")
    page, events = _open(browser, out.as_uri(), {"width": 390, "height": 844})
    page.evaluate(MEDIA_READY)
    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    image = page.locator("#page-1 img").bounding_box()
    assert image["width"] > 300  # the picture uses the width of the phone
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "html-phone.png", full_page=True)
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)  # let the newly shown audio player paint its duration
    page.screenshot(path=ARTIFACTS / "html-phone-page-2.png")
    assert events["errors"] == [] and events["dialogs"] == []
    page.close()


# -- MP4 ------------------------------------------------------------------------------------------
def _ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg (export extra) is absent")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _probe(path: Path) -> tuple[float, list[tuple[str, str]]]:
    """Container duration and (type, description) per stream, from `ffmpeg -i` (there is no ffprobe)."""
    result = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", result.stderr).groups()
    streams = re.findall(r"Stream #\d+:\d+.*?: (Video|Audio|Subtitle): (.*)", result.stderr)
    return int(h) * 3600 + int(m) * 60 + float(s), streams


def _decoded_seconds(path: Path, stream: str) -> float:
    """Length of one stream, by decoding it completely."""
    result = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path), "-map", f"0:{stream}", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", result.stderr)[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def _frame(path: Path, at: float):
    from PIL import Image

    png = subprocess.run(
        [_ffmpeg(), "-nostdin", "-loglevel", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
         "-f", "image2pipe", "-vcodec", "png", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return Image.open(io.BytesIO(png)).convert("RGB")


@pytest.fixture(scope="module")
def mp4(story_dir, tmp_path_factory) -> Path:
    _ffmpeg()
    return export_story(story_dir, "mp4", tmp_path_factory.mktemp("mp4") / "story.mp4")


def test_mp4_streams_and_duration(mp4):
    duration, streams = _probe(mp4)
    total = total_narration_seconds()
    assert duration == pytest.approx(total, abs=0.5)
    kinds = [kind for kind, _ in streams]
    assert kinds == ["Video", "Audio", "Subtitle"], streams
    video, audio, subtitle = (desc for _, desc in streams)
    assert video.startswith("h264") and "yuv420p" in video and "1280x720" in video
    assert audio.startswith("aac")
    assert subtitle.startswith("mov_text")
    assert _decoded_seconds(mp4, "a") == pytest.approx(total, abs=0.1)
    assert _decoded_seconds(mp4, "v") == pytest.approx(total, abs=0.1)


def test_mp4_each_scene_lasts_its_narration(mp4):
    from PIL import ImageStat

    starts = [sum(NARRATION_SECONDS[:i]) for i in range(len(PAGES))]
    for colour, start, seconds in zip(COLOURS, starts, NARRATION_SECONDS, strict=True):
        for at in (start + 0.1, start + seconds - 0.15):
            frame = _frame(mp4, at)
            # A patch of the illustration's background, left of the fitted picture's centre.
            pixel = ImageStat.Stat(frame.crop((330, 280, 345, 300))).mean
            assert pixel == pytest.approx(colour, abs=25), (at, pixel, colour)
            # Burned-in caption: light text in the dark band under the picture.
            assert frame.crop((0, 540, 1280, 720)).convert("L").getextrema()[1] > 200


def test_mp4_subtitles_keep_the_exact_text(mp4):
    srt = subprocess.run(
        [_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", str(mp4), "-map", "0:s", "-f", "srt", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert HOSTILE_TEXT in srt
    assert "00:00:01,200 --> 00:00:02,100" in srt  # page 2 spans exactly its narration


def test_mp4_page_without_narration_is_shown_silently(story_dir, tmp_path):
    from storyteller.export.video import reading_seconds

    _ffmpeg()
    folder = _copy(story_dir, tmp_path)
    with StoryFolder.open(folder) as session:
        session.story.pages[2].narration = None
        session.save()
    duration, _ = _probe(export_story(folder, "mp4", tmp_path / "silent.mp4"))
    expected = NARRATION_SECONDS[0] + NARRATION_SECONDS[1] + reading_seconds(PAGES[2][0])
    assert duration == pytest.approx(expected, abs=0.5)


def test_caption_chunks_keep_every_word():
    from storyteller.export.video import CAPTION_LINES, WIDTH, caption_font, split_captions

    text = " ".join(f"Sentence {i} tells of the fox who walked far through the quiet morning woods." for i in range(12))
    chunks = split_captions(text, caption_font(), WIDTH - 120, CAPTION_LINES)
    assert len(chunks) > 3
    assert all(1 <= len(chunk.split("\n")) <= CAPTION_LINES for chunk in chunks)
    assert " ".join(chunks).replace("\n", " ").split() == text.split()


def test_chinese_captions_fit_the_frame_and_keep_every_character():
    """Chinese has no spaces: captions break between characters, never run off the frame."""
    from storyteller.backends.storyboard.text import CJK_FONT_FILES
    from storyteller.export.video import CAPTION_LINES, WIDTH, caption_font, split_captions

    if not any(Path(f).is_file() for f in CJK_FONT_FILES):
        pytest.skip("no font with Chinese glyphs (scripts/setup.sh installs fonts-wqy-microhei)")
    font = caption_font(True)
    text = ("在雪地的晚上，小狐狸正在寻找食物。他用鼻子嗅着周围的小草和落叶，然后开始沿着一条小径前进。"
            "小狐狸说：“我看到一片绿草地，看起来很诱人。”Tom 跟着它走。") * 2
    chunks = split_captions(text, font, WIDTH - 120, CAPTION_LINES)
    lines = [line for chunk in chunks for line in chunk.split("\n")]
    assert len(chunks) > 1 and all(font.getlength(line) <= WIDTH - 120 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not any(line.startswith(("，", "。", "”")) for line in lines)  # punctuation stays with its character


# -- EPUB -----------------------------------------------------------------------------------------
OPF = "{http://www.idpf.org/2007/opf}"


@pytest.fixture(scope="module")
def epub(story_dir, tmp_path_factory) -> Path:
    _ffmpeg()  # narration is transcoded to AAC
    return export_story(story_dir, "epub", tmp_path_factory.mktemp("epub") / "story.epub")


def test_epub_structure(epub, story_dir, tmp_path):
    with zipfile.ZipFile(epub) as book:
        infos = book.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert infos[0].extra == b"" and book.read("mimetype") == b"application/epub+zip"
        assert book.testzip() is None
        container = ET.fromstring(book.read("META-INF/container.xml"))
        rootfile = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile")
        opf_path = rootfile.get("full-path")
        assert opf_path == "OEBPS/content.opf"
        opf = ET.fromstring(book.read(opf_path))
        base = PurePosixPath(opf_path).parent

        items = {i.get("id"): i for i in opf.iter(f"{OPF}item")}
        hrefs = {str(base / unquote(i.get("href"))) for i in items.values()}
        files = {n for n in book.namelist() if n not in ("mimetype", opf_path) and not n.startswith("META-INF/")}
        assert hrefs == files  # the manifest lists every file, and every listed file exists

        spine = [unquote(items[ref.get("idref")].get("href")) for ref in opf.iter(f"{OPF}itemref")]
        assert spine == ["title.xhtml", "page-0001.xhtml", "page-0002.xhtml", "page-0003.xhtml", "about.xhtml"]
        nav = [i for i in items.values() if "nav" in (i.get("properties") or "").split()]
        assert len(nav) == 1 and b'epub:type="toc"' in book.read(str(base / nav[0].get("href")))
        assert [i.get("href") for i in items.values() if i.get("properties") == "cover-image"] == ["images/page-1.png"]

        for name in book.namelist():
            if name.endswith((".xhtml", ".opf", ".smil", ".xml")):
                ET.fromstring(book.read(name))  # well-formed XML
        page2 = ET.fromstring(book.read("OEBPS/page-0002.xhtml"))
        text = page2.find(".//{http://www.w3.org/1999/xhtml}p[@id='text']")
        assert text.text == HOSTILE_TEXT
        assert b"<script" not in book.read("OEBPS/page-0002.xhtml")

        # Narration: AAC per page, wired as media overlays whose durations add up.
        audio = [i for i in items.values() if i.get("media-type") == "audio/mp4"]
        assert len(audio) == 3
        durations = {m.get("refines"): m.text for m in opf.iter(f"{OPF}meta") if m.get("property") == "media:duration"}
        overlays = [i.get("media-overlay") for i in items.values() if i.get("media-overlay")]
        assert [durations[f"#{o}"] for o in overlays] == ["0:00:01.200", "0:00:00.900", "0:00:01.600"]
        assert durations[None] == "0:00:03.700"
        m4a = tmp_path / "page-2.m4a"
        m4a.write_bytes(book.read("OEBPS/audio/page-0002.m4a"))
        assert _probe(m4a)[0] == pytest.approx(NARRATION_SECONDS[1], abs=0.05)

    # Deterministic: the same folder gives the same bytes.
    assert export_story(story_dir, "epub", tmp_path / "again.epub").read_bytes() == epub.read_bytes()


def _epubcheck_command() -> list[str] | None:
    java = shutil.which("java")
    for jar in (Path("/usr/share/java/epubcheck.jar"), Path("/usr/share/java/epubcheck-4.2.6.jar")):
        if java and jar.is_file():
            # C1-only JIT: epubcheck is a short run, and this cuts it from ~20 s to ~5 s on 2 cores.
            return [java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar)]
    # Elsewhere epubcheck may be an ordinary launcher script (Debian's /usr/bin/epubcheck is a jar).
    launcher = shutil.which("epubcheck")
    if launcher and Path(launcher).read_bytes()[:2] != b"PK":
        return [launcher]
    return None


def test_epubcheck(epub):
    command = _epubcheck_command()
    if command is None:
        pytest.skip("epubcheck is not installed (apt-get install -y epubcheck)")
    result = subprocess.run([*command, str(epub)], capture_output=True, text=True, timeout=180)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "No errors or warnings detected" in report, report


def _plain_text(source, path: Path) -> None:
    """A plugin's export format, written as a plugin author would: the pages' text."""
    path.write_text("\n\n".join([source.story.title, *(page.text for page in source.story.pages)]) + "\n")


def test_a_plugin_adds_an_export_format(story_dir, tmp_path):
    """A format registered by a plugin is exported like a built-in one, by one registration and no
    change to the package: the same checks, the same atomic write, its default file name."""
    from storyteller.backends import Registry
    from storyteller.backends.builtin import register
    from storyteller.export import formats

    registry = Registry()
    register(registry)
    registry.add_exporter("txt", f"{__name__}:_plain_text", extension="txt", summary="the pages' text")
    assert formats(registry) == ["html", "json", "mp4", "epub", "txt"]
    folder = _copy(story_dir, tmp_path)
    before = _snapshot(folder)
    path = export_story(folder, "txt", registry=registry)
    assert path.parent == folder / "exports" and path.suffix == ".txt"
    text = path.read_text()
    story = load_story(folder)
    assert text.startswith(story.title) and all(page.text in text for page in story.pages)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left
    assert _snapshot(folder) == before
    with pytest.raises(InvalidInput, match="applies to html only; txt exports are always one file"):
        export_story(folder, "txt", tmp_path / "t", self_contained=False, registry=registry)
    with pytest.raises(InvalidInput, match=r"unknown export format 'text' \(did you mean txt\?\)"):
        export_story(folder, "text", registry=registry)
