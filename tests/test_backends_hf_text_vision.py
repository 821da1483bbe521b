"""The transformers LLM, captioning and VQA backends, on tiny random models.

No model hub is reachable, so each family is built from a tiny config with random weights and a
tokenizer trained on a few lines (tests/tiny_models.py), saved with save_pretrained to a temporary
folder, and loaded through exactly the path a user's downloaded folder takes: the backend class
with model=<dir>.
The outputs are gibberish (random weights); what is tested is the plumbing: loading, prompt
formats, image inputs, decoding, seeding, streaming, provenance and error messages.
"""

from __future__ import annotations

import builtins

import pytest

torch = pytest.importorskip("torch")
# The tiny folders are built with transformers 5 classes (PIL image processors, tokenizers from dicts).
transformers = pytest.importorskip("transformers", minversion="5.0")

from PIL import Image  # noqa: E402

from storyteller.backends.base import CaptionerBackend, Completion, TextResult, VQABackend  # noqa: E402
from storyteller.backends.hf_llm import TransformersLLM  # noqa: E402
from storyteller.backends.hf_vision import (  # noqa: E402
    DESCRIBE_PROMPT,
    Blip2Captioner,
    BlipCaptioner,
    LlavaCaptioner,
    LlavaVQA,
    QwenVLCaptioner,
    QwenVLVQA,
)
from storyteller.errors import BackendUnavailable, ConfigError, InvalidInput  # noqa: E402
from storyteller.events import ModelCall, listening  # noqa: E402
from storyteller.install import install_hint  # noqa: E402
from tiny_models import (  # noqa: E402
    HAS_TORCHVISION,
    build_blip,
    build_blip2,
    build_llama_chat,
    build_llava,
    build_qwen2_vl,
)


@pytest.fixture(scope="module")
def picture():
    # A gradient with a red square: any RGB picture does, the models are random.
    image = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    image.paste((220, 30, 30), (10, 10, 30, 30))
    return image


@pytest.fixture(scope="module")
def llm_dir(tmp_path_factory):
    return build_llama_chat(tmp_path_factory.mktemp("tiny-llama-chat"))


@pytest.fixture(scope="module")
def llm(llm_dir):
    return TransformersLLM(model=str(llm_dir))


@pytest.fixture(scope="module")
def blip2_dir(tmp_path_factory):
    return build_blip2(tmp_path_factory.mktemp("tiny-blip2"))


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory):
    return build_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory):
    return build_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def llava_next_dir(tmp_path_factory):
    return build_llava(tmp_path_factory.mktemp("tiny-llava-next"), next_=True)


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory):
    return build_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl"))


# ---------------------------------------------------------------------------------------------
# TransformersLLM
# ---------------------------------------------------------------------------------------------
MESSAGES = [{"role": "system", "content": "You tell stories."}, {"role": "user", "content": "the cat sits"}]


def test_llm_completes_from_a_folder_with_provenance(llm, llm_dir):
    events: list = []
    with listening(events.append):
        out = llm.complete(MESSAGES, max_tokens=12, temperature=0.8, seed=7)
    assert isinstance(out, Completion) and isinstance(out.text, str)
    assert 1 <= out.output_tokens <= 12
    assert out.provenance.backend == "transformers" and out.provenance.model == str(llm_dir)
    assert out.provenance.kind == "neural" and out.provenance.seed == 7 and out.provenance.prompt == "the cat sits"
    assert out.provenance.parameters["json_constrained"] is False
    calls = [e for e in events if isinstance(e, ModelCall) and e.operation == "complete"]
    assert calls and calls[0].backend == "transformers" and calls[0].output_tokens == out.output_tokens
    assert llm.context_length == 256 and llm.supports_json_schema is False and llm.device == "cpu"


def test_llm_seed_reproduces_and_greedy_ignores_seed(llm):
    a = llm.complete(MESSAGES, max_tokens=16, temperature=1.0, seed=11).text
    b = llm.complete(MESSAGES, max_tokens=16, temperature=1.0, seed=11).text
    c = llm.complete(MESSAGES, max_tokens=16, temperature=1.0, seed=12).text
    assert a == b and a != c
    g1 = llm.complete(MESSAGES, max_tokens=10, temperature=0, seed=1).text
    g2 = llm.complete(MESSAGES, max_tokens=10, temperature=0, seed=2).text
    assert g1 == g2


def test_llm_streams_deltas_that_join_to_the_text(llm):
    deltas: list[str] = []
    out = llm.complete(MESSAGES, max_tokens=24, temperature=1.0, seed=3, on_text=deltas.append)
    assert deltas and all(isinstance(d, str) and d for d in deltas)
    assert "".join(deltas) == out.text


