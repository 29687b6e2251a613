"""Activations canvas: channel grid of the selected layer, channel zoom, all-layers overview."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QLabel, QSpinBox, QVBoxLayout

from convviz_gui.engine.activations import GRID_COLUMNS, compute_activations, overview_tiles
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import spatial_layers
from convviz_gui.engine.render import activation_grid_figure, channel_figure, overview_figure
from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.view_tab import ViewTab

COLORMAPS = ("viridis", "magma", "inferno", "cividis", "gray")
PAGE_SIZE = 256


def activation_job(context, snapshot, cmap: str, columns: int, page: int, overview: bool):
    """Worker: one forward pass, then the grid (or overview) figure."""
    batch = snapshot.batch()
    if overview:
        paths = [node.path for node in spatial_layers(snapshot.model.layer_tree)]
        tiles = overview_tiles(snapshot.model, batch, paths)
        return None, overview_figure(f"{snapshot.model.name}: first 8 channels of every layer",
                                     tiles, cmap)
    layer = snapshot.layer
    if layer is None or not layer.spatial or layer.is_container:
        raise ConvVizError("Select a layer with spatial output in the model tree.")
    acts = compute_activations(snapshot.model, batch, [layer.path])[layer.path]
    start = min(page * PAGE_SIZE, max(0, acts.channel_count - 1))
    figure = activation_grid_figure(acts, cmap, columns, start, PAGE_SIZE)
    return (acts, start, columns), figure


class ActivationsTab(ViewTab):
    """Channel grid per layer with reference normalization; click a channel to enlarge it."""

    view_name = "activations"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and an image to see activations.")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.columns = QSpinBox(minimum=1, maximum=64, value=GRID_COLUMNS)
        self.page = QSpinBox(minimum=1, maximum=1)
        self.overview = QCheckBox("All layers overview")
        self.info = QLabel("Click a channel to enlarge it.")
        self.add_controls(("Colormap", self.cmap), ("Channels per row", self.columns),
                          ("Page", self.page), self.overview)
        self.controls.addWidget(self.info)
        self._grid = None
        for signal in (self.cmap.currentTextChanged, self.columns.valueChanged,
                       self.page.valueChanged, self.overview.toggled):
            signal.connect(self.invalidate)

    def compute(self) -> None:
        snapshot = self.session.snapshot()
        self.status.emit("Computing activations…")
        self.runner.submit("activations", activation_job, snapshot, self.cmap.currentText(),
                           self.columns.value(), self.page.value() - 1, self.overview.isChecked(),
                           on_result=self._show, on_error=self.report_error)

    def _show(self, value) -> None:
        grid, figure = value
        self._grid = grid
        if grid is not None:
            acts = grid[0]
            pages = max(1, -(-acts.channel_count // PAGE_SIZE))
            self.page.blockSignals(True)
            self.page.setMaximum(pages)
            self.page.blockSignals(False)
            blank = len(acts.blank_channels())
            self.info.setText(f"{acts.channel_count} channels, {blank} blank (red outline). "
                              "Click a channel to enlarge it.")
        else:
            self.info.setText("Overview of every spatial layer.")
        self.show_figure(figure)
        canvas = self.figure_view.canvas
        canvas.mpl_connect("button_press_event", self._clicked)
        self.status.emit("Activations ready.")

    def channel_at(self, x: float, y: float) -> int | None:
        """Channel index under grid data coordinates (x, y), or None in a gap."""
        if self._grid is None:
            return None
        acts, start, columns = self._grid
        height, width = acts.values.shape[:2]
        col, row = int(x + 0.5) // (width + 1), int(y + 0.5) // (height + 1)
        index = start + row * min(columns, acts.channel_count - start) + col
        if col >= columns or not start <= index < min(acts.channel_count, start + PAGE_SIZE):
            return None
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
        acts = self._grid[0]
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{acts.name} — channel {index}")
        view = FigureView()
        view.set_figure(channel_figure(acts, index, self.cmap.currentText()))
        QVBoxLayout(dialog).addWidget(view)
        dialog.resize(640, 680)
        dialog.show()
        return dialog
