"""The story folder is the session: `story.json`, `images/`, `audio/`, and a lock.

Only this module writes into a story folder, and every write is atomic (temp file in the same
folder, fsync, rename, fsync the folder), so a crash at any moment leaves either the old file or
the new one, never half of one. story.json is written last, after the assets it references, so a
story never points at a file that does not exist.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import threading
from contextvars import ContextVar
from pathlib import Path

from pydantic import ValidationError

from storyteller.errors import StoryFolderError, StoryFolderWriteError, StoryLocked
from storyteller.story import Asset, AssetKind, Provenance, Story, Turn, slugify

# The agent's step that is at work (storyteller.agent.chat sets it around a tool's operation):
# every turn committed meanwhile records it, so a story's history says which request of the
# reader's, which tool and which arguments made each change.
agent_step: ContextVar[dict | None] = ContextVar("storyteller_agent_step", default=None)

STORY_FILE = "story.json"
LOCK_FILE = ".storyteller.lock"
_ASSET_DIRS = {"image": "images", "reference_image": "images", "photo": "images", "audio": "audio", "midi": "audio"}


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


# The temp names this module gives files it is writing: ".{target}.{8 random}.tmp", beside the
# target (the shape tempfile.mkstemp gave them in earlier versions). A kill between creating one and
# renaming it leaves it behind; `remove_stray_temp_files` removes exactly these names, never others.
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
# Folders of a story folder that hold files written through atomic_write_bytes.
_WRITTEN_DIRS = (".", "images", "audio", "memory")

_FIXES = {
    errno.ENOSPC: "free some space on the disk that holds {folder} (see `df -h {folder}`), then run the command "
                  "again; a story keeps its last saved turn and `storyteller resume` finishes it",
    errno.EDQUOT: "your disk quota is used up: free some space, then run the command again; a story keeps its last "
                  "saved turn and `storyteller resume` finishes it",
    errno.EACCES: "make {folder} writable (`chmod u+w {folder}`), or work on a copy of the story folder in a writable place",
    errno.EPERM: "make {folder} writable (`chmod u+w {folder}`), or work on a copy of the story folder in a writable place",
    errno.EROFS: "{folder} is on a read-only file system: copy the story folder to a writable place and work there",
}


def write_error(path: Path, exc: OSError, doing: str) -> StoryFolderWriteError:
    """An OSError while writing, as an error that says what failed, where, and how to fix it."""
    reason = exc.strerror or str(exc)
    fix = _FIXES.get(exc.errno or 0)
    return StoryFolderWriteError(
        f"could not {doing} {path.name} in {path.parent}: {reason}"
        + (" (a file that was there before is unchanged)" if doing == "write" else ""),
        fix=fix.format(folder=path.parent) if fix else None, errno=exc.errno,
    )


def _open_dir(path: Path, inside: Path | None) -> int:
    """A descriptor of `path`'s folder, created if missing. Under `inside` (a story folder), every
    folder below it is opened without following symbolic links: a link planted in the story
    folder (images -> /somewhere) must never take a write outside it."""
    if inside is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    relative = path.parent.relative_to(inside)  # ValueError: a caller bug, not user input
    fd = os.open(inside, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the root itself is the user's choice
    try:
        for part in relative.parts:
            try:
                os.mkdir(part, 0o777, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise StoryFolderError(
                        f"{inside / relative} is not a plain folder (a symbolic link or a file): storyteller writes "
                        "only inside the story folder and never follows links there",
                        fix=f"remove {inside / part} (it is not part of a story) and run the command again",
                    ) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def asset_file(root: Path, relative: str) -> Path:
    """The path of a file of the story folder `root` (relative, as story.json records it), after
    checking that no part of it below `root` is a symbolic link: an asset linked out of the
    folder would hand its bytes (a photo, a key file) to an export, the memory or a model. The
    folder is locked while storyteller works in it, so nothing swaps a part between the check and
    the read."""
    path = Path(root)
    for part in Path(relative).parts:
        path = path / part
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise StoryFolderError(
                    f"{relative} in {root} is a symbolic link ({path.name} -> {os.readlink(path)}): storyteller reads "
                    "only the story folder's own files",
                    fix=f"replace {path} with the file itself, or make that page again (reillustrate/renarrate)")
        except FileNotFoundError:
            break  # the caller reports a missing file in its own words
    return Path(root) / relative


def atomic_write_bytes(path: Path, data: bytes, *, inside: Path | None = None) -> None:
    """Write `data` to `path` so that a crash leaves the old file or the new one, never half of one.

    The data goes to a temp file beside the target (created exclusively, never through a link),
    is fsynced and renamed over the target (a link at the target is replaced, not followed), then
    the folder is fsynced. `inside`: the story folder `path` lies in; no folder below it is
    followed if it is a symbolic link. An OSError (disk full, read-only, permission denied) becomes
    a StoryFolderWriteError saying what failed and how to fix it; the temp file is removed.
    """
    path = Path(path)
    try:
        dir_fd = _open_dir(path, inside)
    except OSError as exc:
        raise write_error(path, exc, "create the folder for") from exc
    tmp = None
    try:
        for _ in range(100):
            name = f".{path.name}.{''.join(secrets.choice(_TEMP_CHARS) for _ in range(8))}.tmp"
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o666, dir_fd=dir_fd)  # the umask applies, as for any file the user creates
            except FileExistsError:
                continue
            tmp = name
            break
        else:  # pragma: no cover - 100 collisions of 36**8 names
            raise FileExistsError(errno.EEXIST, "no free temp file name")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        # By path (not dir_fd): callers and tests may watch os.replace by its target. The folder was
        # opened without following links just above; a link planted before the write is refused
        # there (racing the write with a new link is out of scope: that needs write access anyway).
        os.replace(path.parent / tmp, path)
        tmp = None
        os.fsync(dir_fd)
    except OSError as exc:
        raise write_error(path, exc, "write") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
        os.close(dir_fd)


def remove_stray_temp_files(root: Path) -> list[Path]:
    """Remove the temp files a killed process left in a story folder (only names of the shape
    atomic_write_bytes gives, only plain files, only in the folders it writes). Call it only while
    holding the folder's lock: then no other process is in the middle of writing one."""
    removed = []
    for sub in _WRITTEN_DIRS:
        folder = root / sub
        if folder.is_symlink() or not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                except OSError:  # a read-only folder: they do no harm, story.json never names them
                    continue
                removed.append(Path(entry.path))
    return removed


