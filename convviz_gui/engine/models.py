"""Model loading (.keras / .h5 files, the bundled demo, the Keras Applications catalog)."""

from __future__ import annotations

import importlib
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from convviz_gui.engine import keras2
from convviz_gui.engine.catalog import CATALOG, friendly_model_name
from convviz_gui.engine.errors import ConvVizError, OfflineWeightsError
from convviz_gui.engine.images import LoadedImage, preprocess, to_model_pixels
from convviz_gui.engine.labels import imagenet_labels, resolve_labels, sidecar_labels
from convviz_gui.engine.layers import CamLayerChoice, LayerInfo, build_layer_tree, choose_cam_layer
from convviz_gui.engine.model_code import (
    SETTINGS_KEY,
    code_label,
    custom_objects_for,
    explain_load_failure,
    has_layer_graph,
    remembered_code,
    stored_code,
    subclassed_error,
)
from convviz_gui.engine.model_settings import read_model_settings, settings_file, write_model_settings
from convviz_gui.engine.outputs import (
    ModelOutput,
    choose_output,
    describe_outputs,
    output_first_view,
    output_labels,
    producing_layer,
)
from convviz_gui.engine.runtime import load_keras
from convviz_gui.paths import resource

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
DEMO_MODEL = ("models", "emotion_mini_xception.hdf5")
DEMO_IMAGE = ("images", "astronaut_face.png")
# The demo photo is the face of the NASA astronaut photo: rows 30-230, cols 130-330.
DEMO_CROP_OFFSET_XY = (130, 30)
DYNAMIC_INPUT_SIZE = 224


@dataclass(eq=False)
class LoadedModel:
    """A Keras model with what ConvViz needs to feed and explain it.

    ``cache`` holds compiled feature/gradient functions built for this model; it
    lives and dies with the model, so there is no global state.
    """

    keras_model: Any
    name: str
    source: str
    auto_preset: str
    labels: tuple[str, ...]
    app_preprocess: Callable | None = None
    preset: str = ""
    fallback_size: int = DYNAMIC_INPUT_SIZE
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict, repr=False)
    preset_guessed: bool = False  # no sidecar and no Rescaling layer: 1/255 is a guess
    preset_source: str = ""  # where the preset comes from, in words
    outputs: tuple[ModelOutput, ...] = ()  # every output of the file's model
    output: ModelOutput | None = None  # the explained one (``keras_model.outputs[0]``)
    file_model: Any = None  # the model with its outputs in the file's order (same layers)
    saved_by: str = ""  # "Keras 2.15.0 (tf-keras)", "Keras 3.15.1"; "" when unknown

    def __post_init__(self) -> None:
        if not self.preset:
            self.preset = self.auto_preset

    @cached_property
    def layer_tree(self) -> list[LayerInfo]:
        """Every layer, nested models expanded, in the file's order (whichever output is
        explained)."""
        return build_layer_tree(self.keras_model if self.file_model is None else self.file_model)

    @property
    def input_shape(self) -> tuple[int | None, int | None, int]:
        """(height, width, channels) of the model input; None for dynamic sizes."""
        shape = tuple(self.keras_model.inputs[0].shape)
        return shape[1], shape[2], int(shape[3])

    @property
    def channels(self) -> int:
        """1 (grayscale) or 3 (RGB)."""
        return self.input_shape[2]

    def input_size(self) -> tuple[int, int]:
        """(height, width) images are resized to; dynamic inputs use ``fallback_size``."""
        height, width, _ = self.input_shape
        return height or self.fallback_size, width or self.fallback_size

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """Shape of the (first) model output."""
        return tuple(self.keras_model.outputs[0].shape)

    @property
    def output_kind(self) -> str:
        """What the explained output is: one of ``outputs.KINDS``."""
        if self.output is not None:
            return self.output.kind
        shape = self.output_shape
        if len(shape) == 4:
            return "segmentation"
        if len(shape) == 2 and (shape[-1] or 0) > 1:
            return "classification"
        return "score"

    @property
    def class_count(self) -> int:
        """Number of output classes (1 for a single score)."""
        return int(self.output_shape[-1] or 1) if len(self.output_shape) >= 2 else 1

    @property
    def output_layer_name(self) -> str | None:
        """Name of the layer producing the explained output (inside nested models too)."""
        layer = producing_layer(self.keras_model.outputs[0])
        return layer.name if layer is not None else self.keras_model.layers[-1].name

    @cached_property
    def output_ancestors(self) -> set[tuple[str, ...]]:
        """Paths of the layers the explained output depends on."""
        from convviz_gui.engine.graph import ancestor_paths

        return ancestor_paths(self.keras_model)

    @cached_property
    def cam_layer_choice(self) -> CamLayerChoice:
        """The default layer of the class activation maps, and why."""
        return choose_cam_layer(self.layer_tree, self.output_layer_name, self.output_ancestors)

    def default_cam_layer(self) -> LayerInfo | None:
        """The last convolution-like spatial layer the explained output depends on."""
        return self.cam_layer_choice.layer

    def prepare(self, image: LoadedImage, preset: str | None = None, fit: str = "stretch"
                ) -> np.ndarray:
        """The image as a (1, H, W, C) float32 batch ready for the model.

        Args:
            image: the image to feed.
            preset: preprocessing preset (default: the model's).
            fit: how the image meets the input size: ``stretch``, ``crop`` or ``pad``.
        """
        height, width = self.input_size()
        pixels = to_model_pixels(image, height, width, self.channels, fit)
        return preprocess(pixels, preset or self.preset, self.app_preprocess)


