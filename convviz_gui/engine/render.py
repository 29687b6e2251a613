"""Figures for every view, built on matplotlib ``Figure`` objects (no pyplot state).

The GUI embeds these figures and the CLI saves them, so exports are identical.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convviz_gui.engine.activations import GRID_COLUMNS, LayerActivations
from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.filters import FilterResult, stitch_patterns

EXPORT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
BLANK_COLOR = "#e8463a"


def colorize(values: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Map values in [0, 1] to uint8 RGB with a matplotlib colormap."""
    rgba = colormaps[cmap](np.clip(values, 0.0, 1.0))
    return (rgba[..., :3] * 255).astype(np.uint8)


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


def _image_axes(figure: Figure, rows: int, cols: int):
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return axes


def activation_grid_figure(
    acts: LayerActivations, cmap: str = "viridis", columns: int = GRID_COLUMNS,
    start: int = 0, count: int | None = 256,
) -> Figure:
    """Channel grid of one layer, blank channels outlined in red."""
    stop = acts.channel_count if count is None else min(acts.channel_count, start + count)
    mosaic = acts.grid(columns, start, stop - start)
    height, width = acts.values.shape[:2]
    columns = max(1, min(columns, stop - start))
    aspect = mosaic.shape[0] / mosaic.shape[1]
    figure = Figure(figsize=(10, max(1.6, min(30.0, 10 * aspect + 0.8))), layout="constrained")
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
    shown = f"channels {start}-{stop - 1} of {acts.channel_count}"
    blank_note = f", {len(blanks)} blank (outlined)" if blanks else ""
    ax.set_title(f"{acts.name}  ({height}x{width}, {shown}{blank_note})", fontsize=10)
    return figure


def channel_figure(acts: LayerActivations, index: int, cmap: str = "viridis") -> Figure:
    """One channel large, with its statistics."""
    stats = acts.stats()[index]
    figure = Figure(figsize=(6, 6.4), layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    image = ax.imshow(acts.values[..., index], cmap=cmap, interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label="activation")
    blank = "  BLANK (constant)" if stats.blank else ""
    ax.set_title(
        f"{acts.name} channel {index}{blank}\nmean {stats.mean:.4g}  std {stats.std:.4g}  "
        f"min {stats.min:.4g}  max {stats.max:.4g}", fontsize=10)
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
    """Reference filter grid (8 columns, 5 px margins) titled with layer and timing."""
    indices = sorted(result.patterns)
    patterns = [result.patterns[i] for i in indices]
    grid = stitch_patterns(patterns, columns, margin)
    figure = Figure(figsize=(9, 9 * grid.shape[0] / grid.shape[1] + 0.6), layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    state = " (cancelled: partial)" if result.cancelled else ""
    ax.set_title(f"{'/'.join(result.layer)}  filters {indices[0]}-{indices[-1]} "
                 f"({len(indices)}){state}", fontsize=10)
    return figure


def gradcam_figure(
    image_rgb: np.ndarray, cam: CamResult, alpha: float = 0.4, cmap: str = "jet",
    predictions: list[Prediction] | None = None, mask: np.ndarray | None = None,
) -> Figure:
    """Image, raw heatmap and overlay at the resolution of ``image_rgb`` (plus a mask if given).

    Pass ``LoadedImage.rgb``, the copy reduced to at most ``DISPLAY_MAX_SIDE``: nothing here
    is allocated at a large file's original resolution.
    """
    height, width = image_rgb.shape[:2]
    up = cam.upsampled(width, height)
    panels = 4 if mask is not None else 3
    figure = Figure(figsize=(4 * panels, 4.6), layout="constrained")
    axes = _image_axes(figure, 1, panels)[0]
    axes[0].imshow(image_rgb)
    axes[0].set_title("image", fontsize=10)
    axes[1].imshow(cam.heatmap, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    axes[1].set_title(f"heatmap {cam.heatmap.shape[0]}x{cam.heatmap.shape[1]}", fontsize=10)
    axes[2].imshow(overlay(image_rgb, up, alpha, cmap))
    x, y = cam.peak_xy(width, height)
    if np.any(up > 0):
        axes[2].plot([x], [y], marker="+", color="white", markersize=14, mew=2)
    axes[2].set_title(f"overlay (alpha {alpha:g})", fontsize=10)
    if mask is not None:
        axes[3].imshow(mask, cmap="tab10", interpolation="nearest",
                       vmin=0, vmax=max(9, int(mask.max())))
        axes[3].set_title("predicted mask", fontsize=10)
    top = ""
    if predictions:
        top = "   top: " + ", ".join(f"{p.label} {p.score:.3f}" for p in predictions[:3])
    figure.suptitle(f"{cam.method} for '{cam.label}' ({cam.score:.3f}) at "
                    f"{'/'.join(cam.layer)}{top}", fontsize=10)
    return figure




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


def save_figure(figure: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save as PNG/SVG/PDF by extension, atomically (temp file then rename)."""
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConvVizError(f"Export as {path.suffix or 'no extension'} is not supported; "
                           "use .png, .svg or .pdf.")
    folder = path.parent
    if not folder.is_dir():
        raise ConvVizError(f"The folder {folder} does not exist.")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=".convviz-", suffix=path.suffix, dir=folder)
    except OSError as exc:
        raise ConvVizError(f"Cannot write into {folder}: {exc.strerror or exc}.") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        os.chmod(temp_name, 0o666 & ~_umask())  # the user's normal mode, not mkstemp's 0600
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise ConvVizError(f"Cannot write {path.name}: {exc.strerror or exc}.") from exc
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


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
