"""Image loading (any Pillow format and mode) and model-input preprocessing presets."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from convviz_gui.engine.errors import ConvVizError

# Preset name -> what the user sees in menus and the CLI help.
PRESETS: dict[str, str] = {
    "none": "none (raw 0-255)",
    "unit": "1/255 -> [0, 1]",
    "symmetric": "[-1, 1] (x / 127.5 - 1)",
    "caffe": "caffe (BGR, ImageNet mean; VGG/ResNet50)",
    "torch": "torch (ImageNet mean/std)",
    "app": "Keras Application's own preprocess_input",
}

_IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class LoadedImage:
    """An upright 8-bit RGB image kept at its original resolution for overlays."""

    rgb: np.ndarray  # (height, width, 3) uint8
    name: str
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def load_image(path: str | Path) -> LoadedImage:
    """Open any raster image Pillow reads (first frame, EXIF-upright) as RGB."""
    path = Path(path)
    if not path.exists():
        raise ConvVizError(f"The image file {path.name} does not exist.")
    if path.is_dir():
        raise ConvVizError(f"{path.name} is a folder, not an image file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConvVizError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    if not data:
        raise ConvVizError(f"The image file {path.name} is empty.")
    return LoadedImage(rgb=decode_image_bytes(data, path.name), name=path.name, path=path)


def decode_image_bytes(data: bytes, name: str = "image") -> np.ndarray:
    """Decode image bytes to an upright (H, W, 3) uint8 RGB array, or raise ConvVizError."""
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or data[:4] == b"%PDF":
        raise ConvVizError(f"{name} is a vector document (SVG/PDF), not a raster image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                rgb = to_rgb_array(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ConvVizError(
            f"{name} declares too many pixels to open safely (decompression bomb guard)."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ConvVizError(f"{name} is not an image format ConvViz can read.") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ConvVizError(f"{name} is damaged or truncated and cannot be decoded.") from exc
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ConvVizError(f"{name} has no pixels.")
    return rgb


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert a Pillow image in any mode to (H, W, 3) uint8 RGB; alpha is composited on white."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16"):
            gray = values / 257.0 if values.max() > 255 else values  # 8-bit data in 16 bits
        else:
            low, high = float(values.min()), float(values.max())
            gray = (values - low) / (high - low) * 255.0 if high > low else values * 0
        gray = np.clip(gray, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def image_from_array(rgb: np.ndarray, name: str = "pasted image") -> LoadedImage:
    """Wrap an in-memory (H, W, 3|4) uint8 array (e.g. from the clipboard)."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.size == 0:
        raise ConvVizError("The pasted data is not an RGB image.")
    return LoadedImage(rgb=to_rgb_array(Image.fromarray(array.astype(np.uint8))), name=name)


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an RGB uint8 array with Pillow's bilinear filter."""
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


def preprocess(
    pixels: np.ndarray, preset: str, app_preprocess: Callable | None = None
) -> np.ndarray:
    """Apply a preprocessing preset to float pixels in [0, 255] with 1 or 3 channels."""
    x = np.asarray(pixels, dtype=np.float32)
    if preset == "none":
        return x
    if preset == "unit":
        return x / 255.0
    if preset == "symmetric":
        return x / 127.5 - 1.0
    if preset == "caffe":
        if x.shape[-1] == 3:
            return x[..., ::-1] - _IMAGENET_BGR_MEAN
        return x - _IMAGENET_BGR_MEAN.mean()
    if preset == "torch":
        if x.shape[-1] == 3:
            return (x / 255.0 - _TORCH_MEAN) / _TORCH_STD
        return (x / 255.0 - _TORCH_MEAN.mean()) / _TORCH_STD.mean()
    if preset == "app":
        if app_preprocess is None:
            raise ConvVizError("This model is not a Keras Application; choose another preset.")
        return np.asarray(app_preprocess(x.copy()), dtype=np.float32)
    raise ConvVizError(f"Unknown preprocessing preset '{preset}'. Choose one of: {', '.join(PRESETS)}.")


def to_model_pixels(image: LoadedImage, height: int, width: int, channels: int) -> np.ndarray:
    """Resize the image to the model's input and give (1, H, W, C) float pixels in [0, 255]."""
    resized = Image.fromarray(image.rgb).resize((width, height), Image.Resampling.BILINEAR)
    if channels == 1:
        array = np.asarray(resized.convert("L"), dtype=np.float32)[..., None]
    elif channels == 3:
        array = np.asarray(resized, dtype=np.float32)
    else:
        raise ConvVizError(f"Models with {channels} input channels are not images ConvViz can feed.")
    return array[None, ...]
