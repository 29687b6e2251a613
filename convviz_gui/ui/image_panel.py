"""The right-hand panel: the image, its size, the preprocessing and what the model is."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from convviz_gui.engine.images import PRESETS
from convviz_gui.ops.messages import ImageSummary, ModelSummary

THUMBNAIL_MIN = 120


def array_to_pixmap(rgb: np.ndarray) -> QPixmap:
    """QPixmap from an (H, W, 3) uint8 array."""
    data = np.ascontiguousarray(rgb)
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class ImagePanel(QWidget):
    """Thumbnail, image size, preprocessing preset (only those that apply) and model facts."""

    preset_chosen = Signal(str)

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
        self.preset_combo = QComboBox()
        self.preset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(12)
        self.preset_combo.setToolTip("How pixels are scaled before they reach the model. It must "
                                     "match how the model was trained.")
        self.preset_combo.setPlaceholderText("(no model yet)")
        self.preset_combo.setEnabled(False)
        self.preset_combo.activated.connect(
            lambda _index: self.preset_chosen.emit(self.preset_combo.currentData()))
        self.preset_hint = QLabel("")
        self.preset_hint.setWordWrap(True)
        self.preset_hint.setStyleSheet("color: #9a5b00;")
        self.preset_hint.hide()
        self.model_info = QLabel("")
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.thumbnail, 1)
        layout.addWidget(self.image_info)
        layout.addWidget(QLabel("Preprocessing"))
        layout.addWidget(self.preset_combo)
        layout.addWidget(self.preset_hint)
        layout.addWidget(self.model_info)
        layout.addStretch(0)
        self._pixmap: QPixmap | None = None

    def show_loading(self, model: bool, image: bool) -> None:
        """Say what is being loaded instead of asking for it."""
        if image:
            self.thumbnail.setText("Loading the image…")
        if model:
            self.model_info.setText("Loading the model…")

    def set_image(self, image: ImageSummary) -> None:
        """Show the image's thumbnail, name and original size."""
        self._pixmap = array_to_pixmap(image.thumbnail)
        self._fit_thumbnail()
        width, height = image.size
        self.image_info.setText(f"{image.name}\n{width}x{height} px")
        self.image_info.setToolTip(image.ref.path)

    def set_model(self, model: ModelSummary, preset: str, guessed: bool) -> None:
        """Offer the presets that apply to the model and describe it."""
        self.preset_combo.clear()
        for key, text in PRESETS.items():
            if key != "app" or model.is_application:
                self.preset_combo.addItem(text, key)
        self.preset_combo.setEnabled(True)
        self.set_preset(preset)
        self.preset_hint.setText("ConvViz guessed this preprocessing; set it in Model > Model "
                                 "Settings if your model was trained otherwise.")
        self.preset_hint.setVisible(guessed)
        height, width, channels = model.input_shape
        size = f"{height}x{width}" if height else "any size"
        notes = "<br>".join(model.notes)
        self.model_info.setText(
            f"<b>{model.name}</b><br>input {size}x{channels}, {model.output_kind}, "
            f"{model.class_count} outputs<br>{notes}")

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
