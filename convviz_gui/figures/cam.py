"""The figure of one explanation: image, map with its scale, overlay with its peak, and
optionally the segmentation mask and the faithfulness curves (deletion/insertion, Petsiuk
et al. 2018, beside ROAD's, Rong et al. 2022)."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure

from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.cam.base import resize_map
from convviz_gui.engine.cam.metrics import Faithfulness
from convviz_gui.figures.colors import SIGNED_CMAP, overlay, signed_overlay
from convviz_gui.figures.layout import BLANK_COLOR
from convviz_gui.figures.markers import PEAK, mark_whole
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import LABEL_LIMIT, cam_title, shorten
from convviz_gui.ops.explain import Explanation
from convviz_gui.ops.export import FigureStyle

TITLE_WRAP = 60  # characters per line of the title: it fits a 1366x768 window's canvas
ROBUST_PERCENTILE = 99.0  # a signed map's colour limit: this percentile of its |values|
SIGN_LABEL_LIMIT = 16  # characters of the target kept in a signed colorbar's label


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
    same ``scale`` compare honestly. A ``cam`` drawn ``signed`` shows ``raw`` around zero in
    ``SIGNED_CMAP`` (red for the target, blue against), to plus and minus its robust limit
    (``signed_limit``; ``scale`` when given), over a grey copy of the image. Pass
    ``LoadedImage.rgb``, the copy reduced to at most ``DISPLAY_MAX_SIDE``: nothing here is
    allocated at a large file's original resolution.
    """
    height, width = image_rgb.shape[:2]
    values, vmax, unit = _cam_values(cam, normalize, scale)
    up = scaled_to_image(values, vmax, cam.signed, width, height)
    panels = 3 + (mask is not None)
    # The images in a row (two columns on a tall canvas); the faithfulness curves get a row
    # of their own under them, as wide as the figure (deletion/insertion beside ROAD, or
    # above it on a tall canvas): readable at any canvas size.
    cols = 2 if tall else panels
    image_rows = -(-panels // cols)
    curve_rows = (2 if tall else 1) * (metrics is not None)
    figure = Figure(figsize=(8 if tall else 4 * cols, 4.3 * image_rows + 3.4 * curve_rows),
                    layout="constrained")
    # Stacked curves share one row's height; side by side they get a full row (their titles,
    # tick labels and legends take most of it on a 1366x768 screen).
    curve_height = 0.8 / max(1, curve_rows) if tall else 1.05
    grid = figure.add_gridspec(image_rows + curve_rows, cols,
                               height_ratios=[1.0] * image_rows + [curve_height] * curve_rows)
    axes = [figure.add_subplot(grid[index // cols, index % cols]) for index in range(panels)]
    for ax in axes:
        ax.set_axis_off()
    if metrics is not None:
        if tall:
            curves = [grid[image_rows + row, :] for row in range(curve_rows)]
        else:
            beside = grid[image_rows, :].subgridspec(1, 2)
            curves = [beside[0, 0], beside[0, 1]]
        axes += [figure.add_subplot(cell) for cell in curves]
    axes[0].imshow(image_rgb)
    # Every panel's title as high as the overlay's, which clears a peak on the image's top edge.
    axes[0].set_title("image", fontsize=10, pad=PEAK.title_pad)
    if cam.signed:
        heat = axes[1].imshow(values, cmap=SIGNED_CMAP, norm=CenteredNorm(0.0, vmax or 1.0),
                              interpolation="nearest")
    else:
        heat = axes[1].imshow(values, cmap=cmap, vmin=0, vmax=vmax or 1, interpolation="nearest")
    what = "heatmap" if cam.resolution == "layer" else "attribution\n(input pixels)"
    axes[1].set_title(f"{what} {values.shape[0]}x{values.shape[1]}", fontsize=10,
                      pad=PEAK.title_pad)
    # An inset keeps the colorbar out of figure.axes: one axes per panel, as before.
    colorbar = figure.colorbar(heat, cax=axes[1].inset_axes((1.03, 0.0, 0.05, 1.0)),
                               extend=_extend(cam, values, vmax))
    colorbar.set_label(unit, fontsize=7, labelpad=1)
    colorbar.ax.tick_params(labelsize=6)
    if cam.signed:  # against, zero, for: more ticks crowd a small canvas
        colorbar.set_ticks([-(vmax or 1.0), 0.0, vmax or 1.0])
        colorbar.ax.yaxis.set_major_formatter("{x:.3g}")
    axes[2].imshow(map_overlay(image_rgb, up, cam.signed, alpha, cmap))
    if np.any(up > 0):
        mark_whole(axes[2], *cam.peak_xy(width, height))
        # A short caption (a wide legend would squeeze the panels in a narrow window), under
        # the part of a peak on the bottom edge that sticks out.
        peak = "+ peak (strongest for)" if cam.signed else "+ peak (most important)"
        axes[2].annotate(peak, (0.5, 0.0), xycoords="axes fraction", xytext=(0, -PEAK.label_pad),
                         textcoords="offset points", ha="center", va="top", fontsize=7)
    axes[2].set_title(f"overlay (alpha {alpha:g})", fontsize=10, pad=PEAK.title_pad)
    if cam.zero_map:  # a flat panel alone would look like a drawing that failed
        axes[1].text(0.5, 0.5, textwrap.fill(cam.zero_map, 30), transform=axes[1].transAxes,
                     ha="center", va="center", fontsize=8, in_layout=False,
                     bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "alpha": 0.9,
                           "edgecolor": BLANK_COLOR})
    if mask is not None:
        axes[3].imshow(mask, cmap="tab10", interpolation="nearest",
                       vmin=0, vmax=max(9, int(mask.max())))
        # The predicted classes (p > 0.5 for one channel).
        axes[3].set_title("mask", fontsize=10, pad=PEAK.title_pad)
    if metrics is not None:
        for draw, ax in zip((metrics_axes, road_axes), axes[-2:]):  # stacked when tall
            draw(ax, metrics, legend_columns=1, wide=tall)
    top = ""
    if predictions:
        top = "\ntop: " + ", ".join(f"{shorten(p.label, LABEL_LIMIT)} {p.score:.3f}"
                                     for p in predictions[:3])
    zero = "  (the map is zero)" if cam.zero_map else ""
    title = f"{cam_title(cam)}{zero}"
    if len(title) > TITLE_WRAP * (2 if tall else 3) // 3:  # "… at <layer>" on a line of its own
        head, at, where = title.rpartition(" at ")
        title = f"{head}\n{at.strip()} {where}" if at else title
    figure.suptitle(f"{title}{top}", fontsize=10, wrap=True)  # wraps again in a narrow window
    return figure


def cam_overlay(image_rgb: np.ndarray, cam: CamResult, alpha: float, cmap: str) -> np.ndarray:
    """The map over the image as ``gradcam_figure``'s overlay panel draws it (normalized):
    a positive map in ``cmap``; a signed one for and against over a grey copy."""
    height, width = image_rgb.shape[:2]
    values, vmax, _ = _cam_values(cam, True, None)
    return map_overlay(image_rgb, scaled_to_image(values, vmax, cam.signed, width, height),
                       cam.signed, alpha, cmap)


def scaled_to_image(values: np.ndarray, vmax: float, signed: bool, width: int, height: int
                    ) -> np.ndarray:
    """The map over its colour scale's top, resized to the image: 0-1, or -1-1 signed."""
    scaled = values / vmax if vmax > 0 else values * 0.0
    return np.clip(resize_map(scaled, width, height), -1.0 if signed else 0.0, 1.0)


def map_overlay(image_rgb: np.ndarray, up: np.ndarray, signed: bool, alpha: float, cmap: str
                ) -> np.ndarray:
    """``up`` (``scaled_to_image``) over the image: in ``cmap``, or signed over grey."""
    return signed_overlay(image_rgb, up, alpha) if signed else overlay(image_rgb, up, alpha, cmap)


def _cam_values(cam: CamResult, normalize: bool, scale: float | None
                ) -> tuple[np.ndarray, float, str]:
    """(map to draw, top of its colour scale, colorbar label); a signed map's scale runs
    from minus its top to its top."""
    if cam.signed:
        raw = np.nan_to_num(np.asarray(cam.raw, np.float32))
        limit = float(scale) if scale else signed_limit(raw)
        if normalize:
            return (raw / limit if limit > 0 else raw), 1.0, sign_label(cam)
        return raw, limit, f"{sign_label(cam)} ({cam.score_kind})"
    if normalize or cam.raw is None:
        return cam.heatmap, 1.0, "importance"
    values = np.maximum(np.nan_to_num(cam.raw), 0.0)
    top = float(scale) if scale else float(values.max())
    return values, top, f"importance ({cam.score_kind} units)"


def signed_limit(raw: np.ndarray) -> float:
    """The colour limit of a signed map: the ``ROBUST_PERCENTILE`` of its nonzero |values|
    (a few extreme pixels do not wash the rest out), else its largest |value|; 0 if flat."""
    magnitude = np.abs(raw[np.isfinite(raw) & (raw != 0)])
    if magnitude.size == 0:
        return 0.0
    return float(np.percentile(magnitude, ROBUST_PERCENTILE)) or float(magnitude.max())


def sign_label(cam: CamResult) -> str:
    """The signed colorbar's label in words, e.g. "against ← 0 → for 'cat'"."""
    target = cam.target or f"'{cam.label}'"
    if target.startswith("against "):  # the counterfactual: its positive part is against
        plain = shorten(target.removeprefix("against "), SIGN_LABEL_LIMIT)
        return f"for {plain}{chr(10) if len(plain) > 10 else ' '}← 0 → against it"
    target = shorten(target, SIGN_LABEL_LIMIT)
    # One line fits the colorbar of a 1366x768 window's canvas up to a short class name.
    return f"against ← 0 → for{chr(10) if len(target) > 10 else ' '}{target}"


def _extend(cam: CamResult, values: np.ndarray, top: float) -> str:
    """The colorbar's arrows for values beyond a signed map's robust limit ("neither",
    always for a positive map: its scale ends at its maximum)."""
    below = cam.signed and bool(np.any(values < -top))
    above = cam.signed and bool(np.any(values > top))
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither")


def metrics_axes(ax: Axes, metrics: Faithfulness, compact: bool = False,
                 legend_columns: int = 2, wide: bool = True) -> None:
    """Deletion and insertion curves with their AUCs (Petsiuk 2018) and Average Drop; the
    legend sits under the axis (``legend_columns`` entries side by side) unless ``compact``;
    the title takes two lines unless the axis is ``wide``."""
    _two_curves(ax, metrics.fractions, (metrics.deletion, metrics.insertion), (
        f"deletion AUC {metrics.deletion_auc:.3f} (lower better)",
        f"insertion AUC {metrics.insertion_auc:.3f} (higher better)"), compact, legend_columns)
    ax.fill_between(metrics.fractions, metrics.deletion, color=CURVE_COLORS[0], alpha=0.12)
    if not compact:
        ax.set_xlabel("share of pixels removed / inserted", fontsize=8)
        ax.set_ylabel("probability", fontsize=8)
        ax.set_title(f"faithfulness{': ' if wide else chr(10)}average drop "
                     f"{metrics.average_drop:.1%}, increase "
                     f"{'yes' if metrics.average_increase else 'no'}", fontsize=9)


def road_axes(ax: Axes, metrics: Faithfulness, compact: bool = False, legend_columns: int = 2,
              wide: bool = True) -> None:
    """ROAD's curves (Rong 2022): the probability as pixels are imputed from their
    neighbours, most relevant first (MoRF) and least relevant first (LeRF), with their
    areas; the legend and title as ``metrics_axes``'."""
    _two_curves(ax, metrics.road_fractions, (metrics.road_morf, metrics.road_lerf), (
        f"MoRF AUC {metrics.road_morf_auc:.3f} (lower better)",
        f"LeRF AUC {metrics.road_lerf_auc:.3f} (higher better)"), compact, legend_columns)
    if not compact:
        ax.set_xlabel("share of pixels imputed", fontsize=8)
        ax.set_title(f"ROAD{': ' if wide else chr(10)}removed pixels imputed", fontsize=9)


CURVE_COLORS = ("#c0392b", "#2471a3")  # the curve that should fall, the one that should stay


def _two_curves(ax: Axes, fractions: np.ndarray, curves: tuple[np.ndarray, np.ndarray],
                labels: tuple[str, str], compact: bool, legend_columns: int) -> None:
    """Two curves over the share of pixels, 0-1 both ways; the legend in the upper right
    corner (``compact``) or under the axis and its labels, never over the curves."""
    ax.set_axis_on()
    for values, label, color in zip(curves, labels, CURVE_COLORS):
        ax.plot(fractions, values, color=color, marker=".", label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.tick_params(labelsize=7)
    if compact:
        ax.legend(fontsize=6, loc="upper right")
    else:  # a pad in font sizes (not in axes heights) clears the tick labels and the x label
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=3.8,
                  ncol=legend_columns, frameon=False)


@draws(Explanation, cmap="jet")
def explanation_view(result: Explanation, style: FigureStyle, cmap: str) -> Figure:
    """One image's explanation with its predictions, mask and metrics."""
    return gradcam_figure(result.image_rgb, result.cam, style.alpha, cmap,
                          list(result.predictions), result.mask, tall=style.tall,
                          metrics=result.metrics, normalize=style.normalize)
