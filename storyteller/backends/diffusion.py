"""Text-to-image with diffusers: SD 1.5, SDXL, SD/SDXL-Turbo, LCM and whatever else
`AutoPipelineForText2Image` knows, from a hub id or a directory saved with `save_pretrained`.

Reference pictures of characters (Figure.reference_image) are used in one of two honest ways:
through an IP-Adapter when one is configured (the picture conditions the image), or as the start
image of img2img (the picture is repainted). Which one is an explicit option, never a silent
fallback: an IP-Adapter asked of a pipeline that cannot load one is an error.

A request's shot (what the picture shows, staged) becomes the prompt: the characters with their
looks, actions and places first, then the place, the style, the camera and the light, as many as
the text encoder reads (CLIP: 77 tokens). With a ControlNet (`controlnet` option, a
diffusers ControlNetModel for the pipeline's family, SD 1.5 or SDXL), every picture is also
conditioned on a layout drawn from the same shot: the storyboard's own render of it turned into
an edge map (`layout = "edges"`, for canny ControlNets) or a scribble (`"scribble"`), so each
character is drawn where the shot puts it, and the result reports those regions.

Loading follows hf_common's rules (a directory loads with no network; a hub id needs the cache).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from storyteller.backends import hf_common
from storyteller.backends.base import BackendOptions, IllustrationRequest, IllustratorBackend, ImageResult
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

EXTRA = "diffusion"
DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
EXAMPLE_HUB_ID = DEFAULT_MODEL
MIN_SIDE = 64

# Short names people use for schedulers -> (diffusers class, extra config).
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpm++": ("DPMSolverMultistepScheduler", {}),
    "dpm++_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
}
ACTION_WORDS = {"stand": "standing", "walk": "walking", "run": "running", "jump": "jumping", "sit": "sitting",
                "wave": "waving", "point": "pointing", "hold": "holding something", "hug": "hugging", "sleep": "sleeping",
                "fly": "flying", "swim": "swimming", "climb": "climbing", "dance": "dancing", "reach": "reaching up",
                "hide": "hiding", "look": "looking", "talk": "talking"}
CAMERA_WORDS = {"wide": "wide shot", "medium": "medium shot", "close-up": "close-up"}
LORA_ADAPTER = "storyteller_lora"


class DiffusersIllustrator(IllustratorBackend):
    """diffusers text-to-image; its options are the fields of `Options` below."""

    name = "diffusers"

    class Options(BackendOptions):
        model: str = Field(DEFAULT_MODEL, description="hub id or directory (model_index.json inside)")
        steps: int = Field(25, ge=1, description="denoising steps")
        guidance_scale: float = Field(7.5, ge=0)
        scheduler: str | None = Field(None, description=(
            f"a short name ({', '.join(SCHEDULERS)}) or any diffusers scheduler class name"))
        negative_prompt: str = Field("", description="added to every request's own")
        lora: str | None = Field(None, description="LoRA file or directory")
        lora_weight_name: str | None = None
        lora_scale: float = 1.0
        ip_adapter: str | None = Field(None, description="IP-Adapter hub id or directory")
        ip_adapter_subfolder: str = "models"
        ip_adapter_weight_name: str | None = None
        ip_adapter_scale: float = 0.6
        reference_mode: Literal["auto", "ip_adapter", "img2img", "none"] = Field("auto", description=(
            "auto: IP-Adapter when configured, else none"))
        strength: float = Field(0.6, gt=0, le=1, description="img2img strength")
        batch_size: int = Field(4, ge=1, description="requests of one size per pipeline call")
        device: str | None = None
        dtype: str | None = None
        variant: str | None = None
        cpu_offload: bool = False
        vae_slicing: bool = False
        vae_tiling: bool = False
        max_side: int = Field(2048, ge=MIN_SIDE, multiple_of=8, description="largest width/height accepted")
        call_options: dict[str, Any] = Field(default_factory=dict, description=(
            'extra keyword arguments for every pipeline call, e.g. {"clip_skip": 2}'))
        controlnet: str | None = Field(None, description="hub id or directory of a ControlNetModel for this base model")
        controlnet_scale: float = 1.0
        layout: Literal["edges", "scribble"] = Field("edges", description=(
            "what the shot's layout is drawn as, matching the ControlNet"))

        @model_validator(mode="after")
        def _combinations(self):
            if self.reference_mode == "ip_adapter" and not self.ip_adapter:
                raise ValueError("reference_mode='ip_adapter' needs the ip_adapter option (a hub id or directory)")
            if self.ip_adapter and not self.ip_adapter_weight_name:
                raise ValueError("ip_adapter needs ip_adapter_weight_name, e.g. 'ip-adapter_sd15.safetensors'")
            if self.controlnet and (self.ip_adapter or self.reference_mode == "img2img"):
                # Not combined here: the ControlNet pipeline with an adapter or img2img is untested in this project.
                raise ValueError("controlnet cannot be combined with ip_adapter or reference_mode img2img here")
            return self

    def __init__(self, **options: Any):
        super().__init__(**options)  # checked before any weights load, so a bad config fails at once
        o = self.options
        self.model, self.steps, self.guidance_scale, self.scheduler = o.model, o.steps, o.guidance_scale, o.scheduler
        self.negative_prompt = o.negative_prompt
        self.lora, self.lora_weight_name, self.lora_scale = o.lora, o.lora_weight_name, o.lora_scale
        self.ip_adapter, self.ip_adapter_subfolder = o.ip_adapter, o.ip_adapter_subfolder
        self.ip_adapter_weight_name, self.ip_adapter_scale = o.ip_adapter_weight_name, o.ip_adapter_scale
        self.reference_mode = o.reference_mode
        if self.reference_mode == "auto":
            # Not img2img by default: a story's reference is a whole earlier page, and repainting
            # it would redraw page 1's scene on every page. img2img is there to ask for explicitly.
            self.reference_mode = "ip_adapter" if o.ip_adapter else "none"
        self.strength, self.batch_size = o.strength, o.batch_size
        self.device_option, self.dtype_option, self.variant = o.device, o.dtype, o.variant
        self.cpu_offload, self.vae_slicing, self.vae_tiling = o.cpu_offload, o.vae_slicing, o.vae_tiling
        self.max_side = o.max_side
        self.call_options = dict(o.call_options or {})
        self.controlnet, self.controlnet_scale, self.layout = o.controlnet, o.controlnet_scale, o.layout
        self._pipe = None
        self._control = None  # the ControlNet pipeline, sharing every component of _pipe
        self._img2img = None
        self._tokenizer, self._token_limit = None, None
        self._device = "cpu"
        # A pipeline keeps per-call state (scheduler timesteps, adapter scales): one call at a time.
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.model

    # -- loading -----------------------------------------------------------------------------
    def setup(self) -> None:
        diffusers = hf_common.require("torch", "diffusers", extra=EXTRA)
        source, local = resolve_pipeline_source(self.model)
        self._device, dtype = pipeline_device_and_dtype(self.device_option, self.dtype_option)
        kwargs: dict[str, Any] = dtype_kwarg(diffusers, dtype, since="0.42")
        if local:
            kwargs["local_files_only"] = True  # a folder must never trigger a hub lookup
        if self.variant:
            kwargs["variant"] = self.variant
        pipe = load_or_explain(lambda: diffusers.AutoPipelineForText2Image.from_pretrained(source, **kwargs),
                               self.model, local)

        if self.scheduler:
            pipe.scheduler = _make_scheduler(diffusers, self.scheduler, pipe.scheduler.config)
        if self.lora:
            self._load_lora(pipe)
        if self.ip_adapter:
            self._load_ip_adapter(pipe)

        if self.cpu_offload:
            if not self._device.startswith("cuda"):
                raise BackendUnavailable(
                    f"cpu_offload moves model parts between CPU and a GPU; the device here is {self._device}",
                    fix="set cpu_offload: false, or run on a CUDA GPU",
                )
            pipe.enable_model_cpu_offload(device=self._device)  # accelerate places each part when it runs
        else:
            pipe.to(self._device)
        if self.vae_slicing and hasattr(pipe.vae, "enable_slicing"):
            pipe.vae.enable_slicing()
        if self.vae_tiling and hasattr(pipe.vae, "enable_tiling"):
            pipe.vae.enable_tiling()
        pipe.set_progress_bar_config(disable=True)
        self._tokenizer, self._token_limit = _longest_reading_tokenizer(pipe)
        self._pipe = pipe
        if self.controlnet:
            self._control = self._load_controlnet(diffusers, pipe, kwargs)

    def _load_controlnet(self, diffusers, pipe, kwargs):
        path = Path(self.controlnet).expanduser()
        local = path.is_dir()
        if hf_common._looks_like_path(self.controlnet) and not local:
            raise BackendUnavailable(f"ControlNet directory not found: {path}",
                                     fix=f"download it with `hf download lllyasviel/sd-controlnet-canny --local-dir {path}`")
        options = {k: v for k, v in kwargs.items() if k != "variant"}
        controlnet = load_or_explain(
            lambda: diffusers.ControlNetModel.from_pretrained(str(path) if local else self.controlnet, **options),
            self.controlnet, local)
        try:
            # from_pipe shares the UNet, VAE and text encoders: the ControlNet is the only new weights.
            control = diffusers.AutoPipelineForText2Image.from_pipe(pipe, controlnet=controlnet)
        except ValueError as exc:
            raise BackendUnavailable(f"{type(pipe).__name__} has no ControlNet counterpart: {exc}",
                                     fix="use a Stable Diffusion 1.5 or SDXL model with a ControlNet trained for it") from exc
        if self.cpu_offload:
            control.enable_model_cpu_offload(device=self._device)
        else:
            control.to(self._device)
        control.set_progress_bar_config(disable=True)
        return control

    def _load_lora(self, pipe) -> None:
        import importlib.util

        if not hasattr(pipe, "load_lora_weights"):
            raise BackendUnavailable(f"{type(pipe).__name__} cannot load LoRA weights", fix="remove the lora option")
        if importlib.util.find_spec("peft") is None:  # diffusers loads LoRAs through peft
            raise BackendUnavailable("LoRA weights need peft, which is not installed",
                                     fix=install_hint(EXTRA))
        path = Path(self.lora).expanduser()
        if path.is_file():
            source, weight_name = str(path.parent), path.name
        elif path.is_dir() or hf_common._looks_like_path(self.lora):
            if not path.is_dir():
                raise BackendUnavailable(
                    f"LoRA not found: {path}",
                    fix="set lora to a .safetensors file, a directory written by save_lora_weights(), or a hub id",
                )
            source, weight_name = str(path), self.lora_weight_name
        else:  # a hub id such as latent-consistency/lcm-lora-sdv1-5 (needs the cache or network)
            source, weight_name = self.lora, self.lora_weight_name
        try:
            pipe.load_lora_weights(source, weight_name=weight_name, adapter_name=LORA_ADAPTER)
        except (OSError, ValueError, KeyError) as exc:
            raise BackendUnavailable(f"cannot load LoRA {self.lora} into {type(pipe).__name__}: {exc}",
                                     fix="check the LoRA was trained for this base model (and, for a hub id, "
                                         "that it is in the Hugging Face cache)") from exc
        # set_adapters scales the UNet and the text encoders alike, for every pipeline family;
        # a scale of 0 multiplies the LoRA's contribution by zero, i.e. the base model's output.
        pipe.set_adapters([LORA_ADAPTER], adapter_weights=[self.lora_scale])

    def _load_ip_adapter(self, pipe) -> None:
        if not hasattr(pipe, "load_ip_adapter"):
            raise BackendUnavailable(
                f"the pipeline {type(pipe).__name__} ({self.model}) does not support IP-Adapter",
                fix="remove the ip_adapter option (reference_mode img2img uses reference pictures without it), "
                    "or use a Stable Diffusion 1.5 / SDXL / SD3 / Flux model",
            )
        ip_path = Path(self.ip_adapter).expanduser()
        if hf_common._looks_like_path(self.ip_adapter) and not ip_path.is_dir():
            raise BackendUnavailable(
                f"IP-Adapter directory not found: {ip_path}",
                fix=f"download it with `hf download h94/IP-Adapter --local-dir {ip_path}` on a machine with network",
            )
        source = str(ip_path) if ip_path.is_dir() else self.ip_adapter
        try:
            pipe.load_ip_adapter(source, subfolder=self.ip_adapter_subfolder, weight_name=self.ip_adapter_weight_name)
        except (OSError, ValueError, KeyError) as exc:
            raise BackendUnavailable(
                f"cannot load IP-Adapter {self.ip_adapter} "
                f"({self.ip_adapter_subfolder}/{self.ip_adapter_weight_name}): {exc}",
                fix="the folder needs the weight file and an image_encoder/ folder beside it, matching the base model",
            ) from exc
        pipe.set_ip_adapter_scale(self.ip_adapter_scale)

    def _img2img_pipe(self):
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            try:
                # from_pipe shares every component (and the loaded LoRA): no second copy in memory.
                self._img2img = AutoPipelineForImage2Image.from_pipe(self._pipe)
            except ValueError as exc:
                raise BackendUnavailable(f"{type(self._pipe).__name__} has no img2img counterpart: {exc}",
                                         fix="set reference_mode: none") from exc
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    # -- inputs ------------------------------------------------------------------------------
    def check_inputs(self, requests: list[IllustrationRequest]) -> None:
        """Reject what the pipeline would fail on (or silently crop), with the precise reason."""
        for i, r in enumerate(requests):
            for side, value in (("width", r.width), ("height", r.height)):
                if value % 8 or not MIN_SIDE <= value <= self.max_side:
                    raise InvalidInput(
                        f"request {i}: {side} {value} must be a multiple of 8 between {MIN_SIDE} and {self.max_side}"
                    )
            if not r.prompt.strip():
                raise InvalidInput(f"request {i}: the prompt is empty")
            if self._mode(r) == "img2img" and int(self.steps * self.strength) < 1:
                raise InvalidInput(
                    f"img2img with steps={self.steps} and strength={self.strength} runs no denoising step",
                    fix="raise steps or strength",
                )

    def _fits(self, prompt: str) -> bool:
        if self._tokenizer is None:
            return True
        return len(self._tokenizer(prompt, verbose=False)["input_ids"]) <= self._token_limit

    def _mode(self, request: IllustrationRequest) -> str:
        if self.reference_mode == "ip_adapter":
            return "ip_adapter"  # every call needs an image; requests without one get scale 0
        if self.reference_mode == "img2img" and _reference(request) is not None:
            return "img2img"
        return "layout" if self.controlnet else "text"

    # -- generation --------------------------------------------------------------------------
    def illustrate(self, requests: list[IllustrationRequest]) -> list[ImageResult]:
        self.check_inputs(requests)
        results: list[ImageResult | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            groups[(r.width, r.height, self._mode(r))].append(i)
        for (width, height, mode), indices in groups.items():
            # IP-Adapter embeddings are computed per call for one reference: one request per call.
            size = 1 if mode == "ip_adapter" else self.batch_size
            for start in range(0, len(indices), size):
                chunk = indices[start:start + size]
                for i, result in zip(chunk, self._run([requests[i] for i in chunk], width, height, mode)):
                    results[i] = result
        return results  # type: ignore[return-value]

    def _run(self, batch: list[IllustrationRequest], width: int, height: int, mode: str) -> list[ImageResult]:
        import torch

        self.ensure_setup()  # fitting the prompt needs the pipeline's tokenizer
        with self._call_lock:  # the pipeline's calls change its (Rust) tokenizer's truncation settings
            prompts = [_full_prompt(r, self._fits) for r in batch]
        negatives = [", ".join(p for p in (self.negative_prompt, r.negative_prompt) if p) for r in batch]
        kwargs: dict[str, Any] = dict(
            self.call_options,
            prompt=prompts, negative_prompt=negatives, num_inference_steps=self.steps,
            guidance_scale=self.guidance_scale, output_type="pil",
            # One CPU generator per image: the starting noise depends only on the seed, not on the
            # device or on which other requests share the batch.
            generator=[torch.Generator(device="cpu").manual_seed(r.seed) for r in batch],
        )
        parameters: dict[str, Any] = {
            "steps": self.steps, "guidance_scale": self.guidance_scale, "width": width, "height": height,
            "scheduler": self.scheduler, "mode": mode, "lora": self.lora,
            "lora_scale": self.lora_scale if self.lora else None, "batch_size": len(batch),
        }
        ip_scale = None
        layouts = []
        if mode == "layout":
            layouts = [layout_image(r, self.layout) for r in batch]
            kwargs.update(image=[image for image, _ in layouts], controlnet_conditioning_scale=self.controlnet_scale)
            parameters.update(controlnet=self.controlnet, controlnet_scale=self.controlnet_scale, layout=self.layout)
        if mode == "img2img":
            kwargs["image"] = [_reference(r).resize((width, height)) for r in batch]
            kwargs["strength"] = self.strength
            parameters["strength"] = self.strength
        else:
            kwargs.update(width=width, height=height)
        if mode == "ip_adapter":
            reference = _reference(batch[0])
            from PIL import Image

            # A pipeline with an IP-Adapter needs an image on every call; without a reference the
            # adapter's scale is set to 0 for this call, so a neutral grey picture has no effect.
            ip_scale = self.ip_adapter_scale if reference is not None else 0.0
            neutral = Image.new("RGB", (224, 224), "gray")
            kwargs["ip_adapter_image"] = reference if reference is not None else neutral
            parameters.update(ip_adapter=self.ip_adapter, ip_adapter_scale=ip_scale)

        def call():
            with self._call_lock:
                pipe = self._img2img_pipe() if mode == "img2img" else self._control if mode == "layout" else self._pipe
                if ip_scale is not None:
                    pipe.set_ip_adapter_scale(ip_scale)
                try:
                    return pipe(**kwargs)
                except (RuntimeError, ValueError) as exc:
                    raise BackendCallError(
                        f"diffusers pipeline failed: {exc}",
                        fix="lower width/height or batch_size, or enable vae_tiling/cpu_offload",
                    ) from exc
                finally:
                    if ip_scale is not None:
                        pipe.set_ip_adapter_scale(self.ip_adapter_scale)

        output, provenance = self.timed("illustrate", call, seed=batch[0].seed, prompt=prompts[0],
                                        parameters=parameters)
        flagged = getattr(output, "nsfw_content_detected", None) or [False] * len(batch)
        results = []
        for i, (r, prompt, negative, image, nsfw) in enumerate(zip(batch, prompts, negatives, output.images, flagged)):
            params = dict(parameters, negative_prompt=negative)
            if prompt != _full_prompt(r):  # parts of the prompt were left out so that it fits
                params["prompt_fitted_to_tokens"] = self._token_limit
            regions = layouts[i][1] if layouts else {}
            if regions:
                params["regions_source"] = f"controlnet layout ({self.layout})"
            if nsfw:
                params["safety_checker_blanked"] = True  # the pipeline's safety checker replaced the image
            results.append(ImageResult(
                image=image,
                provenance=provenance.model_copy(update={
                    "seed": r.seed, "prompt": prompt, "parameters": params,
                    # The call's time shared over its images, so per-image times add up.
                    "duration_s": round(provenance.duration_s / len(batch), 4),
                }),
                regions=regions,
            ))
        return results


def _reference(request: IllustrationRequest):
    """The first figure's reference picture (PIL, array or file path) as RGB; the main character
    comes first in a request."""
    for figure in request.figures:
        if figure.reference_image is not None:
            return hf_common.as_rgb_image(figure.reference_image)
    return None


def shot_parts(request: IllustrationRequest) -> list[str]:
    """The prompt of a staged request, in parts, most important first: each character (who, how it
    looks, what it does, where), the place and time, the style, the camera, the light, the props."""
    shot = request.shot
    figures = {f.key: f for f in request.figures}
    parts = []
    for member in shot.cast:
        figure = figures.get(member.character)
        if figure is None:
            continue
        where = {"left": "on the left", "right": "on the right", "centre": "in the middle"}[member.position]
        mood = "" if member.expression == "neutral" else f", {member.expression}"
        far = ", in the distance" if member.depth == "far" else ""
        parts.append(f"{figure.label}, {figure.description or figure.species}, {ACTION_WORDS[member.action]}{mood}, "
                     f"{where}{far}")
    weather = "" if shot.weather == "clear" else f", {shot.weather}"
    parts.append(f"{shot.place or shot.setting} ({shot.setting}), {shot.time_of_day}{weather}")
    if request.style:
        parts.append(request.style)
    parts.append(CAMERA_WORDS[shot.camera])
    parts.append(f"{shot.light} light")
    if shot.props:
        parts.append("with " + ", ".join(shot.props))
    return parts


def _full_prompt(request: IllustrationRequest, fits: Callable[[str], bool] | None = None) -> str:
    """What the text encoder reads. The CLIP text encoders of SD 1.5 and SDXL read 77 tokens and drop
    the rest, so nothing important may come last.

    With a shot: its parts (shot_parts), most important first, as many whole parts as fit. Without:
    the request's prompt, then its style; when the whole is too long, the prompt's last words go, so
    the start of the prompt (the scene) and the style both reach the model.
    """
    if request.shot is not None:
        parts = shot_parts(request)
        kept = parts[:1]
        for part in parts[1:]:
            if fits is None or fits(", ".join([*kept, part])):
                kept.append(part)
        return ", ".join(kept)
    if not request.style or request.style.lower() in request.prompt.lower():
        return request.prompt
    full = f"{request.prompt}, {request.style}"
    if fits is None or fits(full):
        return full
    words = request.prompt.split()
    keep, too_many = 0, len(words)  # the most leading words that fit beside the style (binary search)
    while too_many - keep > 1:
        middle = (keep + too_many) // 2
        if fits(f"{' '.join(words[:middle])}, {request.style}"):
            keep = middle
        else:
            too_many = middle
    if keep == 0:
        return full  # the style alone is too long: nothing to gain, the encoder truncates as it would
    return f"{' '.join(words[:keep])}, {request.style}"


def layout_image(request: IllustrationRequest, kind: str):
    """(the layout image a ControlNet is conditioned on, the regions of the figures in it): the
    storyboard's render of the request's shot (no caption, labels or style treatment, which would
    be edges too), as white edges on black ("edges") or thicker strokes ("scribble")."""
    import dataclasses

    from PIL import ImageFilter, ImageOps

    from storyteller.backends.storyboard import render_page

    plain = dataclasses.replace(request, caption="", style="", palette=[], sheet=False)
    picture, parameters, _ = render_page(plain, caption=False, labels=False, corner_label=False)
    edges = ImageOps.grayscale(picture).filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 40 else 0)
    if kind == "scribble":
        edges = edges.filter(ImageFilter.MaxFilter(3))
    regions = {f["key"]: tuple(f["box"]) for f in parameters["figures"] if f["box"] is not None}
    return edges.convert("RGB"), regions


def _longest_reading_tokenizer(pipe):
    """(tokenizer, token limit) of the pipeline's text encoder that reads the most tokens (CLIP's 77
    for SD 1.5/SDXL; T5's longer limit for SD3/Flux/PixArt), or (None, None) when it has none."""
    best = (None, None)
    for name in ("tokenizer", "tokenizer_2", "tokenizer_3"):
        tokenizer = getattr(pipe, name, None)
        limit = getattr(tokenizer, "model_max_length", None)
        # Tokenizers without a limit report a huge sentinel (int(1e30)).
        if isinstance(limit, int) and 0 < limit <= 100_000 and (best[1] is None or limit > best[1]):
            best = (tokenizer, limit)
    return best


