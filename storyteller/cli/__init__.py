"""The `storyteller` command: a thin typer layer over storyteller.api.

This is the one place where StorytellerError becomes a friendly message (and an exit code).
Imports of the library happen inside commands so that `storyteller --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="storyteller",
    help="Turn an idea, a photo or a conversation into an illustrated, narrated story.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="TOML config file (default: ./storyteller.toml or ~/.config/storyteller/config.toml)."),
]
FolderArgument = Annotated[Path, typer.Argument(help="A story folder.")]
PageArgument = Annotated[int, typer.Argument(help="Page number.")]


def _console():
    from rich.console import Console

    return Console(stderr=True)


@app.command()
def new(
    premise: Annotated[str, typer.Argument(help='What the story is about, e.g. "A fox who finds a lantern in the snow".')],
    out: Annotated[Path, typer.Option("--out", "-o", help="Story folder to create.")],
    pages: Annotated[int, typer.Option("--pages", "-p", min=1, max=50, help="Number of pages.")] = 6,
    style: Annotated[str, typer.Option("--style", "-s", help="Illustration style, e.g. watercolor, pencil, crayon, pixel art.")] = "watercolor",
    seed: Annotated[int, typer.Option(min=0, help="Base seed; the same seed and models give the same story.")] = 0,
    image: Annotated[Optional[Path], typer.Option("--image", "-i", help="A photo to start from (described for the planner, copied into the story).")] = None,
    language: Annotated[Optional[str], typer.Option("--language", "-l", help="The story's language: en, zh (default: the premise's).")] = None,
    config: ConfigOption = None,
) -> None:
    """Plan, write, illustrate and narrate a new story into a folder."""
    from storyteller.cli.progress import StoryProgress

    teller = _storyteller(config)
    with StoryProgress(_console(), pages) as progress:
        story = teller.new_story(premise, out=out, pages=pages, style=style, seed=seed, image=image, language=language,
                                 on_event=progress.on_event)
    _summary(story, out)


@app.command()
def photo(
    image: Annotated[Path, typer.Argument(help="A photo with people or animals in it.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to create for the scene.")],
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, max=20, help="Lines of dialogue.")] = 6,
    mood: Annotated[str, typer.Option("--mood", "-m", help="The scene's mood, e.g. playful, tender, grumpy, spooky.")] = "playful",
    seed: Annotated[int, typer.Option(min=0, help="Seed; the same seed and models give the same scene.")] = 0,
    keep_metadata: Annotated[bool, typer.Option("--keep-metadata", help="Store the photo as it is, EXIF and GPS included (default: removed, pixels kept).")] = False,
    language: Annotated[str, typer.Option("--language", "-l", help="The scene's language: en, zh.")] = "en",
    config: ConfigOption = None,
) -> None:
    """Make a photo speak: who is in it, what they say to each other, each line in its speaker's voice.
    A photo with nobody in it gets a guide who talks about the things in it."""
    from rich.console import Console

    from storyteller.agent.scene import looks
    from storyteller.agent.voices import describe_voice

    console = _console()
    with console.status("finding who is in the photo, naming them, writing and narrating the scene…"):
        story = _storyteller(config).photo_scene(image, out=out, lines=lines, mood=mood, seed=seed, language=language,
                                                 keep_metadata=keep_metadata)
    stdout = Console()
    stdout.print(f"[bold]{story.title}[/bold] in [cyan]{out}[/cyan]")
    for c in story.characters:
        region = c.photo_region
        stdout.print(f"  [bold]{c.name}[/bold], a {c.appearance.species}"
                     + (f" found at x {region.x:.0%}–{region.x + region.w:.0%} by {region.detector}" if region else "")
                     + (f", {looks(c.expression)} ({c.expression.method})" if looks(c.expression) else "")
                     + f"; voice {describe_voice(c.voice)}")
    page = story.pages[0]
    for thing in page.objects:
        stdout.print(f"  [bold]{thing.name}[/bold] found at x {thing.region.x:.0%}–{thing.region.x + thing.region.w:.0%} "
                     f"by {thing.region.detector}")
    _show_lines(stdout, story, page)
    metadata = page.illustration.provenance.parameters.get("metadata", "") if page.illustration else ""
    stdout.print(f"  [dim]photo metadata {metadata}[/dim]")
    stdout.print(f"  [dim]{page.narration.path if page.narration else ''}; talk with them: `storyteller talk {out} \"...\"`; "
                 f"export with `storyteller export {out}`[/dim]")


def _show_lines(stdout, story, page) -> None:
    from storyteller import languages

    reader = languages.get(story.language).photo["reader"]
    for i, line in enumerate(page.narration.lines if page.narration else []):
        name = story.character(line.speaker).name if line.speaker else (reader if page.exchange and i == 0 else "Narrator")
        tone = f" [dim]({line.tone})[/dim]" if line.tone else ""
        stdout.print(f"  [dim]{line.start_s:5.1f}s[/dim] {name}{tone}: {line.text}")


@app.command()
def talk(
    folder: Annotated[Path, typer.Argument(help="A photo scene's folder (made by `storyteller photo`).")],
    text: Annotated[Optional[str], typer.Argument(help='What you say, e.g. "@Milo what are you looking at?" or "Milo, hello!".')] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Who you talk to (else the one your words name, else the last one).")] = None,
    say: Annotated[Optional[Path], typer.Option("--say", help="A recording (WAV) of what you say, transcribed by Whisper.")] = None,
    mic: Annotated[bool, typer.Option("--mic", help="Say it into the microphone (Enter stops), where the machine has one.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Use what was heard without asking to confirm or correct it.")] = False,
    config: ConfigOption = None,
) -> None:
    """Talk with the people and animals of a photo scene: they answer in character, in their voices."""
    from rich.console import Console

    from storyteller.session import load_story

    teller = _storyteller(config)
    if [text is not None, say is not None, mic].count(True) != 1:
        raise typer.BadParameter("say it one way: TEXT, --say FILE.wav, or --mic")
    heard = None
    if text is None:
        recording = None
        if mic:
            from storyteller.microphone import Recording

            recording = Recording()  # says why not where there is no input device
            if not sys.stdin.isatty():
                raise typer.BadParameter("--mic needs a terminal (Enter stops the recording)")
            input("recording from the microphone: press Enter to start")
            recording.start()
            input("… speak now, then press Enter to stop")
            say = recording.stop()
        try:
            with _console().status("listening to what you said…"):
                heard = teller.listen(say, language=load_story(folder).language)
        finally:
            if recording is not None:
                recording.discard()
        typer.echo(f"heard: {heard.text}")
        text = heard.text
        if not yes:
            if not sys.stdin.isatty():
                raise typer.BadParameter("not a terminal, so what was heard cannot be confirmed: add --yes to use it as "
                                         "heard, or give the words as TEXT")
            correction = input("Enter to use it, or type what you said: ").strip()
            text = correction or heard.text
    with _console().status("they are answering…"):
        story = teller.talk(folder, text, to=to, heard=heard)
    _show_lines(Console(), story, story.pages[-1])
    typer.echo(f"  {story.pages[-1].narration.path} (turn {len(story.history)}; `storyteller export {folder}` shows the conversation)")


@app.command()
def voice(
    folder: FolderArgument,
    character: Annotated[Optional[str], typer.Argument(help="A character's name, or 'narrator'. Leave out to list voices.")] = None,
    voice_id: Annotated[Optional[str], typer.Argument(metavar="VOICE", help="A voice id or its number from the list.")] = None,
    rate: Annotated[Optional[float], typer.Option(help="Speed, e.g. 1.1 for 10 % faster.")] = None,
    pitch: Annotated[Optional[float], typer.Option(help="Pitch shift in semitones, e.g. -2.")] = None,
    renarrate_pages: Annotated[bool, typer.Option("--renarrate/--no-renarrate", help="Narrate the pages where the voice is heard again.")] = True,
    config: ConfigOption = None,
) -> None:
    """List the narrator's voices and who has which, or give a character (or the narrator) another voice."""
    from rich.console import Console
    from rich.table import Table

    from storyteller.agent.voices import describe_voice
    from storyteller.session import load_story

    teller = _storyteller(config)
    if character is not None and voice_id is None:
        raise typer.BadParameter("give the voice too, e.g. `storyteller voice DIR Fern 2`", param_hint="VOICE")
    if character is not None:
        story = teller.set_voice(folder, character, voice_id, rate=rate, pitch=pitch, renarrate=renarrate_pages)
        typer.echo(next(t.summary for t in reversed(story.history) if t.action == "voice"))
        return
    story = load_story(folder)
    table = Table(title="Voices of the narrator backend")
    for column in ("#", "voice", "speed", "pitch", "used by"):
        table.add_column(column)
    users: dict[str, list[str]] = {}
    if story.narrator_voice:
        users.setdefault(story.narrator_voice.voice_id, []).append("narrator")
    for c in story.characters:
        if c.voice:
            users.setdefault(c.voice.voice_id, []).append(c.name)
    for i, v in enumerate(teller.voices(), 1):
        table.add_row(str(i), v.voice_id, f"×{1 / v.length_scale:.2f}", f"{v.pitch_shift:+.1f}", ", ".join(users.get(v.voice_id, [])))
    Console().print(table)
    for c in story.characters:
        Console().print(f"  {c.name}: {describe_voice(c.voice)}")


