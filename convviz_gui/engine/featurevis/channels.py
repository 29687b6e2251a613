"""Reading chosen channels of a layer, shared by both styles: only the chosen filters'
kernels of a convolution are applied, and the map's border is cut before averaging."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

CHANNEL_WISE = ("Conv2D", "SeparableConv2D")
ELEMENTWISE_ACTIVATIONS = ("linear", "relu", "relu6", "elu", "selu", "gelu", "silu", "swish",
                           "sigmoid", "tanh", "hard_sigmoid", "hard_silu", "leaky_relu",
                           "softplus", "softsign", "mish", "exponential")


def computes_chosen_channels(layer: Any) -> bool:
    """Whether the target layer's chosen channels can be computed alone from its input."""
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    return (
        type(layer).__name__ in CHANNEL_WISE
        and getattr(layer, "data_format", "channels_last") == "channels_last"
        and getattr(layer, "groups", 1) == 1
        and not getattr(layer, "lora_enabled", False)
        and getattr(layer, "quantization_mode", None) is None
        and getattr(layer, "compute_dtype", "float32") == "float32"  # not mixed precision
        and activation in ELEMENTWISE_ACTIVATIONS
    )


def chosen_channels(layer: Any, inputs: Any, filter_indices: Any, activate: bool = True) -> Any:
    """(B, h, w): image b's own filter ``filter_indices[b]`` of a Conv2D/SeparableConv2D,
    after the layer's activation unless ``activate`` is False.

    Only the chosen filters' kernels are applied, instead of every filter of the layer.
    """
    padding = layer.padding.upper()
    if type(layer).__name__ == "SeparableConv2D":
        inputs = tf.nn.depthwise_conv2d(inputs, layer.depthwise_kernel.value,
                                        (1, *layer.strides, 1), padding,
                                        dilations=layer.dilation_rate)
        kernel, strides, dilations, padding = layer.pointwise_kernel.value, 1, 1, "VALID"
    else:
        kernel, strides, dilations = layer.kernel.value, layer.strides, layer.dilation_rate
    chosen = tf.nn.convolution(inputs, tf.gather(kernel, filter_indices, axis=3),
                               strides=strides, padding=padding, dilations=dilations)
    own = tf.eye(tf.shape(filter_indices)[0], dtype=chosen.dtype)[:, tf.newaxis, tf.newaxis, :]
    values = tf.reduce_sum(chosen * own, axis=-1)  # (B, h, w, B) -> each image's own filter
    if layer.use_bias:
        values += tf.gather(layer.bias.value, filter_indices)[:, tf.newaxis, tf.newaxis]
    return layer.activation(values) if activate else values


def cut_border(activation: Any, border: int) -> Any:
    """The activation without ``border`` pixels on every side (when it is big enough)."""
    if border and activation.shape[1] is not None and activation.shape[1] > 2 * border:
        return activation[:, border:-border, border:-border]
    return activation
