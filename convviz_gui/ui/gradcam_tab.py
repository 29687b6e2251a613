"""Grad-CAM canvas: top-k list to pick the class, target layer, method, alpha, colormap."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSlider

from convviz_gui.engine.cam import CAM_METHODS, make_cam, predict, predicted_mask
from convviz_gui.engine.layers import spatial_layers
from convviz_gui.engine.render import gradcam_figure
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma")
TOP_K = 5


def gradcam_job(context, snapshot, class_index, layer_path, method, alpha, cmap, previous=None):
    """Worker: predictions and CAM (or reuse ``previous``), then the three-panel figure."""
    if previous is None:
        batch = snapshot.batch()
        predictions = predict(snapshot.model, batch, TOP_K)
        chosen = predictions[0].index if class_index is None else class_index
        cam = make_cam(snapshot.model, layer_path, method)(batch, chosen)
        mask = (predicted_mask(snapshot.model, batch)
                if snapshot.model.output_kind == "segmentation" else None)
    else:
        predictions, cam, mask = previous
    figure = gradcam_figure(snapshot.image.rgb, cam, alpha, cmap, predictions, mask)
    return (predictions, cam, mask), figure


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
        self.last = None
        self.predictions.itemClicked.connect(self._class_clicked)
        self.layer_combo.activated.connect(lambda _: self._recompute())
        self.method.currentTextChanged.connect(lambda _: self._recompute())
        self.alpha.valueChanged.connect(self._restyle)
        self.cmap.currentTextChanged.connect(lambda _: self._restyle())
        session.changed.connect(self._session_changed)

    def _session_changed(self, what: str) -> None:
        if what == "model":
            self.class_index = None
            self.layer_combo.clear()
            model = self.session.model
            default = model.default_cam_layer()
            for node in spatial_layers(model.layer_tree):
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
                return  # invalidate() comes from the window for layer changes
        self.last = None

    def _recompute(self) -> None:
        self.last = None
        self.invalidate()

    def _class_clicked(self, item: QListWidgetItem) -> None:
        self.class_index = item.data(Qt.ItemDataRole.UserRole)
        self._recompute()

    def _restyle(self, *_args) -> None:
        self.alpha_label.setText(f"{self.alpha.value() / 100:.2f}")
        self.invalidate()

    def export_stem(self) -> str:
        """Name exports after the explained layer."""
        stem = super().export_stem()
        layer = self.layer_combo.currentData()
        if layer and self.session.layer and self.session.layer.path != layer:
            stem = stem.replace(f"_{self.session.layer.name}_", f"_{layer[-1]}_")
        return stem

    def compute(self) -> None:
        self.status.emit("Computing Grad-CAM…")
        self.runner.submit(
            "gradcam", gradcam_job, self.session.snapshot(), self.class_index,
            self.layer_combo.currentData(), self.method.currentText(),
            self.alpha.value() / 100, self.cmap.currentText(), self.last,
            on_result=self._show, on_error=self.report_error)

    def _show(self, value) -> None:
        self.last, figure = value
        predictions, cam, _ = self.last
        self.predictions.clear()
        for prediction in predictions:
            item = QListWidgetItem(f"{prediction.label}  {prediction.score:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, prediction.index)
            self.predictions.addItem(item)
            if prediction.index == cam.class_index:
                item.setSelected(True)
        self.show_figure(figure)
        self.status.emit(f"{cam.method} for '{cam.label}' at {'/'.join(cam.layer)}.")
