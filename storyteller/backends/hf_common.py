"""What every transformers-based backend shares: imports, device/dtype, and loading with clear errors.

A model is named either by a hub id ("ORG/NAME", fetched into the Hugging Face cache on a machine
with network) or by a local directory (a `save_pretrained` / `hf download --local-dir` folder),
which loads with `local_files_only=True` and so works with no network at all. Every way a load
can fail that a user can fix (no transformers, no folder, a folder that is not a model, a model
of the wrong family, a hub id with no network) becomes a BackendUnavailable that says what was
expected and how to get it. Nothing here imports torch or transformers at module level.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator

from storyteller.errors import BackendUnavailable, InvalidInput
from storyteller.install import install_hint

T = TypeVar("T")

_DTYPE_NAMES = {
    "float32": "float32", "fp32": "float32",
    "float16": "float16", "fp16": "float16", "half": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
}


def require(*modules: str, extra: str, failure: str = "{module} is not installed ({exc})"):
    """Import `modules` in order and return the last, or raise BackendUnavailable with the install
    hint of `extra`. The ones before the last are what it needs to be of use (torch, for the model
    classes of transformers and diffusers), imported so that a missing one fails here, with the
    fix, not in the middle of a load. `failure` is the message, formatted with the last module's
    name and the ImportError."""
    try:
        for name in modules:
            # What `import name` runs (builtins.__import__), so import hooks see it the same; top-level names only.
            module = __import__(name)
    except ImportError as exc:
        raise BackendUnavailable(failure.format(module=modules[-1], exc=exc), fix=install_hint(extra)) from exc
    return module


def require_transformers():
    """Import transformers (and torch) or say which extra brings them."""
    return require("torch", "transformers", extra="vision",
                   failure="transformers backends need torch and transformers: {exc}")


# -- device and precision -----------------------------------------------------------------
# What a `device` option may say: torch's device names this project runs on, or "auto" (as no
# option: cuda, then mps, then cpu). cuda:N picks one GPU of several.
_DEVICE = re.compile(r"cpu|mps|auto|cuda(:\d+)?")


def check_device(option: str | None) -> str | None:
    """A device option as given in a config (any case), lowered; ValueError naming what is allowed.
    None or blank: no option (chosen for the machine), as it always was."""
    device = "" if option is None else str(option).strip().lower()
    if not device:
        return None
    if not _DEVICE.fullmatch(device):
        raise ValueError(f"device must be cpu, cuda, cuda:N, mps or auto, not {option!r}")
    return device


def check_dtype(option: str | None) -> str | None:
    """A dtype option (auto or a name in _DTYPE_NAMES, any case), lowered; ValueError naming what is allowed."""
    name = "" if option is None else str(option).strip().lower()
    if not name:
        return None
    if name != "auto" and name not in _DTYPE_NAMES:
        raise ValueError(f"dtype must be one of auto, {', '.join(sorted(_DTYPE_NAMES))}, not {option!r}")
    return name


# The device and dtype options of every transformers backend's Options model (None: chosen for the
# machine), checked when the config is read, by the same functions choose_device/choose_dtype use.
DeviceOption = Annotated[str | None, AfterValidator(check_device)]
DtypeOption = Annotated[str | None, AfterValidator(check_dtype)]
DEVICE_HELP = "cpu, cuda, cuda:N, mps or auto (none: cuda if torch sees a GPU, then mps, then cpu)"
DTYPE_HELP = "auto, float32/fp32, float16/fp16/half or bfloat16/bf16 (none or auto: bf16/fp16 on GPUs, fp32 on cpu)"


def choose_device(option: str | None = None) -> str:
    """The option if given and usable, else cuda, then Apple's mps, then cpu."""
    import torch

    device = check_device(option)
    if device and device != "auto":
        kind = device.split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable(f"device {option!r} was asked for but torch sees no CUDA GPU",
                                     fix="install a CUDA build of torch, or set the backend option device to cpu")
        if kind == "mps" and not _mps_available():
            raise BackendUnavailable("device 'mps' was asked for but torch has no Metal support here",
                                     fix="set the backend option device to cpu")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_dtype(device: str, option: str | None = None):
    """fp32 on cpu (half precision is slow or unsupported there), bf16 on GPUs that have it, else fp16."""
    import torch

    name = check_dtype(option)
    if name and name != "auto":
        return getattr(torch, _DTYPE_NAMES[name])
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.startswith("mps"):
        return torch.float16
    return torch.float32


def dtype_kwarg(dtype) -> dict[str, Any]:
    """transformers renamed `torch_dtype` to `dtype` in 4.56; pass whichever this version takes."""
    import transformers
    from packaging.version import Version

    key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    return {key: dtype}


# -- where the weights are -----------------------------------------------------------------
@dataclass(frozen=True)
class ModelSource:
    """A model reference resolved once: a local directory, or a hub id to look up in the cache."""

    ref: str
    directory: Path | None

    @property
    def is_local(self) -> bool:
        return self.directory is not None

    @property
    def load_ref(self) -> str:
        return str(self.directory) if self.directory is not None else self.ref

    def load_kwargs(self) -> dict[str, Any]:
        # A directory must never trigger a hub lookup; neither may anything when the user said offline.
        offline = self.is_local or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        return {"local_files_only": True} if offline else {}