def _make_scheduler(diffusers, name: str, config):
    class_name, extra = SCHEDULERS.get(name.lower(), (name, {}))
    cls = getattr(diffusers, class_name, None)
    if cls is None or not hasattr(cls, "from_config"):
        raise BackendUnavailable(f"unknown scheduler {name!r}",
                                 fix=f"use one of {', '.join(SCHEDULERS)} or a diffusers scheduler class name")
    return cls.from_config(config, **extra)


# ---------------------------------------------------------------------------------------------
# Loading helpers. Device choice and download hints come from hf_common; what differs here is
# that a diffusers folder is marked by model_index.json, not config.json.
# ---------------------------------------------------------------------------------------------
def pipeline_device_and_dtype(device: str | None, dtype: str | None):
    """cuda/mps -> float16 (what SD weights are published in), cpu -> float32; options override."""
    device = hf_common.choose_device(device)
    if dtype in (None, "auto"):
        dtype = "float32" if device == "cpu" else "float16"
    return device, hf_common.choose_dtype(device, dtype)


def dtype_kwarg(library, dtype, *, since: str) -> dict[str, Any]:
    """{"dtype": ...} for diffusers versions that renamed `torch_dtype` (0.42), else {"torch_dtype": ...}."""
    from packaging.version import Version

    new = Version(library.__version__.split("+")[0]) >= Version(since)
    return {"dtype" if new else "torch_dtype": dtype}


