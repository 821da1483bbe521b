"""The built-in plugin: registers storyteller's own backends and tools.

It is wired up as the `builtin` entry point in pyproject.toml, the same way a third-party plugin
is, so the built-ins have no privileged path. Targets are import paths: nothing heavy is imported
until a backend is actually used.
"""

from __future__ import annotations


def register(registry) -> None:
    add = registry.add_backend
    # -- embedded default: runs offline from PyPI packages ----------------------------------
    add("llm", "llamacpp", "storyteller.backends.llamacpp:LlamaCppLLM",
        summary="GGUF chat model via llama.cpp (embedded Qwen2.5-Coder-0.5B or any .gguf file)", extra="llamacpp")
    add("narrator", "piper", "storyteller.backends.piper:PiperNarrator",
        summary="Piper ONNX voice (embedded en_US-joe-medium or any .onnx voice file)", extra="embedded")
    add("text_embedder", "sentence-transformers", "storyteller.backends.sentence_embed:SentenceTransformerEmbedder",
        summary="sentence-transformers model (embedded all-MiniLM-L6-v2 or any model directory)", extra="memory")
    add("illustrator", "storyboard", "storyteller.backends.storyboard:StoryboardIllustrator",
        summary="procedural storyboard renderer (no neural model): scenes drawn from the plan")
    add("captioner", "classical", "storyteller.backends.classical_vision:ClassicalCaptioner",
        summary="classical image analysis (colours, brightness, OpenCV face/body detection), not a neural captioner",
        extra="embedded")
    add("vqa", "classical", "storyteller.backends.classical_vision:ClassicalVQA",
        summary="answers only what classical analysis can measure (counts of faces, colours, brightness)",
        extra="embedded")

    # -- tools of the story graph -------------------------------------------------------------
    for tool in ("caption", "ask", "illustrate", "narrate", "remember", "retrieve"):
        registry.add_tool(tool, f"storyteller.tools:{tool.capitalize()}Tool")
