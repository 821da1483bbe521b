"""Undo and named branches of a story folder: the part of the session that goes back in time.

**Undo** reverts the last turn of the history, exactly:

- a `page`, `continue` or `talk` turn: the page goes, with its beat in the outline (the story now ends at
  the page before, so the next direction writes the page that follows it), and the files it made
  (picture, narration, the reader's photo) are deleted, and so is anyone who joined the cast on it. The first page cannot be undone;
- a `reillustrate` or `renarrate` turn: the previous picture or narration comes back, with its own
  record (the new asset's provenance keeps the record it replaced, `replaced_asset`, and, for a
  picture redrawn with a change, the page's staging before it, `replaced_shot`), and the new
  file is deleted;
- a `character` turn: a character the reader added leaves the cast (with their sheet picture), or a
  changed one gets their previous sheet and sheet picture back;
- a `voice` turn: the character's (or narrator's) previous voice comes back;
- a `music` turn: the music before it comes back (or none), and the new pieces are deleted;
- `plan` and `edit` turns cannot be undone (nothing before a plan; an edit keeps no copy of what it
  changed: `Storyteller.save` is the place to edit back).

The turn leaves the history, story.json is saved, then the memory follows (`Memory.sync`): a crash in
between leaves the memory ahead of the story, which the next `Memory.open(..., story=...)` trims.

**Branches.** The story folder always holds the branch you are on (so every command, export and
`resume` works on it unchanged); every other branch is *parked* as a complete story folder under
`DIR/branches/NAME/`, which you can also open, export or copy on its own. A parked copy is made of
hard links (a copy where the file system has none): story files are only ever replaced by atomic
rename, never rewritten in place, so a linked file never changes under another branch. `exports/`
belongs to no branch and is not copied. `DIR/branches/branches.json` names the branch in the folder.

Switching parks the current branch first, records the switch in branches.json, links the target's
files into the folder (story.json last), deletes the files the target does not have, and only then
records the target as current. A switch interrupted by a crash is finished by the next branch
operation (`Storyteller.branches`, which `storyteller play DIR` calls on start).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyteller.errors import InvalidInput, StoryFolderError
from storyteller.session import LOCK_FILE, STORY_FILE, StoryFolder, atomic_write_bytes, load_story
from storyteller.story import Asset, Character, MusicCue, Shot, Story, Turn, Voice

BRANCHES_DIR = "branches"
MANIFEST = "branches.json"
DEFAULT_BRANCH = "main"
# Never part of a branch: the parked branches themselves, exports (derived; rebuilt on demand), the lock.
_NOT_IN_A_BRANCH = {BRANCHES_DIR, "exports", LOCK_FILE}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")

MemoryOpener = Callable[[Story], Any]  # story -> storyteller.memory.Memory synced to that story


# =============================================================================================
# undo
# =============================================================================================
@dataclass(frozen=True)
class Undone:
    """What `undo` did: the turn it took back, and the story as it is now."""

    turn: Turn
    story: Story
    summary: str                 # one line, e.g. "removed page 4" or "page 2: back to images/page-02.png"
    deleted: tuple[str, ...]     # files (relative to the folder) deleted because nothing refers to them now


def undo_last_turn(opened: StoryFolder, open_memory: MemoryOpener) -> Undone:
    """Revert the last turn of an open (locked) story folder; see the module docstring."""
    story = opened.story
    if not story.history:
        raise InvalidInput("there is nothing to undo: the story has no history")
    last = story.history[-1]
    if last.action == "plan":
        raise InvalidInput("there is nothing to undo: the story has only its plan")
    if len(story.pages) < len(story.outline) or not all(p.illustration and p.narration for p in story.pages):
        raise StoryFolderError(
            f"{opened.root} has an unfinished page (an interrupted run), so its last turn is not the last change",
            fix=f"finish it first with `storyteller resume {opened.root}` (or `storyteller play {opened.root}`)")
    if last.action in ("page", "continue", "talk"):
        return _undo_page(opened, open_memory, last)
    if last.action in ("reillustrate", "renarrate"):
        return _undo_replacement(opened, open_memory, last)
    if last.action == "voice" and last.previous is not None:
        return _undo_voice(opened, open_memory, last)
    if last.action == "fact" and last.previous is not None:
        return _undo_fact(opened, open_memory, last)
    if last.action == "character" and last.previous is not None:
        return _undo_character(opened, open_memory, last)
    if last.action == "music" and last.previous is not None:
        return _undo_music(opened, open_memory, last)
    raise InvalidInput(f"turn {last.number} ({last.action}: {last.summary}) cannot be undone",
                       fix="an edit keeps no copy of what it changed; load the story, edit it back and save it")


def _undo_page(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    story = opened.story
    number = turn.pages[0] if turn.pages else len(story.pages)
    if number != len(story.pages):
        raise StoryFolderError(f"turn {turn.number} made page {number}, but the story's last page is {len(story.pages)}",
                               fix="story.json was edited by hand; check its pages and history")
    if number == 1:
        raise InvalidInput("page 1 cannot be undone: a story keeps at least its first page",
                           fix="start a new story instead")
    after = story.model_copy(deep=True)
    page = after.pages.pop()
    del after.outline[len(after.pages):]
    after.history.pop()
    files = [a.path for a in (page.illustration, page.narration) if a is not None]
    # Characters who joined on this page leave with it, with their sheet pictures.
    joined = [c for c in after.characters if c.joined == number]
    after.characters = [c for c in after.characters if c.joined != number]
    files += [a.path for c in joined for a in c.reference_assets]
    photo = (page.text_provenance.parameters.get("photo") if page.text_provenance else None)
    if isinstance(photo, str):
        files.append(photo)
    deleted = _commit_undo(opened, open_memory, after, files)
    left = f" (and {', '.join(c.name for c in joined)}, who joined on it)" if joined else ""
    return Undone(turn=turn, story=after, summary=f"removed page {number}{left}", deleted=deleted)


def _undo_voice(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    """Put a character's (or the narrator's) previous voice back. Pages narrated again with the new
    voice are their own "renarrate" turns, undone before this one."""
    after = opened.story.model_copy(deep=True)
    slug, voice = turn.previous.get("character"), turn.previous.get("voice")
    old = Voice.model_validate(voice) if voice else None
    if slug is None:
        after.narrator_voice = old
    else:
        try:
            after.character(slug).voice = old
        except KeyError:
            raise StoryFolderError(f"turn {turn.number} changed the voice of {slug!r}, which the story no longer has") from None
    after.history.pop()
    deleted = _commit_undo(opened, open_memory, after, [])
    who = "the narrator" if slug is None else after.character(slug).name
    return Undone(turn=turn, story=after, summary=f"{who}: voice back to {old.voice_id if old else 'none'}", deleted=deleted)


def _undo_music(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    """Put the story's previous music back (none, or the cues composed before), deleting the new files."""
    after = opened.story.model_copy(deep=True)
    made = [a.path for cue in after.music for a in (cue.audio, cue.score) if a is not None]
    after.music = [MusicCue.model_validate(cue) for cue in turn.previous.get("music", [])]
    after.history.pop()
    deleted = _commit_undo(opened, open_memory, after, made)
    return Undone(turn=turn, story=after, summary=f"music back to {len(after.music)} cue(s)" if after.music
                  else "the story has no music again", deleted=deleted)


