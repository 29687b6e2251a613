"""The TensorFlow ops a tf-keras (Keras 2) model records, as one safe Keras 3 layer.

tf-keras turns ``tf.*`` calls on symbolic tensors (``x / 127.5 - 1``, ``preprocess_input``,
``tf.nn.relu6``, ``x[..., ::-1]``) into TFOpLambda / SlicingOpLambda layers that name the op
(``math.truediv``) and its arguments. ``TFOp`` runs the same TensorFlow function, looked up
in a fixed table of known ops: nothing from the file is ever executed as code.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import keras
import tensorflow as tf

# tf-keras' names (the TF API path without "tf.") of the ops ConvViz translates: arithmetic
# with constants or tensors, every keras.applications preprocess_input (tf, torch, caffe),
# slicing, tf.nn activations and the shape ops models use around them.
KNOWN_OPS = (
    "__operators__.add", "__operators__.getitem", "math.add", "math.add_n", "math.subtract",
    "math.multiply", "math.truediv", "math.divide", "math.divide_no_nan", "math.floordiv",
    "math.pow", "math.maximum", "math.minimum", "math.squared_difference", "math.negative",
    "math.abs", "math.sqrt", "math.rsqrt", "math.square", "math.exp", "math.log",
    "math.reciprocal", "math.sign", "math.round", "math.floor", "math.ceil", "math.sigmoid",
    "math.tanh", "math.softplus", "math.erf", "math.reduce_mean", "math.reduce_sum",
    "math.reduce_max", "math.reduce_min", "math.reduce_std", "math.reduce_variance",
    "math.l2_normalize", "nn.relu", "nn.relu6", "nn.elu", "nn.selu", "nn.gelu", "nn.silu",
    "nn.swish", "nn.leaky_relu", "nn.sigmoid", "nn.tanh", "nn.softplus", "nn.softsign",
    "nn.softmax", "nn.log_softmax", "nn.bias_add", "nn.l2_normalize", "clip_by_value", "concat",
    "stack", "reverse", "transpose", "compat.v1.transpose", "reshape", "expand_dims", "squeeze",
    "compat.v1.squeeze", "cast", "identity", "image.resize", "image.rgb_to_grayscale",
    "image.grayscale_to_rgb", "image.convert_image_dtype", "ones_like", "zeros_like", "tile",
)

TENSOR, SLICE, ELLIPSIS = "__tensor__", "__slice__", "__ellipsis__"


@functools.cache
def tf_function(name: str) -> Any:
    """The TensorFlow function of a known op name (``math.truediv`` -> ``tf.math.truediv``)."""
    if name not in KNOWN_OPS:
        raise ValueError(f"tf.{name} is not a TensorFlow op ConvViz translates.")
    return functools.reduce(getattr, name.split("."), tf)


def _revive(value: Any, tensors: list[Any]) -> Any:
    """Arguments as stored in the config -> call arguments (tensors, slices, Ellipsis)."""
    if isinstance(value, dict):
        if TENSOR in value:
            return tensors[value[TENSOR]]
        if SLICE in value:
            return slice(*value[SLICE])
        if ELLIPSIS in value:
            return Ellipsis
        return {key: _revive(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [_revive(item, tensors) for item in value]
    return value


@keras.saving.register_keras_serializable(package="ConvViz")
class TFOp(keras.layers.Layer):
    """A TensorFlow op of a Keras 2 model (``tf.math.truediv(x, 127.5)``), run as recorded.

    Args:
        function: the op's TF API path without ``tf.``, one of ``KNOWN_OPS``.
        arguments: JSON text of ``{"args": [...], "kwargs": {...}}``, where
            ``{"__tensor__": i}`` is the layer's i-th input tensor, ``{"__slice__": [start,
            stop, step]}`` a slice and ``{"__ellipsis__": true}`` the ``...`` of a subscript.
    """

    def __init__(self, function: str, arguments: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        tf_function(function)  # unknown names fail here, before any call
        self.function = function
        self.arguments = arguments

    def call(self, inputs: Any) -> Any:
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        call = _revive(json.loads(self.arguments), tensors)
        return tf_function(self.function)(*call["args"], **call["kwargs"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "function": self.function, "arguments": self.arguments}