def test_llm_uses_the_chat_template(llm):
    llm.ensure_setup()
    ids = llm._prompt_ids(MESSAGES)["input_ids"][0]
    text = llm._tokenizer.decode(ids)
    assert text == ("<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nthe cat sits<|im_end|>\n"
                    "<|im_start|>assistant\n")


def test_llm_rejects_bad_arguments(llm):
    with pytest.raises(ValueError, match="max_tokens"):
        llm.complete(MESSAGES, max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        llm.complete(MESSAGES, temperature=-1)


# ---------------------------------------------------------------------------------------------
# Captioners
# ---------------------------------------------------------------------------------------------
def test_blip2_captions_plain_and_prompted(blip2_dir, picture):
    cap = Blip2Captioner(model=str(blip2_dir), max_tokens=6)
    plain = cap.caption(picture)
    assert isinstance(plain, TextResult) and isinstance(plain.text, str)
    assert plain.provenance.backend == "blip2" and plain.provenance.model == str(blip2_dir)
    assert plain.details["image_size"] == [64, 48]
    assert cap.caption(picture).text == plain.text  # greedy, same picture: same caption
    prompted = cap.caption(picture, prompt="Question: what is this? Answer:")
    assert prompted.provenance.prompt == "Question: what is this? Answer:"
    # Only the continuation comes back, never the prompt itself.
    assert not prompted.text.startswith("Question:")


def test_blip_caption_continues_the_prompt(blip_dir, picture):
    cap = BlipCaptioner(model=str(blip_dir), max_tokens=5, temperature=1.0, seed=5)
    assert isinstance(cap, CaptionerBackend) and cap.role == "captioner"
    first = cap.caption(picture, prompt="a photo of")
    assert first.text.startswith("a photo of")  # BLIP keeps its prefix: the caption reads as one phrase
    assert cap.caption(picture, prompt="a photo of").text == first.text  # seeded sampling reproduces
    assert isinstance(cap.caption(picture).text, str)


# ---------------------------------------------------------------------------------------------
# VQA: LLaVA 1.5 / NeXT, Qwen2-VL
# ---------------------------------------------------------------------------------------------
def test_llava_answers_and_picks_the_class_from_the_config(llava_dir, picture):
    vqa = LlavaVQA(model=str(llava_dir), max_tokens=6)
    result = vqa.answer(picture, "What is in the picture?")
    assert isinstance(result, TextResult) and isinstance(result.text, str)
    assert result.provenance.backend == "llava" and result.provenance.prompt == "What is in the picture?"
    assert type(vqa._model).__name__ == "LlavaForConditionalGeneration"
    assert vqa.answer(picture, "What is in the picture?").text == result.text
    with pytest.raises(InvalidInput, match="empty"):
        vqa.answer(picture, "   ")


def test_llava_seeded_sampling_reproduces(llava_dir, picture):
    vqa = LlavaVQA(model=str(llava_dir), max_tokens=8, temperature=1.0, seed=21)
    assert vqa.answer(picture, "Who is there?").text == vqa.answer(picture, "Who is there?").text


def test_llava_next_folder_loads_the_next_class(llava_next_dir, picture):
    vqa = LlavaVQA(model=str(llava_next_dir), max_tokens=4)
    assert isinstance(vqa.answer(picture, "What colour is the square?").text, str)
    assert type(vqa._model).__name__ == "LlavaNextForConditionalGeneration"


def test_llava_as_captioner_asks_for_a_description(llava_dir, picture):
    cap = LlavaCaptioner(model=str(llava_dir), max_tokens=4)
    assert isinstance(cap, CaptionerBackend) and cap.role == "captioner"
    result = cap.caption(picture)
    assert result.provenance.prompt == DESCRIBE_PROMPT and result.provenance.parameters["max_tokens"] == 4
    assert cap.caption(picture, prompt="Who is the hero?").provenance.prompt == "Who is the hero?"


def test_qwen2_vl_answers(qwen_dir, picture):
    vqa = QwenVLVQA(model=str(qwen_dir), max_tokens=6)
    assert isinstance(vqa, VQABackend)
    result = vqa.answer(picture, "What is in the picture?")
    assert isinstance(result.text, str) and result.provenance.backend == "qwen2-vl"
    assert type(vqa._model).__name__ == "Qwen2VLForConditionalGeneration"
    assert vqa.answer(picture, "What is in the picture?").text == result.text
    if not HAS_TORCHVISION:
        assert vqa.processing == "image processor + tokenizer (no torchvision)"


def test_qwen2_vl_expands_one_pad_per_merged_patch_and_bounds_pixels(qwen_dir):
    vqa = QwenVLVQA(model=str(qwen_dir), max_pixels=56 * 56)
    vqa.ensure_setup()
    big = Image.new("RGB", (400, 300), (10, 120, 200))
    shrunk = vqa._shrink(big)
    assert shrunk.size[0] * shrunk.size[1] <= 56 * 56 and shrunk.size[0] > shrunk.size[1]
    inputs = vqa._inputs(shrunk, "What is it?")
    grid = inputs["image_grid_thw"][0]
    pads = int((inputs["input_ids"][0] == vqa._image_token_id).sum())
    assert pads == int(grid.prod()) // 4 and pads >= 1
    assert inputs["pixel_values"].shape[0] == int(grid.prod())
    if "mm_token_type_ids" in inputs:
        assert int(inputs["mm_token_type_ids"].sum()) == pads


@pytest.mark.skipif(not HAS_TORCHVISION, reason="transformers 5's Qwen2VLProcessor builds a video processor, which "
                    "needs torchvision; torchvision does not import beside CPU torch 2.13 here, so only the "
                    "image-processor + tokenizer route is exercised")
def test_qwen2_vl_full_processor_route(qwen_dir, picture):
    vqa = QwenVLVQA(model=str(qwen_dir), max_tokens=4)
    assert isinstance(vqa.answer(picture, "What is it?").text, str)
    assert vqa.processing == "processor"


def test_qwen_as_captioner(qwen_dir, picture):
    cap = QwenVLCaptioner(model=str(qwen_dir), max_tokens=3)
    assert cap.role == "captioner" and cap.caption(picture).provenance.prompt == DESCRIBE_PROMPT


# ---------------------------------------------------------------------------------------------
# Errors a user can fix
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda d: TransformersLLM(model=d), lambda d: Blip2Captioner(model=d), lambda d: BlipCaptioner(model=d),
    lambda d: LlavaVQA(model=d), lambda d: QwenVLVQA(model=d),
])
def test_missing_folder_names_it_and_how_to_download(tmp_path, make):
    missing = tmp_path / "models" / "not-downloaded"
    with pytest.raises(BackendUnavailable) as info:
        make(str(missing)).ensure_setup()
    assert str(missing) in info.value.message and "does not exist" in info.value.message
    assert "hf download" in info.value.fix and f"--local-dir {missing}" in info.value.fix


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("holiday photos")
    with pytest.raises(BackendUnavailable) as info:
        LlavaVQA(model=str(tmp_path)).ensure_setup()
    assert "no config.json" in info.value.message and str(tmp_path) in info.value.message
    assert "hf download llava-hf/llava-1.5-7b-hf" in info.value.fix


