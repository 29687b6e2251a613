"""Colour maps applied to arrays: heatmaps, overlays and activation tiles as pixels."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib import colormaps


@lru_cache(maxsize=16)
def _colormap_table(cmap: str) -> np.ndarray:
    """The colormap's entries as uint8 RGB, (N, 3)."""
    colormap = colormaps[cmap]
    return (colormap(np.arange(colormap.N))[:, :3] * 255).astype(np.uint8)


def colorize(values: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Map values in [0, 1] to uint8 RGB with a matplotlib colormap: the entry matplotlib
    picks for each value, looked up in a table (fast enough for every frame of a video)."""
    table = _colormap_table(cmap)
    levels = np.nan_to_num(np.clip(values, 0.0, 1.0)) * len(table)
    return table[np.minimum(levels.astype(np.int32), len(table) - 1)]


def colorize_rgba(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """``colorize`` with an opaque alpha channel, NaN (the gaps of a tile grid) transparent:
    uint8 RGBA, as matplotlib's colormap with ``bytes=True`` and its default "bad" colour."""
    rgba = np.empty((*np.shape(values), 4), np.uint8)
    rgba[..., :3] = colorize(values, cmap)
    rgba[..., 3] = 255
    rgba[np.isnan(values)] = 0
    return rgba


def overlay(image_rgb: np.ndarray, heatmap_up: np.ndarray, alpha: float = 0.4,
            cmap: str = "jet") -> np.ndarray:
    """Reference overlay ``alpha * colormap(heatmap) + image`` rescaled to uint8.

    ``heatmap_up`` must already have the image's size. An all-zero heatmap leaves the
    image unchanged.
    """
    if not np.any(heatmap_up > 0):
        return image_rgb.copy()
    blend = image_rgb.astype(np.float32) + alpha * colorize(heatmap_up, cmap).astype(np.float32)
    blend -= blend.min()
    peak = blend.max()
    return (blend / peak * 255.0).astype(np.uint8) if peak > 0 else image_rgb.copy()


SIGNED_CMAP = "bwr"  # signed maps: blue against the target, white zero, red for it
GREY_FLOOR = 0.5  # the grey image under a signed overlay spans 0.5-1: red and blue read on it


def signed_overlay(image_rgb: np.ndarray, values_up: np.ndarray, alpha: float = 0.4,
                   cmap: str = SIGNED_CMAP) -> np.ndarray:
    """A signed map over a light grey copy of the image, as uint8 RGB.

    ``values_up`` (the image's size) is the map divided by its colour limit: -1 (against)
    to 1 (for), beyond it clipped. Each pixel takes the colormap's colour with an opacity
    proportional to its strength, ``min(1, 2 * alpha * |value|)``: zero leaves the grey
    image, the ends of the scale cover it fully from ``alpha`` 0.5 (0.8 at 0.4).
    """
    values = np.clip(np.nan_to_num(values_up), -1.0, 1.0)
    luminance = image_rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    grey = (GREY_FLOOR + (1.0 - GREY_FLOOR) * luminance)[..., None]
    colour = colorize(values * 0.5 + 0.5, cmap).astype(np.float32) / 255.0
    weight = np.minimum(1.0, 2.0 * alpha * np.abs(values))[..., None]
    return np.round((grey * (1.0 - weight) + colour * weight) * 255.0).astype(np.uint8)