@app.command()
def resume(
    folder: Annotated[Path, typer.Argument(help="A story folder made by `storyteller new`.")],
    config: ConfigOption = None,
) -> None:
    """Finish a story whose run was interrupted (missing pages, pictures or narration)."""
    from storyteller.cli.progress import StoryProgress
    from storyteller.session import load_story

    teller = _storyteller(config)
    before = load_story(folder)
    with StoryProgress(_console(), len(before.outline), story=before) as progress:
        story = teller.resume(folder, on_event=progress.on_event)
    _summary(story, folder)


@app.command("continue")
def continue_story(
    folder: Annotated[Path, typer.Argument(help="A finished story folder.")],
    direction: Annotated[str, typer.Argument(help='What should happen next, e.g. "The lantern starts to sing".')],
    image: Annotated[Optional[Path], typer.Option("--image", "-i", help="A photo to weave into the page (copied into the story).")] = None,
    config: ConfigOption = None,
) -> None:
    """Write one more page beyond the plan, from your direction (and optionally a photo)."""
    from storyteller.cli.progress import StoryProgress
    from storyteller.session import load_story

    teller = _storyteller(config)
    before = load_story(folder)
    with StoryProgress(_console(), len(before.outline) + 1, story=before) as progress:
        story = teller.continue_story(folder, direction, image, on_event=progress.on_event)
    _summary(story, folder)


