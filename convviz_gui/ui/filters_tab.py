"""Filters canvas: gradient-ascent patterns with live preview, progress and cancel, in the
reference style or the clear style (Olah et al., "Feature Visualization", Distill 2017)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QToolButton,
)

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.results import stitch_patterns
from convviz_gui.engine.featurevis.settings import ClearSettings, FilterSettings
from convviz_gui.engine.featurevis.targeting import (
    COUNTED,
    FilterTarget,
    choose_filters,
    class_objective_size,
    parse_filter_spans,
)
from convviz_gui.ops.filters import Filters, FiltersResult
from convviz_gui.ops.model import ModelSummary
from convviz_gui.ui.channel_strip import ChannelStrip
from convviz_gui.ui.controls import DecimalBox, NumberBox
from convviz_gui.ui.job_controls import JobControls
from convviz_gui.ui.view_tab import ViewTab

STYLES = (("Reference", "reference"), ("Clear", "clear"))
OBJECTIVES = (("Channel", "channel"), ("Neuron", "neuron"), ("Unit", "unit"), ("Class", "class"))
DEFAULT_RANGE = "0-15"


def _weight_box(name: str, tooltip: str) -> DecimalBox:
    """A regularizer weight: 0 (off) to 100."""
    box = DecimalBox(name, minimum=0.0, maximum=100.0, value=0.0, singleStep=0.1, decimals=2)
    box.setToolTip(f"{tooltip}\n0 is off; 0.5-4 are gentle to strong, relative to the objective.")
    return box


class FiltersTab(ViewTab):
    """Run/Cancel gradient ascent for a range of filters; results cached per request."""

    view_name = "filters"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner,
                         "Select a layer, choose filters and press Run to see the input "
                         "patterns each filter responds to most.")
        defaults, clear = FilterSettings(), ClearSettings()
        self.range_label = QLabel("Filters")
        self.range_edit = QLineEdit(DEFAULT_RANGE)
        self.range_edit.setMaximumWidth(90)
        self.range_label.setBuddy(self.range_edit)
        self.style_combo = QComboBox()
        for text, style in STYLES:
            self.style_combo.addItem(text, style)
        self.objective = QComboBox()
        for text, objective in OBJECTIVES:
            self.objective.addItem(text, objective)
        self.advanced_button = QToolButton(text="Advanced", checkable=True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.steps = NumberBox("Steps", minimum=1, maximum=4096, value=defaults.steps)
        self.learning_rate = DecimalBox("Learning rate", minimum=0.001, maximum=1000,
                                        value=defaults.learning_rate, decimals=3)
        self.size = NumberBox("Size", minimum=32, maximum=512, value=defaults.size, singleStep=8)
        self.negative = QCheckBox("Negative")
        self.variants = NumberBox("Variants", minimum=1, maximum=9, value=clear.variants)
        self.diversity = DecimalBox("Diversity", minimum=0.0, maximum=100.0, value=clear.diversity,
                                    singleStep=0.5, decimals=2)
        self.decorrelate = QCheckBox("Decorrelate colour", checked=clear.decorrelate)
        self.transforms = QCheckBox("Transforms", checked=clear.transforms)
        self.total_variation = _weight_box(
            "Total variation", "Total-variation weight (clear style): smooths the image "
            "by penalizing differences between neighbouring pixels.")
        self.l2 = _weight_box(
            "L2", "L2 weight (clear style): pulls pixels towards mid grey, against "
            "saturated colours.")
        self.blur = _weight_box(
            "Blur", "Blur weight (clear style): pulls the image towards a blurred copy "
            "of itself every step.")
        self.job = JobControls(runner, self.view_name, on_run=self.run, keep_partial=True,
                               progress_width=200,
                               run_tip="Optimize an input pattern for each chosen filter.",
                               cancel_tip="Stop; the patterns computed so far stay on screen.")
        self.range_note = QLabel("")
        self.range_note.setStyleSheet("color: #b3261e;")
        self._set_tooltips()
        self.add_controls(self.range_label, self.range_edit, ("Style", self.style_combo),
                          ("Objective", self.objective), self.advanced_button)
        self._advanced_rows = []
        for row in (
            (("Steps", self.steps), ("Learning rate", self.learning_rate), ("Size", self.size)),
            (self.negative, ("Variants", self.variants), ("Diversity", self.diversity),
             self.decorrelate),
            (self.transforms, ("Total variation", self.total_variation), ("L2", self.l2),
             ("Blur", self.blur)),
        ):
            self.add_controls(*row)
            self._advanced_rows.append(self.controls)
        self.add_controls(self.job, self.range_note)
        self.strip = ChannelStrip()  # a clicked filter's top images in the last dataset scan
        self.layout().addWidget(self.strip)
        self._strip_filter: int | None = None
        self._clicks_connected_to = None
        self._clear_only = [self.objective, self.negative, self.variants, self.diversity,
                            self.decorrelate, self.transforms, self.total_variation, self.l2,
                            self.blur]
        self.cache: dict[Filters, FiltersResult] = {}
        self._previews: dict[int, object] = {}
        self._job_request: Filters | None = None
        self._show_advanced(False)
        self._style_changed()
        self.range_edit.textEdited.connect(lambda _text: self.range_note.clear())
        self.job.cancelled.connect(lambda: self.status.emit("Cancelling filter job…"))
        self.advanced_button.toggled.connect(self._show_advanced)
        self.style_combo.currentIndexChanged.connect(lambda _index: self._style_changed())
        self.objective.currentIndexChanged.connect(lambda _index: self._objective_changed())
        session.model_changed.connect(self._model_changed)
        session.layer_changed.connect(lambda _layer: self._fit_range_to_layer())
        session.preset_changed.connect(self._preset_changed)
        session.dataset_changed.connect(lambda _scan: self._show_strip(self._strip_filter))

    def _set_tooltips(self) -> None:
        self.range_edit.setToolTip("Which filters to visualize: e.g. 0-15, or 0,4,8-15 (units or "
                                   "classes with those objectives).")
        self.range_label.setToolTip(self.range_edit.toolTip())
        self.style_combo.setToolTip(
            "Reference: the book's gradient ascent on the raw input (30 steps; sharp stripes, "
            "values outside the model's input range).\nClear: Lucid-style images (Olah et al. "
            "2017): Fourier-parameterized, decorrelated colour, random transforms, Adam, "
            "always inside the model's input range (256 steps).")
        self.objective.setToolTip(
            "What the clear style maximizes: a channel's mean (Channel), its centre unit "
            "(Neuron), a unit of a flat layer such as Dense (Unit), or a class logit of the "
            "output layer, before softmax (Class).")
        self.advanced_button.setToolTip("Show or hide the optimization options.")
        self.steps.setToolTip("Optimization steps per filter (30 in the reference, 256 in the "
                              "clear style).")
        self.learning_rate.setToolTip("Reference: how far each step moves the image along the "
                                      "normalized gradient (10).\nClear: Adam's learning rate "
                                      "on the Fourier coefficients (0.05, as Lucid).")
        self.size.setToolTip("Size in pixels of the optimized pattern (200 in the reference); "
                             "25 px are cut from each border at 200 px.")
        self.negative.setToolTip("Clear style: minimize the target instead, to see what the "
                                 "filter responds against.")
        self.variants.setToolTip("Clear style: images optimized per filter, shown side by side "
                                 "in its tile.")
        self.diversity.setToolTip("Clear style: weight of the penalty on similar variants of a "
                                  "filter (batch diversity; try 1 with 4 variants).")
        self.decorrelate.setToolTip("Clear style: optimize colour in ImageNet's decorrelated "
                                    "colour space (RGB models).")
        self.transforms.setToolTip("Clear style: pad, jitter, scale and rotate the image at random "
                                   "every step (transformation robustness).")

    # ----- controls -----------------------------------------------------------------------------
    def _show_advanced(self, shown: bool) -> None:
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        for row in self._advanced_rows:
            for index in range(row.count()):
                widget = row.itemAt(index).widget()
                if widget is not None:
                    widget.setVisible(shown)

    def _style(self) -> str:
        return self.style_combo.currentData()

    def _objective(self) -> str:
        return self.objective.currentData() if self._style() == "clear" else "channel"

    def _style_changed(self) -> None:
        """The style's own steps and learning rate; clear-only options follow."""
        defaults = FilterSettings.for_style(self._style())
        self.steps.setValue(defaults.steps)
        self.learning_rate.setValue(defaults.learning_rate)
        for control in self._clear_only:
            control.setEnabled(self._style() == "clear")
        self._objective_changed()
        self.status.emit("")  # the last run's news was about the other style's result

    def _objective_changed(self) -> None:
        counted = COUNTED[self._objective()]
        self.range_label.setText(counted.capitalize())
        if self._objective() == "class" and self.session.model is not None:
            size = class_objective_size(self.session.model.input_shape)
            if size:
                self.size.setValue(size)
            classes = self.session.model.class_count
            try:
                fits = max(high for _, high in parse_filter_spans(self.range_edit.text())) < classes
            except ConvVizError:
                fits = False
            if not fits:
                self.range_edit.setText(f"0-{min(classes, 64) - 1}" if classes > 1 else "0")
        self.range_note.clear()
        if self.session.model is not None:
            self.compute()

    def _model_changed(self, _model: ModelSummary) -> None:
        """The range typed and its note belong to the old model's layer: the default range."""
        self.cache.clear()
        self.range_edit.setText(DEFAULT_RANGE)
        self.range_note.clear()
        self._fit_range_to_layer()

    def _preset_changed(self, _preset: str) -> None:
        if self._style() == "clear":  # clear images go through the preset
            self.invalidate()

    def _fit_range_to_layer(self) -> None:
        """A plain ``0-N`` range is cut to the layer's filters (``0-15`` on an 8-filter layer
        becomes ``0-7``); any other range the user typed is left as it is."""
        layer = self.session.layer
        found = re.fullmatch(r"\s*0\s*-\s*(\d+)\s*", self.range_edit.text())
        channels = layer.channels if layer is not None and layer.spatial else None
        if found and channels and int(found.group(1)) >= channels:
            self.range_edit.setText(f"0-{channels - 1}")

    # ----- requests -----------------------------------------------------------------------------
    @property
    def last_result(self):
        """The ``FilterResult`` on screen, if any."""
        return self.result.filters if isinstance(self.result, FiltersResult) else None

    def settings(self) -> FilterSettings:
        """Settings from the controls (the clear options only in the clear style)."""
        # Both styles start from grey pixels through the chosen preprocessing.
        chosen = {"steps": self.steps.value(), "learning_rate": self.learning_rate.value(),
                  "size": self.size.value(), "preset": self.session.preset or None}
        if self._style() == "reference":
            return FilterSettings.for_style("reference", **chosen)
        clear = ClearSettings(
            objective=self._objective(), negative=self.negative.isChecked(),
            decorrelate=self.decorrelate.isChecked(), transforms=self.transforms.isChecked(),
            total_variation=self.total_variation.value(), l2=self.l2.value(), blur=self.blur.value(),
            variants=self.variants.value(), diversity=self.diversity.value())
        return FilterSettings.for_style("clear", clear=clear, **chosen)

    def _chosen(self) -> tuple[FilterTarget, Filters]:
        """The target and the request the controls describe, checked by ``targeting`` as
        the CLI checks them; raises ``ConvVizError`` for a layer the objective cannot use
        or a bad range."""
        layer = self.session.layer
        if self.session.model is None:
            raise ConvVizError("Open a model first.")
        target, indices = choose_filters(self.session.model, layer.path if layer else None,
                                         self._objective(), self.range_edit.text())
        return target, Filters(self.session.model_ref, target.path, tuple(indices), self.settings())

    def current_request(self) -> Filters:
        """The request the controls describe (see ``_chosen``)."""
        return self._chosen()[1]

    def refresh(self) -> None:
        """Filters do not need an image: refresh as soon as a model is open."""
        if self.stale and self.session.model is not None:
            self.stale = False
            self.compute()

    def compute(self) -> None:
        """Show the cached result for the controls (never starts a run by itself)."""
        try:
            request = self.current_request()
        except ConvVizError:
            request = None
        if request is not None and request in self.cache:
            self.show_result(self.cache[request])
        elif request is not None and request == self._job_request and self._previews:
            self._show_previews()
        elif request is None or request != self._job_request:
            self.result = None
            self._show_strip(None)
            if self._objective() == "class":
                what = f"the classes of {self.session.model.name}"
            else:
                layer = self.session.layer.name if self.session.layer else "a layer"
                what = f"the {COUNTED[self._objective()]} of {layer}"
            self.figure_view.set_hint(f"Press Run to visualize {what}.")

    def run(self) -> None:
        """Start (or restart) the ascent for the chosen filters."""
        if self.session.model is None:
            self.report_error("Open a model first.", "")
            return
        try:
            target, request = self._chosen()
        except ConvVizError as exc:  # a typo: say it beside the controls, keep the figure
            self.range_note.setText(str(exc))
            self.status.emit(str(exc))
            return
        self.range_note.clear()
        if request in self.cache:
            self.show_result(self.cache[request])
            return
        self._job_request = request
        self._previews = {}
        self.result = None
        text = f"Optimizing {len(request.indices)} {target.counted} of {target.name}…"
        self.figure_view.set_pending(text)
        self.status.emit(text)
        self.job.start(request, on_result=self._finished_run, on_error=self.report_error,
                       on_progress=self._progress, on_finished=self._forget_previews)

    def _showing_job(self) -> bool:
        try:
            return self.current_request() == self._job_request
        except ConvVizError:
            return False

    def _progress(self, update) -> None:
        if update.previews:
            self._previews.update(update.previews)
            if self._showing_job():  # never over the figure of another layer
                self._show_previews()
        self.status.emit(str(update))  # the bar's fraction, then where the ascent is

    def _show_previews(self) -> None:
        self.show_preview(stitch_patterns([self._previews[i] for i in sorted(self._previews)]))

    def _finished_run(self, result: FiltersResult) -> None:
        request, found = self._job_request, result.filters
        if not found.cancelled and request is not None:
            self.cache[request] = result
        if self._showing_job():
            self.show_result(result)
        done = len(found.patterns) - len(found.partial)
        note = getattr(found, "size_note", "")
        if found.cancelled:
            self.status.emit(f"Filter job cancelled: {done} complete, {len(found.partial)} "
                             "partial patterns kept.")
        else:
            inputs = ""
            if found.input_range is not None and found.model_range is not None:
                inputs = (f" Inputs in [{found.input_range[0]:.3g}, {found.input_range[1]:.3g}]; "
                          f"the model's range is [{found.model_range[0]:.3g}, "
                          f"{found.model_range[1]:.3g}].")
            counted = COUNTED[found.settings.objective]
            dead = f" {len(found.dead)} dead (never moved)." if found.dead else ""
            self.status.emit(f"{len(found.patterns)} {counted} in {found.seconds:.1f} s "
                             f"({found.optimized}).{dead}{inputs} {note}".strip())

    def show_result(self, result) -> None:
        """Draw the patterns; a click on one shows its top images of the last dataset scan
        under them (the first filter's at first)."""
        super().show_result(result)
        canvas = self.figure_view.canvas  # matplotlib keeps the callbacks with the figure
        if canvas is not None and self._clicks_connected_to is not self.figure:
            canvas.mpl_connect("button_press_event", self._pattern_clicked)
            self._clicks_connected_to = self.figure
        found = self.last_result
        self._show_strip(min(found.patterns) if found is not None and found.patterns else None)

    def _show_strip(self, index: int | None) -> None:
        found, self._strip_filter = self.last_result, index
        if found is None or index is None or self.figure is None:
            self.strip.show_channel(None, "", 0)
        else:
            self.strip.show_channel(self.session.dataset, "/".join(found.layer), index)

    def _pattern_clicked(self, event) -> None:
        """The filter under a click on the grid (8 columns, 5 px gaps: ``filter_grid_figure``)."""
        found = self.last_result
        if found is None or not found.patterns or event.xdata is None or event.button != 1:
            return
        indices = sorted(found.patterns)
        height, width = found.patterns[indices[0]].shape[:2]
        col, row = int(event.xdata + 0.5) // (width + 5), int(event.ydata + 0.5) // (height + 5)
        slot = row * max(1, min(8, len(indices))) + col
        if 0 <= col < 8 and 0 <= slot < len(indices):
            self._show_strip(indices[slot])

    def _forget_previews(self) -> None:
        self._previews = {}
