"""Chat LLMs through transformers: any causal LM with a chat template, from the hub or a folder.

This is the backend for people with a GPU (or patience) and a model such as Qwen2.5-7B-Instruct
or Llama-3.1-8B-Instruct downloaded with `hf download`. It cannot constrain decoding to a JSON
schema, so `supports_json_schema` is False and the planner describes the schema in its prompt and
re-asks when the answer does not validate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field

from storyteller.backends import hf_common
from storyteller.backends.base import (BackendOptions, Completion, LLMBackend, Usage, chosen_tools, read_tool_answer,
                                       text_messages, tool_names, with_tool_prompt)
from storyteller.errors import BackendCallError

EXAMPLE_HUB_ID = "Qwen/Qwen2.5-1.5B-Instruct"


def _make_streamer(tokenizer, on_delta: Callable[[str], None]):
    """A TextStreamer that hands finished text pieces to a callback, in generate()'s own thread.

    TextStreamer already does the hard part (decoding the growing token list and releasing text
    only at word boundaries, so multi-token characters never arrive half-made); no second thread
    is needed, and an exception raised by the callback stops generation.
    """
    from transformers import TextStreamer

    class _CallbackStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_delta(text)

    return _CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


class TransformersLLM(LLMBackend):
    """Any chat causal LM through transformers; its options are the fields of `Options` below."""

    name = "transformers"
    supports_tools = True

    class Options(BackendOptions):
        model: str = Field(EXAMPLE_HUB_ID, min_length=1, description="hub id or directory of a chat causal LM")
        device: hf_common.DeviceOption = Field(None, description=hf_common.DEVICE_HELP)
        dtype: hf_common.DtypeOption = Field(None, description=hf_common.DTYPE_HELP)
        # The planner keeps a third of the context for the story so far (agent/graph.py), and a
        # page's prompt with its schema needs a few hundred tokens besides: below 512 nothing fits.
        context_length: int | None = Field(None, ge=512, description="tokens (none: the model's own)")
        trust_remote_code: bool = Field(False, description="run the model folder's own Python code")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._model_ref = str(self.options.model)
        self._model = None
        self._tokenizer = None
        self._context_length: int | None = None
        self.device = "cpu"
        # One model, many stories: generate() calls are serialised (and seeding the global RNG
        # for one call must not interleave with another call's sampling).
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_ref

    @property
    def context_length(self) -> int:
        if self.options.context_length:
            return int(self.options.context_length)
        return self._context_length or 4096

    @property
    def supports_json_schema(self) -> bool:
        return False

    def setup(self) -> None:
        transformers = hf_common.require_transformers()
        source = hf_common.resolve_source(self._model_ref, example_hub_id=EXAMPLE_HUB_ID, family="causal LM")
        self.device = hf_common.choose_device(self.options.device)
        dtype = hf_common.choose_dtype(self.device, self.options.dtype)
        common = dict(what="tokenizer", example_hub_id=EXAMPLE_HUB_ID, trust_remote_code=self.options.trust_remote_code)
        self._tokenizer = hf_common.load_pretrained(transformers.AutoTokenizer.from_pretrained, source, **common)
        common["what"] = "causal language model"
        model = hf_common.load_pretrained(transformers.AutoModelForCausalLM.from_pretrained, source,
                                          **common, **hf_common.dtype_kwarg(dtype))
        self._model = model.to(self.device).eval()
        config = self._model.config
        self._context_length = (getattr(config, "max_position_embeddings", None)
                                or getattr(config, "n_positions", None) or 4096)

    # -- prompt ------------------------------------------------------------------------------
    def _prompt_ids(self, messages: list[dict[str, Any]], tools=None, tool_choice="auto"):
        tok = self._tokenizer
        template = getattr(tok, "chat_template", None) or ""
        if tools and "tools" in template:
            # The model's own tool format (Qwen2.5, Llama 3.1, Hermes templates); these templates
            # take a call's arguments as an object, not as the JSON text the OpenAI form holds.
            text = tok.apply_chat_template(_with_object_arguments(messages), tools=chosen_tools(tools, tool_choice),
                                           tokenize=False, add_generation_prompt=True)
            return tok(text, return_tensors="pt", add_special_tokens=False)
        if tools:  # a template without tools: they are described in the prompt
            messages = with_tool_prompt(text_messages(messages), tools, tool_choice)
        if template:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            # A base model without a template: a plain transcript is the honest best effort.
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        # The template already wrote BOS/role tokens; adding special tokens again would double them.
        return tok(text, return_tensors="pt", add_special_tokens=False)

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None,
                 on_text: Callable[[str], None] | None = None, tools=None, tool_choice="auto") -> Completion:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")

        def run() -> tuple[str, int]:
            import torch

            encoded = self._prompt_ids(messages, tools, tool_choice).to(self.device)
            prompt_len = encoded["input_ids"].shape[1]
            room = self.context_length - prompt_len
            if room < 1:
                raise BackendCallError(
                    f"the prompt is {prompt_len} tokens; the model's context is {self.context_length}",
                    fix="shorten the story context (memory budget) or use a model with a longer context",
                )
            new_tokens = min(int(max_tokens), room)
            pieces: list[str] = []
            first: list[float] = []
            started = time.perf_counter()

            def on_delta(text: str) -> None:
                if not first:
                    first.append(time.perf_counter() - started)
                pieces.append(text)
                if on_text is not None:
                    on_text(text)

            gen_kwargs = dict(max_new_tokens=new_tokens, streamer=_make_streamer(self._tokenizer, on_delta))
            if temperature == 0:
                gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            else:
                gen_kwargs.update(do_sample=True, temperature=float(temperature))
            tok = self._tokenizer
            if tok.pad_token_id is None and tok.eos_token_id is not None:
                gen_kwargs["pad_token_id"] = tok.eos_token_id  # silences the open-ended generation warning
            with self._call_lock, hf_common.seeded(seed, self.device), torch.inference_mode():
                output = self._model.generate(**encoded, **gen_kwargs)
            generated = output[0, prompt_len:]
            text = tok.decode(generated, skip_special_tokens=True)
            # generate() keeps no cache between calls: the whole prompt is computed every time.
            return text, Usage(completion_tokens=int(generated.shape[0]), prompt_tokens=prompt_len,
                               prompt_evaluated=prompt_len, first_token_s=first[0] if first else None)

        (text, usage), provenance = self.timed(
            "complete", run, seed=seed, prompt=messages[-1].get("content") or "",
            parameters={"max_tokens": max_tokens, "temperature": temperature,
                        "json_schema": json_schema is not None, "json_constrained": False,
                        **({"tools": tool_names(tools), "tool_choice": tool_choice} if tools else {})},
            usage=lambda r: r[1],
        )
        calls = []
        if tools:  # unconstrained: the caller validates the call and re-asks when it is wrong
            text, calls = read_tool_answer(text, tools)
        return Completion(text=text, output_tokens=usage.completion_tokens, provenance=provenance, usage=usage,
                          tool_calls=calls)


def _with_object_arguments(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import json

    out = []
    for m in messages:
        if m.get("tool_calls"):
            m = {**m, "tool_calls": [{**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}}
                                     for c in m["tool_calls"]]}
        out.append(m)
    return out
