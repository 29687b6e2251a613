"""Error dialog (with copyable details and a log file), catalog picker, About box."""

from __future__ import annotations

import datetime
import logging
import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, Qt, qVersion
from PySide6.QtGui import QHelpEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QTextBrowser,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from convviz_gui import __version__
from convviz_gui.engine.catalog import CATALOG
from convviz_gui.ops.model import ModelSummary, SaveModelSettings, applicable_presets
from convviz_gui.paths import resource, user_data_dir
from convviz_gui.ui.controls import NumberBox


def log_path() -> Path:
    """The file unexpected errors are appended to."""
    return user_data_dir() / "convviz-errors.log"


def log_details(details: str) -> None:
    """Append a traceback to the error log."""
    try:
        with log_path().open("a", encoding="utf-8") as stream:
            stream.write(f"--- {datetime.datetime.now().isoformat()}\n{details}\n")
    except OSError:
        logging.getLogger(__name__).exception("cannot write the error log")


def show_error(parent: QWidget | None, message: str, details: str = "") -> QMessageBox:
    """Non-blocking error dialog: one sentence, plus details and 'Copy details' if any."""
    box = QMessageBox(QMessageBox.Icon.Warning, "ConvViz", message, QMessageBox.StandardButton.Ok,
                      parent)
    if details:
        log_details(details)
        box.setInformativeText(f"Details were saved to {log_path()}.")
        box.setDetailedText(details)
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
    box.setObjectName("errorDialog")
    box.open()
    return box


def model_dialog(tab: QWidget, dialog: QDialog | None, make) -> QDialog | None:
    """Show a tab's dialog that belongs to the current model (``dialog.model``), or
    ``make(tab)`` when it belongs to another one (Compare, Sanity check).

    Returns:
        The dialog shown; ``dialog`` unchanged without a model and an image.
    """
    if not tab.session.ready:
        tab.status.emit("Open a model and an image first.")
        return dialog
    if dialog is None or dialog.model is not tab.session.model:
        if dialog is not None:
            dialog.deleteLater()
        dialog = make(tab)
    dialog.show()
    dialog.raise_()
    return dialog


class ElidingCombo(QComboBox):
    """A combo box narrower than its text shows it cut with "…" (not clipped mid-letter),
    and its tooltip starts with the whole text."""

    def _text_width(self, option: QStyleOptionComboBox) -> int:
        return self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                           QStyle.SubControl.SC_ComboBoxEditField, self).width()

    def elided_text(self) -> str:
        """The current text as it fits the box."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        return self.fontMetrics().elidedText(self.currentText(), Qt.TextElideMode.ElideRight,
                                             self._text_width(option))

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.elided_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent) \
                and self.elided_text() != self.currentText():
            QToolTip.showText(event.globalPos(), f"{self.currentText()}\n\n{self.toolTip()}", self)
            return True
        return super().event(event)


def compact_combo(characters: int, tip: str) -> QComboBox:
    """A combo box as wide as ``characters`` (not its longest item: layer names are long),
    its text cut with "…" when longer, with a tooltip (that then starts with the whole text)."""
    combo = ElidingCombo()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    combo.setToolTip(tip)
    return combo


def dialog_buttons(dialog: QDialog, action: QDialogButtonBox.StandardButton) -> QDialogButtonBox:
    """``action`` (Open, Save...) and Cancel, wired to accept and reject the dialog."""
    buttons = QDialogButtonBox(action | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class CatalogDialog(QDialog):
    """Pick a Keras Application and whether to use ImageNet weights (cached or to download)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Keras Application")
        self.names = QComboBox()
        self.names.addItems(list(CATALOG))
        self.names.setToolTip("The architecture to build (Keras Applications).")
        self.imagenet = QCheckBox("ImageNet weights")
        self.imagenet.setChecked(True)
        self.imagenet.setToolTip("Pretrained weights, downloaded once by Keras into ~/.keras/models. "
                                 "Without them the network has random weights: its views show "
                                 "structure, not learned features.")
        self.weights_note = QLabel("")
        self.weights_note.setWordWrap(True)
        buttons = dialog_buttons(self, QDialogButtonBox.StandardButton.Open)
        form = QFormLayout(self)
        form.addRow("Architecture", self.names)
        form.addRow("", self.imagenet)
        form.addRow("", self.weights_note)
        form.addRow(buttons)
        self.names.currentTextChanged.connect(lambda _name: self._describe_weights())
        self.imagenet.toggled.connect(lambda _checked: self._describe_weights())
        self._describe_weights()

    def _describe_weights(self) -> None:
        """What opening it costs: nothing without ImageNet weights, else cached or a download."""
        if not self.imagenet.isChecked():
            self.weights_note.setText("Random weights: nothing is downloaded; the views show the "
                                      "architecture's structure, not learned features.")
            return
        entry = CATALOG[self.names.currentText()]
        cached = entry.cached_weights()
        self.weights_note.setText(
            f"ImageNet weights are already cached ({cached})." if cached else
            f"ImageNet weights are not cached yet: Keras downloads about {entry.download_mb} MB "
            "once (needs an internet connection).")

    def spec(self) -> str:
        """The model spec, e.g. ``app:Xception:imagenet``."""
        weights = "imagenet" if self.imagenet.isChecked() else "none"
        return f"app:{self.names.currentText()}:{weights}"


