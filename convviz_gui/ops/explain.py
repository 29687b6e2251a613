"""The explain family's core: ``ExplainSpec`` (what every explanation request shares), one
image explained (``Explain``) and one video frame (``ExplainFrame``). Several images, grids
of methods and reports build on them in ``compare`` and ``report``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.cam import CamResult, MethodOptions, Prediction
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ImageRef, ModelRef, Request
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.model import prepared_image, spatial_layer
from convviz_gui.ops.registry import operation, to_json

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


@dataclass(frozen=True)
class ExplainSpec:
    """How an image is explained: shared by ``Explain``, ``ExplainFrame``, ``ExplainImages``,
    ``Compare`` (whose grid replaces ``method``, ``class_`` and ``top``, and ``layer`` when
    it compares layers) and ``BatchReport``.

    ``score``: ``logit`` (the output activation bypassed, as the papers define it) or
    ``probability``. ``target``: ``class``, ``counterfactual`` (what speaks against the
    class), ``unit`` (one sigmoid unit), ``regression`` or ``region`` (segmentation: the
    pixels predicted as the class, or ``region`` = (x0, y0, x1, y1) in fractions of the
    input). ``options``: the method's own options. ``metrics``: add deletion/insertion AUC
    and Average Drop/Increase.
    """

    method: str = "Grad-CAM"  # display name or CLI name (any case)
    layer: LayerPath | None = None  # None: the model's default CAM layer
    class_: int | str | None = None  # index, label or None for the top prediction
    preset: str | None = None
    top: int = 5  # predictions returned; 0: every class, ranked by score
    score: str = "logit"
    target: str = "class"
    region: tuple[float, float, float, float] | None = None
    options: MethodOptions = MethodOptions()
    metrics: bool = False


# ----- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Explain(Request):
    """An explanation: predictions, the class to explain, the method's heatmap. Batched
    methods and metrics are long (progress, cancel)."""

    model: ModelRef
    image: ImageRef
    spec: ExplainSpec = ExplainSpec()


@dataclass(frozen=True)
class ExplainFrame(Request):
    """One video frame of the Live tab: the top-k predictions and a fast method's map.

    Short (never batched methods nor metrics), so it runs promptly even between a long
    job's steps. ``frame_id`` comes back in the ``FrameExplanation``.
    """

    model: ModelRef
    frame: np.ndarray  # (h, w, 3) uint8 RGB, as shown in the window
    frame_id: int = 0
    fit: str = "stretch"
    spec: ExplainSpec = ExplainSpec()


# ----- results ----------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class FrameExplanation:
    """An ``ExplainFrame``'s answer: the map and predictions, without the frame (the window
    keeps it); ``peak_xy`` is in the frame's pixels."""

    frame_id: int
    cam: CamResult
    predictions: tuple[Prediction, ...]
    peak_xy: tuple[int, int]
    seconds: float = 0.0


# ----- operations -------------------------------------------------------------------------------
def batched_method(method: str) -> bool:
    """True for a method that runs many passes per image; False for an unknown name (the
    operation says what is wrong)."""
    from convviz_gui.engine.cam import method_class

    try:
        return method_class(method).long
    except ConvVizError:
        return False


def spec_is_long(spec: ExplainSpec) -> bool:
    """True for batched methods and for metrics: they report progress and can be cancelled."""
    return spec.metrics or batched_method(spec.method)


def explain_batch(loaded: LoadedModel, batch: np.ndarray, spec: ExplainSpec, context: OpContext
                  ) -> tuple[CamResult, list[Prediction], Any]:
    """The predictions, the target and the method's map for one prepared image: the part
    ``explain`` and ``explain_frame`` share."""
    from convviz_gui.engine.cam import make_cam, make_target, resolve_class
    from convviz_gui.engine.cam import predict as top_k

    layer = spatial_layer(loaded, spec.layer).path if spec.layer else None
    predictions = top_k(loaded, batch, spec.top or loaded.class_count)
    target = spec.target
    if target == "class" and loaded.output_kind == "regression":
        target = "regression"  # a raw output, not a class
    chosen = make_target(target, resolve_class(loaded, spec.class_, predictions), spec.region)
    explainer = make_cam(loaded, layer, spec.method, spec.score, spec.options, spec.preset)
    cam = explainer.explain(batch, chosen, context.progress, lambda: context.cancelled)
    return cam, predictions, chosen


@operation(Explain, long=lambda request: spec_is_long(request.spec))
def explain(request: Explain, context: OpContext) -> Explanation:
    """Predictions, the target to explain, and the method's heatmap (plus its faithfulness
    metrics when asked); batched methods report progress and stop on cancel."""
    from convviz_gui.engine.cam import predicted_mask

    started = time.perf_counter()
    spec = request.spec
    loaded, image, batch = prepared_image(context, request.model, request.image, spec.preset)
    cam, predictions, target = explain_batch(loaded, batch, spec, context)
    metrics = None
    if spec.metrics:
        from convviz_gui.engine.cam.metrics import faithfulness

        metrics = faithfulness(loaded, batch, cam, target, spec.score, spec.options,
                               spec.preset or loaded.preset, context.progress,
                               lambda: context.cancelled)
    mask = predicted_mask(loaded, batch) if loaded.output_kind == "segmentation" else None
    return Explanation(cam, tuple(predictions), image.rgb, image.name, image.size, mask,
                       time.perf_counter() - started, metrics)


@operation(ExplainFrame)
def explain_frame(request: ExplainFrame, context: OpContext) -> FrameExplanation:
    """One video frame (the Live tab): predictions and the map of a fast (not batched)
    method, at the frame's own size; the frame is not sent back."""
    from convviz_gui.engine.images import LoadedImage

    started = time.perf_counter()
    spec = request.spec
    if batched_method(spec.method):
        raise ConvVizError(f"{spec.method} runs many passes per image, too slow for the live "
                           "view; use it in the Grad-CAM tab.")
    if spec.metrics:
        raise ConvVizError("The faithfulness metrics run many passes per image, too slow for "
                           "the live view; use them in the Grad-CAM tab.")
    frame = np.asarray(request.frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ConvVizError(f"A video frame must be (height, width, 3) uint8 RGB, not "
                           f"{frame.shape} {frame.dtype}.")
    loaded = context.workspace.model(request.model)
    image = LoadedImage(frame, f"frame {request.frame_id}")
    batch = loaded.prepare(image, spec.preset, request.fit)
    cam, predictions, _ = explain_batch(loaded, batch, spec, context)
    peak = cam.peak_xy(frame.shape[1], frame.shape[0])
    return FrameExplanation(request.frame_id, cam, tuple(predictions), peak,
                            time.perf_counter() - started)


@to_json.register(Explanation)
def _explanation_json(result: Explanation) -> dict[str, Any]:
    """JSON-ready summary (peak in original image coordinates; metrics when computed)."""
    summary = result.cam.to_dict(result.image_size)
    if result.metrics is not None:
        summary["metrics"] = result.metrics.to_dict()
    return summary
