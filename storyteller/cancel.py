"""Cancelling work in progress from the caller's side.

A story run checks its token at safe points: before each node of the story graph, before each
illustration attempt, and on every streamed text delta of the LLM. Checking raises `Cancelled`;
the run then stops, the story folder keeps its last completed turn and its lock is released.

Callers pass a `threading.Event` (or anything with `is_set()`) or a `CancelToken`; the async API
links its own token to the caller's, so that cancelling the asyncio task never sets the caller's
event behind their back.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from storyteller.errors import Cancelled


@runtime_checkable
class SupportsIsSet(Protocol):
    def is_set(self) -> bool: ...


class CancelToken:
    """Set from any thread; cancelled when it, or any token/event it is linked to, is set."""

    def __init__(self, *linked: SupportsIsSet | None):
        self._event = threading.Event()
        self._linked = tuple(t for t in linked if t is not None)

    def cancel(self) -> None:
        self._event.set()

    set = cancel  # the threading.Event spelling, so a CancelToken can stand in for one

    def is_set(self) -> bool:
        return self._event.is_set() or any(t.is_set() for t in self._linked)

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def check(self, where: str = "") -> None:
        """Raise Cancelled if cancellation was asked for."""
        if self.is_set():
            raise Cancelled(
                "cancelled by the caller" + (f" ({where})" if where else "")
                + "; the story keeps its last completed turn",
                fix="run the same call again, or `storyteller resume DIR` to finish a new story",
            )


def as_token(cancel: SupportsIsSet | None) -> CancelToken:
    """The caller's event or token as a CancelToken (a fresh, never-set one for None)."""
    if isinstance(cancel, CancelToken):
        return cancel
    if cancel is not None and not isinstance(cancel, SupportsIsSet):
        raise TypeError(f"cancel must be a threading.Event or CancelToken, got {type(cancel).__name__}")
    return CancelToken(cancel)
