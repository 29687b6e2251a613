"""Images as scaled Fourier coefficients with decorrelated colour (Olah et al. 2017, §
"Preconditioning and parameterization"; Lucid's ``param.spatial.fft_image`` and
``param.color.to_valid_rgb``).

The coefficients are scaled by 1/f, so that a gradient step changes every frequency
band about equally instead of mostly the highest ones; RGB is optimized in a
decorrelated colour space; a sigmoid keeps every pixel inside [0, 255].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

# Square root of the colour correlation of ImageNet pixels (Olah et al. 2017; the values
# Lucid uses): column j is how decorrelated channel j shows in R, G and B.
COLOR_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02],
                                   [0.27, 0.00, -0.05],
                                   [0.27, -0.09, 0.03]], np.float32)
START_SD = 0.01  # standard deviation of the random start coefficients (Lucid)
LOGIT_SCALE = 0.25  # the image Lucid feeds to the sigmoid is the inverse FFT divided by 4


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """1 / f^decay_power for each coefficient of a real 2-D FFT of a (height, width) image
    (f floored at one cycle per image), times sqrt(height * width) so that the inverse FFT
    is unitary and learning rates compare with pixel optimization."""
    frequencies = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :])
    floor = 1.0 / max(height, width)
    return (np.sqrt(height * width) / np.maximum(frequencies, floor) ** decay_power).astype(np.float32)


@dataclass(frozen=True)
class FourierImage:
    """A batch of (height, width, channels) images parameterized by Fourier coefficients.

    The coefficients are a float tensor of shape ``(batch, 2, channels, height,
    width // 2 + 1)``: real and imaginary parts of each channel's spectrum.
    """

    height: int
    width: int
    channels: int
    decorrelate: bool = True
    decay_power: float = 1.0

    def coefficient_shape(self, count: int) -> tuple[int, ...]:
        """Shape of the coefficients of ``count`` images."""
        return count, 2, self.channels, self.height, self.width // 2 + 1

    def start(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Random start coefficients: faint noise around mid grey."""
        return rng.normal(0.0, START_SD, self.coefficient_shape(count)).astype(np.float32)

    def pixels(self, coefficients: tf.Tensor) -> tf.Tensor:
        """(batch, height, width, channels) pixels in (0, 255)."""
        scale = tf.constant(spectrum_scale(self.height, self.width, self.decay_power))
        spectrum = tf.complex(coefficients[:, 0] * scale, coefficients[:, 1] * scale)
        image = tf.signal.irfft2d(spectrum, fft_length=[self.height, self.width])
        image = tf.transpose(image, [0, 2, 3, 1]) * LOGIT_SCALE  # channels last
        if self.decorrelate and self.channels == 3:
            correlation = COLOR_CORRELATION_SQRT / np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0).max()
            image = tf.tensordot(image, tf.constant(correlation.T), axes=1)
        return 255.0 * tf.sigmoid(image)
