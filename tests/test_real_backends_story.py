"""A whole story through the real-model backends, from model folders: issue 3's "done when".

The user's path, end to end: a storyteller.toml points every role at a model folder, and the real
CLI (`storyteller new ... --config storyteller.toml`, a subprocess) plans, writes, illustrates and
narrates a story with them. The folders are tiny random models (tests/tiny_models.py) of the
families a user downloads: a Stable Diffusion 1.5 pipeline (illustrator "diffusers"), VITS/MMS-TTS
(narrator "transformers-tts"), CLIP (image_embedder "clip", which also drives the consistency
gate), BLIP-2 (captioner "blip2") and LLaVA (vqa "llava"). They load through exactly the code a
downloaded folder takes; only the weights are random, so pictures are noise and speech is babble.

A random LLM cannot write a valid plan, so the LLM is a real one: the packaged SmolLM2 GGUF served
by llama.cpp's OpenAI-compatible server on loopback, configured as `[llm] backend = "openai"`.
That also runs the OpenAI-compatible path (what Ollama, vLLM and llama.cpp servers use) end to end.
The text embedder stays the embedded sentence-transformers default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("diffusers")
pytest.importorskip("openai")

from PIL import Image  # noqa: E402

from storyteller.session import load_story  # noqa: E402
from tiny_models import build_blip2, build_clip, build_llava, build_sd15, build_vits  # noqa: E402

pytestmark = pytest.mark.slow

PREMISE = "A fox who finds a lantern in the snow"
PAGES = 2
SIZE = 64            # image_width = image_height; the smallest size the illustrator accepts
GATE_ATTEMPTS = 2    # at most two drawings per page when the gate rejects the first
ROLES = ("llm", "captioner", "vqa", "illustrator", "narrator", "text_embedder", "image_embedder")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real-models")
    folders = {"sd15": root / "sd15", "vits": root / "mms-tts", "clip": root / "clip", "blip2": root / "blip2",
               "llava": root / "llava"}
    build_sd15(folders["sd15"])
    build_vits(folders["vits"])
    build_clip(folders["clip"])
    build_blip2(folders["blip2"])
    build_llava(folders["llava"])
    return folders


@pytest.fixture(scope="module")
def config_file(models, llama_server, tmp_path_factory) -> Path:
    """storyteller.toml as a user writes it for downloaded models (see README, "Real models")."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    path = tmp_path_factory.mktemp("config") / "storyteller.toml"
    path.write_text(f"""\
image_width = {SIZE}
image_height = {SIZE}
gate_attempts = {GATE_ATTEMPTS}

[llm]
backend = "openai"
options = {{ base_url = {q(llama_server)}, json_mode = "json_object", context_length = 2048, timeout = 120 }}

[captioner]
backend = "blip2"
options = {{ model = {q(str(models["blip2"]))}, max_tokens = 8 }}

[vqa]
backend = "llava"
options = {{ model = {q(str(models["llava"]))}, max_tokens = 8 }}

[illustrator]
backend = "diffusers"
options = {{ model = {q(str(models["sd15"]))}, steps = 2, guidance_scale = 5.0 }}

[narrator]
backend = "transformers-tts"
options = {{ model = {q(str(models["vits"]))} }}

[image_embedder]
backend = "clip"
options = {{ model = {q(str(models["clip"]))} }}
""")
    return path


def cli(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """The installed `storyteller` script, offline, with no STORYTELLER_* settings leaking in.
    `timeout` only guards against a hang: the two-page story on a real 0.5B server and tiny
    models takes 200-320 s on two cores (its time is printed, not asserted)."""
    script = Path(sys.executable).with_name("storyteller")
    assert script.is_file(), f"the storyteller script is not installed next to {sys.executable} (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTELLER_") or k == "STORYTELLER_CACHE_DIR"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1",  # tiny models are fastest on one thread, and the LLM server needs a core
               COLUMNS="250")        # a wide table, so no role or backend name is folded over two lines
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def story_run(config_file, tmp_path_factory):
    work = tmp_path_factory.mktemp("run")
    started = time.monotonic()
    done = cli("new", PREMISE, "--pages", str(PAGES), "--out", "story", "--config", str(config_file), cwd=work)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"storyteller new failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return work / "story", done, elapsed


def test_cli_writes_a_complete_story_folder_with_the_configured_models(story_run, models, llama_server):
    folder, done, elapsed = story_run
    story = load_story(folder)  # validates story.json against the schema
    assert story.premise == PREMISE and story.title
    assert len(story.outline) == PAGES and [p.number for p in story.pages] == list(range(1, PAGES + 1))
    assert story.plan_provenance.backend == "openai" and story.plan_provenance.parameters["json_schema"] is True
    assert story.plan_provenance.model.endswith(f".gguf @ {llama_server}")
    assert story.history and story.history[-1].action == "page"  # every page's turn was committed
    assert story.title in done.stdout

    for page in story.pages:
        assert page.text.strip()
        assert page.text_provenance.backend == "openai"
        assert page.text_provenance.parameters["base_url"] == llama_server

        image, audio = page.illustration, page.narration
        assert image is not None and audio is not None, f"page {page.number} lacks a picture or its sound"
        with Image.open(folder / image.path) as png:
            assert png.format == "PNG" and png.size == (SIZE, SIZE)
        p = image.provenance
        assert (p.backend, p.model, p.kind) == ("diffusers", str(models["sd15"]), "neural")
        assert p.parameters["steps"] == 2 and (p.parameters["width"], p.parameters["height"]) == (SIZE, SIZE)

        with wave.open(str(folder / audio.path)) as wav:
            assert wav.getframerate() == 16000 and wav.getnchannels() == 1 and wav.getnframes() > 0
        a = audio.provenance
        assert (a.backend, a.model, a.kind) == ("transformers-tts", str(models["vits"]), "neural")
        assert a.parameters["family"] == "vits"
    print(f"storyteller new with real backends: {elapsed:.1f} s")


