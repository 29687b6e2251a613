"""The right-hand panel: the image, its size, the preprocessing and what the model is."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from convviz_gui.engine.images import FIT_MODES
from convviz_gui.ops.model import ImageSummary, ModelInputResult, ModelSummary, applicable_presets
from convviz_gui.ui.controls import ndarray_to_pixmap
from convviz_gui.ui.dialogs import compact_combo

THUMBNAIL_MIN = 120
UNIT_WORDS = {"features": "channels", "regression": "values", "score": "score"}
MODEL_VIEW_SIDE = 128


def _counted(count: int, plural: str) -> str:
    """``7 classes``, ``1 class``, ``1 score``."""
    singular = {"classes": "class", "channels": "channel", "values": "value"}.get(plural, plural)
    return f"{count} {singular if count == 1 else plural}"


class ImagePanel(QWidget):
    """Thumbnail, image size, preprocessing preset (only those that apply) and model facts."""

    preset_chosen = Signal(str)
    fit_chosen = Signal(str)
    output_chosen = Signal(str)  # the name of the model output to explain

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail = QLabel("Drop an image here")
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setMinimumSize(THUMBNAIL_MIN, THUMBNAIL_MIN)
        self.thumbnail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.thumbnail.setStyleSheet("border: 1px dashed #aaa; color: #777;")
        self.thumbnail.setToolTip("The image being explained. Drop an image file on the window, "
                                  "or use File > Open Image or Edit > Paste Image.")
        self.image_info = QLabel("")
        self.image_info.setWordWrap(True)
        self.preset_combo = compact_combo(12, "How pixels are scaled before they reach the model. "
                                              "It must match how the model was trained.")
        self.preset_combo.setPlaceholderText("(no model yet)")
        self.preset_combo.setEnabled(False)
        self.preset_combo.activated.connect(
            lambda _index: self.preset_chosen.emit(self.preset_combo.currentData()))
        self.preset_hint = QLabel("")
        self.preset_hint.setWordWrap(True)
        self.preset_hint.setStyleSheet("color: #9a5b00;")
        self.preset_hint.hide()
        self.fit_combo = QComboBox()
        for key, text in FIT_MODES.items():
            self.fit_combo.addItem(key.replace("crop", "center crop"), key)
            self.fit_combo.setItemData(self.fit_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.fit_combo.setToolTip("How an image that is not the model's shape is fitted to its "
                                  "input: stretch (squash), center crop, or pad with black.")
        self.fit_combo.activated.connect(
            lambda _index: self.fit_chosen.emit(self.fit_combo.currentData()))
        self.model_view = QLabel("")
        self.model_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_view.setToolTip("What the model sees: the image at the model's input size "
                                   "and channels, fitted as chosen above (before the "
                                   "preprocessing preset).")
        self.model_view_caption = QLabel("")
        self.model_view_caption.setWordWrap(True)
        self.output_label = QLabel("Explained output")
        self.output_combo = compact_combo(12, "The model has several outputs (heads); the "
                                              "predictions and explanations are of this one.")
        self.output_combo.activated.connect(
            lambda _index: self.output_chosen.emit(self.output_combo.currentData()))
        self.model_info = QLabel("")
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.thumbnail, 1)
        layout.addWidget(self.image_info)
        layout.addWidget(self.output_label)
        layout.addWidget(self.output_combo)
        layout.addWidget(QLabel("Preprocessing"))
        layout.addWidget(self.preset_combo)
        layout.addWidget(self.preset_hint)
        layout.addWidget(QLabel("Fit to the model's input"))
        layout.addWidget(self.fit_combo)
        layout.addWidget(self.model_view_caption)
        layout.addWidget(self.model_view)
        layout.addWidget(self.model_info)
        layout.addStretch(0)
        self._pixmap: QPixmap | None = None
        self._show_outputs(None)

    def show_loading(self, model: bool, image: bool) -> None:
        """Say what is being loaded instead of asking for it."""
        if image:
            self.thumbnail.setText("Loading the image…")
        if model:
            self.model_info.setText("Loading the model…")

    def set_image(self, image: ImageSummary) -> None:
        """Show the image's thumbnail, name and original size."""
        self._pixmap = ndarray_to_pixmap(image.thumbnail)
        self._fit_thumbnail()
        width, height = image.size
        self.image_info.setText(f"{image.name}\n{width}x{height} px")
        self.image_info.setToolTip(image.ref.path)

    def set_model(self, model: ModelSummary, preset: str, guessed: bool) -> None:
        """Offer the presets that apply to the model and describe it."""
        self.preset_combo.clear()
        for key, text in applicable_presets(model).items():
            self.preset_combo.addItem(text, key)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, text,
                                          Qt.ItemDataRole.ToolTipRole)  # the whole name
        self.preset_combo.setEnabled(True)
        self.set_preset(preset)
        self.preset_hint.setText("ConvViz guessed this preprocessing; set it in Model > Model "
                                 "Settings if your model was trained otherwise.")
        self.preset_hint.setVisible(guessed)
        self.preset_combo.setToolTip(f"How pixels are scaled before they reach the model; it "
                                     f"must match how the model was trained. ConvViz chose "
                                     f"{model.preset} from {model.preset_source or 'the catalog'}.")
        self._show_outputs(model)
        height, width, channels = model.input_shape
        size = f"{height}x{width}" if height else "any size"
        notes = "".join(f"<br>{html.escape(note)}" for note in model.notes)
        layer = model.default_cam_layer()
        cam = f"<br>Grad-CAM layer: {html.escape(layer.name)}" if layer else \
            "<br>No layer for class activation maps."
        self.model_info.setText(
            f"<b>{html.escape(model.name)}</b><br>input {size}x{channels}, {model.output_kind}, "
            f"{_counted(model.class_count, UNIT_WORDS.get(model.output_kind, 'classes'))}"
            f"{cam}{notes}")
        self.model_info.setToolTip(f"Default Grad-CAM layer {model.default_cam_reason}.\n"
                                   f"Preprocessing {model.preset}: {model.preset_source}.")

    def _show_outputs(self, model: ModelSummary | None) -> None:
        """The Output box, for a model with several outputs only."""
        several = model is not None and len(model.outputs) > 1
        self.output_label.setVisible(several)
        self.output_combo.setVisible(several)
        if not several:
            return
        self.output_combo.clear()
        for output in model.outputs:
            self.output_combo.addItem(f"{output.name} ({output.kind})", output.name)
            self.output_combo.setItemData(self.output_combo.count() - 1, output.describe(),
                                          Qt.ItemDataRole.ToolTipRole)
        if model.output is not None:
            self.output_combo.setCurrentIndex(self.output_combo.findData(model.output.name))

    def set_fit(self, fit: str) -> None:
        """Show the fit mode in use."""
        self.fit_combo.setCurrentIndex(self.fit_combo.findData(fit))

    def set_model_input(self, result: ModelInputResult, model: ModelSummary) -> None:
        """Show what the model sees, at most MODEL_VIEW_SIDE px, pixels kept sharp."""
        pixels = result.pixels
        gray = pixels.ndim == 2
        pixmap = ndarray_to_pixmap(pixels)
        side = min(MODEL_VIEW_SIDE, max(pixmap.width(), pixmap.height()) * 4)
        self.model_view.setPixmap(pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.FastTransformation))
        height, width = pixels.shape[:2]
        self.model_view_caption.setText(
            f"What the model sees: {width}x{height} {'grayscale' if gray else 'RGB'}")

    def set_preset(self, preset: str) -> None:
        """Show the preset in use."""
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))

    def _fit_thumbnail(self) -> None:
        if self._pixmap is not None:
            self.thumbnail.setPixmap(self._pixmap.scaled(
                self.thumbnail.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_thumbnail()
