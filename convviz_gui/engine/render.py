"""Figures for every view, built on matplotlib ``Figure`` objects (no pyplot state).

The GUI embeds these figures and the CLI saves them, so exports are identical.
"""

from __future__ import annotations

import math
import os
import tempfile
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps, patheffects, rcParams
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from PIL import Image

from convviz_gui.engine.activations import GRID_COLUMNS, LayerActivations
from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.cam.base import resize_map
from convviz_gui.engine.cam.metrics import Faithfulness
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.filters import FilterResult, stitch_patterns
from convviz_gui.engine.kernels import kernel_tiles, weight_stats

EXPORT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
BLANK_COLOR = "#e8463a"
NAME_LIMIT = 60  # characters of a layer path kept in a title (the middle gives way)
LABEL_LIMIT = 40  # characters of a class label kept in a title
MAX_TILE_LABELS = 40  # index labels drawn on a grid at most (every Nth row and column beyond)
TILE_LABEL_MIN_PX = 24  # tiles at least this large (at the figure's own size) get their index
KERNEL_IMAGES_MAX = 256  # first-layer kernels drawn as images
MIN_TILE_INCHES = 0.6  # a tile may always grow to this size (a 4x4 map too)
MAX_MAGNIFICATION = 1.6  # otherwise tiles grow to at most 1.6 screen pixels per pixel


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


def shorten(text: str, limit: int = NAME_LIMIT) -> str:
    """``text``, its middle replaced by "…" when it is longer than ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head):]}"


def shorten_path(path: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """A layer path for a title: the layer's own name kept whole where it fits, the model
    names before it cut short (``mobilenetv2_1.00…/block_16_project``)."""
    text = "/".join(path)
    if len(text) <= limit:
        return text
    name = shorten(path[-1], limit)
    room = limit - len(name) - 2
    return f"{text[:room]}…/{name}" if room > 0 else name


def _mosaic_size(
    mosaic_shape: tuple[int, ...], tile_shape: tuple[int, int], max_tile: float = 1.2,
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


def _label_tiles(ax: Axes, labels: Sequence[str], columns: int, pitch: tuple[float, float],
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
    style = {"fontproperties": FontProperties(size=6), "color": "white", "ha": "left", "va": "top",
             "clip_on": True, "in_layout": False,  # the layout never waits for hundreds of labels
             "bbox": {"boxstyle": "square,pad=0.15", "facecolor": "black", "alpha": 0.55,
                      "linewidth": 0}}
    for slot, label in enumerate(labels):
        row, col = divmod(slot, columns)
        if row % step == 0 and col % step == 0:
            ax.text(col * pitch[0] - 0.5, row * pitch[1] - 0.5, label, **style)


def _image_axes(figure: Figure, rows: int, cols: int):
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return axes


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
    size, tile_inches = _mosaic_size(mosaic.shape, (height, width))
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
    _label_tiles(ax, [str(i) for i in range(start, stop)], columns, (width + 1, height + 1),
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


OVERVIEW_ROW_INCHES = 0.6  # every layer gets the same row height, whatever its map size
OVERVIEW_NAME_INCHES = 2.6  # room for the layer names left of the rows
OVERVIEW_MAX_UNITS = 24  # widest row, in row heights (wider rows are scaled down to fit)


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


def filter_grid_figure(result: FilterResult, columns: int = 8, margin: int = 5) -> Figure:
    """Reference filter grid (8 columns, 5 px margins), each pattern labelled with its filter
    index, titled with layer and timing."""
    indices = sorted(result.patterns)
    patterns = [result.patterns[i] for i in indices]
    grid = stitch_patterns(patterns, columns, margin)
    height, width = patterns[0].shape[:2]
    size, tile_inches = _mosaic_size(grid.shape, (height, width), max_tile=2.0, widths=(4.0, 9.0),
                                     title=0.6)
    figure = Figure(figsize=size, layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    columns = max(1, min(columns, len(patterns)))
    _label_tiles(ax, [str(i) for i in indices], columns, (width + margin, height + margin),
                 tile_inches * figure.dpi)
    _mark_dead_tiles(ax, result, indices, columns, (width, height), margin)
    state = " (cancelled: partial)" if result.cancelled else ""
    dead = f"; {len(result.dead)} dead (never moved, outlined)" if result.dead else ""
    ax.set_title(f"{shorten_path(result.layer)}  filters {indices[0]}-{indices[-1]} "
                 f"({len(indices)}){state}\noptimized: {result.optimized}{dead}", fontsize=10,
                 wrap=True)
    return figure


def _mark_dead_tiles(ax: Axes, result: FilterResult, indices: list[int], columns: int,
                     tile: tuple[int, int], margin: int) -> None:
    """Outline each dead filter's tile and write why on it: the pattern is its start noise."""
    width, height = tile
    for slot, index in enumerate(indices):
        label = result.dead_label(index)
        if not label:
            continue
        row, col = divmod(slot, columns)
        left, top = col * (width + margin) - 0.5, row * (height + margin) - 0.5
        ax.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor=BLANK_COLOR,
                               linewidth=1.2))
        ax.text(left + width / 2, top + height / 2, label, ha="center", va="center", wrap=True,
                fontsize=7, color="white", clip_on=True, in_layout=False,
                bbox={"boxstyle": "round,pad=0.25", "facecolor": BLANK_COLOR, "alpha": 0.85,
                      "linewidth": 0})


