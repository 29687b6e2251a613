"""Grids of overlays that compare honestly: methods x classes or layers on one image, and
one method on several images, each grid on shared colour scales."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import CenteredNorm, Normalize
from matplotlib.figure import Figure
from PIL import Image

from convviz_gui.engine.cam import CamResult
from convviz_gui.engine.cam.metrics import Faithfulness
from convviz_gui.figures.cam import map_overlay, scaled_to_image, signed_limit
from convviz_gui.figures.colors import SIGNED_CMAP
from convviz_gui.figures.layout import BLANK_COLOR
from convviz_gui.figures.markers import CrossStyle, mark_whole
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import LABEL_LIMIT, shorten
from convviz_gui.ops.compare import Comparison, ImageExplanations
from convviz_gui.ops.export import FigureStyle

COMPARE_IMAGE_SIDE = 320  # the image is reduced to this long side in every grid cell
GRID_PEAK = CrossStyle(size=11)  # the peak marked in a grid's cell
ROW_LABEL_LINE = 12  # characters per line of a row's (rotated) method name: at most 2 lines


def row_label(method: str) -> str:
    """A method's name beside its row, on two short lines when long ("Integrated\nGradients"),
    so that it stays as tall as its row instead of running into the row above."""
    return "\n".join(textwrap.wrap(shorten(method, 2 * ROW_LABEL_LINE), ROW_LABEL_LINE,
                                    max_lines=2, placeholder="…"))


def _thumbnail(image_rgb: np.ndarray, side: int = COMPARE_IMAGE_SIDE) -> np.ndarray:
    thumbnail = Image.fromarray(image_rgb)
    thumbnail.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(thumbnail)


def _positive_map(cam: CamResult) -> np.ndarray:
    """The map in the explained score's units (its positive part), or the 0-1 heatmap."""
    return np.maximum(np.nan_to_num(cam.raw if cam.raw is not None else cam.heatmap), 0.0)


def _shared_maps(cams: Sequence[CamResult]) -> tuple[list[np.ndarray], float, bool]:
    """The maps of ``cams`` on one colour scale, its top, and whether they are drawn signed:
    their positive parts from 0 to the largest value, or (all drawn signed) the signed maps
    around zero up to the robust limit of them all (``signed_limit``)."""
    if all(cam.signed for cam in cams):
        values = [np.nan_to_num(np.asarray(cam.raw, np.float32)) for cam in cams]
        return values, signed_limit(np.concatenate([v.ravel() for v in values])) or 1.0, True
    values = [_positive_map(cam) for cam in cams]
    return values, max(float(v.max()) for v in values) or 1.0, False


def _overlay_cell(ax: Axes, image: np.ndarray, value: np.ndarray, top: float, alpha: float,
                  cmap: str, metrics: Faithfulness | None, peak: CamResult | None = None,
                  signed: bool = False) -> None:
    """One overlay of a grid, on the colour scale 0-``top`` (``signed``: -``top``-``top``
    over a grey image), its metrics under it and, when ``peak`` is given, its peak marked;
    a map that is zero everywhere says so."""
    height, width = image.shape[:2]
    up = scaled_to_image(value, top, signed, width, height)
    ax.imshow(map_overlay(image, up, signed, alpha, cmap))
    ax.set_xticks([])
    ax.set_yticks([])
    if not np.any(value > 0) and not (signed and np.any(value != 0)):
        ax.text(0.5, 0.5, "the map is zero", transform=ax.transAxes, ha="center", va="center",
                fontsize=7, in_layout=False, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white",
                                                   "alpha": 0.85, "edgecolor": BLANK_COLOR})
    if peak is not None and np.any(up > 0):
        mark_whole(ax, *peak.peak_xy(width, height), GRID_PEAK)
    if metrics is not None:
        ax.set_xlabel(f"del {metrics.deletion_auc:.2f} ↓  ins {metrics.insertion_auc:.2f} ↑  "
                      f"drop {metrics.average_drop:.0%}", fontsize=7,
                      labelpad=None if peak is None else GRID_PEAK.label_pad)


def _scale_bar(figure: Figure, ax: Axes, cmap: str, top: float, label: str,
               signed: bool = False) -> None:
    """A grid's colour scale: 0-``top`` in ``cmap``, or (``signed``) -``top``-``top`` in
    ``SIGNED_CMAP``, its label prefixed "against ← 0 → for"."""
    scale = ScalarMappable(CenteredNorm(0.0, top), SIGNED_CMAP) if signed else \
        ScalarMappable(Normalize(0.0, top), cmap)
    bar = figure.colorbar(scale, cax=ax.inset_axes((1.03, 0.0, 0.05, 1.0)))
    bar.set_label(f"against ← 0 → for\n({label})" if signed else label, fontsize=7)
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
        values, top, signed = _shared_maps([cam for cam, _ in row_cells])
        for column, ((_, metrics), value) in enumerate(zip(row_cells, values)):
            ax = axes[row][column]
            _overlay_cell(ax, small, value, top, alpha, cmap, metrics, signed=signed)
            if row == 0:
                ax.set_title(shorten(columns[column], 28), fontsize=9)
            if column == 0:
                ax.set_ylabel(row_label(method), fontsize=10)
        score_kind = row_cells[0][0].score_kind
        _scale_bar(figure, axes[row][-1], cmap, 1.0 if normalize else top,
                   f"row scale {'-1 to 1' if signed else '0-1'}" if normalize else
                   f"{score_kind} units", signed)
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
    values, top, signed = _shared_maps(cams)
    for index, ax in enumerate(axes.flat):
        if index >= len(images):
            ax.remove()
            continue
        cam = cams[index]
        _overlay_cell(ax, small[index], values[index], top, alpha, cmap, metrics[index], cam,
                      signed)
        ax.set_title(f"{shorten(names[index], 30)}\n{shorten(cam.label, LABEL_LIMIT)} "
                     f"{cam.score:.3f}", fontsize=9, pad=GRID_PEAK.title_pad)
    _scale_bar(figure, axes[0][-1] if len(images) >= columns else axes[0][len(images) - 1],
               cmap, 1.0 if normalize else top,
               f"one scale for all images, {'-1 to 1' if signed else '0-1'}" if normalize else
               f"{cams[0].score_kind} units", signed)
    figure.suptitle(title, fontsize=10, wrap=True)
    return figure


@draws(Comparison, cmap="jet")
def comparison_view(result: Comparison, style: FigureStyle, cmap: str) -> Figure:
    """Methods x classes (or layers) on one image, one colour scale per method row."""
    what = "classes" if result.axis == "classes" else "layers"
    title = (f"{result.image_name}: {len(result.rows)} methods x {len(result.columns)} {what}, "
             "one colour scale per method row")
    return compare_figure(result.image_rgb, result.rows, result.columns, result.cells,
                          max(style.alpha, 0.5), cmap, style.normalize, title)


@draws(ImageExplanations, cmap="jet")
def image_explanations_view(result: ImageExplanations, style: FigureStyle, cmap: str) -> Figure:
    """One method on several images, one colour scale for all."""
    items = result.items
    title = (f"{items[0].cam.method} for '{items[0].cam.label}' at "
             f"{items[0].cam.where.split('/')[-1]}: {len(items)} images, one colour scale"
             if len({item.cam.class_index for item in items}) == 1 else
             f"{items[0].cam.method}: {len(items)} images, each its top class, one colour scale")
    return images_figure([item.rgb for item in items], [item.name for item in items],
                         [item.cam for item in items], [item.metrics for item in items],
                         max(style.alpha, 0.5), cmap, style.normalize, style.tall, title)