def test_consistency_gate_scored_every_drawing_with_clip(story_run, models):
    folder, _, _ = story_run
    story = load_story(folder)
    first_cast = set(story.pages[0].characters)
    for page in story.pages:
        verdict = page.illustration.provenance.parameters["consistency"]
        assert verdict["embedder"] == f"clip:{models['clip']}"
        assert 1 <= len(verdict["attempts"]) <= GATE_ATTEMPTS == verdict["max_attempts"]
        assert 0 <= verdict["chosen_attempt"] < len(verdict["attempts"])
        assert not any("text alignment" in note for note in verdict["notes"])  # CLIP has a text tower
        for attempt in verdict["attempts"]:
            # Text alignment (picture vs page text) is measured on every attempt: cosine in [-1, 1].
            assert isinstance(attempt["text"], float) and -1.0 <= attempt["text"] <= 1.0
            assert attempt["passed"] == (attempt["worst_margin"] >= 0)
        if len(verdict["attempts"]) < GATE_ATTEMPTS:
            assert verdict["passed"]  # the gate only stops early on a drawing that passes
    # From the second page on, the first illustration is the style reference, and a character
    # seen on page 1 has a reference picture to be compared with.
    later = story.pages[1].illustration.provenance.parameters["consistency"]
    assert all(isinstance(a["style"], float) for a in later["attempts"])
    for slug in set(story.pages[1].characters) & first_cast:
        assert all(isinstance(a["characters"][slug], float) for a in later["attempts"])


def test_a_page_long_prompt_is_shortened_so_the_style_still_reaches_the_text_encoder(models):
    """The graph sends a whole page of text as the prompt, longer than the 77 tokens CLIP reads; the
    style comes last, so the illustrator drops the prompt's last words rather than the style."""
    from transformers import CLIPTokenizer

    from storyteller.backends.base import IllustrationRequest
    from storyteller.backends.diffusion import DiffusersIllustrator

    tokenizer = CLIPTokenizer.from_pretrained(models["sd15"] / "tokenizer")
    page = ("the snowy forest at dusk. the little fox found an old lantern half buried in the snow, and when "
            "she brushed the snow away it began to glow softly")
    backend = DiffusersIllustrator(model=str(models["sd15"]), steps=1)
    long, short = backend.illustrate([
        IllustrationRequest(prompt=page, style="ink", seed=1, width=SIZE, height=SIZE),
        IllustrationRequest(prompt="a fox", style="ink", seed=1, width=SIZE, height=SIZE),
    ])
    assert len(tokenizer(f"{page}, ink", verbose=False)["input_ids"]) > tokenizer.model_max_length
    fitted = long.provenance.prompt
    assert fitted.endswith(", ink") and page.startswith(fitted[: -len(", ink")])
    assert len(tokenizer(fitted, verbose=False)["input_ids"]) <= tokenizer.model_max_length
    kept = len(fitted[: -len(", ink")].split())
    one_more = " ".join(page.split()[: kept + 1]) + ", ink"  # as many words as fit are kept, no fewer
    assert len(tokenizer(one_more, verbose=False)["input_ids"]) > tokenizer.model_max_length
    assert long.provenance.parameters["prompt_fitted_to_tokens"] == tokenizer.model_max_length
    assert short.provenance.prompt == "a fox, ink" and "prompt_fitted_to_tokens" not in short.provenance.parameters


def test_doctor_shows_every_configured_backend_loading(config_file, models, tmp_path):
    done = cli("doctor", "--config", str(config_file), cwd=tmp_path)
    assert done.returncode == 0, f"doctor failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    table = done.stderr  # rich prints the table on stderr
    assert "does not load" not in table
    expected = {"llm": "openai", "captioner": "blip2", "vqa": "llava", "illustrator": "diffusers",
                "narrator": "transformers-tts", "text_embedder": "sentence-transformers", "image_embedder": "clip"}
    assert set(expected) == set(ROLES)
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and cells[1] in expected:
            rows[cells[1]] = cells
    assert set(rows) == set(ROLES), table
    for role, backend in expected.items():
        assert rows[role][2] == backend and rows[role][3].startswith("loads in"), rows[role]
    for name in ("sd15", "mms-tts", "clip", "blip2", "llava"):
        assert name in table  # the model folder each backend loaded


def test_configured_captioner_and_vqa_read_the_story_pictures(story_run, config_file, models):
    """The two roles the story run itself does not call, through the same config and tools."""
    from storyteller import Storyteller

    folder, _, _ = story_run
    picture = str(folder / load_story(folder).pages[0].illustration.path)
    toolbox = Storyteller(config_file=config_file).toolbox
    caption = toolbox.caption.invoke({"image_path": picture})
    answer = toolbox.ask.invoke({"image_path": picture, "question": "What is in the picture?"})
    assert isinstance(caption.text, str) and isinstance(answer.text, str)
    assert (caption.provenance.backend, caption.provenance.model) == ("blip2", str(models["blip2"]))
    assert (answer.provenance.backend, answer.provenance.model) == ("llava", str(models["llava"]))
    assert answer.provenance.prompt == "What is in the picture?"
