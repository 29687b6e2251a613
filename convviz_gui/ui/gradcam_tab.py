"""Grad-CAM canvas: every explanation method for the class picked in the ranked list.

Controls: target layer, method (CAMs and pixel attributions) with its own options, the
explained score (logit or probability), the target (the class, against it, or a region of
a segmentation), alpha, colormap, sign (signed maps: for and against), absolute scale,
faithfulness metrics, Compare methods, Sanity check (the map as the model's weights are
randomized), and Compare images (several images side by side: same class, layer, method
and colour scale). Batched methods show progress and can be cancelled; the metrics sit
under the heatmap.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from matplotlib.patches import Rectangle
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from convviz_gui.engine.cam import SCORES, MethodOptions
from convviz_gui.engine.cam.registry import method_class
from convviz_gui.engine.layers import LayerInfo, find_layer
from convviz_gui.ops.compare import ExplainImages, ImageExplanations
from convviz_gui.ops.explain import Explain, ExplainSpec, Explanation
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.model import ImageSummary, ModelSummary
from convviz_gui.ops.registry import is_long
from convviz_gui.ui.controls import CamLayerCombo, MethodCombo
from convviz_gui.ui.dialogs import model_dialog
from convviz_gui.ui.explained_target import REGION_TARGETS, explained_unit, targets
from convviz_gui.ui.job_controls import JobControls
from convviz_gui.ui.method_options import MethodOptionsBar
from convviz_gui.ui.metrics_readout import MetricsReadout
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma")


class GradCamTab(ViewTab):
    """Heatmap overlays at the original resolution for the chosen class."""

    view_name = "gradcam"
    pick_images = Signal()  # "Compare images…": the window asks which files

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and an image to see Grad-CAM.")
        self.predictions = QListWidget()
        self.predictions.setToolTip("Every class with its score, highest first: click one to "
                                    "explain it.")
        self.class_filter = QLineEdit(placeholderText="Find a class…")
        self.class_filter.setClearButtonEnabled(True)
        self.class_filter.textChanged.connect(self._filter_classes)
        self.class_filter.returnPressed.connect(self._explain_first_match)
        self.layer_combo = CamLayerCombo("The layer whose feature maps are weighted: the last "
                                         "convolution gives the most class-specific map.", 18)
        self.method = MethodCombo()
        self.score = QComboBox()
        for name, text in SCORES.items():
            self.score.addItem(name, name)
            self.score.setItemData(self.score.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.score.setToolTip("logit: the class score before the output's softmax/sigmoid, as the "
                              "papers define it (a sure sigmoid still gets a map). probability: "
                              "the output itself, as the reference notebook (ConvViz before).")
        self.target = QComboBox()
        self.options = MethodOptionsBar()
        self.job = JobControls(
            runner, self.view_name, parts=("progress", "cancel"), progress_width=160,
            cancel_tip="Stop this computation.",
            progress_tip="Batches done of this method (masked images, samples, patches).")
        self.alpha = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=40)
        self.alpha.setMaximumWidth(140)
        self.alpha.setToolTip("Opacity of the heatmap over the image (0.4 in the reference). On "
                              "a signed map each pixel's colour covers the grey image by its "
                              "strength: fully at the scale's ends from 0.5.")
        self.alpha_label = QLabel("0.40")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.cmap.setToolTip("Colours of the heatmap, from low to high importance (a map drawn "
                             "signed is blue against, white zero, red for: see Sign).")
        self.absolute = QCheckBox("Absolute scale")
        self.absolute.setToolTip("Draw the map in units of the explained score instead of "
                                 "scaled to 0-1, so that two classes compare honestly.")
        self.metrics = QCheckBox("Metrics")
        self.metrics.setToolTip("Also measure how faithful the map is: deletion and insertion "
                                "AUC, average drop and increase, ROAD's MoRF and LeRF (a few "
                                "batched passes).")
        self.compare_button = QPushButton("Compare methods…")
        self.compare_button.setToolTip("Several methods for several classes (or layers) side by "
                                       "side, at one colour scale per method, with their metrics.")
        self.compare_dialog = None
        self.sanity_button = QPushButton("Sanity check…")
        self.sanity_button.setToolTip("Does the map depend on what the model learned? Randomize "
                                      "a copy of the model from the output down (Adebayo 2018).")
        self.sanity_dialog = None
        self.images_button = QPushButton("Compare images…")
        self.images_button.setToolTip("Explain several images side by side: the same class, "
                                      "layer, method and colour scale in every column (or drop "
                                      "several images on the window).")
        self.single_button = QPushButton("One image")
        self.single_button.setToolTip("Stop comparing images: explain the current image alone.")
        self.single_button.hide()
        self.compare_paths: tuple[str, ...] = ()  # several images side by side, else ()
        self._say_what_is_explained()
        self.add_controls(("Target layer", self.layer_combo), ("Method", self.method),
                          ("Score", self.score))
        self.add_controls(("Explain", self.target), self.options, self.job)
        self.add_controls(("Opacity", self.alpha), self.alpha_label, ("Colormap", self.cmap),
                          self.options.drawing, self.absolute)
        # How faithful the map is, beside the other checks of it.
        self.add_controls(self.metrics, self.compare_button, self.sanity_button,
                          self.images_button, self.single_button)
        self.metrics_row = MetricsReadout()
        self.metric_labels = self.metrics_row.labels
        self._build_body()
        self.class_index: int | None = None
        self._drawn_options = MethodOptions()  # those of the result on screen
        self._ranking: tuple = ()  # the predictions listed (kept while they do not change)
        self.region: tuple[float, float, float, float] | None = None  # the dragged box
        self._selector = None
        # Mouse and keyboard alike: the explained class follows the list's current item.
        self.predictions.currentItemChanged.connect(self._class_selected)
        self.layer_combo.activated.connect(self._layer_chosen)
        self.method.currentIndexChanged.connect(lambda _: self._method_changed())
        for control in (self.score, self.target):
            control.currentIndexChanged.connect(lambda _: self.invalidate())
        self.options.changed.connect(self._options_changed)
        self.metrics.toggled.connect(lambda _: self.invalidate())
        self.job.progress_text.connect(self.status)
        self.job.cancelled.connect(self._cancelled)
        self.compare_button.clicked.connect(lambda _checked=False: self.open_compare())
        self.sanity_button.clicked.connect(lambda _checked=False: self.open_sanity())
        self.images_button.clicked.connect(lambda _checked=False: self.pick_images.emit())
        self.single_button.clicked.connect(lambda _checked=False: self.set_compare_images(()))
        self.alpha.valueChanged.connect(self._restyle)
        self.cmap.currentTextChanged.connect(lambda _: self._restyle())
        self.absolute.toggled.connect(lambda _: self._restyle())
        session.belongs_to("model", self._forget_classes)
        session.model_changed.connect(self._model_changed)
        session.image_changed.connect(self._image_changed)
        session.layer_changed.connect(self._layer_changed)

    def _build_body(self) -> None:
        """Class list on the left; the figure and the metrics line under it on the right."""
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
        view = QVBoxLayout()
        view.addWidget(self.figure_view, 1)
        view.addWidget(self.metrics_row)
        body.addLayout(view, 1)
        self.layout().addLayout(body, 1)

    def _model_changed(self, model: ModelSummary) -> None:
        self.class_index = None
        self.layer_combo.set_model(model)
        self._fill_targets(model)
        self._say_what_is_explained()
        if self.isVisible():  # shown before the model came (e.g. comparing images at start)
            QTimer.singleShot(0, self._select_layer_in_tree)

    def _forget_classes(self) -> None:
        """The class list and its search belong to the model (another model, other classes)."""
        self.class_filter.clear()
        self._ranking = ()
        self.predictions.blockSignals(True)
        self.predictions.clear()
        self.predictions.blockSignals(False)

    def _image_changed(self, image: ImageSummary) -> None:
        self.class_index = None
        self.region = None
        if image.ref.path not in self.compare_paths:
            self.set_compare_images(())

    def _layer_changed(self, layer: LayerInfo | None) -> None:
        self.layer_combo.show_layer(layer)

    def _fill_targets(self, model: ModelSummary) -> None:
        """The Explain box in the words of what the model outputs (the class, the channel…)."""
        self.region = None
        self.target.blockSignals(True)
        self.target.clear()
        regions = REGION_TARGETS if model.output_kind == "segmentation" else ()
        for name, text, tip in targets(explained_unit(model)) + regions:
            self.target.addItem(text, name)
            self.target.setItemData(self.target.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.target.blockSignals(False)

    def _method_changed(self) -> None:
        self.options.show_for(self.method.method())
        self.layer_combo.follow_method(self.method)
        self.invalidate()

    def _layer_chosen(self, index: int) -> None:
        """A layer picked in the Target box is selected in the tree too (which recomputes)."""
        node = find_layer(list(self.session.model.layer_tree), "/".join(self.layer_combo.itemData(index)))
        if node is not None and node != self.session.layer:
            self.session.set_layer(node)
        else:
            self.invalidate()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._select_layer_in_tree()
        super().showEvent(event)

    def _select_layer_in_tree(self) -> None:
        """The tree shows the layer this view explains."""
        layer = self.layer_combo.currentData()
        if layer and self.session.model is not None and (
                self.session.layer is None or tuple(layer) != self.session.layer.path):
            node = find_layer(list(self.session.model.layer_tree), "/".join(layer))
            if node is not None:
                self.session.set_layer(node)

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

    def _class_selected(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self._class_clicked(item)

    def _class_clicked(self, item: QListWidgetItem) -> None:
        if item.data(Qt.ItemDataRole.UserRole) != self.class_index:
            self.class_index = item.data(Qt.ItemDataRole.UserRole)
            self.invalidate()

    def _options_changed(self) -> None:
        """A method option changed: only the drawing when it is the sign (no new job), else
        the map."""
        result, options = self.result, self.options.options()
        if isinstance(result, Explanation) and self._drawn_options.replace(sign="auto") == \
                options.replace(sign="auto"):
            self._drawn_options = options
            cam = replace(result.cam, sign=method_class(result.cam.method).drawn_sign(options))
            self.show_result(replace(result, cam=cam))
        else:
            self.invalidate()

    def _restyle(self, *_args) -> None:
        self.alpha_label.setText(f"{self.alpha.value() / 100:.2f}")
        self.redraw()

    def restore_settings(self, settings: QSettings) -> None:
        """The colormap and opacity chosen last time."""
        self.cmap.setCurrentText(settings.value("gradcam/cmap", "jet"))
        self.alpha.setValue(int(settings.value("gradcam/alpha", 40)))

    def save_settings(self, settings: QSettings) -> None:
        """Remember the colormap and the opacity."""
        settings.setValue("gradcam/cmap", self.cmap.currentText())
        settings.setValue("gradcam/alpha", self.alpha.value())

    def style(self) -> FigureStyle:
        """Overlay opacity, colormap and scale from the controls."""
        return FigureStyle(cmap=self.cmap.currentText(), alpha=self.alpha.value() / 100,
                           normalize=not self.absolute.isChecked())

    def export_stem(self) -> str:
        """Name exports after the explained layer."""
        stem = super().export_stem()
        layer = self.layer_combo.currentData()
        if layer and self.session.layer and self.session.layer.path != layer:
            stem = stem.replace(f"_{self.session.layer.name}_", f"_{layer[-1]}_")
        return stem

    def set_compare_images(self, paths) -> None:
        """Explain these images side by side (two or more), or the current image alone (``()``)."""
        paths = tuple(str(path) for path in paths)
        if paths == self.compare_paths:
            return
        self.compare_paths = paths if len(paths) > 1 else ()
        comparing = bool(self.compare_paths)
        self.single_button.setVisible(comparing)
        self.images_button.setText(f"Comparing {len(paths)} images…" if comparing
                                   else "Compare images…")
        self.target.setEnabled(not comparing)
        self._say_what_is_explained()
        self.invalidate()  # the class chosen stays the explained one

    def _say_what_is_explained(self) -> None:
        """The class search, the list and the Explain box name what one item is: a class, a
        channel of a feature map, an output of a regression head."""
        unit = explained_unit(self.session.model)
        article = "an" if unit[0] in "aeiou" else "a"
        ranked_by = f" (ranked for {Path(self.compare_paths[0]).name}, the first image)" \
            if self.compare_paths else ""
        self.class_filter.setPlaceholderText(f"Find {article} {unit}…{ranked_by}")
        self.class_filter.setToolTip(f"Type part of {article} {unit}'s name; Enter explains the "
                                     "first match.")
        self.predictions.setToolTip(f"Every {unit} with its score{ranked_by}, highest first: "
                                    "click one to explain it.")
        self.target.setToolTip(
            f"Comparing images explains the {unit} in every image; the other targets are for "
            "one image." if self.compare_paths else
            f"What is explained: the {unit}, what speaks against it, or (on a segmentation) the "
            "class over its predicted pixels.")

    def current_request(self) -> Explain | ExplainImages:
        """The request the controls describe (every class ranked in the answer)."""
        session = self.session
        layer = tuple(self.layer_combo.currentData() or ()) or None
        if self.compare_paths:
            images = tuple(replace(session.image_ref, path=path) for path in self.compare_paths)
            return ExplainImages(session.model_ref, images, ExplainSpec(
                self.method.currentData(), layer, self.class_index, session.preset, top=0,
                score=self.score.currentData(), options=self.options.options(),
                metrics=self.metrics.isChecked()), same_class=True)
        target, region = self.target.currentData() or "class", None
        if target == "box":  # the whole image until a box is dragged
            target, region = "region", self.region or (0.0, 0.0, 1.0, 1.0)
        return Explain(session.model_ref, session.image_ref, ExplainSpec(
            self.method.currentData(), layer, self.class_index, session.preset, top=0,
            score=self.score.currentData(), target=target, region=region,
            options=self.options.options(), metrics=self.metrics.isChecked()))

    def show_figure(self, figure) -> None:
        """Put the figure on screen; with the box target, a rectangle can be dragged on the
        image panel (matplotlib's RectangleSelector)."""
        super().show_figure(figure)
        self._selector = None
        if self.target.currentData() == "box" and isinstance(self.result, Explanation):
            from matplotlib.widgets import RectangleSelector

            image = figure.axes[0]
            self._selector = RectangleSelector(image, self._box_dragged, useblit=False,
                                               interactive=False, button=[1], minspanx=2,
                                               minspany=2, spancoords="pixels",
                                               props={"edgecolor": "white", "fill": False})
            if self.region is not None:
                height, width = self.result.image_rgb.shape[:2]
                x0, y0, x1, y1 = self.region
                image.add_patch(Rectangle((x0 * width, y0 * height), (x1 - x0) * width,
                                          (y1 - y0) * height, fill=False, edgecolor="white",
                                          linewidth=1.5, linestyle="--"))

    def open_compare(self) -> None:
        """Open the Compare dialog for the current model and image (a new one per model)."""
        from convviz_gui.ui.compare_dialog import CompareDialog

        self.compare_dialog = model_dialog(self, self.compare_dialog, CompareDialog)

    def open_sanity(self) -> None:
        """Open the Sanity Check dialog for the current model and image (one per model)."""
        from convviz_gui.ui.sanity_dialog import SanityDialog

        self.sanity_dialog = model_dialog(self, self.sanity_dialog, SanityDialog)

    def _box_dragged(self, press, release) -> None:
        """A box dragged on the image (data = display-copy pixels) becomes the target region."""
        height, width = self.result.image_rgb.shape[:2]
        xs = sorted(min(max(v / width, 0.0), 1.0) for v in (press.xdata, release.xdata))
        ys = sorted(min(max(v / height, 0.0), 1.0) for v in (press.ydata, release.ydata))
        self.region = (xs[0], ys[0], xs[1], ys[1])
        self.status.emit("Box: x {:.2f}-{:.2f}, y {:.2f}-{:.2f} of the image.".format(*xs, *ys))
        self.invalidate()

    def compute(self) -> None:
        request = self.current_request()
        spec = request.spec
        self._drawn_options = spec.options
        uses_layer = method_class(spec.method).uses_layer
        where = ("/".join(spec.layer) if spec.layer else "the last convolution") \
            if uses_layer else "the input pixels"
        text = f"Computing {spec.method} at {where}…"
        if isinstance(request, ExplainImages):
            text = f"Computing {spec.method} of {len(request.images)} images at {where}…"
        self.result = None
        self.metrics_row.hide()
        self.figure_view.set_pending(text)
        self.status.emit(text)
        self.job.start(request, on_result=self.show_result, on_error=self.report_error,
                       cancellable=is_long(request))

    def _cancelled(self) -> None:
        self.figure_view.set_hint("Cancelled. Pick a class or change a control to compute again.")
        self.status.emit("Cancelled.")

    def show_result(self, result) -> None:
        """Fill the class list from the predictions, then draw; the metrics go under it
        (in each column for compared images)."""
        if isinstance(result, ImageExplanations):
            self._fill_classes(result.items[0].predictions, result.items[0].cam.class_index)
            self.metrics_row.show_metrics(None)
            self.cmap.setEnabled(not any(item.cam.signed for item in result.items))
            ViewTab.show_result(self, result)
            cam = result.items[0].cam
            skipped = "; skipped " + ", ".join(f"{Path(path).name} ({reason})"
                                                for path, reason in result.skipped) \
                if result.skipped else ""
            self.status.emit(f"{cam.method} for '{cam.label}' in {len(result.items)} images at "
                             f"{cam.where} ({result.seconds:.1f} s){skipped}.")
            return
        cam = result.cam
        self._fill_classes(result.predictions, cam.class_index)
        self.metrics_row.show_metrics(result.metrics)
        self.cmap.setEnabled(not cam.signed)  # a signed map is blue-white-red in any colormap
        super().show_result(result)
        self.status.emit(f"{cam.method} for {cam.target or cam.label} at {cam.where} "
                         f"({result.seconds:.1f} s).")

    def _fill_classes(self, predictions, class_index: int) -> None:
        """The ranked classes, the explained one selected (the find box's filter kept)."""
        self.class_index = class_index
        self.predictions.blockSignals(True)  # filling the list is not the user choosing
        ranking = tuple(predictions)
        if ranking != self._ranking:  # the same image's answer: the 1000 items stay
            self._ranking = ranking
            self.predictions.clear()
            for prediction in ranking:
                item = QListWidgetItem(f"{prediction.label}  {prediction.score:.3f}")
                item.setData(Qt.ItemDataRole.UserRole, prediction.index)
                extra = f" ({prediction.describe_extra()})" if prediction.extra else ""
                item.setToolTip(f"class {prediction.index}: {prediction.label}, "
                                f"score {prediction.score:.6f}{extra}")
                self.predictions.addItem(item)
        rows = [prediction.index for prediction in ranking]
        self.predictions.setCurrentRow(rows.index(class_index) if class_index in rows else -1)
        self.predictions.blockSignals(False)
        self._filter_classes(self.class_filter.text())