def free_folder(name: str | Path) -> Path:
    """`name` when no such folder exists or it is empty, else the first free `name-2`, `name-3`, ...:
    where a new story goes without touching an earlier one (a script run again, a premise told twice)."""
    base = Path(name)
    folder, n = base, 2
    while folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        folder, n = base.with_name(f"{base.name}-{n}"), n + 1
    return folder


def read_bytes(path: Path, *, missing: StoryFolderError) -> bytes:
    """A story file's bytes: `missing` is raised when it is not there, the system's reason otherwise."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise missing from None
    except OSError as exc:
        raise StoryFolderError(f"cannot read {path}: {exc.strerror}") from exc


def load_story(path: Path) -> Story:
    """Read and validate story.json; any problem becomes a StoryFolderError naming the file."""
    story_file = Path(path) / STORY_FILE
    raw = read_bytes(story_file, missing=StoryFolderError(f"{path} is not a story folder (no {STORY_FILE})",
                                                          fix="create one with `storyteller new PREMISE --out DIR`"))
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
        except OSError as exc:  # a read-only folder or disk, no permission: the lock file cannot be written
            raise write_error(root / LOCK_FILE, exc, "open the lock file") from exc
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
        remove_stray_temp_files(root)  # a run killed before its first save may have left one
        try:
            folder.save()
        except BaseException:
            folder.close()
            raise
        return folder

    @classmethod
    def open(cls, root: Path | str) -> StoryFolder:
        root = Path(root)
        if not root.is_dir():
            raise StoryFolderError(f"{root} is not a folder", fix="pass the folder given to --out")
        lock = cls._acquire(root)
        try:
            story = load_story(root)
            # Holding the lock, no other process is writing here: temp files are a killed one's.
            remove_stray_temp_files(root)
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
            atomic_write_bytes(self.root / STORY_FILE, data, inside=self.root)

    def write_asset(
        self, kind: AssetKind, stem: str, data: bytes, *, suffix: str, media_type: str, provenance: Provenance
    ) -> Asset:
        """Write an asset file atomically and return its record (not yet in story.json)."""
        relative = f"{_ASSET_DIRS[kind]}/{slugify(stem, fallback=kind)}{suffix}"
        atomic_write_bytes(self.root / relative, data, inside=self.root)
        return Asset(
            path=relative,
            kind=kind,
            sha256=hashlib.sha256(data).hexdigest(),
            media_type=media_type,
            provenance=provenance,
        )

    def commit(self, action: str, summary: str, pages: list[int] | None = None, previous: dict | None = None) -> Turn:
        """Record a completed turn in the history and save the story: the unit of durability."""
        turn = Turn(number=len(self.story.history) + 1, action=action, summary=summary, pages=pages or [],
                    previous=previous, agent=agent_step.get())
        self.story.history.append(turn)
        self.save()
        return turn

    def asset_path(self, asset: Asset) -> Path:
        """Where an asset's file is, refusing one reached through a symbolic link (asset_file)."""
        return asset_file(self.root, asset.path)

