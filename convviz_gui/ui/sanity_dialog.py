"""Sanity Check: does a method's map depend on the model's weights? (cascading randomization
of a copy of the model, Adebayo et al. 2018), for the Grad-CAM tab's image and class."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.export import ExportFigure, FigureStyle
from convviz_gui.ops.sanity import SPEARMAN_THRESHOLD, Sanity
from convviz_gui.ui.controls import MethodCombo
from convviz_gui.ui.dialogs import show_error
from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.job_controls import JobControls

INTRO = (f"Randomizes a copy of the model's weights from the output down (your model stays as "
         f"it is) and explains the image again after each step. A method whose map depends on "
         f"what the model learned changes: its Spearman correlation with the original map "
         f"falls below {SPEARMAN_THRESHOLD} once the top third of the layers is random.")


class SanityDialog(QDialog):
    """The method to check, Run/Cancel with progress, the figure (maps, curves and the
    verdict, which is exported with it), a status line (time taken and notes), Export. It
    explains the tab's class at the tab's layer with its score and options;
    another model or image clears it (the job stops)."""

    def __init__(self, tab) -> None:
        super().__init__(tab)
        self.setWindowTitle("Sanity check")
        self.tab = tab
        self.session, self.runner = tab.session, tab.runner
        self.main = tab.window()  # the main window: its last-used folders
        self.result = None
        self.model = self.session.model  # the dialog belongs to this model
        self.method = MethodCombo()
        self.method.set_method(tab.method.method())
        self.job = JobControls(self.runner, "sanity", on_run=self.run,
                               run_tip="Randomize a copy of the model step by step and explain "
                                       "the image after each step.",
                               cancel_tip="Stop after the current step.",
                               progress_tip="Randomization steps explained.")
        self.export_button = QPushButton("Export…", enabled=False)
        self.export_button.setToolTip("Save the figure (PNG, SVG or PDF).")
        self.status = QLabel()  # the verdict is in the figure (exported with it), not here
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setToolTip("Passed: the map's Spearman correlation with the original falls "
                               f"below {SPEARMAN_THRESHOLD} once a third of the weighted layers "
                               "are random, counted from the output (the verdict under the "
                               "figure).")
        self.figure_view = FigureView(INTRO + "\n\nChoose a method and press Run.")
        self._layout()
        self.job.progress_text.connect(self.job.progress.setToolTip)
        self.job.cancelled.connect(lambda: self._clear("Cancelled."))
        self.export_button.clicked.connect(lambda _checked=False: self.export())
        self.session.model_changed.connect(
            lambda _model: self._clear("Another model is open: open the sanity check again "
                                       "from its Grad-CAM tab."))
        self.session.image_changed.connect(
            lambda _image: self._clear("The image changed: press Run to check it."))
        room = self.screen().availableGeometry()  # room for a title bar on a 768 px screen
        self.resize(min(1200, room.width() - 40), min(760, room.height() - 60))

    def _layout(self) -> None:
        controls = QHBoxLayout()
        label = QLabel("Method")
        label.setBuddy(self.method)
        for widget in (label, self.method, self.job, self.export_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.figure_view, 1)
        layout.addWidget(self.status)

    def request(self) -> Sanity:
        """The check the controls describe: the tab's class, layer, score and options."""
        tab = self.tab
        layer = tuple(tab.layer_combo.currentData() or ()) or None
        return Sanity(self.session.model_ref, self.session.image_ref, ExplainSpec(
            self.method.method(), layer if self.method.uses_layer() else None, tab.class_index,
            self.session.preset, score=tab.score.currentData(), options=tab.options.options()))

    def run(self) -> None:
        """Start the check (replacing a running one)."""
        if self.session.model is not self.model:
            self._clear("Another model is open: open the sanity check again from its "
                        "Grad-CAM tab.")
            return
        request = self.request()
        self.result = None
        self.export_button.setEnabled(False)
        self.status.clear()
        self.figure_view.set_pending(f"Randomizing the model step by step and explaining with "
                                     f"{self.method.currentText()}…")
        self.job.start(request, on_result=self._show, on_error=self._failed)

    def _show(self, result) -> None:
        self.result = result
        self.figure_view.set_figure(figure_for(result, FigureStyle()))
        self.status.setText(" ".join((
            f"{'Passed' if result.passed else 'Failed'} (verdict under the figure); "
            f"{len(result.steps)} randomization steps explained in {result.seconds:.1f} s.",
            *result.notes)))
        self.export_button.setEnabled(True)

    def _clear(self, hint: str) -> None:
        """Nothing to show (cancelled, or another model or image): the hint instead."""
        self.result = None
        self.export_button.setEnabled(False)
        self.status.clear()
        self.figure_view.set_hint(hint)

    def _failed(self, message: str, details: str) -> None:
        self._clear(message)

    def export(self, path: str | None = None) -> None:
        """Save the figure as drawn (the same file as ``convviz sanity --out``)."""
        if self.result is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export sanity check", str(Path(self.main.files.last_dir("exports"))
                                                 / "sanity-check.png"),
                "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
            if not path:
                return
            self.main.files.remember_dir(path, "exports")
        self.runner.submit("export-sanity", ExportFigure(self.result, path, FigureStyle()),
                           on_error=lambda message, details: show_error(self, message, details))
