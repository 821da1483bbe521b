from __future__ import annotations

import pytest


@pytest.fixture
def registry():
    """A fresh registry: the built-ins from their entry point plus the scripted fakes, registered
    as a plugin would, so each test gets its own fake model instances."""
    from fakes import register_fakes

    from storyteller.backends import Registry

    registry = Registry()
    registry.load_plugins()
    register_fakes(registry)
    return registry


@pytest.fixture
def make_teller(registry):
    """Storyteller on scripted fakes; keyword args set a role's options, or other settings."""
    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    def make(llm=None, illustrator=None, narrator=None, **settings):
        # One draft a page, so a test counts the model calls it wrote (the critic's choice between
        # drafts has its own tests, with page_candidates given).
        settings.setdefault("page_candidates", 1)
        return Storyteller(Settings(
            llm=RoleConfig(backend="scripted", options=llm or {}),
            illustrator=RoleConfig(backend="solid", options=illustrator or {}),
            narrator=RoleConfig(backend="tone", options=narrator or {}),
            text_embedder=RoleConfig(backend="hash"),
            **settings,
        ), registry=registry)

    return make


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """Base URL of llama.cpp's OpenAI-compatible server serving the packaged GGUF model, started
    once per session on loopback (see llama_server.py); skipped where it cannot run."""
    import llama_server as server

    from storyteller.errors import BackendUnavailable

    reason = server.why_not_available()
    if reason:
        pytest.skip(reason)
    try:
        model = server.packaged_gguf()
    except BackendUnavailable as exc:
        pytest.skip(f"no packaged GGUF model to serve: {exc}")
    try:
        with server.serve(model, tmp_path_factory.mktemp("llama-server") / "server.log") as base_url:
            yield base_url
    except server.ServerFailed as exc:
        pytest.fail(str(exc))
