"""The reference style's step as one compiled function: the gradient w.r.t. the images
(never the weights), its L2 normalization, the backtracking choice and the update, so a
step is one call with no eager work around it. XLA (``jit_compile``) is used where it was
measured to win, and dropped, with the same answers, where it cannot compile the model.

The network is an input (``losses_of``): a model computing in another precision can be
swapped in; its values and gradients are cast to float32 before anything else uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

Losses = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (images, filter indices) -> values

log = logging.getLogger(__name__)
# XLA per model family, measured on a 2-core AMD EPYC (AVX2/FMA), fused reference step at
# 200 px, batch 4, CPU seconds per filter for 30 steps, XLA vs oneDNN: plain (VGG16
# block4_conv1) 12.8 vs 11.1, depthwise (Xception block3_sepconv1) 13.6 vs 1.2. XLA's CPU
# convolutions are its own (Eigen), not oneDNN's, and its depthwise ones are 10x slower;
# its compile also takes 10-25 s before the first preview. Off for both here; an entry
# turns on where a measurement (bench/filters.py) shows XLA winning.
XLA_WINS = {"plain": False, "depthwise": False}


class AscentState(NamedTuple):
    """One batch's ascent: the images to evaluate next, the best images so far, their
    ascent directions and values, and each image's step length."""

    images: tf.Tensor
    best: tf.Tensor
    direction: tf.Tensor
    best_values: tf.Tensor
    rates: tf.Tensor

    @classmethod
    def start(cls, images: tf.Tensor, learning_rate: float) -> AscentState:
        """The state before the first step: no best image yet (its value is -inf)."""
        count = images.shape[0]
        return cls(images, images, tf.zeros_like(images), tf.fill([count], float("-inf")),
                   tf.fill([count], tf.constant(learning_rate, tf.float32)))


def gradient_step(losses_of: Losses) -> Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """``(images, filter_indices) -> (directions, values)``, uncompiled: each image's
    L2-normalized gradient (the book's ascent direction) and its value, float32."""

    def step(images: tf.Tensor, filter_indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # Only the image is watched, never the weights: no tape records a kernel gradient.
        # oneDNN issue 6035: the kernel gradient of 1x1 strided convolutions with fewer
        # than 16 input channels corrupts the heap.
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            values = tf.cast(losses_of(images, filter_indices), tf.float32)
            total = tf.reduce_sum(values)  # images are independent: one backward pass
        gradients = tf.cast(tape.gradient(total, images), tf.float32)
        return tf.math.l2_normalize(gradients, axis=[1, 2, 3]), values

    return step


def backtracking_step(losses_of: Losses) -> Callable[..., tuple[AscentState, tf.Tensor]]:
    """``(state, filter_indices) -> (state, values)``, uncompiled: one step of
    ``reference.ReferenceBatch`` (the book's ``image += lr * normalize(grad)``, with a step
    that lowered an image's value taken back and retried from its best image at half the
    length). ``values`` are those of ``state.images``."""
    gradient = gradient_step(losses_of)

    def step(state: AscentState, filter_indices: tf.Tensor) -> tuple[AscentState, tf.Tensor]:
        direction, values = gradient(state.images, filter_indices)
        better = values >= state.best_values
        keep = better[:, tf.newaxis, tf.newaxis, tf.newaxis]
        best = tf.where(keep, state.images, state.best)
        direction = tf.where(keep, direction, state.direction)
        rates = tf.where(better, state.rates, state.rates / 2)
        images = best + rates[:, tf.newaxis, tf.newaxis, tf.newaxis] * direction
        return AscentState(images, best, direction, tf.where(better, values, state.best_values),
                           rates), values

    return step


class FusedAscent:
    """The compiled ``step(state, filter_indices) -> (state, values)`` and
    ``evaluate(images, filter_indices) -> values`` of one target at one image size.

    With ``xla`` the step is compiled by XLA; if XLA cannot compile it (an op it lacks, a
    custom layer), the first call says so in the log and the plain graph runs instead,
    with the same answers. ``uses_xla`` tells which one runs.
    """

    def __init__(self, losses_of: Losses, height: int, width: int, channels: int, xla: bool) -> None:
        image = tf.TensorSpec((None, height, width, channels), tf.float32)
        vector = tf.TensorSpec((None,), tf.float32)
        indices = tf.TensorSpec((None,), tf.int32)
        state = AscentState(image, image, image, vector, vector)
        step = backtracking_step(losses_of)
        self._plain = tf.function(step, input_signature=[state, indices], autograph=False)
        self._xla = (tf.function(step, input_signature=[state, indices], autograph=False,
                                 jit_compile=True) if xla else None)
        self.uses_xla = xla

        def evaluate(images: tf.Tensor, filter_indices: tf.Tensor) -> tf.Tensor:
            return tf.cast(losses_of(images, filter_indices), tf.float32)

        self.evaluate = tf.function(evaluate, input_signature=[image, indices], autograph=False)

    def trace(self) -> None:
        """Trace the step and ``evaluate`` now (the graph takes the settings active now)."""
        for function in (self._xla, self._plain, self.evaluate):
            if function is not None:
                function.get_concrete_function()

    def step(self, state: AscentState, filter_indices: tf.Tensor) -> tuple[AscentState, tf.Tensor]:
        """One step (see ``backtracking_step``), compiled."""
        if self._xla is not None:
            try:
                return self._xla(state, filter_indices)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
                    tf.errors.InternalError) as error:
                log.info("XLA cannot compile this ascent step; running it without XLA: %s",
                         str(error).splitlines()[0] if str(error) else type(error).__name__)
                self._xla, self.uses_xla = None, False
        return self._plain(state, filter_indices)


def model_family(model: Any) -> str:
    """``depthwise`` when a depthwise or separable convolution runs in ``model`` (Xception,
    MobileNet, EfficientNet), else ``plain`` (VGG, ResNet, U-Nets)."""
    depthwise = ("DepthwiseConv2D", "SeparableConv2D")
    return "depthwise" if any(type(layer).__name__ in depthwise or
                              (hasattr(layer, "layers") and model_family(layer) == "depthwise")
                              for layer in model.layers) else "plain"


def xla_wins(model: Any) -> bool:
    """Whether ascent steps through ``model`` are compiled with XLA: where ``XLA_WINS``
    says it was measured faster for the model's family."""
    return XLA_WINS[model_family(model)]
