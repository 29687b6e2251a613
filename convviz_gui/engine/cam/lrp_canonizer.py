"""The linear maps LRP propagates through, read from Keras layers, BatchNorm folded in.

A convolution (or Dense) followed only by a BatchNormalization is one affine map: LRP
propagates through the merged kernel W * s and bias (b - mu) * s + beta, s = gamma /
sqrt(var + eps), as zennit's ``MergeBatchNorm`` canonizer does (a rule applied to the
unmerged pair would treat the BatchNorm's shift as a second bias and its scale as a layer).
A SeparableConv2D is two linear maps (depthwise, then pointwise), the rule applied to each.
Everything is float32, whatever the layer's dtype policy (mixed_float16 included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convviz_gui.engine.errors import ConvVizError

CONV_CLASSES = frozenset({"Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D",
                          "Convolution3D"})
TRANSPOSE_CLASSES = frozenset({"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"})
DEPTHWISE_CLASSES = frozenset({"DepthwiseConv1D", "DepthwiseConv2D"})
SEPARABLE_CLASSES = frozenset({"SeparableConv1D", "SeparableConv2D"})
LINEAR_CLASSES = (CONV_CLASSES | TRANSPOSE_CLASSES | DEPTHWISE_CLASSES | SEPARABLE_CLASSES
                  | {"Dense", "BatchNormalization"})


@dataclass(frozen=True)
class Linear:
    """One linear map ``apply(x, kernel) + bias``; ``out_axis`` is the kernel's axis of
    output channels (a depthwise kernel's last two axes together)."""

    apply: Callable[[Any, Any], Any]
    kernel: Any
    bias: Any | None
    out_axis: int = -1
    depthwise: bool = False
    channels_first: bool = False

    def shaped_bias(self, rank: int) -> Any | None:
        """The bias shaped to add to an output of ``rank`` dimensions (None: no bias)."""
        import tensorflow as tf

        if self.bias is None or not self.channels_first:
            return self.bias
        return tf.reshape(self.bias, [-1] + [1] * (rank - 2))

    def biased(self, values: Any) -> Any:
        """``values`` plus the bias on their channel axis."""
        bias = self.shaped_bias(len(values.shape))
        return values if bias is None else values + bias

    def folded(self, scale: Any, shift: Any) -> Linear:
        """This map followed by the per-channel affine map ``x * scale + shift``."""
        import tensorflow as tf

        if self.depthwise:  # (kh, kw, in, multiplier): output channel = in * multiplier + m
            shaped = tf.reshape(scale, self.kernel.shape[-2:])
        else:
            rank, axis = len(self.kernel.shape), self.out_axis % len(self.kernel.shape)
            shaped = tf.reshape(scale, [-1 if i == axis else 1 for i in range(rank)])
        bias = shift if self.bias is None else self.bias * scale + shift
        return Linear(self.apply, self.kernel * shaped, bias, self.out_axis, self.depthwise,
                      self.channels_first)


def as_float32(variable: Any) -> Any:
    """A weight as a float32 tensor (a constant of the pass: never differentiated)."""
    import tensorflow as tf

    return tf.cast(tf.convert_to_tensor(variable), tf.float32)


def batchnorm_affine(layer: Any) -> tuple[Any, Any]:
    """(scale, shift) of an inference BatchNormalization: x * scale + shift."""
    import tensorflow as tf

    variance = as_float32(layer.moving_variance)
    scale = tf.math.rsqrt(variance + layer.epsilon)
    if layer.scale:
        scale = scale * as_float32(layer.gamma)
    shift = -as_float32(layer.moving_mean) * scale
    if layer.center:
        shift = shift + as_float32(layer.beta)
    return scale, shift


def _bias(layer: Any) -> Any | None:
    return as_float32(layer.bias) if getattr(layer, "use_bias", False) else None


def linear_steps(layer: Any, batchnorm: Any | None = None) -> list[Linear]:
    """The linear maps of a layer in order (two for a separable convolution), with the
    ``batchnorm`` that follows it folded into the last one."""
    from keras import ops

    kind = type(layer).__name__
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    if kind in CONV_CLASSES:
        steps = [Linear(layer.convolution_op, as_float32(layer.kernel), _bias(layer),
                        channels_first=first)]
    elif kind in TRANSPOSE_CLASSES:
        def transposed(x: Any, kernel: Any) -> Any:
            return ops.conv_transpose(x, kernel, strides=list(layer.strides), padding=layer.padding,
                                      output_padding=layer.output_padding,
                                      dilation_rate=layer.dilation_rate,
                                      data_format=layer.data_format)

        steps = [Linear(transposed, as_float32(layer.kernel), _bias(layer), out_axis=-2,
                        channels_first=first)]
    elif kind in DEPTHWISE_CLASSES | SEPARABLE_CLASSES:
        def depthwise(x: Any, kernel: Any) -> Any:
            return ops.depthwise_conv(x, kernel, strides=layer.strides, padding=layer.padding,
                                      dilation_rate=layer.dilation_rate,
                                      data_format=layer.data_format)

        if kind in DEPTHWISE_CLASSES:
            steps = [Linear(depthwise, as_float32(layer.kernel), _bias(layer), depthwise=True,
                            channels_first=first)]
        else:
            def pointwise(x: Any, kernel: Any) -> Any:
                return ops.conv(x, kernel, strides=1, padding="valid",
                                data_format=layer.data_format)

            steps = [Linear(depthwise, as_float32(layer.depthwise_kernel), None, depthwise=True,
                            channels_first=first),
                     Linear(pointwise, as_float32(layer.pointwise_kernel), _bias(layer),
                            channels_first=first)]
    elif kind == "Dense":
        steps = [Linear(ops.matmul, as_float32(layer.kernel), _bias(layer))]
    elif kind == "BatchNormalization":
        scale, shift = batchnorm_affine(layer)
        steps = [_affine(layer, scale, shift)]
    else:
        raise ConvVizError(f"LRP has no linear map for layer '{layer.name}' ({kind}).")
    if batchnorm is not None:
        steps[-1] = steps[-1].folded(*batchnorm_affine(batchnorm))
    return steps


def _affine(layer: Any, scale: Any, shift: Any) -> Linear:
    """A BatchNormalization on its own: the diagonal linear map x * scale (+ shift)."""
    import tensorflow as tf

    axis = int(layer.axis)

    def multiply(x: Any, kernel: Any) -> Any:
        rank = len(x.shape)
        return x * tf.reshape(kernel, [-1 if i == axis % rank else 1 for i in range(rank)])

    return Linear(multiply, scale, shift, channels_first=axis == 1)


def foldable(layer: Any, batchnorm: Any, rank: int) -> bool:
    """True when ``batchnorm`` normalizes the channels of ``layer``'s linear output (of
    ``rank`` dimensions, batch included)."""
    kind = type(layer).__name__
    if kind == "BatchNormalization" or kind not in LINEAR_CLASSES:
        return False
    if getattr(getattr(layer, "activation", None), "__name__", "linear") != "linear":
        return False
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return int(batchnorm.axis) % rank == (1 if channels_first else rank - 1)
