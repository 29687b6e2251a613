"""The model family: open a model or an image, what the model sees, its predictions, its
saved settings; and the helpers every family uses (the prepared image, a checked layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.cam import Prediction
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerInfo, LayerPath, find_layer, iter_layers
from convviz_gui.engine.outputs import ModelOutput
from convviz_gui.ops.base import ImageRef, ModelRef, Request, Saved
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.registry import operation, to_json

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

THUMBNAIL_SIDE = 400


# ----- requests ---------------------------------------------------------------------------------
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


# ----- what every family uses -------------------------------------------------------------------
def prepared_image(context: OpContext, model: ModelRef, image: ImageRef, preset: str | None
                   ) -> tuple[Any, Any, np.ndarray]:
    """The ``LoadedModel``, the ``LoadedImage`` and the image as the model's input batch."""
    loaded = context.workspace.model(model)
    opened = context.workspace.image(image)
    return loaded, opened, loaded.prepare(opened, preset, image.fit)


def spatial_layer(loaded: LoadedModel, name_or_path: str | tuple[str, ...]) -> LayerInfo:
    """The layer with that name or path, checked to have a spatial output of its own."""
    name = name_or_path if isinstance(name_or_path, str) else "/".join(name_or_path)
    info = find_layer(loaded.layer_tree, name)
    if info is None:
        raise ConvVizError(f"No layer named '{name}' in {loaded.name}; see 'convviz inspect'.")
    if not info.spatial or info.is_container:
        raise ConvVizError(f"{info.name} has output {info.output_shape}, not a spatial feature map; "
                           "choose a convolution or pooling layer.")
    return info


def applicable_presets(model: ModelSummary) -> dict[str, str]:
    """The preprocessing presets that can apply to the model (a Keras Application's own
    only to one), key -> description."""
    from convviz_gui.engine.images import PRESETS

    return {key: text for key, text in PRESETS.items() if key != "app" or model.is_application}


# ----- operations -------------------------------------------------------------------------------
def summarize(loaded: LoadedModel, request: OpenModel) -> ModelSummary:
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


@operation(OpenModel)
def open_model(request: OpenModel, context: OpContext) -> ModelSummary:
    """Load the model (TensorFlow on first use) and describe it."""
    from convviz_gui.engine.catalog import friendly_model_name
    from convviz_gui.engine.runtime import load_keras

    context.progress("Loading TensorFlow…")
    load_keras()
    context.progress(f"Opening {friendly_model_name(request.model.spec)}…")
    return summarize(context.workspace.model(request.model), request)


@operation(OpenImage)
def open_image(request: OpenImage, context: OpContext) -> ImageSummary:
    """Decode the image; the window gets a thumbnail, the engine keeps the pixels."""
    from convviz_gui.engine.images import thumbnail

    image = context.workspace.image(request.image)
    return ImageSummary(request.image, image.name, image.size, thumbnail(image.rgb, THUMBNAIL_SIDE))


@operation(SaveModelSettings)
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
    context.workspace.forget_models()
    return Saved(tuple(str(path) for path in written))


@operation(ModelInput)
def model_input(request: ModelInput, context: OpContext) -> ModelInputResult:
    """The image as the model receives it (size, fit and channels; before the preset)."""
    from convviz_gui.engine.images import to_model_pixels

    loaded = context.workspace.model(request.model)
    image = context.workspace.image(request.image)
    height, width = loaded.input_size()
    pixels = to_model_pixels(image, height, width, loaded.channels, request.image.fit)[0]
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return ModelInputResult(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, request.image.fit)


@operation(Predict)
def predict(request: Predict, context: OpContext) -> Predictions:
    """Top-k predictions."""
    from convviz_gui.engine.cam import predict as top_k

    loaded, image, batch = prepared_image(context, request.model, request.image, request.preset)
    return Predictions(loaded.name, image.name, tuple(top_k(loaded, batch, request.top)))


@to_json.register(ModelSummary)
def _model_json(model: ModelSummary) -> dict[str, Any]:
    """JSON-ready description of the model and all its layers."""
    layer = model.default_cam_layer()
    return {
        "name": model.name,
        "source": model.source,
        "input_shape": list(model.input_shape),
        "output_shape": list(model.output_shape),
        "output_kind": model.output_kind,
        "classes": len(model.labels),
        "preprocess": model.preset,
        "preprocess_source": model.preset_source,
        "params": model.params,
        "outputs": [output.to_dict() for output in model.outputs],
        "explained_output": model.output.to_dict() if model.output else None,
        "default_cam_layer": layer.display_path if layer else None,
        "default_cam_layer_reason": model.default_cam_reason,
        "layers": [node.to_dict() for node in iter_layers(list(model.layer_tree))],
        "notes": list(model.notes),
        "saved_by": model.saved_by,
    }
