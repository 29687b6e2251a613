"""Reference images in the model's input space: what "removed" pixels are replaced with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import preprocess

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

BASELINES = {"black": "a black image (preprocessed like the input)",
             "blurred": "the image blurred (Gaussian, sigma = 1/25 of its side)"}


def black(loaded: LoadedModel, batch: np.ndarray, preset: str) -> np.ndarray:
    """A black image of ``batch``'s shape, preprocessed with ``preset`` (not zeros: a
    [-1, 1] model's black is -1, a caffe model's is minus the mean pixel)."""
    return preprocess(np.zeros_like(batch, np.float32), preset, loaded.app_preprocess)


def blurred(batch: np.ndarray) -> np.ndarray:
    """``batch`` blurred by a Gaussian (sigma = 1/25 of the shorter side), borders reflected."""
    import keras

    height, width = batch.shape[1:3]
    sigma = max(1.0, min(height, width) / 25)
    half = int(np.ceil(2 * sigma))
    padded = np.pad(batch, ((0, 0), (half, half), (half, half), (0, 0)), mode="reflect")
    smooth = keras.ops.image.gaussian_blur(padded, kernel_size=(2 * half + 1, 2 * half + 1),
                                           sigma=(sigma, sigma))
    return np.asarray(smooth, np.float32)[:, half:half + height, half:half + width]


def baseline(name: str, loaded: LoadedModel, batch: np.ndarray, preset: str) -> np.ndarray:
    """The named baseline for ``batch``."""
    if name == "black":
        return black(loaded, batch, preset)
    if name == "blurred":
        return blurred(batch)
    raise ConvVizError(f"Unknown baseline '{name}'. Choose one of {', '.join(BASELINES)}.")
