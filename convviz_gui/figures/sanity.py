"""The sanity check's figure, after Adebayo et al. 2018's Figure 2: the image, the original
map and the map after each cascading randomization step (absolute values, each scaled to
its own maximum), then Spearman and SSIM against the steps, and the verdict."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from convviz_gui.engine.cam import CamResult
from convviz_gui.engine.cam.base import resize_map
from convviz_gui.figures.registry import draws
from convviz_gui.figures.text import LABEL_LIMIT, shorten
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.sanity import SPEARMAN_THRESHOLD, SanityResult

MAPS_PER_ROW = 7
PANEL_LABEL = 18  # characters of a step's layer label above its map
PASSED_COLOR, FAILED_COLOR = "#1e8449", "#c0392b"


def _absolute_map(cam: CamResult, size: tuple[int, int]) -> np.ndarray:
    """The map's absolute values at ``size`` (height, width), scaled to [0, 1]."""
    raw = np.abs(np.nan_to_num(cam.raw if cam.raw is not None else cam.heatmap))
    values = np.abs(resize_map(raw, size[1], size[0]))
    top = float(values.max())
    return values / top if top > 0 else values


def _map_panel(ax: Axes, values: np.ndarray, cmap: str, title: str, color: str = "black") -> None:
    ax.imshow(values, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7, color=color)


def _curves(ax: Axes, result: SanityResult) -> None:
    """Spearman and SSIM against the steps, the threshold and the step the verdict reads."""
    steps = result.steps
    x = np.arange(1, len(steps) + 1)
    ax.plot(x, [step.spearman for step in steps], marker="o", color="#2471a3",
            label="Spearman ρ: rank correlation of the absolute maps")
    ax.plot(x, [step.ssim for step in steps], marker="s", color="#ca6f1e",
            label="SSIM: structural similarity of the absolute maps")
    ax.axhline(SPEARMAN_THRESHOLD, color="grey", linestyle="--", linewidth=1,
               label=f"pass: Spearman below {SPEARMAN_THRESHOLD} at the marked step")
    ax.axvline(result.verdict_step + 1, color=PASSED_COLOR if result.passed else FAILED_COLOR,
               linestyle=":", linewidth=1.5, label="a third of the weighted layers random")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xticks(x, [shorten(step.layer.split(" … ")[0], PANEL_LABEL) for step in steps],
                  rotation=30, ha="right", fontsize=7)
    ax.set(xlim=(0.5, len(steps) + 0.5), ylim=(min(-0.3, *(s.ssim for s in steps)) - 0.05, 1.05))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("randomized from the output down to (cumulative)", fontsize=8)
    ax.set_ylabel("similarity to the original map", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)


def sanity_figure(result: SanityResult, cmap: str = "gray") -> Figure:
    """The row(s) of maps (image, original, each randomization step labelled by the layer it
    reached, with its Spearman and SSIM), the two curves under them, and the verdict."""
    size = result.compared_size
    panels = 2 + len(result.steps)
    columns = min(MAPS_PER_ROW, panels)
    rows = -(-panels // columns)
    figure = Figure(figsize=(1.7 * columns + 0.6, 1.95 * rows + 3.6), layout="constrained")
    grid = figure.add_gridspec(rows + 1, columns, height_ratios=[1.0] * rows + [1.5])
    axes = [figure.add_subplot(grid[index // columns, index % columns]) for index in range(panels)]
    axes[0].imshow(result.image_rgb)
    axes[0].set_axis_off()
    axes[0].set_title("image", fontsize=7)
    _map_panel(axes[1], _absolute_map(result.original, size), cmap, "original map\n(trained model)")
    for index, (ax, step) in enumerate(zip(axes[2:], result.steps)):
        color = (PASSED_COLOR if result.passed else FAILED_COLOR) \
            if index == result.verdict_step else "black"
        _map_panel(ax, _absolute_map(step.cam, size), cmap,
                   f"{shorten(step.layer.split(' … ')[0], PANEL_LABEL)}"
                   f"{' …' if ' … ' in step.layer else ''}\n"
                   f"ρ {step.spearman:.2f}  SSIM {step.ssim:.2f}", color)
    _curves(figure.add_subplot(grid[rows, :]), result)
    original = result.original
    groups = f", in {len(result.steps)} groups" if result.grouped else ""
    figure.suptitle(
        f"Sanity check of {original.method} for '{shorten(original.label, LABEL_LIMIT)}' at "
        f"{original.where} ({result.image_name}): cascading randomization of "
        f"{result.weighted_layers} weighted layers{groups}, from the output down",
        fontsize=9, wrap=True)
    figure.supxlabel(textwrap.fill(result.verdict, 40 + 18 * columns), fontsize=8,
                     color=PASSED_COLOR if result.passed else FAILED_COLOR)
    return figure


@draws(SanityResult, cmap="gray")
def sanity_view(result: SanityResult, style: FigureStyle, cmap: str) -> Figure:
    """The sanity check (grayscale absolute maps, as the paper draws them, by default)."""
    return sanity_figure(result, cmap)
