"""What the window is showing: model, image, layer and preprocessing (no widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from convviz_gui.engine.layers import LayerInfo


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the session handed to worker jobs."""

    model: Any
    image: Any
    layer: LayerInfo | None
    preset: str

    def batch(self):
        """The image preprocessed for the model (call on the worker thread)."""
        return self.model.prepare(self.image, self.preset)


class Session(QObject):
    """Current model/image/layer; emits ``changed`` with what changed."""

    changed = Signal(str)  # "model", "image", "layer" or "preset"

    def __init__(self) -> None:
        super().__init__()
        self.model: Any = None
        self.image: Any = None
        self.layer: LayerInfo | None = None
        self.preset: str = ""

    def set_model(self, model: Any) -> None:
        """Switch model; the layer resets to its first convolution (edge detectors)."""
        from convviz_gui.engine.layers import CONV_CLASSES, spatial_layers

        self.model = model
        self.preset = model.preset
        spatial = spatial_layers(model.layer_tree)
        convs = [node for node in spatial if node.class_name in CONV_CLASSES]
        self.layer = (convs or spatial or [None])[0]
        self.changed.emit("model")

    def set_image(self, image: Any) -> None:
        """Switch image."""
        self.image = image
        self.changed.emit("image")

    def set_layer(self, layer: LayerInfo) -> None:
        """Select a layer."""
        if layer is not self.layer:
            self.layer = layer
            self.changed.emit("layer")

    def set_preset(self, preset: str) -> None:
        """Override the preprocessing preset."""
        if preset != self.preset:
            self.preset = preset
            if self.model is not None:
                self.model.preset = preset
            self.changed.emit("preset")

    @property
    def ready(self) -> bool:
        """True when a model and an image are loaded."""
        return self.model is not None and self.image is not None

    def snapshot(self) -> Snapshot:
        """Freeze the current state for a worker."""
        return Snapshot(self.model, self.image, self.layer, self.preset)
