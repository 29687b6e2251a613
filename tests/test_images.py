"""Image loading in every Pillow mode, EXIF orientation, presets, bad files."""

import io

import numpy as np
import pytest
from PIL import Image

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import decode_image_bytes, load_image, preprocess


def _encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("mode,fmt", [("L", "PNG"), ("LA", "PNG"), ("RGB", "JPEG"),
                                      ("RGBA", "PNG"), ("P", "PNG"), ("CMYK", "JPEG"),
                                      ("I;16", "PNG"), ("RGB", "BMP"), ("RGB", "TIFF"),
                                      ("RGB", "WEBP"), ("P", "GIF")])
def test_every_mode_becomes_rgb(mode, fmt):
    gradient = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))
    image = Image.fromarray(np.dstack([gradient] * 3)).convert(mode)
    rgb = decode_image_bytes(_encode(image, fmt), f"x.{fmt.lower()}")
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8
    assert rgb[:, -1].mean() > rgb[:, 0].mean() + 100  # the gradient survived


def test_sixteen_bit_keeps_range():
    values = np.array([[0, 65535]], dtype=np.uint16)
    rgb = decode_image_bytes(_encode(Image.fromarray(values), "PNG"))
    assert rgb[0, 0, 0] == 0 and rgb[0, 1, 0] == 255


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    rgb = decode_image_bytes(_encode(image, "JPEG", exif=exif))
    assert rgb.shape == (40, 20, 3)


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert (decode_image_bytes(_encode(image, "PNG")) == 255).all()


@pytest.mark.parametrize("data,message", [(b"", "empty"), (b"\x00garbage" * 20, "not an image"),
                                          (b"<svg xmlns='x'></svg>", "vector"),
                                          (b"%PDF-1.4 ...", "vector")])
def test_bad_bytes_give_clear_errors(tmp_path, data, message):
    path = tmp_path / "bad.png"
    path.write_bytes(data)
    with pytest.raises(ConvVizError, match=message):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    data = _encode(Image.new("RGB", (64, 64), "red"), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConvVizError, match="damaged or truncated"):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConvVizError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ConvVizError, match="folder"):
        load_image(tmp_path)


def test_presets():
    pixels = np.array([[[[0.0, 127.5, 255.0]]]], dtype=np.float32)
    assert np.allclose(preprocess(pixels, "unit"), [0, 0.5, 1])
    assert np.allclose(preprocess(pixels, "symmetric"), [-1, 0, 1])
    assert np.allclose(preprocess(pixels, "caffe"), [255 - 103.939, 127.5 - 116.779, -123.68])
    with pytest.raises(ConvVizError):
        preprocess(pixels, "bogus")
