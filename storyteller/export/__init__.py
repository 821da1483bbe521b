"""Exports: JSON, HTML, MP4 and EPUB, each a pure function of a story folder.

An export reads only the story folder (story.json and the assets it references, each checked
against its sha256) and writes only the output path. When no output path is given it writes to
`<folder>/exports/<slug-of-title>.<ext>`: `exports/` is the only thing an export ever writes
inside a story folder, and the session never reads it. Writes are atomic, so an interrupted
export leaves the previous export (or nothing), never half a file.

The format modules import their heavier dependencies (the ffmpeg binary from imageio-ffmpeg)
only when that format is asked for, so `import storyteller.export` stays cheap.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from storyteller.errors import InvalidInput
from storyteller.session import STORY_FILE, atomic_write_bytes, shareable
from storyteller.story import slugify

__all__ = ["FORMATS", "EXPORTS_DIR", "export_story"]

Format = Literal["json", "html", "mp4", "epub"]
# format -> (module, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("storyteller.export.story_json", "json"),
    "html": ("storyteller.export.html", "html"),
    "mp4": ("storyteller.export.video", "mp4"),
    "epub": ("storyteller.export.epub", "epub"),
}
EXPORTS_DIR = "exports"


def default_output(folder: Path, title: str, fmt: Format, *, self_contained: bool = True) -> Path:
    slug = slugify(title, fallback="story")
    if fmt == "html" and not self_contained:
        return Path(folder) / EXPORTS_DIR / f"{slug}-html"
    return Path(folder) / EXPORTS_DIR / f"{slug}.{FORMATS[fmt][1]}"


def export_story(
    folder: Path | str,
    fmt: Format,
    out: Path | str | None = None,
    *,
    self_contained: bool = True,
    blur_faces: bool = False,
) -> Path:
    """Export the story in `folder` as `fmt` and return the path written.

    `self_contained` applies to HTML only: True (default) writes one .html file with every image
    and sound inlined as data: URIs; False writes a folder (`out`) holding `index.html` next to
    copies of the assets, and returns the path of that index.html.

    `blur_faces`: the faces in the reader's photos and in their crops are blurred in the export
    (found by OpenCV's face cascades, classical, and where the photo scene recorded them).

    Raises StoryFolderError (with a fix) when the folder is not a story or an asset is missing or
    does not match its sha256, InvalidInput for a bad format or output path, and
    BackendUnavailable when the format needs an extra that is not installed.
    """
    from storyteller.export._source import StorySource

    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if not self_contained and fmt != "html":
        raise InvalidInput(f"self_contained=False applies to html only; {fmt} exports are always one file")
    folder = Path(folder)
    source = StorySource.open(folder, blur_faces=blur_faces)
    out = (
        Path(out) if out is not None else default_output(folder, source.story.title, fmt, self_contained=self_contained)
    )
    _check_output(folder, source, out)
    module = importlib.import_module(FORMATS[fmt][0])

    if fmt == "html" and not self_contained:
        _write_folder(out, lambda tmp: module.write_folder(source, tmp))
        return out / "index.html"
    if fmt == "mp4":
        # ffmpeg writes the file itself; it goes to a temp name beside the target, then is renamed.
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp.mp4")
        os.close(fd)
        try:
            module.write_mp4(source, Path(tmp))
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            shareable(Path(tmp))
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return out

    atomic_write_bytes(out, module.render(source))
    return out


def _check_output(folder: Path, source, out: Path) -> None:
    """Refuse an output path that would overwrite the story itself."""
    folder_r, out_r = folder.resolve(), out.resolve()
    protected = {folder_r / STORY_FILE, *(folder_r / a.path for a in source.story.assets())}
    if out_r == folder_r or folder_r.is_relative_to(out_r) or out_r in protected:
        raise InvalidInput(f"refusing to export over the story itself: {out}", fix="choose another output path")
    if out_r.is_relative_to(folder_r) and out_r.relative_to(folder_r).parts[0] in ("images", "audio"):
        raise InvalidInput(
            f"refusing to export into the story's asset folders: {out}", fix="choose another output path"
        )


def _write_folder(out: Path, fill) -> Path:
    """Build a folder export in a temp folder beside `out`, then swap it in."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "index.html").is_file())):
        # Replacing a folder deletes it: only ever replace a previous HTML export.
        raise InvalidInput(f"{out} exists and is not a previous HTML export", fix="choose a new or empty output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        fill(tmp)
        for path in [tmp, *tmp.rglob("*")]:
            shareable(path)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / "previous")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
