"""Error dialog (with copyable details and a log file), catalog picker, About box."""

from __future__ import annotations

import datetime
import logging
import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QMessageBox,
    QWidget,
)

from convviz_gui import __version__
from convviz_gui.engine.models import CATALOG
from convviz_gui.paths import resource, user_data_dir


def log_path():
    """The file unexpected errors are appended to."""
    return user_data_dir() / "convviz-errors.log"


def log_details(details: str) -> None:
    """Append a traceback to the error log."""
    try:
        with open(log_path(), "a", encoding="utf-8") as stream:
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


class CatalogDialog(QDialog):
    """Pick a Keras Application and whether to use ImageNet weights."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Keras Application")
        self.names = QComboBox()
        self.names.addItems(list(CATALOG))
        self.imagenet = QCheckBox("ImageNet weights (downloaded once and cached by Keras)")
        self.imagenet.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Architecture", self.names)
        form.addRow("", self.imagenet)
        form.addRow(buttons)

    def spec(self) -> str:
        """The model spec, e.g. ``app:Xception:imagenet``."""
        weights = "imagenet" if self.imagenet.isChecked() else "none"
        return f"app:{self.names.currentText()}:{weights}"


def about_text(versions: dict[str, str] | None) -> str:
    """HTML for Help > About."""
    stack = versions or {"tensorflow": "not loaded yet", "keras": "not loaded yet"}
    licences = resource("LICENSES.md").read_text(encoding="utf-8")
    rows = "".join(f"<li>{line.strip('| ').split('|')[0].strip().strip('`')}: "
                   f"{line.strip('| ').split('|')[-1].strip().replace('`', '')}</li>"
                   for line in licences.splitlines() if line.startswith("| `"))
    return (f"<h3>ConvViz {__version__}</h3><p>See what a convolutional network has learned: "
            "activations, filters and Grad-CAM.</p>"
            f"<p>TensorFlow {stack['tensorflow']}, Keras {stack['keras']}, Qt {qVersion()}, "
            f"PySide6 {pyside_version}, Python {platform.python_version()}</p>"
            f"<p>Bundled data:</p><ul>{rows}</ul>")
