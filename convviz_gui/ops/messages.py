"""Requests and results of every user operation: frozen, picklable, plain data.

A request names what to compute (model and image by reference, layer, options); a
result holds NumPy arrays and plain values, never Keras objects, so that it can cross
the pipe between the engine process and the window, and be drawn by either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from convviz_gui.engine.activations import LayerActivations
from convviz_gui.engine.cam import CamResult, MethodOptions, Prediction
from convviz_gui.engine.featurevis.results import FilterResult
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.layers import LayerInfo, LayerPath, find_layer, iter_layers
from convviz_gui.engine.outputs import ModelOutput


# ----- references -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRef:
    """Which model: a file path, ``demo`` or ``app:NAME[:imagenet|none]``; which of its
    outputs is explained (a name or index; empty: the remembered one, else the classifier);
    ``code``: the ``.py`` files (absolute) or module names defining its custom classes,
    imported first."""

    spec: str
    trust_code: bool = False
    output: str = ""
    code: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageRef:
    """Which image (a file path: pasted images are saved to a file first), and how it is
    fitted to the model's input: ``stretch``, ``crop`` (center) or ``pad``."""

    path: str
    fit: str = "stretch"


# ----- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """Base of every request. ``long`` requests may yield to short ones between steps."""

    long: ClassVar[bool] = False


@dataclass(frozen=True)
class OpenModel(Request):
    """Load a model and describe it."""

    model: ModelRef


@dataclass(frozen=True)
class OpenImage(Request):
    """Decode an image and return a thumbnail for the window."""

    image: ImageRef


@dataclass(frozen=True)
class SaveModelSettings(Request):
    """Write a model file's sidecars (preset, labels, input size); it is re-opened after."""

    model: ModelRef
    preset: str
    labels_file: str | None = None
    input_size: int | None = None


@dataclass(frozen=True)
class ModelInput(Request):
    """What the model sees: the image fitted to the input size, in the model's channels."""

    model: ModelRef
    image: ImageRef


@dataclass(frozen=True)
class Predict(Request):
    """Top-k classes of the model for the image."""

    model: ModelRef
    image: ImageRef
    preset: str | None = None
    top: int = 5


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
class Filters(Request):
    """Gradient-ascent patterns for some filters of one layer (long, cancellable), in the
    settings' style; for the clear style's class objective ``layer`` is ``()`` (the
    model's output layer is used) and ``indices`` are classes."""

    long: ClassVar[bool] = True
    model: ModelRef
    layer: LayerPath
    indices: tuple[int, ...]
    settings: FilterSettings = FilterSettings()


@dataclass(frozen=True)
class Explain(Request):
    """An explanation: predictions, the class to explain, the method's heatmap.

    ``score``: ``logit`` (the output activation bypassed, as the papers define it) or
    ``probability``. ``target``: ``class``, ``counterfactual`` (what speaks against the
    class), ``unit`` (one sigmoid unit), ``regression`` or ``region`` (segmentation: the
    pixels predicted as the class, or ``region`` = (x0, y0, x1, y1) in fractions of the
    input). ``options``: the method's own options. ``metrics``: add deletion/insertion AUC
    and Average Drop/Increase. Batched methods and metrics are ``long`` (progress, cancel).
    """

    model: ModelRef
    image: ImageRef
    layer: LayerPath | None = None  # None: the model's default CAM layer
    method: str = "Grad-CAM"  # display name or CLI name (any case)
    class_: int | str | None = None  # index, label or None for the top prediction
    preset: str | None = None
    top: int = 5  # 0: every class, ranked by score
    score: str = "logit"
    target: str = "class"
    region: tuple[float, float, float, float] | None = None
    options: MethodOptions = MethodOptions()
    metrics: bool = False

    @property
    def long(self) -> bool:  # type: ignore[override]  (per request, not per class)
        """True for batched methods and for metrics: they report progress and can be cancelled."""
        return self.metrics or is_long(self.method)


