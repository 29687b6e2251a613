"""Transformation robustness (Olah et al. 2017, § "Transformation robustness"; Lucid's
``transform.standard_transforms``): every step the model sees the image padded, jittered,
scaled and rotated at random, so that only features that survive small moves can grow.

Lucid chains pad(12), jitter(8), scale 0.9-1.1, rotate -10..10 degrees and jitter(4) on
images of about 128 px, each step changing the image size. Here the model's canvas keeps
the optimized size (the layers up to the target are built for it), so the chain is one
bilinear affine resampling per image: the image shrunk by the padding inside a grey frame,
shifted by both jitters, scaled and rotated about the centre. Pixel amounts are Lucid's at
128 px, scaled to the image size.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

LUCID_SIZE = 128
PAD = 12.0
JITTERS = (8.0, 4.0)
SCALE = 0.1  # scales are drawn from [1 - SCALE, 1 + SCALE]
DEGREES = 10.0  # angles from [-DEGREES, DEGREES]
GREY = 127.5  # what the padding shows (Lucid pads with 0.5 in [0, 1] pixels)


def random_view(pixels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """``pixels`` (batch, h, w, c) in [0, 255], each image transformed at random.

    ``seed`` is a (2,) int32 tensor: the same seed gives the same transformations.
    """
    batch, height, width = tf.shape(pixels)[0], pixels.shape[1], pixels.shape[2]
    unit = min(height, width) / LUCID_SIZE  # Lucid pixels -> this image's pixels
    draws = tf.random.stateless_uniform((batch, 6), seed)
    jitter = sum(size * unit * draws[:, i : i + 2] for i, size in zip((0, 2), JITTERS))
    shift = jitter - sum(JITTERS) * unit / 2  # (dx, dy), centred on no shift
    zoom = (1.0 + (2.0 * draws[:, 4] - 1.0) * SCALE) * min(height, width) / (
        min(height, width) + 2 * PAD * unit)
    angle = (2.0 * draws[:, 5] - 1.0) * math.radians(DEGREES)
    # Output pixel o shows input pixel c + R(-angle) (o - c - shift) / zoom.
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    from_x, from_y = centre_x + shift[:, 0], centre_y + shift[:, 1]
    zero = tf.zeros_like(cos)
    transform = tf.stack([cos, sin, centre_x - cos * from_x - sin * from_y,
                          -sin, cos, centre_y + sin * from_x - cos * from_y, zero, zero], axis=1)
    return keras.ops.image.affine_transform(pixels, transform, interpolation="bilinear",
                                            fill_mode="constant", fill_value=GREY)
