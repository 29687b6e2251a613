"""The figure of a convolution's weights: histograms, and a first layer's kernels as images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Rectangle

from convviz_gui.engine.kernels import weight_stats
from convviz_gui.engine.normalize import minmax_unit
from convviz_gui.figures.layout import label_tiles, mosaic_size
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import shorten_path
from convviz_gui.ops.export import FigureStyle, KernelsResult

KERNEL_IMAGES_MAX = 256  # first-layer kernels drawn as images


def kernel_tiles(kernel: np.ndarray, bgr: bool = False) -> np.ndarray:
    """A (height, width, channels, filters) kernel as one display image per filter, each
    scaled to [0, 1] by its own min and max: (filters, h, w) for grey, (filters, h, w, 3)
    for colour (``bgr`` kernels are flipped to RGB)."""
    tiles = minmax_unit(np.transpose(kernel, (3, 0, 1, 2)), axis=(1, 2, 3))
    if tiles.shape[-1] == 1:
        return tiles[..., 0]
    return tiles[..., ::-1] if bgr else tiles


class KernelGrid(NamedTuple):
    """A first convolution's kernels laid out as images: the tiles and their places."""

    tiles: np.ndarray  # (filters, h, w[, 3]) in [0, 1], at most KERNEL_IMAGES_MAX
    columns: int
    pitch: tuple[float, float]  # (x, y) data units from one tile to the next
    height: float  # inches of the figure the grid takes
    tile_inches: float
    kernel_shape: tuple[int, ...]  # the whole kernel's (h, w, channels, filters)


def kernel_grid(image_kernel: np.ndarray, bgr: bool) -> KernelGrid:
    """The layout of a (h, w, 1 or 3, filters) kernel's first ``KERNEL_IMAGES_MAX`` filters."""
    tiles = kernel_tiles(image_kernel, bgr)[:KERNEL_IMAGES_MAX]
    columns = min(len(tiles), 8 if len(tiles) <= 64 else 16)
    gap = max(tiles.shape[1:3]) / 5
    rows = -(-len(tiles) // columns)
    pitch = (tiles.shape[2] + gap, tiles.shape[1] + gap)
    mosaic = (rows * pitch[1] - gap, columns * pitch[0] - gap)
    (_, height), tile_inches = mosaic_size(mosaic, tiles.shape[1:3], widths=(4.0, 9.0), title=0.5)
    return KernelGrid(tiles, columns, pitch, height, tile_inches, image_kernel.shape)


def kernels_figure(
    layer: Sequence[str], class_name: str, kernels: Sequence[tuple[str, np.ndarray]],
    bias: np.ndarray | None, image_kernel: np.ndarray | None = None, bgr: bool = False,
) -> Figure:
    """A convolution's weights: one histogram per kernel array and the bias; with
    ``image_kernel`` (a first convolution's (h, w, 1 or 3, filters) kernel) every filter is
    also drawn as a small image, each scaled to its own range (``bgr``: shown as RGB)."""
    arrays = [*kernels, *([("bias", bias)] if bias is not None else [])]
    histogram_height = 3.2
    grid = kernel_grid(image_kernel, bgr) if image_kernel is not None else None
    figure = Figure(figsize=(max(10.0, 3.2 * len(arrays)),
                             histogram_height + (grid.height if grid is not None else 0.4)),
                    layout="constrained")
    target: Figure | SubFigure = figure
    if grid is not None:
        parts = figure.subfigures(2, 1, height_ratios=(grid.height, histogram_height))
        top, target = cast(np.ndarray, parts)
        ax = top.add_subplot()
        _draw_tiles(ax, grid.tiles, grid.columns, grid.pitch)
        label_tiles(ax, [str(i) for i in range(len(grid.tiles))], grid.columns, grid.pitch,
                    grid.tile_inches * figure.dpi)
        count = grid.kernel_shape[-1]
        shown = f"first {len(grid.tiles)} of {count}" if len(grid.tiles) < count else f"{count}"
        order = ", BGR kernels shown as RGB" if bgr else ""
        ax.set_title(f"{shown} kernels {'x'.join(map(str, grid.kernel_shape[:3]))}, "
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


@draws(KernelsResult)
def kernels_view(result: KernelsResult, style: FigureStyle, cmap: str) -> Figure:
    """The layer's weight histograms, and its kernels as images when they read pixels."""
    return kernels_figure(result.layer, result.class_name, result.kernels, result.bias,
                          result.image_kernel, result.channel_order == "BGR")
