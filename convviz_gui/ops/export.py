"""The export family: how a result is drawn (``FigureStyle``), a drawn result saved to a
file, and a convolution's weights (the Weights tab and ``convviz kernels``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ModelRef, Request, Saved
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.registry import operation, to_json


@dataclass(frozen=True)
class FigureStyle:
    """How a result is drawn (nothing here needs the model)."""

    cmap: str = ""  # "" = the view's default colormap
    alpha: float = 0.4
    columns: int = 16
    page: int = 0  # activation pages of ``PAGE_SIZE`` channels
    page_size: int = 256
    normalize: bool = True  # heatmaps scaled to [0, 1]; False: in units of the explained score
    tall: bool = False  # a tall, narrow canvas: multi-panel figures stack their panels 2x2


# ----- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFigure(Request):
    """Draw a result with the shared figure builder and save it (PNG, SVG or PDF)."""

    result: Any
    path: str
    style: FigureStyle = FigureStyle()
    dpi: int = 150


@dataclass(frozen=True)
class Kernels(Request):
    """The weights of one convolution layer (no image needed)."""

    model: ModelRef
    layer: LayerPath


# ----- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelsResult:
    """The weights of one convolution layer, as NumPy copies."""

    layer: LayerPath
    class_name: str
    kernels: tuple[tuple[str, np.ndarray], ...]  # ("kernel", (h, w, in, out)) or depthwise + pointwise
    bias: np.ndarray | None
    input_channels: int
    first_convolution: bool = False  # the model's first convolution: it reads the pixels
    channel_order: str = "RGB"  # of the model's input ("BGR" for caffe-preprocessed models)
    image_kernel: np.ndarray | None = None  # drawn as small images: a first Conv2D on pixels

    @property
    def name(self) -> str:
        """Slash path of the layer."""
        return "/".join(self.layer)


# ----- operations -------------------------------------------------------------------------------
@operation(ExportFigure)
def export_figure(request: ExportFigure, context: OpContext) -> Saved:
    """Draw the result at the figure's own size and save it atomically."""
    from convviz_gui.figures.registry import figure_for
    from convviz_gui.files import save_figure

    figure = figure_for(request.result, request.style)
    return Saved((str(save_figure(figure, request.path, request.dpi)),))


@operation(Kernels)
def kernels(request: Kernels, context: OpContext) -> KernelsResult:
    """The kernels and bias of a convolution layer (weights only: no image, no forward pass)."""
    from convviz_gui.engine.kernels import (
        IMAGE_CHANNELS,
        IMAGE_CLASSES,
        convolution_layer,
        first_convolution,
        input_channels,
        layer_weights,
    )

    loaded = context.workspace.model(request.model)
    info = convolution_layer(loaded.layer_tree, "/".join(request.layer), loaded.name)
    weights, bias = layer_weights(loaded.keras_model, info.path)
    if not weights:
        raise ConvVizError(f"{info.display_path} has no kernel weights.")
    channels = input_channels(info.class_name, weights[0][1].shape)
    first = info.path == first_convolution(loaded.layer_tree)
    drawable = first and info.class_name in IMAGE_CLASSES and channels in IMAGE_CHANNELS
    return KernelsResult(
        info.path, info.class_name, weights, bias, channels, first_convolution=first,
        channel_order="BGR" if loaded.auto_preset == "caffe" else "RGB",
        image_kernel=weights[0][1] if drawable else None)


@to_json.register(KernelsResult)
def _kernels_json(result: KernelsResult) -> dict[str, Any]:
    """JSON-ready layer, kernel shape and statistics of every weight array."""
    from convviz_gui.engine.kernels import weight_stats

    arrays = [*result.kernels, *([("bias", result.bias)] if result.bias is not None else [])]
    return {"layer": result.name, "class": result.class_name,
            "shape": list(result.kernels[0][1].shape), "input_channels": result.input_channels,
            "first_convolution": result.first_convolution,
            "weights": [{"name": name, **weight_stats(values)} for name, values in arrays]}
