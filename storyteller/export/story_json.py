"""JSON export: the story exactly as story.json holds it, validated, in the canonical layout.

Asset paths stay relative to the story folder (the export does not inline media); the file
validates against schema/story.schema.json, and loading it back gives an equal Story.
"""

from __future__ import annotations

from pathlib import Path

from storyteller.export.source import StorySource


def render(source: StorySource) -> bytes:
    return (source.story.model_dump_json(indent=2) + "\n").encode("utf-8")


def write(source: StorySource, path: Path) -> None:
    path.write_bytes(render(source))
