"""DiffusersIllustrator on tiny random pipelines (tests/tiny_models.py) saved to disk.

Nothing is downloaded: the models are built from configs (as diffusers' own tests do), saved with
save_pretrained, and loaded back through the same path a user's directory takes (model=<dir>).
Random weights make noise, so the assertions are about behaviour: sizes, seeds, batching, LoRA
scale, img2img, IP-Adapter, and the errors a user sees.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("peft")
torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from storyteller.backends.base import Figure, IllustrationRequest  # noqa: E402
from storyteller.backends.diffusion import DiffusersIllustrator  # noqa: E402
from storyteller.errors import BackendUnavailable, ConfigError, InvalidInput  # noqa: E402
from tiny_models import one_thread, build_controlnet, build_ip_adapter, build_lora, build_pixart, build_sd15, build_sdxl  # noqa: E402, F401 (one_thread: an autouse fixture)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffusion")
    pipe = build_sd15(root / "sd15")
    build_controlnet(pipe.unet, root / "controlnet")
    build_ip_adapter(pipe.unet, root / "ip")
    build_lora(pipe, root / "lora")
    return root


@pytest.fixture(scope="module")
def sd(models):
    return DiffusersIllustrator(model=str(models / "sd15"), steps=2, guidance_scale=5.0)


def request(seed=0, **kwargs):
    kwargs.setdefault("width", 64)
    kwargs.setdefault("height", 64)
    return IllustrationRequest(prompt=kwargs.pop("prompt", "the red fox in a forest"), seed=seed, **kwargs)


def pixels(result) -> np.ndarray:
    return np.asarray(result.image, dtype=np.int16)


# -- text to image ------------------------------------------------------------------------------
def test_loads_a_saved_directory_and_records_provenance(sd, models):
    [result] = sd.illustrate([request(seed=7, negative_prompt="blurry", style="watercolour")])
    assert isinstance(result.image, Image.Image)
    assert result.image.size == (64, 64) and result.image.mode == "RGB"
    p = result.provenance
    assert (p.backend, p.kind, p.model, p.seed) == ("diffusers", "neural", str(models / "sd15"), 7)
    assert p.prompt == "the red fox in a forest, watercolour"
    assert p.parameters["negative_prompt"] == "blurry"
    assert (p.parameters["steps"], p.parameters["guidance_scale"]) == (2, 5.0)
    assert (p.parameters["width"], p.parameters["height"], p.parameters["mode"]) == (64, 64, "text")
    assert p.parameters["lora"] is None
    assert sd.load_seconds is not None


def test_same_seed_same_pixels_different_seed_different(sd):
    a, b, c = (sd.illustrate([request(seed=s)])[0] for s in (3, 3, 4))
    assert np.array_equal(pixels(a), pixels(b))
    assert np.abs(pixels(a) - pixels(c)).mean() > 1.0


class Recording:
    """A pipeline that records the keyword arguments of each call, then runs it."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.real(**kwargs)


def test_requests_of_one_size_share_one_pipeline_call(sd):
    sd.ensure_setup()
    real = sd._pipe
    sd._pipe = recording = Recording(real)
    try:
        results = sd.illustrate([request(seed=1), request(seed=2, width=72), request(seed=3), request(seed=1)])
    finally:
        sd._pipe = real
    assert sorted(len(call["prompt"]) for call in recording.calls) == [1, 3]
    assert [r.image.size for r in results] == [(64, 64), (72, 64), (64, 64), (64, 64)]
    assert [r.provenance.seed for r in results] == [1, 2, 3, 1]
    assert results[0].provenance.parameters["batch_size"] == 3
    # Each image has its own generator, so a seed gives the same picture alone or in a batch.
    assert np.array_equal(pixels(results[0]), pixels(results[3]))
    alone = sd.illustrate([request(seed=3)])[0]
    assert np.abs(pixels(alone) - pixels(results[2])).max() <= 2


