"""The /commands: the registry (Command, COMMANDS and the `command` decorator that fills it) and
every handler, in the order /help lists them. A handler gets the Play session and the rest of the
line; everything it changes goes through the Python API (play.teller), most of it in play.work so
that Ctrl-C cancels it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from storyteller.cli.play.input import split_path
from storyteller.cli.play.views import page_row, plural
from storyteller.cli.play.worker import shield
from storyteller.errors import InvalidInput

if TYPE_CHECKING:
    from storyteller.cli.play.session import Play

DEFAULT_DIRECTION_FOR_PHOTO = "What the reader's picture shows comes into the story."


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    run: Callable[[Play, str], bool | None]  # False ends the session
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}


def command(name: str, args: str, help: str, *aliases: str):
    """A /command. Its name is the verb the API and the CLI use for the same operation; aliases
    are older or shorter names that keep working (shown in /help)."""
    def register(fn):
        for key in (name, *aliases):
            COMMANDS[key] = Command(name, args, help, fn, aliases)
        return fn
    return register


# -- the commands --------------------------------------------------------------------------------
@command("help", "[COMMAND]", "this list, or one command's help")
def _help(play: Play, rest: str) -> None:
    unique = {c.name: c for c in COMMANDS.values()}
    if rest:
        found = COMMANDS.get(rest.lstrip("/").lower())
        if found is None:
            raise InvalidInput(f"there is no command /{rest.lstrip('/')}")
        play.console.print(Text.assemble((f"/{found.name} {found.args}".strip(), "bold"), f"  {found.help}"))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("any text", "in your own words: the agent does what you ask (the next page, a question about a "
                  "picture, a redraw, a new character, a voice, a fact to keep...) and shows the tools it called; "
                  "the commands below are the exact shortcuts")
    for found in unique.values():
        also = f" (also {', '.join('/' + a for a in found.aliases)})" if found.aliases else ""
        table.add_row(f"/{found.name} {found.args}".strip(), found.help + also)
    play.console.print(table)
    play.console.print(Text("Ctrl-C stops the turn in progress (the story stays as it was); Ctrl-D or /quit leaves. "
                            "Every finished turn is already saved.", style="dim"))


@command("image", "PATH [DIRECTION]", "weave a picture into the next page (it is described, and may bring in a character or place)")
def _image(play: Play, rest: str) -> None:
    from storyteller.images import load_image

    if not rest:
        raise InvalidInput("/image needs a picture, e.g. /image ~/photos/cat.jpg The cat joins the fox")
    raw, direction = split_path(rest)
    path = Path(raw).expanduser()
    if not path.exists():
        raise InvalidInput(f"image not found: {raw}")
    load_image(path)  # an unreadable picture is refused here, before anything starts
    play.direction(direction or DEFAULT_DIRECTION_FOR_PHOTO, image=path)


@command("talk", "[@NAME] WORDS", "say something to a photo scene's characters (plain text does the same there); they answer in their voices")
def _talk(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/talk needs words, e.g. /talk @" + (play.story.characters[0].name if play.story.characters else "Milo")
                           + " what are you looking at?")
    play.talk(rest)


@command("say", "FILE", "say it with a recording (WAV): it is transcribed, shown, and you accept or correct it")
def _say(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/say needs a recording, e.g. /say ~/hello.wav")
    raw, _ = split_path(rest)
    play.heard(Path(raw).expanduser())


@command("mic", "", "push to talk: record from the microphone (where the machine has one), then as /say")
def _mic(play: Play, rest: str) -> None:
    from storyteller.microphone import Recording

    recording = Recording()  # says why not, where there is no input device
    try:
        play.reader.read("press Enter to start recording › ")
        recording.start()
        play.reader.read("speak, then press Enter to stop › ")
        play.heard(recording.stop())
    finally:
        recording.discard()


@command("next", "DIRECTION", "the next page, written from a direction (what plain text asking for one does)")
def _next(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/next needs a direction, e.g. /next They build a sandcastle")
    play.direction(rest)


@command("ask", "[PAGE] QUESTION", "a question about a page's picture, answered by the VQA model (default: the last page)")
def _ask(play: Play, rest: str) -> None:
    first, _, after = rest.partition(" ")
    page, question = (play.page_number(first), after.strip()) if first.isdigit() else (play.page_number(None), rest)
    if not question:
        raise InvalidInput("/ask needs a question, e.g. /ask 2 What colour is the lantern?")
    with play.console.status(f"looking at page {page}…"):
        answer = play.teller.ask(play.folder, page, question)
    play.console.print(Text(answer.text))
    p = answer.provenance
    play.tell(f"  {p.backend} ({p.kind}) {p.model}", "dim")


@command("characters", "", "who is in the story")
def _characters(play: Play, rest: str) -> None:
    from storyteller.export.source import StorySource

    source = StorySource(play.folder, play.story)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "looks", "voice", "pages", "consistency"):
        table.add_column(column)
    for character in play.story.characters:
        pages = [p.number for p in play.story.pages if character.slug in p.characters]
        scores = [s for _, s in source.consistency_scores(character)]
        table.add_row(character.name, character.appearance.describe(),
                      character.voice.voice_id if character.voice else "-", ", ".join(map(str, pages)) or "-",
                      f"{sum(scores) / len(scores):.2f} mean of {len(scores)}" if scores else "-")
    play.console.print(table)


@command("character", "NAME [voice VOICE [rate R] [pitch P]]",
         "a character's sheet, reference picture and consistency scores; with `voice`, list voices or give it another")
def _character(play: Play, rest: str) -> None:
    from storyteller.agent.voices import describe_voice
    from storyteller.export.source import StorySource

    if not rest:
        raise InvalidInput("/character needs a name, e.g. /character " + (play.story.characters[0].name if play.story.characters else "Fern"))
    wants_voice = re.match(r"^(.*?)\s+voice(?:\s+(.*))?$", rest, re.I)
    if wants_voice:
        _voice(play, wants_voice.group(1), (wants_voice.group(2) or "").split())
        return
    character = play.story.named_character(rest)
    look = character.appearance
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("name", character.name + (f" (also {', '.join(character.aliases)})" if character.aliases else ""))
    table.add_row("species", look.species)
    for label, value in (("face", look.face), ("hair", look.hair), ("clothing", look.clothing),
                         ("colours", ", ".join(look.colors)), ("props", ", ".join(look.props)),
                         ("personality", character.personality)):
        if value:
            table.add_row(label, value)
    if character.voice:
        table.add_row("voice", describe_voice(character.voice))
    for asset in character.reference_assets:
        table.add_row("reference", str((play.folder / asset.path).resolve()))
    scores = StorySource(play.folder, play.story).consistency_scores(character)
    if scores:
        table.add_row("consistency", "  ".join(f"p{page} {score:.2f}" for page, score in scores)
                      + f"   (mean {sum(s for _, s in scores) / len(scores):.2f})")
    else:
        table.add_row("consistency", "no scored pages yet")
    play.console.print(table)


def _voice(play: Play, name: str, words: list[str]) -> None:
    """/character NAME voice: list the voices; /character NAME voice VOICE [rate R] [pitch P]: change it."""
    from storyteller.agent.voices import describe_voice

    who = "narrator" if name.strip().lower() == "narrator" else play.story.named_character(name).name
    if not words:
        current = play.story.narrator_voice if who == "narrator" else play.story.named_character(who).voice
        play.tell(f"{who}: {describe_voice(current)}")
        for i, v in enumerate(play.teller.voices(), 1):
            play.console.print(f"  {i:>2}  {v.voice_id:<16} speed ×{1 / v.length_scale:.2f}  pitch {v.pitch_shift:+.1f}")
        play.tell(f"choose one with /character {name.strip()} voice NUMBER (optionally rate 1.1 pitch -2)", "dim")
        return
    options = dict(zip(words[1::2], words[2::2]))
    try:
        rate = float(options["rate"]) if "rate" in options else None
        pitch = float(options["pitch"]) if "pitch" in options else None
    except ValueError:
        raise InvalidInput("rate and pitch are numbers, e.g. /character Fern voice 2 rate 1.1 pitch -2") from None
    story = play.work(lambda on_event, cancel: play.teller.set_voice(
        play.folder, who, words[0], rate=rate, pitch=pitch, on_event=on_event, cancel=cancel))
    turn = next(t for t in reversed(story.history) if t.action == "voice")
    renarrated = sorted({n for t in story.history[turn.number:] if t.action == "renarrate" for n in t.pages})
    play.tell(turn.summary + (f"; pages narrated again: {', '.join(map(str, renarrated))}" if renarrated else ""))


@command("style", "", "the story's illustration style and palette")
def _style(play: Play, rest: str) -> None:
    style = play.story.style
    line = Text.assemble((style.name, "bold"), ("  " + style.description if style.description else "", ""))
    play.console.print(line)
    if style.palette:
        swatches = Text()
        for colour in style.palette:
            swatches.append("██ ", style=colour)
            swatches.append(f"{colour}  ", style="dim")
        play.console.print(swatches)


@command("pages", "", "the pages so far, one line each")
def _pages(play: Play, rest: str) -> None:
    for page in play.story.pages:
        text = page.text if len(page.text) <= 100 else page.text[:99] + "…"
        play.console.print(page_row(page.number, text))


@command("reillustrate", "[PAGE]", "draw a page's picture again with a fresh seed (default: the last page; /undo brings the old one back)",
         "retry")
def _reillustrate(play: Play, rest: str) -> None:
    number = play.page_number(rest.split()[0] if rest else None)
    story = play.work(lambda on_event, cancel: play.teller.reillustrate(play.folder, number, on_event=on_event, cancel=cancel))
    play.tell(f"page {number} has a new picture: {story.pages[number - 1].illustration.path} "
              f"(turn {len(story.history)}; the old file is kept)", "dim")


@command("renarrate", "[PAGE] [VOICE]", "narrate a page again, optionally with another voice, and show the WAV file",
         "narrate")
def _renarrate(play: Play, rest: str) -> None:
    words = rest.split()
    number = play.page_number(words[0] if words else None)
    voice = words[1] if len(words) > 1 else None
    story = play.work(lambda on_event, cancel: play.teller.renarrate(play.folder, number, voice=voice,
                                                                     on_event=on_event, cancel=cancel))
    wav = (play.folder / story.pages[number - 1].narration.path).resolve()
    play.tell(f"page {number} narration: {wav}")


@command("undo", "", "take back the last turn (a page, or a /reillustrate or /renarrate)")
def _undo(play: Play, rest: str) -> None:
    with shield(play.console, "/undo"):
        undone = play.teller.undo(play.folder)
    play.reload()
    play.tell(f"undone: turn {undone.turn.number} ({undone.turn.action}): {undone.summary}; "
              f"the story has {plural(len(play.story.pages), 'page')}")
    play.show_last_page()


@command("branch", "NAME", "start a branch here and go on in it (the current branch stays as it is)")
def _branch(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/branch needs a name, e.g. /branch dragon-ending")
    before = play.branch
    with shield(play.console, "/branch"):
        play.teller.branch(play.folder, rest)
    play.refresh_branches()
    play.tell(f"on branch {play.branch} from page {len(play.story.pages)}; {before} is kept as it was "
              f"(/switch {before} goes back)")


@command("branches", "", "the story's branches")
def _branches(play: Play, rest: str) -> None:
    infos = play.teller.branches(play.folder)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("", "branch", "pages", "turns", "folder"):
        table.add_column(column)
    for info in infos:
        table.add_row("*" if info.active else "", info.name, str(info.pages), str(info.turns), str(info.path))
    play.console.print(table)


@command("switch", "NAME", "go to another branch (the current one is kept)")
def _switch(play: Play, rest: str) -> None:
    if not rest:
        raise InvalidInput("/switch needs a branch name: " + ", ".join(b for b in play.branch_names if b != play.branch))
    with shield(play.console, "/switch"):
        play.teller.switch(play.folder, rest)
    play.refresh_branches()
    play.tell(f"on branch {play.branch}: {plural(len(play.story.pages), 'page')}")
    play.show_last_page()


@command("export", "FORMAT", "the story as html, json, mp4, epub… into its exports/ folder (/export alone lists the formats)")
def _export(play: Play, rest: str) -> None:
    registry = play.teller.toolbox.registry
    fmt = rest.lower().strip()
    if not fmt:
        table = Table(box=None, show_header=False)
        for entry in registry.exporters():
            table.add_row(entry.name, entry.summary)
        play.console.print(table)
        return
    registry.exporter(fmt)  # an unknown format is refused before anything starts
    with play.console.status(f"exporting {fmt}…"):
        path = play.teller.export(play.folder, fmt)
    play.tell(f"exported: {path}")


@command("resume", "", "finish an interrupted run (pages not yet written, drawn or narrated)")
def _resume(play: Play, rest: str) -> None:
    if not play.unfinished:
        play.tell("nothing to finish: every page is written, drawn and narrated", "dim")
        return
    play.finish_unfinished()


@command("save", "", "make sure everything is saved (every finished turn already is)")
def _save(play: Play, rest: str) -> None:
    play.reload()  # reads story.json back from the disk: what is there is what was saved
    state = "unfinished pages remain (/resume)" if play.unfinished else "complete"
    play.tell(f"saved: {plural(len(play.story.pages), 'page')}, {plural(len(play.story.history), 'turn')}, branch {play.branch}, "
              f"{state}, in {play.folder.resolve()}")


@command("quit", "", "leave (every finished turn is saved)", "exit")
def _quit(play: Play, rest: str) -> bool:
    return False

