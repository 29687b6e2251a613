"""Dataset canvas (issue 24): what the model learned across a folder of images.

Controls: the folder (typed, or Browse; its name shown) and the top-k images per channel; the
explained layer and method, and the shown view's class or channel; the views, with Run/Cancel
and the files done (each of fixed width: starting a scan never widens the tab). Three views of
the finished scan, each a figure of ``figures/dataset.py``: Mistakes (click a matrix cell for its images, a
mistake to explain it in the Grad-CAM tab), Strategies (a class's clusters) and Channels
(a channel's top images). The scan belongs to the model: another model stops it and clears it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.figures.dataset import (
    EXPLAIN,
    ChannelView,
    MistakesView,
    StrategiesView,
    cell_images,
)
from convviz_gui.files import safe_file_stem
from convviz_gui.ops.dataset import Dataset, DatasetProgress, DatasetResult
from convviz_gui.ops.model import ModelSummary
from convviz_gui.ui.controls import CamLayerCombo, ElidedLabel, MethodCombo, NumberBox
from convviz_gui.ui.job_controls import JobControls
from convviz_gui.ui.view_tab import ViewTab

VIEWS = ("Mistakes", "Strategies", "Channels")
# The folder's name and a slip beside the folder box, cut with "…" beyond these widths: the
# row's width never depends on what they say.
FOLDER_NAME_WIDTH, NOTE_WIDTH = 160, 220
# The progress bar ("21/21 files") and the class box have fixed widths, for the same reason.
PROGRESS_WIDTH, CLASS_CHARS = 90, 14
CELL_HINT = "Click a cell of the confusion matrix to list its images here."
HINT = ("Choose a folder of images (one subfolder per class, as Keras reads them, or all in one "
        "folder) and press Run: the model's mistakes, its strategies per class and the images "
        "each channel responds to most.")


def progress_text(update: DatasetProgress) -> str:
    """The bar's words: files done of all, and the files an earlier scan left in the cache."""
    resumed = f", resumed {update.resumed} from the cache" if update.resumed else ""
    return f"{update.done}/{update.total} files{resumed}"


