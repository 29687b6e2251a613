"""What the window is showing: model, image, layer and preprocessing (no widgets).

The session holds plain-data summaries (``ModelSummary``, ``ImageSummary``); the Keras
model itself lives in the engine process, reached by the references in requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, SignalInstance

from convviz_gui.engine.layers import CONV_CLASSES, LayerInfo, spatial_layers
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.dataset import DatasetResult
from convviz_gui.ops.model import ImageSummary, ModelSummary


class Session(QObject):
    """Current model/image/layer; one signal per field, carrying its new value."""

    model_changed = Signal(object)  # ModelSummary
    image_changed = Signal(object)  # ImageSummary
    layer_changed = Signal(object)  # LayerInfo
    preset_changed = Signal(str)
    fit_changed = Signal(str)
    dataset_changed = Signal(object)  # DatasetResult | None

    def __init__(self) -> None:
        super().__init__()
        self.model: ModelSummary | None = None
        self.image: ImageSummary | None = None
        self.layer: LayerInfo | None = None
        self.preset: str = ""
        self.fit: str = "stretch"
        # The last dataset scan of this model (the Dataset tab's; its channels' top images
        # are shown beside the channels in the other tabs), None before one finished.
        self.dataset: DatasetResult | None = None

    @property
    def model_ref(self) -> ModelRef | None:
        """Reference of the current model for requests."""
        return self.model.ref if self.model is not None else None

    @property
    def image_ref(self) -> ImageRef | None:
        """Reference of the current image for requests, with the chosen fit mode."""
        return replace(self.image.ref, fit=self.fit) if self.image is not None else None

    def set_model(self, model: ModelSummary) -> None:
        """Switch model; the layer resets to its first convolution (edge detectors)."""
        self.model = model
        self.preset = model.preset
        spatial = spatial_layers(list(model.layer_tree))
        convs = [node for node in spatial if node.class_name in CONV_CLASSES]
        self.layer = (convs or spatial or [None])[0]
        self.model_changed.emit(model)

    def set_image(self, image: ImageSummary) -> None:
        """Switch image."""
        self.image = image
        self.image_changed.emit(image)

    def set_layer(self, layer: LayerInfo) -> None:
        """Select a layer."""
        if self.layer is None or layer.path != self.layer.path:
            self.layer = layer
            self.layer_changed.emit(self.layer)

    def set_fit(self, fit: str) -> None:
        """How the image is fitted to the model's input (stretch, crop, pad)."""
        if fit != self.fit:
            self.fit = fit
            self.fit_changed.emit(self.fit)

    def set_preset(self, preset: str) -> None:
        """Override the preprocessing preset."""
        if preset != self.preset:
            self.preset = preset
            self.preset_changed.emit(self.preset)

    def set_dataset(self, scan: DatasetResult | None) -> None:
        """The model's last dataset scan (None: no scan, or it was forgotten)."""
        if scan is not self.dataset:
            self.dataset = scan
            self.dataset_changed.emit(scan)

    def field_signals(self) -> dict[str, SignalInstance]:
        """Each field's signal by the field's name, for code that reacts to several alike."""
        return {"model": self.model_changed, "image": self.image_changed,
                "layer": self.layer_changed, "preset": self.preset_changed,
                "fit": self.fit_changed}

    def belongs_to(self, fields: str, reset: Callable[[], object]) -> None:
        """Declare state that belongs to some fields (``"model"``, ``"model image"``...):
        ``reset()`` runs whenever one of them changes, before the views recompute, so that
        nothing of the old model, layer or image stays on screen."""
        signals = self.field_signals()
        for field in fields.split():
            signals[field].connect(lambda _value, call=reset: call())

    @property
    def ready(self) -> bool:
        """True when a model and an image are loaded."""
        return self.model is not None and self.image is not None