def resolve_pipeline_source(model: str) -> tuple[str, bool]:
    """(what to pass to from_pretrained, is_local): an existing pipeline folder, or a hub id.

    A path that does not exist is an error naming it, rather than a confusing hub lookup.
    """
    path = Path(model).expanduser()
    if path.exists() or hf_common._looks_like_path(model):
        if not path.is_dir():
            what = "is a file, not a pipeline folder" if path.exists() else "does not exist"
            raise BackendUnavailable(f"diffusion model directory {path} {what}",
                                     fix=hf_common.download_fix(model, EXAMPLE_HUB_ID))
        if not (path / "model_index.json").is_file():
            raise BackendUnavailable(
                f"diffusion model directory {path} has no model_index.json (not a diffusers pipeline folder)",
                fix="point model at the folder written by save_pretrained() or `hf download`; "
                    + hf_common.download_fix(model, EXAMPLE_HUB_ID),
            )
        return str(path.resolve()), True
    return model, False


def load_or_explain(load, model: str, local: bool):
    """Run a from_pretrained call, turning "cannot find/download" into BackendUnavailable with a fix."""
    try:
        return load()
    except ImportError as exc:
        raise BackendUnavailable(
            f"loading {model} needs a library that is missing: {exc}",
            fix=f"{install_hint(EXTRA)}, or install the package the message names",
        ) from exc
    except (OSError, ValueError, KeyError) as exc:
        if local:
            raise BackendUnavailable(f"cannot load the pipeline in {model}: {exc}",
                                     fix="the folder is incomplete or of another kind; "
                                         + hf_common.download_fix(model, EXAMPLE_HUB_ID)) from exc
        raise BackendUnavailable(
            f"cannot load {model!r} (no network, or not in the Hugging Face cache): {exc}",
            fix=hf_common.download_fix(model, EXAMPLE_HUB_ID),
        ) from exc
