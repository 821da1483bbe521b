"""`storyteller doctor`: each role's backend, whether it loads, and how to configure a real model."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyteller.errors import StorytellerError

# The judge is no role (any llm backend, configured apart); each role's own example is its
# registration's (registry.add_role(..., example=)).
JUDGE_HINT = ('# scores stories (eval --judge); any LLM backend\n[judge]\nbackend = "openai"\n'
              'options = { base_url = "http://127.0.0.1:8000/v1", model = "Qwen2.5-72B-Instruct" }')


def run_doctor(teller, console: Console) -> bool:
    table = Table(title="storyteller backends", show_lines=True)
    for column in ("role", "backend", "status", "what it does / other backends / real model"):
        table.add_column(column, overflow="fold")
    all_ok = True
    registry = teller.toolbox.registry
    for role in registry.roles():  # the built-in roles and the plugins'
        config = teller.settings.role(role.name, registry)
        others = ", ".join(sorted(e.name for e in registry.backends(role.name) if e.name != config.backend))
        plugin = f" (plugin {role.plugin})" if role.plugin not in ("builtin", "?") else ""
        # Escaped: a config example's [table] is text, not rich markup.
        hint = escape("\n".join(part for part in (role.summary + plugin, others and f"other backends: {others}",
                                                   role.example) if part))
        started = time.perf_counter()
        try:
            backend = teller.toolbox.backend(role.name)
            backend.ensure_setup()
            status = f"[green]loads[/green] in {time.perf_counter() - started:.1f}s\n{backend.kind}: {backend.model_id}"
            status += options_line(backend)
            if hasattr(backend, "unavailable"):  # the narrator ensemble: engines it could not offer
                status += "".join(f"\n[yellow]not offered[/yellow]: {engine}: {why}" for engine, why in backend.unavailable().items())
        except StorytellerError as exc:
            all_ok = False
            status = f"[red]does not load[/red]: {escape(exc.message)}" + (f"\nfix: {escape(exc.fix)}" if exc.fix else "")
        table.add_row(role.name, config.backend, status, hint)
    judge = teller.settings.judge
    if judge is None:
        table.add_row("judge", "(the llm role)", "not configured: `eval --judge` asks the story's own LLM and "
                      "labels the scores as not independent", escape(JUDGE_HINT))
    else:
        try:
            backend, _ = teller.toolbox.judge
            backend.ensure_setup()
            table.add_row("judge", judge.backend, f"[green]loads[/green]\n{backend.kind}: {backend.model_id}", "")
        except StorytellerError as exc:
            all_ok = False
            table.add_row("judge", judge.backend, f"[red]does not load[/red]: {escape(exc.message)}", escape(JUDGE_HINT))
    console.print(table)
    console.print(tool_table(registry))
    console.print(export_table(registry))
    console.print(language_table(teller))
    return _show_installation(console) and all_ok


def options_line(backend) -> str:
    """The backend's options as it runs with them (its Options model: what `[role.options]` takes)."""
    values = backend.options.model_dump()
    if not values:
        return "\noptions: none"
    shown = [f"{name}={value!r}" if len(repr(value)) <= 40 else f"{name}=…" for name, value in values.items()]
    return "\noptions: " + ", ".join(shown)


def tool_table(registry) -> Table:
    """The tools (storyteller.langchain.tools, the story graph's), built-in and from plugins, and the
    role whose backend each calls."""
    table = Table(title="tools", show_lines=False)
    for column in ("tool", "what it does", "calls the role", "plugin"):
        table.add_column(column, overflow="fold")
    for entry in registry.tools():
        try:
            cls = registry.tool_class(entry.name)
        except StorytellerError as exc:
            table.add_row(entry.name, f"[red]cannot be used[/red]: {escape(exc.message)}", "", entry.plugin)
            continue
        fields = getattr(cls, "model_fields", {})  # a LangChain tool declares its description as a field
        description = getattr(fields.get("description"), "default", None) or ""
        role = getattr(cls, "role", None) or ("(none: the story's memory)" if "memory" in fields else "(none)")
        table.add_row(entry.name, escape(description), role, entry.plugin)
    return table


def export_table(registry) -> Table:
    """The export formats (`storyteller export --format`, `/export` in play), built-in and from plugins."""
    table = Table(title="export formats", show_lines=False)
    for column in ("format", "what it writes", "plugin"):
        table.add_column(column, overflow="fold")
    for entry in registry.exporters():
        folder = " (also as a folder: --as-folder)" if entry.folder_target else ""
        table.add_row(entry.name, f"{entry.summary}{folder} → .{entry.extension}", entry.plugin)
    return table


def language_table(teller) -> Table:
    """What each story language gets here, part by part: prompts, words, voices, fonts, voice input."""
    from importlib.resources import files

    from storyteller.agent.voices import voices_for
    from storyteller.languages import LANGUAGES
    from storyteller.memory.prose import configured_jieba

    table = Table(title="story languages", show_lines=True)
    for column in ("language", "plan, pages, photo scenes", "voices (narrator role)", "text in pictures and video",
                   "voice input (transcriber role)"):
        table.add_column(column, overflow="fold")
    prompts = files("storyteller.prompts")
    try:
        offered = teller.toolbox.backend("narrator").voices()
    except StorytellerError as exc:
        offered, voices_error = [], exc.message
    else:
        voices_error = None
    transcriber = teller.settings.role("transcriber").backend
    for code, language in LANGUAGES.items():
        localised = code == "en" or prompts.joinpath(code).is_dir()
        text = "prompts in " + (language.name if localised else "English (none of its own)")
        if code == "zh":
            text += "; words cut by jieba" if configured_jieba() else "; [yellow]jieba not installed[/yellow]: each character a word"
        if voices_error:
            voices = f"[red]narrator does not load[/red]: {voices_error}"
        else:
            try:
                spoken = voices_for(code, offered)
            except StorytellerError as exc:
                voices = f"[red]none[/red]: {exc.message}" + (f"\nfix: {exc.fix}" if exc.fix else "")
            else:
                engines = sorted({v.who.split(":")[0] for v in spoken})
                voices = f"{len(spoken)} voices ({', '.join(engines)}): " + ", ".join(v.voice_id for v in spoken[:8])
                voices += ", ..." if len(spoken) > 8 else ""
        fonts = _font_status(code)
        heard = f"{transcriber}" + (" (then simplified characters by OpenCC)" if code == "zh" else "")
        table.add_row(f"{language.name} ({code})", text, voices, fonts, heard)
    return table


def _font_status(code: str) -> str:
    from storyteller.backends.storyboard.text import get_font

    try:
        font = get_font(16, cjk=code == "zh")
    except StorytellerError as exc:
        return f"[red]no font[/red]: {exc.message}\nfix: {exc.fix}"
    return getattr(font, "path", None) or "Pillow's built-in font"


def _show_installation(console: Console) -> bool:
    """Where this storyteller comes from (what the fix hints above are built for), and False when
    another distribution in this environment installs a top-level `storyteller` too."""
    from storyteller import __version__
    from storyteller.install import installation, pip_hint

    found = installation()
    console.print(f"storyteller {__version__}, installed {found.describe()}")
    for other in found.others:
        console.print(f"[red]clash[/red]: {other} also installs a top-level `storyteller` package into this "
                      f"environment, so one overwrites the other's files\nfix: {pip_hint(other, 'uninstall')}, or "
                      "give storyteller a virtualenv of its own (bash scripts/setup.sh makes .venv in its checkout)")
    return not found.others
