"""Activations canvas: channel grid of the selected layer, channel zoom, all-layers overview."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QLabel, QVBoxLayout

from convviz_gui.engine.activations import GRID_COLUMNS
from convviz_gui.engine.layers import LayerPath, find_layer, spatial_layers
from convviz_gui.figures.activations import channel_figure, grid_columns, page_start
from convviz_gui.files import safe_file_stem
from convviz_gui.ops.activations import Activations, ActivationsResult, OverviewResult
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ui.channel_strip import ChannelStrip
from convviz_gui.ui.controls import NumberBox
from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.overview_view import CHANNELS, OverviewView
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("viridis", "magma", "inferno", "cividis", "gray")
PAGE_SIZE = 256


class ActivationsTab(ViewTab):
    """Channel grid per layer with reference normalization; click a channel to enlarge it."""

    view_name = "activations"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and an image to see activations.")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.columns = NumberBox("Channels per row", minimum=1, maximum=64, value=GRID_COLUMNS)
        self.page = NumberBox("Page", minimum=1, maximum=1)
        self.overview = QCheckBox("All layers overview")
        self.info = QLabel("Click a channel to enlarge it.")
        self.info.setWordWrap(True)
        self.cmap.setToolTip("Colours of the channel pictures, from low to high activation.")
        self.columns.setToolTip("How many channels are drawn side by side at most (16 in the "
                                "reference); a layer with fewer is laid out to fill the view.")
        self.page.setToolTip("Layers with more than 256 channels are shown 256 at a time.")
        self.overview.setToolTip("The first channels of every layer, one scrollable row per "
                                 "layer; click a row to open that layer.")
        self.add_controls(("Colormap", self.cmap), ("Channels per row", self.columns),
                          ("Page", self.page), self.overview)
        self.add_controls(self.info)
        for signal in (self.cmap.currentTextChanged, self.columns.valueChanged,
                       self.page.valueChanged):
            signal.connect(self.redraw)
        self.overview.toggled.connect(self.invalidate)
        self.overview_view = OverviewView(runner)
        self.overview_view.hide()
        self.layout().addWidget(self.overview_view, 1)
        self.cmap.currentTextChanged.connect(self.overview_view.set_colormap)
        self.overview_view.set_colormap(self.cmap.currentText())
        self.overview_view.rows_received.connect(self._overview_rows_received)
        self.overview_view.failed.connect(self.error)
        self.overview_view.layer_clicked.connect(self.open_layer)
        for signal in (session.model_changed, session.layer_changed):
            signal.connect(lambda _value: self._set_page_count(1))  # a new layer: first page
        for signal in (session.model_changed, session.image_changed, session.preset_changed):
            signal.connect(lambda _value: self.overview_view.forget())
        self._clicks_connected_to = None

    def restore_settings(self, settings: QSettings) -> None:
        """The colormap chosen last time."""
        self.cmap.setCurrentText(settings.value("activations/cmap", "viridis"))

    def save_settings(self, settings: QSettings) -> None:
        """Remember the colormap."""
        settings.setValue("activations/cmap", self.cmap.currentText())

    def _set_page_count(self, pages: int) -> None:
        self.page.blockSignals(True)
        self.page.setMaximum(max(1, pages))  # QSpinBox clamps the value into the new range
        self.page.blockSignals(False)

    def style(self) -> FigureStyle:
        """Colormap, channels per row and page from the controls."""
        return FigureStyle(cmap=self.cmap.currentText(), columns=self.columns.value(),
                           page=self.page.value() - 1, page_size=PAGE_SIZE)

    def compute(self) -> None:
        session = self.session
        layers = spatial_layers(list(session.model.layer_tree))
        showing_overview = self.overview.isChecked() and bool(layers)
        self.overview_view.setVisible(showing_overview)
        self.figure_view.setVisible(not showing_overview)
        self.page.setEnabled(not showing_overview)
        self.columns.setEnabled(not showing_overview)
        if showing_overview:
            self.runner.cancel(self.view_name)  # a grid still computing must not replace it
            self.overview_view.show_layers(session.model_ref, session.image_ref, session.preset,
                                           layers)
            self._overview_rows_received()
            return
        layer = session.layer
        if layer is None or not layer.spatial or layer.is_container:
            name = layer.name if layer is not None else "This model"
            self.result = None
            self.figure_view.set_hint(f"{name} has no spatial output of its own; select a "
                                      "convolution or pooling layer in the model tree.")
            self.status.emit(f"{name} has no channels to show.")
            self.info.setText("")
            return
        self.info.setText("")  # the line describes the figure on screen: none while computing
        self.submit(Activations(session.model_ref, session.image_ref, layer.path, session.preset),
                    f"Computing the activations of {layer.display_path}…")

    def _overview_rows_received(self, _rows=None) -> None:
        """The overview's rows so far become the tab's result (File > Export draws them)."""
        if not self.overview.isChecked():
            return  # rows of a request that finished after the user opened a layer
        received, total = self.overview_view.received(), self.overview_view.rows.rowCount()
        shown = "every layer" if len(received) == total else f"{len(received)} of {total} layers"
        self.result = OverviewResult(f"{self.session.model.name}: first {CHANNELS} channels of "
                                     f"{shown}", tuple(received), 0.0) if received else None
        self.info.setText(f"First {CHANNELS} channels of each of the {total} spatial layers, "
                          f"computed as they scroll into view ({len(received)} so far). "
                          "Click a row to open that layer.")

    def open_layer(self, path: LayerPath) -> None:
        """Select a layer (the window's tree follows the session) and show its channel grid."""
        layer = find_layer(list(self.session.model.layer_tree), "/".join(path))
        if layer is not None:
            self.session.set_layer(layer)
            self.overview.setChecked(False)

    def redraw(self) -> None:
        """Draw again with the current style; the overview restyles itself (colormap)."""
        if not self.overview.isChecked():
            super().redraw()

    def export_stem(self) -> str:
        """``<model>_overview`` while the overview is shown, else ``<model>_<layer>_activations``."""
        if self.overview.isChecked() and self.session.model is not None:
            return safe_file_stem(f"{self.session.model.name}_overview")
        return super().export_stem()

    def show_result(self, result) -> None:
        """Update the page count and info line, then draw."""
        acts = result.activations
        self._set_page_count(-(-acts.channel_count // PAGE_SIZE))
        blank = len(acts.blank_channels())
        self.info.setText(f"{acts.channel_count} channels, {blank} blank (red outline). "
                          "Click a channel to enlarge it.")
        super().show_result(result)
        if isinstance(result, ActivationsResult) and self.figure is not None:
            self.figure.axes[0].format_coord = self._describe_point  # the toolbar names it
        canvas = self.figure_view.canvas  # matplotlib keeps the callbacks with the figure
        if canvas is not None and self._clicks_connected_to is not self.figure:
            canvas.mpl_connect("button_press_event", self._clicked)
            self._clicks_connected_to = self.figure
        self.status.emit("Activations ready.")

    def _describe_point(self, x: float, y: float) -> str:
        """What the toolbar shows under the mouse: the channel and its value."""
        index = self.channel_at(x, y)
        if index is None:
            return ""
        acts = self.result.activations
        height, width = acts.values.shape[:2]
        row, col = int(y + 0.5) % (height + 1), int(x + 0.5) % (width + 1)
        value = acts.values[row, col, index]
        return f"channel {index}   ({row}, {col}) = {value:.4g}"

    def channel_at(self, x: float, y: float) -> int | None:
        """Channel index under grid data coordinates (x, y), or None in a gap."""
        if not isinstance(self.result, ActivationsResult):
            return None
        acts = self.result.activations
        style = replace(self.style(), tall=self.figure_view.is_tall())  # as ``redraw`` draws
        start = page_start(acts.channel_count, style)
        stop = min(acts.channel_count, start + PAGE_SIZE)
        height, width = acts.values.shape[:2]
        columns = grid_columns(stop - start, (height, width), style)
        (col, x_in), (row, y_in) = divmod(int(x + 0.5), width + 1), divmod(int(y + 0.5), height + 1)
        index = start + row * columns + col
        if x_in == width or y_in == height or col >= columns or not start <= index < stop:
            return None  # a 1-px gap between tiles, or past the last tile
        return index

    def _clicked(self, event) -> None:
        if event.inaxes is None or event.xdata is None or event.button != 1:
            return
        if event.dblclick or self.figure_view._toolbar and self.figure_view._toolbar.mode:
            return
        index = self.channel_at(event.xdata, event.ydata)
        if index is not None:
            self.open_channel(index)

    def open_channel(self, index: int) -> QDialog:
        """Show one channel large with its statistics in a dialog."""
        acts = self.result.activations
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{acts.name} — channel {index}")
        view = FigureView()
        view.set_figure(channel_figure(acts, index, self.cmap.currentText()))
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        strip = ChannelStrip()  # the channel's top images of the last dataset scan, if any
        if strip.show_channel(self.session.dataset, "/".join(acts.path), index):
            layout.addWidget(strip)
        dialog.resize(640, 680 + (strip.sizeHint().height() if strip.isVisible() else 0))
        dialog.show()
        return dialog
