"""The plugin registry: one per process, holding the backends (keyed by role and name), the tools
and the export formats, extended through entry points.

A plugin package declares, in its pyproject.toml,

    [project.entry-points."storyteller.plugins"]
    myplugin = "my_package.storyteller_plugin:register"

and `register(registry)` calls `registry.add_backend(...)`, `registry.add_tool(...)` or
`registry.add_exporter(...)`. The built-ins are registered by exactly that mechanism (see
`builtin.py`); the CLI, `play` and `doctor` read their choices from here. Backends are named
by import path, so listing or configuring them imports no model library; the class is imported
when the backend is first used, and its instance (with its loaded model) is shared by every call.

A backend may build on another role's backend (`uses`): the classical captioner reports what the
detector role finds. The caller that resolves roles from the settings (the Toolbox) hands those
backends in as keyword arguments named after their roles, so the backend stays free of settings
and stories, and one detector model serves the detector role and the captioner alike.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from storyteller.backends.base import ROLES, Backend, Role
from storyteller.errors import BackendUnavailable, ConfigError
from storyteller.install import install_hint

ENTRY_POINT_GROUP = "storyteller.plugins"


@dataclass(frozen=True)
class BackendEntry:
    role: Role
    name: str
    target: str  # "package.module:ClassName"
    summary: str
    extra: str | None  # the pip extra that brings its libraries, for error messages
    plugin: str
    uses: tuple[Role, ...] = ()  # roles whose backends it is built on, passed to it by role name


@dataclass(frozen=True)
class ToolEntry:
    name: str
    target: str
    plugin: str


@dataclass(frozen=True)
class ExporterEntry:
    """An export format. `target` is a function `write(source, path)` that writes the export of
    a StorySource (storyteller.export.source) as one file at `path`; the caller gives it a temp
    path beside the destination and renames it into place, so every format is written atomically
    the same way. `folder_target`, where the format has one, writes it as a folder of files
    instead (`--as-folder`)."""

    name: str  # what --format takes
    target: str
    extension: str
    summary: str
    plugin: str
    folder_target: str | None = None
    extra: str | None = None


def _import_target(target: str, *, extra: str | None):
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = install_hint(extra) if extra else f"install the package that provides {module_name}"
        raise BackendUnavailable(f"{target} cannot be imported: {exc}", fix=hint) from exc
    return getattr(module, attr)


class Registry:
    def __init__(self) -> None:
        self._backends: dict[tuple[str, str], BackendEntry] = {}
        self._tools: dict[str, ToolEntry] = {}
        self._exporters: dict[str, ExporterEntry] = {}
        self._instances: dict[tuple, Backend] = {}
        self._lock = threading.Lock()
        self._current_plugin = "?"

    # -- registration (called from plugins' register functions) ---------------------------
    def add_backend(self, role: Role, name: str, target: str, *, summary: str = "", extra: str | None = None,
                    uses: tuple[Role, ...] = ()) -> None:
        for wanted in (role, *uses):
            if wanted not in ROLES:
                raise ConfigError(f"plugin {self._current_plugin} registers unknown role {wanted!r}; roles are {', '.join(ROLES)}")
        if role in uses:
            raise ConfigError(f"plugin {self._current_plugin}: the {role} backend {name!r} cannot use its own role")
        self._backends[(role, name)] = BackendEntry(role, name, target, summary, extra, self._current_plugin, tuple(uses))

    def add_tool(self, name: str, target: str) -> None:
        self._tools[name] = ToolEntry(name, target, self._current_plugin)

    def add_exporter(self, name: str, target: str, *, extension: str, summary: str = "",
                     folder_target: str | None = None, extra: str | None = None) -> None:
        if not name.isidentifier() or not extension.isalnum():
            raise ConfigError(f"plugin {self._current_plugin} registers the export format {name!r} with extension "
                              f"{extension!r}: both must be plain words (they become --format and a file name)")
        self._exporters[name] = ExporterEntry(name, target, extension, summary, self._current_plugin,
                                              folder_target, extra)

    def load_plugins(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name != "builtin", e.name)):
            self._current_plugin = ep.name
            try:
                ep.load()(self)
            except Exception as exc:  # a broken third-party plugin must not take the program down
                raise ConfigError(
                    f"plugin {ep.name!r} ({ep.value}) failed to register: {exc}",
                    fix=f"upgrade or uninstall the package providing {ep.value.split(':')[0]}",
                ) from exc
        self._current_plugin = "?"

    # -- lookup ---------------------------------------------------------------------------
    def backends(self, role: Role | None = None) -> list[BackendEntry]:
        return [e for e in self._backends.values() if role is None or e.role == role]

    def tools(self) -> list[ToolEntry]:
        return list(self._tools.values())

    def exporters(self) -> list[ExporterEntry]:
        return list(self._exporters.values())

    def exporter(self, name: str) -> ExporterEntry:
        try:
            return self._exporters[name]
        except KeyError:
            import difflib

            from storyteller.errors import InvalidInput

            close = difflib.get_close_matches(str(name), list(self._exporters), n=1)
            raise InvalidInput(f"unknown export format {name!r}" + (f" (did you mean {close[0]}?)" if close else "")
                               + f"; choose one of: {', '.join(self._exporters)}") from None

    def export_writer(self, name: str, *, folder: bool = False):
        """The function that writes the format `name` as one file, or (`folder`) as a folder."""
        entry = self.exporter(name)
        if folder and entry.folder_target is None:
            from storyteller.errors import InvalidInput

            with_folders = [e.name for e in self._exporters.values() if e.folder_target] or ["no format"]
            raise InvalidInput(f"self_contained=False (--as-folder) applies to {', '.join(with_folders)} only; "
                               f"{name} exports are always one file")
        return _import_target(entry.folder_target if folder else entry.target, extra=entry.extra)

    def entry(self, role: Role, name: str) -> BackendEntry:
        try:
            return self._backends[(role, name)]
        except KeyError:
            known = ", ".join(sorted(e.name for e in self.backends(role))) or "none"
            raise ConfigError(
                f"no {role} backend named {name!r} (known: {known})",
                fix="check the backend name in your config, or install the plugin that provides it",
            ) from None

    def backend(self, role: Role, name: str, options: dict[str, Any] | None = None,
                uses: dict[str, Backend] | None = None) -> Backend:
        """The shared instance for (role, name, options, the backends it uses): created once per
        process, loaded lazily. `uses` holds a backend for each role in the entry's `uses`."""
        options, uses = dict(options or {}), dict(uses or {})
        entry = self.entry(role, name)
        if set(uses) != set(entry.uses):
            raise ConfigError(f"the {role} backend {name!r} is built on {', '.join(entry.uses) or 'no other role'}, "
                              f"given {', '.join(sorted(uses)) or 'none'}",
                              fix="resolve backends through storyteller.agent.toolbox.Toolbox, which hands them in")
        clash = set(options) & set(uses)
        if clash:
            raise ConfigError(f"{role}.options.{sorted(clash)[0]} cannot be set: the {role} backend {name!r} uses the "
                              f"{sorted(clash)[0]} role's backend", fix=f"configure [{sorted(clash)[0]}] instead")
        # The used backends are themselves shared instances, so their identity is part of the key.
        key = (role, name, _freeze(options), tuple(sorted((r, id(b)) for r, b in uses.items())))
        with self._lock:
            instance = self._instances.get(key)
            if instance is None:
                cls = _import_target(entry.target, extra=entry.extra)
                self.check_options(role, name, options)  # the Options model speaks before a TypeError can
                try:
                    instance = cls(**options, **uses)
                except (TypeError, ValueError) as exc:  # a constructor's own check of its options
                    raise ConfigError(f"bad options for the {role} backend {name!r}: {exc}",
                                      fix=f"correct {role}.options in your config (`storyteller doctor` lists "
                                          "each backend's options)") from exc
                self._instances[key] = instance
            return instance

    def check_options(self, role: Role, name: str, options: dict[str, Any] | None) -> None:
        """Refuse bad options for a configured backend now, before a story starts and a model
        loads (its class's Options model); a backend that cannot be imported says so when it is
        first used, with its own fix."""
        from pydantic import ValidationError

        from storyteller.backends.base import options_error

        entry = self.entry(role, name)
        try:
            cls = _import_target(entry.target, extra=entry.extra)
        except BackendUnavailable:
            return
        if not hasattr(cls, "Options"):  # a factory rather than a Backend class: what it makes checks them
            return
        try:
            cls.Options(**dict(options or {}))
        except ValidationError as exc:
            raise options_error(cls, exc) from None

    def tool_class(self, name: str):
        try:
            entry = self._tools[name]
        except KeyError:
            raise ConfigError(f"no tool named {name!r} (known: {', '.join(sorted(self._tools))})") from None
        return _import_target(entry.target, extra=None)


def _freeze(value: Any):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    global _registry
    with _registry_lock:
        if _registry is None:
            registry = Registry()
            registry.load_plugins()
            _registry = registry
        return _registry
