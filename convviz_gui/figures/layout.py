"""Sizing and labelling of tiled figures (activation grids, filter grids, kernel images)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

BLANK_COLOR = "#e8463a"  # outlines and notes on tiles with nothing to show
MAX_TILE_LABELS = 40  # index labels drawn on a grid at most (every Nth row and column beyond)
TILE_LABEL_MIN_PX = 24  # tiles at least this large (at the figure's own size) get their index
MIN_TILE_INCHES = 0.6  # a tile may always grow to this size (a 4x4 map too)
MAX_MAGNIFICATION = 1.6  # otherwise tiles grow to at most 1.6 screen pixels per pixel


def mosaic_size(
    mosaic_shape: tuple[int, ...], tile_shape: tuple[int, ...], max_tile: float = 1.2,
    widths: tuple[float, float] = (4.0, 10.0), max_height: float = 30.0, title: float = 0.8,
) -> tuple[tuple[float, float], float]:
    """Figure size for a tiled image, and the side of one tile on it in inches.

    The mosaic fills the widest width allowed, except that a tile is never drawn larger
    than ``MAX_MAGNIFICATION`` times its pixels (but at least ``MIN_TILE_INCHES``) nor than
    ``max_tile`` inches: a small layer stays a compact block of readable tiles, not a
    10-inch strip. The figure never exceeds ``max_height``.
    """
    rows_px, cols_px = mosaic_shape[:2]
    side = max(tile_shape)
    tile_cap = min(max_tile, max(MIN_TILE_INCHES, MAX_MAGNIFICATION * side / rcParams["figure.dpi"]))
    inches_per_px = min(widths[1] / cols_px, tile_cap / side, (max_height - title) / rows_px)
    size = (max(widths[0], cols_px * inches_per_px), max(1.6, rows_px * inches_per_px + title))
    return size, min(tile_shape) * inches_per_px


def label_tiles(ax: Axes, labels: Sequence[str], columns: int, pitch: tuple[float, float],
                tile_px: float) -> None:
    """Small index text in the top-left corner of each tile; every Nth tile (along rows and
    columns) when tiles are smaller than ``TILE_LABEL_MIN_PX`` on screen, or when there are
    more than ``MAX_TILE_LABELS`` tiles (each label costs ~2 ms to draw; the window also
    names the tile under the mouse).

    Tile ``i`` sits at row ``i // columns``, column ``i % columns``, ``pitch`` (x, y) data
    units apart, its first pixel centred on (0, 0) for the first tile.
    """
    step = max(1, math.ceil(TILE_LABEL_MIN_PX / max(tile_px, 1e-6)),
               math.ceil(math.sqrt(len(labels) / MAX_TILE_LABELS)))
    style: dict[str, Any] = {
        "fontproperties": FontProperties(size=6), "color": "white", "ha": "left", "va": "top",
        "clip_on": True, "in_layout": False,  # the layout never waits for hundreds of labels
        "bbox": {"boxstyle": "square,pad=0.15", "facecolor": "black", "alpha": 0.55, "linewidth": 0}}
    for slot, label in enumerate(labels):
        row, col = divmod(slot, columns)
        if row % step == 0 and col % step == 0:
            ax.text(col * pitch[0] - 0.5, row * pitch[1] - 0.5, label, **style)


def image_axes(figure: Figure, rows: int, cols: int) -> np.ndarray:
    """A ``rows`` x ``cols`` array of axes without ticks or frames, for images."""
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return axes
