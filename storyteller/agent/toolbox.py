"""The backends and tools one configuration resolves to.

Backends come from the process-wide registry, so two Toolboxes with the same settings (two
stories at once, or a second story in one process) share loaded models. The roles and the tools
are the registry's: a tool is built with the backend of the role its class declares, so a role is
named once, by the tool, and a plugin's role or tool needs nothing here.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from storyteller.backends import Registry, get_registry
from storyteller.backends.base import Backend, LLMBackend
from storyteller.config import Settings


def _built(name: str) -> cached_property:
    """A Toolbox attribute holding the registered tool `name`, built once with its role's backend."""
    return cached_property(lambda toolbox: toolbox.tool(name))


class Toolbox:
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or get_registry()
        # A role the registry does not have, or a bad option, is refused here, before any story or model starts.
        settings.check_roles(self.registry)
        for role in self.registry.roles():
            config = settings.role(role.name, self.registry)
            self.registry.check_options(role.name, config.backend, config.options)
        if settings.judge is not None:
            self.registry.check_options("llm", settings.judge.backend, settings.judge.options)

    def backend(self, role: str) -> Backend:
        """The configured backend of `role`, given the configured backends of the roles it uses."""
        config = self.settings.role(role, self.registry)
        uses = {used: self.backend(used) for used in self.registry.entry(role, config.backend).uses}
        return self.registry.backend(role, config.backend, config.options, uses=uses)

    def tool(self, name: str, **arguments: Any):
        """The registered tool `name`, given the configured backend of the role it calls (its
        class's `role`); `arguments` are the rest of what it is built with (memory=, allowed_dirs=,
        response_format=...)."""
        cls = self.registry.tool_class(name)
        role = getattr(cls, "role", None)
        if role is not None and "backend" not in arguments:
            arguments["backend"] = self.backend(role)
        return cls(**arguments)

    @cached_property
    def llm(self) -> LLMBackend:
        return self.backend("llm")

    @cached_property
    def judge(self) -> tuple[LLMBackend, str]:
        """The LLM that scores stories (`storyteller eval --judge`), and a label saying what it is:
        the `judge` role when configured, else the story's own LLM, which is no independent judge."""
        if self.settings.judge is not None:
            return self.registry.backend("llm", self.settings.judge.backend, self.settings.judge.options), "judge role"
        return self.llm, "the story's own LLM, not an independent judge: configure [judge] for one"

    # The built-in tools the story graph calls, built on first use (any registered tool: `tool(name)`).
    illustrate = _built("illustrate")
    narrate = _built("narrate")
    caption = _built("caption")
    ask = _built("ask")