def _looks_like_path(ref: str) -> bool:
    """Hub ids are NAME or ORG/NAME; anything else path-shaped is a directory the user meant."""
    return (
        ref.startswith(("/", "./", "../", "~", ".\\")) or "\\" in ref or ref.endswith("/")
        or ref.count("/") > 1 or (len(ref) > 2 and ref[1] == ":" and ref[2] in "\\/")
    )


def download_fix(ref: str, example_hub_id: str) -> str:
    """How to get a model folder: download it where there is network, then point `model` at it."""
    if _looks_like_path(ref):
        hub_id, target = example_hub_id, ref
    else:
        hub_id, target = ref, f"~/models/{ref.split('/')[-1]}"
    return (f"on a machine with network run `hf download {hub_id} --local-dir {target}` "
            f"(older huggingface_hub: `huggingface-cli download {hub_id} --local-dir {target}`), "
            f"copy the folder here if needed, and set the backend option model to {target}")


def resolve_source(model: str, *, example_hub_id: str, family: str,
                   model_types: Iterable[str] | None = None) -> ModelSource:
    """Check a model reference before anything heavy loads.

    A reference that exists on disk, or looks like a path, is a directory and must hold a
    transformers model (config.json) of one of `model_types`. Anything else is a hub id.
    """
    if not model or not str(model).strip():
        raise ValueError(f"the {family} backend needs a model: a hub id like {example_hub_id} or a local directory")
    ref = str(model).strip()
    candidate = Path(ref).expanduser()
    if candidate.exists() or _looks_like_path(ref):
        if not candidate.is_dir():
            what = "is a file, not a model folder" if candidate.exists() else "does not exist"
            raise BackendUnavailable(f"{family} model directory {candidate} {what}", fix=download_fix(ref, example_hub_id))
        config_file = candidate / "config.json"
        if not config_file.is_file():
            raise BackendUnavailable(
                f"{candidate} is not a transformers model folder (it has no config.json); expected a {family} model",
                fix=download_fix(ref, example_hub_id),
            )
        if model_types is not None:
            check_model_type(_read_model_type(config_file), model_types, where=str(candidate), family=family)
        return ModelSource(ref=ref, directory=candidate.resolve())
    return ModelSource(ref=ref, directory=None)


def _read_model_type(config_file: Path) -> str | None:
    try:
        return json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as exc:
        raise BackendUnavailable(f"{config_file} cannot be read as JSON: {exc}",
                                 fix="download the model folder again; this one is damaged") from exc


def check_model_type(model_type: str | None, allowed: Iterable[str], *, where: str, family: str) -> str:
    allowed = tuple(allowed)
    if model_type not in allowed:
        raise BackendUnavailable(
            f"{where} holds a {model_type or 'model of unknown type'!s} model, but the {family} backend needs "
            f"model_type {' or '.join(allowed)}",
            fix="pick the backend that matches this model (see `storyteller backends`), or point model at a "
                f"{family} model folder",
        )
    return model_type


def load_pretrained(loader: Callable[..., T], source: ModelSource, *, what: str, example_hub_id: str,
                    **kwargs: Any) -> T:
    """`loader(ref, **kwargs)` (a from_pretrained) with every fixable failure made a BackendUnavailable."""
    kwargs = {**source.load_kwargs(), **kwargs}
    try:
        return loader(source.load_ref, **kwargs)
    except ImportError as exc:
        # e.g. a processor needing torchvision, or accelerate for device maps
        raise BackendUnavailable(f"loading the {what} of {source.ref} needs a library that is missing: {exc}",
                                 fix=f"{install_hint('vision')}, or install the package the message names") from exc
    except (OSError, ValueError, KeyError) as exc:
        if source.is_local:
            raise BackendUnavailable(
                f"cannot load the {what} from {source.directory}: {_first_line(exc)}",
                fix="the folder is incomplete or for another model; " + download_fix(source.ref, example_hub_id),
            ) from exc
        raise BackendUnavailable(
            f"cannot load the {what} of hub model {source.ref} (no network, or not in the Hugging Face cache): "
            f"{_first_line(exc)}",
            fix=download_fix(source.ref, example_hub_id),
        ) from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- inputs --------------------------------------------------------------------------------------
def as_rgb_image(image):
    """A PIL RGB image from a PIL image, a numpy HxWxC/HxW array or a path; InvalidInput otherwise."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise InvalidInput(f"image file not found: {path}")
        try:
            with Image.open(path) as opened:
                return opened.convert("RGB")
        except OSError as exc:
            raise InvalidInput(f"{path} is not an image PIL can read: {exc}") from exc
    if hasattr(image, "shape") and hasattr(image, "dtype"):
        import numpy as np

        array = np.asarray(image)
        if array.ndim not in (2, 3):
            raise InvalidInput(f"an image array must be HxW or HxWxC, got shape {array.shape}")
        if array.dtype != np.uint8:
            array = (np.clip(array, 0, 1) * 255).astype(np.uint8) if array.dtype.kind == "f" else array.astype(np.uint8)
        return Image.fromarray(array).convert("RGB")
    raise InvalidInput(f"expected a PIL image, an image array or a file path, got {type(image).__name__}")


def seeded(seed: int | None, device: str):
    """A context that seeds torch's RNGs for one generate() and restores them afterwards.

    transformers' sampling draws from torch's global generator (generate() takes no Generator),
    so reproducibility means seeding it; forking keeps the rest of the process's randomness intact.
    """
    import contextlib

    import torch

    if seed is None:
        return contextlib.nullcontext()
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []

    @contextlib.contextmanager
    def _ctx():
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            yield

    return _ctx()
