"""The ConvViz main window: model tree, tabbed canvases, image panel, menus, drag-drop."""

from __future__ import annotations

import io
import tempfile
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
)

from convviz_gui.engine.catalog import friendly_model_name
from convviz_gui.engine.models import MODEL_SUFFIXES
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.messages import (
    ExportAllActivations,
    ExportFigure,
    ImageRef,
    ImageSummary,
    ModelInput,
    ModelRef,
    ModelSummary,
    OpenImage,
    OpenModel,
)
from convviz_gui.paths import resource, resources_dir
from convviz_gui.ui.activations_tab import ActivationsTab
from convviz_gui.ui.dialogs import (
    CatalogDialog,
    ModelSettingsDialog,
    about_text,
    shortcuts_text,
    show_error,
    user_guide_dialog,
)
from convviz_gui.ui.figure_view import DRAW_LOCK
from convviz_gui.ui.filters_tab import FiltersTab
from convviz_gui.ui.gradcam_tab import GradCamTab
from convviz_gui.ui.image_panel import ImagePanel
from convviz_gui.ui.live_tab import LiveTab
from convviz_gui.ui.model_tree import ModelTreePanel
from convviz_gui.ui.report_dialog import ReportDialog
from convviz_gui.ui.session import Session
from convviz_gui.ui.weights_tab import WeightsTab
from convviz_gui.ui.workers import JobRunner

BUSY_BAR_DELAY_MS = 400
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5)"
CODE_FILTER = "Python files (*.py)"
RECENT_LIMIT = 8
DPI_CHOICES = (100, 150, 300)


