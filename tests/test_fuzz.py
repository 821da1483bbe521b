"""Hypothesis fuzzing of what a story tool reads from strangers: story.json, story text, names.

- The story loader, on any bytes and any JSON (also valid stories with one part replaced by
  arbitrary JSON), returns a valid Story or raises StoryFolderError: never another exception.
- The HTML export, on stories whose every user or model string is hostile (markup, quotes,
  template syntax, RTL, emoji, NUL and control characters), succeeds, and the page holds only the
  tags and attributes of its template: one <script> (its own), no event-handler attribute.
- slugify, on any name (`/`, `..`, `CON`, NUL, 300 characters), gives a safe file name inside the
  story folder.

Examples are bounded (max_examples) and derandomized, so the suite is fast and never flaky.
"""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from story_fixtures import build_story_folder

from storyteller.errors import StoryFolderError
from storyteller.export import html
from storyteller.export.source import StorySource
from storyteller.session import STORY_FILE, StoryFolder, load_story
from storyteller.story import Story, slugify

FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# -- strategies --------------------------------------------------------------------------------
# Infinity and NaN included: the models refuse them (JSON cannot carry them back; see also
# test_loader_rejects_what_it_could_not_save_again).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)

HOSTILE_FRAGMENTS = [
    "<script>alert(1)</script>", "</script><script>alert(2)</script>", "<SCRIPT SRC=//x.js>",
    "<img src=x onerror=alert(3)>", '" onmouseover="alert(4)', "' onload='alert(5)", "<svg/onload=alert(6)>",
    "{{ 7*7 }}", "{% for x in y %}", "{# c #}", "</textarea>", "<!--", "-->", "]]>", "<![CDATA[",
    "&amp;", "&lt;script&gt;", "javascript:alert(7)", "\u202eRTL override", "שלום עולם", "مرحبا", "🦊🦉",
    "\x00", "\x1b[31m", "\x07", "\r\n", "\u2028", "\ufeff", "\u200b",
]
hostile_text = st.lists(st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=12), max_size=6).map("".join)
hostile_name = hostile_text.map(lambda s: (s or "x")[:200])


# -- (a) the story loader ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_folder(tmp_path_factory) -> Path:
    return build_story_folder(tmp_path_factory.mktemp("fuzz") / "story")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scratch")


def _load_bytes(folder: Path, data: bytes):
    (folder / STORY_FILE).write_bytes(data)
    try:
        story = load_story(folder)
    except StoryFolderError as exc:
        assert str(folder / STORY_FILE) in str(exc)  # the error names the file
        return None
    assert isinstance(story, Story)
    # A loaded story is valid through and through: it saves and loads back unchanged.
    assert Story.model_validate_json(story.model_dump_json()) == story
    return story


@FUZZ
@given(data=st.binary(max_size=2000))
def test_loader_on_any_bytes(scratch, data):
    _load_bytes(scratch, data)


@FUZZ
@given(value=json_values)
def test_loader_on_any_json(scratch, value):
    _load_bytes(scratch, json.dumps(value).encode())


