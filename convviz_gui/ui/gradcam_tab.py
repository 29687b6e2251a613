"""Grad-CAM canvas: top-k list to pick the class, target layer, method, alpha, colormap."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from convviz_gui.engine.cam import CAM_METHODS, SCORES
from convviz_gui.engine.layers import find_layer, spatial_layers
from convviz_gui.ops.messages import Explain, FigureStyle
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma")


class GradCamTab(ViewTab):
    """Heatmap overlays at the original resolution for the chosen class."""

    view_name = "gradcam"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and an image to see Grad-CAM.")
        self.predictions = QListWidget()
        self.predictions.setToolTip("Every class with its score, highest first: click one to "
                                    "explain it.")
        self.class_filter = QLineEdit(placeholderText="Find a class…")
        self.class_filter.setClearButtonEnabled(True)
        self.class_filter.setToolTip("Type part of a class name; Enter explains the first match.")
        self.class_filter.textChanged.connect(self._filter_classes)
        self.class_filter.returnPressed.connect(self._explain_first_match)
        self.layer_combo = QComboBox()
        self.layer_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setMinimumContentsLength(18)
        self.method = QComboBox()
        self.method.addItems(list(CAM_METHODS))
        self.score = QComboBox()
        for name, text in SCORES.items():
            self.score.addItem(name, name)
            self.score.setItemData(self.score.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.score.setToolTip("logit: the class score before the output's softmax/sigmoid, as the "
                              "papers define it (a sure sigmoid still gets a map). probability: "
                              "the output itself, as the reference notebook (ConvViz before).")
        self.alpha = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=40)
        self.alpha.setMaximumWidth(140)
        self.alpha_label = QLabel("0.40")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.layer_combo.setToolTip("The layer whose feature maps are weighted: the last "
                                    "convolution gives the most class-specific map.")
        self.method.setToolTip("Grad-CAM: mean gradient per channel. Grad-CAM++: weighs positive "
                               "gradients to separate several objects. HiResCAM: gradient times "
                               "feature map at each position, faithful to the score.")
        self.alpha.setToolTip("Opacity of the heatmap over the image (0.4 in the reference).")
        self.cmap.setToolTip("Colours of the heatmap, from low to high importance.")
        self.add_controls(("Target layer", self.layer_combo), ("Method", self.method),
                          ("Score", self.score))
        self.add_controls(("Alpha", self.alpha), self.alpha_label, ("Colormap", self.cmap))
        body = QHBoxLayout()
        self.layout().removeWidget(self.figure_view)
        classes = QVBoxLayout()
        classes.addWidget(self.class_filter)
        classes.addWidget(self.predictions, 1)
        column = QWidget()
        column.setLayout(classes)
        column.setMaximumWidth(200)
        classes.setContentsMargins(0, 0, 0, 0)
        body.addWidget(column)
        body.addWidget(self.figure_view, 1)
        self.layout().addLayout(body, 1)
        self.class_index: int | None = None
        self.predictions.itemClicked.connect(self._class_clicked)
        self.layer_combo.activated.connect(self._layer_chosen)
        self.method.currentTextChanged.connect(lambda _: self.invalidate())
        self.score.currentIndexChanged.connect(lambda _: self.invalidate())
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

    def _layer_chosen(self, index: int) -> None:
        """A layer picked in the Target box is selected in the tree too (which recomputes)."""
        node = find_layer(list(self.session.model.layer_tree), "/".join(self.layer_combo.itemData(index)))
        if node is not None and node != self.session.layer:
            self.session.set_layer(node)
        else:
            self.invalidate()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """The tree shows the layer this view explains."""
        layer = self.layer_combo.currentData()
        if layer and self.session.model is not None and (
                self.session.layer is None or tuple(layer) != self.session.layer.path):
            node = find_layer(list(self.session.model.layer_tree), "/".join(layer))
            if node is not None:
                self.session.set_layer(node)
        super().showEvent(event)

    def _filter_classes(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.predictions.count()):
            item = self.predictions.item(row)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _explain_first_match(self) -> None:
        visible = [self.predictions.item(row) for row in range(self.predictions.count())
                   if not self.predictions.item(row).isHidden()]
        if visible:
            self.predictions.setCurrentItem(visible[0])
            self._class_clicked(visible[0])

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
                          self.class_index, session.preset, top=0,  # 0: every class, ranked
                          score=self.score.currentData())
        where = "/".join(layer) if layer else "the last convolution"
        self.submit(request, f"Computing {request.method} at {where}…")

    def show_result(self, result) -> None:
        """Fill the class list from the predictions, then draw."""
        cam = result.cam
        self.predictions.clear()
        for prediction in result.predictions:
            item = QListWidgetItem(f"{prediction.label}  {prediction.score:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, prediction.index)
            item.setToolTip(f"class {prediction.index}: {prediction.label}, score {prediction.score:.6f}")
            self.predictions.addItem(item)
            if prediction.index == cam.class_index:
                self.predictions.setCurrentItem(item)
        self._filter_classes(self.class_filter.text())
        super().show_result(result)
        self.status.emit(f"{cam.method} for '{cam.label}' at {'/'.join(cam.layer)}.")
