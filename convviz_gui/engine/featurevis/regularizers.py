"""Optional penalties on the image (Olah et al. 2017, § "Regularization"; Lucid's
``objectives.total_variation``, ``L2`` and ``blur_input_each_step``).

Each is a per-image mean over pixels scaled to [0, 1], so a weight does not depend on the
image size.
"""

from __future__ import annotations

import tensorflow as tf

from convviz_gui.engine.featurevis.settings import ClearSettings


def total_variation(unit: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels: penalizes high frequencies."""
    return tf.image.total_variation(unit) / float(unit.shape[1] * unit.shape[2] * unit.shape[3])


def l2(unit: tf.Tensor) -> tf.Tensor:
    """Mean squared distance from mid grey: penalizes saturated pixels."""
    return tf.reduce_mean(tf.square(unit - 0.5), axis=[1, 2, 3])


def blur(unit: tf.Tensor) -> tf.Tensor:
    """Half the mean squared distance to a 3x3-blurred copy of the image (the copy held
    fixed): a step on it moves the image towards its blurred self."""
    blurred = tf.stop_gradient(tf.nn.avg_pool2d(unit, 3, 1, "SAME"))
    return 0.5 * tf.reduce_mean(tf.square(unit - blurred), axis=[1, 2, 3])


def penalty(pixels: tf.Tensor, settings: ClearSettings) -> tf.Tensor | None:
    """The weighted sum of the chosen penalties per image (pixels in [0, 255]); None when
    every weight is zero."""
    unit = pixels / 255.0
    terms = [weight * term(unit) for weight, term in ((settings.total_variation, total_variation),
                                                       (settings.l2, l2), (settings.blur, blur))
             if weight]
    return tf.add_n(terms) if terms else None
