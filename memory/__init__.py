"""Story memory: FAISS text/visual spaces, the lorebook, the context budget, the consistency gate, eval.

    from storyteller.memory import Memory, ConsistencyGate, evaluate_story

    memory = Memory.open(story_root, text_embedder, image_embedder, story=story)
    memory.add_character(character)            # lorebook entry (+ reference images)
    memory.add_page(page, image=img, asset=path)
    text = memory.context(query, characters_on_stage=["mira"], budget_tokens=1500)
    result = ConsistencyGate(image_embedder).run_for_page(generate, memory, ["mira"], text=page.text)
    memory.save()                              # before the session commits the turn

Submodules import numpy and pydantic only; faiss is imported when a space is first used.
"""

from storyteller.memory.eval import EvalReport, evaluate_story, render_table
from storyteller.memory.gate import DEFAULT_THRESHOLDS, ConsistencyGate, GateResult
from storyteller.memory.index import IVF_THRESHOLD, VectorSpace
from storyteller.memory.records import RECORD_TYPES, CharacterSheet, MemoryRecord
from storyteller.memory.store import Hit, Memory
from storyteller.memory.summary import approx_tokens, extractive_summary

__all__ = [
    "DEFAULT_THRESHOLDS", "IVF_THRESHOLD", "RECORD_TYPES",
    "CharacterSheet", "ConsistencyGate", "EvalReport", "GateResult", "Hit", "Memory", "MemoryRecord", "VectorSpace",
    "approx_tokens", "evaluate_story", "extractive_summary", "render_table",
]
