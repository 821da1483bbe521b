"""Opening images from users safely: one function, clear errors, no surprises.

Photos come from strangers. Pillow's decompression-bomb guard is made an error (not a warning),
EXIF rotation is applied, animated images use their first frame, and every mode (CMYK, 16-bit,
palette, alpha) becomes plain RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

from storyteller.errors import InvalidInput

MAX_PIXELS = 40_000_000  # ~ a 7000x5700 photo; larger is refused before decoding
MAX_BYTES = 64 * 1024 * 1024


def load_image(path: str | Path):
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path).expanduser()
    if "\0" in str(path):
        raise InvalidInput(f"an image path cannot contain a NUL character: {str(path)!r}")
    # A symbolic link the user names is followed (their link, their file: its bytes are read and
    # copied into the story folder as a plain file); one that leads nowhere is said to be a link.
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except FileNotFoundError:
            raise InvalidInput(f"{path} is a symbolic link to {os.readlink(path)}, which does not exist") from None
        except (RuntimeError, OSError):  # a loop: RuntimeError up to Python 3.12, OSError(ELOOP) after
            raise InvalidInput(f"{path} is a symbolic link that loops (it leads back to itself)") from None
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not an image")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput(f"image not found: {path}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise InvalidInput(f"{path} is empty (0 bytes)")
    if size > MAX_BYTES:
        raise InvalidInput(f"{path} is {size // (1024 * 1024)} MB; images up to {MAX_BYTES // (1024 * 1024)} MB are accepted")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise InvalidInput(
                    f"{path} is {opened.width}x{opened.height} pixels; at most {MAX_PIXELS // 1_000_000} megapixels are accepted",
                    fix="resize it first",
                )
            opened.seek(0)  # animated: first frame
            image = ImageOps.exif_transpose(opened)
            image.load()
    except InvalidInput:
        raise
    except PermissionError:
        raise InvalidInput(f"cannot read {path}: permission denied") from None
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"{path} is not an image storyteller can read ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise InvalidInput(f"{path} is damaged or truncated ({exc})") from None
    if image.mode == "I;16" or image.mode.startswith("I"):
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
