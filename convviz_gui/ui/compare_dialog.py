"""Compare: several methods for several classes (or layers) of the current image, one grid."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from convviz_gui.engine.cam import CAM_METHODS
from convviz_gui.engine.cam.registry import method_reference
from convviz_gui.engine.layers import spatial_layers
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.compare import Compare
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.export import ExportFigure
from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.job_controls import JobControls

DEFAULT_METHODS = ("Grad-CAM", "Score-CAM", "Integrated Gradients")


def _checklist(items: list[tuple[str, object]], checked: set, tip: str) -> QListWidget:
    """A list of checkable items: the arrow keys move the current item (a focus frame, no
    highlight that would read as chosen), Space or a click on the box ticks it."""
    widget = QListWidget()
    widget.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    widget.setToolTip(f"{tip} Space ticks the current item.")
    for text, data in items:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, data)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if data in checked else Qt.CheckState.Unchecked)
        widget.addItem(item)
    return widget


def checked_data(widget: QListWidget) -> list:
    """The data of the checked items, in list order."""
    return [widget.item(row).data(Qt.ItemDataRole.UserRole) for row in range(widget.count())
            if widget.item(row).checkState() == Qt.CheckState.Checked]


class CompareDialog(QDialog):
    """Methods x classes, or methods x layers, at one colour scale per method row, each cell
    with its faithfulness metrics; Run/Cancel with progress; Export as one figure."""

    def __init__(self, tab) -> None:
        super().__init__(tab)
        self.setWindowTitle("Compare explanations")
        self.tab = tab
        self.session, self.runner = tab.session, tab.runner
        self.main = tab.window()  # the main window: its last-used folders
        self.result = None
        self.model = model = self.session.model  # the dialog's lists belong to this model
        methods = [(name, method_reference(cls)) for name, cls in CAM_METHODS.items()]
        self.methods = _checklist(methods, {*DEFAULT_METHODS, tab.method.currentData()},
                                  "The methods compared, one row each.")
        self.axis = QComboBox()
        self.axis.addItem("classes", "classes")
        self.axis.addItem("layers", "layers")
        self.axis.setToolTip("Columns: several classes at the Target layer, or several layers "
                             "for the first class.")
        top = [tab.predictions.item(row).data(Qt.ItemDataRole.UserRole)
               for row in range(min(3, tab.predictions.count()))]
        self.classes = QLineEdit(", ".join(model.labels[i] for i in top))
        self.classes.setToolTip("Classes compared, one column each: labels or indices, comma-"
                                "separated (default: the top 3).")
        layers = [(node.display_path, node.path) for node in spatial_layers(list(model.layer_tree))]
        self.layers = _checklist(layers, {path for _, path in layers[-3:]},
                                 "Layers compared (with 'layers' columns), for the first class.")
        self.metrics = QCheckBox("Metrics", checked=True)
        self.metrics.setToolTip("Deletion/insertion AUC and average drop under every cell.")
        self.job = JobControls(self.runner, "compare", on_run=self.run,
                               run_tip="Compute every cell of the grid.",
                               cancel_tip="Stop after the current batch.", progress_tip="Cells done.")
        self.export_button = QPushButton("Export…", enabled=False)
        self.export_button.setToolTip("Save the grid as one figure (PNG, SVG or PDF).")
        self.figure_view = FigureView("Choose methods and classes (or layers), then press Run.")
        self._layout()
        self.job.progress_text.connect(self.job.progress.setToolTip)
        self.job.cancelled.connect(lambda: self.figure_view.set_hint("Cancelled."))
        self.export_button.clicked.connect(lambda _checked=False: self.export())
        self.resize(1000, 720)

    def _layout(self) -> None:
        lists = QHBoxLayout()
        for title, widget in (("Methods", self.methods), ("Layers", self.layers)):
            column = QVBoxLayout()
            label = QLabel(title)
            label.setBuddy(widget)
            column.addWidget(label)
            column.addWidget(widget)
            widget.setMaximumHeight(130)
            lists.addLayout(column, 1)
        controls = QHBoxLayout()
        for text, widget in (("Columns", self.axis), ("Classes", self.classes)):
            label = QLabel(text)
            label.setBuddy(widget)
            label.setToolTip(widget.toolTip())
            controls.addWidget(label)
            controls.addWidget(widget)
        for widget in (self.metrics, self.job, self.export_button):
            controls.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(lists)
        layout.addLayout(controls)
        layout.addWidget(self.figure_view, 1)

    def request(self) -> Compare:
        """The grid the controls describe, with the tab's score and method options."""
        layers = tuple(checked_data(self.layers)) if self.axis.currentData() == "layers" else ()
        classes = tuple(part.strip() for part in self.classes.text().split(",") if part.strip())
        return Compare(self.session.model_ref, self.session.image_ref,
                       tuple(checked_data(self.methods)), classes, layers, spec=ExplainSpec(
                           preset=self.session.preset, score=self.tab.score.currentData(),
                           options=self.tab.options.options(), metrics=self.metrics.isChecked()))

    def run(self) -> None:
        """Compute the grid (replacing a running one)."""
        request = self.request()
        self.result = None
        self.export_button.setEnabled(False)
        self.figure_view.set_pending(f"Comparing {len(request.methods)} methods…")
        self.job.start(request, on_result=self._show, on_error=self._failed)

    def _show(self, result) -> None:
        self.result = result
        self.figure_view.set_figure(figure_for(result, self.tab.style()))
        self.export_button.setEnabled(True)

    def _failed(self, message: str, details: str) -> None:
        self.figure_view.set_hint(message)

    def export(self, path: str | None = None) -> None:
        """Save the grid as drawn (the same figure as the CLI's ``compare --out``)."""
        if self.result is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export comparison", str(Path(self.main.files.last_dir("exports"))
                                               / "comparison.png"),
                "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
            if not path:
                return
            self.main.files.remember_dir(path, "exports")
        self.runner.submit("export-compare", ExportFigure(self.result, path, self.tab.style()),
                           on_error=self._failed)
