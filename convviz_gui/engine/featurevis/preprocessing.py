"""The model's own preprocessing preset as differentiable TensorFlow ops.

Every preset (none, unit, symmetric, caffe, torch, and the Keras Applications'
``preprocess_input``) maps each pixel's channels affinely. The map is read off
``images.preprocess`` itself, so the graph computes exactly what the window feeds the
model; a preset that is not affine falls back to running ``app_preprocess`` on tensors.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.images import preprocess

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


def preprocess_pixels(loaded: LoadedModel, preset: str | None, pixels: np.ndarray) -> np.ndarray:
    """Pixels in [0, 255] (channels last) in model units: the preset (default: the
    model's) as the window applies it, float32."""
    return np.asarray(preprocess(pixels, preset or loaded.preset, loaded.app_preprocess), np.float32)


def affine_preset(loaded: LoadedModel, preset: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(matrix, offset)`` with ``preprocess(x) == x @ matrix + offset`` for pixels ``x``
    in [0, 255] (channels last), or None when the preset (default: the model's) is not
    affine."""
    channels = loaded.channels
    probes = np.concatenate([np.zeros((1, channels)), 255.0 * np.eye(channels)])
    outputs = preprocess_pixels(loaded, preset, probes[:, None, None, :].astype(np.float32))[:, 0, 0, :]
    offset = outputs[0].astype(np.float64)
    matrix = (outputs[1:] - offset) / 255.0
    check = np.random.default_rng(0).uniform(0, 255, (4, 1, 1, channels)).astype(np.float32)
    expected = preprocess_pixels(loaded, preset, check)
    if not np.allclose(check @ matrix + offset, expected, rtol=1e-4, atol=1e-3):
        return None
    return matrix.astype(np.float32), offset.astype(np.float32)


def model_input_range(loaded: LoadedModel, preset: str | None = None) -> tuple[float, float]:
    """(min, max) the preset (default: the model's) makes of pixels in [0, 255]: the
    model's input range."""
    corners = np.array(list(itertools.product((0.0, 255.0), repeat=loaded.channels)), np.float32)
    values = preprocess_pixels(loaded, preset, corners[:, None, None, :])
    return float(values.min()), float(values.max())


def tensor_preprocess(loaded: LoadedModel, preset: str | None = None) -> Callable[[Any], Any]:
    """``pixels -> model input`` on tensors (pixels in [0, 255]), differentiable."""
    import tensorflow as tf

    affine = affine_preset(loaded, preset)
    if affine is None:  # a Keras Application's preprocess_input also works on tensors
        app_preprocess = loaded.app_preprocess
        if app_preprocess is None:
            raise ValueError("No affine preset and no preprocess_input: nothing to apply.")
        return lambda pixels: app_preprocess(pixels)
    matrix, offset = (tf.constant(value) for value in affine)
    return lambda pixels: tf.tensordot(pixels, matrix, axes=1) + offset