@app.command()
def batch(
    premises: Annotated[Path, typer.Argument(help="A text file with one premise a line, or JSONL: "
                                             '{"premise": "...", "pages": 4, "style": "crayon", "seed": 1, "language": "en"} a line.')],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the stories (one folder each) and batch-report.json.")],
    pages: Annotated[int, typer.Option("--pages", "-p", min=1, max=50, help="Pages of each story a line does not say.")] = 6,
    style: Annotated[str, typer.Option("--style", "-s", help="Style of each story a line does not say.")] = "watercolor",
    seed: Annotated[int, typer.Option(min=0, help="Seed of each story a line does not say.")] = 0,
    language: Annotated[Optional[str], typer.Option("--language", "-l", help=(
        "Language of each story a line does not say: en, zh (default: each premise's own)."))] = None,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run on Ray: 'auto' (the cluster on this machine, else a "
                                               "local one) or a cluster's address, HOST:6379 (needs the ray extra).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, max=256, help=(
        "Stories at once (default: 1 in one process; with --ray, as many as the cluster's CPUs allow)."))] = None,
    config: ConfigOption = None,
) -> None:
    """Write many stories, one per premise, each in its own folder.

    Run it again to skip the finished stories and resume the interrupted ones.

    It ends with a table of each story's figures (from `storyteller eval`) and DIR/batch-report.json."""
    from storyteller.cli.batch import run_batch_command

    raise typer.Exit(run_batch_command(_storyteller(config), premises, out=out, pages=pages, style=style, seed=seed,
                                       language=language, workers=workers, ray=ray))


