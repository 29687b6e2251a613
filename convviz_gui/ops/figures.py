"""The one figure builder: a result and a style in, a matplotlib ``Figure`` out.

The window shows these figures, File > Export saves them, and the CLI's ``--out``
saves them, all at the figure's own size: the same view gives the same pixels.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops.messages import (
    ActivationsResult,
    Comparison,
    Explanation,
    FigureStyle,
    FiltersResult,
    ImageExplanations,
    KernelsResult,
    OverviewResult,
)

DEFAULT_CMAPS = {ActivationsResult: "viridis", OverviewResult: "viridis", Explanation: "jet",
                 Comparison: "jet", ImageExplanations: "jet"}


def page_start(channel_count: int, style: FigureStyle) -> int:
    """First channel shown on the style's page (the last page when it is past the end)."""
    pages = max(1, -(-channel_count // style.page_size))
    return min(max(0, style.page), pages - 1) * style.page_size


def figure_for(result: Any, style: FigureStyle | None = None) -> Figure:
    """Draw any view's result (with the default style when none is given)."""
    from convviz_gui.engine import render

    style = style or FigureStyle()
    cmap = style.cmap or DEFAULT_CMAPS.get(type(result), "viridis")
    if isinstance(result, ActivationsResult):
        acts = result.activations
        start = page_start(acts.channel_count, style)
        return render.activation_grid_figure(acts, cmap, style.columns, start, style.page_size)
    if isinstance(result, OverviewResult):
        return render.overview_figure(result.title, list(result.tiles), cmap)
    if isinstance(result, FiltersResult):
        return render.filter_grid_figure(result.filters)
    if isinstance(result, Explanation):
        return render.gradcam_figure(result.image_rgb, result.cam, style.alpha, cmap,
                                     list(result.predictions), result.mask, tall=style.tall,
                                     metrics=result.metrics, normalize=style.normalize)
    if isinstance(result, Comparison):
        what = "classes" if result.axis == "classes" else "layers"
        title = (f"{result.image_name}: {len(result.rows)} methods x {len(result.columns)} {what}, "
                 "one colour scale per method row")
        return render.compare_figure(result.image_rgb, result.rows, result.columns, result.cells,
                                     max(style.alpha, 0.5), cmap, style.normalize, title)
    if isinstance(result, ImageExplanations):
        items = result.items
        title = (f"{items[0].cam.method} for '{items[0].cam.label}' at "
                 f"{items[0].cam.where.split('/')[-1]}: {len(items)} images, one colour scale"
                 if len({item.cam.class_index for item in items}) == 1 else
                 f"{items[0].cam.method}: {len(items)} images, each its top class, one colour scale")
        return render.images_figure([item.rgb for item in items], [item.name for item in items],
                                    [item.cam for item in items], [item.metrics for item in items],
                                    max(style.alpha, 0.5), cmap, style.normalize, style.tall, title)
    if isinstance(result, KernelsResult):
        return render.kernels_figure(result.layer, result.class_name, result.kernels, result.bias,
                                     result.image_kernel, result.channel_order == "BGR")
    raise ConvVizError("This view has no figure to draw.")
