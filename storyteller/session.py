"""The story folder is the session: `story.json`, `images/`, `audio/`, and a lock.

Only this module writes into a story folder, and every write is atomic (temp file in the same
folder, fsync, rename, fsync the folder), so a crash at any moment leaves either the old file or
the new one, never half of one. story.json is written last, after the assets it references, so a
story never points at a file that does not exist.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError

from storyteller.errors import StoryFolderError, StoryLocked
from storyteller.story import Asset, AssetKind, Provenance, Story, Turn, slugify

STORY_FILE = "story.json"
LOCK_FILE = ".storyteller.lock"
_ASSET_DIRS = {"image": "images", "reference_image": "images", "photo": "images", "audio": "audio"}


def shareable(path: Path) -> None:
    """Temp files are created private (0600/0700); a story file or export gets the permissions a
    normally created one would get under the user's umask."""
    path.chmod((0o777 if path.is_dir() else 0o666) & ~_umask())


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads; Linux shows it.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_story(path: Path) -> Story:
    """Read and validate story.json; any problem becomes a StoryFolderError naming the file."""
    story_file = Path(path) / STORY_FILE
    try:
        raw = story_file.read_bytes()
    except FileNotFoundError:
        raise StoryFolderError(
            f"{path} is not a story folder (no {STORY_FILE})",
            fix="create one with `storyteller new PREMISE --out DIR`",
        ) from None
    except OSError as exc:
        raise StoryFolderError(f"cannot read {story_file}: {exc.strerror}") from exc
    try:
        return Story.model_validate_json(raw)
    except ValidationError as exc:
        raise StoryFolderError(f"{story_file} is not a valid story: {exc.error_count()} problem(s)\n{exc}") from exc


class StoryFolder:
    """An open, locked story folder. Use as a context manager or call close()."""

    def __init__(self, root: Path, story: Story, lock):
        self.root = root
        self.story = story
        self._lock = lock
        # Illustrate and narrate run concurrently; both end in a save.
        self._save_lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------
    @staticmethod
    def _acquire(root: Path):
        from filelock import FileLock, Timeout

        lock = FileLock(str(root / LOCK_FILE), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoryLocked(
                f"{root} is open in another storyteller process",
                fix="close the other session first, or work on a copy of the folder",
            ) from None
        return lock

    @classmethod
    def create(cls, root: Path | str, story: Story) -> StoryFolder:
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoryFolderError(f"{root} exists and is not a folder", fix="choose another --out")
        if (root / STORY_FILE).exists():
            raise StoryFolderError(
                f"{root} already holds a story", fix=f"continue it with `storyteller resume {root}` or choose another --out"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoryFolderError(f"cannot create {root}: {exc.strerror}") from exc
        folder = cls(root, story, cls._acquire(root))
        folder.save()
        return folder

    @classmethod
    def open(cls, root: Path | str) -> StoryFolder:
        root = Path(root)
        if not root.is_dir():
            raise StoryFolderError(f"{root} is not a folder", fix="pass the folder given to --out")
        lock = cls._acquire(root)
        try:
            story = load_story(root)
        except BaseException:
            lock.release()
            raise
        return cls(root, story, lock)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> StoryFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------
    def save(self) -> None:
        with self._save_lock:
            data = self.story.model_dump_json(indent=2).encode("utf-8")
            atomic_write_bytes(self.root / STORY_FILE, data)

    def write_asset(
        self, kind: AssetKind, stem: str, data: bytes, *, suffix: str, media_type: str, provenance: Provenance
    ) -> Asset:
        """Write an asset file atomically and return its record (not yet in story.json)."""
        relative = f"{_ASSET_DIRS[kind]}/{slugify(stem, fallback=kind)}{suffix}"
        atomic_write_bytes(self.root / relative, data)
        return Asset(
            path=relative,
            kind=kind,
            sha256=hashlib.sha256(data).hexdigest(),
            media_type=media_type,
            provenance=provenance,
        )

    def commit(self, action: str, summary: str, pages: list[int] | None = None) -> Turn:
        """Record a completed turn in the history and save the story: the unit of durability."""
        turn = Turn(number=len(self.story.history) + 1, action=action, summary=summary, pages=pages or [])
        self.story.history.append(turn)
        self.save()
        return turn

    def asset_path(self, asset: Asset) -> Path:
        return self.root / asset.path