def _labelled(text: str, widget: QWidget) -> QWidget:
    """``widget`` with its label in front, shown and hidden together."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    label = QLabel(text)
    label.setBuddy(widget)
    row.addWidget(label)
    row.addWidget(widget)
    return box


class DatasetTab(ViewTab):
    """Scan a folder with the model; Mistakes, Strategies and Channels of the scan."""

    view_name = "dataset"
    explain_image = Signal(str, int)  # absolute path, class: open it in the Grad-CAM tab

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, HINT)
        self.scan: DatasetResult | None = None
        self.cell: tuple[int, int] | None = None
        self.folder = QLineEdit(placeholderText="a folder of images")
        self.folder.setMinimumWidth(180)
        self.folder.setToolTip("FOLDER/<class>/* (subfolders matched to the model's classes by "
                               "name, else in sorted order), or images directly in FOLDER "
                               "(unlabelled: no accuracy).")
        self.folder.textChanged.connect(self._folder_typed)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose the folder of images to analyze.")
        self.browse.clicked.connect(lambda _checked=False: self.choose_folder())
        self.folder_name = ElidedLabel(FOLDER_NAME_WIDTH, bold=True)
        # a slip (no folder, no such folder), said beside the folder (whole in the status bar)
        self.note = ElidedLabel(NOTE_WIDTH)
        self.note.setStyleSheet("color: #b3261e;")
        self.layer_combo = CamLayerCombo("The layer explained for the strategies and whose channels "
                                         "are ranked (the last convolution by default).", 16)
        self.method = MethodCombo()
        self.method.currentIndexChanged.connect(lambda _: self.layer_combo.follow_method(self.method))
        self.top_k = NumberBox("Top-k", minimum=1, maximum=64, value=9)
        self.top_k.setToolTip("Images kept per channel, the ones it responds to most.")
        self.job = JobControls(runner, self.view_name, on_run=self.run, progress_width=PROGRESS_WIDTH,
                               run_tip="Scan every image of the folder (a scan stopped half-way "
                                       "resumes where it stopped).",
                               cancel_tip="Stop the scan; the finished part stays in the cache.",
                               progress_tip="Files read of all (skipped ones included).")
        self.job.progress_text.connect(self.status)
        self.job.cancelled.connect(self._cancelled)
        self.views = QTabBar()
        self.views.setUsesScrollButtons(False)  # every view's name in sight (the row scrolls)
        for title in VIEWS:
            self.views.addTab(title)
        self.views.setToolTip("Mistakes: what it confuses. Strategies: the kinds of explanation "
                              "maps of each predicted class. Channels: the images a channel "
                              "responds to most.")
        self.views.currentChanged.connect(lambda _index: self.show_view())
        self.class_combo = QComboBox()  # as wide whatever the classes: the row never widens
        self.class_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_combo.setMinimumContentsLength(CLASS_CHARS)
        self.class_combo.setToolTip("The predicted class whose strategies are shown (flagged ones "
                                    "first).")
        self.class_combo.currentIndexChanged.connect(lambda _index: self.show_view())
        self.channel = NumberBox("Channel", minimum=0, maximum=0)
        self.channel.setToolTip("The channel of the ranked layer whose top images are shown.")
        self.channel.valueChanged.connect(lambda _value: self.show_view())
        self.class_box, self.channel_box = (_labelled("Class", self.class_combo),
                                            _labelled("Channel", self.channel))
        self.add_controls(("Folder", self.folder), self.browse, ("Top-k", self.top_k),
                          self.folder_name, self.note)
        # the class (Strategies) or channel (Channels) shown beside the method: the views' row
        # keeps Run in sight
        self.add_controls(("Layer", self.layer_combo), ("Method", self.method), self.class_box,
                          self.channel_box)
        self.add_controls(self.views)
        self.controls.addWidget(self.job)  # Run at the right of the views' row
        self._build_body()
        self._clicks_connected_to = None
        session.model_changed.connect(self._model_changed)
        session.belongs_to("model", self.forget)
        self.forget()

    def _build_body(self) -> None:
        """The figure, and under it (Mistakes) the images of the chosen matrix cell: a strip
        of fixed height, so choosing a cell never moves or narrows the figure."""
        self.cell_label = QLabel(CELL_HINT)
        self.cell_label.setWordWrap(True)
        self.cell_list = QListWidget()
        self.cell_list.setFlow(QListView.Flow.LeftToRight)
        self.cell_list.setWrapping(True)
        self.cell_list.setToolTip("Click an image to explain its predicted class in the Grad-CAM "
                                  "tab.")
        self.cell_list.itemClicked.connect(self._cell_image_chosen)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.cell_label)
        column.addWidget(self.cell_list, 1)
        self.cell_column = QWidget()
        self.cell_column.setLayout(column)
        self.cell_column.setFixedHeight(96)
        self.layout().addWidget(self.cell_column)

    # ----- settings and state -------------------------------------------------------------------
    def restore_settings(self, settings: QSettings) -> None:
        """The folder, method and top-k of the last scan."""
        self.folder.setText(str(settings.value("dataset/folder", "")))
        self.method.set_method(str(settings.value("dataset/method", "Grad-CAM")))
        self.top_k.setValue(int(settings.value("dataset/top_k", 9)))

    def save_settings(self, settings: QSettings) -> None:
        """Remember the folder, method and top-k."""
        settings.setValue("dataset/folder", self.folder.text().strip())
        settings.setValue("dataset/method", self.method.currentText())
        settings.setValue("dataset/top_k", self.top_k.value())

    def _model_changed(self, model: ModelSummary) -> None:
        self.layer_combo.set_model(model)
        self.layer_combo.follow_method(self.method)

    def forget(self) -> None:
        """Another model: its scan is stopped (by the window) and nothing of it stays."""
        self.scan, self.result, self.cell = None, None, None
        self.session.set_dataset(None)
        self.cell_list.clear()
        self.cell_label.setText(CELL_HINT)
        self.class_combo.clear()
        self.channel.setMaximum(0)
        self.show_view()
        self.figure_view.set_hint(HINT)

    def refresh(self) -> None:
        """Nothing is computed by showing the tab: only Run scans."""

    def export_stem(self) -> str:
        """``<model>_<folder>_<view>``."""
        model = self.session.model.name if self.session.model else "model"
        folder = Path(self.scan.folder).name if self.scan else "dataset"
        return safe_file_stem(f"{model}_{folder}_{VIEWS[self.views.currentIndex()].lower()}")

    # ----- the scan -----------------------------------------------------------------------------
    def _folder_typed(self, text: str) -> None:
        name = Path(text.strip()).name if text.strip() else ""
        self.note.clear()
        self.folder_name.setText(name)

    def choose_folder(self) -> str:
        """The folder chooser (from the folder shown, else the home folder); '' when cancelled."""
        folder = QFileDialog.getExistingDirectory(self, "Folder of images to analyze",
                                                  self.folder.text().strip() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
        return folder

    def analyze(self, folder: str) -> None:
        """Scan ``folder`` (File > Analyze Dataset…)."""
        self.folder.setText(folder)
        self.run()

    def current_request(self) -> Dataset:
        """The scan the controls describe; ``ConvVizError`` with one sentence when they
        cannot describe one."""
        session, folder = self.session, self.folder.text().strip()
        if session.model is None:
            raise ConvVizError("Open a model first: the analysis runs it on every image of the "
                               "folder.")
        if not folder:
            raise ConvVizError("Choose a folder of images first.")
        if not Path(folder).is_dir():
            raise ConvVizError(f"The folder {folder} does not exist.")
        layer = self.layer_combo.currentData() if self.method.uses_layer() else None
        return Dataset(session.model_ref, str(Path(folder).absolute()),
                       tuple(layer) if layer else None, self.method.method(),
                       top_k=self.top_k.value(), fit=session.fit, preset=session.preset or None)

    def run(self) -> None:
        """Start the scan of the folder."""
        try:
            request = self.current_request()
        except ConvVizError as error:  # a slip: said inline, the scan on screen stays
            self.note.setText(str(error))
            self.status.emit(str(error))
            return
        self.forget()
        text = f"Analyzing {Path(request.folder).name} with {self.session.model.name}…"
        self.figure_view.set_pending(text)
        self.status.emit(text)
        self.job.progress.setFormat("starting…")
        self.job.start(request, on_result=self.show_scan, on_error=self.report_error,
                       on_progress=self._progressed)

    def _progressed(self, update) -> None:
        if isinstance(update, DatasetProgress):
            self.job.progress.setFormat(progress_text(update))
            self.status.emit(f"{update.stage}: {progress_text(update)}")

    def _cancelled(self) -> None:
        self.figure_view.set_hint("Cancelled. The images scanned so far are kept in the cache: "
                                  "Run resumes the scan.")
        self.status.emit("Scan cancelled.")

    def show_scan(self, scan: DatasetResult) -> None:
        """Keep a finished scan, fill the class and channel choices, show the current view."""
        self.scan, self.cell = scan, None
        self.session.set_dataset(scan)
        self.cell_list.clear()
        self.cell_label.setText(CELL_HINT)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        flagged_first = sorted(scan.strategies, key=lambda item: not any(
            cluster.flagged for cluster in item.clusters))
        for strategy in flagged_first:
            flags = sum(cluster.flagged for cluster in strategy.clusters)
            self.class_combo.addItem(f"{strategy.label} ({strategy.images})" + (
                f" ⚠ {flags} flagged" if flags else ""), strategy.class_index)
        self.class_combo.blockSignals(False)
        self.channel.blockSignals(True)
        self.channel.setMaximum(max(0, len(scan.channels.top) - 1))
        self.channel.blockSignals(False)
        self.show_view()
        source = " from the cache" if scan.cached else f" in {scan.seconds:.1f} s"
        resumed = f" ({scan.resumed} resumed from the cache)" if scan.resumed else ""
        notes = " ".join(scan.notes)
        self.status.emit(f"{scan.images} images analyzed{source}{resumed}; "
                         f"{len(scan.skipped)} skipped. {notes}".strip())

    # ----- views --------------------------------------------------------------------------------
    def show_view(self) -> None:
        """Draw the chosen view of the scan; its own controls are shown."""
        view = VIEWS[self.views.currentIndex()]
        self.cell_column.setVisible(view == "Mistakes" and self.scan is not None
                                    and self.scan.confusion is not None)
        self.class_box.setVisible(view == "Strategies")
        self.channel_box.setVisible(view == "Channels")
        if self.scan is None:
            return
        if view == "Mistakes":
            self.show_result(MistakesView(self.scan, self.cell))
        elif view == "Strategies":
            if self.class_combo.count():
                self.show_result(StrategiesView(self.scan, self.class_combo.currentData()))
            else:
                self.result = None
                self.figure_view.set_hint("No class was predicted for any image.")
        else:
            self.show_result(ChannelView(self.scan, self.channel.value()))

    def show_result(self, result) -> None:
        """Draw a view; clicks on the figure go to ``_clicked``."""
        super().show_result(result)
        canvas = self.figure_view.canvas  # matplotlib keeps the callbacks with the figure
        if canvas is not None and self._clicks_connected_to is not self.figure:
            canvas.mpl_connect("button_press_event", self._clicked)
            self._clicks_connected_to = self.figure

    def _clicked(self, event) -> None:
        """A matrix cell lists its images; an image is explained in the Grad-CAM tab."""
        toolbar = self.figure_view._toolbar
        if event.inaxes is None or event.button != 1 or (toolbar is not None and toolbar.mode):
            return
        label = event.inaxes.get_label()
        if label == "confusion" and event.xdata is not None:
            self.choose_cell(int(round(event.ydata)), int(round(event.xdata)))
        elif label.startswith(f"{EXPLAIN}|") and self.scan is not None:
            _, class_index, image = label.split("|", 2)
            self.explain_image.emit(self.scan.path(image), int(class_index))

    def choose_cell(self, true: int, predicted: int) -> None:
        """List the images of one confusion cell (those the scan kept) and outline it."""
        if self.scan is None or self.scan.confusion is None:
            return
        count = len(self.scan.classes)
        if not (0 <= true < count and 0 <= predicted < count):
            return
        images, total = cell_images(self.scan, true, predicted)
        self.cell = (true, predicted)
        classes = self.scan.classes
        kept = "" if len(images) == total else f" ({len(images)} kept by the scan)"
        self.cell_label.setText(f"True {classes[true]}, predicted {classes[predicted]}: "
                                f"{total} images{kept}. Click one to explain it.")
        self.cell_list.clear()
        for image in images:
            item = QListWidgetItem(image)
            item.setData(Qt.ItemDataRole.UserRole, image)
            item.setToolTip(self.scan.path(image))
            self.cell_list.addItem(item)
        self.show_view()

    def _cell_image_chosen(self, item: QListWidgetItem) -> None:
        if self.scan is not None and self.cell is not None:
            self.explain_image.emit(self.scan.path(item.data(Qt.ItemDataRole.UserRole)), self.cell[1])