@app.command()
def ask(
    folder: FolderArgument,
    page: PageArgument,
    question: Annotated[str, typer.Argument(help="A question about the page's illustration.")],
    config: ConfigOption = None,
) -> None:
    """Ask a question about a page's illustration (the configured VQA backend answers)."""
    answer = _storyteller(config).ask(folder, page, question)
    typer.echo(answer.text)
    _console().print(f"[dim]{answer.provenance.backend} ({answer.provenance.kind}) {answer.provenance.model}[/dim]")


@app.command()
def chat(
    folder: FolderArgument,
    message: Annotated[str, typer.Argument(help='What you want, in your words, e.g. "what is the fox wearing on page 2?" '
                                           'or "a cat comes out of the snow".')],
    image: Annotated[Optional[Path], typer.Option("--image", "-i", help="A photo that goes with the message.")] = None,
    config: ConfigOption = None,
) -> None:
    """Ask for anything about a story in your words: the agent answers, or does it (every change can be undone)."""
    from storyteller.cli.progress import agent_line

    console = _console()
    reply = _storyteller(config).chat(folder, message, image=image, on_event=lambda e: agent_line(console, e))
    typer.echo(reply.text)


@app.command()
def search(
    folder: FolderArgument,
    query: Annotated[Optional[str], typer.Argument(help='What the picture shows, e.g. "the sea at night".')] = None,
    image: Annotated[Optional[Path], typer.Option("--image", "-i", help="Find the pages whose pictures look like this one.")] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many pages at most.")] = 3,
    config: ConfigOption = None,
) -> None:
    """Find the pages whose pictures match words (or another picture)."""
    hits = _storyteller(config).search(folder, query, image=image, k=k)
    for hit in hits:
        typer.echo(f"{hit.page}\t{hit.score:.3f}\t{folder / hit.image}\t{hit.text}")
    _console().print(f"[dim]found by {hits[0].method}[/dim]" if hits else "no page's picture matches")


@app.command()
def reillustrate(
    folder: FolderArgument,
    page: PageArgument,
    seed: Annotated[Optional[int], typer.Option(min=0, help="Seed of the first attempt (default: a fresh one).")] = None,
    change: Annotated[Optional[str], typer.Option(help='What to show differently, e.g. "at night" or "Lucy smiling".')] = None,
    config: ConfigOption = None,
) -> None:
    """Draw a page again (through the consistency gate); the old picture is kept."""
    story = _storyteller(config).reillustrate(folder, page, seed=seed, change=change)
    typer.echo(story.pages[page - 1].illustration.path)


@app.command()
def renarrate(
    folder: FolderArgument,
    page: PageArgument,
    voice: Annotated[Optional[str], typer.Option(help="A narrator voice, by id or number (see `storyteller voice DIR`).")] = None,
    config: ConfigOption = None,
) -> None:
    """Narrate a page again, optionally with another voice; the old narration is kept."""
    story = _storyteller(config).renarrate(folder, page, voice=voice)
    typer.echo(story.pages[page - 1].narration.path)


@app.command()
def score(
    folder: FolderArgument,
    mood: Annotated[Optional[str], typer.Option(help="One piece in this mood for the whole story (default: each run of "
                                                "pages gets its own mood's). Moods: warm, calm, playful, adventurous, "
                                                "triumphant, mysterious, tense, sad.")] = None,
    config: ConfigOption = None,
) -> None:
    """Compose background music for the story's moods; the MP4 and HTML exports play it under the narration."""
    story = _storyteller(config).score(folder, mood=mood)
    for cue in story.music:
        typer.echo(f"pages {cue.pages[0]}-{cue.pages[-1]}\t{cue.mood}\t{cue.key}, {cue.tempo} bpm\t{cue.audio.path}")


