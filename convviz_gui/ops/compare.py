"""The explain family's comparisons: a grid of methods x classes (or layers) for one image
(``Compare``), and the same explanation of several images, batched (``ExplainImages``;
the batch report reads its images through ``explained_images`` too)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ImageRef, ModelRef, Request
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.model import prepared_image, spatial_layer
from convviz_gui.ops.registry import operation, to_json

EXPLAINED_IMAGE_SIDE = 1024  # display copies in an ``ImageExplanations``


# ----- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Compare(Request):
    """A grid of explanations of one image: ``methods`` x ``classes``, or ``methods`` x
    ``layers`` (of the first class) when layers are given, each cell with its metrics.
    ``classes`` empty: the top ``top_classes`` classes. Each cell is ``spec`` with the
    cell's method and class (and layer, in a grid of layers; else ``spec.layer``); every
    class is ranked in the predictions. Long: progress per cell, cancellable."""

    model: ModelRef
    image: ImageRef
    methods: tuple[str, ...] = ("Grad-CAM", "Score-CAM")
    classes: tuple[int | str, ...] = ()
    layers: tuple[LayerPath, ...] = ()
    top_classes: int = 2
    spec: ExplainSpec = ExplainSpec(metrics=True)


@dataclass(frozen=True)
class ExplainImages(Request):
    """The same explanation (``spec``: method, layer, class) of several images, batched: one
    forward/backward pass for many images where the method allows. ``spec.class_`` None:
    each image's own top class (or, with ``same_class``, the first image's); the target is
    the class. Images that cannot be read are skipped with the reason. Long."""

    model: ModelRef
    images: tuple[ImageRef, ...]
    spec: ExplainSpec = ExplainSpec()
    same_class: bool = False  # with ``spec.class_`` None: the first image's top class for all


# ----- results ----------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class ImageExplanations:
    """The explanations of an ``ExplainImages``, in the order asked, and what was skipped."""

    model_name: str
    method: str
    layer: str  # slash path, or "input" for pixel methods
    items: tuple[ExplainedImage, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason)
    seconds: float = 0.0


# ----- operations -------------------------------------------------------------------------------
@operation(Compare, long=True)
def compare(request: Compare, context: OpContext) -> Comparison:
    """Every method for every class (or layer), with metrics; progress over the whole grid."""
    from convviz_gui.engine.cam import Progress, make_cam, make_target, resolve_class
    from convviz_gui.engine.cam import predict as top_k
    from convviz_gui.engine.cam.metrics import faithfulness

    started = time.perf_counter()
    spec = request.spec
    loaded, image, batch = prepared_image(context, request.model, request.image, spec.preset)
    if not request.methods:
        raise ConvVizError("Choose at least one method to compare.")
    predictions = top_k(loaded, batch, loaded.class_count)
    wanted = request.classes or [p.index for p in predictions[:max(1, request.top_classes)]]
    classes = [resolve_class(loaded, value, predictions) for value in wanted]
    layers = [spatial_layer(loaded, layer).path for layer in request.layers]
    class_layer = spatial_layer(loaded, spec.layer).path if spec.layer else None
    columns = [(classes[0], layer) for layer in layers] if layers else \
        [(index, class_layer) for index in classes]
    total = len(request.methods) * len(columns)
    cancelled = lambda: context.cancelled  # noqa: E731
    rows = []
    for row, method in enumerate(request.methods):
        cells = []
        for column, (class_index, layer) in enumerate(columns):
            done = row * len(columns) + column
            explainer = make_cam(loaded, layer, method, spec.score, spec.options, spec.preset)
            stage = f"{explainer.name} for {loaded.labels[class_index]}" + \
                (f" at {layer[-1]}" if layer else "")

            def report(update: Any, done: int = done, stage: str = stage) -> None:
                part = getattr(update, "fraction", 0.0)
                context.progress(Progress(round((done + part) * 100), total * 100, stage))

            report(None)
            target = make_target(spec.target, class_index, spec.region)
            cam = explainer.explain(batch, target, report, cancelled)
            metrics = faithfulness(loaded, batch, cam, target, spec.score, spec.options,
                                   spec.preset or loaded.preset, None, cancelled) \
                if spec.metrics else None
            cells.append((cam, metrics))
        rows.append(tuple(cells))
    labels = tuple("/".join(layer) for layer in layers) if layers else \
        tuple(loaded.labels[index] for index in classes)
    return Comparison(tuple(cam.method for cam, _ in (row[0] for row in rows)), labels,
                      "layers" if layers else "classes", tuple(rows), tuple(predictions),
                      image.rgb, image.name, image.size, time.perf_counter() - started)


def explained_images(request: ExplainImages, context: OpContext,
                     display_side: int = EXPLAINED_IMAGE_SIDE
                     ) -> Iterator[ExplainedImage | tuple[str, str]]:
    """Explain ``request.images`` a batch at a time (one forward pass for the predictions
    and, for the gradient CAMs, one forward/backward pass for the maps of each batch).

    Yields:
        Each readable image's ``ExplainedImage`` in order, or ``(path, reason)`` for an
        image that cannot be read. Raises ``ExplanationCancelled`` when cancelled.
    """
    from convviz_gui.engine.cam import (
        ExplanationCancelled,
        Progress,
        make_cam,
        make_target,
        ranked,
        resolve_class,
    )
    from convviz_gui.engine.cam.base import batch_size_for
    from convviz_gui.engine.cam.metrics import faithfulness
    from convviz_gui.engine.cam.scoring import explained_outputs
    from convviz_gui.engine.images import thumbnail

    spec = request.spec
    if spec.target != "class" or spec.region is not None:
        raise ConvVizError("Several images are explained for a class only, not for "
                           f"the target '{spec.target}' or a region.")
    loaded = context.workspace.model(request.model)
    layer = spatial_layer(loaded, spec.layer).path if spec.layer else None
    explainer = make_cam(loaded, layer, spec.method, spec.score, spec.options, spec.preset)
    chosen = None if spec.class_ in (None, "", "top") else \
        make_target("class", resolve_class(loaded, spec.class_, []))
    refs, size = request.images, batch_size_for(loaded, spec.options)
    cancelled = lambda: context.cancelled  # noqa: E731
    for start in range(0, len(refs), size):
        if context.cancelled:
            raise ExplanationCancelled("Cancelled.")
        context.progress(Progress(start, len(refs), f"Explaining images {start + 1}-"
                                                    f"{min(len(refs), start + size)}"))
        readable, batches = [], []
        for ref in refs[start:start + size]:
            try:
                image = context.workspace.image(ref)
                batches.append(loaded.prepare(image, spec.preset, ref.fit))
            except ConvVizError as error:
                yield ref.path, str(error)
                continue
            readable.append((ref, image))
        if not readable:
            continue
        batch = np.concatenate(batches).astype(np.float32)
        clean = explained_outputs(loaded, batch, spec.score)
        if chosen is None and request.same_class:
            chosen = make_target("class", ranked(loaded, clean[1][0], 1)[0].index)
        cams = explainer.explain_many(batch, [chosen] * len(batch), clean, None, cancelled)
        for index, ((ref, image), cam) in enumerate(zip(readable, cams)):
            metrics = faithfulness(loaded, batch[index:index + 1], cam,
                                   make_target("class", cam.class_index), spec.score,
                                   spec.options, spec.preset or loaded.preset, None,
                                   cancelled) if spec.metrics else None
            yield ExplainedImage(ref.path, image.name, image.size,
                                 thumbnail(image.rgb, display_side),
                                 tuple(ranked(loaded, clean[1][index], spec.top or loaded.class_count)),
                                 cam, metrics)
    context.progress(Progress(len(refs), len(refs), "Explained images"))


@operation(ExplainImages, long=True)
def explain_images(request: ExplainImages, context: OpContext) -> ImageExplanations:
    """The same explanation of several images (the Grad-CAM tab's image comparison)."""
    started = time.perf_counter()
    if not request.images:
        raise ConvVizError("Choose at least one image.")
    items: list[ExplainedImage] = []
    skipped: list[tuple[str, str]] = []
    for found in explained_images(request, context):
        if isinstance(found, tuple):
            skipped.append(found)
        else:
            items.append(found)
    if not items:
        raise ConvVizError(f"None of the images could be read ({skipped[0][1]})")
    cam = items[0].cam
    return ImageExplanations(context.workspace.model(request.model).name, cam.method, cam.where,
                             tuple(items), tuple(skipped), time.perf_counter() - started)


# ----- JSON -------------------------------------------------------------------------------------
def _cam_json(cam: CamResult, metrics: Any, image_size: tuple[int, int]) -> dict[str, Any]:
    """One map's summary (peak in original image coordinates) and its metrics when computed."""
    return {**cam.to_dict(image_size), **({"metrics": metrics.to_dict()} if metrics is not None else {})}


@to_json.register(Comparison)
def _comparison_json(result: Comparison) -> dict[str, Any]:
    """JSON-ready grid: each cell's summary (peak in original coordinates) and metrics."""
    return {"rows": list(result.rows), "columns": list(result.columns), "axis": result.axis,
            "cells": [[_cam_json(cam, metrics, result.image_size) for cam, metrics in row]
                      for row in result.cells]}


@to_json.register(ExplainedImage)
def _explained_image_json(item: ExplainedImage) -> dict[str, Any]:
    """JSON-ready entry: image, predictions, the explained class, its score and peak, and
    how its map is drawn (``sign``)."""
    summary = {"image": item.path, "predictions": [p.to_dict() for p in item.predictions],
               "class_index": item.cam.class_index, "label": item.cam.label,
               "score": round(item.cam.score, 6), "peak_xy": list(item.cam.peak_xy(*item.size)),
               "sign": item.cam.sign}
    if item.metrics is not None:
        summary["metrics"] = item.metrics.to_dict()
    return summary


@to_json.register(ImageExplanations)
def _image_explanations_json(result: ImageExplanations) -> dict[str, Any]:
    """``{"images": [...], "skipped": [{"image", "reason"}], "seconds"}``."""
    return {"images": [to_json(item) for item in result.items],
            "skipped": [{"image": path, "reason": reason} for path, reason in result.skipped],
            "seconds": round(result.seconds, 3)}
