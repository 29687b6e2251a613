"""The ConvViz main window: model tree, the tabs of ``TAB_SPECS``, image panel, menus, status.

Opening files lives in ``FileActions`` (``window.files``), exporting in ``ExportActions``
(``window.exports``).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from convviz_gui.engine.layers import LayerInfo
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.model import ImageSummary, ModelInput, ModelSummary
from convviz_gui.paths import resource
from convviz_gui.ui.controls import DecimalBox, MenuShortcutsWin, NumberBox, add_action
from convviz_gui.ui.dialogs import about_text, shortcuts_text, show_error, user_guide_dialog
from convviz_gui.ui.export_actions import ExportActions
from convviz_gui.ui.file_actions import FileActions
from convviz_gui.ui.image_panel import ImagePanel
from convviz_gui.ui.model_tree import MIN_PANEL_WIDTH, ModelTreePanel
from convviz_gui.ui.precision_choice import PrecisionChoice
from convviz_gui.ui.session import Session
from convviz_gui.ui.tabs import TAB_SPECS, TabSpec
from convviz_gui.ui.view_tab import ControlsStrip
from convviz_gui.ui.workers import Job, JobRunner, request_refs

BUSY_BAR_DELAY_MS = 400
# Jobs that write a file the user asked for: they finish even when the model or image changes.
FILE_JOBS = frozenset({"report", "export", "export-all", "export-compare", "export-sanity",
                        "model-settings"})


def _scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` in a frameless area that scrolls up and down when the panel is taller than
    its dock (long model notes at 1366x768), never sideways (its text wraps)."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


class MainWindow(QMainWindow):
    """Model tree on the left, the tabs in the middle, image panel on the right."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("ConvViz", "ConvViz")
        self.setWindowTitle("ConvViz")
        icon_path = resource("convviz.png")
        if icon_path.exists():
            self.setWindowIcon(QIcon(str(icon_path)))
        self.setAcceptDrops(True)
        self.session = Session()
        self.runner = JobRunner(self)
        self.errors_shown: list[str] = []
        self.files = FileActions(self)
        self.exports = ExportActions(self)
        self.precision = PrecisionChoice(self)
        self._build_tabs()
        self._build_docks()
        self._build_status_bar()
        self._build_menus()
        self.menu_shortcuts = MenuShortcutsWin(self)
        for kind in (NumberBox, DecimalBox):  # a typed number set to a bound: said here too
            for box in self.findChildren(kind):
                box.clamped.connect(self.show_status)
        self._connect_session()
        self.runner.busy_changed.connect(self._busy)
        self.runner.engine_restarted.connect(self.files.reopen_after_restart)
        self.runner.engine_failed.connect(lambda message: self.report_error(message, ""))
        self._tree_fitted = False  # the model panel is widened to its columns once
        self._restore()

    # ----- construction -------------------------------------------------------------------
    def _build_tabs(self) -> None:
        """One tab per ``TabSpec``, each also the attribute ``<key>_tab``."""
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.views: list[tuple[TabSpec, QWidget]] = []
        for spec in TAB_SPECS:
            tab = spec.factory(self.session, self.runner)
            setattr(self, f"{spec.key}_tab", tab)
            self.views.append((spec, tab))
            self.tabs.addTab(tab, spec.title)
            tab.status.connect(partial(self._tab_status, tab))
            tab.error.connect(self.report_error)
        self.gradcam_tab.pick_images.connect(self.files.choose_images)
        self.dataset_tab.explain_image.connect(self.files.explain_in_gradcam)
        self.setCentralWidget(self.tabs)
        self._tab_news: dict[QWidget, str] = {}
        self.tabs.currentChanged.connect(self._tab_shown)

    def loading_tabs(self) -> list[QWidget]:
        """The tabs whose canvas says that a model is loading."""
        return [tab for spec, tab in self.views if spec.shows_loading]

    def _build_docks(self) -> None:
        self.tree = ModelTreePanel()
        self.tree.layer_selected.connect(self.session.set_layer)
        self.image_panel = ImagePanel()
        self.image_panel.preset_chosen.connect(self.session.set_preset)
        self.image_panel.fit_chosen.connect(self._fit_chosen)
        self.image_panel.output_chosen.connect(self.files.output_chosen)
        self._docks = []
        for title, name, widget, area in (
                ("Model", "modelDock", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea),
                ("Image", "imageDock", _scrolling(self.image_panel),
                 Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(area, dock)
            self._docks.append(dock)
        self._default_state = self.saveState()

    def _build_status_bar(self) -> None:
        self.busy_bar = QProgressBar(maximum=0)
        self.busy_bar.setMaximumWidth(140)
        self.busy_bar.hide()
        self.statusBar().addPermanentWidget(self.busy_bar)
        self._busy_delay = QTimer(self, singleShot=True, interval=BUSY_BAR_DELAY_MS)
        self._busy_delay.timeout.connect(lambda: self.busy_bar.setVisible(self.runner.busy))

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.files.fill_file_menu(file_menu)
        file_menu.addSeparator()
        self.exports.fill_file_menu(file_menu)
        file_menu.addSeparator()
        add_action(file_menu, self, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = bar.addMenu("&Edit")
        self.files.fill_edit_menu(edit_menu)
        self.exports.fill_edit_menu(edit_menu)
        self.precision.fill_edit_menu(edit_menu)
        model_menu = bar.addMenu("&Model")
        self.exports.fill_model_menu(model_menu)
        self.files.fill_model_menu(model_menu)
        view_menu = bar.addMenu("&View")
        for dock in self._docks:
            toggle = dock.toggleViewAction()
            toggle.setText(f"{dock.windowTitle()} Panel")
            view_menu.addAction(toggle)
        view_menu.addSeparator()
        for index, spec in enumerate(TAB_SPECS):
            add_action(view_menu, self, spec.title, partial(self.tabs.setCurrentIndex, index),
                       spec.shortcut)
        view_menu.addSeparator()
        add_action(view_menu, self, "&Reset Layout", self.reset_layout)
        help_menu = bar.addMenu("&Help")
        add_action(help_menu, self, "&User Guide", self.show_user_guide,
                   QKeySequence.StandardKey.HelpContents)
        add_action(help_menu, self, "&Keyboard Shortcuts", self.show_shortcuts)
        help_menu.addSeparator()
        add_action(help_menu, self, "&About ConvViz", self.show_about)

    def _connect_session(self) -> None:
        """The window's own reactions first, then each tab made stale as its spec says."""
        session = self.session
        session.model_changed.connect(self._drop_jobs_of_other_models)
        session.image_changed.connect(self._drop_jobs_of_other_images)
        session.model_changed.connect(self._model_changed)
        session.image_changed.connect(self._image_changed)
        session.layer_changed.connect(self._layer_changed)
        session.preset_changed.connect(self.image_panel.set_preset)
        session.fit_changed.connect(lambda _fit: self._show_model_input())
        for field, signal in session.field_signals().items():
            signal.connect(partial(self._invalidate_tabs, field))

    # ----- settings -----------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_geometry()
        state = self.settings.value("window/state")
        if state is None or not self.restoreState(state):
            self.reset_layout()
        self.exports.restore_settings()
        self.precision.restore()
        for _spec, tab in self.views:
            tab.restore_settings(self.settings)
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0)))
        self.files.refresh_recent()

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        self.exports.save_settings()
        for _spec, tab in self.views:
            tab.save_settings(self.settings)
        self.settings.sync()

    def _default_geometry(self) -> None:
        """1440x880, or 90 % of a smaller screen."""
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1440, 880
        if screen is not None:
            width, height = min(width, int(screen.width() * 0.9)), min(height, int(screen.height() * 0.9))
        self.resize(width, height)

    def _fit_tree_dock(self) -> None:
        """Widen the model panel to show its columns, as far as the tabs' controls keep their
        natural width (they scroll sideways only when the screen is too small for both)."""
        dock = self._docks[0]
        wanted = self.tree.content_width()
        tabs = max([self.tabs.minimumSizeHint().width()]
                   + [strip.widget().minimumSizeHint().width()
                      for strip in self.tabs.findChildren(ControlsStrip)])
        spare = self.tabs.width() - tabs - 40
        if dock.isVisible() and not dock.isFloating() and wanted > dock.width() and spare > 0:
            self.resizeDocks([dock], [dock.width() + min(spare, wanted - dock.width())],
                             Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """View > Reset Layout: both panels shown, docked at their sides, default widths."""
        self.restoreState(self._default_state)
        for dock in self._docks:
            dock.setFloating(False)
            dock.show()
        share = max(MIN_PANEL_WIDTH, min(360, self.width() // 5))
        self.resizeDocks(self._docks, [share, max(180, share - 60)], Qt.Orientation.Horizontal)
        if self.session.model is not None:
            self._fit_tree_dock()

    # ----- state changes ------------------------------------------------------------------
    def _drop_jobs_of_other_models(self, model: ModelSummary) -> None:
        """Another model is open: the jobs computing for the old one stop, and nothing they
        said stays on screen (their results, errors and progress are dropped)."""
        def stale(job: Job) -> bool:
            models = [ref for ref in request_refs(job.request) if isinstance(ref, ModelRef)]
            return bool(models) and model.ref not in models

        self.runner.cancel_stale(stale, keep=FILE_JOBS)
        self._tab_news.clear()  # each tab's last word was about the old model

    def _drop_jobs_of_other_images(self, image: ImageSummary) -> None:
        """Another image is open: the jobs computing for the old one stop (a comparison of
        several images that include the new one goes on)."""
        def stale(job: Job) -> bool:
            paths = {ref.path for ref in request_refs(job.request) if isinstance(ref, ImageRef)}
            return bool(paths) and image.ref.path not in paths

        self.runner.cancel_stale(stale, keep=FILE_JOBS)

    def _model_changed(self, model: ModelSummary) -> None:
        self.tree.set_layers(list(model.layer_tree))
        if self.session.layer is not None:
            self.tree.select_path(self.session.layer.path)
        self.image_panel.set_model(model, self.session.preset, model.preset_guessed)
        if not self._tree_fitted:
            self._tree_fitted = True
            self._fit_tree_dock()
        self.setWindowTitle(f"ConvViz — {model.name}")
        self.session.fit = str(self.settings.value(f"fit/{model.ref.spec}", "stretch"))
        self.image_panel.set_fit(self.session.fit)
        self._show_model_input()

    def _image_changed(self, image: ImageSummary) -> None:
        self._show_model_input()
        self.image_panel.set_image(image)

    def _layer_changed(self, layer: LayerInfo | None) -> None:
        if layer is not None:
            self.tree.select_path(layer.path)

    def _show_model_input(self) -> None:
        """The image panel shows what the model sees (after a model, image or fit change)."""
        if self.session.ready:
            self.runner.submit("model-input", ModelInput(self.session.model_ref, self.session.image_ref),
                               on_result=lambda result: self.image_panel.set_model_input(
                                   result, self.session.model))

    def _invalidate_tabs(self, field: str, _value: object) -> None:
        """Make stale the tabs whose view depends on ``field``, once they can compute."""
        for spec, tab in self.views:
            can_compute = self.session.ready or (not spec.needs_image
                                                 and self.session.model is not None)
            if field in spec.invalidated_by and can_compute:
                tab.invalidate()

    def _fit_chosen(self, fit: str) -> None:
        """Remember the fit mode for this model, then refresh every image view."""
        if self.session.model is not None:
            self.settings.setValue(f"fit/{self.session.model.ref.spec}", fit)
        self.session.set_fit(fit)

    def _tab_status(self, tab: QWidget, text: str) -> None:
        """A tab's news reaches the status bar when that tab is shown; each tab's last word is
        shown again when the user switches to it."""
        self._tab_news[tab] = text
        if tab is self.tabs.currentWidget():
            self.show_status(text)

    def _tab_shown(self, _index: int) -> None:
        self.show_status(self._tab_news.get(self.tabs.currentWidget(), ""))

    def current_tab(self) -> QWidget:
        """The visible canvas tab."""
        return self.tabs.currentWidget()

    def show_status(self, text: str) -> None:
        """Status-bar message."""
        self.statusBar().showMessage(str(text))

    def _busy(self, busy: bool) -> None:
        """The status bar's busy bar, shown once the engine has been busy for a moment (the
        Live tab's frames, each a few ms, would make it flicker)."""
        if busy:
            self._busy_delay.start()
        else:
            self._busy_delay.stop()
            self.busy_bar.hide()

    def report_error(self, message: str, details: str = "") -> None:
        """One-sentence dialog; the current model, image and results are kept."""
        self.errors_shown.append(message)
        self.show_status(message)
        self.last_error_dialog = show_error(self, message, details)

    # ----- help ---------------------------------------------------------------------------
    def show_user_guide(self) -> None:
        """Help > User Guide: the bundled guide in a browser dialog."""
        self.user_guide = user_guide_dialog(self)
        self.user_guide.show()

    def show_shortcuts(self) -> None:
        """Help > Keyboard Shortcuts."""
        actions = [action for action in self.findChildren(QAction) if not action.shortcut().isEmpty()]
        QMessageBox.information(self, "Keyboard Shortcuts", shortcuts_text(actions))

    def show_about(self) -> None:
        """Help > About."""
        QMessageBox.about(self, "About ConvViz", about_text(self.runner.versions,
                                                            self.runner.precision))

    # ----- drops and closing --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.files.open_files(files)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._save_settings()
        self.show_status("Stopping background jobs…")
        self.live_tab.shutdown()  # the camera is released
        self.runner.shutdown()
        self.files.forget_pasted()
        super().closeEvent(event)