def about_text(versions: dict[str, str] | None, precision: str = "auto") -> str:
    """HTML for Help > About; ``precision``: the window's choice (Edit > Precision)."""
    stack = versions or {"tensorflow": "not loaded yet", "keras": "not loaded yet"}
    auto = stack.get("precision", "not known yet")
    runs = auto if precision == "auto" else f"{precision} (chosen in Edit > Precision; auto: {auto})"
    licences = resource("LICENSES.md").read_text(encoding="utf-8")
    rows = "".join(f"<li>{line.strip('| ').split('|')[0].strip().strip('`')}: "
                   f"{line.strip('| ').split('|')[-1].strip().replace('`', '')}</li>"
                   for line in licences.splitlines() if line.startswith("| `"))
    return (f"<h3>ConvViz {__version__}</h3><p>See what a convolutional network has learned: "
            "activations, filter patterns, weights, nineteen explanation methods with their "
            "faithfulness and sanity checks, and what it learned across a dataset.</p>"
            f"<p>TensorFlow {stack['tensorflow']}, Keras {stack['keras']}, Qt {qVersion()}, "
            f"PySide6 {pyside_version}, Python {platform.python_version()}</p>"
            f"<p>Precision: {runs}</p>"
            f"<p>Bundled data:</p><ul>{rows}</ul>")


def shortcuts_text(actions: list) -> str:
    """HTML table of the menu actions that have a keyboard shortcut."""
    rows = sorted({(action.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
                    action.text().replace("&", "").rstrip("…")) for action in actions})
    body = "".join(f"<tr><td><b>{keys}</b></td><td>{text}</td></tr>" for keys, text in rows)
    return f"<table cellspacing='6'>{body}</table>"


def user_guide_dialog(parent: QWidget) -> QDialog:
    """Help > User Guide: the bundled guide (Markdown) in a scrollable, non-modal dialog."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("ConvViz User Guide")
    browser = QTextBrowser()
    browser.setOpenExternalLinks(True)
    browser.setMarkdown(resource("user_guide.md").read_text(encoding="utf-8"))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(720, 600)
    browser.setFocus()  # Escape and the arrow keys work at once
    return dialog


class ModelSettingsDialog(QDialog):
    """Model > Model Settings: preprocessing, labels file and input size of a model file.

    They are saved next to the model as the sidecar files ConvViz reads when it opens it
    (``<model>.convviz.json``, ``<model>.labels.txt``).
    """

    def __init__(self, parent: QWidget, model: ModelSummary, preset: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model Settings — {model.name}")
        self.preset = QComboBox()
        for key, text in applicable_presets(model).items():
            self.preset.addItem(text, key)
        self.preset.setCurrentIndex(self.preset.findData(preset))
        self.preset.setToolTip("How pixels are scaled before they reach the model; it must match "
                               "the model's training.")
        self.labels = QLineEdit(placeholderText=f"keep the current {model.class_count} labels")
        self.labels.setToolTip("A text file with one class name per line, or a JSON list / "
                               "index-to-name mapping.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda _checked=False: self._choose_labels())
        labels_row = QHBoxLayout()
        labels_row.addWidget(self.labels, 1)
        labels_row.addWidget(browse)
        dynamic = model.input_shape[0] is None
        self.input_size = NumberBox("Input size", minimum=8, maximum=4096, value=224, singleStep=32)
        self.input_size.setEnabled(dynamic)
        self.input_size.setToolTip("Pixels fed to a model that accepts any image size."
                                   if dynamic else "This model has a fixed input size.")
        note = QLabel(f"Saved next to {model.ref.spec}; ConvViz reads them whenever it opens "
                      "this model.")
        note.setWordWrap(True)
        buttons = dialog_buttons(self, QDialogButtonBox.StandardButton.Save)
        form = QFormLayout(self)
        form.addRow("Preprocessing", self.preset)
        form.addRow("Labels file", labels_row)
        form.addRow("Input size (px)", self.input_size)
        form.addRow(note)
        form.addRow(buttons)
        self._dynamic = dynamic

    def _choose_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels file", "",
                                              "Labels (*.txt *.json);;All files (*)")
        if path:
            self.labels.setText(path)

    def request(self, model: ModelSummary) -> SaveModelSettings:
        """What to save."""
        return SaveModelSettings(model.ref, self.preset.currentData(),
                                 self.labels.text().strip() or None,
                                 self.input_size.value() if self._dynamic else None)
