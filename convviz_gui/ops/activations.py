"""The activations family: one layer's activation, the overview of every layer (or of the
rows on screen), and one activation grid per layer written to a folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convviz_gui.engine.activations import LayerActivations
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath, spatial_layers
from convviz_gui.ops.base import ImageRef, ModelRef, Request, Saved
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.model import prepared_image, spatial_layer
from convviz_gui.ops.registry import operation


# ----- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Activations(Request):
    """The activation of one layer for the image."""

    model: ModelRef
    image: ImageRef
    layer: LayerPath
    preset: str | None = None


@dataclass(frozen=True)
class Overview(Request):
    """The first channels of every spatial layer, from one forward pass."""

    model: ModelRef
    image: ImageRef
    preset: str | None = None
    channels: int = 8


@dataclass(frozen=True)
class OverviewRows(Request):
    """The first channels of some spatial layers (the overview rows on screen), one pass."""

    model: ModelRef
    image: ImageRef
    layers: tuple[LayerPath, ...]
    preset: str | None = None
    channels: int = 8


@dataclass(frozen=True)
class ExportAllActivations(Request):
    """One activation-grid PNG per spatial layer into a folder (long, cancellable)."""

    model: ModelRef
    image: ImageRef
    folder: str
    preset: str | None = None
    style: FigureStyle = FigureStyle()
    dpi: int = 150


# ----- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivationsResult:
    """One layer's activation for one image."""

    activations: LayerActivations
    image_name: str
    seconds: float


@dataclass(frozen=True)
class OverviewResult:
    """First channels of every spatial layer: (layer name, tile grid) pairs."""

    title: str
    tiles: tuple[tuple[str, np.ndarray], ...]
    seconds: float


@dataclass(frozen=True)
class OverviewRowsResult:
    """Tile grids of the requested layers, as in ``OverviewResult`` but keyed by layer path."""

    rows: tuple[tuple[LayerPath, np.ndarray], ...]
    seconds: float


# ----- operations -------------------------------------------------------------------------------
@operation(Activations)
def activations(request: Activations, context: OpContext) -> ActivationsResult:
    """One forward pass to the layer."""
    from convviz_gui.engine.activations import compute_activations

    started = time.perf_counter()
    loaded, image, batch = prepared_image(context, request.model, request.image, request.preset)
    path = spatial_layer(loaded, request.layer).path
    acts = compute_activations(loaded, batch, [path])[path].prepared()
    return ActivationsResult(acts, image.name, time.perf_counter() - started)


@operation(Overview)
def overview(request: Overview, context: OpContext) -> OverviewResult:
    """First channels of every spatial layer from one forward pass."""
    from convviz_gui.engine.activations import overview_tiles

    started = time.perf_counter()
    loaded, _, batch = prepared_image(context, request.model, request.image, request.preset)
    paths = [node.path for node in spatial_layers(loaded.layer_tree)]
    if not paths:
        raise ConvVizError(f"{loaded.name} has no layers with spatial output.")
    tiles = overview_tiles(loaded, batch, paths, request.channels)
    title = f"{loaded.name}: first {request.channels} channels of every layer"
    return OverviewResult(title, tuple(tiles), time.perf_counter() - started)


@operation(OverviewRows)
def overview_rows(request: OverviewRows, context: OpContext) -> OverviewRowsResult:
    """First channels of the requested spatial layers only, from one forward pass."""
    from convviz_gui.engine.activations import overview_tiles

    started = time.perf_counter()
    loaded, _, batch = prepared_image(context, request.model, request.image, request.preset)
    paths = [spatial_layer(loaded, path).path for path in request.layers]
    if not paths:
        raise ConvVizError("Choose at least one layer.")
    tiles = overview_tiles(loaded, batch, paths, request.channels)
    rows = tuple((path, grid) for path, (_, grid) in zip(paths, tiles))
    return OverviewRowsResult(rows, time.perf_counter() - started)


@operation(ExportAllActivations, long=True)
def export_all_activations(request: ExportAllActivations, context: OpContext) -> Saved:
    """One grid PNG per spatial layer, named ``NNN_layer.png`` in model order.

    Names come from the model's layer names, made safe; existing files are never
    overwritten (a numbered name is used instead).
    """
    from convviz_gui.engine.activations import compute_activations
    from convviz_gui.figures.registry import figure_for
    from convviz_gui.files import safe_file_stem, save_figure, unique_path

    folder = Path(request.folder)
    if not folder.is_dir():
        raise ConvVizError(f"The folder {folder} does not exist.")
    loaded, _, batch = prepared_image(context, request.model, request.image, request.preset)
    layers = spatial_layers(loaded.layer_tree)
    written = []
    for number, node in enumerate(layers, 1):
        if context.cancelled:
            break
        acts = compute_activations(loaded, batch, [node.path])[node.path]
        figure = figure_for(ActivationsResult(acts, "", 0.0), request.style)
        stem = safe_file_stem(f"{number:03d}_{'_'.join(node.path)}")
        written.append(str(save_figure(figure, unique_path(folder, stem, ".png"), request.dpi)))
        context.progress(f"Exported {number}/{len(layers)} layers")
    return Saved(tuple(written))
