"""The one display normalization used for activations and filter patterns."""

from __future__ import annotations

import numpy as np


def display_uint8(values: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Map ``values`` to uint8 as ``(x - mean) / std * 64 + 128`` (reference normalization).

    Statistics are taken over ``axis`` (all axes when None). Where the std is zero
    (a constant or all-zero channel) the result is left at zero, never NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    safe_std = np.where(std > 0, std, 1.0)
    scaled = (x - mean) / safe_std * 64.0 + 128.0
    scaled = np.where(std > 0, scaled, 0.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def unit_range(values: np.ndarray) -> np.ndarray:
    """Scale non-negative values to [0, 1] by their max; all-zero stays zero (no NaN)."""
    x = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(x.max()) if x.size else 0.0
    return x / peak if peak > 0 else np.zeros_like(x)


def minmax_unit(values: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Scale to [0, 1] by the min and max over ``axis`` (all axes when None); where they
    are equal the result is 0.5 (mid grey), never NaN."""
    x = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - low
    scaled = (x - low) / np.where(span > 0, span, 1.0)
    return np.where(span > 0, scaled, 0.5).astype(np.float32)
