"""Opening images from users safely: one function, clear errors, no surprises.

Photos come from strangers. Pillow's decompression-bomb guard is made an error (not a warning),
EXIF rotation is applied, animated images use their first frame, and every mode (CMYK, 16-bit,
palette, alpha) becomes plain RGB.
"""

from __future__ import annotations

import io
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


# -- privacy: what a stored photo keeps, and faces blurred in exports ----------------------------
# JPEG segments kept: JFIF (APP0), the colour profile (APP2 "ICC_PROFILE") and Adobe's colour
# transform (APP14), which the pixels need to look right; every other APPn (EXIF and its GPS,
# XMP, IPTC, maker notes, thumbnails) and comments go.
_JPEG_KEPT_APPS = {0xE0, 0xEE}
# PNG chunks kept: the picture and how its colours are meant (the others are text, EXIF, time).
_PNG_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD",
             b"acTL", b"fcTL", b"fdAT"}


def without_metadata(data: bytes, image) -> tuple[bytes, str, str, list[str]]:
    """The photo's bytes without metadata, its pixels kept: (bytes, suffix, media type, what was removed).

    JPEG and PNG lose their metadata segments and chunks byte for byte (the compressed pixels are
    untouched); a photo whose EXIF turned it upright, or any other format, is stored as a PNG of
    its upright pixels (`image`, as load_image decoded it), which is lossless and holds nothing else.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        fmt = (opened.format or "").upper()
        orientation = opened.getexif().get(0x0112, 1)
    if orientation in (1, None) and fmt == "JPEG":
        kept, removed = _strip_jpeg(data)
        return kept, ".jpg", "image/jpeg", removed
    if orientation in (1, None) and fmt == "PNG":
        kept, removed = _strip_png(data)
        return kept, ".png", "image/png", removed
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    why = f"{fmt or 'image'} re-encoded as PNG (lossless)" + (f", turned upright (EXIF orientation {orientation})"
                                                             if orientation not in (1, None) else "")
    return buffer.getvalue(), ".png", "image/png", [why, "all metadata"]


def _strip_jpeg(data: bytes) -> tuple[bytes, list[str]]:
    if data[:2] != b"\xff\xd8":
        raise InvalidInput("the JPEG does not start like one (no SOI marker)")
    out, removed, i = bytearray(data[:2]), [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise InvalidInput(f"the JPEG is damaged (no marker at byte {i})")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the compressed pixels and the rest follow, kept as they are
            out += data[i:]
            return bytes(out), sorted(set(removed))
        length = int.from_bytes(data[i + 2:i + 4], "big")
        segment = data[i:i + 2 + length]
        body = segment[4:]
        if marker == 0xFE:
            removed.append("comment")
        elif 0xE0 <= marker <= 0xEF and marker not in _JPEG_KEPT_APPS and not (marker == 0xE2 and body.startswith(b"ICC_PROFILE\0")):
            removed.append(_JPEG_APP_NAMES.get((marker, body[:4]), f"APP{marker - 0xE0}"))
        else:
            out += segment
        i += 2 + length
    raise InvalidInput("the JPEG is damaged (it ends before its pixels)")


_JPEG_APP_NAMES = {(0xE1, b"Exif"): "EXIF (with any GPS)", (0xE1, b"http"): "XMP", (0xED, b"Phot"): "IPTC",
                   (0xE2, b"MPF\0"): "multi-picture index"}


def _strip_png(data: bytes) -> tuple[bytes, list[str]]:
    import struct

    out, removed, i = bytearray(data[:8]), [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        chunk = data[i:i + 12 + length]
        if kind in _PNG_KEPT:
            out += chunk
        else:
            removed.append({b"eXIf": "EXIF (with any GPS)", b"tEXt": "text", b"zTXt": "text", b"iTXt": "text (XMP)",
                            b"tIME": "time"}.get(kind, kind.decode("latin-1")))
        i += 12 + length
        if kind == b"IEND":
            break
    return bytes(out), sorted(set(removed))


def face_boxes(image) -> list[tuple[float, float, float, float]]:
    """Faces (frontal and profile) found by OpenCV's Haar cascades, as fractions (x0, y0, x1, y1); classical."""
    import cv2
    import numpy as np

    grey = cv2.equalizeHist(cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY))
    side = max(20, min(grey.shape) // 20)
    boxes = []
    for name in ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"):
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        for x, y, w, h in cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side)):
            boxes.append((x / image.width, y / image.height, (x + w) / image.width, (y + h) / image.height))
    return boxes


def blurred(image, boxes, *, margin: float = 0.15):
    """The image with each box (fractions) blurred beyond recognition, a little around it too."""
    from PIL import Image, ImageFilter

    out = image.copy()
    for x0, y0, x1, y1 in boxes:
        mx, my = (x1 - x0) * margin, (y1 - y0) * margin
        box = (max(0, int((x0 - mx) * image.width)), max(0, int((y0 - my) * image.height)),
               min(image.width, int((x1 + mx) * image.width) + 1), min(image.height, int((y1 + my) * image.height) + 1))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        region = out.crop(box)
        # Pixelated to a few cells, then blurred: no detail of the face is left to sharpen back.
        cells = (max(1, region.width // 16), max(1, region.height // 16))
        coarse = region.resize(cells, Image.Resampling.BILINEAR).resize(region.size, Image.Resampling.NEAREST)
        out.paste(coarse.filter(ImageFilter.GaussianBlur(max(2, region.width // 24))), box[:2])
    return out
