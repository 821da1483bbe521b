"""One exception root for the whole library.

Library code raises these; only the CLI turns them into friendly one-line messages. Each error
that a user can fix carries a `fix` hint saying how (the `NeedsKeyException` idea from simonw/llm).
"""

from __future__ import annotations


class StorytellerError(Exception):
    """Root of every error storyteller raises on purpose."""

    def __init__(self, message: str, *, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(StorytellerError):
    """The configuration names something that does not exist or does not fit."""


class BackendUnavailable(StorytellerError):
    """A backend cannot load: a missing extra, missing weights, or an unsupported combination."""


class BackendCallError(StorytellerError):
    """A loaded backend failed while producing an output."""


class InvalidInput(StorytellerError):
    """Input from the user (premise, image, name, page number) was rejected, with the reason."""


class StructuredOutputError(StorytellerError):
    """The LLM did not produce a valid object within the re-ask bound. Carries every attempt."""

    def __init__(self, message: str, *, attempts: list[dict], fix: str | None = None):
        super().__init__(message, fix=fix)
        self.attempts = attempts


class StoryFolderError(StorytellerError):
    """The story folder cannot be read, written or locked."""


class StoryFolderWriteError(StoryFolderError):
    """Writing into a folder failed (disk full, read-only, permission denied): says what, where and
    how to fix it. The file that was there before is unchanged; `errno` is the OS error number."""

    def __init__(self, message: str, *, fix: str | None = None, errno: int | None = None):
        super().__init__(message, fix=fix)
        self.errno = errno


class StoryLocked(StoryFolderError):
    """Another process holds the story folder."""


class Cancelled(StorytellerError):
    """The caller cancelled the work in progress; the story keeps its last completed turn."""