def gradcam_figure(
    image_rgb: np.ndarray, cam: CamResult, alpha: float = 0.4, cmap: str = "jet",
    predictions: list[Prediction] | None = None, mask: np.ndarray | None = None,
    tall: bool = False, metrics: Faithfulness | None = None, normalize: bool = True,
    scale: float | None = None,
) -> Figure:
    """Image, raw heatmap (with its colour scale) and overlay (peak marked) at the resolution
    of ``image_rgb``, plus a mask and the faithfulness curves if given; in a row, or two
    columns for a tall, narrow canvas.

    ``normalize`` False draws the map in units of the explained score (its positive part),
    on a colour scale from 0 to ``scale`` (default: the map's own maximum): figures given the
    same ``scale`` compare honestly. Pass ``LoadedImage.rgb``, the copy reduced to at most
    ``DISPLAY_MAX_SIDE``: nothing here is allocated at a large file's original resolution.
    """
    height, width = image_rgb.shape[:2]
    values, vmax, unit = _cam_values(cam, normalize, scale)
    up = np.clip(resize_map(values / vmax if vmax > 0 else values * 0.0, width, height), 0, 1)
    panels = 3 + (mask is not None) + (metrics is not None)
    if tall:
        rows = -(-panels // 2)
        figure = Figure(figsize=(8, 4.3 * rows), layout="constrained")
        axes = list(_image_axes(figure, rows, 2).flat)
        for extra in axes[panels:]:
            extra.remove()  # the empty last cell of the grid
    else:
        figure = Figure(figsize=(4 * panels, 4.6), layout="constrained")
        axes = list(_image_axes(figure, 1, panels)[0])
    axes[0].imshow(image_rgb)
    axes[0].set_title("image", fontsize=10)
    heat = axes[1].imshow(values, cmap=cmap, vmin=0, vmax=vmax or 1, interpolation="nearest")
    what = "heatmap" if cam.resolution == "layer" else "attribution (input pixels)"
    axes[1].set_title(f"{what} {values.shape[0]}x{values.shape[1]}", fontsize=10)
    # An inset keeps the colorbar out of figure.axes: one axes per panel, as before.
    colorbar = figure.colorbar(heat, cax=axes[1].inset_axes((1.03, 0.0, 0.05, 1.0)))
    colorbar.set_label(unit, fontsize=7, labelpad=1)
    colorbar.ax.tick_params(labelsize=6)
    axes[2].imshow(overlay(image_rgb, up, alpha, cmap))
    if np.any(up > 0):
        x, y = cam.peak_xy(width, height)
        mark_peak(axes[2], x, y)
        # A short caption: a wide legend would squeeze the panels in a narrow window.
        axes[2].text(0.5, -0.03, "+ peak (most important)", transform=axes[2].transAxes,
                     ha="center", va="top", fontsize=7)
    axes[2].set_title(f"overlay (alpha {alpha:g})", fontsize=10)
    if cam.zero_map:  # a flat panel alone would look like a drawing that failed
        axes[1].text(0.5, 0.5, textwrap.fill(cam.zero_map, 30), transform=axes[1].transAxes,
                     ha="center", va="center", fontsize=8, in_layout=False,
                     bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "alpha": 0.9,
                           "edgecolor": BLANK_COLOR})
    if mask is not None:
        axes[3].imshow(mask, cmap="tab10", interpolation="nearest",
                       vmin=0, vmax=max(9, int(mask.max())))
        axes[3].set_title("mask", fontsize=10)  # the predicted classes (p > 0.5 for one channel)
    if metrics is not None:
        metrics_axes(axes[panels - 1], metrics)
    top = ""
    if predictions:
        top = "\ntop: " + ", ".join(f"{shorten(p.label, LABEL_LIMIT)} {p.score:.3f}"
                                     for p in predictions[:3])
    zero = "  (the map is zero)" if cam.zero_map else ""
    figure.suptitle(f"{cam_title(cam)}{zero}{top}", fontsize=10, wrap=True)
    return figure


