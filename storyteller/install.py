"""How this copy of storyteller was installed, and the command that adds an extra to it.

Fix hints must name a command that works here. storyteller is installed from its checkout (the
setup script, or `pip install -e`); the import name `storyteller` is not a PyPI project of ours
(`storyteller-core` on PyPI is another project that also installs a top-level `storyteller`), so
`pip install 'storyteller[vision]'` would fetch nothing or someone else's code. Every hint that
installs an extra is built by `install_hint`, from what `installation()` finds:

- a **checkout**: the package is imported from a source tree (an editable install, or the tree on
  sys.path): `python -m pip install -e '/path/to/checkout[vision]'`, or the setup script for the
  embedded default when this is the checkout's own `.venv`;
- a **folder**, **archive** or **VCS** install (pip's `direct_url.json`, PEP 610): the same source
  again, with the extra;
- an **index** install (a published release): `python -m pip install 'NAME[vision]'`, NAME being
  the installed distribution's own name.

Our distribution is found by the entry point only it declares (the built-in plugin), not by name,
so a renamed or published distribution is still recognised, and `storyteller-core` never is.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

BUILTIN_PLUGIN = "storyteller.backends.builtin:register"
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Installation:
    how: Literal["checkout", "folder", "archive", "vcs", "index", "unknown"]
    distribution: str | None  # the installed distribution's name; None when not installed (a tree on sys.path)
    source: str | None  # the checkout or folder, the archive's path or URL, the VCS URL (with @commit)
    others: tuple[str, ...] = ()  # other distributions in this environment that install a top-level `storyteller`

    def describe(self) -> str:
        where = {"checkout": f"from the checkout {self.source}", "folder": f"from the folder {self.source}",
                 "archive": f"from {self.source}", "vcs": f"from {self.source}",
                 "index": "from a package index", "unknown": "from an unknown source"}[self.how]
        name = f"distribution {self.distribution}" if self.distribution else "not installed, imported from sys.path"
        return f"{where} ({name})"


def _python() -> str:
    """The interpreter running storyteller: its pip installs into this environment, whatever `pip` is on PATH."""
    return shlex.quote(sys.executable)


def _ours():
    """Our distribution: the one that declares the built-in plugin (None when none is installed)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="storyteller.plugins"):
        if ep.value.replace(" ", "") == BUILTIN_PLUGIN and ep.dist is not None:
            return ep.dist
    return None


def _others(ours: str | None) -> tuple[str, ...]:
    from importlib.metadata import packages_distributions

    return tuple(sorted({d for d in packages_distributions().get("storyteller", []) if d != ours}))


def _local(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@lru_cache(maxsize=1)
def installation() -> Installation:
    dist = _ours()
    name = dist.metadata["Name"] if dist is not None else None
    others = _others(name)
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():  # a source tree: site-packages holds no pyproject.toml
        return Installation("checkout", name, str(checkout), others)
    if dist is None:
        return Installation("unknown", None, None, others)
    raw = dist.read_text("direct_url.json")  # PEP 610: written by pip for anything not from an index
    if not raw:
        return Installation("index", name, None, others)
    try:
        direct = json.loads(raw)
        url = direct["url"]
    except (ValueError, KeyError, TypeError):
        return Installation("unknown", name, None, others)
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        return Installation("vcs", name, f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else ""), others)
    path = _local(url)
    return Installation("folder" if "dir_info" in direct else "archive", name, str(path) if path else url, others)


def install_hint(extra: str | None) -> str:
    """The command that installs storyteller with its `extra` (e.g. "vision"; None: only its own
    dependencies) into this environment."""
    found = installation()
    pip = f"{_python()} -m pip install"
    extras = f"[{extra}]" if extra else ""
    if found.how == "checkout":
        root = Path(found.source)
        if extra == "embedded" and Path(sys.prefix).resolve() == (root / ".venv").resolve():
            return f"bash {shlex.quote(str(root / 'scripts' / 'setup.sh'))}"  # torch's CPU build first, then the extra
        return f"{pip} -e {shlex.quote(f'{root}{extras}')}"
    if found.how in ("folder", "archive") and Path(found.source).exists():
        return f"{pip} {shlex.quote(f'{found.source}{extras}')}"
    if found.how == "vcs" or found.how == "archive" and "://" in found.source:
        return f"{pip} {shlex.quote(f'{found.distribution}{extras} @ {found.source}')}"
    if found.how == "index":
        return f"{pip} {shlex.quote(f'{found.distribution}{extras}')}"
    # A folder install whose folder is gone, or a copy pip never installed: only its source knows.
    return f"{pip} -e '/path/to/the/storyteller/checkout{extras}' (the checkout this copy came from)"


def pip_hint(requirement: str, command: str = "install") -> str:
    """The command that installs (or uninstalls) a third-party `requirement` in this environment."""
    return f"{_python()} -m pip {command} {requirement}"