def test_scheduler_option_replaces_the_scheduler(models):
    euler = DiffusersIllustrator(model=str(models / "sd15"), steps=2, scheduler="euler_a")
    [a] = euler.illustrate([request(seed=5)])
    [b] = euler.illustrate([request(seed=5)])
    assert type(euler._pipe.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
    assert np.array_equal(pixels(a), pixels(b))  # ancestral noise also comes from the seeded generator
    with pytest.raises(BackendUnavailable, match="unknown scheduler"):
        DiffusersIllustrator(model=str(models / "sd15"), scheduler="nope").ensure_setup()


# -- LoRA ----------------------------------------------------------------------------------------
def test_lora_changes_the_image_and_scale_zero_is_the_base_model(sd, models):
    base = pixels(sd.illustrate([request(seed=11)])[0])
    lora_dir = str(models / "lora")
    with_lora = DiffusersIllustrator(model=str(models / "sd15"), steps=2, guidance_scale=5.0, lora=lora_dir)
    off = DiffusersIllustrator(model=str(models / "sd15"), steps=2, guidance_scale=5.0, lora=lora_dir, lora_scale=0.0)
    [on_result] = with_lora.illustrate([request(seed=11)])
    assert np.abs(pixels(on_result) - base).mean() > 1.0
    assert np.abs(pixels(off.illustrate([request(seed=11)])[0]) - base).max() <= 1
    assert on_result.provenance.parameters["lora"] == lora_dir
    assert on_result.provenance.parameters["lora_scale"] == 1.0
    # The weights file itself works as well as its folder.
    lora_file = str(models / "lora" / "pytorch_lora_weights.safetensors")
    by_file = DiffusersIllustrator(model=str(models / "sd15"), steps=2, guidance_scale=5.0, lora=lora_file)
    assert np.array_equal(pixels(by_file.illustrate([request(seed=11)])[0]), pixels(on_result))


def test_missing_lora_names_the_path(models):
    backend = DiffusersIllustrator(model=str(models / "sd15"), lora=str(models / "no-such-lora"))
    with pytest.raises(BackendUnavailable, match="no-such-lora"):
        backend.ensure_setup()


# -- reference pictures ---------------------------------------------------------------------------
def reference_figure(color="blue"):
    return Figure(key="fox", label="Fox", description="a fox", reference_image=Image.new("RGB", (40, 30), color))


def test_img2img_repaints_the_reference_picture(models, tmp_path):
    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=4, strength=0.5, reference_mode="img2img")
    [plain] = backend.illustrate([request(seed=9)])
    [blue] = backend.illustrate([request(seed=9, figures=[reference_figure("blue")])])
    [red] = backend.illustrate([request(seed=9, figures=[reference_figure("red")])])
    assert blue.image.size == (64, 64)
    assert blue.provenance.parameters["mode"] == "img2img"
    assert blue.provenance.parameters["strength"] == 0.5
    assert np.abs(pixels(blue) - pixels(plain)).mean() > 1.0
    assert np.abs(pixels(blue) - pixels(red)).mean() > 1.0
    # The reference's colour survives a half-strength repaint.
    b, r = pixels(blue).mean(axis=(0, 1)), pixels(red).mean(axis=(0, 1))
    assert b[2] - b[0] > r[2] - r[0]
    # A reference given as a file path is read the same way.
    Image.new("RGB", (40, 30), "blue").save(tmp_path / "b.png")
    by_path = Figure(key="fox", label="Fox", description="a fox", reference_image=str(tmp_path / "b.png"))
    assert np.array_equal(pixels(backend.illustrate([request(seed=9, figures=[by_path])])[0]), pixels(blue))


def test_img2img_with_too_few_steps_is_rejected(models):
    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=1, strength=0.5, reference_mode="img2img")
    with pytest.raises(InvalidInput, match="no denoising step"):
        backend.illustrate([request(figures=[reference_figure()])])


