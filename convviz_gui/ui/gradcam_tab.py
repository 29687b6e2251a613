"""Grad-CAM canvas: top-k list to pick the class, target layer, method, alpha, colormap."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSlider

from convviz_gui.engine.cam import CAM_METHODS
from convviz_gui.engine.layers import spatial_layers
from convviz_gui.ops.messages import Explain, FigureStyle
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma")
TOP_K = 5


class GradCamTab(ViewTab):
    """Heatmap overlays at the original resolution for the chosen class."""

    view_name = "gradcam"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and an image to see Grad-CAM.")
        self.predictions = QListWidget()
        self.predictions.setMaximumWidth(180)
        self.predictions.setToolTip("Top predictions: click one to explain that class.")
        self.layer_combo = QComboBox()
        self.layer_combo.setMinimumContentsLength(22)
        self.method = QComboBox()
        self.method.addItems(list(CAM_METHODS))
        self.alpha = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=40)
        self.alpha.setMaximumWidth(140)
        self.alpha_label = QLabel("0.40")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.add_controls(("Target layer", self.layer_combo), ("Method", self.method),
                          ("Alpha", self.alpha), self.alpha_label, ("Colormap", self.cmap))
        body = QHBoxLayout()
        self.layout().removeWidget(self.figure_view)
        body.addWidget(self.predictions)
        body.addWidget(self.figure_view, 1)
        self.layout().addLayout(body, 1)
        self.class_index: int | None = None
        self.predictions.itemClicked.connect(self._class_clicked)
        self.layer_combo.activated.connect(lambda _: self.invalidate())
        self.method.currentTextChanged.connect(lambda _: self.invalidate())
        self.alpha.valueChanged.connect(self._restyle)
        self.cmap.currentTextChanged.connect(lambda _: self._restyle())
        session.changed.connect(self._session_changed)

    def _session_changed(self, what: str) -> None:
        if what == "model":
            self.class_index = None
            self.layer_combo.clear()
            model = self.session.model
            default = model.default_cam_layer()
            for node in spatial_layers(list(model.layer_tree)):
                self.layer_combo.addItem(node.display_path, node.path)
            if default is not None:
                self.layer_combo.setCurrentIndex(self.layer_combo.findData(default.path))
        elif what == "image":
            self.class_index = None
        elif what == "layer":
            layer = self.session.layer
            index = self.layer_combo.findData(layer.path) if layer is not None else -1
            if index >= 0 and index != self.layer_combo.currentIndex():
                self.layer_combo.setCurrentIndex(index)

    def _class_clicked(self, item: QListWidgetItem) -> None:
        self.class_index = item.data(Qt.ItemDataRole.UserRole)
        self.invalidate()

    def _restyle(self, *_args) -> None:
        self.alpha_label.setText(f"{self.alpha.value() / 100:.2f}")
        self.redraw()

    def style(self) -> FigureStyle:
        """Overlay opacity and colormap from the controls."""
        return FigureStyle(cmap=self.cmap.currentText(), alpha=self.alpha.value() / 100)

    def export_stem(self) -> str:
        """Name exports after the explained layer."""
        stem = super().export_stem()
        layer = self.layer_combo.currentData()
        if layer and self.session.layer and self.session.layer.path != layer:
            stem = stem.replace(f"_{self.session.layer.name}_", f"_{layer[-1]}_")
        return stem

    def compute(self) -> None:
        session = self.session
        layer = tuple(self.layer_combo.currentData() or ()) or None
        request = Explain(session.model_ref, session.image_ref, layer, self.method.currentText(),
                          self.class_index, session.preset, TOP_K)
        where = "/".join(layer) if layer else "the last convolution"
        self.submit(request, f"Computing {request.method} at {where}…")

    def show_result(self, result) -> None:
        """Fill the class list from the predictions, then draw."""
        cam = result.cam
        self.predictions.clear()
        for prediction in result.predictions:
            item = QListWidgetItem(f"{prediction.label}  {prediction.score:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, prediction.index)
            self.predictions.addItem(item)
            if prediction.index == cam.class_index:
                item.setSelected(True)
        super().show_result(result)
        self.status.emit(f"{cam.method} for '{cam.label}' at {'/'.join(cam.layer)}.")