@app.command()
def export(
    folder: FolderArgument,
    format: Annotated[str, typer.Option("--format", "-f", help="html, json, mp4, epub, or a format a plugin adds (`storyteller doctor` lists them).")] = "html",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output path (default: FOLDER/exports/TITLE.EXT).")] = None,
    as_folder: Annotated[bool, typer.Option("--as-folder", help="HTML only: a folder with index.html and asset files instead of one self-contained file.")] = False,
    blur_faces: Annotated[bool, typer.Option("--blur-faces", help="Blur the faces in the reader's photos (the story keeps them).")] = False,
    music: Annotated[bool, typer.Option("--music/--no-music", help="MP4 and HTML: the story's music (`storyteller score`) under the narration.")] = True,
) -> None:
    """Export a story as a self-contained HTML page, JSON, a narrated MP4 or an EPUB 3 e-book."""
    from storyteller.api import export_story

    path = export_story(folder, format, out, self_contained=not as_folder, blur_faces=blur_faces, music=music)
    typer.echo(str(path))


@app.command("eval")
def evaluate(
    folder: Annotated[Path, typer.Argument(help="A finished story folder.")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the report as JSON here.")] = None,
    judge: Annotated[bool, typer.Option("--judge", help="Also score interest, coherence, education and warmth (1-5) "
                                        "with the judge LLM ([judge] in the config; else the story's own LLM).")] = False,
    config: ConfigOption = None,
) -> None:
    """How good a story is: its text (repeats, distinct-2, dialogue, meta text...) and consistency
    (character, style, text-image alignment), with the configured embedders."""
    from rich.console import Console

    from storyteller.memory import render_table
    from storyteller.session import atomic_write_bytes

    report = _storyteller(config).evaluate(folder, judge=judge)
    Console().print(render_table(report))
    if json_out:
        atomic_write_bytes(json_out, report.model_dump_json(indent=2).encode())


@app.command()
def play(
    folder: Annotated[Optional[Path], typer.Argument(help="A story folder to go on with; a new story is started when it holds none.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for a new story (default: named after the premise).")] = None,
    premise: Annotated[Optional[str], typer.Option("--premise", help="The new story's premise (else you are asked).")] = None,
    style: Annotated[Optional[str], typer.Option("--style", "-s", help="The new story's style (else you are asked; watercolor).")] = None,
    pages: Annotated[int, typer.Option("--pages", "-p", min=1, max=50, help="Pages of the new story's plan, before your directions.")] = 3,
    seed: Annotated[int, typer.Option(min=0, help="Base seed of a new story.")] = 0,
    image: Annotated[Optional[Path], typer.Option("--image", "-i", help="A photo the new story starts from.")] = None,
    config: ConfigOption = None,
) -> None:
    """Tell a story turn by turn: you say what happens next; it is written, drawn and narrated (/help inside)."""
    from storyteller.cli.play import run_play

    raise typer.Exit(run_play(_storyteller(config), folder, out=out, premise=premise, style=style, pages=pages,
                              seed=seed, image=image))


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Show the backend of each role, whether it loads, and how to configure a real model."""
    from storyteller.cli.doctor import run_doctor

    ok = run_doctor(_storyteller(config), _console())
    raise typer.Exit(0 if ok else 1)


def _storyteller(config: Path | None):
    from storyteller.api import Storyteller

    return Storyteller(config_file=config)


def _summary(story, folder: Path) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"[bold]{story.title}[/bold]: {len(story.pages)} pages in [cyan]{folder}[/cyan]")
    for page in story.pages:
        media = ", ".join(a.path for a in (page.illustration, page.narration) if a)
        console.print(f"  [dim]{page.number:>2}[/dim] {page.text[:90]}{'…' if len(page.text) > 90 else ''}  [dim]{media}[/dim]")


def main() -> None:
    from storyteller.errors import StorytellerError

    try:
        app()
    except StorytellerError as exc:
        console = _console()
        console.print(f"[bold red]error:[/bold red] {exc.message}", highlight=False, markup=True)
        if exc.fix:
            console.print(f"[bold]fix:[/bold] {exc.fix}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        _console().print("interrupted: the story keeps every completed page; continue with `storyteller resume DIR`")
        sys.exit(130)
