"""The figure of filter patterns: the reference grid, dead filters outlined."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convviz_gui.engine.featurevis.results import FilterResult, stitch_patterns
from convviz_gui.figures.layout import BLANK_COLOR, label_tiles, mosaic_size
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import shorten_path
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.filters import FiltersResult


def filter_grid_figure(result: FilterResult, columns: int = 8, margin: int = 5) -> Figure:
    """Reference filter grid (8 columns, 5 px margins), each pattern labelled with its filter
    index, titled with layer and timing."""
    indices = sorted(result.patterns)
    patterns = [result.patterns[i] for i in indices]
    grid = stitch_patterns(patterns, columns, margin)
    height, width = patterns[0].shape[:2]
    size, tile_inches = mosaic_size(grid.shape, (height, width), max_tile=2.0, widths=(4.0, 9.0),
                                    title=0.6)
    figure = Figure(figsize=size, layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    columns = max(1, min(columns, len(patterns)))
    label_tiles(ax, [str(i) for i in indices], columns, (width + margin, height + margin),
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


@draws(FiltersResult)
def filters_view(result: FiltersResult, style: FigureStyle, cmap: str) -> Figure:
    """The patterns' grid (grey or colour: no colour map)."""
    return filter_grid_figure(result.filters)