def _undo_fact(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    """Forget a remembered fact (a "fact" turn)."""
    after = opened.story.model_copy(deep=True)
    after.history.pop()
    record = turn.previous.get("record")
    deleted = _commit_undo(opened, open_memory, after, [],
                           lambda memory: memory.forget([record]) if isinstance(record, int) else None)
    return Undone(turn=turn, story=after, summary=f"forgot: {turn.previous.get('fact', '')}", deleted=deleted)


def _undo_character(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    """Take a character the reader added out of the cast (the memory follows: Memory.sync)."""
    after = opened.story.model_copy(deep=True)
    if "sheet" in turn.previous:
        return _undo_change(opened, open_memory, turn, after)
    slug = turn.previous.get("added")
    try:
        gone = after.character(slug)
    except KeyError:
        raise StoryFolderError(f"turn {turn.number} added {slug!r}, which the story no longer has") from None
    after.characters.remove(gone)
    after.history.pop()
    deleted = _commit_undo(opened, open_memory, after, [a.path for a in gone.reference_assets])
    return Undone(turn=turn, story=after, summary=f"{gone.name} left the cast", deleted=deleted)


def _undo_change(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn, after: Story) -> Undone:
    """Put a character's previous sheet back, with its sheet picture (pages redrawn with the new
    look are their own "reillustrate" turns, undone before this one)."""
    old = Character.model_validate(turn.previous["sheet"])
    index = next((i for i, c in enumerate(after.characters) if c.slug == old.slug), None)
    if index is None:
        raise StoryFolderError(f"turn {turn.number} changed {old.slug!r}, which the story no longer has")
    new = after.characters[index]
    after.characters[index] = old
    after.history.pop()

    def remember(memory) -> None:
        memory.forget_images(old.slug)
        memory.add_character(old, page=old.joined)  # with the old sheet picture, read from the folder

    deleted = _commit_undo(opened, open_memory, after, [a.path for a in new.reference_assets], remember)
    return Undone(turn=turn, story=after, summary=f"{old.name}: the sheet is as it was", deleted=deleted)


def _undo_replacement(opened: StoryFolder, open_memory: MemoryOpener, turn: Turn) -> Undone:
    story = opened.story
    slot = "illustration" if turn.action == "reillustrate" else "narration"
    number = turn.pages[0] if turn.pages else 0
    if not 1 <= number <= len(story.pages):
        raise StoryFolderError(f"turn {turn.number} names page {number}, which the story does not have")
    current: Asset | None = getattr(story.pages[number - 1], slot)
    record = current.provenance.parameters.get("replaced_asset") if current else None
    if not isinstance(record, dict):
        raise StoryFolderError(
            f"turn {turn.number} ({turn.action} page {number}) cannot be undone: the record of the previous "
            f"{slot} was not kept (made by an older storyteller)",
            fix=f"keep the new {slot}, or redo it with `{turn.action}`")
    previous = Asset.model_validate(record)
    path = opened.asset_path(previous)
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != previous.sha256:
        raise StoryFolderError(f"the previous {slot} of page {number}, {previous.path}, is missing or was changed",
                               fix=f"keep the new {slot}")
    after = story.model_copy(deep=True)
    setattr(after.pages[number - 1], slot, previous)
    if "replaced_shot" in current.provenance.parameters:  # redrawn with a change: it was staged again
        shot = current.provenance.parameters["replaced_shot"]
        after.pages[number - 1].shot = Shot.model_validate(shot) if shot else None
    after.history.pop()

    def remember(memory) -> None:
        if slot == "illustration" and memory.image_embedder is not None:
            memory.add_illustration(number, path, asset=previous.path, characters=after.pages[number - 1].characters)

    deleted = _commit_undo(opened, open_memory, after, [current.path], remember)
    return Undone(turn=turn, story=after, summary=f"page {number}: back to {previous.path}", deleted=deleted)


def _commit_undo(opened: StoryFolder, open_memory: MemoryOpener, after: Story, files: list[str],
                 remember: Callable[[Any], None] | None = None) -> tuple[str, ...]:
    """Save the story without the turn, then bring the memory along, then delete orphaned files."""
    opened.story = after
    opened.save()
    memory = open_memory(after)  # Memory.open(..., story=after) drops the later pages' records
    if remember is not None:
        remember(memory)
    memory.save()
    still_used = {a.path for a in after.assets()}
    deleted = []
    for relative in files:
        if relative in still_used:
            continue
        target = opened.root / relative
        if target.is_file():
            target.unlink()  # a parked branch that shares the file keeps its own link to it
            deleted.append(relative)
    return tuple(deleted)


# =============================================================================================
# branches
# =============================================================================================
@dataclass(frozen=True)
class BranchInfo:
    name: str
    active: bool        # the branch in the story folder itself
    path: Path          # where its story.json is (the story folder, or DIR/branches/NAME)
    title: str
    pages: int
    turns: int


def check_branch_name(name: str) -> str:
    cleaned = name.strip()
    if not _NAME.fullmatch(cleaned):
        raise InvalidInput(f"{name!r} is not a branch name: use 1 to 40 lower-case letters, digits, '.', '-' or '_', "
                           "starting with a letter or digit", fix="e.g. `alt`, `dragon-ending`, `v2`")
    return cleaned


class Branches:
    """The branches of an open (locked) story folder. Every method first finishes an interrupted switch."""

    def __init__(self, opened: StoryFolder):
        self.opened = opened
        self.root = opened.root
        self.dir = opened.root / BRANCHES_DIR
        self.recover()

    # -- state -------------------------------------------------------------------------------
    def _manifest(self) -> dict:
        path = self.dir / MANIFEST
        if not path.is_file():
            return {"active": DEFAULT_BRANCH}
        try:
            data = json.loads(path.read_bytes())
            check_branch_name(data["active"])
            if data.get("switching") is not None:
                check_branch_name(data["switching"])
            return data
        except (OSError, ValueError, KeyError, TypeError, InvalidInput) as exc:
            raise StoryFolderError(f"{path} is not a readable branch manifest: {exc}",
                                   fix='write {"active": "main"} into it, naming the branch the folder holds') from exc

    def _write_manifest(self, active: str, switching: str | None = None) -> None:
        data: dict = {"active": active}
        if switching is not None:
            data["switching"] = switching
        atomic_write_bytes(self.dir / MANIFEST, json.dumps(data, indent=2).encode())

    @property
    def active(self) -> str:
        return self._manifest()["active"]

    def parked(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir()
                      if p.is_dir() and _NAME.fullmatch(p.name) and (p / STORY_FILE).is_file())

    def listing(self) -> list[BranchInfo]:
        story = self.opened.story
        found = [BranchInfo(self.active, True, self.root, story.title, len(story.pages), len(story.history))]
        for name in self.parked():
            parked = load_story(self.dir / name)
            found.append(BranchInfo(name, False, self.dir / name, parked.title, len(parked.pages), len(parked.history)))
        return sorted(found, key=lambda b: b.name)

    def recover(self) -> None:
        """Finish a switch that a crash interrupted; drop a stale parked copy of the current branch."""
        manifest = self._manifest()
        target = manifest.get("switching")
        if target is not None:
            if (self.dir / target / STORY_FILE).is_file():
                self._finish_switch(target)
            else:  # the target was already moved in and cleaned up; only the manifest lags behind
                self._write_manifest(target)
            return
        stale = self.dir / manifest["active"]
        if stale.is_dir():  # a crash after parking, before the manifest moved on: the folder is that branch
            shutil.rmtree(stale)

    # -- operations --------------------------------------------------------------------------
    def create(self, name: str) -> Story:
        """A new branch from the story as it is now, which becomes the current one; the branch you
        were on is parked unchanged under its name."""
        name = check_branch_name(name)
        active = self.active
        if name == active or name in self.parked():
            raise InvalidInput(f"there is already a branch {name!r}", fix=f"switch to it with `/switch {name}`, or pick another name")
        self._park(active)
        self._write_manifest(name)
        return self.opened.story

    def switch(self, name: str) -> Story:
        """Park the current branch and bring `name` into the story folder; returns its story."""
        name = check_branch_name(name)
        active = self.active
        if name == active:
            raise InvalidInput(f"you are already on branch {name!r}")
        if name not in self.parked():
            known = ", ".join(b.name for b in self.listing())
            raise InvalidInput(f"there is no branch {name!r}; the branches are {known}",
                               fix=f"make one with `/branch {name}`")
        self._park(active)
        self._write_manifest(active, switching=name)
        self._finish_switch(name)
        return self.opened.story

    # -- files -------------------------------------------------------------------------------
    def _park(self, name: str) -> None:
        """Copy the story folder (hard links) to branches/NAME, replacing a stale copy."""
        self.dir.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.dir, prefix=f".{name}.", suffix=".tmp"))
        try:
            for relative in _branch_files(self.root):
                _link(self.root / relative, tmp / relative)
            target = self.dir / name
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
            _fsync_dir(self.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _finish_switch(self, name: str) -> None:
        source = self.dir / name
        wanted = _branch_files(source)
        # story.json last: until it is replaced, the folder's story is the old one, whose files
        # are safe in its parked copy; a crash here is finished by `recover`.
        for relative in sorted(wanted, key=lambda r: r == Path(STORY_FILE)):
            target = self.root / relative
            if target.exists() and os.path.samefile(source / relative, target):
                continue  # the branches share this file (rename() would do nothing and keep the temp name)
            tmp = target.parent / f".{target.name}.switch.tmp"
            _link(source / relative, tmp)
            os.replace(tmp, target)
        touched = {(self.root / r).parent for r in wanted}
        for relative in _branch_files(self.root):
            if relative not in wanted:
                (self.root / relative).unlink()
                touched.add((self.root / relative).parent)
        for folder in touched:
            _fsync_dir(folder)
        self.opened.story = load_story(self.root)
        self._write_manifest(name)
        shutil.rmtree(source)


def _branch_files(root: Path) -> set[Path]:
    """Every file of the story in `root`, relative, without what belongs to no branch."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root)
        if here == Path("."):
            dirnames[:] = [d for d in dirnames if d not in _NOT_IN_A_BRANCH]
        for filename in filenames:
            if (here == Path(".") and filename in _NOT_IN_A_BRANCH) or (filename.startswith(".") and filename.endswith(".tmp")):
                continue  # the lock, and atomic writes that a crash left behind
            found.add(here / filename)
    return found


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # no hard links here (another device, some network file systems): a real copy
        shutil.copy2(source, target)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
