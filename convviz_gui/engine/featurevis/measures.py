"""How readable a pattern is, in numbers (NumPy only)."""

from __future__ import annotations

import numpy as np

HIGH_FREQUENCY = 0.25  # cycles per pixel: half the Nyquist frequency


def high_frequency_share(pattern: np.ndarray, cutoff: float = HIGH_FREQUENCY) -> float:
    """Share of a pattern's non-DC spectral power above ``cutoff`` cycles per pixel (radial
    frequency), summed over its channels: about 0.8 for white noise, near 0 for smooth
    images. (h, w) or (h, w, c)."""
    image = np.asarray(pattern, np.float64)
    image = image[..., None] if image.ndim == 2 else image
    image = image - image.mean(axis=(0, 1))  # no DC power
    power = (np.abs(np.fft.fft2(image, axes=(0, 1))) ** 2).sum(axis=-1)
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(image.shape[0]), np.fft.fftfreq(image.shape[1]),
                                   indexing="ij"))
    total = power.sum()
    return float(power[radius > cutoff].sum() / total) if total > 0 else 0.0
