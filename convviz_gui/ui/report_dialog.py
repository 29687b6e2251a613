"""File > Batch Report: every image of a folder explained into one HTML or PDF file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.files import safe_file_stem
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.report import BatchReport, ReportResult, check_report
from convviz_gui.ui.controls import CamLayerCombo, MethodCombo
from convviz_gui.ui.dialogs import show_error
from convviz_gui.ui.job_controls import JobControls

REPORT_FILTER = "HTML report (*.html *.htm);;PDF report (*.pdf)"


def _with_button(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class ReportDialog(QDialog):
    """Folder, class, method, layer, metrics and output file; Run with progress and Cancel;
    "Open report" once written. The model and the preprocessing are the window's."""

    def __init__(self, main) -> None:
        super().__init__(main)
        self.main, self.session, self.runner = main, main.session, main.runner
        self.model = model = self.session.model
        self.setWindowTitle(f"Batch Report — {model.name}")
        self.result: ReportResult | None = None
        tab = main.gradcam_tab
        start = Path(main.files.last_dir("reports"))
        self.folder = QLineEdit(placeholderText="a folder of images")
        self.folder.setToolTip("Every file in it is explained, sorted by name; files that are not "
                               "images are listed as skipped.")
        self.recursive = QCheckBox("Include subfolders")
        self.class_ = QComboBox()
        self.class_.addItem("Each image's top class", "top")
        for index, label in enumerate(model.labels):
            self.class_.addItem(f"{label} ({index})", index)
        self.class_.setToolTip("Explain each image's own top prediction, or the same class in all.")
        self.method = MethodCombo()
        self.method.set_method(tab.method.method())
        self.layer = CamLayerCombo("The layer the CAM methods weigh (default: the model's last "
                                   "spatial layer).")
        self.layer.set_model(model)
        self.metrics = QCheckBox("Faithfulness metrics (slower)")
        self.metrics.setToolTip("Deletion/insertion AUC and Average Drop/Increase for every image.")
        self.out = QLineEdit(str(start / "report.html"))
        self._out_chosen = False  # until the user edits it, the report is named after the folder
        self.out.textEdited.connect(lambda _text: setattr(self, "_out_chosen", True))
        self.folder.textChanged.connect(lambda _text: self._default_output())
        self.out.setToolTip("report.html (one self-contained file) or report.pdf (a page per "
                            "image, then the summary).")
        self.job = JobControls(self.runner, "report", on_run=self.run, parts=("progress",),
                               cancel_tip="Stop; no report file is written.")
        self.status = QLabel("Choose a folder, then press Run.")
        self.status.setWordWrap(True)
        self.job.progress_text.connect(self.status.setText)
        self.job.cancelled.connect(
            lambda: self.status.setText("Cancelled; no report was written."))
        self.open_button = QPushButton("Open report", enabled=False)
        self._layout()
        self.method.currentIndexChanged.connect(lambda _index: self._method_changed())
        self._method_changed()

    def _layout(self) -> None:
        self.browse_folder, self.browse_out = QPushButton("Browse…"), QPushButton("Browse…")
        self.browse_folder.clicked.connect(lambda _checked=False: self.choose_folder())
        for button in (self.browse_folder, self.browse_out):
            button.setAutoDefault(False)  # Enter in a field runs the report, not a chooser
        self.browse_out.clicked.connect(lambda _checked=False: self.choose_output())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        for button in (self.job.run_button, self.job.cancel_button, self.open_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(lambda _checked=False: self.open_report())
        form = QFormLayout(self)
        form.addRow("Model", QLabel(self.model.name))
        form.addRow("Folder", _with_button(self.folder, self.browse_folder))
        form.addRow("", self.recursive)
        form.addRow("Class", self.class_)
        form.addRow("Method", self.method)
        form.addRow("Layer", self.layer)
        form.addRow("", self.metrics)
        form.addRow("Report file", _with_button(self.out, self.browse_out))
        form.addRow(self.job)
        form.addRow(self.status)
        form.addRow(buttons)
        self.job.run_button.setDefault(True)  # once it is in the dialog: Enter runs
        self.setMinimumWidth(560)

    def _method_changed(self) -> None:
        self.layer.follow_method(self.method)

    def choose_folder(self) -> None:
        """The folder chooser, opened where the user last opened or saved a file."""
        folder = QFileDialog.getExistingDirectory(self, "Folder of images",
                                                  self.folder.text() or self.main.files.last_dir("images"))
        if folder:
            self.folder.setText(folder)
            self.main.files.remember_dir(folder, "images")

    def _default_output(self) -> None:
        """Until the user edits or chooses the report file, it follows the folder as it is
        typed: ``<folder name>_report.html``, in the folder the Report file field shows (the
        reports folder used last), never a folder the user did not choose."""
        name = Path(self.folder.text().strip()).name
        if not self._out_chosen and name:
            out = Path(self.out.text().strip() or "report.html")
            suffix = out.suffix or ".html"
            self.out.setText(str(out.parent / f"{safe_file_stem(name)}_report{suffix}"))

    def choose_output(self) -> None:
        """The report file: .html or .pdf (the filter's suffix is added when none is typed)."""
        path, chosen = QFileDialog.getSaveFileName(self, "Save report as", self.out.text(),
                                                   REPORT_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".pdf" if "pdf" in chosen.lower() else ".html"
            self.out.setText(path)
            self._out_chosen = True
            self.main.files.remember_dir(path, "reports")

    def request(self) -> BatchReport:
        """The report the controls describe (raises ``ConvVizError`` for a wrong suffix)."""
        tab = self.main.gradcam_tab
        style = tab.style()
        layer = self.layer.currentData() if self.layer.isEnabled() else None
        return check_report(BatchReport(
            self.session.model_ref, (self.folder.text().strip(),), self.out.text().strip(),
            self.recursive.isChecked(), self.session.fit, ExplainSpec(
                self.method.currentData(), tuple(layer) if layer else None,
                self.class_.currentData(), self.session.preset, score=tab.score.currentData(),
                options=tab.options.options(), metrics=self.metrics.isChecked()),
            cmap=style.cmap or "jet", alpha=style.alpha))

    def run(self) -> None:
        """Write the report in the engine process (replacing a running one)."""
        if not self.folder.text().strip():
            self.status.setText("Choose a folder of images first.")
            return
        self._default_output()
        try:
            request = self.request()
        except ConvVizError as error:
            self.status.setText(str(error))
            return
        self.result = None
        self.open_button.setEnabled(False)
        self.status.setText(f"Explaining the images in {request.inputs[0]}…")
        self.job.start(request, on_result=self._written, on_error=self._failed)

    def _written(self, result: ReportResult) -> None:
        self.result = result
        skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
        reasons = "".join(f"\n{reason}" for _, reason in result.skipped[:5])
        if len(result.skipped) > 5:
            reasons += f"\n… and {len(result.skipped) - 5} more, listed in the report."
        self.status.setText(f"Wrote {result.path}: {len(result.images)} images{skipped} in "
                            f"{result.seconds:.1f} s.{reasons}")
        self.open_button.setEnabled(True)
        self.main.show_status(f"Batch report written to {result.path}")

    def _failed(self, message: str, details: str) -> None:
        self.status.setText(message)
        if details:  # an unexpected error: the window's dialog keeps the details and the log
            show_error(self, message, details)

    def open_report(self) -> None:
        """Open the written report with the desktop's viewer (browser, PDF reader)."""
        if self.result is not None and not QDesktopServices.openUrl(
                QUrl.fromLocalFile(self.result.path)):
            self.status.setText(f"No program here opens it; the report is {self.result.path}")