@dataclass(frozen=True)
class Compare(Request):
    """A grid of explanations of one image: ``methods`` x ``classes``, or ``methods`` x
    ``layers`` (of the first class) when layers are given, each cell with its metrics.
    ``classes`` empty: the top ``top`` classes. Long: progress per cell, cancellable."""

    long: ClassVar[bool] = True
    model: ModelRef
    image: ImageRef
    methods: tuple[str, ...] = ("Grad-CAM", "Score-CAM")
    classes: tuple[int | str, ...] = ()
    layers: tuple[LayerPath, ...] = ()
    preset: str | None = None
    top: int = 2
    score: str = "logit"
    target: str = "class"
    options: MethodOptions = MethodOptions()
    metrics: bool = True


@dataclass(frozen=True)
class ExplainImages(Request):
    """The same explanation (method, layer, class) of several images, batched: one
    forward/backward pass for many images where the method allows. ``class_`` None: each
    image's own top class (or, with ``same_class``, the first image's). Images that cannot
    be read are skipped with the reason. Long."""

    long: ClassVar[bool] = True
    model: ModelRef
    images: tuple[ImageRef, ...]
    layer: LayerPath | None = None
    method: str = "Grad-CAM"
    class_: int | str | None = None
    preset: str | None = None
    top: int = 5
    score: str = "logit"
    options: MethodOptions = MethodOptions()
    metrics: bool = False
    same_class: bool = False  # with ``class_`` None: the first image's top class for all


def is_long(method: str) -> bool:
    """True for a batched method; False for an unknown name (the operation says what is wrong)."""
    from convviz_gui.engine.cam import method_class
    from convviz_gui.engine.errors import ConvVizError

    try:
        return method_class(method).long
    except ConvVizError:
        return False


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


@dataclass(frozen=True)
class ExportFigure(Request):
    """Draw a result with the shared figure builder and save it (PNG, SVG or PDF)."""

    result: Any
    path: str
    style: FigureStyle = FigureStyle()
    dpi: int = 150


@dataclass(frozen=True)
class ExportAllActivations(Request):
    """One activation-grid PNG per spatial layer into a folder (long, cancellable)."""

    long: ClassVar[bool] = True
    model: ModelRef
    image: ImageRef
    folder: str
    preset: str | None = None
    style: FigureStyle = FigureStyle()
    dpi: int = 150



@dataclass(frozen=True)
class Kernels(Request):
    """The weights of one convolution layer (no image needed)."""

    model: ModelRef
    layer: LayerPath


@dataclass(frozen=True)
class ExplainFrame(Request):
    """One video frame of the Live tab: the top-k predictions and a fast method's map.

    Short (never batched methods), so it runs promptly even between a long job's steps.
    ``frame_id`` comes back in the ``FrameExplanation``; ``class_`` None: the top class.
    """

    model: ModelRef
    frame: np.ndarray  # (h, w, 3) uint8 RGB, as shown in the window
    frame_id: int = 0
    layer: LayerPath | None = None  # None: the model's default CAM layer
    method: str = "Grad-CAM"
    class_: int | str | None = None
    preset: str | None = None
    top: int = 5
    score: str = "logit"
    fit: str = "stretch"
    options: MethodOptions = MethodOptions()


@dataclass(frozen=True)
class BatchReport(Request):
    """An explanation of every image in some files and folders, written as one report:
    ``out`` ends in .html/.htm (self-contained) or .pdf. Folders give their non-hidden files
    (natural sort by name; subfolders with ``recursive``); unreadable files are listed as
    skipped. ``class_`` None or "top": each image's own top class. Long: progress, cancel.
    The suffix is checked at once (``ConvVizError``), before anything is computed."""

    long: ClassVar[bool] = True
    model: ModelRef
    inputs: tuple[str, ...]
    out: str
    recursive: bool = False
    class_: int | str | None = None
    method: str = "Grad-CAM"
    layer: LayerPath | None = None  # None: the model's default CAM layer
    preset: str | None = None
    fit: str = "stretch"
    top: int = 5
    score: str = "logit"
    options: MethodOptions = MethodOptions()
    metrics: bool = False
    cmap: str = "jet"
    alpha: float = 0.4

    def __post_init__(self) -> None:
        from convviz_gui.engine.errors import ConvVizError
        from convviz_gui.figures.report.base import report_format

        report_format(self.out)
        if not self.inputs:
            raise ConvVizError("Choose a folder or some image files for the report.")


