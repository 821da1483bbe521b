"""Opening photos from strangers: a clear InvalidInput or a plain RGB image, never a crash."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from storyteller.errors import InvalidInput
from storyteller.images import MAX_PIXELS, load_image


def save(path, image, **kwargs):
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("not a picture at all"), "not an image"),
    (lambda p: p.write_bytes(_noisy_png()[:3000]), "damaged or truncated"),
])
def test_unreadable_files_are_clear_errors(tmp_path, make, message):
    path = tmp_path / "photo.png"
    make(path)
    with pytest.raises(InvalidInput, match=message):
        load_image(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InvalidInput, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InvalidInput, match="is a folder"):
        load_image(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permissions(tmp_path):
    path = save(tmp_path / "p.png", Image.new("RGB", (8, 8)))
    path.chmod(0)
    with pytest.raises(InvalidInput, match="permission denied"):
        load_image(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS ** 0.5) + 100
    path = save(tmp_path / "huge.png", Image.new("1", (side, side)))  # 1-bit: small on disk, huge decoded
    with pytest.raises(InvalidInput, match="megapixels"):
        load_image(path)


@pytest.mark.parametrize("image, kwargs", [
    (Image.new("CMYK", (40, 30), (0, 255, 255, 0)), {"format": "JPEG"}),
    (Image.fromarray(np.full((30, 40), 40000, dtype=np.uint16)), {"format": "PNG"}),
    (Image.new("RGBA", (40, 30), (255, 0, 0, 0)), {"format": "PNG"}),
    (Image.new("P", (40, 30)), {"format": "GIF"}),
])
def test_every_mode_becomes_rgb(tmp_path, image, kwargs):
    path = save(tmp_path / f"m.{kwargs['format'].lower()}", image, **kwargs)
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (40, 30)


def test_transparent_pixels_become_white(tmp_path):
    loaded = load_image(save(tmp_path / "a.png", Image.new("RGBA", (4, 4), (255, 0, 0, 0))))
    assert loaded.getpixel((0, 0)) == (255, 255, 255)


def test_animated_image_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue", "green")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    r, g, b = load_image(path).getpixel((10, 10))
    assert r > 200 and b < 50


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = save(tmp_path / "rot.jpg", image, format="JPEG", exif=exif)
    assert load_image(path).size == (20, 40)


def _noisy_png() -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
