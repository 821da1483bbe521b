"""Neural captioning and visual question answering through transformers.

Families: BLIP (captions), BLIP-2 (captions, optionally prompted), LLaVA 1.5 and LLaVA-NeXT (VQA),
Qwen2-VL and Qwen2.5-VL (VQA). Each backend takes a hub id or a local model folder; a folder loads
with no network. The VQA models also serve as captioners (they are asked to describe the picture),
registered under the same names in the captioner role.

None of these models ships inside a PyPI package, so the embedded default cannot use them; they
are for users who downloaded a model folder (see README) or have network and a GPU.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, ClassVar

from pydantic import Field, field_validator

from storyteller.backends import hf_common
from storyteller.backends.base import Backend, BackendOptions, CaptionerBackend, TextResult, VQABackend, Usage
from storyteller.errors import BackendUnavailable, InvalidInput

DESCRIBE_PROMPT = "Describe this picture in one or two sentences."


class _HFVisionBackend(Backend):
    """Loading, device placement and seeded generation shared by the image-to-text families."""

    family: ClassVar[str]
    example_hub_id: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]

    class Options(BackendOptions):
        model: str | None = Field(None, description="hub id or directory (none: the family's example model)")
        device: hf_common.DeviceOption = Field(None, description=hf_common.DEVICE_HELP)
        dtype: hf_common.DtypeOption = Field(None, description=hf_common.DTYPE_HELP)
        max_tokens: int = Field(64, ge=1, description="most tokens generated per answer or caption")
        # 0 decodes greedily (the same answer every time); above 2 sampling is noise.
        temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature (0: greedy)")
        seed: int | None = Field(0, ge=0, description="seeds sampling (none: not seeded)")
        trust_remote_code: bool = Field(False, description="run the model folder's own Python code")

    def __init__(self, **options: Any):
        # The family's example model when none is named, so the options say what runs (doctor).
        super().__init__(**{**options, "model": options.get("model") or self.example_hub_id})
        self._model_ref = str(self.options.model)
        self.device = "cpu"
        self.dtype = None
        self._model = None
        self._processor = None
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_ref

    # -- loading -------------------------------------------------------------------------------
    def setup(self) -> None:
        transformers = hf_common.require_transformers()
        source = hf_common.resolve_source(self._model_ref, example_hub_id=self.example_hub_id, family=self.family,
                                          model_types=self.model_types)
        self.device = hf_common.choose_device(self.options.device)
        self.dtype = hf_common.choose_dtype(self.device, self.options.dtype)
        config = self._from_pretrained(transformers.AutoConfig, source, "config")
        # A local folder was checked already; a hub id can only be checked once its config is here.
        hf_common.check_model_type(getattr(config, "model_type", None), self.model_types, where=source.ref,
                                   family=self.family)
        self._load(transformers, source, config)
        self._model = self._model.to(self.device).eval()

    def _from_pretrained(self, cls, source: hf_common.ModelSource, what: str, **kwargs):
        return hf_common.load_pretrained(cls.from_pretrained, source, what=what, example_hub_id=self.example_hub_id,
                                         trust_remote_code=self.options.trust_remote_code, **kwargs)

    def _load_model(self, cls, source: hf_common.ModelSource):
        return self._from_pretrained(cls, source, f"{self.family} model", **hf_common.dtype_kwarg(self.dtype))

    def _load(self, transformers, source: hf_common.ModelSource, config) -> None:
        """Set self._processor and self._model."""
        raise NotImplementedError

    # -- generation ------------------------------------------------------------------------------
    def _to_device(self, inputs) -> dict[str, Any]:
        """Inputs on the model's device; image tensors in the model's dtype, ids left as integers."""
        moved = {}
        for key, value in dict(inputs).items():
            if hasattr(value, "to"):
                value = value.to(self.device, dtype=self.dtype) if value.is_floating_point() else value.to(self.device)
            moved[key] = value
        return moved

    def _generate(self, inputs: dict[str, Any], *, strip_prompt: bool) -> tuple[str, int]:
        import torch

        gen_kwargs: dict[str, Any] = dict(max_new_tokens=self.options.max_tokens)
        if self.options.temperature == 0:
            gen_kwargs["do_sample"] = False
        else:
            gen_kwargs.update(do_sample=True, temperature=self.options.temperature)
        with self._call_lock, hf_common.seeded(self.options.seed, self.device), torch.inference_mode():
            output = self._model.generate(**inputs, **gen_kwargs)
        row = output[0]
        prompt_ids = inputs.get("input_ids")
        if strip_prompt and prompt_ids is not None:
            # Decoder-only models return prompt + answer; some versions return the answer alone.
            prompt_row = prompt_ids[0]
            n = prompt_row.shape[0]
            if row.shape[0] >= n and torch.equal(row[:n], prompt_row.to(row.device)):
                row = row[n:]
        text = self._tokenizer().decode(row, skip_special_tokens=True).strip()
        return text, int(row.shape[0])

    def _tokenizer(self):
        return getattr(self._processor, "tokenizer", self._processor)

    def _call(self, operation: str, image, text: str | None, run) -> TextResult:
        picture = hf_common.as_rgb_image(image)
        (answer, tokens), provenance = self.timed(
            operation, lambda: run(picture), seed=self.options.seed, prompt=text,
            parameters={"max_tokens": self.options.max_tokens, "temperature": self.options.temperature, "device": self.device},
            usage=lambda r: Usage(completion_tokens=r[1]),
        )
        return TextResult(text=answer, provenance=provenance, details={"image_size": list(picture.size)})


def _question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("the question is empty")
    return question.strip()


# -- captioners ------------------------------------------------------------------------------------
class _BlipFamilyCaptioner(_HFVisionBackend, CaptionerBackend):
    """BLIP and BLIP-2: a processor and a conditional-generation model, captioning the picture
    with the prompt, if any, as the text it starts from. options: model, device, dtype,
    max_tokens, temperature, seed."""

    _classes = {"blip-2": "Blip2ForConditionalGeneration", "blip": "BlipForConditionalGeneration"}
    # Whether a prompt is taken off the caption (BLIP-2) or stays in it (BLIP).
    strips_prompt: ClassVar[bool]

    def _load(self, transformers, source, config) -> None:
        self._processor = self._from_pretrained(transformers.AutoProcessor, source, f"{self.family} processor")
        self._model = self._load_model(getattr(transformers, self._classes[config.model_type]), source)

    def caption(self, image, prompt: str | None = None) -> TextResult:
        prompt = (prompt or "").strip() or None

        def run(picture):
            inputs = self._processor(images=picture, text=prompt, return_tensors="pt")
            # Unprompted, BLIP-2 returns image placeholders + BOS + caption: special tokens, dropped on decode.
            return self._generate(self._to_device(inputs), strip_prompt=self.strips_prompt and prompt is not None)

        return self._call("caption", image, prompt, run)


class Blip2Captioner(_BlipFamilyCaptioner):
    """BLIP-2 captions. With a prompt (e.g. "Question: who is in the picture? Answer:") the model
    continues it and only the continuation is returned."""

    name = "blip2"
    family = "BLIP-2"
    example_hub_id = "Salesforce/blip2-opt-2.7b"
    model_types = ("blip-2",)
    strips_prompt = True


class BlipCaptioner(_BlipFamilyCaptioner):
    """BLIP captions. A prompt is a prefix the caption continues ("a watercolour of"), and stays in
    the returned caption, as BLIP was trained."""

    name = "blip"
    family = "BLIP"
    example_hub_id = "Salesforce/blip-image-captioning-large"
    model_types = ("blip",)
    strips_prompt = False


# -- visual question answering ------------------------------------------------------------------------
class LlavaVQA(_HFVisionBackend, VQABackend):
    """LLaVA 1.5 (LlavaForConditionalGeneration) or LLaVA-NeXT (LlavaNextForConditionalGeneration),
    chosen from the folder's config. options: model, device, dtype, max_tokens, temperature, seed."""

    name = "llava"
    family = "LLaVA"
    example_hub_id = "llava-hf/llava-1.5-7b-hf"
    model_types = ("llava", "llava_next")
    _classes = {"llava": "LlavaForConditionalGeneration", "llava_next": "LlavaNextForConditionalGeneration"}

    def _load(self, transformers, source, config) -> None:
        self._processor = self._from_pretrained(transformers.AutoProcessor, source, f"{config.model_type} processor")
        self._model = self._load_model(getattr(transformers, self._classes[config.model_type]), source)
        self.model_type = config.model_type

    def _prompt(self, question: str) -> str:
        if getattr(self._processor, "chat_template", None):
            conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
            return self._processor.apply_chat_template(conversation, add_generation_prompt=True)
        # The llava-1.5 prompt format, for folders saved without a chat template.
        return f"USER: <image>\n{question} ASSISTANT:"

    def _ask(self, operation: str, image, question: str) -> TextResult:
        def run(picture):
            inputs = self._processor(images=picture, text=self._prompt(question), return_tensors="pt")
            return self._generate(self._to_device(inputs), strip_prompt=True)

        return self._call(operation, image, question, run)

    def answer(self, image, question: str) -> TextResult:
        return self._ask("answer", image, _question(question))