def test_ip_adapter_conditions_on_the_reference(sd, models):
    backend = DiffusersIllustrator(
        model=str(models / "sd15"), steps=2, guidance_scale=5.0, ip_adapter=str(models / "ip"),
        ip_adapter_weight_name="ip-adapter_tiny.safetensors", ip_adapter_scale=1.0,
    )
    results = backend.illustrate([request(seed=4, figures=[reference_figure("blue")]),
                                  request(seed=4, figures=[reference_figure("yellow")]),
                                  request(seed=4)])
    assert [r.provenance.parameters["mode"] for r in results] == ["ip_adapter"] * 3
    assert [r.provenance.parameters["ip_adapter_scale"] for r in results] == [1.0, 1.0, 0.0]
    assert np.abs(pixels(results[0]) - pixels(results[1])).mean() > 0.5
    # Without a reference the adapter is switched off for the call: the base model's picture.
    base = sd.illustrate([request(seed=4)])[0]
    assert np.abs(pixels(results[2]) - pixels(base)).max() <= 1


def test_ip_adapter_on_a_pipeline_without_support_is_a_clear_error(tmp_path):
    build_pixart(tmp_path / "pixart")
    backend = DiffusersIllustrator(model=str(tmp_path / "pixart"), steps=2, ip_adapter=str(tmp_path / "ip"),
                                   ip_adapter_weight_name="ip.safetensors")
    with pytest.raises(BackendUnavailable, match="PixArtAlphaPipeline .* does not support IP-Adapter") as info:
        backend.ensure_setup()
    assert "img2img" in info.value.fix
    # The same pipeline without the option works (a second family through the same loader).
    # PixArt snaps sizes to its training bins unless told not to: call_options passes that through.
    backend = DiffusersIllustrator(model=str(tmp_path / "pixart"), steps=2,
                                   call_options={"use_resolution_binning": False})
    [result] = backend.illustrate([request(seed=1)])
    assert result.image.size == (64, 64)


def test_sdxl_directory(tmp_path):
    build_sdxl(tmp_path / "sdxl")
    backend = DiffusersIllustrator(model=str(tmp_path / "sdxl"), steps=2, guidance_scale=5.0)
    results = backend.illustrate([request(seed=1), request(seed=2)])
    assert type(backend._pipe).__name__ == "StableDiffusionXLPipeline"
    assert [r.image.size for r in results] == [(64, 64), (64, 64)]
    assert np.abs(pixels(results[0]) - pixels(results[1])).mean() > 1.0


# -- errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width,height,reason", [(100, 64, "width 100"), (64, 4096, "height 4096"), (32, 64, "width 32")])
def test_sizes_are_checked_before_loading(models, width, height, reason):
    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=2)
    with pytest.raises(InvalidInput, match=f"{reason} must be a multiple of 8 between 64 and 2048"):
        backend.illustrate([request(width=width, height=height)])
    assert backend._pipe is None  # rejected without loading the model


def test_empty_prompt_is_rejected(sd):
    with pytest.raises(InvalidInput, match="prompt is empty"):
        sd.illustrate([request(prompt="  ")])


def test_missing_directory_names_it_and_how_to_get_it(tmp_path):
    missing = tmp_path / "models" / "sd15"
    with pytest.raises(BackendUnavailable) as info:
        DiffusersIllustrator(model=str(missing)).ensure_setup()
    assert str(missing) in info.value.message
    assert "hf download" in info.value.fix and str(missing) in info.value.fix


def test_directory_without_model_index_is_named(tmp_path):
    with pytest.raises(BackendUnavailable, match="has no model_index.json"):
        DiffusersIllustrator(model=str(tmp_path)).ensure_setup()


def test_importing_the_backends_loads_no_model_library():
    import subprocess
    import sys

    code = ("import sys, storyteller.backends.diffusion, storyteller.backends.hf_tts, storyteller.backends.hf_clip; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_options_fail_at_construction():
    with pytest.raises(ConfigError, match="steps"):
        DiffusersIllustrator(steps=0)
    with pytest.raises(ConfigError, match="ip_adapter_weight_name"):
        DiffusersIllustrator(ip_adapter="h94/IP-Adapter")
    with pytest.raises(ConfigError, match="reference_mode"):
        DiffusersIllustrator(reference_mode="sometimes")


def test_auto_mode_without_ip_adapter_ignores_references(models):
    # A story's reference is an earlier page: repainting it is only done when asked for (img2img).
    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=2)
    [plain] = backend.illustrate([request(seed=9)])
    [with_ref] = backend.illustrate([request(seed=9, figures=[reference_figure("blue")])])
    assert with_ref.provenance.parameters["mode"] != "img2img"
    assert np.array_equal(pixels(plain), pixels(with_ref))