def test_folder_with_a_model_of_another_family(blip_dir, llava_dir):
    with pytest.raises(BackendUnavailable, match=r"holds a blip model.*llava or llava_next"):
        LlavaVQA(model=str(blip_dir)).ensure_setup()
    with pytest.raises(BackendUnavailable, match=r"holds a llava model.*qwen2_vl or qwen2_5_vl"):
        QwenVLVQA(model=str(llava_dir)).ensure_setup()


def test_incomplete_folder_is_reported(tmp_path, llm_dir):
    # config.json present, weights and tokenizer missing: the half-copied download case.
    (tmp_path / "config.json").write_text((llm_dir / "config.json").read_text())
    with pytest.raises(BackendUnavailable) as info:
        TransformersLLM(model=str(tmp_path)).ensure_setup()
    assert str(tmp_path) in info.value.message and "incomplete" in info.value.fix


def test_hub_id_offline_says_how_to_get_a_folder(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendUnavailable) as info:
        Blip2Captioner(model="no-such-org/no-such-blip2").ensure_setup()
    assert "no-such-org/no-such-blip2" in info.value.message
    assert "hf download no-such-org/no-such-blip2 --local-dir ~/models/no-such-blip2" in info.value.fix


def test_missing_extra_names_the_pip_extra(monkeypatch, llm_dir):
    real_import = builtins.__import__

    def no_transformers(name, *args, **kwargs):
        if name == "transformers" or name.startswith("transformers."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    with pytest.raises(BackendUnavailable) as info:
        TransformersLLM(model=str(llm_dir)).ensure_setup()
    assert info.value.fix == install_hint("vision")  # the checkout's own pip install -e line (test_install.py)


def test_bad_options_fail_at_construction():
    with pytest.raises(ConfigError, match="max_tokens"):
        LlavaVQA(model="x/y", max_tokens=0)
    with pytest.raises(ConfigError, match="max_pixels"):
        QwenVLVQA(model="x/y", max_pixels=10)
    with pytest.raises(ConfigError, match="device must be"):
        TransformersLLM(model="x/y", device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="no CUDA GPU"):
            TransformersLLM(model="x/y", device="cuda").ensure_setup()


def test_dtype_choice():
    from storyteller.backends.hf_common import choose_dtype

    assert choose_dtype("cpu") == torch.float32
    assert choose_dtype("mps") == torch.float16
    assert choose_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be"):
        choose_dtype("cpu", "int3")