class QwenVLVQA(_HFVisionBackend, VQABackend):
    """Qwen2-VL or Qwen2.5-VL, chosen from the folder's config. options: model, device, dtype,
    max_tokens, temperature, seed, max_pixels (pictures are scaled down to at most this many
    pixels first: Qwen-VL spends one token per 28x28 pixels, so a camera photo would cost
    thousands of tokens).

    transformers 5's Qwen processors also build a video processor, which needs torchvision. When
    that import fails, this backend uses the two parts it actually needs, the image processor and
    the tokenizer, and expands the image placeholder itself exactly as the processor does
    (one <|image_pad|> per merged patch: grid_t*grid_h*grid_w / merge_size**2).
    """

    name = "qwen2-vl"
    family = "Qwen-VL"
    example_hub_id = "Qwen/Qwen2-VL-2B-Instruct"
    model_types = ("qwen2_vl", "qwen2_5_vl")
    _classes = {"qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}
    IMAGE_PAD = "<|image_pad|>"
    SYSTEM = "You are a helpful assistant."

    class Options(_HFVisionBackend.Options):
        max_pixels: int = Field(1024 * 28 * 28, description=(
            "pictures are scaled down to at most this many pixels first (one token per 28x28 patch)"))

        @field_validator("max_pixels")
        @classmethod
        def _one_patch_at_least(cls, value: int) -> int:
            # Below one patch the picture would be no token at all.
            if value < 28 * 28:
                raise ValueError(f"max_pixels must be at least {28 * 28} (one 28x28 patch), got {value}")
            return value

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.max_pixels = self.options.max_pixels
        self.processing = "processor"
        self._image_processor = None

    def _load(self, transformers, source, config) -> None:
        try:
            self._processor = self._from_pretrained(transformers.AutoProcessor, source, "Qwen-VL processor")
        except BackendUnavailable as exc:
            if not isinstance(exc.__cause__, ImportError):
                raise
            # The video half of the processor could not be imported (torchvision); images do not need it.
            self._image_processor = self._from_pretrained(transformers.AutoImageProcessor, source, "image processor")
            self._processor = self._from_pretrained(transformers.AutoTokenizer, source, "tokenizer")
            self.processing = "image processor + tokenizer (no torchvision)"
        self._model = self._load_model(getattr(transformers, self._classes[config.model_type]), source)
        self.model_type = config.model_type
        self._image_token_id = config.image_token_id
        self._wants_mm_types = "mm_token_type_ids" in inspect.signature(self._model.forward).parameters

    def _prompt(self, question: str) -> str:
        # Qwen2-VL's and Qwen2.5-VL's chat format with one image, as their chat templates render it.
        return (f"<|im_start|>system\n{self.SYSTEM}<|im_end|>\n<|im_start|>user\n"
                f"<|vision_start|>{self.IMAGE_PAD}<|vision_end|>{question}<|im_end|>\n<|im_start|>assistant\n")

    def _shrink(self, picture):
        width, height = picture.size
        if width * height <= self.max_pixels:
            return picture
        scale = (self.max_pixels / (width * height)) ** 0.5
        return picture.resize((max(28, int(width * scale)), max(28, int(height * scale))))

    def _inputs(self, picture, question: str) -> dict[str, Any]:
        prompt = self._prompt(question)
        if self._image_processor is None:
            return dict(self._processor(text=[prompt], images=[picture], return_tensors="pt"))
        image_inputs = self._image_processor(images=[picture], return_tensors="pt")
        merge = self._image_processor.merge_size
        count = int(image_inputs["image_grid_thw"][0].prod()) // (merge * merge)
        text_inputs = self._processor(prompt.replace(self.IMAGE_PAD, self.IMAGE_PAD * count), return_tensors="pt",
                                      add_special_tokens=False)
        inputs = {**text_inputs, **image_inputs}
        if self._wants_mm_types:
            # 1 marks image positions, so M-RoPE gives them 2-D positions (what the processor returns).
            inputs["mm_token_type_ids"] = (text_inputs["input_ids"] == self._image_token_id).int()
        return inputs

    def _ask(self, operation: str, image, question: str) -> TextResult:
        def run(picture):
            inputs = self._inputs(self._shrink(picture), question)
            return self._generate(self._to_device(inputs), strip_prompt=True)

        return self._call(operation, image, question, run)

    def answer(self, image, question: str) -> TextResult:
        return self._ask("answer", image, _question(question))


# -- the VQA models as captioners ------------------------------------------------------------------------
class LlavaCaptioner(LlavaVQA, CaptionerBackend):
    """LLaVA asked to describe the picture (or asked the given prompt)."""

    role = "captioner"

    def caption(self, image, prompt: str | None = None) -> TextResult:
        return self._ask("caption", image, (prompt or "").strip() or DESCRIBE_PROMPT)


class QwenVLCaptioner(QwenVLVQA, CaptionerBackend):
    """Qwen-VL asked to describe the picture (or asked the given prompt)."""

    role = "captioner"

    def caption(self, image, prompt: str | None = None) -> TextResult:
        return self._ask("caption", image, (prompt or "").strip() or DESCRIBE_PROMPT)
