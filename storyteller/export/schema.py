"""The JSON Schema of story.json, generated from the pydantic models.

The committed copy lives at `schema/story.schema.json` in the repository; regenerate it after
changing storyteller/story.py with

    python -m storyteller.export.schema            # rewrite schema/story.schema.json
    python -m storyteller.export.schema --check    # exit 1 if the committed file is stale

A test compares the committed file with the models, so a stale schema fails CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storyteller.story import SCHEMA_VERSION, Story

SCHEMA_ID = f"urn:storyteller:schema:story:v{SCHEMA_VERSION}"
# In a source checkout: <repo>/schema/story.schema.json.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schema" / "story.schema.json"


def story_schema() -> dict:
    """JSON Schema (draft 2020-12) of what `load_story` accepts as story.json."""
    schema = Story.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "$comment": "Generated from storyteller/story.py by `python -m storyteller.export.schema`; do not edit.",
        "version": SCHEMA_VERSION,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(story_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storyteller.export.schema", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
        if current != text:
            print(f"{args.path} is stale: run `python -m storyteller.export.schema`", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    from storyteller.session import atomic_write_bytes

    atomic_write_bytes(args.path, text.encode("utf-8"))
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
