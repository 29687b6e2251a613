"""Figures of activations: a layer's channel grid, one channel large, every layer at a glance."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convviz_gui.engine.activations import GRID_COLUMNS, LayerActivations
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.figures.layout import BLANK_COLOR, label_tiles, mosaic_size
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import shorten_path
from convviz_gui.ops.activations import ActivationsResult, OverviewResult
from convviz_gui.ops.export import FigureStyle

OVERVIEW_ROW_INCHES = 0.6  # every layer gets the same row height, whatever its map size
OVERVIEW_NAME_INCHES = 2.6  # room for the layer names left of the rows
OVERVIEW_MAX_UNITS = 24  # widest row, in row heights (wider rows are scaled down to fit)
WIDE_ROOM, TALL_ROOM = 1.5, 0.7  # width / height of the view a one-row page is fitted to


def page_start(channel_count: int, style: FigureStyle) -> int:
    """First channel shown on the style's page (the last page when it is past the end)."""
    pages = max(1, -(-channel_count // style.page_size))
    return min(max(0, style.page), pages - 1) * style.page_size


def grid_columns(count: int, tile_shape: tuple[int, int], style: FigureStyle) -> int:
    """Channels per row for a page of ``count`` tiles of ``tile_shape`` (height, width): the
    style's ``columns``, except that a page that would be one row (a layer with few
    channels) takes the columns that draw its tiles largest in a view of the usual shape
    (8 square channels: 4x2, not a strip of 8 under a lot of white)."""
    if count > style.columns:
        return max(1, style.columns)
    height, width = tile_shape
    room = TALL_ROOM if style.tall else WIDE_ROOM

    def fit(columns: int) -> tuple[float, int]:
        """The tile's scale in the room, then (on a tie) the fewer empty places."""
        rows = -(-count // columns)
        scale = min(room / (columns * (width + 1)), 1.0 / (rows * (height + 1)))
        return round(scale, 9), count - rows * columns

    return max(range(1, max(1, count) + 1), key=fit)


def activation_grid_figure(
    acts: LayerActivations, cmap: str = "viridis", columns: int = GRID_COLUMNS,
    start: int = 0, count: int | None = 256,
) -> Figure:
    """Channel grid of one layer: each tile labelled with its channel index, blank channels
    flat and outlined in red; sized from the mosaic so small layers stay readable."""
    stop = acts.channel_count if count is None else min(acts.channel_count, start + count)
    mosaic = acts.grid(columns, start, stop - start)
    height, width = acts.values.shape[:2]
    columns = max(1, min(columns, stop - start))
    size, tile_inches = mosaic_size(mosaic.shape, (height, width))
    figure = Figure(figsize=size, layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    colormap = colormaps[cmap].with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=colormap, vmin=0, vmax=255,
              interpolation="nearest", aspect="equal")
    blanks = [i for i in acts.blank_channels() if start <= i < stop]
    for index in blanks:
        row, col = divmod(index - start, columns)
        ax.add_patch(Rectangle((col * (width + 1) - 0.5, row * (height + 1) - 0.5), width, height,
                               fill=False, edgecolor=BLANK_COLOR, linewidth=1.2))
    label_tiles(ax, [str(i) for i in range(start, stop)], columns, (width + 1, height + 1),
                tile_inches * figure.dpi)
    shown = f"channels {start}-{stop - 1} of {acts.channel_count}"
    blank_note = f", {len(blanks)} blank (flat, outlined)" if blanks else ""
    ax.set_title(f"{shorten_path(acts.path)}  ({height}x{width}, {shown}{blank_note})", fontsize=10,
                 wrap=True)
    return figure


def channel_figure(acts: LayerActivations, index: int, cmap: str = "viridis") -> Figure:
    """One channel large, with its statistics; a blank channel is drawn flat on the layer's
    colour scale with the reason in the title."""
    stats = acts.stats()[index]
    figure = Figure(figsize=(6, 6.4), layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    blank = ""
    if stats.blank:
        low, high = float(acts.values.min()), float(acts.values.max())
        low, high = (low, high) if high > low else (low - 1.0, high + 1.0)
        image = ax.imshow(np.full(acts.values.shape[:2], stats.mean), cmap=cmap, vmin=low,
                          vmax=high, interpolation="nearest")
        blank = f"  BLANK ({stats.blank_reason})"
    else:
        image = ax.imshow(acts.values[..., index], cmap=cmap, interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label="activation")
    ax.set_title(
        f"{shorten_path(acts.path)} channel {index}{blank}\nmean {stats.mean:.4g}  std {stats.std:.4g}  "
        f"min {stats.min:.4g}  max {stats.max:.4g}", fontsize=10, wrap=True)
    return figure


def overview_figure(title: str, tiles: list[tuple[str, np.ndarray]], cmap: str = "viridis"
                    ) -> Figure:
    """All layers at a glance: one fixed-height row of tiles per layer, its name on the left.

    The figure grows with the number of layers (about 0.6 inch per row), so every row
    stays readable however deep the model is.
    """
    if not tiles:
        raise ConvVizError("This model has no layers with spatial output.")
    # One data unit is one row height in both directions, so tiles keep their aspect.
    columns = min(OVERVIEW_MAX_UNITS, max(0.85 * grid.shape[1] / grid.shape[0] for _, grid in tiles))
    header, margin = 0.6, 0.1
    width = OVERVIEW_NAME_INCHES + columns * OVERVIEW_ROW_INCHES + 2 * margin
    height = len(tiles) * OVERVIEW_ROW_INCHES + header + margin
    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((OVERVIEW_NAME_INCHES / width, margin / height,
                          columns * OVERVIEW_ROW_INCHES / width, (height - header - margin) / height))
    ax.set_axis_off()
    colormap = colormaps[cmap].with_extremes(bad="white")
    for row, (name, grid) in enumerate(tiles):
        scale = min(0.85 / grid.shape[0], columns / grid.shape[1])  # row height, or the width
        top = row + (1 - grid.shape[0] * scale) / 2
        ax.imshow(np.ma.masked_invalid(grid), cmap=colormap, vmin=0, vmax=255,
                  interpolation="nearest",
                  extent=(0, grid.shape[1] * scale, top + grid.shape[0] * scale, top))
        ax.text(-0.15, row + 0.5, name, ha="right", va="center",
                fontsize=8, clip_on=False)
    ax.set(xlim=(0, columns), ylim=(len(tiles), 0), aspect="equal")  # after imshow's autoscale
    figure.suptitle(title, fontsize=11, y=1 - 0.25 / height)
    return figure


@draws(ActivationsResult, cmap="viridis")
def activations_view(result: ActivationsResult, style: FigureStyle, cmap: str) -> Figure:
    """The style's page of the layer's channel grid (a page of few channels fitted to the
    view, ``grid_columns``)."""
    acts = result.activations
    start = page_start(acts.channel_count, style)
    shown = min(acts.channel_count - start, style.page_size)
    columns = grid_columns(shown, acts.values.shape[:2], style)
    return activation_grid_figure(acts, cmap, columns, start, style.page_size)


@draws(OverviewResult, cmap="viridis")
def overview_view(result: OverviewResult, style: FigureStyle, cmap: str) -> Figure:
    """Every layer's first channels, a row each."""
    return overview_figure(result.title, list(result.tiles), cmap)
