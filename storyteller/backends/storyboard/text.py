"""Text on the page: fonts that always load, sanitised text, word wrap and rounded labels.

Any text must render: captions and names are sanitised, fonts fall back to Pillow's own, and a
glyph problem in an exotic script never costs the picture.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from PIL import ImageDraw, ImageFont

from storyteller.backends.storyboard.colors import INK


FONT_FILES = (
    "DejaVuSans.ttf",  # found by FreeType on most Linux systems
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
BOLD_FONT_FILES = ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf") + FONT_FILES
# Fonts with Chinese glyphs (and Latin ones): DejaVu has none, and Pillow does not fall back per
# glyph, so text with Chinese in it is drawn in one of these or not at all.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei (scripts/setup.sh installs it)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def needs_cjk(*texts: str) -> bool:
    """Whether any of the texts has Chinese (or other CJK) characters."""
    return any(_CJK.search(t or "") for t in texts)


@functools.lru_cache(maxsize=32)
def get_font(size: int, bold: bool = False, cjk: bool = False):
    """A scalable font of `size` px; never fails (falls back to Pillow's own fonts). `cjk`: one with
    Chinese glyphs, or BackendUnavailable saying which package brings one."""
    size = max(6, int(size))
    if cjk:
        for candidate in CJK_FONT_FILES:
            try:
                return ImageFont.truetype(candidate, size)
            except OSError:
                continue
        from storyteller.errors import BackendUnavailable

        raise BackendUnavailable("no font with Chinese glyphs is installed, so Chinese text cannot be drawn",
                                 fix="sudo apt-get install fonts-wqy-microhei (scripts/setup.sh installs it when it can)")
    for candidate in BOLD_FONT_FILES if bold else FONT_FILES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, AttributeError):
        return ImageFont.load_default()


def clean_text(text: Any) -> str:
    """Printable text only: control and format characters out, lone surrogates replaced.

    Markup stays literal ('<script>' is just drawn); RTL marks and zero-width characters go
    because they can reorder or hide what a reader sees.
    """
    text = str(text or "").encode("utf-8", "replace").decode("utf-8")
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t\r" or cat == "Zs":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def text_width(font, text: str) -> float:
    try:
        return font.getlength(text)
    except Exception:  # a glyph the fallback bitmap font cannot measure
        return len(text) * getattr(font, "size", 10) * 0.6


def wrap_text(text: str, font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by pixel width; words longer than a line are broken; '…' if cut."""
    words = text.split(" ") if text else []
    lines: list[str] = []
    current = ""
    for word in words:
        while text_width(font, word) > max_width and len(word) > 1:  # break an over-long word
            cut = len(word)
            while cut > 1 and text_width(font, (current + " " if current else "") + word[:cut]) > max_width:
                cut -= 1
            if cut <= 1 and current:
                lines.append(current)
                current = ""
                continue
            lines.append((current + " " if current else "") + word[:cut])
            current, word = "", word[cut:]
        candidate = f"{current} {word}" if current else word
        if text_width(font, candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(font, last + "…") > max_width:
            last = last[:-1].rstrip()
        lines = lines[:max_lines - 1] + [last + "…"]
    return lines


def draw_text_safe(draw: ImageDraw.ImageDraw, xy, text: str, font, fill, **kwargs) -> None:
    """Draw text; a glyph problem in an exotic script must never cost the picture."""
    try:
        draw.text(xy, text, font=font, fill=fill, **kwargs)
    except Exception:
        draw.text(xy, text.encode("ascii", "replace").decode("ascii"), font=font, fill=fill, **kwargs)


def pill(draw: ImageDraw.ImageDraw, center_x: float, top: float, text: str, font, *, fill=(255, 255, 255, 225),
         ink=INK, max_width: float | None = None, page_width: int | None = None) -> None:
    """A rounded label with text, kept inside the page."""
    if max_width is not None and text_width(font, text) > max_width:
        while len(text) > 1 and text_width(font, text + "…") > max_width:
            text = text[:-1]
        text += "…"
    size = getattr(font, "size", 10)
    tw = text_width(font, text)
    pad_x, pad_y = size * 0.55, size * 0.25
    x0 = center_x - tw / 2 - pad_x
    if page_width is not None:
        x0 = max(2, min(x0, page_width - tw - 2 * pad_x - 2))
    box = [x0, top, x0 + tw + 2 * pad_x, top + size + 2 * pad_y]
    draw.rounded_rectangle(box, radius=(size + 2 * pad_y) / 2, fill=fill, outline=(*ink, 90) if len(ink) == 3 else ink)
    draw_text_safe(draw, (x0 + pad_x, top + pad_y + size * 0.02), text, font, ink)