def mark_peak(ax: Axes, x: float, y: float, size: float = 14) -> None:
    """A white "+" outlined in black at the heatmap's peak; not clipped, so that a peak on
    the image's edge is still seen whole."""
    ax.plot([x], [y], linestyle="none", marker="+", color="white", markersize=size, mew=2,
            path_effects=[patheffects.withStroke(linewidth=size / 3.5, foreground="black")],
            clip_on=False)


def cam_title(cam: CamResult) -> str:
    """"Grad-CAM for 'cat' (0.912; logit 3.1) at block14_sepconv2_act"."""
    target = cam.target or f"'{cam.label}'"
    explained = ""
    if cam.score_kind == "logit" and cam.explained is not None:
        explained = f"; logit {cam.explained:.3g}"
    where = f"at {shorten_path(cam.layer)}" if cam.layer else "at the input"
    return f"{cam.method} for {shorten(target, LABEL_LIMIT)} ({cam.score:.3f}{explained}) {where}"


def _cam_values(cam: CamResult, normalize: bool, scale: float | None
                ) -> tuple[np.ndarray, float, str]:
    """(map to draw, top of its colour scale, colorbar label)."""
    if normalize or cam.raw is None:
        return cam.heatmap, 1.0, "importance"
    values = np.maximum(np.nan_to_num(cam.raw), 0.0)
    top = float(scale) if scale else float(values.max())
    return values, top, f"importance ({cam.score_kind} units)"


def metrics_axes(ax: Axes, metrics: Faithfulness, compact: bool = False) -> None:
    """Deletion and insertion curves with their AUCs (Petsiuk 2018) and Average Drop."""
    ax.set_axis_on()
    ax.plot(metrics.fractions, metrics.deletion, color="#c0392b", marker=".",
            label=f"deletion AUC {metrics.deletion_auc:.3f} (lower better)")
    ax.plot(metrics.fractions, metrics.insertion, color="#2471a3", marker=".",
            label=f"insertion AUC {metrics.insertion_auc:.3f} (higher better)")
    ax.fill_between(metrics.fractions, metrics.deletion, color="#c0392b", alpha=0.12)
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6 if compact else 7, loc="upper right" if compact else "best")
    if not compact:
        ax.set_xlabel("share of pixels removed / inserted, most important first", fontsize=8)
        ax.set_ylabel("class probability", fontsize=8)
        ax.set_title(f"faithfulness: average drop {metrics.average_drop:.1%}, increase "
                     f"{'yes' if metrics.average_increase else 'no'}", fontsize=10)


