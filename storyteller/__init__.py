"""storyteller: turn an idea, a photo or a conversation into an illustrated, narrated story.

`import storyteller` is kept cheap: model libraries, LangGraph and the backends are imported only
when something uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Storyteller", "StorytellerError", "free_folder", "__version__"]

if TYPE_CHECKING:
    from storyteller.api import Storyteller
    from storyteller.errors import StorytellerError
    from storyteller.session import free_folder


def __getattr__(name: str):
    if name == "Storyteller":
        from storyteller.api import Storyteller

        return Storyteller
    if name == "StorytellerError":
        from storyteller.errors import StorytellerError

        return StorytellerError
    if name == "free_folder":
        from storyteller.session import free_folder

        return free_folder
    raise AttributeError(f"module 'storyteller' has no attribute {name!r}")
