"""Filters canvas: gradient-ascent patterns with live preview, progress and cancel."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.filters import FilterSettings, parse_filter_range, stitch_patterns
from convviz_gui.ops.messages import Filters, FiltersResult
from convviz_gui.ui.view_tab import ViewTab


class FiltersTab(ViewTab):
    """Run/Cancel gradient ascent for a range of filters; results cached per request."""

    view_name = "filters"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner,
                         "Select a layer, choose filters and press Run to see the input "
                         "patterns each filter responds to most.")
        defaults = FilterSettings()
        self.range_edit = QLineEdit("0-15")
        self.range_edit.setMaximumWidth(90)
        self.steps = QSpinBox(minimum=1, maximum=500, value=defaults.steps)
        self.learning_rate = QDoubleSpinBox(minimum=0.01, maximum=1000, value=defaults.learning_rate)
        self.size = QSpinBox(minimum=32, maximum=512, value=defaults.size, singleStep=8)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.progress = QProgressBar(maximum=1000)
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("%p%")
        self.progress.hide()  # shown while a job runs
        self.range_note = QLabel("")
        self.range_note.setStyleSheet("color: #b3261e;")
        self.range_edit.setToolTip("Which filters to visualize: e.g. 0-15, or 0,4,8-15.")
        self.steps.setToolTip("Gradient-ascent steps per filter (30 in the reference).")
        self.learning_rate.setToolTip("How far each step moves the image along the normalized "
                                      "gradient (10 in the reference).")
        self.size.setToolTip("Size in pixels of the optimized pattern (200 in the reference); "
                             "25 px are cut from each border at 200 px.")
        self.run_button.setToolTip("Optimize an input pattern for each chosen filter.")
        self.cancel_button.setToolTip("Stop; the patterns computed so far stay on screen.")
        self.add_controls(("Filters", self.range_edit), ("Steps", self.steps),
                          ("Learning rate", self.learning_rate), ("Size", self.size))
        self.add_controls(self.run_button, self.cancel_button, self.progress, self.range_note)
        self.range_edit.textEdited.connect(lambda _text: self.range_note.clear())
        self.run_button.clicked.connect(lambda _checked=False: self.run())
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        self.cache: dict[Filters, FiltersResult] = {}
        self._previews: dict[int, object] = {}
        self._job_request: Filters | None = None

    @property
    def last_result(self):
        """The ``FilterResult`` on screen, if any."""
        return self.result.filters if isinstance(self.result, FiltersResult) else None

    def settings(self) -> FilterSettings:
        """Settings from the controls."""
        return replace(FilterSettings(), steps=self.steps.value(),
                       learning_rate=self.learning_rate.value(), size=self.size.value())

    def current_request(self) -> Filters:
        """The request the controls describe; raises ``ConvVizError`` for a bad range."""
        layer = self.session.layer
        if layer is None or not layer.spatial or layer.is_container:
            name = layer.name if layer is not None else "This model"
            raise ConvVizError(f"{name} has no filters to visualize; select a convolution layer.")
        return Filters(self.session.model_ref, layer.path,
                       tuple(parse_filter_range(self.range_edit.text())), self.settings())

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
            layer = self.session.layer.name if self.session.layer else "a layer"
            self.result = None
            self.figure_view.set_hint(f"Press Run to visualize the filters of {layer}.")

    def run(self) -> None:
        """Start (or restart) the ascent for the chosen filters."""
        if self.session.model is None:
            self.report_error("Open a model first.", "")
            return
        try:
            request = self.current_request()
            self._check_range(request)
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
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        if self.run_button.hasFocus():  # else Qt hands the focus to the next widget in the window
            self.cancel_button.setFocus()
        self.run_button.setEnabled(False)
        self.result = None
        text = f"Optimizing {len(request.indices)} filters of {'/'.join(request.layer)}…"
        self.figure_view.set_pending(text)
        self.status.emit(text)
        self.runner.submit("filters", request, on_result=self._finished_run,
                           on_error=self.report_error, on_progress=self._progress,
                           on_finished=self._idle)

    def _check_range(self, request: Filters) -> None:
        channels = self.session.layer.channels or 0
        if max(request.indices) >= channels:
            raise ConvVizError(f"{self.session.layer.name} has {channels} filters (0-{channels - 1}); "
                               f"filter {max(request.indices)} does not exist.")

    def cancel(self) -> None:
        """Stop the running ascent within one step; partial patterns stay on screen."""
        job = self.runner.running("filters")
        if job is not None:
            job.cancel(keep_result=True)
            self.status.emit("Cancelling filter job…")

    def _showing_job(self) -> bool:
        try:
            return self.current_request() == self._job_request
        except ConvVizError:
            return False

    def _progress(self, update) -> None:
        # QProgressBar.setValue repaints synchronously; let the event loop paint it instead.
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(int(update.fraction * 1000))
        self.progress.setUpdatesEnabled(True)
        if update.previews:
            self._previews.update(update.previews)
            if self._showing_job():  # never over the figure of another layer
                self._show_previews()
        self.status.emit(f"Filters: step {update.step}/{update.steps}, "
                         f"{update.filters_done}/{update.filters_total} done")

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
            self.status.emit(f"{len(found.patterns)} filters in {found.seconds:.1f} s. {note}".strip())

    def _idle(self) -> None:
        self._previews = {}
        self.progress.hide()
        self.run_button.setEnabled(True)
        if self.cancel_button.hasFocus():  # else Qt hands the focus to the next widget
            self.run_button.setFocus()
        self.cancel_button.setEnabled(False)
