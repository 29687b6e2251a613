"""Figures of a dataset analysis (issue 24): its mistakes, its strategies per class, the
images each channel loves. Each view is a small frozen dataclass over the plain
``DatasetResult`` (which view, which class or channel), so that the window, File > Export
and the report draw the same figure. Thumbnails are read from the analysed folder.

Axes the window reacts to carry a label: ``"confusion"`` (a cell: row true, column
predicted) and ``"explain|<class index>|<relative path>"`` (an image to explain).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.gridspec import GridSpec
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from convviz_gui.engine.dataset.results import Cluster, Mistake, TopImage
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.figures.fitting import (
    Fitter,
    FittingLayout,
    ParagraphFitter,
    fit_tick_labels,
    points,
    shorten_to_width,
    text_width,
)
from convviz_gui.figures.layout import BLANK_COLOR
from convviz_gui.figures.markers import CrossStyle, mark_whole
from convviz_gui.figures.registry import draws
from convviz_gui.figures.table import FittedTable
from convviz_gui.figures.text import receptive_field_phrase, shorten
from convviz_gui.ops.dataset import DatasetResult
from convviz_gui.ops.export import FigureStyle

WARNING_COLOR = BLANK_COLOR  # a flagged cluster (possible shortcut)
MISTAKES_SHOWN = 8  # the most confident mistakes drawn under the matrix
MEMBERS_SHOWN = 7  # members drawn beside a cluster's mean map
CLUSTERS_SHOWN = 5  # clusters drawn per class (the largest first)
THUMB_SIDE = 160  # pixels a thumbnail is read at (long side)
LABEL_CHARS = 12  # characters of a class name on the matrix's axes
MATRIX_POINTS = 10.0  # the matrix's largest font (its class names shrink to fit the cells)
REASON_POINTS = (8.0, 6.0)  # a cluster's reason line: its font, and the smallest it shrinks to
THUMB_GAP = 4.0  # points kept between the titles of neighbouring thumbnails
CLASS_TABLE_HEADERS = ("class", "true", "predicted", "precision", "recall")
EXPLAIN = "explain"  # label prefix of an image axes: explain|class|path
CLUSTER_PEAK = CrossStyle(size=12, outline=None)  # the peak of a cluster's mean map
CHANNEL_MAXIMUM = CrossStyle(color=WARNING_COLOR, outline=None)  # a channel's maximum in a crop


@dataclass(frozen=True)
class MistakesView:
    """The Mistakes view: accuracy, confusion matrix, precision/recall, most confident
    mistakes; ``cell`` (true, predicted) is outlined when chosen."""

    result: DatasetResult
    cell: tuple[int, int] | None = None


@dataclass(frozen=True)
class StrategiesView:
    """The Strategies view of one predicted class (its index in the model's classes)."""

    result: DatasetResult
    class_index: int


@dataclass(frozen=True)
class ChannelView:
    """The Channels view: one channel's top images, cropped to their receptive fields."""

    result: DatasetResult
    channel: int


def explain_label(class_index: int, image: str) -> str:
    """The label of an axes showing ``image``: clicking it explains ``class_index``."""
    return f"{EXPLAIN}|{class_index}|{image}"


def cell_images(result: DatasetResult, true: int, predicted: int) -> tuple[tuple[str, ...], int]:
    """The images of one confusion cell that the analysis kept (the cell's kept mistakes,
    then the clustered members of the predicted class from the true class's subfolders),
    and the cell's count. Fewer images than the count when the analysis sampled."""
    if result.confusion is None:
        raise ConvVizError("This folder is unlabelled: it has no confusion matrix.")
    subfolders = dict(result.folder_classes)
    found = [item.image for item in result.mistakes if (item.true, item.predicted) == (true, predicted)]
    for strategy in result.strategies:
        if strategy.class_index == predicted:
            found += [image for cluster in strategy.clusters for image in cluster.members
                      if subfolders.get(image.split("/")[0]) == true]
    return tuple(dict.fromkeys(found)), int(result.confusion[true, predicted])


@lru_cache(maxsize=96)  # a view redrawn (restyle, resize) reads no file twice
def _picture(path: str) -> tuple[np.ndarray, float] | None:
    """An image file as a small upright RGB array and its scale (file pixels per array
    pixel), or None when it cannot be read any more."""
    from convviz_gui.engine.images import load_image

    try:
        image = load_image(path, max_side=THUMB_SIDE * 2)
    except ConvVizError:
        return None
    return image.rgb, image.scale


def _show_file(ax: Axes, path: str, box: tuple[int, int, int, int] | None = None) -> float:
    """Draw an image file (or its ``box``, in file pixels) in ``ax``; a grey tile saying
    so when it is gone. Returns the scale from file pixels to the drawn pixels."""
    ax.set_xticks([])
    ax.set_yticks([])
    found = _picture(path)
    if found is None:
        ax.imshow(np.full((8, 8, 3), 200, np.uint8))
        ax.text(4, 4, "unreadable", ha="center", va="center", fontsize=7)
        return 1.0
    rgb, scale = found
    if box is not None:
        x0, y0, x1, y1 = (int(value / scale) for value in box)
        rgb = rgb[y0:max(y0 + 1, y1), x0:max(x0 + 1, x1)]
    ax.imshow(rgb, interpolation="nearest" if min(rgb.shape[:2]) < 48 else "antialiased")
    return 1.0 / scale


def _class_name(result: DatasetResult, index: int, limit: int = LABEL_CHARS) -> str:
    return shorten(result.classes[index], limit)


# ----- Mistakes ---------------------------------------------------------------------------------
@draws(MistakesView, cmap="Blues")
def mistakes_view(view: MistakesView, style: FigureStyle, cmap: str) -> Figure:
    """The matrix (or the predicted counts of an unlabelled folder) and the per-class table
    side by side, the most confident mistakes under them."""
    result = view.result
    figure = Figure(figsize=(11, 7.5))
    fitters: list[Fitter] = []
    shown = result.mistakes[:MISTAKES_SHOWN]
    grid = figure.add_gridspec(2 if shown else 1, 2, height_ratios=[2.7, 1.25] if shown else [1],
                               width_ratios=[1.35, 1])
    left, right = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    if result.confusion is None:
        _predicted_counts(left, result)
    else:
        _confusion(left, result, cmap, view.cell)
        fitters.append(lambda _: fit_tick_labels(left, len(result.classes), MATRIX_POINTS))
    _class_table(right, result)
    if shown:
        strip = grid[1, :].subgridspec(1, MISTAKES_SHOWN)
        thumbs = []
        for position, item in enumerate(shown):
            ax = figure.add_subplot(strip[0, position], label=explain_label(item.predicted, item.image))
            _show_file(ax, result.path(item.image))
            ax.set_title(_mistake_title(result, item), fontsize=7, color=WARNING_COLOR)
            thumbs.append((ax, item))
        fitters.append(lambda _: _fit_mistake_titles(result, thumbs))
        # One level line: upright, it is taller than the thumbnails and cut by the figure's edge.
        figure.axes[2].set_ylabel("mistakes (click)", fontsize=8, rotation=0, ha="right", va="center")
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    accuracy = f"accuracy {result.accuracy:.1%}" if result.accuracy is not None else "unlabelled"
    figure.suptitle(f"{result.model_name} on {Path(result.folder).name}: {result.images} images"
                    f"{skipped}, {accuracy}", fontsize=11, wrap=True)  # a narrow canvas: 2 lines
    figure.set_layout_engine(FittingLayout(fitters))
    return figure


def _mistake_title(result: DatasetResult, item: Mistake, limit: float | None = None) -> str:
    """"true → predicted, score" on three lines, each class name at most ``limit`` points
    wide (None: at most ``LABEL_CHARS`` characters)."""
    font = FontProperties(size=7)

    def name(index: int, prefix: str = "") -> str:
        if limit is None:
            return prefix + _class_name(result, index)
        room = limit - (text_width(prefix, font) if prefix else 0.0)
        return prefix + shorten_to_width(result.classes[index], font, room, LABEL_CHARS)

    return f"{name(item.true)}\n{name(item.predicted, '→ ')}\n{item.score:.2f}"


def _fit_mistake_titles(result: DatasetResult, thumbs: list[tuple[Axes, Mistake]]) -> bool:
    """Each thumbnail's title shortened to the distance between neighbouring thumbnails.
    Returns whether a title changed."""
    if not thumbs:
        return False
    figure = thumbs[0][0].get_figure(root=True)
    assert isinstance(figure, Figure)
    centres = [ax.bbox.x0 + ax.bbox.width / 2 for ax, _ in thumbs]
    pitch = min((b - a for a, b in zip(centres, centres[1:])), default=thumbs[0][0].bbox.width * 1.5)
    changed = False
    for ax, item in thumbs:
        title = _mistake_title(result, item, points(figure, pitch) - THUMB_GAP)
        changed |= title != ax.get_title()
        ax.set_title(title, fontsize=7, color=WARNING_COLOR)
    return changed


def _confusion(ax: Axes, result: DatasetResult, cmap: str, cell: tuple[int, int] | None) -> None:
    """Counts (rows true, columns predicted), each row coloured by its share so that small
    classes read as well as large ones."""
    confusion = np.asarray(result.confusion)
    count = len(result.classes)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    ax.set_label("confusion")
    ax.imshow(shares, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    size = max(5.0, min(10.0, 110.0 / count))
    for (row, col), value in np.ndenumerate(confusion):
        if value:
            ax.text(col, row, str(value), ha="center", va="center", fontsize=size,
                    color="white" if shares[row, col] > 0.6 else "black")
    names = [_class_name(result, index) for index in range(count)]
    # Upright: tilted names of neighbouring columns overlap; their size fits the cells.
    ax.set_xticks(range(count), names, rotation=90, ha="center", fontsize=MATRIX_POINTS)
    ax.set_yticks(range(count), names, fontsize=MATRIX_POINTS)
    ax.set_xlabel("predicted (click a cell for its images)", fontsize=9)
    ax.set_ylabel("true (folder)", fontsize=9)
    if cell is not None:
        ax.add_patch(Rectangle((cell[1] - 0.5, cell[0] - 0.5), 1, 1, fill=False,
                               edgecolor=WARNING_COLOR, linewidth=2.5))
    note = f"\n{shorten(result.class_note, 90)}" if result.class_note else ""
    ax.set_title(f"Confusion matrix (colour: share of the row){note}", fontsize=9, wrap=True)


def _predicted_counts(ax: Axes, result: DatasetResult) -> None:
    """An unlabelled folder: how many images each class got, and why there is no matrix."""
    counts = np.asarray(result.predicted_counts)
    order = [index for index in np.argsort(-counts, kind="stable") if counts[index]][:20]
    ax.barh(range(len(order)), counts[order], color="#4c72b0")
    ax.set_yticks(range(len(order)), [_class_name(result, index) for index in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("images predicted", fontsize=9)
    ax.set_title("Predicted classes. No confusion matrix: the folder has no class\n"
                 "subfolders, so the images have no true class to compare with.", fontsize=9)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _class_table(ax: Axes, result: DatasetResult) -> None:
    """Per class: images in its folder, images predicted as it, precision, recall."""
    ax.set_axis_off()
    confusion = result.confusion
    rows = []
    for index in range(len(result.classes)):
        present = "—" if confusion is None else str(int(confusion[index].sum()))
        rows.append([_class_name(result, index), present, str(result.predicted_counts[index]),
                     _percent(result.precision[index]), _percent(result.recall[index])])
    rows = rows[:40]  # a 1000-class model: the first 40 (the JSON has every one)
    height = min(1.0, 0.08 * (len(rows) + 1))  # rows of one height, from the top
    FittedTable(ax, CLASS_TABLE_HEADERS, rows, Bbox.from_bounds(0.0, 1.0 - height, 1.0, height),
                fontsize=8.0 if len(rows) <= 12 else 6.0 if len(rows) <= 24 else 4.5)
    ax.set_title("Per class", fontsize=9)


# ----- Strategies -------------------------------------------------------------------------------
@draws(StrategiesView, cmap="jet")
def strategies_view(view: StrategiesView, style: FigureStyle, cmap: str) -> Figure:
    """One row per cluster of the class: its mean map over its mean image (the peak
    marked, a flagged cluster framed in the warning colour with its reason), then members."""
    result = view.result
    strategy = next((item for item in result.strategies if item.class_index == view.class_index), None)
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    fitters: list[Fitter] = []
    name = result.classes[view.class_index]
    if strategy is None or not strategy.clusters:
        ax = figure.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"No image was predicted as {name}." if strategy is None else
                f"Too few images of {name} to cluster ({strategy.images}).",
                ha="center", va="center", fontsize=11)
        return figure
    clusters = sorted(strategy.clusters, key=lambda item: (not item.flagged, -len(item.members)))
    shown = clusters[:CLUSTERS_SHOWN]
    slots = max(len(shown), 3)  # rows keep their height when a class has one or two clusters
    grid = figure.add_gridspec(2 * slots, MEMBERS_SHOWN + 1, height_ratios=[0.3, 1] * slots,
                               width_ratios=[1.6] + [1] * MEMBERS_SHOWN)
    for row, cluster in enumerate(shown):
        fitters.append(_cluster_row(figure, grid, 2 * row, cluster, result, cmap, style.alpha))
    sampled = f", {strategy.sampled} clustered" if strategy.sampled < strategy.images else ""
    more = f"; the {len(clusters) - len(shown)} smallest not drawn" if len(clusters) > len(shown) else ""
    flagged = sum(cluster.flagged for cluster in clusters)
    counted = f"{len(clusters)} cluster{'' if len(clusters) == 1 else 's'} ({flagged} flagged)"
    figure.suptitle(f"Strategies for {shorten(name, 40)}: {strategy.images} images{sampled}, "
                    f"{counted}{more}; {result.method} at {shorten(result.layer, 40)}", fontsize=10)
    figure.set_layout_engine(FittingLayout(fitters))
    return figure


def _cluster_row(figure: Figure, grid: GridSpec, row: int, cluster: Cluster, result: DatasetResult,
                 cmap: str, alpha: float) -> Fitter:
    """A line saying the cluster's size and reason (row ``row``), under it the mean map over
    the mean image and the first members (row ``row + 1``). Returns the fitter that fits the
    line to its row (smaller, then cut short, never over the title or the pictures)."""
    color = WARNING_COLOR if cluster.flagged else "black"
    line = figure.add_subplot(grid[row, :])
    line.set_axis_off()
    flag = "FLAGGED. " if cluster.flagged else ""
    text = f"{len(cluster.members)} images. {flag}{cluster.reason}"
    written = line.text(0, 0, text, fontsize=REASON_POINTS[0], color=color,
                        fontweight="bold" if cluster.flagged else "normal",
                        transform=line.transAxes, va="bottom")
    written.set_in_layout(False)  # a long reason must not shrink the pictures
    width, height = result.input_size
    ax = figure.add_subplot(grid[row + 1, 0])
    ax.set_xticks([])
    ax.set_yticks([])
    extent = (0, width, height, 0)
    ax.imshow(cluster.mean_image, extent=extent, interpolation="bilinear")
    ax.imshow(cluster.mean_map, extent=extent, cmap=cmap, alpha=max(alpha, 0.45), vmin=0, vmax=1,
              interpolation="bilinear")
    mark_whole(ax, *cluster.peak_xy, CLUSTER_PEAK)
    ax.set_xlabel("mean map", fontsize=7, color=color, labelpad=CLUSTER_PEAK.label_pad)
    if cluster.flagged:
        for spine in ax.spines.values():
            spine.set_edgecolor(WARNING_COLOR)
            spine.set_linewidth(3)
    for position, image in enumerate(cluster.members[:MEMBERS_SHOWN]):
        thumb = figure.add_subplot(grid[row + 1, 1 + position],
                                   label=explain_label(cluster.class_index, image))
        _show_file(thumb, result.path(image))
    return ParagraphFitter(written, text, line, *REASON_POINTS)


# ----- Channels ---------------------------------------------------------------------------------
@draws(ChannelView)
def channel_view(view: ChannelView, style: FigureStyle, cmap: str) -> Figure:
    """The channel's top images, each cropped to the receptive field of its maximum (the
    maximum marked), largest value first."""
    result, channels = view.result, view.result.channels
    if not 0 <= view.channel < len(channels.top):
        raise ConvVizError(f"{channels.layer} has channels 0-{len(channels.top) - 1}; "
                           f"there is no channel {view.channel}.")
    tops = channels.top[view.channel]
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    columns = min(5, max(1, len(tops)))
    rows = max(1, -(-len(tops) // columns))
    for position, top in enumerate(tops):
        ax = figure.add_subplot(rows, columns, position + 1)
        scale = _show_file(ax, result.path(top.image), top.box)
        mark_whole(ax, (top.xy[0] - top.box[0]) * scale, (top.xy[1] - top.box[1]) * scale,
                   CHANNEL_MAXIMUM)
        ax.set_title(f"{position + 1}. {top.value:.3g}", fontsize=9, pad=CHANNEL_MAXIMUM.title_pad)
        ax.set_xlabel(shorten(top.image, 28), fontsize=7, labelpad=CHANNEL_MAXIMUM.label_pad)
    if not tops:
        ax = figure.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No image activates this channel.", ha="center", va="center")
    silent = "; it never fires on these images (its maximum is 0)" if tops and tops[0].value <= 0 else ""
    field = receptive_field_phrase(channels.receptive_field, result.input_size)
    figure.suptitle(f"{shorten(channels.layer, 50)} channel {view.channel}: the {len(tops)} images "
                    f"of {Path(result.folder).name} it responds to most, each cropped to the unit of its "
                    f"maximum (+); {field}{silent}", fontsize=10, wrap=True)
    return figure


def channel_crops(result: DatasetResult, channel: int) -> list[tuple[TopImage, np.ndarray | None]]:
    """The channel's top images with their receptive-field crops (small RGB arrays; None
    for a file that cannot be read any more), for the strips beside a channel in the
    Activations and Filters tabs."""
    crops: list[tuple[TopImage, np.ndarray | None]] = []
    for top in result.channels.top[channel]:
        found = _picture(result.path(top.image))
        if found is None:
            crops.append((top, None))
            continue
        rgb, scale = found
        x0, y0, x1, y1 = (int(value / scale) for value in top.box)
        crops.append((top, np.ascontiguousarray(rgb[y0:max(y0 + 1, y1), x0:max(x0 + 1, x1)])))
    return crops