# ----- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSummary:
    """A model as the window and the CLI describe it: no Keras object inside."""

    ref: ModelRef
    name: str
    source: str
    input_shape: tuple[int | None, int | None, int]
    output_shape: tuple[int | None, ...]
    output_kind: str
    labels: tuple[str, ...]
    preset: str  # the preset ConvViz chose (sidecar file, Rescaling layer or catalog)
    params: int
    layer_tree: tuple[LayerInfo, ...]
    default_cam_path: LayerPath | None
    is_application: bool
    notes: tuple[str, ...] = ()
    preset_guessed: bool = False  # no sidecar said how to preprocess: 1/255 is a guess
    preset_source: str = ""  # where the preset comes from, in words
    outputs: tuple[ModelOutput, ...] = ()  # every output of the model
    output: ModelOutput | None = None  # the explained one
    default_cam_reason: str = ""  # why ``default_cam_path`` was chosen
    saved_by: str = ""  # the Keras that saved the file ("Keras 2.15.0 (tf-keras)"); "" if unknown

    @property
    def class_count(self) -> int:
        """Number of outputs that can be explained."""
        return len(self.labels)

    def default_cam_layer(self) -> LayerInfo | None:
        """The last spatial layer before the classifier."""
        if self.default_cam_path is None:
            return None
        return find_layer(list(self.layer_tree), "/".join(self.default_cam_path))

    def presets(self) -> dict[str, str]:
        """The preprocessing presets that can apply (a Keras Application's own only to one)."""
        from convviz_gui.engine.images import PRESETS

        return {key: text for key, text in PRESETS.items() if key != "app" or self.is_application}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the model and all its layers."""
        layer = self.default_cam_layer()
        return {
            "name": self.name,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "output_kind": self.output_kind,
            "classes": len(self.labels),
            "preprocess": self.preset,
            "preprocess_source": self.preset_source,
            "params": self.params,
            "outputs": [output.to_dict() for output in self.outputs],
            "explained_output": self.output.to_dict() if self.output else None,
            "default_cam_layer": layer.display_path if layer else None,
            "default_cam_layer_reason": self.default_cam_reason,
            "layers": [node.to_dict() for node in iter_layers(list(self.layer_tree))],
            "notes": list(self.notes),
            "saved_by": self.saved_by,
        }


@dataclass(frozen=True)
class ImageSummary:
    """An opened image: its name, original size and a small copy for the window."""

    ref: ImageRef
    name: str
    size: tuple[int, int]  # original (width, height)
    thumbnail: np.ndarray  # (h, w, 3) uint8, at most THUMBNAIL_SIDE px


@dataclass(frozen=True)
class ModelInputResult:
    """The fitted image as uint8 (h, w) or (h, w, 3), before the preprocessing preset."""

    pixels: np.ndarray
    fit: str


@dataclass(frozen=True)
class Predictions:
    """Top-k answer of the model."""

    model_name: str
    image_name: str
    predictions: tuple[Prediction, ...]


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


@dataclass(frozen=True)
class FiltersResult:
    """Gradient-ascent patterns (possibly partial after a cancel)."""

    filters: FilterResult


@dataclass(frozen=True)
class Explanation:
    """A heatmap with the predictions and the image it explains (display copy)."""

    cam: CamResult
    predictions: tuple[Prediction, ...]
    image_rgb: np.ndarray  # the image as drawn under the overlay
    image_name: str
    image_size: tuple[int, int]  # original (width, height): peak_xy is in these coordinates
    mask: np.ndarray | None = None  # predicted classes per pixel (segmentation models)
    seconds: float = 0.0
    metrics: Any = None  # engine.cam.metrics.Faithfulness when asked for

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (peak in original image coordinates; metrics when computed)."""
        summary = self.cam.to_dict(self.image_size)
        if self.metrics is not None:
            summary["metrics"] = self.metrics.to_dict()
        return summary


