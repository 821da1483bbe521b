"""Image-text embeddings with CLIP or SigLIP, from a hub id or a local directory.

Both towers map into one space: `embed_images` and `embed_texts` return L2-normalised float32
rows, so a dot product is a cosine similarity (image-image for character consistency, text-image
for "does the picture show the page"). The family is chosen from the config's `model_type`.

transformers 5 prefers torchvision-based image processors and falls back to its PIL/numpy ones
when torchvision is missing (it cannot import beside the CPU torch used here); both give the
same pixel values for these models, so no torchvision is needed.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import Field

from storyteller.backends import hf_common
from storyteller.backends.base import BackendOptions, ImageEmbedderBackend
from storyteller.errors import InvalidInput

EXTRA = "vision"
DEFAULT_MODEL = "openai/clip-vit-base-patch32"
# model_type -> (model class, processor class, how texts are padded). SigLIP was trained on texts
# padded to a fixed length (64), and its text embeddings depend on that padding.
FAMILIES: dict[str, tuple[str, str, str]] = {
    "clip": ("CLIPModel", "CLIPProcessor", "longest"),
    "siglip": ("SiglipModel", "SiglipProcessor", "max_length"),
}


class ClipImageEmbedder(ImageEmbedderBackend):
    """CLIP or SigLIP image and text embeddings; its options are the fields of `Options` below."""

    name = "clip"
    has_text_tower = True

    class Options(BackendOptions):
        model: str = Field(DEFAULT_MODEL, min_length=1, description="hub id or directory of a CLIP or SigLIP model")
        batch_size: int = Field(16, ge=1, description="images or texts per forward pass")
        device: hf_common.DeviceOption = Field(None, description=hf_common.DEVICE_HELP)
        dtype: hf_common.DtypeOption = Field(None, description=hf_common.DTYPE_HELP)

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.model = o.model
        self.batch_size = o.batch_size
        self.device_option, self.dtype_option = o.device, o.dtype
        self.family: str | None = None
        self._model = self._processor = None
        self._dim = 0
        self._text_length: int | None = None
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.model

    @property
    def dim(self) -> int:
        self.ensure_setup()
        return self._dim

    def setup(self) -> None:
        transformers = hf_common.require_transformers()
        source = hf_common.resolve_source(self.model, example_hub_id=DEFAULT_MODEL, family="CLIP/SigLIP",
                                          model_types=FAMILIES)
        config = self._load(transformers.AutoConfig, source, "config")
        self.family = hf_common.check_model_type(config.model_type, FAMILIES, where=source.ref, family="CLIP/SigLIP")
        model_class, processor_class, _ = FAMILIES[self.family]
        self._device = hf_common.choose_device(self.device_option)
        self._dtype = hf_common.choose_dtype(self._device, self.dtype_option)
        self._model = self._load(getattr(transformers, model_class), source, "model",
                                 **hf_common.dtype_kwarg(self._dtype)).to(self._device).eval()
        self._processor = self._load(getattr(transformers, processor_class), source, "processor")
        # CLIP projects both towers to projection_dim; SigLIP's pooled outputs are hidden_size wide.
        self._dim = getattr(config, "projection_dim", None) or config.text_config.hidden_size
        self._text_length = config.text_config.max_position_embeddings

    def _load(self, cls, source, what: str, **kwargs):
        return hf_common.load_pretrained(cls.from_pretrained, source, what=what, example_hub_id=DEFAULT_MODEL, **kwargs)

    # -- embeddings --------------------------------------------------------------------------
    def embed_images(self, images: list) -> Any:
        pictures = [self._image(i, image) for i, image in enumerate(images)]

        def batch(chunk):
            inputs = self._processor(images=chunk, return_tensors="pt")
            return self._model.get_image_features(pixel_values=inputs["pixel_values"].to(self._device, self._dtype))

        vectors, _ = self.timed("embed_images", lambda: self._embed(pictures, batch),
                                parameters={"images": len(pictures), "family": self.family})
        return vectors

    def embed_texts(self, texts: list[str]) -> Any:
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidInput(f"text {i} is a {type(text).__name__}, not a string")

        def batch(chunk):
            padding = FAMILIES[self.family][2]
            inputs = self._processor(text=chunk, padding=padding, truncation=True, max_length=self._text_length,
                                     return_tensors="pt")
            inputs = {k: v.to(self._device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
            return self._model.get_text_features(**inputs)

        vectors, _ = self.timed("embed_texts", lambda: self._embed(list(texts), batch),
                                parameters={"texts": len(texts), "family": self.family})
        return vectors

    def _embed(self, items: list, batch) -> Any:
        import numpy as np
        import torch

        if not items:
            return np.zeros((0, self._dim), np.float32)
        rows = []
        with self._call_lock, torch.inference_mode():
            for start in range(0, len(items), self.batch_size):
                output = batch(items[start:start + self.batch_size])
                # transformers 5 returns a model output whose pooler_output is the projected
                # embedding; 4.x returned the tensor itself.
                features = output if isinstance(output, torch.Tensor) else output.pooler_output
                rows.append(torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy())
        return np.concatenate(rows).astype(np.float32)

    @staticmethod
    def _image(index: int, image):
        try:
            return hf_common.as_rgb_image(image)
        except InvalidInput as exc:
            raise InvalidInput(f"image {index}: {exc.message}") from exc

