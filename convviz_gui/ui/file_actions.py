"""Opening things: models, Keras Applications, images (open, compare, paste, drop), the
recent lists and the folder the file dialogs start in; re-opening after an engine restart."""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox

from convviz_gui.engine.catalog import friendly_model_name
from convviz_gui.engine.models import MODEL_SUFFIXES
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.model import ImageSummary, ModelSummary, OpenImage, OpenModel
from convviz_gui.paths import resources_dir
from convviz_gui.ui.controls import add_action
from convviz_gui.ui.dialogs import CatalogDialog

if TYPE_CHECKING:
    from convviz_gui.ui.main_window import MainWindow

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5)"
CODE_FILTER = "Python files (*.py)"
RECENT_LIMIT = 8
# Each kind of file has its own last folder: models, images, exported figures, reports.
FOLDER_KINDS = ("models", "images", "exports", "reports")


class FileActions(QObject):
    """File > Open…, Recent, Compare Images; Edit > Paste Image; Model > Load Model Code."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.settings, self.session, self.runner = window.settings, window.session, window.runner
        self._paste_dir: Path | None = None
        self._failed_model: str | None = None  # Model > Load Model Code… applies to it
        self._pasted = 0
        self._explain_next: tuple[str, int] | None = None  # (image path, class) for Grad-CAM
        self._explaining = False  # ``_explain_arrived`` is connected
        self.recent_models_menu = QMenu("Recent Models", window)
        self.recent_images_menu = QMenu("Recent Images", window)

    # ----- menus --------------------------------------------------------------------------------
    def fill_file_menu(self, menu: QMenu) -> None:
        """The opening entries and the recent lists."""
        add_action(menu, self, "Open &Model…", self.choose_model, QKeySequence.StandardKey.Open)
        add_action(menu, self, "Open Keras &Application…", self.choose_application)
        add_action(menu, self, "Open &Image…", self.choose_image, "Ctrl+I")
        add_action(menu, self, "&Compare Images…", self.choose_images, "Ctrl+Shift+I")
        add_action(menu, self, "Analyze &Dataset…", self.analyze_dataset, "Ctrl+Shift+D")
        add_action(menu, self, "Open &Demo", lambda: self.open_model("demo"))
        menu.addMenu(self.recent_models_menu)
        menu.addMenu(self.recent_images_menu)
        self.refresh_recent()

    def fill_edit_menu(self, menu: QMenu) -> None:
        """Edit > Paste Image."""
        add_action(menu, self, "&Paste Image", self.paste_image, QKeySequence.StandardKey.Paste)

    def fill_model_menu(self, menu: QMenu) -> None:
        """Model > Load Model Code."""
        add_action(menu, self, "Load Model &Code…", self.load_model_code)

    # ----- recent lists and folders ---------------------------------------------------------------
    def _recent(self, key: str) -> list[str]:
        value = self.settings.value(key, [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, key: str, item: str) -> None:
        items = [item] + [entry for entry in self._recent(key) if entry != item]
        self.settings.setValue(key, items[:RECENT_LIMIT])
        self.refresh_recent()

    def refresh_recent(self) -> None:
        """Fill the Recent Models and Recent Images menus from the settings."""
        for menu, key, opener in ((self.recent_models_menu, "recent/models", self.open_model),
                                  (self.recent_images_menu, "recent/images", self.open_image)):
            menu.clear()
            entries = self._recent(key)
            for entry in entries:
                add_action(menu, self, entry, partial(opener, entry))
            menu.setEnabled(bool(entries))

    def last_dir(self, kind: str) -> str:
        """Where a file dialog for ``kind`` (one of ``FOLDER_KINDS``) opens: where the user
        last opened or saved that kind of file, else the home folder (never the folder of
        another kind: exports do not land among the photos)."""
        return str(self.settings.value(f"recent/dir/{kind}", str(Path.home())))

    def remember_dir(self, path: str, kind: str) -> None:
        """File dialogs for ``kind`` open where the user last opened or saved such a file
        (not ConvViz's own folders: the bundled demo image, pasted images)."""
        if kind not in FOLDER_KINDS:
            raise ValueError(f"unknown kind of folder {kind!r}")
        folder = (Path(path) if Path(path).is_dir() else Path(path).parent).resolve()
        own = [resources_dir().resolve()] + ([self._paste_dir.resolve()] if self._paste_dir else [])
        if folder.is_dir() and not any(folder.is_relative_to(root) for root in own):
            self.settings.setValue(f"recent/dir/{kind}", str(folder))

    # ----- choosing -----------------------------------------------------------------------------
    def choose_model(self) -> None:
        """File > Open Model."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Keras model", self.last_dir("models"),
                                              MODEL_FILTER)
        if path:
            self.open_model(path)

    def choose_application(self) -> None:
        """File > Open Keras Application."""
        dialog = CatalogDialog(self.window)
        accepted, spec = dialog.exec(), dialog.spec()
        dialog.deleteLater()
        if accepted:
            self.open_model(spec)

    def choose_image(self) -> None:
        """File > Open Image."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", self.last_dir("images"),
                                              IMAGE_FILTER)
        if path:
            self.open_image(path)

    def choose_images(self) -> None:
        """File > Compare Images: several images side by side in the Grad-CAM tab."""
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Compare images (choose two or more)",
                                                self.last_dir("images"), IMAGE_FILTER)
        if len(paths) == 1:
            self.open_image(paths[0])
        elif paths:
            self.compare_images(paths)

    def compare_images(self, paths: list[str]) -> None:
        """Open the first image and explain all of them side by side in the Grad-CAM tab."""
        window = self.window
        self.open_image(paths[0])
        window.gradcam_tab.set_compare_images(paths)
        window.tabs.setCurrentWidget(window.gradcam_tab)
        window.show_status(f"Comparing {len(paths)} images in the Grad-CAM tab: the same class, "
                           "layer, method and colour scale in every column.")

    def analyze_dataset(self) -> None:
        """File > Analyze Dataset…: choose a folder, then scan it in the Dataset tab."""
        window = self.window
        if self.session.model is None:
            window.report_error("Open a model first: the analysis runs it on every image of the "
                                "folder.", "")
            return
        tab = window.dataset_tab
        folder = QFileDialog.getExistingDirectory(window, "Folder of images to analyze",
                                                  tab.folder.text().strip() or self.last_dir("images"))
        if folder:
            self.remember_dir(folder, "images")
            window.tabs.setCurrentWidget(tab)
            tab.analyze(folder)

    def explain_in_gradcam(self, path: str, class_index: int) -> None:
        """Open an image of a dataset scan and explain ``class_index`` in the Grad-CAM tab."""
        if not self._explaining:  # after the Grad-CAM tab's own reset of its class
            self.session.image_changed.connect(self._explain_arrived)
            self._explaining = True
        self._explain_next = (str(Path(path).absolute()), class_index)
        self.open_image(path, remember=False)

    def _explain_arrived(self, image: ImageSummary) -> None:
        if self._explain_next is None or str(Path(image.ref.path).absolute()) != self._explain_next[0]:
            return
        window, (_, class_index) = self.window, self._explain_next
        self._explain_next = None
        tab = window.gradcam_tab
        tab.class_index = class_index
        if tab.isVisible():
            tab.invalidate()
        else:  # computed once, as it is shown
            tab.stale = True
            window.tabs.setCurrentWidget(tab)

    # ----- models -------------------------------------------------------------------------------
    def open_model(self, spec: str, trust: bool = False, output: str | None = None,
                   code: tuple[str, ...] = ()) -> None:
        """Load a model (file, ``demo`` or ``app:NAME[:weights]``) in the engine process;
        ``output`` is the output to explain (None: the one chosen last time for this model);
        ``code``: Python files defining its custom classes (imported there first)."""
        if output is None:
            output = str(self.settings.value(f"output/{spec}", ""))
        name = friendly_model_name(spec)
        self.window.show_status(f"Opening {name}…")
        if self.session.model is None:
            self.window.image_panel.show_loading(model=True, image=False)
            for tab in self.window.loading_tabs():
                tab.figure_view.set_pending(f"Loading {name}…")
        self.runner.submit("model", OpenModel(ModelRef(spec, trust, output, code)),
                           on_result=self._model_ready, on_error=partial(self._model_failed, spec),
                           on_progress=self.window.show_status)

    def output_chosen(self, name: str) -> None:
        """Explain another output of the current model (remembered for this model)."""
        model = self.session.model
        if model is None or model.output is None or name == model.output.name:
            return
        self.settings.setValue(f"output/{model.ref.spec}", name)
        self.open_model(model.ref.spec, model.ref.trust_code, name, model.ref.code)

    def _model_ready(self, model: ModelSummary) -> None:
        spec = model.ref.spec
        if not spec.startswith(("app:", "demo")):
            self.remember_dir(spec, "models")
        self._remember("recent/models", spec)
        self._failed_model = None
        self.window.show_status(f"Opened {model.name}.")
        self.session.set_model(model)

    def _model_failed(self, spec: str, message: str, details: str) -> None:
        """Unsafe code or missing weights: ask the user instead of failing."""
        window = self.window
        remembered = f"output/{spec}"
        if message.startswith("The model has no output") and self.settings.value(remembered, ""):
            self.settings.remove(remembered)  # the file changed since: its default output
            window.show_status("The output chosen last time is gone from this model; "
                               "explaining its default output.")
            self.open_model(spec, output="")
            return
        self._failed_model = spec
        if self.session.model is None:  # nothing is loading any more: say what to do
            for tab in window.loading_tabs():
                tab.figure_view.set_hint("No model is open: File > Open Model, or drop a model "
                                         "file on the window.")
            window.image_panel.model_info.setText("No model is open.")
        job_error = self.runner.last_error_type
        if job_error not in ("UnsafeModelError", "OfflineWeightsError"):
            window.report_error(message, details)
            return
        window.show_status(message)
        if job_error == "UnsafeModelError":
            if self._consent_to_code(message, [f"{spec} (its Lambda layers)"]):
                self.open_model(spec, trust=True)
            return
        answer = QMessageBox.question(
            window, "ImageNet weights unavailable",
            f"{message}\n\nOpen the same architecture with random weights instead?")
        if answer == QMessageBox.StandardButton.Yes:
            self.open_model(":".join(spec.split(":")[:2]) + ":none")

    def _consent_to_code(self, message: str, runs: list[str]) -> bool:
        """The user's yes to running code (Lambda layers, model code); No is the default.

        Args:
            runs: where the code that would run is: the model file (its Lambda layers) or the
                Python files to import, by full path.
        """
        listing = "\n".join(runs)
        answer = QMessageBox.warning(
            self.window, "Untrusted model code",
            f"{message}\n\nThe code that will run:\n{listing}\n\nLoad it anyway and run this "
            "code?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def load_model_code(self) -> None:
        """Model > Load Model Code…: the Python files defining the custom layers, functions or
        model class of the model that failed to open (else the current one); they are imported
        with the user's consent, then remembered next to the model."""
        spec = self._failed_model or (self.session.model.ref.spec if self.session.model else None)
        if spec is None or spec == "demo" or spec.startswith("app:"):
            self.window.report_error("Open your model file first: its custom code is loaded for "
                                     "it.", "")
            return
        paths, _ = QFileDialog.getOpenFileNames(self.window,
                                                "Python files defining the model's classes",
                                                str(Path(spec).parent), CODE_FILTER)
        code = [str(Path(path).resolve()) for path in paths]
        names = ", ".join(Path(path).name for path in paths)
        if paths and self._consent_to_code(
                f"Importing {names} runs its code, to open {Path(spec).name}.", code):
            self.open_model(spec, trust=True, code=tuple(code))

    # ----- images -------------------------------------------------------------------------------
    def open_image(self, path: str, remember: bool = True) -> None:
        """Load an image file in the engine process; the current image stays on failure."""
        if self.session.image is None:
            self.window.image_panel.show_loading(model=False, image=True)
        self.runner.submit("image", OpenImage(ImageRef(str(path))),
                           on_result=partial(self._image_ready, remember),
                           on_error=self.window.report_error)

    def _image_ready(self, remember: bool, image: ImageSummary) -> None:
        if remember:
            self._remember("recent/images", image.ref.path)
            self.remember_dir(image.ref.path, "images")
        self.session.set_image(image)

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
            self.window.report_error("The clipboard holds no image.", "")
            return
        if self._paste_dir is None:
            self._paste_dir = Path(tempfile.mkdtemp(prefix="convviz-pasted-"))
        self._pasted += 1
        path = self._paste_dir / f"pasted image {self._pasted}.png"
        if not qimage.save(str(path), "PNG"):
            self.window.report_error("The pasted image could not be kept (is the disk full?).", "")
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

    def reopen_after_restart(self, message: str) -> None:
        """The engine process died and a new one runs: re-open what the window shows."""
        self.window.show_status(message)
        if self.session.model is not None:
            self.runner.submit("reopen-model", OpenModel(self.session.model_ref))
        if self.session.image is not None:
            self.runner.submit("reopen-image", OpenImage(self.session.image_ref))

    def forget_pasted(self) -> None:
        """The window closes: delete the pasted images' temporary folder."""
        if self._paste_dir is not None:
            shutil.rmtree(self._paste_dir, ignore_errors=True)
