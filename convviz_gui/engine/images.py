"""Image loading (any Pillow format and mode) and model-input preprocessing presets."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

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


# Long side (pixels) of the copy kept for display and the model; larger files are reduced.
DISPLAY_MAX_SIDE = 2048

# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = (5, 6, 7, 8)


@dataclass(frozen=True)
class LoadedImage:
    """An upright 8-bit RGB image, reduced to at most ``DISPLAY_MAX_SIDE`` when the file is larger."""

    rgb: np.ndarray  # (height, width, 3) uint8, possibly reduced
    name: str
    path: Path | None = None
    original_size: tuple[int, int] | None = None  # (width, height) of the upright file image

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the original image in pixels (not of the reduced ``rgb``)."""
        if self.original_size is not None:
            return self.original_size
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def scale(self) -> float:
        """Original width / ``rgb`` width: 1.0 when the image was not reduced."""
        return self.size[0] / self.rgb.shape[1]


def load_image(path: str | Path, max_side: int | None = DISPLAY_MAX_SIDE) -> LoadedImage:
    """Open any raster image Pillow reads (first frame, EXIF-upright) as RGB.

    When its long side exceeds ``max_side`` the kept ``rgb`` is reduced to that long side
    (JPEGs are decoded at reduced size directly); ``None`` keeps the full resolution.
    """
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
    rgb, original_size = _decode(data, path.name, max_side)
    return LoadedImage(rgb=rgb, name=path.name, path=path, original_size=original_size)


def decode_image_bytes(data: bytes, name: str = "image") -> np.ndarray:
    """Decode image bytes to an upright full-resolution (H, W, 3) uint8 RGB array, or raise."""
    return _decode(data, name, None)[0]


def _decode(data: bytes, name: str, max_side: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Upright RGB array (long side <= ``max_side`` unless None) and the upright original size."""
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or data[:4] == b"%PDF":
        raise ConvVizError(f"{name} is a vector document (SVG/PDF), not a raster image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)
                width, height = image.size
                target = _reduced_size(width, height, max_side)
                if target is not None:
                    image.draft("RGB", target)  # JPEG: DCT-scaled decode, still >= target
                image.load()
                orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
                # As Image.thumbnail: integer box reduction first, then antialiased bicubic.
                small = image if target is None else _resample_ready(image).resize(
                    target, Image.Resampling.BICUBIC, reducing_gap=2.0)
                if orientation in _UPRIGHT:
                    small = small.transpose(_UPRIGHT[orientation])
                rgb = to_rgb_array(small)
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
    return rgb, ((height, width) if orientation in _SWAPS_SIDES else (width, height))


def _reduced_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    """(width, height) with the long side ``max_side``, or None when no reduction is needed."""
    long_side = max(width, height)
    if max_side is None or long_side <= max_side:
        return None
    factor = max_side / long_side
    return max(1, round(width * factor)), max(1, round(height * factor))


def _resample_ready(image: Image.Image) -> Image.Image:
    """The image in a mode that resamples correctly: palettes and colour-key transparency
    (which interpolation would break) become RGB(A) or L before the reduction."""
    if image.mode == "PA" or (image.mode in ("P", "L", "RGB") and "transparency" in image.info):
        return image.convert("RGBA")
    if image.mode == "P":
        return image.convert("RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


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
    """Wrap an in-memory (H, W, 3|4) uint8 array (e.g. from the clipboard) at full resolution."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.size == 0:
        raise ConvVizError("The pasted data is not an RGB image.")
    converted = to_rgb_array(Image.fromarray(array.astype(np.uint8)))
    return LoadedImage(rgb=converted, name=name, original_size=(converted.shape[1], converted.shape[0]))


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an RGB uint8 array with Pillow's bilinear filter."""
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


def thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    """A copy of an RGB uint8 array fitted within ``side`` x ``side`` pixels (aspect kept,
    Lanczos; never enlarged)."""
    small = Image.fromarray(rgb)
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(small)


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


# How an image is fitted to the model's input size.
FIT_MODES: dict[str, str] = {
    "stretch": "stretch (the whole image, squashed to the input's shape)",
    "crop": "center crop (keeps the aspect, cuts the sides)",
    "pad": "pad (keeps the aspect and the whole image, black borders)",
}


def fit_to_input(image: LoadedImage, height: int, width: int, fit: str = "stretch") -> Image.Image:
    """The image at the model's input size, fitted as ``fit`` says (Pillow does the work)."""
    source = Image.fromarray(image.rgb)
    size = (width, height)
    if fit == "stretch":
        return source.resize(size, Image.Resampling.BILINEAR)
    if fit == "crop":
        return ImageOps.fit(source, size, Image.Resampling.BILINEAR)
    if fit == "pad":
        return ImageOps.pad(source, size, Image.Resampling.BILINEAR, color=(0, 0, 0))
    raise ConvVizError(f"Unknown fit mode '{fit}'. Choose one of: {', '.join(FIT_MODES)}.")


def to_model_pixels(image: LoadedImage, height: int, width: int, channels: int,
                    fit: str = "stretch") -> np.ndarray:
    """Fit the image to the model's input and give (1, H, W, C) float pixels in [0, 255]."""
    resized = fit_to_input(image, height, width, fit)
    if channels == 1:
        array = np.asarray(resized.convert("L"), dtype=np.float32)[..., None]
    elif channels == 3:
        array = np.asarray(resized, dtype=np.float32)
    else:
        raise ConvVizError(f"Models with {channels} input channels are not images ConvViz can feed.")
    return array[None, ...]


def natural_key(text: str) -> list:
    """Sort key that puts ``img2`` before ``img10`` (digit runs compare as numbers, case-blind)."""
    import re

    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def collect_image_files(inputs: Sequence[str], recursive: bool = False
                        ) -> tuple[list[str], list[tuple[str, str]]]:
    """The files a batch reads: files as given, folders expanded to their non-hidden files
    (natural sort of the path inside the folder; subfolders only when ``recursive``).

    Nothing is filtered by extension: a file that is not an image is skipped later by the
    reader, with its reason. Returns (files, skipped) where skipped holds (path, reason) for
    inputs that do not exist; the same file named twice is read once.
    """
    import os

    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(str(path))

    for given in inputs:
        root = Path(given)
        if root.is_file():
            add(root)
        elif root.is_dir():
            found = []
            for folder, subfolders, names in os.walk(root):
                subfolders[:] = [name for name in subfolders if recursive and not name.startswith(".")]
                found += [Path(folder, name) for name in names if not name.startswith(".")]
            for path in sorted(found, key=lambda path: natural_key(path.relative_to(root).as_posix())):
                add(path)
        else:
            skipped.append((str(given), f"{given} does not exist."))
    return files, skipped
