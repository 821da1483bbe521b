"""The backends and tools one configuration resolves to.

Backends come from the process-wide registry, so two Toolboxes with the same settings (two
stories at once, or a second story in one process) share loaded models.
"""

from __future__ import annotations

from functools import cached_property

from storyteller.backends import Registry, get_registry
from storyteller.backends.base import ROLES, Backend, LLMBackend
from storyteller.config import Settings


class Toolbox:
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or get_registry()
        # A bad option in the config is refused here, before any story or model starts.
        for role in ROLES:
            config = settings.role(role)
            self.registry.check_options(role, config.backend, config.options)
        if settings.judge is not None:
            self.registry.check_options("llm", settings.judge.backend, settings.judge.options)

    def backend(self, role: str) -> Backend:
        """The configured backend of `role`, given the configured backends of the roles it uses."""
        config = self.settings.role(role)
        uses = {used: self.backend(used) for used in self.registry.entry(role, config.backend).uses}
        return self.registry.backend(role, config.backend, config.options, uses=uses)

    def tool(self, name: str, role: str):
        return self.registry.tool_class(name)(backend=self.backend(role))

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

    @cached_property
    def illustrate(self):
        return self.tool("illustrate", "illustrator")

    @cached_property
    def narrate(self):
        return self.tool("narrate", "narrator")

    @cached_property
    def caption(self):
        return self.tool("caption", "captioner")

    @cached_property
    def ask(self):
        return self.tool("ask", "vqa")
