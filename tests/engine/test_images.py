"""Image loading in every Pillow mode, EXIF orientation, large photos, presets, bad files."""

import io

import numpy as np
import pytest
from PIL import Image

from convviz_gui.engine.cam import CamResult
from convviz_gui.engine.cam.base import resize_map
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import (
    DISPLAY_MAX_SIDE,
    decode_image_bytes,
    image_from_array,
    load_image,
    preprocess,
)


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


def _large_photo(width: int, height: int, mode: str) -> Image.Image:
    """Gradients and blocks (with a translucent band for alpha modes) at a camera's size."""
    size = (width, height)
    across, down = (Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp, (height, width))))
                    for ramp in (np.linspace(0, 255, width).astype(np.uint8)[None, :],
                                 np.linspace(0, 255, height).astype(np.uint8)[:, None]))
    blocks = Image.fromarray((np.indices((8, 8)).sum(axis=0) % 2 * 180).astype(np.uint8)).resize(
        size, Image.Resampling.NEAREST)
    if mode == "I;16":
        return Image.fromarray(np.asarray(across, np.uint16) * 257)
    if mode == "RGBA":
        alpha = Image.new("L", size, 255)
        alpha.paste(60, (0, height // 3, width, height // 2))
        return Image.merge("RGBA", (across, down, blocks, alpha))
    return Image.merge("RGB", (across, down, blocks)).convert(mode)


# (format, mode, EXIF orientation, expected upright original size)
LARGE = [("JPEG", "RGB", 1, (6000, 4000)), ("JPEG", "RGB", 6, (3000, 4000)),
         ("JPEG", "L", 1, (3000, 2400)), ("PNG", "RGB", 1, (6000, 4000)),
         ("PNG", "RGBA", 1, (3000, 2400)), ("PNG", "I;16", 1, (2400, 3000))]


@pytest.mark.parametrize("fmt,mode,orientation,size", LARGE, ids=[f"{c[0]}-{c[1]}-exif{c[2]}" for c in LARGE])
def test_large_image_is_reduced_like_a_full_decode(tmp_path, fmt, mode, orientation, size):
    """Long side DISPLAY_MAX_SIDE, original upright size kept, same picture as full decoding."""
    stored = size[::-1] if orientation == 6 else size
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(_large_photo(*stored, mode), fmt, exif=exif, **({"quality": 90} if fmt == "JPEG" else
                                                                     {"compress_level": 1}))
    path = tmp_path / f"big.{fmt.lower()}"
    path.write_bytes(data)
    image = load_image(path)
    height, width = image.rgb.shape[:2]
    assert max(width, height) == DISPLAY_MAX_SIDE and image.rgb.dtype == np.uint8
    assert image.size == size and abs(width / height - size[0] / size[1]) < 0.01
    assert image.scale == pytest.approx(size[0] / width) and image.scale > 1.1
    full = decode_image_bytes(data)
    assert full.shape == (size[1], size[0], 3)
    expected = np.asarray(Image.fromarray(full).resize((width, height), Image.Resampling.BOX), np.float32)
    assert np.abs(image.rgb.astype(np.float32) - expected).mean() < 2.0


def test_full_resolution_on_request_and_small_images_untouched(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(_encode(_large_photo(3000, 500, "RGB"), "PNG", compress_level=1))
    assert load_image(path, max_side=None).rgb.shape == (500, 3000, 3)
    reduced = load_image(path)
    assert reduced.rgb.shape == (341, 2048, 3) and reduced.size == (3000, 500)
    small = load_image(path, max_side=5000)
    assert small.size == (3000, 500) and small.scale == 1.0
    pasted = image_from_array(np.zeros((7, 9, 4), np.uint8))
    assert pasted.size == (9, 7) and pasted.scale == 1.0


def _cam(heatmap: np.ndarray) -> CamResult:
    return CamResult(heatmap.astype(np.float32), 0, "x", 1.0, ("conv",), "gradcam")


def test_the_peak_is_the_centre_of_the_hottest_cell_at_any_size(monkeypatch):
    """peak_xy is where the bilinear upsampling peaks, the hottest cell's centre, found on the
    map itself (never an upsampled 61440x30720 float map); a border cell's peak is its centre,
    not the image edge where the upsampled map's plateau begins (a new user saw the + there)."""
    monkeypatch.setattr(CamResult, "upsampled", lambda *args: pytest.fail("no upsampling"))
    rng = np.random.default_rng(4)
    for _ in range(5):
        heatmap = rng.random((7, 5))
        cam = _cam(heatmap)
        row, column = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
        assert cam.peak_xy(50, 70) == (column * 10 + 5, row * 10 + 5)
        assert cam.to_dict((2048 * 30, 1024 * 30))["peak_xy"] == [
            int((column + 0.5) * 2048 * 30 / 5), int((row + 0.5) * 1024 * 30 / 7)]
    corner = _cam(np.pad(np.ones((1, 1)), ((3, 0), (0, 3))))  # bottom-left of a 4x4 map
    assert corner.peak_xy(64, 64) == (8, 56)
    up = resize_map(corner.heatmap, 64, 64)  # flat from the image's corner to the centre (7.5)
    assert up[63, 0] == up[56, 7] == up.max() and up[55, 8] > 0.9 * up.max()
