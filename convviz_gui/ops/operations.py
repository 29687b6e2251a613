"""One function per user operation: ``run(request, context) -> result``.

The window (through the engine process) and the CLI (in its own process) call these
and nothing else, so each sequence of engine calls exists once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerInfo, find_layer, spatial_layers
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.messages import (
    Activations,
    ActivationsResult,
    BatchReport,
    Compare,
    Comparison,
    Explain,
    ExplainedImage,
    ExplainFrame,
    ExplainImages,
    Explanation,
    ExportAllActivations,
    ExportFigure,
    Filters,
    FiltersResult,
    FrameExplanation,
    ImageExplanations,
    ImageRef,
    ImageSummary,
    Kernels,
    KernelsResult,
    ModelInput,
    ModelInputResult,
    ModelSummary,
    OpenImage,
    OpenModel,
    Overview,
    OverviewResult,
    OverviewRows,
    OverviewRowsResult,
    Predict,
    Predictions,
    ReportResult,
    Request,
    Saved,
    SaveModelSettings,
)

THUMBNAIL_SIDE = 400
EXPLAINED_IMAGE_SIDE = 1024  # display copies in an ``ImageExplanations``
REPORT_IMAGE_SIDE = 512  # display copies drawn into a batch report


def summarize(loaded: Any, request: OpenModel) -> ModelSummary:
    """Plain-data description of a ``LoadedModel``."""
    default = loaded.default_cam_layer()
    return ModelSummary(
        ref=request.model, name=loaded.name, source=loaded.source,
        input_shape=loaded.input_shape, output_shape=loaded.output_shape,
        output_kind=loaded.output_kind, labels=tuple(loaded.labels), preset=loaded.auto_preset,
        params=int(loaded.keras_model.count_params()), layer_tree=tuple(loaded.layer_tree),
        default_cam_path=default.path if default else None,
        is_application=loaded.app_preprocess is not None, notes=tuple(loaded.notes),
        preset_guessed=loaded.preset_guessed, preset_source=loaded.preset_source,
        outputs=loaded.outputs, output=loaded.output,
        default_cam_reason=loaded.cam_layer_choice.reason, saved_by=loaded.saved_by,
    )


def open_model(request: OpenModel, context: OpContext) -> ModelSummary:
    """Load the model (TensorFlow on first use) and describe it."""
    from convviz_gui.engine.catalog import friendly_model_name
    from convviz_gui.engine.runtime import load_keras

    context.progress("Loading TensorFlow…")
    load_keras()
    context.progress(f"Opening {friendly_model_name(request.model.spec)}…")
    return summarize(context.workspace.model(request.model), request)


def open_image(request: OpenImage, context: OpContext) -> ImageSummary:
    """Decode the image; the window gets a thumbnail, the engine keeps the pixels."""
    from PIL import Image

    image = context.workspace.image(request.image)
    thumbnail = Image.fromarray(image.rgb)
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return ImageSummary(request.image, image.name, image.size, np.asarray(thumbnail))


def _model_image_batch(request: Any, context: OpContext) -> tuple[Any, Any, np.ndarray]:
    loaded = context.workspace.model(request.model)
    image = context.workspace.image(request.image)
    return loaded, image, loaded.prepare(image, request.preset, request.image.fit)


def save_model_settings(request: SaveModelSettings, context: OpContext) -> Saved:
    """Write the sidecar files of a model file and forget the opened copy."""
    from convviz_gui.engine.model_settings import save_model_settings as write_sidecars

    spec = request.model.spec
    if spec == "demo" or spec.startswith("app:"):
        raise ConvVizError("Settings are saved next to a model file; the demo and the Keras "
                           "Applications have theirs built in.")
    loaded = context.workspace.model(request.model)
    written = write_sidecars(spec, loaded.class_count, request.preset, request.labels_file,
                             request.input_size)
    context.workspace.forget_model(request.model)
    return Saved(tuple(str(path) for path in written))


def model_input(request: ModelInput, context: OpContext) -> ModelInputResult:
    """The image as the model receives it (size, fit and channels; before the preset)."""
    from convviz_gui.engine.images import to_model_pixels

    loaded = context.workspace.model(request.model)
    image = context.workspace.image(request.image)
    height, width = loaded.input_size()
    pixels = to_model_pixels(image, height, width, loaded.channels, request.image.fit)[0]
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return ModelInputResult(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, request.image.fit)


def predict(request: Predict, context: OpContext) -> Predictions:
    """Top-k predictions."""
    from convviz_gui.engine.cam import predict as top_k

    loaded, image, batch = _model_image_batch(request, context)
    return Predictions(loaded.name, image.name, tuple(top_k(loaded, batch, request.top)))


def spatial_layer(loaded: Any, name_or_path: str | tuple[str, ...]) -> LayerInfo:
    """The layer with that name or path, checked to have a spatial output of its own."""
    name = name_or_path if isinstance(name_or_path, str) else "/".join(name_or_path)
    info = find_layer(loaded.layer_tree, name)
    if info is None:
        raise ConvVizError(f"No layer named '{name}' in {loaded.name}; see 'convviz inspect'.")
    if not info.spatial or info.is_container:
        raise ConvVizError(f"{info.name} has output {info.output_shape}, not a spatial feature map; "
                           "choose a convolution or pooling layer.")
    return info


def activations(request: Activations, context: OpContext) -> ActivationsResult:
    """One forward pass to the layer."""
    from convviz_gui.engine.activations import compute_activations

    started = time.perf_counter()
    loaded, image, batch = _model_image_batch(request, context)
    path = spatial_layer(loaded, request.layer).path
    acts = compute_activations(loaded, batch, [path])[path].prepared()
    return ActivationsResult(acts, image.name, time.perf_counter() - started)


def overview(request: Overview, context: OpContext) -> OverviewResult:
    """First channels of every spatial layer from one forward pass."""
    from convviz_gui.engine.activations import overview_tiles

    started = time.perf_counter()
    loaded, _, batch = _model_image_batch(request, context)
    paths = [node.path for node in spatial_layers(loaded.layer_tree)]
    if not paths:
        raise ConvVizError(f"{loaded.name} has no layers with spatial output.")
    tiles = overview_tiles(loaded, batch, paths, request.channels)
    title = f"{loaded.name}: first {request.channels} channels of every layer"
    return OverviewResult(title, tuple(tiles), time.perf_counter() - started)


def overview_rows(request: OverviewRows, context: OpContext) -> OverviewRowsResult:
    """First channels of the requested spatial layers only, from one forward pass."""
    from convviz_gui.engine.activations import overview_tiles

    started = time.perf_counter()
    loaded, _, batch = _model_image_batch(request, context)
    paths = [spatial_layer(loaded, path).path for path in request.layers]
    if not paths:
        raise ConvVizError("Choose at least one layer.")
    tiles = overview_tiles(loaded, batch, paths, request.channels)
    rows = tuple((path, grid) for path, (_, grid) in zip(paths, tiles))
    return OverviewRowsResult(rows, time.perf_counter() - started)


def filters(request: Filters, context: OpContext) -> FiltersResult:
    """Gradient ascent with progress (``FilterProgress``) and cancel between steps.

    The clear style's unit and class objectives take a flat layer (or none: the class
    objective reads the model's output), which the engine checks itself.
    """
    from convviz_gui.engine.featurevis import visualize_filters

    loaded = context.workspace.model(request.model)
    settings = request.settings
    spatial = settings.style != "clear" or settings.clear.spatial
    path = spatial_layer(loaded, request.layer).path if spatial else request.layer
    result = visualize_filters(loaded, path, list(request.indices), settings,
                               progress=context.progress, should_cancel=lambda: context.cancelled)
    return FiltersResult(result)


def _explain_batch(loaded: Any, batch: np.ndarray, request: Explain | ExplainFrame,
                   context: OpContext, target: str = "class",
                   region: tuple[float, float, float, float] | None = None
                   ) -> tuple[Any, list, Any]:
    """The predictions, the target and the method's map for one prepared image: the part
    ``explain`` and ``explain_frame`` share."""
    from convviz_gui.engine.cam import make_cam, make_target, resolve_class
    from convviz_gui.engine.cam import predict as top_k

    layer = spatial_layer(loaded, request.layer).path if request.layer else None
    predictions = top_k(loaded, batch, request.top or loaded.class_count)
    if target == "class" and loaded.output_kind == "regression":
        target = "regression"  # a raw output, not a class
    chosen = make_target(target, resolve_class(loaded, request.class_, predictions), region)
    explainer = make_cam(loaded, layer, request.method, request.score, request.options,
                         request.preset)
    cam = explainer.explain(batch, chosen, context.progress, lambda: context.cancelled)
    return cam, predictions, chosen


def explain(request: Explain, context: OpContext) -> Explanation:
    """Predictions, the target to explain, and the method's heatmap (plus its faithfulness
    metrics when asked); batched methods report progress and stop on cancel."""
    from convviz_gui.engine.cam import predicted_mask

    started = time.perf_counter()
    loaded, image, batch = _model_image_batch(request, context)
    cam, predictions, target = _explain_batch(loaded, batch, request, context, request.target,
                                              request.region)
    metrics = None
    if request.metrics:
        from convviz_gui.engine.cam.metrics import faithfulness

        metrics = faithfulness(loaded, batch, cam, target, request.score, request.options,
                               request.preset or loaded.preset, context.progress,
                               lambda: context.cancelled)
    mask = predicted_mask(loaded, batch) if loaded.output_kind == "segmentation" else None
    return Explanation(cam, tuple(predictions), image.rgb, image.name, image.size, mask,
                       time.perf_counter() - started, metrics)


def explained_images(request: ExplainImages, context: OpContext,
                     display_side: int = EXPLAINED_IMAGE_SIDE
                     ) -> Iterator[ExplainedImage | tuple[str, str]]:
    """Explain ``request.images`` a batch at a time (one forward pass for the predictions
    and, for the gradient CAMs, one forward/backward pass for the maps of each batch).

    Yields:
        Each readable image's ``ExplainedImage`` in order, or ``(path, reason)`` for an
        image that cannot be read. Raises ``ExplanationCancelled`` when cancelled.
    """
    from PIL import Image

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

    loaded = context.workspace.model(request.model)
    layer = spatial_layer(loaded, request.layer).path if request.layer else None
    explainer = make_cam(loaded, layer, request.method, request.score, request.options,
                         request.preset)
    chosen = None if request.class_ in (None, "", "top") else \
        make_target("class", resolve_class(loaded, request.class_, []))
    refs, size = request.images, batch_size_for(loaded, request.options)
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
                batches.append(loaded.prepare(image, request.preset, ref.fit))
            except ConvVizError as error:
                yield ref.path, str(error)
                continue
            readable.append((ref, image))
        if not readable:
            continue
        batch = np.concatenate(batches).astype(np.float32)
        clean = explained_outputs(loaded, batch, request.score)
        if chosen is None and request.same_class:
            chosen = make_target("class", ranked(loaded, clean[1][0], 1)[0].index)
        cams = explainer.explain_many(batch, [chosen] * len(batch), clean, None, cancelled)
        for index, ((ref, image), cam) in enumerate(zip(readable, cams)):
            metrics = faithfulness(loaded, batch[index:index + 1], cam,
                                   make_target("class", cam.class_index), request.score,
                                   request.options, request.preset or loaded.preset, None,
                                   cancelled) if request.metrics else None
            display = Image.fromarray(image.rgb)
            display.thumbnail((display_side, display_side), Image.Resampling.LANCZOS)
            yield ExplainedImage(ref.path, image.name, image.size, np.asarray(display),
                                 tuple(ranked(loaded, clean[1][index], request.top or loaded.class_count)),
                                 cam, metrics)
    context.progress(Progress(len(refs), len(refs), "Explained images"))


def explain_images(request: ExplainImages, context: OpContext) -> ImageExplanations:
    """The same explanation of several images (the Grad-CAM tab's image comparison)."""
    started = time.perf_counter()
    if not request.images:
        raise ConvVizError("Choose at least one image.")
    items, skipped = [], []
    for found in explained_images(request, context):
        (skipped if isinstance(found, tuple) else items).append(found)
    if not items:
        raise ConvVizError(f"None of the images could be read ({skipped[0][1]})")
    cam = items[0].cam
    return ImageExplanations(context.workspace.model(request.model).name, cam.method, cam.where,
                             tuple(items), tuple(skipped), time.perf_counter() - started)


def batch_report(request: BatchReport, context: OpContext) -> ReportResult:
    """Explain every image of the files and folders (a batch at a time, as
    ``explained_images``) and write the report as they come: memory stays bounded, and the
    file appears only when it is complete (nothing is left after an error or a cancel)."""
    from convviz_gui.engine.cam import ExplanationCancelled, Progress
    from convviz_gui.engine.images import collect_image_files
    from convviz_gui.figures.report import open_report
    from convviz_gui.figures.report.base import ReportHeader

    started = time.perf_counter()
    files, skipped = collect_image_files(request.inputs, request.recursive)
    if not files:
        raise ConvVizError(skipped[0][1] if len(skipped) == 1 else
                           f"No files to explain in {', '.join(request.inputs)}.")
    explain = ExplainImages(request.model, tuple(ImageRef(path, request.fit) for path in files),
                            request.layer, request.method, request.class_, request.preset,
                            request.top, request.score, request.options, request.metrics)
    entries, last, missing = [], None, len(skipped)
    root = os.path.commonpath([os.path.dirname(os.path.abspath(path)) for path in files])
    with open_report(request.out, request.alpha, request.cmap, root) as writer:
        for path, reason in skipped:
            writer.skip(path, reason)
        for found in explained_images(explain, context, REPORT_IMAGE_SIDE):
            if isinstance(found, tuple):
                skipped.append(found)
                writer.skip(*found)
            else:
                writer.add(found)
                entries.append(found.to_dict())
                last = found.cam
            if context.cancelled:
                raise ExplanationCancelled("Cancelled.")
            done = len(entries) + len(skipped) - missing
            context.progress(Progress(done, len(files), f"Report: {len(entries)} images written"))
        if last is None:
            raise ConvVizError(f"None of the files could be read as an image ({skipped[-1][1]})")
        model_name = context.workspace.model(request.model).name
        rule = "each image's top class" if request.class_ in (None, "", "top") else \
            f"class '{last.label}' ({last.class_index})"
        seconds = time.perf_counter() - started
        if context.cancelled:  # a Cancel during the last image wins: no file
            raise ExplanationCancelled("Cancelled.")
        path = writer.finish(ReportHeader(model_name, last.method, last.where, rule, seconds))
    if context.cancelled:  # ... and during the writing too: the file goes again
        Path(path).unlink(missing_ok=True)
        raise ExplanationCancelled("Cancelled.")
    return ReportResult(str(path), writer.format, model_name, last.method, last.where,
                        tuple(entries), tuple(skipped), seconds)


def explain_frame(request: ExplainFrame, context: OpContext) -> FrameExplanation:
    """One video frame (the Live tab): predictions and the map of a fast (not batched)
    method, at the frame's own size; the frame is not sent back."""
    from convviz_gui.engine.images import LoadedImage
    from convviz_gui.ops.messages import is_long

    started = time.perf_counter()
    if is_long(request.method):
        raise ConvVizError(f"{request.method} runs many passes per image, too slow for the live "
                           "view; use it in the Grad-CAM tab.")
    frame = np.asarray(request.frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ConvVizError(f"A video frame must be (height, width, 3) uint8 RGB, not "
                           f"{frame.shape} {frame.dtype}.")
    loaded = context.workspace.model(request.model)
    image = LoadedImage(frame, f"frame {request.frame_id}")
    batch = loaded.prepare(image, request.preset, request.fit)
    cam, predictions, _ = _explain_batch(loaded, batch, request, context)
    peak = cam.peak_xy(frame.shape[1], frame.shape[0])
    return FrameExplanation(request.frame_id, cam, tuple(predictions), peak,
                            time.perf_counter() - started)


def compare(request: Compare, context: OpContext) -> Comparison:
    """Every method for every class (or layer), with metrics; progress over the whole grid."""
    from convviz_gui.engine.cam import Progress, make_cam, make_target, resolve_class
    from convviz_gui.engine.cam import predict as top_k
    from convviz_gui.engine.cam.metrics import faithfulness

    started = time.perf_counter()
    loaded, image, batch = _model_image_batch(request, context)
    if not request.methods:
        raise ConvVizError("Choose at least one method to compare.")
    predictions = top_k(loaded, batch, loaded.class_count)
    wanted = request.classes or [p.index for p in predictions[:max(1, request.top)]]
    classes = [resolve_class(loaded, value, predictions) for value in wanted]
    layers = [spatial_layer(loaded, layer).path for layer in request.layers]
    columns = [(classes[0], layer) for layer in layers] if layers else \
        [(index, None) for index in classes]
    total = len(request.methods) * len(columns)
    cancelled = lambda: context.cancelled  # noqa: E731
    rows = []
    for row, method in enumerate(request.methods):
        cells = []
        for column, (class_index, layer) in enumerate(columns):
            done = row * len(columns) + column
            explainer = make_cam(loaded, layer, method, request.score, request.options,
                                 request.preset)
            stage = f"{explainer.name} for {loaded.labels[class_index]}" + \
                (f" at {layer[-1]}" if layer else "")

            def report(update: Any, done: int = done, stage: str = stage) -> None:
                part = getattr(update, "fraction", 0.0)
                context.progress(Progress(round((done + part) * 100), total * 100, stage))

            report(None)
            target = make_target(request.target, class_index)
            cam = explainer.explain(batch, target, report, cancelled)
            metrics = faithfulness(loaded, batch, cam, target, request.score, request.options,
                                   request.preset or loaded.preset, None, cancelled) \
                if request.metrics else None
            cells.append((cam, metrics))
        rows.append(tuple(cells))
    labels = tuple("/".join(layer) for layer in layers) if layers else \
        tuple(loaded.labels[index] for index in classes)
    return Comparison(tuple(cam.method for cam, _ in (row[0] for row in rows)), labels,
                      "layers" if layers else "classes", tuple(rows), tuple(predictions),
                      image.rgb, image.name, image.size, time.perf_counter() - started)


def export_figure(request: ExportFigure, context: OpContext) -> Saved:
    """Draw the result at the figure's own size and save it atomically."""
    from convviz_gui.files import save_figure

    figure = figure_for(request.result, request.style)
    return Saved((str(save_figure(figure, request.path, request.dpi)),))


def export_all_activations(request: ExportAllActivations, context: OpContext) -> Saved:
    """One grid PNG per spatial layer, named ``NNN_layer.png`` in model order.

    Names come from the model's layer names, made safe; existing files are never
    overwritten (a numbered name is used instead).
    """
    from convviz_gui.engine.activations import compute_activations
    from convviz_gui.files import safe_file_stem, save_figure, unique_path

    folder = Path(request.folder)
    if not folder.is_dir():
        raise ConvVizError(f"The folder {folder} does not exist.")
    loaded, _, batch = _model_image_batch(request, context)
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


def kernels(request: Kernels, context: OpContext) -> KernelsResult:
    """The kernels and bias of a convolution layer (weights only: no image, no forward pass)."""
    from convviz_gui.engine.kernels import (
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
    return KernelsResult(
        info.path, info.class_name, weights, bias, input_channels(info.class_name, weights[0][1].shape),
        first_convolution=info.path == first_convolution(loaded.layer_tree),
        channel_order="BGR" if loaded.auto_preset == "caffe" else "RGB")


OPERATIONS: dict[type[Request], Callable[[Any, OpContext], Any]] = {
    OpenModel: open_model,
    OpenImage: open_image,
    ModelInput: model_input,
    SaveModelSettings: save_model_settings,
    Predict: predict,
    Activations: activations,
    Overview: overview,
    OverviewRows: overview_rows,
    Filters: filters,
    Explain: explain,
    Compare: compare,
    ExplainImages: explain_images,
    BatchReport: batch_report,
    ExplainFrame: explain_frame,
    ExportFigure: export_figure,
    ExportAllActivations: export_all_activations,
    Kernels: kernels,
}


def run(request: Request, context: OpContext) -> Any:
    """Run the operation a request asks for; raises ``ConvVizError`` for the user's mistakes."""
    operation = OPERATIONS.get(type(request))
    if operation is None:
        raise TypeError(f"no operation for {type(request).__name__}")
    return operation(request, context)