def _validate_input(model: Any, source: str) -> None:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ConvVizError(f"{source} has no defined input; save it after building it on data.")
    if len(inputs) != 1:
        raise ConvVizError(f"{source} has {len(inputs)} inputs; ConvViz explains single-image models.")
    shape = tuple(inputs[0].shape)
    if len(shape) == 3:
        raise ConvVizError(f"{source} takes sequences (1-D input), not images.")
    if len(shape) != 4:
        raise ConvVizError(f"{source} takes input of shape {shape}, not (height, width, channels).")
    if shape[3] not in (1, 3):
        if shape[1] in (1, 3):
            raise ConvVizError(f"{source} is channels-first; ConvViz needs channels-last images.")
        raise ConvVizError(f"{source} expects {shape[3]} input channels; images have 1 or 3.")


def _own_preprocessing(loaded: LoadedModel) -> None:
    """Feed raw 0-255 pixels when the model rescales them itself (a Rescaling layer, or the
    operations of ``preprocess_input`` applied to its input); else guess 1/255 and say so."""
    from convviz_gui.engine.graph import input_preprocessing

    found = input_preprocessing(loaded.layer_tree)
    loaded.auto_preset = "none" if found else "unit"
    loaded.preset = loaded.auto_preset
    loaded.preset_guessed = not found
    names = ", ".join(f"{node.name} ({node.class_name})" for node in found[:6])
    loaded.preset_source = (f"the model's own preprocessing at its input: {names}" if found else
                            "a guess: no Rescaling layer or preprocessing operations at the input")