def _paths(value, prefix=()):
    """Every path into a JSON document (keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, prefix + (i,))


@FUZZ
@given(data=st.data())
def test_loader_on_a_valid_story_with_one_part_replaced(base_folder, scratch, data):
    """Arbitrary JSON deep inside an otherwise valid story reaches every validator."""
    document = json.loads((base_folder / STORY_FILE).read_text())
    paths = sorted(_paths(document), key=repr)
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(json_values | st.sampled_from(["../../etc/passwd", "/abs", "a\\b", "", "x" * 64]))
    if not path:
        document = replacement
    else:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = replacement
    _load_bytes(scratch, json.dumps(document).encode())


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\x00", b"[" * 100_000, b'{"title": "\\ud800"}', b"null",
                                  b'{"schema_version": 2}', b"\x00" * 10])
def test_loader_known_hostile_files(scratch, data):
    assert _load_bytes(scratch, data) is None


def test_loader_rejects_what_it_could_not_save_again(base_folder, scratch):
    document = (base_folder / STORY_FILE).read_text()
    document = re.sub(r'"duration_s": [0-9.]+', '"duration_s": Infinity', document, count=1)
    assert _load_bytes(scratch, document.encode()) is None


def test_loader_rejects_asset_paths_outside_the_folder(base_folder, scratch):
    for bad in ("../outside.png", "/etc/passwd", "images/../../x.png", "images\\x.png", "images//x.png"):
        document = json.loads((base_folder / STORY_FILE).read_text())
        document["pages"][0]["illustration"]["path"] = bad
        assert _load_bytes(scratch, json.dumps(document).encode()) is None, bad


# -- (b) the HTML export -------------------------------------------------------------------------
class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.scripts += tag == "script"
        self.attributes.update((tag, name) for name, _ in attrs)

    handle_startendtag = handle_starttag


def _parse(page: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(page)
    parser.close()
    return parser


def _with_texts(story: Story, texts: list[str], name: str) -> Story:
    """The fixture story with every user or model string replaced by a hostile one."""
    doc = story.model_dump()
    pick = itertools.cycle(texts)
    doc["title"], doc["premise"] = next(pick), next(pick)
    doc["style"]["name"], doc["style"]["description"] = next(pick), next(pick)
    for character in doc["characters"]:
        character.update(name=name, aliases=[next(pick)], personality=next(pick))
        character["appearance"].update(species=next(pick), face=next(pick), hair=next(pick), clothing=next(pick),
                                       colors=[next(pick)], props=[next(pick)])
    for page in doc["pages"]:
        page.update(text=next(pick), scene=next(pick), characters=[next(pick), page["characters"][0]])
        page["text_provenance"]["prompt"] = next(pick)
        page["text_provenance"]["model"] = next(pick)
        page["illustration"]["provenance"]["prompt"] = next(pick)
        page["illustration"]["provenance"]["parameters"]["note"] = next(pick)
    for beat in doc["outline"]:
        beat.update(beat=next(pick), scene=next(pick))
    return Story.model_validate(doc)


@pytest.fixture(scope="module")
def source(base_folder) -> StorySource:
    return StorySource.open(base_folder)


@pytest.fixture(scope="module")
def template_shape(source) -> TagCollector:
    """Tags and attributes the template itself makes, from a render with harmless text."""
    shape = _parse(html.render(StorySource(source.folder, _with_texts(source.story, ["plain"], "Fox"), source._data))
                   .decode())
    assert shape.scripts == 1
    return shape


def _check_page(page: str, shape: TagCollector) -> None:
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 1  # the page's own script, nothing else
    parsed = _parse(page)
    assert parsed.scripts == 1
    assert parsed.tags <= shape.tags, parsed.tags - shape.tags
    assert parsed.attributes <= shape.attributes, parsed.attributes - shape.attributes
    assert not any(name.startswith("on") for _, name in parsed.attributes)


@FUZZ
@given(texts=st.lists(hostile_text, min_size=1, max_size=12), name=hostile_name)
def test_html_export_shows_hostile_text_as_text(source, template_shape, texts, name):
    story = _with_texts(source.story, texts, name)
    page = html.render(StorySource(source.folder, story, source._data)).decode("utf-8")
    _check_page(page, template_shape)
    escaped_title = (story.title.strip() or "Untitled story").replace("&", "&amp;").replace("<", "&lt;")
    assert escaped_title.replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;") in page


def test_html_export_of_a_hostile_story_folder_end_to_end(tmp_path, template_shape):
    """The whole path (story.json on disk -> export_story -> file), with every fragment at once."""
    from storyteller.export import export_story

    folder = build_story_folder(tmp_path / "story")
    story = _with_texts(load_story(folder), HOSTILE_FRAGMENTS, "".join(HOSTILE_FRAGMENTS)[:200])
    (folder / STORY_FILE).write_text(story.model_dump_json())
    for self_contained in (True, False):
        out = export_story(folder, "html", tmp_path / ("one.html" if self_contained else "dir"),
                           self_contained=self_contained)
        _check_page(out.read_text(encoding="utf-8"), template_shape)


# -- (c) names -----------------------------------------------------------------------------------
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
NAMES = ["/", "..", "../../etc/passwd", "CON", "con.txt", "Nul", "LPT1", "com9", "\x00", "a\x00b", "x" * 300,
         "É" * 300, "🦊", "", "   ", "-", "--a--", "C:\\Windows\\system32", "~", ".hidden", "名前", "\u202e"]


def _assert_safe(slug: str) -> None:
    assert SLUG.match(slug), slug
    assert len(slug) <= 48 + len("-item")
    assert slug not in RESERVED and slug.split(".")[0] not in RESERVED


@FUZZ
@given(name=st.text(max_size=400) | st.lists(st.sampled_from(NAMES), max_size=4).map("".join))
def test_slugify_is_always_a_safe_file_name(name):
    slug = slugify(name)
    _assert_safe(slug)
    assert len(slug) <= 48
    assert slugify(slug) == slug  # stable: a slug is its own slug


@pytest.mark.parametrize("name", NAMES)
def test_asset_names_stay_inside_the_story_folder(tmp_path, name):
    from storyteller.story import Provenance, StyleGuide

    _assert_safe(slugify(name))
    prov = Provenance(backend="test", model="none", kind="procedural", duration_s=0)
    with StoryFolder.create(tmp_path / "s", Story(title=name, premise="p", style=StyleGuide(name="w"))) as folder:
        asset = folder.write_asset("image", name, b"data", suffix=".png", media_type="image/png", provenance=prov)
    written = (tmp_path / "s" / asset.path).resolve()
    assert written.parent == (tmp_path / "s" / "images").resolve() and written.read_bytes() == b"data"
