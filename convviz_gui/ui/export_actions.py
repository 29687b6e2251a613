"""What leaves the window: Export Figure (and the DPI), Export All Activations, Copy Figure,
the Batch Report dialog, and Model Settings saved beside the model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.activations import ExportAllActivations
from convviz_gui.ops.base import Saved
from convviz_gui.ops.export import ExportFigure
from convviz_gui.ops.model import ModelSummary
from convviz_gui.ui.controls import add_action
from convviz_gui.ui.dialogs import ModelSettingsDialog
from convviz_gui.ui.figure_view import DRAW_LOCK
from convviz_gui.ui.report_dialog import ReportDialog

if TYPE_CHECKING:
    from convviz_gui.ui.main_window import MainWindow

DPI_CHOICES = (100, 150, 300)
DEFAULT_DPI = 150


class ExportActions(QObject):
    """File > Export Figure / Export All Activations / Batch Report / Export DPI,
    Edit > Copy Figure, Model > Model Settings."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.settings, self.session, self.runner = window.settings, window.session, window.runner
        self.dpi_group = QActionGroup(self)
        self.report_dialog: ReportDialog | None = None
        self.model_settings_action: QAction | None = None

    # ----- menus --------------------------------------------------------------------------------
    def fill_file_menu(self, menu: QMenu) -> None:
        """The export entries and the Export DPI submenu."""
        add_action(menu, self, "&Export Figure…", self.export_figure, "Ctrl+E")
        add_action(menu, self, "Export All &Activations…", self.export_all_activations)
        add_action(menu, self, "&Batch Report…", self.batch_report)
        dpi_menu = menu.addMenu("Export DPI")
        for dpi in DPI_CHOICES:
            action = QAction(str(dpi), self, checkable=True)
            action.setData(dpi)
            self.dpi_group.addAction(action)
            dpi_menu.addAction(action)

    def fill_edit_menu(self, menu: QMenu) -> None:
        """Edit > Copy Figure."""
        add_action(menu, self, "&Copy Figure", self.copy_figure, QKeySequence.StandardKey.Copy)

    def fill_model_menu(self, menu: QMenu) -> None:
        """Model > Model Settings."""
        self.model_settings_action = add_action(menu, self, "Model &Settings…",
                                                self.edit_model_settings)
        menu.setToolTipsVisible(True)  # a greyed-out entry says why
        self._follow_model(None)
        self.session.model_changed.connect(self._follow_model)

    def _follow_model(self, model: ModelSummary | None) -> None:
        """Model Settings applies to a model file; greyed out (the tooltip says why) for none,
        the demo and the Keras Applications."""
        built_in = model is not None and (model.ref.spec == "demo"
                                          or model.ref.spec.startswith("app:"))
        action = self.model_settings_action
        action.setEnabled(model is not None and not built_in)
        action.setToolTip(
            "Open a model file first." if model is None else
            f"{model.name} has its preprocessing, labels and input size built in; Model "
            "Settings is for your own model files." if built_in else
            "Preprocessing, labels file and input size, saved beside the model file.")

    # ----- settings -----------------------------------------------------------------------------
    def restore_settings(self) -> None:
        """The DPI chosen last time."""
        dpi = int(self.settings.value("export/dpi", DEFAULT_DPI))
        for action in self.dpi_group.actions():
            action.setChecked(action.data() == dpi)

    def save_settings(self) -> None:
        """Remember the DPI."""
        self.settings.setValue("export/dpi", self.export_dpi())

    def export_dpi(self) -> int:
        """DPI chosen in File > Export DPI."""
        checked = self.dpi_group.checkedAction()
        return int(checked.data()) if checked else DEFAULT_DPI

    # ----- figures ------------------------------------------------------------------------------
    def export_figure(self, path: str | None = None) -> None:
        """File > Export Figure (PNG/SVG/PDF) of the current view, drawn at the figure's own
        size by the same builder as the CLI's ``--out``."""
        window = self.window
        tab = window.current_tab()
        if tab.result is None:
            window.report_error("There is no figure to export yet.", "")
            return
        if path is None:
            default = str(Path(window.files.last_dir("exports")) / f"{tab.export_stem()}.png")
            path, _ = QFileDialog.getSaveFileName(
                window, "Export figure", default, "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
            if not path:
                return
            window.files.remember_dir(path, "exports")
        window.show_status(f"Exporting {Path(path).name}…")
        self.runner.submit("export", ExportFigure(tab.result, str(path), tab.style(),
                                                  self.export_dpi()),
                           on_result=lambda saved: window.show_status(f"Saved {saved.paths[0]}"),
                           on_error=window.report_error)

    def export_all_activations(self, folder: str | None = None) -> None:
        """File > Export All Activations: one PNG per spatial layer into a folder."""
        window = self.window
        if not self.session.ready:
            window.report_error("Open a model and an image first.", "")
            return
        folder = folder or QFileDialog.getExistingDirectory(window, "Export all activations to",
                                                            window.files.last_dir("exports"))
        if not folder:
            return
        request = ExportAllActivations(self.session.model_ref, self.session.image_ref, folder,
                                       self.session.preset, window.activations_tab.style(),
                                       self.export_dpi())
        self.runner.submit("export-all", request, on_progress=window.show_status,
                           on_result=lambda saved: window.show_status(
                               f"Exported {len(saved.paths)} activation grids to {folder}"),
                           on_error=window.report_error)

    def copy_figure(self) -> None:
        """Edit > Copy Figure as a bitmap (the figure at its own size, as exported)."""
        tab = self.window.current_tab()
        if tab.result is None:
            self.window.report_error("There is no figure to copy yet.", "")
            return
        buffer = io.BytesIO()
        with DRAW_LOCK:  # fonts are shared with the figures drawn in the background
            figure_for(tab.result, tab.style()).savefig(buffer, format="png", dpi=self.export_dpi())
        QApplication.clipboard().setImage(QImage.fromData(buffer.getvalue(), "PNG"))
        self.window.show_status("Figure copied to the clipboard.")

    # ----- batch report and model settings ------------------------------------------------------
    def batch_report(self) -> None:
        """File > Batch Report: a folder of images explained into one HTML or PDF file."""
        if self.session.model is None:
            self.window.report_error("Open a model first: the report explains images with it.", "")
            return
        dialog = self.report_dialog
        running = self.runner.running("report") is not None  # keep the dialog it reports to
        if dialog is None or (dialog.model is not self.session.model and not running):
            if dialog is not None:
                dialog.deleteLater()
            dialog = self.report_dialog = ReportDialog(self.window)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.folder.setFocus()

    def edit_model_settings(self) -> None:
        """Model > Model Settings: preset, labels, input size saved as sidecars, then re-open."""
        window = self.window
        model = self.session.model
        if model is None:
            window.report_error("Open a model first.", "")
            return
        if model.ref.spec == "demo" or model.ref.spec.startswith("app:"):
            window.show_status("The demo and the Keras Applications have their settings built "
                               "in; Model Settings applies to your own model files.")
            return
        dialog = ModelSettingsDialog(window, model, self.session.preset)
        accepted = dialog.exec()
        request = dialog.request(model)
        dialog.deleteLater()
        if accepted:
            self.runner.submit("model-settings", request,
                               on_result=lambda saved: self._settings_saved(model, saved),
                               on_error=window.report_error)

    def _settings_saved(self, model: ModelSummary, saved: Saved) -> None:
        self.window.show_status(f"Saved {', '.join(Path(path).name for path in saved.paths)}; "
                                "re-opening the model.")
        self.window.files.open_model(model.ref.spec, model.ref.trust_code)