class MainWindow(QMainWindow):
    """Model tree on the left, Activations / Filters / Grad-CAM tabs, image panel on the right."""

    model_loaded = Signal(object)
    image_loaded = Signal(object)

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
        self._build_tabs()
        self._build_docks()
        self._build_status_bar()
        self._build_menus()
        self.session.changed.connect(self._session_changed)
        self.runner.busy_changed.connect(self._busy)
        self.runner.engine_restarted.connect(self._engine_restarted)
        self.runner.engine_failed.connect(lambda message: self.report_error(message, ""))
        self._paste_dir: Path | None = None
        self._failed_model: str | None = None  # Model > Load Model Code… applies to it
        self._pasted = 0
        self._tree_fitted = False  # the model panel is widened to its columns once
        self._restore()

    # ----- construction -------------------------------------------------------------------
    def _build_tabs(self) -> None:
        self.activations_tab = ActivationsTab(self.session, self.runner)
        self.filters_tab = FiltersTab(self.session, self.runner)
        self.gradcam_tab = GradCamTab(self.session, self.runner)
        self.gradcam_tab.pick_images.connect(self.choose_images)
        self.weights_tab = WeightsTab(self.session, self.runner)  # refreshes itself on changes
        self.live_tab = LiveTab(self.session, self.runner)  # camera or video, frame after frame
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for tab, title in ((self.activations_tab, "Activations"), (self.filters_tab, "Filters"),
                           (self.gradcam_tab, "Grad-CAM"), (self.weights_tab, "Weights"),
                           (self.live_tab, "Live")):
            self.tabs.addTab(tab, title)
            tab.status.connect(partial(self._tab_status, tab))
            tab.error.connect(self.report_error)
        self.setCentralWidget(self.tabs)
        self._tab_news: dict = {}
        self.tabs.currentChanged.connect(self._tab_shown)

    def _build_docks(self) -> None:
        self.tree = ModelTreePanel()
        self.tree.layer_selected.connect(self.session.set_layer)
        self.image_panel = ImagePanel()
        self.image_panel.preset_chosen.connect(self.session.set_preset)
        self.image_panel.fit_chosen.connect(self._fit_chosen)
        self.image_panel.output_chosen.connect(self._output_chosen)
        self._docks = []
        for title, name, widget, area in (
                ("Model", "modelDock", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea),
                ("Image", "imageDock", self.image_panel, Qt.DockWidgetArea.RightDockWidgetArea)):
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

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        # triggered(bool) must never reach a slot's first parameter (e.g. a path).
        action.triggered.connect(lambda _checked=False, call=slot: call())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &Model…", self.choose_model, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open Keras &Application…", self.choose_application)
        self._action(file_menu, "Open &Image…", self.choose_image, "Ctrl+I")
        self._action(file_menu, "&Compare Images…", self.choose_images, "Ctrl+Shift+I")
        self._action(file_menu, "Open &Demo", lambda: self.open_model("demo"))
        self.recent_models_menu = file_menu.addMenu("Recent Models")
        self.recent_images_menu = file_menu.addMenu("Recent Images")
        file_menu.addSeparator()
        self._action(file_menu, "&Export Figure…", self.export_figure, "Ctrl+E")
        self._action(file_menu, "Export All &Activations…", self.export_all_activations)
        self._action(file_menu, "&Batch Report…", self.batch_report)
        dpi_menu = file_menu.addMenu("Export DPI")
        self.dpi_group = QActionGroup(self)
        for dpi in DPI_CHOICES:
            action = QAction(str(dpi), self, checkable=True)
            action.setData(dpi)
            self.dpi_group.addAction(action)
            dpi_menu.addAction(action)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = bar.addMenu("&Edit")
        self._action(edit_menu, "&Paste Image", self.paste_image, QKeySequence.StandardKey.Paste)
        self._action(edit_menu, "&Copy Figure", self.copy_figure, QKeySequence.StandardKey.Copy)
        model_menu = bar.addMenu("&Model")
        self.model_settings_action = self._action(model_menu, "Model &Settings…",
                                                  self.edit_model_settings)
        self._action(model_menu, "Load Model &Code…", self.load_model_code)
        view_menu = bar.addMenu("&View")
        for dock in self._docks:
            toggle = dock.toggleViewAction()
            toggle.setText(f"{dock.windowTitle()} Panel")
            view_menu.addAction(toggle)
        view_menu.addSeparator()
        for number, title in enumerate(("Activations", "Filters", "Grad-CAM", "Weights", "Live"),
                                       1):
            self._action(view_menu, title, partial(self.tabs.setCurrentIndex, number - 1),
                         f"Ctrl+{number}")
        view_menu.addSeparator()
        self._action(view_menu, "&Reset Layout", self.reset_layout)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&User Guide", self.show_user_guide, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts)
        help_menu.addSeparator()
        self._action(help_menu, "&About ConvViz", self.show_about)

    # ----- settings -----------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_geometry()
        state = self.settings.value("window/state")
        if state is None or not self.restoreState(state):
            self.reset_layout()
        dpi = int(self.settings.value("export/dpi", 150))
        for action in self.dpi_group.actions():
            action.setChecked(action.data() == dpi)
        self.activations_tab.cmap.setCurrentText(self.settings.value("activations/cmap", "viridis"))
        self.gradcam_tab.cmap.setCurrentText(self.settings.value("gradcam/cmap", "jet"))
        self.gradcam_tab.alpha.setValue(int(self.settings.value("gradcam/alpha", 40)))
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0)))
        self._refresh_recent()

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        self.settings.setValue("export/dpi", self.export_dpi())
        self.settings.setValue("activations/cmap", self.activations_tab.cmap.currentText())
        self.settings.setValue("gradcam/cmap", self.gradcam_tab.cmap.currentText())
        self.settings.setValue("gradcam/alpha", self.gradcam_tab.alpha.value())
        self.settings.sync()

    def _default_geometry(self) -> None:
        """1440x880, or 90 % of a smaller screen."""
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1440, 880
        if screen is not None:
            width, height = min(width, int(screen.width() * 0.9)), min(height, int(screen.height() * 0.9))
        self.resize(width, height)

    def _fit_tree_dock(self) -> None:
        """Widen the model panel to show its columns, as far as the views leave room."""
        dock = self._docks[0]
        wanted = self.tree.content_width()
        spare = self.centralWidget().width() - self.centralWidget().minimumSizeHint().width() - 40
        if dock.isVisible() and not dock.isFloating() and wanted > dock.width() and spare > 0:
            self.resizeDocks([dock], [dock.width() + min(spare, wanted - dock.width())],
                             Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """View > Reset Layout: both panels shown, docked at their sides, default widths."""
        self.restoreState(self._default_state)
        for dock in self._docks:
            dock.setFloating(False)
            dock.show()
        share = max(200, min(360, self.width() // 5))
        self.resizeDocks(self._docks, [share, max(180, share - 60)], Qt.Orientation.Horizontal)
        if self.session.model is not None:
            self._fit_tree_dock()

    def export_dpi(self) -> int:
        """DPI chosen in File > Export DPI."""
        checked = self.dpi_group.checkedAction()
        return int(checked.data()) if checked else 150

    def _recent(self, key: str) -> list[str]:
        value = self.settings.value(key, [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, key: str, item: str) -> None:
        items = [item] + [entry for entry in self._recent(key) if entry != item]
        self.settings.setValue(key, items[:RECENT_LIMIT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        for menu, key, opener in ((self.recent_models_menu, "recent/models", self.open_model),
                                  (self.recent_images_menu, "recent/images", self.open_image)):
            menu.clear()
            entries = self._recent(key)
            for entry in entries:
                self._action(menu, entry, partial(opener, entry))
            menu.setEnabled(bool(entries))

    # ----- opening ------------------------------------------------------------------------
    def choose_model(self) -> None:
        """File > Open Model."""
        path, _ = QFileDialog.getOpenFileName(self, "Open Keras model", self._last_dir(),
                                              MODEL_FILTER)
        if path:
            self.open_model(path)

    def choose_application(self) -> None:
        """File > Open Keras Application."""
        dialog = CatalogDialog(self)
        accepted, spec = dialog.exec(), dialog.spec()
        dialog.deleteLater()
        if accepted:
            self.open_model(spec)

    def choose_image(self) -> None:
        """File > Open Image."""
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_dir(), IMAGE_FILTER)
        if path:
            self.open_image(path)

    def choose_images(self) -> None:
        """File > Compare Images: several images side by side in the Grad-CAM tab."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Compare images (choose two or more)",
                                                self._last_dir(), IMAGE_FILTER)
        if len(paths) == 1:
            self.open_image(paths[0])
        elif paths:
            self.compare_images(paths)

    def compare_images(self, paths: list[str]) -> None:
        """Open the first image and explain all of them side by side in the Grad-CAM tab."""
        self.open_image(paths[0])
        self.gradcam_tab.set_compare_images(paths)
        self.tabs.setCurrentWidget(self.gradcam_tab)
        self.show_status(f"Comparing {len(paths)} images in the Grad-CAM tab: the same class, "
                         "layer, method and colour scale in every column.")

    def _last_dir(self) -> str:
        return str(self.settings.value("recent/dir", str(Path.home())))

    def _remember_dir(self, path: str) -> None:
        """File dialogs open where the user last opened or saved a file (not ConvViz's own
        folders: the bundled demo image, pasted images)."""
        folder = (Path(path) if Path(path).is_dir() else Path(path).parent).resolve()
        own = [resources_dir().resolve()] + ([self._paste_dir.resolve()] if self._paste_dir else [])
        if folder.is_dir() and not any(folder.is_relative_to(root) for root in own):
            self.settings.setValue("recent/dir", str(folder))

    def open_model(self, spec: str, trust: bool = False, output: str | None = None,
                   code: tuple[str, ...] = ()) -> None:
        """Load a model (file, ``demo`` or ``app:NAME[:weights]``) in the engine process;
        ``output`` is the output to explain (None: the one chosen last time for this model);
        ``code``: Python files defining its custom classes (imported there first)."""
        if output is None:
            output = str(self.settings.value(f"output/{spec}", ""))
        name = friendly_model_name(spec)
        self.show_status(f"Opening {name}…")
        if self.session.model is None:
            self.image_panel.show_loading(model=True, image=False)
            for tab in (self.activations_tab, self.filters_tab, self.gradcam_tab, self.weights_tab):
                tab.figure_view.set_pending(f"Loading {name}…")
        self.runner.submit("model", OpenModel(ModelRef(spec, trust, output, code)),
                           on_result=self._model_ready, on_error=partial(self._model_failed, spec),
                           on_progress=self.show_status)

    def _output_chosen(self, name: str) -> None:
        """Explain another output of the current model (remembered for this model)."""
        model = self.session.model
        if model is None or model.output is None or name == model.output.name:
            return
        self.settings.setValue(f"output/{model.ref.spec}", name)
        self.open_model(model.ref.spec, model.ref.trust_code, name, model.ref.code)

    def _model_ready(self, model: ModelSummary) -> None:
        spec = model.ref.spec
        if not spec.startswith(("app:", "demo")):
            self._remember_dir(spec)
        self._remember("recent/models", spec)
        self._failed_model = None
        self.show_status(f"Opened {model.name}.")
        self.session.set_model(model)
        self.model_loaded.emit(model)

    def _model_failed(self, spec: str, message: str, details: str) -> None:
        """Unsafe code or missing weights: ask the user instead of failing."""
        remembered = f"output/{spec}"
        if message.startswith("The model has no output") and self.settings.value(remembered, ""):
            self.settings.remove(remembered)  # the file changed since: its default output
            self.show_status("The output chosen last time is gone from this model; "
                             "explaining its default output.")
            self.open_model(spec, output="")
            return
        self._failed_model = spec
        if self.session.model is None:  # nothing is loading any more: say what to do
            for tab in (self.activations_tab, self.filters_tab, self.gradcam_tab, self.weights_tab):
                tab.figure_view.set_hint("No model is open: File > Open Model, or drop a model "
                                         "file on the window.")
            self.image_panel.model_info.setText("No model is open.")
        job_error = self.runner.last_error_type
        if job_error not in ("UnsafeModelError", "OfflineWeightsError"):
            self.report_error(message, details)
            return
        self.show_status(message)
        if job_error == "UnsafeModelError":
            if self._consent_to_code(message, spec):
                self.open_model(spec, trust=True)
            return
        answer = QMessageBox.question(
            self, "ImageNet weights unavailable",
            f"{message}\n\nOpen the same architecture with random weights instead?")
        if answer == QMessageBox.StandardButton.Yes:
            self.open_model(":".join(spec.split(":")[:2]) + ":none")

    def _consent_to_code(self, message: str, spec: str) -> bool:
        """The user's yes to running code (Lambda layers, model code); No is the default."""
        answer = QMessageBox.warning(
            self, "Untrusted model code",
            f"{message}\n\nFile: {spec}\n\nLoad it anyway and run its code?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def load_model_code(self) -> None:
        """Model > Load Model Code…: the Python files defining the custom layers, functions or
        model class of the model that failed to open (else the current one); they are imported
        with the user's consent, then remembered next to the model."""
        spec = self._failed_model or (self.session.model.ref.spec if self.session.model else None)
        if spec is None or spec == "demo" or spec.startswith("app:"):
            self.report_error("Open your model file first: its custom code is loaded for it.", "")
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Python files defining the model's classes",
                                                str(Path(spec).parent), CODE_FILTER)
        names = ", ".join(Path(path).name for path in paths)
        if paths and self._consent_to_code(
                f"Importing {names} runs its code, to open {Path(spec).name}.", spec):
            self.open_model(spec, trust=True, code=tuple(str(Path(path).resolve()) for path in paths))

    def open_image(self, path: str, remember: bool = True) -> None:
        """Load an image file in the engine process; the current image stays on failure."""
        if self.session.image is None:
            self.image_panel.show_loading(model=False, image=True)
        self.runner.submit("image", OpenImage(ImageRef(str(path))),
                           on_result=partial(self._image_ready, remember),
                           on_error=self.report_error)

    def _image_ready(self, remember: bool, image: ImageSummary) -> None:
        if remember:
            self._remember("recent/images", image.ref.path)
            self._remember_dir(image.ref.path)
        self.session.set_image(image)
        self.image_loaded.emit(image)

    def _engine_restarted(self, message: str) -> None:
        """The engine process died and a new one runs: re-open what the window shows."""
        self.show_status(message)
        if self.session.model is not None:
            self.runner.submit("reopen-model", OpenModel(self.session.model_ref))
        if self.session.image is not None:
            self.runner.submit("reopen-image", OpenImage(self.session.image_ref))

    def paste_image(self) -> None:
        """Edit > Paste Image: clipboard bitmap or copied image file."""
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
            if files:
                self.open_files(files)
                return
        qimage = QApplication.clipboard().image()
        if qimage.isNull():
            self.report_error("The clipboard holds no image.", "")
            return
        if self._paste_dir is None:
            self._paste_dir = Path(tempfile.mkdtemp(prefix="convviz-pasted-"))
        self._pasted += 1
        path = self._paste_dir / f"pasted image {self._pasted}.png"
        if not qimage.save(str(path), "PNG"):
            self.report_error("The pasted image could not be kept (is the disk full?).", "")
            return
        self.open_image(str(path), remember=False)

    def open_files(self, paths: list[str]) -> None:
        """Open dropped/pasted files: model files as models, anything else as an image; two
        or more images are compared side by side in the Grad-CAM tab."""
        images = []
        for path in paths:
            if Path(path).suffix.lower() in MODEL_SUFFIXES or Path(path).is_dir():
                self.open_model(path)
            else:
                images.append(path)
        if len(images) > 1:
            self.compare_images(images)
        elif images:
            self.open_image(images[0])

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_files(files)

    # ----- state changes ------------------------------------------------------------------
    def _session_changed(self, what: str) -> None:
        model, image = self.session.model, self.session.image
        if what == "model":
            self.tree.set_layers(list(model.layer_tree))
            if self.session.layer is not None:
                self.tree.select_path(self.session.layer.path)
            self.image_panel.set_model(model, self.session.preset, model.preset_guessed)
            if not self._tree_fitted:
                self._tree_fitted = True
                self._fit_tree_dock()
            self.setWindowTitle(f"ConvViz — {model.name}")
            self.filters_tab.cache.clear()
        if what == "model":
            self.session.fit = str(self.settings.value(f"fit/{model.ref.spec}", "stretch"))
            self.image_panel.set_fit(self.session.fit)
        if what == "preset":
            self.image_panel.set_preset(self.session.preset)
        if what in ("model", "image", "fit") and self.session.ready:
            self.runner.submit("model-input", ModelInput(self.session.model_ref, self.session.image_ref),
                               on_result=lambda result: self.image_panel.set_model_input(
                                   result, self.session.model))
        if what == "layer" and self.session.layer is not None:
            self.tree.select_path(self.session.layer.path)
        if what == "image":
            self.image_panel.set_image(image)
        if self.session.ready:
            for tab in (self.activations_tab, self.filters_tab, self.gradcam_tab):
                if what in ("image", "fit", "preset") and tab is self.filters_tab:
                    continue  # filter patterns do not depend on the image
                tab.invalidate()

    def _fit_chosen(self, fit: str) -> None:
        """Remember the fit mode for this model, then refresh every image view."""
        if self.session.model is not None:
            self.settings.setValue(f"fit/{self.session.model.ref.spec}", fit)
        self.session.set_fit(fit)

    def _tab_status(self, tab, text: str) -> None:
        """A tab's news reaches the status bar when that tab is shown; each tab's last word is
        shown again when the user switches to it."""
        self._tab_news[tab] = text
        if tab is self.tabs.currentWidget():
            self.show_status(text)

    def _tab_shown(self, _index: int) -> None:
        self.show_status(self._tab_news.get(self.tabs.currentWidget(), ""))

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

    # ----- export -------------------------------------------------------------------------
    def current_tab(self):
        """The visible canvas tab."""
        return self.tabs.currentWidget()

    def export_figure(self, path: str | None = None) -> None:
        """File > Export Figure (PNG/SVG/PDF) of the current view, drawn at the figure's own
        size by the same builder as the CLI's ``--out``."""
        tab = self.current_tab()
        if tab.result is None:
            self.report_error("There is no figure to export yet.", "")
            return
        if path is None:
            default = str(Path(self._last_dir()) / f"{tab.export_stem()}.png")
            path, _ = QFileDialog.getSaveFileName(
                self, "Export figure", default, "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
            if not path:
                return
            self._remember_dir(path)
        self.show_status(f"Exporting {Path(path).name}…")
        self.runner.submit("export", ExportFigure(tab.result, str(path), tab.style(),
                                                  self.export_dpi()),
                           on_result=lambda saved: self.show_status(f"Saved {saved.paths[0]}"),
                           on_error=self.report_error)

    def export_all_activations(self, folder: str | None = None) -> None:
        """File > Export All Activations: one PNG per spatial layer into a folder."""
        if not self.session.ready:
            self.report_error("Open a model and an image first.", "")
            return
        folder = folder or QFileDialog.getExistingDirectory(self, "Export all activations to",
                                                            self._last_dir())
        if not folder:
            return
        request = ExportAllActivations(self.session.model_ref, self.session.image_ref, folder,
                                       self.session.preset, self.activations_tab.style(),
                                       self.export_dpi())
        self.runner.submit("export-all", request, on_progress=self.show_status,
                           on_result=lambda saved: self.show_status(
                               f"Exported {len(saved.paths)} activation grids to {folder}"),
                           on_error=self.report_error)

    def batch_report(self) -> None:
        """File > Batch Report: a folder of images explained into one HTML or PDF file."""
        if self.session.model is None:
            self.report_error("Open a model first: the report explains images with it.", "")
            return
        dialog = getattr(self, "report_dialog", None)
        running = self.runner.running("report") is not None  # keep the dialog it reports to
        if dialog is None or (dialog.model is not self.session.model and not running):
            if dialog is not None:
                dialog.deleteLater()
            self.report_dialog = ReportDialog(self)
        self.report_dialog.show()
        self.report_dialog.raise_()
        self.report_dialog.activateWindow()
        self.report_dialog.folder.setFocus()

    def copy_figure(self) -> None:
        """Edit > Copy Figure as a bitmap (the figure at its own size, as exported)."""
        tab = self.current_tab()
        if tab.result is None:
            self.report_error("There is no figure to copy yet.", "")
            return
        buffer = io.BytesIO()
        with DRAW_LOCK:  # fonts are shared with the figures drawn in the background
            figure_for(tab.result, tab.style()).savefig(buffer, format="png", dpi=self.export_dpi())
        QApplication.clipboard().setImage(QImage.fromData(buffer.getvalue(), "PNG"))
        self.show_status("Figure copied to the clipboard.")

    def edit_model_settings(self) -> None:
        """Model > Model Settings: preset, labels, input size saved as sidecars, then re-open."""
        model = self.session.model
        if model is None:
            self.report_error("Open a model first.", "")
            return
        if model.ref.spec == "demo" or model.ref.spec.startswith("app:"):
            self.show_status("The demo and the Keras Applications have their settings built in; "
                             "Model Settings applies to your own model files.")
            return
        dialog = ModelSettingsDialog(self, model, self.session.preset)
        accepted = dialog.exec()
        request = dialog.request(model)
        dialog.deleteLater()
        if accepted:
            self.runner.submit("model-settings", request,
                               on_result=lambda saved: self._settings_saved(model, saved),
                               on_error=self.report_error)

    def _settings_saved(self, model: ModelSummary, saved) -> None:
        self.show_status(f"Saved {', '.join(Path(path).name for path in saved.paths)}; "
                         "re-opening the model.")
        self.open_model(model.ref.spec, model.ref.trust_code)

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
        QMessageBox.about(self, "About ConvViz", about_text(self.runner.versions))

    # ----- closing ------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._save_settings()
        self.show_status("Stopping background jobs…")
        self.live_tab.shutdown()  # the camera is released
        self.runner.shutdown()
        if self._paste_dir is not None:
            import shutil

            shutil.rmtree(self._paste_dir, ignore_errors=True)
        super().closeEvent(event)
