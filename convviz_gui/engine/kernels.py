"""The weights of a convolution layer: kernels, bias and statistics (``figures.kernels``
draws them).

Reading the weights needs the Keras model; everything else here is plain NumPy, so
the window can draw a result without TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import (
    CONV_CLASSES,
    LayerInfo,
    LayerPath,
    find_layer,
    iter_layers,
    resolve_layer,
)

IMAGE_CLASSES = frozenset({"Conv2D", "Convolution2D"})  # kernels that read pixels directly
IMAGE_CHANNELS = (1, 3)  # grey or colour kernels can be drawn as images
CONVOLUTION_NAMES = "Conv2D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose"  # for messages


def convolution_layer(tree: list[LayerInfo], name_or_path: str, model_name: str = "the model"
                      ) -> LayerInfo:
    """The convolution layer with that name or path; a clear error for any other layer."""
    info = find_layer(tree, name_or_path)
    if info is None:
        raise ConvVizError(f"No layer named '{name_or_path}' in {model_name}; see 'convviz inspect'.")
    if info.is_container or info.class_name not in CONV_CLASSES:
        what = "has no weights" if info.params == 0 else f"is a {info.class_name} layer"
        raise ConvVizError(f"{info.display_path} {what}; kernels are shown for convolution layers "
                           f"({CONVOLUTION_NAMES}).")
    return info


def first_convolution(tree: list[LayerInfo]) -> LayerPath | None:
    """Path of the model's first convolution (the one that sees the pixels), if any."""
    for node in iter_layers(tree):
        if node.class_name in CONV_CLASSES and not node.is_container:
            return node.path
    return None


def layer_weights(model: Any, path: LayerPath) -> tuple[tuple[tuple[str, np.ndarray], ...],
                                                         np.ndarray | None]:
    """The kernels (``(name, array)`` in the layer's order) and the bias of a Keras layer."""
    layer = resolve_layer(model, path)
    arrays = zip((variable.name for variable in layer.weights), layer.get_weights())
    named = [(name.split("/")[-1], np.asarray(values)) for name, values in arrays]
    bias = next((values for name, values in named if name == "bias"), None)
    return tuple((name, values) for name, values in named if name != "bias"), bias


def input_channels(class_name: str, kernel_shape: tuple[int, ...]) -> int:
    """Channels each kernel reads (a transposed convolution stores them last)."""
    return int(kernel_shape[-1] if class_name == "Conv2DTranspose" else kernel_shape[-2])


def weight_stats(values: np.ndarray) -> dict[str, Any]:
    """JSON-ready shape, count and mean/std/min/max of the finite values."""
    finite = values[np.isfinite(values)].astype(np.float64)
    numbers = ({"mean": float(finite.mean()), "std": float(finite.std()),
                "min": float(finite.min()), "max": float(finite.max())} if finite.size
               else dict.fromkeys(("mean", "std", "min", "max")))
    return {"shape": list(values.shape), "count": int(values.size), **numbers,
            "non_finite": int(values.size - finite.size)}

