"""Filters canvas: gradient-ascent patterns with live preview, progress and cancel."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QDoubleSpinBox, QLineEdit, QProgressBar, QPushButton, QSpinBox

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.filters import (
    FilterResult,
    FilterSettings,
    parse_filter_range,
    stitch_patterns,
    visualize_filters,
)
from convviz_gui.engine.render import filter_grid_figure
from convviz_gui.ui.view_tab import ViewTab


def filter_job(context, snapshot, indices: list[int], settings: FilterSettings):
    """Worker: run the ascent, streaming progress; returns (result, figure)."""
    layer = snapshot.layer
    if layer is None or not layer.spatial or layer.is_container:
        raise ConvVizError("Select a layer with spatial output in the model tree.")
    result = visualize_filters(snapshot.model, layer.path, indices, settings,
                               progress=context.progress,
                               should_cancel=lambda: context.cancelled)
    return result, filter_grid_figure(result)


class FiltersTab(ViewTab):
    """Run/Cancel gradient ascent for a range of filters; results cached per settings."""

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
        self.add_controls(("Filters", self.range_edit), ("Steps", self.steps),
                          ("Learning rate", self.learning_rate), ("Size", self.size),
                          self.run_button, self.cancel_button, self.progress)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.cache: dict[tuple, FilterResult] = {}
        self._previews: dict[int, object] = {}
        self._job_key: tuple | None = None
        self.last_result: FilterResult | None = None

    def settings(self) -> FilterSettings:
        """Settings from the controls."""
        return replace(FilterSettings(), steps=self.steps.value(),
                       learning_rate=self.learning_rate.value(), size=self.size.value())

    def _key(self, indices: list[int], settings: FilterSettings) -> tuple:
        layer = self.session.layer.path if self.session.layer else ()
        return (id(self.session.model), layer, tuple(indices), settings)

    def compute(self) -> None:
        """Show a cached result for the current settings (never starts a run by itself)."""
        try:
            key = self._key(parse_filter_range(self.range_edit.text()), self.settings())
        except ConvVizError:
            return
        if key in self.cache:
            self.last_result = self.cache[key]
            self.show_figure(filter_grid_figure(self.cache[key]))
        elif self.runner.running("filters") is None:
            layer = self.session.layer.name if self.session.layer else "a layer"
            self.figure_view.set_hint(f"Press Run to visualize the filters of {layer}.")

    def run(self) -> None:
        """Start (or restart) the ascent for the chosen filters."""
        if not self.session.ready:
            self.report_error("Open a model first.", "")
            return
        try:
            indices = parse_filter_range(self.range_edit.text())
        except ConvVizError as exc:
            self.report_error(str(exc), "")
            return
        settings = self.settings()
        key = self._key(indices, settings)
        if key in self.cache:
            self.compute()
            return
        self._job_key = key
        self._previews = {}
        self._total = len(indices)
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.emit(f"Optimizing {len(indices)} filters…")
        self.runner.submit("filters", filter_job, self.session.snapshot(), indices, settings,
                           on_result=self._finished_run, on_error=self.report_error,
                           on_progress=self._progress, on_finished=self._idle)

    def cancel(self) -> None:
        """Stop the running ascent within one step; partial patterns stay on screen."""
        job = self.runner.running("filters")
        if job is not None:
            job.cancel(keep_result=True)
            self.status.emit("Cancelling filter job…")

    def _progress(self, update) -> None:
        # QProgressBar.setValue repaints synchronously; let the event loop paint it instead.
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(int(update.fraction * 1000))
        self.progress.setUpdatesEnabled(True)
        if update.previews:
            self._previews.update(update.previews)
            self.show_preview(stitch_patterns([self._previews[i] for i in sorted(self._previews)]))
        self.status.emit(f"Filters: step {update.step}/{update.steps}, "
                         f"{update.filters_done}/{update.filters_total} done")

    def _finished_run(self, value) -> None:
        result, figure = value
        self.last_result = result
        if not result.cancelled and self._job_key is not None:
            self.cache[self._job_key] = result
        self.show_figure(figure)
        done = len(result.patterns) - len(result.partial)
        if result.cancelled:
            self.status.emit(f"Filter job cancelled: {done} complete, {len(result.partial)} "
                             "partial patterns kept.")
        else:
            self.progress.setValue(1000)
            self.status.emit(f"{len(result.patterns)} filters in {result.seconds:.1f} s.")

    def _idle(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