@dataclass(frozen=True)
class Comparison:
    """The explanations of a ``Compare``: ``cells[row][column]`` is (map, metrics or None)."""

    rows: tuple[str, ...]  # method names
    columns: tuple[str, ...]  # class labels or layer paths
    axis: str  # "classes" or "layers"
    cells: tuple[tuple[tuple[CamResult, Any], ...], ...]
    predictions: tuple[Prediction, ...]
    image_rgb: np.ndarray
    image_name: str
    image_size: tuple[int, int]  # original (width, height)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready grid: each cell's summary (peak in original coordinates) and metrics."""
        return {"rows": list(self.rows), "columns": list(self.columns), "axis": self.axis,
                "cells": [[{**cam.to_dict(self.image_size),
                            **({"metrics": metrics.to_dict()} if metrics is not None else {})}
                           for cam, metrics in row] for row in self.cells]}


@dataclass(frozen=True)
class ExplainedImage:
    """One image's explanation in an ``ImageExplanations`` (display copy at most
    ``EXPLAINED_IMAGE_SIDE`` pixels; ``peak_xy`` in original pixels)."""

    path: str
    name: str
    size: tuple[int, int]  # original (width, height)
    rgb: np.ndarray
    predictions: tuple[Prediction, ...]
    cam: CamResult
    metrics: Any = None  # engine.cam.metrics.Faithfulness when asked for

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready entry: image, predictions, the explained class, its score and peak."""
        summary = {"image": self.path, "predictions": [p.to_dict() for p in self.predictions],
                   "class_index": self.cam.class_index, "label": self.cam.label,
                   "score": round(self.cam.score, 6), "peak_xy": list(self.cam.peak_xy(*self.size))}
        if self.metrics is not None:
            summary["metrics"] = self.metrics.to_dict()
        return summary


@dataclass(frozen=True)
class ImageExplanations:
    """The explanations of an ``ExplainImages``, in the order asked, and what was skipped."""

    model_name: str
    method: str
    layer: str  # slash path, or "input" for pixel methods
    items: tuple[ExplainedImage, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"images": [...], "skipped": [{"image", "reason"}], "seconds"}``."""
        return {"images": [item.to_dict() for item in self.items],
                "skipped": [{"image": path, "reason": reason} for path, reason in self.skipped],
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class Saved:
    """Files an export wrote."""

    paths: tuple[str, ...] = field(default_factory=tuple)


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

    @property
    def name(self) -> str:
        """Slash path of the layer."""
        return "/".join(self.layer)

    @property
    def image_kernel(self) -> np.ndarray | None:
        """The kernel to draw as small images: a first Conv2D on grey or colour pixels."""
        from convviz_gui.engine.kernels import IMAGE_CHANNELS, IMAGE_CLASSES

        drawable = (self.first_convolution and self.class_name in IMAGE_CLASSES
                    and self.input_channels in IMAGE_CHANNELS)
        return self.kernels[0][1] if drawable else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready layer, kernel shape and statistics of every weight array."""
        from convviz_gui.engine.kernels import weight_stats

        arrays = [*self.kernels, *([("bias", self.bias)] if self.bias is not None else [])]
        return {"layer": self.name, "class": self.class_name,
                "shape": list(self.kernels[0][1].shape), "input_channels": self.input_channels,
                "first_convolution": self.first_convolution,
                "weights": [{"name": name, **weight_stats(values)} for name, values in arrays]}


@dataclass(frozen=True)
class FrameExplanation:
    """An ``ExplainFrame``'s answer: the map and predictions, without the frame (the window
    keeps it); ``peak_xy`` is in the frame's pixels."""

    frame_id: int
    cam: CamResult
    predictions: tuple[Prediction, ...]
    peak_xy: tuple[int, int]
    seconds: float = 0.0


@dataclass(frozen=True)
class ReportResult:
    """A written ``BatchReport``: the file and each image's JSON entry (no pixels, so it
    stays small on the pipe), the skipped files with their reasons."""

    path: str
    format: str  # "html" or "pdf"
    model_name: str
    method: str
    layer: str
    images: tuple[dict[str, Any], ...]  # ``ExplainedImage.to_dict()`` of each image
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"report", "images": [...], "skipped": [{"image", "reason"}], "seconds"}``."""
        return {"report": self.path, "format": self.format, "model": self.model_name,
                "method": self.method, "layer": self.layer, "images": list(self.images),
                "skipped": [{"image": path, "reason": reason} for path, reason in self.skipped],
                "seconds": round(self.seconds, 3)}
