"""Where storyteller keeps what it makes once for every story (joined model files, dictionaries).

`$STORYTELLER_CACHE_DIR`, else `$XDG_CACHE_HOME/storyteller`, else `~/.cache/storyteller`. Story
folders never depend on it: deleting it only costs the time to make it again.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("STORYTELLER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "storyteller"
    )
    return Path(base)
