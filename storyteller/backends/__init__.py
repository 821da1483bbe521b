"""The plugin registry: one per process, holding the roles, the backends (keyed by role and name),
the tools and the export formats, extended through entry points.

A plugin package declares, in its pyproject.toml,

    [project.entry-points."storyteller.plugins"]
    myplugin = "my_package.storyteller_plugin:register"

and `register(registry)` calls `registry.add_role(...)`, `registry.add_backend(...)`,
`registry.add_tool(...)` or `registry.add_exporter(...)`. The built-ins are registered by exactly
that mechanism (see `builtin.py`); the config, the CLI, `play` and `doctor` read their choices from
here, so a new role, backend, tool or format is one module and its registration. Everything is
named by import path, so listing or configuring imports no model library; a backend's class is
imported when it is first used, and its instance (with its loaded model) is shared by every call.

A role is declared once: `add_role(name, base="module:Interface", default="backend", summary=...)`.
Its backends implement `base`; `default` serves it when the config names no backend; `summary` and
`example` (a config table for a real model) are what `doctor` shows; `needs` names the roles whose
backends every backend of this role is built on. The config reads a table `[name]` for it.

A tool is declared once, by its class (the smolagents shape: `name`, `description`, `args_schema`,
`forward`, and `role`, the role whose backend it calls); `add_tool(name, "module:Class")` registers
it under that name, and the Toolbox builds it with the backend of its role.

A backend may build on another role's backend (`uses`): the classical captioner reports what the
detector role finds. The caller that resolves roles from the settings (the Toolbox) hands those
backends in as keyword arguments named after their roles, so the backend stays free of settings
and stories, and one detector model serves the detector role and the captioner alike.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from storyteller.backends.base import Backend, Role
from storyteller.errors import BackendUnavailable, ConfigError, InvalidInput, StorytellerError
from storyteller.install import install_hint

ENTRY_POINT_GROUP = "storyteller.plugins"


@dataclass(frozen=True)
class RoleEntry:
    """A role: what its backends do (the interface `base` they implement), which backend serves it
    when the config names none, and what `doctor` says about it."""

    name: str  # what the config's table is called: [name], STORYTELLER_NAME__BACKEND
    base: str  # "package.module:Interface", the class that declares `role = name`
    default: str  # the backend that serves the role when the config names none
    summary: str  # one line: what the role is for
    plugin: str
    example: str = ""  # a config table for a real model, as doctor offers it
    needs: tuple[Role, ...] = ()  # roles whose backends every backend of this role is built on


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
    """A tool: `target` is its class, which declares the rest (description, arguments, `forward`,
    and `role`, the role whose backend it is given; None for a tool that needs none)."""

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


def _lookup(table: dict[str, Any], name: str, what: str, *, error: type[StorytellerError] = ConfigError,
            fix: str | None = None):
    """table[name], else `error` saying that `name` is an unknown WHAT (did you mean...?)."""
    try:
        return table[name]
    except KeyError:
        raise error(_unknown(what, name, table), fix=fix) from None


def _unknown(what: str, name: str, known) -> str:
    """"unknown WHAT 'name' (did you mean ...?); choose one of: ...", for a name not among `known`."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return (f"unknown {what} {name!r}" + (f" (did you mean {close[0]}?)" if close else "")
            + f"; choose one of: {', '.join(known) or 'none'}")


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
        self._roles: dict[str, RoleEntry] = {}
        self._backends: dict[tuple[str, str], BackendEntry] = {}
        self._tools: dict[str, ToolEntry] = {}
        self._exporters: dict[str, ExporterEntry] = {}
        self._instances: dict[tuple, Backend] = {}
        self._lock = threading.Lock()
        self._current_plugin = "?"

    # -- registration (called from plugins' register functions) ---------------------------
    def add_role(self, name: str, *, base: str, default: str, summary: str, example: str = "",
                 needs: tuple[Role, ...] = ()) -> None:
        """Declare a role: its backends implement `base` ("module:Class", the class that says
        `role = name`), `default` is the backend that serves it unless the config names another
        (registered with add_backend, by this plugin or another), `summary` is the line doctor
        prints and `example` the config table it offers for a real model. `needs`: the roles whose
        backends every backend of this one is built on (handed in by role name, as `uses`)."""
        from storyteller.config import Settings  # the settings a role's table must not shadow

        plugin = self._current_plugin
        if not name.isidentifier() or name != name.lower() or name in Settings.model_fields:
            raise ConfigError(f"plugin {plugin} registers the role {name!r}: a role's name is a lower-case word that "
                              "is not a setting (it becomes the config's [table] and STORYTELLER_<ROLE>__BACKEND)")
        entry = RoleEntry(name, base, default, summary, plugin, example, tuple(needs))
        known = self._roles.get(name)
        if known is not None and known != entry:
            raise ConfigError(f"plugin {plugin} registers the role {name!r}, which plugin {known.plugin} registered")
        for wanted in needs:
            self._known_role(wanted)
        if name in needs:
            raise ConfigError(f"plugin {plugin}: the role {name!r} cannot need itself")
        self._roles[name] = entry

    def add_backend(self, role: Role, name: str, target: str, *, summary: str = "", extra: str | None = None,
                    uses: tuple[Role, ...] = ()) -> None:
        for wanted in (role, *uses):
            self._known_role(wanted)
        if role in uses:
            raise ConfigError(f"plugin {self._current_plugin}: the {role} backend {name!r} cannot use its own role")
        uses = tuple(dict.fromkeys((*self._roles[role].needs, *uses)))  # what its role needs, then its own
        self._backends[(role, name)] = BackendEntry(role, name, target, summary, extra, self._current_plugin, uses)

    def _known_role(self, role: str) -> None:
        if role not in self._roles:
            raise ConfigError(f"plugin {self._current_plugin} registers {_unknown('role', role, self._roles)}",
                              fix="register the role first (registry.add_role), or install the plugin that adds it")

    def add_tool(self, name: str, target: str) -> None:
        """Register the tool class `target` ("module:Class") under `name`, the name it declares."""
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
        self.check_defaults()

    def check_defaults(self) -> None:
        """Refuse a role whose default backend no plugin registered."""
        for role in self._roles.values():
            if (role.name, role.default) not in self._backends:
                known = ", ".join(sorted(e.name for e in self.backends(role.name))) or "none"
                raise ConfigError(f"plugin {role.plugin}: the {role.name} role's default backend {role.default!r} "
                                  f"is not registered ({role.name} backends: {known})",
                                  fix=f"upgrade or uninstall the plugin {role.plugin}")

    # -- lookup ---------------------------------------------------------------------------
    def roles(self) -> list[RoleEntry]:
        """The roles, in registration order (the built-ins first)."""
        return list(self._roles.values())

    def role(self, name: str) -> RoleEntry:
        return _lookup(self._roles, name, "role", fix="check the role's name, or install the plugin that adds it")

    def role_base(self, name: str) -> type:
        """The interface every backend of the role implements (imported now)."""
        entry = self.role(name)
        base = _import_target(entry.base, extra=None)
        if getattr(base, "role", None) != name:
            raise ConfigError(f"plugin {entry.plugin}: the {name} role's base {entry.base} declares the role "
                              f"{getattr(base, 'role', None)!r}, not {name!r}")
        return base

    def backends(self, role: Role | None = None) -> list[BackendEntry]:
        return [e for e in self._backends.values() if role is None or e.role == role]

    def tools(self) -> list[ToolEntry]:
        return list(self._tools.values())

    def exporters(self) -> list[ExporterEntry]:
        return list(self._exporters.values())

    def exporter(self, name: str) -> ExporterEntry:
        return _lookup(self._exporters, name, "export format", error=InvalidInput)

    def export_writer(self, name: str, *, folder: bool = False):
        """The function that writes the format `name` as one file, or (`folder`) as a folder."""
        entry = self.exporter(name)
        if folder and entry.folder_target is None:
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
                self._check_implements(entry, instance)
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

    def _check_implements(self, entry: BackendEntry, instance: Any) -> None:
        """A backend (what its class or factory made) must implement its role's interface."""
        base = self.role_base(entry.role)
        if not isinstance(instance, base):
            raise ConfigError(f"the {entry.role} backend {entry.name!r} ({entry.target}, plugin {entry.plugin}) "
                              f"is not a {base.__name__}, the interface of the {entry.role} role",
                              fix=f"upgrade or uninstall the plugin {entry.plugin}")

    def tool_class(self, name: str):
        """The tool's class, checked against its registration: the name it declares, and the role
        whose backend it calls (`role`, None: it needs no backend) a registered one."""
        entry = _lookup(self._tools, name, "tool")
        cls = _import_target(entry.target, extra=None)
        declared = getattr(getattr(cls, "model_fields", {}).get("name"), "default", name)
        if declared != name:
            raise ConfigError(f"plugin {entry.plugin} registers the tool {entry.target} as {name!r}, but it is "
                              f"called {declared!r}", fix="register it under the name its class declares")
        role = getattr(cls, "role", None)
        if role is not None and role not in self._roles:
            raise ConfigError(f"the tool {name!r} ({entry.target}, plugin {entry.plugin}) calls an "
                              f"{_unknown('role', role, self._roles)}", fix="install the plugin that adds the role")
        return cls

    def tool_role(self, name: str) -> Role | None:
        """The role whose backend the tool `name` calls (as its class declares), None if it needs none."""
        return getattr(self.tool_class(name), "role", None)


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