# -- the shot: prompt and ControlNet layout ----------------------------------------------------------
def staged_request(seed=0, **kwargs):
    from storyteller.story import Shot, ShotCharacter

    shot = Shot(setting="forest", place="a snowy wood", time_of_day="night", weather="snow", camera="wide",
                props=["lantern"], cast=[ShotCharacter(character="fox", action="run", expression="happy", position="left"),
                                         ShotCharacter(character="owl", action="fly", position="right", facing="left")])
    figures = [Figure(key="fox", label="Fen", description="a small orange fox", colors=["orange"], species="fox"),
               Figure(key="owl", label="Hoot", description="a brown owl", colors=["brown"], species="owl")]
    return request(seed=seed, shot=shot, figures=figures, style="watercolour", **kwargs)


def test_the_prompt_is_built_from_the_shot_most_important_first(sd):
    from storyteller.backends.diffusion import _full_prompt, shot_parts

    parts = shot_parts(staged_request())
    assert parts[0] == "Fen, a small orange fox, running, happy, on the left"
    assert parts[1] == "Hoot, a brown owl, flying, on the right"
    assert parts[2:] == ["a snowy wood (forest), night, snow", "watercolour", "wide shot", "soft light", "with lantern"]
    assert _full_prompt(staged_request()) == ", ".join(parts)  # no limit: everything, in that order
    [result] = sd.illustrate([staged_request(seed=2)])
    prompt = result.provenance.prompt
    # the tiny tokenizer reads 77 tokens of about a character each: whole parts are left out, from the least important
    kept = prompt.split(", ")
    assert prompt.startswith(parts[0]) and len(sd._tokenizer(prompt)["input_ids"]) <= sd._token_limit
    assert len(kept) < len(", ".join(parts).split(", "))
    assert result.provenance.parameters["prompt_fitted_to_tokens"] == sd._token_limit


def test_controlnet_gets_the_shot_layout_and_reports_the_regions(models):
    from storyteller.backends.diffusion import layout_image

    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=2, guidance_scale=5.0,
                                   controlnet=str(models / "controlnet"), layout="edges")
    backend.ensure_setup()
    assert type(backend._control).__name__ == "StableDiffusionControlNetPipeline"
    real = backend._control
    backend._control = recording = Recording(real)
    seen = recording.calls
    try:
        [a] = backend.illustrate([staged_request(seed=5)])
        [b] = backend.illustrate([staged_request(seed=5)])
        [c] = backend.illustrate([staged_request(seed=6)])
    finally:
        backend._control = real
    expected, regions = layout_image(staged_request(seed=5), "edges")
    assert np.array_equal(np.asarray(seen[0]["image"][0]), np.asarray(expected))  # the layout reaches the pipeline
    assert seen[0]["controlnet_conditioning_scale"] == 1.0
    assert np.array_equal(pixels(a), pixels(b)) and np.abs(pixels(a) - pixels(c)).mean() > 1.0  # seeded
    assert a.regions == regions and a.regions["fox"][0] < a.regions["owl"][0]  # fox left, owl right
    params = a.provenance.parameters
    assert (params["mode"], params["layout"], params["regions_source"]) == ("layout", "edges", "controlnet layout (edges)")
    # the layout changes the picture: another layout, another image from the same seed
    moved = staged_request(seed=5)
    moved.shot = moved.shot.model_copy(update={"camera": "close-up"})
    [d] = backend.illustrate([moved])
    assert not np.array_equal(pixels(a), pixels(d))  # tiny random weights: a small change, but a change


def test_controlnet_directory_missing_is_named(models, tmp_path):
    backend = DiffusersIllustrator(model=str(models / "sd15"), steps=2, controlnet=str(tmp_path / "no-controlnet"))
    with pytest.raises(BackendUnavailable, match="no-controlnet"):
        backend.ensure_setup()
    with pytest.raises(ConfigError, match="layout"):
        DiffusersIllustrator(model=str(models / "sd15"), controlnet="x", layout="depth")