COMPARE_IMAGE_SIDE = 320  # the image is reduced to this long side in every grid cell


def _thumbnail(image_rgb: np.ndarray, side: int = COMPARE_IMAGE_SIDE) -> np.ndarray:
    thumbnail = Image.fromarray(image_rgb)
    thumbnail.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(thumbnail)


def _positive_map(cam: CamResult) -> np.ndarray:
    """The map in the explained score's units (its positive part), or the 0-1 heatmap."""
    return np.maximum(np.nan_to_num(cam.raw if cam.raw is not None else cam.heatmap), 0.0)


def _overlay_cell(ax: Axes, image: np.ndarray, value: np.ndarray, top: float, alpha: float,
                  cmap: str, metrics: Faithfulness | None, peak: CamResult | None = None) -> None:
    """One overlay of a grid, on the colour scale 0-``top``, its metrics under it and, when
    ``peak`` is given, its peak marked; a map that is zero everywhere says so."""
    height, width = image.shape[:2]
    up = np.clip(resize_map(value / top, width, height), 0.0, 1.0)
    ax.imshow(overlay(image, up, alpha, cmap))
    ax.set_xticks([])
    ax.set_yticks([])
    if not np.any(value > 0):
        ax.text(0.5, 0.5, "the map is zero", transform=ax.transAxes, ha="center", va="center",
                fontsize=7, in_layout=False, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white",
                                                   "alpha": 0.85, "edgecolor": BLANK_COLOR})
    if peak is not None and np.any(up > 0):
        x, y = peak.peak_xy(width, height)
        mark_peak(ax, x, y, size=11)
    if metrics is not None:
        ax.set_xlabel(f"del {metrics.deletion_auc:.2f} ↓  ins {metrics.insertion_auc:.2f} ↑  "
                      f"drop {metrics.average_drop:.0%}", fontsize=7)


def _scale_bar(figure: Figure, ax: Axes, cmap: str, top: float, label: str) -> None:
    bar = figure.colorbar(ScalarMappable(Normalize(0.0, top), cmap),
                          cax=ax.inset_axes((1.03, 0.0, 0.05, 1.0)))
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=6)


def compare_figure(
    image_rgb: np.ndarray, rows: Sequence[str], columns: Sequence[str],
    cells: Sequence[Sequence[tuple[CamResult, Faithfulness | None]]], alpha: float = 0.5,
    cmap: str = "jet", normalize: bool = True, title: str = "",
) -> Figure:
    """A grid of overlays, one row per method and one column per class or layer; every row on
    one colour scale (its largest value: the cells of a row compare honestly), each cell's
    metrics under it. ``normalize`` labels the scale 0-1, else in the explained score's units."""
    small = _thumbnail(image_rgb)
    figure = Figure(figsize=(1.2 + 2.7 * len(columns), 0.9 + 2.9 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), len(columns), squeeze=False)
    for row, (method, row_cells) in enumerate(zip(rows, cells)):
        values = [_positive_map(cam) for cam, _ in row_cells]
        top = max(float(v.max()) for v in values) or 1.0
        for column, ((_, metrics), value) in enumerate(zip(row_cells, values)):
            ax = axes[row][column]
            _overlay_cell(ax, small, value, top, alpha, cmap, metrics)
            if row == 0:
                ax.set_title(shorten(columns[column], 28), fontsize=9)
            if column == 0:
                ax.set_ylabel(method, fontsize=10)
        score_kind = row_cells[0][0].score_kind
        _scale_bar(figure, axes[row][-1], cmap, 1.0 if normalize else top,
                   "row scale 0-1" if normalize else f"{score_kind} units")
    figure.suptitle(title or "one colour scale per method row", fontsize=10, wrap=True)
    return figure


