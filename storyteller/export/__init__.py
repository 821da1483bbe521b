"""Exports: a story folder written as a file another program reads, one format per exporter.

The formats come from the plugin registry (`registry.add_exporter`: the built-ins html, json, mp4
and epub are registered in storyteller.backends.builtin like any plugin's), and each is one
function `write(source, path)`. An export reads only the story folder (story.json and the assets
it references, each checked against its sha256 and never through a symbolic link) and writes only
the output path. When no output path is given it writes to `<folder>/exports/<slug-of-title>.<ext>`:
`exports/` is the only thing an export ever writes inside a story folder, and the session never
reads it. Every format is written the same way: into a temp file (or folder) beside the target,
fsynced, then renamed over it, so an interrupted export leaves the previous export (or nothing),
never half a file.

The format modules import their heavier dependencies (the ffmpeg binary from imageio-ffmpeg)
only when that format is asked for, so `import storyteller.export` stays cheap.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from storyteller.errors import InvalidInput
from storyteller.session import STORY_FILE, shareable, write_error
from storyteller.story import slugify

__all__ = ["EXPORTS_DIR", "Format", "export_story", "formats"]

# A registered export format's name (`formats()` lists them).
Format = str
EXPORTS_DIR = "exports"


def _registry(registry=None):
    from storyteller.backends import get_registry

    return registry if registry is not None else get_registry()


def formats(registry=None) -> list[str]:
    """The export formats a user can ask for, in registration order (html first)."""
    return [entry.name for entry in _registry(registry).exporters()]


def default_output(folder: Path, title: str, fmt: Format, *, self_contained: bool = True, registry=None) -> Path:
    slug = slugify(title, fallback="story")
    entry = _registry(registry).exporter(fmt)
    if not self_contained:
        return Path(folder) / EXPORTS_DIR / f"{slug}-{entry.extension}"
    return Path(folder) / EXPORTS_DIR / f"{slug}.{entry.extension}"


def export_story(
    folder: Path | str,
    fmt: Format,
    out: Path | str | None = None,
    *,
    self_contained: bool = True,
    blur_faces: bool = False,
    music: bool = True,
    registry=None,
) -> Path:
    """Export the story in `folder` as `fmt` and return the path written.

    `self_contained` False asks for the format's folder form, where it has one (HTML: a folder
    `out` holding `index.html` next to copies of the assets; the path of that index.html is
    returned). True (default): one file, every image and sound inside it.

    `blur_faces`: the faces in the reader's photos and in their crops are blurred in the export
    (found by OpenCV's face cascades, classical, and where the photo scene recorded them).

    `music` False: the story's background music (`storyteller score`) is left out; the export is
    then what it is for a story that has none.

    `registry`: where the formats come from (default: the process's plugin registry).

    Raises StoryFolderError (with a fix) when the folder is not a story or an asset is missing or
    does not match its sha256, InvalidInput for a bad format or output path, and
    BackendUnavailable when the format needs an extra that is not installed.
    """
    from storyteller.export.source import StorySource

    registry = _registry(registry)
    entry = registry.exporter(fmt)
    write = registry.export_writer(fmt, folder=not self_contained)
    folder = Path(folder)
    source = StorySource.open(folder, blur_faces=blur_faces, music=music)
    out = Path(out) if out is not None else default_output(folder, source.story.title, fmt,
                                                            self_contained=self_contained, registry=registry)
    _check_output(folder, source, out)
    if not self_contained:
        _write_folder(out, lambda tmp: write(source, tmp))
        return out / "index.html"
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=f".tmp.{entry.extension}")
        os.close(fd)
        write(source, Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        shareable(Path(tmp))
        os.replace(tmp, out)
        tmp = None
        _fsync_folder(out.parent)
    except OSError as exc:  # disk full, read-only, no permission: said with the fix, nothing half-written left
        raise write_error(out, exc, "write") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return out


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