def load_model_file(path: str | Path, trust_model_code: bool = False,
                    output: str | int | None = None, model_code: Sequence[str] = ()
                    ) -> LoadedModel:
    """Load a ``.keras`` or legacy ``.h5`` model (no compile, safe mode unless trusted).

    Args:
        trust_model_code: the user consented to run code (Lambda layers, model code).
        output: the output to explain (name or index); None: the sidecar's, else the head
            that looks like a classifier.
        model_code: ``.py`` files (absolute) or module names defining its custom classes,
            imported first and remembered in the sidecar; empty: the sidecar's, if any.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise ConvVizError(f"The model file {name} does not exist.")
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            raise ConvVizError(
                f"{name} is a TensorFlow SavedModel folder, which holds no Keras layers ConvViz "
                "can look inside; from the code that built the model, save a .keras file "
                "(model.save('model.keras') in Keras 3, or rebuild the model in Keras 3 and "
                "load_weights the tf-keras .h5 file)."
            )
        raise ConvVizError(f"{name} is a folder, not a model file.")
    if path.name.endswith(".weights.h5"):
        raise ConvVizError(f"{name} holds only weights, no architecture; open the full model file.")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ConvVizError(f"{name} is not a Keras model file (.keras, .h5 or .hdf5).")
    if not os.access(path, os.R_OK):
        raise ConvVizError(f"You do not have permission to read {name}.")
    if path.stat().st_size == 0:
        raise ConvVizError(f"The model file {name} is empty.")
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ConvVizError(f"{name} is not a Keras file (damaged or not a Keras model): a .keras "
                           "file is a zip archive (saved by model.save), and this file is not one.")
    settings = read_model_settings(path)
    code = tuple(model_code) or remembered_code(path, settings)
    if code and not trust_model_code:
        raise UnsafeModelError(f"{name} needs its Python code from {code_label(code)}, which runs "
                               "when loaded; open it only if you trust its author.")
    custom_objects = custom_objects_for(path, code) if code else {}
    try:
        model, saved_by = keras2.load_model(path, safe_mode=not trust_model_code,
                                            custom_objects=custom_objects)
    except ConvVizError:
        raise
    except Exception as exc:  # Keras raises many types for unreadable files
        raise (explain_load_failure(path, exc, code, custom_objects)
               or _model_load_error(name, exc)) from exc
    if not has_layer_graph(model):
        raise subclassed_error(name, type(model).__name__)
    _validate_input(model, name)
    notes = []
    if model_code and settings.get(SETTINGS_KEY) != stored_code(path, model_code):
        settings[SETTINGS_KEY] = stored_code(path, model_code)
        try:
            write_model_settings(path, settings)
        except ConvVizError as exc:
            notes.append(f"{exc} The model code is not remembered for the next time.")
    candidates = sidecar_labels(path)
    if candidates is None and settings.get("labels"):
        candidates = tuple(settings["labels"])
    loaded = LoadedModel(
        keras_model=model,
        name=path.stem,
        source=str(path),
        auto_preset=settings.get("preprocess", ""),
        labels=(),
        fallback_size=int(settings.get("input_size", DYNAMIC_INPUT_SIZE)),
        preset_source=f"the settings file {settings_file(path).name}" if settings.get("preprocess")
        else "",
        saved_by=saved_by,
        notes=notes,
    )
    _choose_output(loaded, output or settings.get("output"), candidates)
    if not loaded.auto_preset:
        _own_preprocessing(loaded)
    if loaded.input_shape[0] is None:
        loaded.notes.append(
            f"The model accepts any image size; ConvViz feeds {loaded.fallback_size}x"
            f"{loaded.fallback_size} px."
        )
    return loaded


def _choose_output(loaded: LoadedModel, wanted: str | int | None,
                   candidates: tuple[str, ...] | None) -> None:
    """Compute in float32, put the explained output first and give it fitting labels."""
    from convviz_gui.engine.graph import float32_copy, reduced_precision_policy

    model = loaded.keras_model
    policy = reduced_precision_policy(model)
    if policy is not None:
        model = float32_copy(model)
        loaded.notes.append(f"The model computes in {policy}; ConvViz runs it in float32 "
                            "(same weights) so scores and gradients are exact.")
    loaded.outputs = describe_outputs(model, len(candidates) if candidates else None)
    loaded.output = choose_output(loaded.outputs, wanted)
    loaded.file_model = model
    loaded.keras_model = output_first_view(model, loaded.output)
    if len(loaded.outputs) > 1:
        others = ", ".join(item.name for item in loaded.outputs if item != loaded.output)
        loaded.notes.append(f"Explains the output {loaded.output.name}; also has {others} "
                            "(Explained output; --output in the CLI).")
    if loaded.output.kind == "features":
        loaded.notes.append("The output is a feature map (no classifier): class explanations "
                            "explain one of its channels, averaged over the image.")
    loaded.labels = resolve_labels(output_labels(loaded.output, candidates), loaded.class_count)


def _model_load_error(name: str, exc: Exception) -> ConvVizError:
    text = str(exc)
    lowered = text.lower()
    if "safe_mode" in lowered or "lambda" in lowered and "unsafe" in lowered:
        return UnsafeModelError(
            f"{name} contains Python code (a Lambda layer) that runs when loaded; "
            "open it only if you trust its author."
        )
    if "unknown layer" in lowered or "could not locate class" in lowered or "custom" in lowered:
        return ConvVizError(
            f"{name} uses a custom layer class that is not registered; "
            "ConvViz can only open models built from standard Keras layers."
        )
    if "zip" in lowered or "truncated" in lowered or "signature" in lowered or "hdf5" in lowered:
        return ConvVizError(f"{name} is damaged or not a Keras model file ({_first_line(text)}).")
    return ConvVizError(f"Cannot open {name} as a Keras model: {_first_line(text)}.")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:200].rstrip(".")


class UnsafeModelError(ConvVizError):
    """The model needs unsafe deserialization (Lambda bytecode); ask the user first."""


def load_demo() -> LoadedModel:
    """The bundled facial-expression mini-Xception (grayscale 64x64, 7 emotions)."""
    loaded = load_model_file(resource(*DEMO_MODEL))
    loaded.name = "demo (mini-Xception FER-2013)"
    loaded.source = "demo"
    return loaded


def demo_image_path() -> Path:
    """The bundled demo photo."""
    return resource(*DEMO_IMAGE)


def load_application(
    name: str, weights: str = "imagenet", include_top: bool = True
) -> LoadedModel:
    """Build a Keras Application; ``weights='none'`` gives random weights (no download)."""
    entry = CATALOG.get(name) or next(
        (item for key, item in CATALOG.items() if key.lower() == name.lower()), None
    )
    if entry is None:
        raise ConvVizError(f"Unknown Keras Application '{name}'. Available: {', '.join(CATALOG)}.")
    keras = load_keras()
    module = importlib.import_module(f"keras.applications.{entry.module}")
    builder = getattr(keras.applications, entry.name)
    use_weights = None if weights.lower() in ("none", "random") else "imagenet"
    kwargs: dict[str, Any] = {"weights": use_weights, "include_top": include_top}
    if not include_top:
        kwargs["input_shape"] = (None, None, 3)
    try:
        model = builder(**kwargs)
    except Exception as exc:  # download failures surface as generic exceptions
        if use_weights is None:
            raise ConvVizError(f"Cannot build {entry.name}: {_first_line(str(exc))}.") from exc
        raise OfflineWeightsError(
            f"The ImageNet weights of {entry.name} are not in the Keras cache (~/.keras/models) "
            "and cannot be downloaded (offline?). Connect once to cache them, or open it with "
            "random weights."
        ) from exc
    labels = imagenet_labels() if include_top else ()
    loaded = LoadedModel(
        keras_model=model,
        name=f"{entry.name} ({'ImageNet' if use_weights else 'random weights'})",
        source=f"app:{entry.name}:{'imagenet' if use_weights else 'none'}",
        auto_preset="app",
        labels=(),
        app_preprocess=module.preprocess_input,
        fallback_size=entry.input_size,
        preset_source=f"{entry.name}'s own preprocess_input",
    )
    _choose_output(loaded, None, labels or None)
    if not include_top:
        loaded.notes.append(f"Without its classifier; images are fed at {entry.input_size} px.")
    return loaded


def open_model(spec: str, trust_model_code: bool = False, output: str | None = None,
               model_code: Sequence[str] = ()) -> LoadedModel:
    """Open ``demo``, ``app:NAME[:weights]`` or a model file path (with its ``model_code``);
    ``output`` chooses the explained output of a model that has several (name or index)."""
    if model_code and (spec == "demo" or spec.startswith("app:")):
        raise ConvVizError(f"Model code is for your own model files, not {friendly_model_name(spec)}.")
    if spec == "demo":
        loaded = load_demo()
    elif spec.startswith("app:"):
        parts = spec.split(":")
        weights = parts[2] if len(parts) > 2 and parts[2] else "imagenet"
        loaded = load_application(parts[1], weights=weights)
    else:
        return load_model_file(spec, trust_model_code=trust_model_code, output=output,
                               model_code=model_code)
    if output not in (None, ""):
        choose_output(loaded.outputs, output)  # one output: says so if another was asked for
    return loaded