def images_figure(
    images: Sequence[np.ndarray], names: Sequence[str], cams: Sequence[CamResult],
    metrics: Sequence[Faithfulness | None], alpha: float = 0.5, cmap: str = "jet",
    normalize: bool = True, tall: bool = False, title: str = "",
) -> Figure:
    """Several images side by side, each with its overlay (peak marked) at its own aspect,
    all on ONE colour scale (the largest value of any image: the columns compare honestly);
    columns wrap at 4 (2 for a tall, narrow canvas)."""
    columns = min(len(images), 2 if tall else 4)
    rows = -(-len(images) // columns)
    small = [_thumbnail(image) for image in images]
    aspect = max(image.shape[0] / image.shape[1] for image in small)
    figure = Figure(figsize=(0.8 + 3.2 * columns, 1.0 + (3.2 * min(aspect, 1.6) + 0.7) * rows),
                    layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    values = [_positive_map(cam) for cam in cams]
    top = max(float(v.max()) for v in values) or 1.0
    for index, ax in enumerate(axes.flat):
        if index >= len(images):
            ax.remove()
            continue
        cam = cams[index]
        _overlay_cell(ax, small[index], values[index], top, alpha, cmap, metrics[index], cam)
        ax.set_title(f"{shorten(names[index], 30)}\n{shorten(cam.label, LABEL_LIMIT)} "
                     f"{cam.score:.3f}", fontsize=9)
    _scale_bar(figure, axes[0][-1] if len(images) >= columns else axes[0][len(images) - 1],
               cmap, 1.0 if normalize else top,
               "one scale for all images, 0-1" if normalize else f"{cams[0].score_kind} units")
    figure.suptitle(title, fontsize=10, wrap=True)
    return figure


def kernels_figure(
    layer: Sequence[str], class_name: str, kernels: Sequence[tuple[str, np.ndarray]],
    bias: np.ndarray | None, image_kernel: np.ndarray | None = None, bgr: bool = False,
) -> Figure:
    """A convolution's weights: one histogram per kernel array and the bias; with
    ``image_kernel`` (a first convolution's (h, w, 1 or 3, filters) kernel) every filter is
    also drawn as a small image, each scaled to its own range (``bgr``: shown as RGB)."""
    arrays = [*kernels, *([("bias", bias)] if bias is not None else [])]
    histogram_height = 3.2
    tiles = None
    if image_kernel is not None:
        tiles = kernel_tiles(image_kernel, bgr)[:KERNEL_IMAGES_MAX]
        columns = min(len(tiles), 8 if len(tiles) <= 64 else 16)
        gap = max(tiles.shape[1:3]) / 5
        rows = -(-len(tiles) // columns)
        pitch = (tiles.shape[2] + gap, tiles.shape[1] + gap)
        mosaic = (rows * pitch[1] - gap, columns * pitch[0] - gap)
        (_, images_height), tile_inches = _mosaic_size(mosaic, tiles.shape[1:3], widths=(4.0, 9.0),
                                                        title=0.5)
    figure = Figure(figsize=(max(10.0, 3.2 * len(arrays)),
                             histogram_height + (images_height if tiles is not None else 0.4)),
                    layout="constrained")
    target = figure
    if tiles is not None:
        top, target = figure.subfigures(2, 1, height_ratios=(images_height, histogram_height))
        ax = top.add_subplot()
        _draw_tiles(ax, tiles, columns, pitch)
        _label_tiles(ax, [str(i) for i in range(len(tiles))], columns, pitch,
                     tile_inches * figure.dpi)
        count = image_kernel.shape[-1]
        shown = f"first {len(tiles)} of {count}" if len(tiles) < count else f"{count}"
        order = ", BGR kernels shown as RGB" if bgr else ""
        ax.set_title(f"{shown} kernels {'x'.join(map(str, image_kernel.shape[:3]))}, "
                     f"each scaled to its own range{order}", fontsize=9, wrap=True)
    for ax, (name, values) in zip(target.subplots(1, len(arrays), squeeze=False)[0], arrays):
        _weight_histogram(ax, name, values)
    figure.suptitle(f"{shorten_path(layer)} ({class_name}): weights", fontsize=11, wrap=True)
    return figure


def _draw_tiles(ax: Axes, tiles: np.ndarray, columns: int, pitch: tuple[float, float]) -> None:
    """One framed image per tile (values in [0, 1], grey or RGB), ``pitch`` data units apart."""
    height, width = tiles.shape[1:3]
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        left, top = col * pitch[0] - 0.5, row * pitch[1] - 0.5
        ax.imshow(tile, cmap="gray", vmin=0, vmax=1, interpolation="nearest",
                  extent=(left, left + width, top + height, top))
        ax.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor="0.6",
                               linewidth=0.8))  # white kernel pixels stay apart from the page
    rows = -(-len(tiles) // columns)
    ax.set(xlim=(-0.5, columns * pitch[0] - pitch[0] + width - 0.5),
           ylim=(rows * pitch[1] - pitch[1] + height - 0.5, -0.5), aspect="equal")
    ax.set_axis_off()


def _weight_histogram(ax: Axes, name: str, values: np.ndarray) -> None:
    """Histogram of one weight array with its shape, count, mean and std."""
    stats = weight_stats(values)
    finite = values[np.isfinite(values)].ravel()
    ax.hist(finite, bins=int(np.clip(np.sqrt(finite.size), 10, 100)), color="#3b75af")
    ax.axvline(0.0, color="0.35", linewidth=0.8, linestyle=":")
    shape = "x".join(map(str, values.shape))
    bad = f", {stats['non_finite']} not finite" if stats["non_finite"] else ""
    numbers = (f"mean {stats['mean']:.3g}  std {stats['std']:.3g}" if finite.size
               else "no finite values")
    ax.set_title(f"{name} {shape}: {values.size:,} values{bad}\n{numbers}", fontsize=9)
    ax.set_xlabel("weight value", fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    ax.tick_params(labelsize=7)


def safe_file_stem(text: str) -> str:
    """A file name stem from any text (a layer path, a model name): no separators, no dots
    first, so that a name from a model file can never point outside the chosen folder."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("._")
    return stem[:120] or "figure"


def unique_path(folder: str | Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem_2``, ``stem_3``… when that file already exists."""
    folder = Path(folder)
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}_{number}{suffix}"
        number += 1
    return candidate


class AtomicFile:
    """A file written beside ``path`` and renamed over it by ``commit``, with the user's
    normal mode (0666 & ~umask, not mkstemp's 0600); ``discard``, or leaving a ``with``
    block without ``commit``, deletes it: an error or a cancel never leaves half a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        folder = self.path.parent
        if not folder.is_dir():
            raise ConvVizError(f"The folder {folder} does not exist.")
        try:
            handle, self._temp = tempfile.mkstemp(prefix=".convviz-", suffix=self.path.suffix,
                                                  dir=folder)
        except OSError as exc:
            raise ConvVizError(f"Cannot write into {folder}: {exc.strerror or exc}.") from exc
        self.stream = os.fdopen(handle, "wb")
        self._open = True

    def commit(self) -> Path:
        """Put the written file in place; returns its path."""
        try:
            self.stream.close()
            os.chmod(self._temp, 0o666 & ~_umask())
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.discard()
            raise ConvVizError(f"Cannot write {self.path.name}: {exc.strerror or exc}.") from exc
        self._open = False
        return self.path

    def discard(self) -> None:
        """Delete the temporary file (nothing happens after ``commit``)."""
        if self._open:
            self._open = False
            self.stream.close()
            Path(self._temp).unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def save_figure(figure: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save as PNG/SVG/PDF by extension, atomically (temp file then rename)."""
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConvVizError(f"Export as {path.suffix or 'no extension'} is not supported; "
                           "use .png, .svg or .pdf.")
    with AtomicFile(path) as target:
        try:
            figure.savefig(target.stream, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        except OSError as exc:
            raise ConvVizError(f"Cannot write {path.name}: {exc.strerror or exc}.") from exc
        return target.commit()


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _metadata(fmt: str) -> dict:
    # Fixed metadata so the same figure exports to identical bytes from GUI and CLI.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None}
    return {"Software": "ConvViz"}
