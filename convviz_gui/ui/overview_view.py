"""The all-layers overview: one row of tiles per spatial layer, computed as it scrolls into view.

Rows are asked of the engine in fixed chunks of ``CHUNK_ROWS`` layers, one ``OverviewRows``
request at a time and only for chunks on screen; received rows are kept until the model,
image or preset changes. A delegate paints each row: the layer's name and output shape,
then its first channels as tiles of up to ``TILE`` px, as large as all of them fit
(nearest-neighbour for small maps; blank channels flat and outlined in red), or
"computing…" while the row is pending.
"""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from convviz_gui.engine.layers import LayerInfo, LayerPath
from convviz_gui.figures.colors import colorize_rgba
from convviz_gui.ops.activations import OverviewRows, OverviewRowsResult
from convviz_gui.ops.base import ImageRef, ModelRef

JOB_KIND = "overview-rows"
CHANNELS = 8  # tiles per row
CHUNK_ROWS = 8  # layers per request; fixed chunks reuse the engine's compiled functions
TILE = 64  # px, the longer side of every tile in a wide view
MIN_TILE = 32  # a narrow view shrinks the tiles down to this, so that all CHANNELS fit
TILE_GAP = 4
NAME_WIDTH = 250
NARROW_NAME_WIDTH = 170  # the name column of a view too narrow for NAME_WIDTH and full tiles
MARGIN = 6
SCROLL_SETTLE_MS = 60  # rows are requested once scrolling pauses this long
PENDING_TEXT = "computing…"
LAYER_ROLE = Qt.ItemDataRole.UserRole + 1
SHAPE_ROLE = Qt.ItemDataRole.UserRole + 2
TILES_ROLE = Qt.ItemDataRole.UserRole + 3  # list of QImage, None while pending
BLANK_ROLE = Qt.ItemDataRole.UserRole + 4  # list of bool: the tile is blank (flat), outlined
BLANK_COLOR = QColor("#e8463a")  # as the activation grid's outline of blank channels


def split_tiles(grid: np.ndarray) -> list[np.ndarray]:
    """The channels of an overview grid, cut at its all-NaN gap columns."""
    gaps = np.flatnonzero(np.isnan(grid).all(axis=0))
    pieces = np.split(grid, gaps, axis=1)
    return [pieces[0], *(piece[:, 1:] for piece in pieces[1:])]


def tile_image(tile: np.ndarray, cmap: str) -> QImage:
    """A 0-255 tile colour-mapped into a QImage."""
    rgba = colorize_rgba(tile / 255.0, cmap)
    height, width = tile.shape
    return QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def shape_text(layer: LayerInfo) -> str:
    """``149x149x32  Conv2D``."""
    shape = "x".join("?" if dim is None else str(dim) for dim in layer.output_shape[1:])
    return f"{shape}  {layer.class_name}"


class OverviewRowsModel(QAbstractListModel):
    """The spatial layers with the tile grids received so far (colour-mapped on demand)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.layers: list[LayerInfo] = []
        self.grids: dict[LayerPath, np.ndarray] = {}
        self.cmap = "viridis"
        self.placeholder = PENDING_TEXT
        self._images: dict[LayerPath, list[QImage]] = {}

    def set_layers(self, layers: list[LayerInfo]) -> None:
        """New rows, none received."""
        self.beginResetModel()
        self.layers = list(layers)
        self.grids.clear()
        self._images.clear()
        self.placeholder = PENDING_TEXT
        self.endResetModel()

    def add_rows(self, rows: tuple[tuple[LayerPath, np.ndarray], ...]) -> None:
        """Keep received grids and repaint their rows."""
        self.grids.update(rows)
        for number, layer in enumerate(self.layers):
            if layer.path in self.grids:
                self.dataChanged.emit(self.index(number), self.index(number), [TILES_ROLE])

    def set_colormap(self, cmap: str) -> None:
        """Colour-map every row again."""
        if cmap != self.cmap:
            self.cmap = cmap
            self._images.clear()
            self._repaint_all()

    def set_placeholder(self, text: str) -> None:
        """What pending rows say."""
        self.placeholder = text
        self._repaint_all()

    def _repaint_all(self) -> None:
        if self.layers:
            self.dataChanged.emit(self.index(0), self.index(len(self.layers) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(self.layers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        layer = self.layers[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return layer.display_path
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{layer.display_path}\n{shape_text(layer)}\nClick to open this layer."
        if role == LAYER_ROLE:
            return layer
        if role == SHAPE_ROLE:
            return shape_text(layer)
        if role == TILES_ROLE:
            return self._tile_images(layer.path)
        if role == BLANK_ROLE:
            grid = self.grids.get(layer.path)
            # The engine draws a blank channel (zero, or constant) flat: one value per tile.
            return None if grid is None else [bool(np.ptp(tile) == 0) for tile in split_tiles(grid)]
        return None

    def _tile_images(self, path: LayerPath) -> list[QImage] | None:
        grid = self.grids.get(path)
        if grid is None:
            return None
        if path not in self._images:
            self._images[path] = [tile_image(tile, self.cmap) for tile in split_tiles(grid)]
        return self._images[path]


def row_layout(width: int) -> tuple[int, int]:
    """(name column, tile side) for a view ``width`` px wide: all CHANNELS tiles beside the
    name, as large as fit between ``MIN_TILE`` and ``TILE`` (a narrower name column first)."""
    def fit(name: int) -> int:
        return (width - name - MARGIN) // CHANNELS - TILE_GAP

    name = NAME_WIDTH if fit(NAME_WIDTH) >= TILE else NARROW_NAME_WIDTH
    return name, int(np.clip(fit(name), MIN_TILE, TILE))


class OverviewRowDelegate(QStyledItemDelegate):
    """Paints a row: name and shape on the left, then the tiles (or the placeholder)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.name_width, self.tile = NAME_WIDTH, TILE

    def fit_width(self, width: int) -> bool:
        """Size the rows for a view ``width`` px wide; True when that changed them."""
        layout = row_layout(width)
        changed = layout != (self.name_width, self.tile)
        self.name_width, self.tile = layout
        return changed

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.name_width + CHANNELS * (self.tile + TILE_GAP) + MARGIN,
                     self.tile + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        style = option.widget.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, option.widget)
        painter.save()
        left, top = option.rect.left() + MARGIN, option.rect.top() + MARGIN
        tile = self.tile
        text_width = self.name_width - 2 * MARGIN
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        name = painter.fontMetrics().elidedText(index.data(), Qt.TextElideMode.ElideMiddle, text_width)
        painter.drawText(QRect(left, top, text_width, tile // 2), Qt.AlignmentFlag.AlignBottom, name)
        painter.setFont(option.font)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(QRect(left, top + tile // 2 + 2, text_width, tile // 2),
                         Qt.AlignmentFlag.AlignTop, index.data(SHAPE_ROLE))
        images = index.data(TILES_ROLE)
        left = option.rect.left() + self.name_width
        if images is None:
            placeholder = index.model().placeholder
            painter.drawText(QRect(left, top, option.rect.right() - left, tile),
                             Qt.AlignmentFlag.AlignVCenter, placeholder)
        blank = index.data(BLANK_ROLE) or []
        painter.setPen(BLANK_COLOR)
        for number, image in enumerate(images or ()):
            size = image.size().scaled(tile, tile, Qt.AspectRatioMode.KeepAspectRatio)
            # Small maps are enlarged pixel by pixel; large ones are shrunk smoothly.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                  size.width() < image.width())
            where = QRect(QPoint(left, top + (tile - size.height()) // 2), size)
            painter.drawImage(where, image)
            if number < len(blank) and blank[number]:
                painter.drawRect(where.adjusted(0, 0, -1, -1))
            left += tile + TILE_GAP
        painter.restore()


class OverviewView(QListView):
    """Scrollable overview; ``layer_clicked`` gives the layer path of a clicked row."""

    layer_clicked = Signal(tuple)
    rows_received = Signal(object)  # the OverviewRowsResult just kept
    failed = Signal(str, str)

    def __init__(self, runner, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.rows = OverviewRowsModel(self)
        self.setModel(self.rows)
        self.delegate = OverviewRowDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setUniformItemSizes(True)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(TILE // 2)
        self.setSelectionMode(QListView.SelectionMode.NoSelection)
        self.setMouseTracking(True)
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self._source: tuple[ModelRef, ImageRef, str | None] | None = None
        self._requests = itertools.count(1)
        self._live = 0  # number of the request in flight (0: none)
        self._stopped = False  # a request failed: no more until new layers are shown
        self._settle = QTimer(self, singleShot=True, interval=SCROLL_SETTLE_MS)
        self._settle.timeout.connect(self.request_visible)
        # Not ``connect(self._settle.start)``: the scroll value would become the timer's interval.
        self.verticalScrollBar().valueChanged.connect(lambda _value: self._settle.start())
        self.clicked.connect(lambda index: self.layer_clicked.emit(index.data(LAYER_ROLE).path))

    def show_layers(self, model: ModelRef, image: ImageRef, preset: str | None,
                    layers: list[LayerInfo]) -> None:
        """Show these layers; rows received for the same model, image and preset are kept."""
        if (model, image, preset) != self._source:
            self.forget()
            self._source = (model, image, preset)
            self.rows.set_layers(layers)
            self.scrollToTop()
        self._settle.start()

    def forget(self) -> None:
        """Drop every row and the request in flight (the model, image or preset changed)."""
        if self._live:
            self.runner.cancel(JOB_KIND)
            self._live = 0
        self._source = None
        self._stopped = False
        self.rows.set_layers([])

    def set_colormap(self, cmap: str) -> None:
        """Colormap of the tiles."""
        self.rows.set_colormap(cmap)

    def received(self) -> list[tuple[str, np.ndarray]]:
        """``(layer name, grid)`` of every row received so far, in model order."""
        return [(layer.display_path, self.rows.grids[layer.path]) for layer in self.rows.layers
                if layer.path in self.rows.grids]

    def visible_rows(self) -> range:
        """Numbers of the rows on screen."""
        first = self.indexAt(QPoint(0, 0)).row()
        if first < 0:
            return range(0)
        last = self.indexAt(QPoint(0, self.viewport().height() - 1)).row()
        return range(first, (last if last >= 0 else self.rows.rowCount() - 1) + 1)

    def request_visible(self) -> None:
        """Ask for the first chunk on screen with rows not received yet (one request at a time)."""
        if self._live or self._stopped or self._source is None or not self.isVisible():
            return
        visible = self.visible_rows()
        for start in range(visible.start // CHUNK_ROWS * CHUNK_ROWS, visible.stop, CHUNK_ROWS):
            chunk = tuple(layer.path for layer in self.rows.layers[start:start + CHUNK_ROWS]
                          if layer.path not in self.rows.grids)
            if chunk:
                break
        else:
            return
        self._live = next(self._requests)
        model, image, preset = self._source
        self.runner.submit(JOB_KIND, OverviewRows(model, image, chunk, preset, CHANNELS),
                           on_result=self._received, on_error=self._failed,
                           on_finished=partial(self._finished, self._live))

    def _received(self, result: OverviewRowsResult) -> None:
        self.rows.add_rows(result.rows)
        self.rows_received.emit(result)

    def _failed(self, message: str, details: str) -> None:
        self._stopped = True
        self.rows.set_placeholder(f"not computed: {message}")
        self.failed.emit(message, details)

    def _finished(self, number: int) -> None:
        if number == self._live:  # not a request cancelled by ``forget``
            self._live = 0
            self.request_visible()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.delegate.fit_width(self.viewport().width()):
            self.scheduleDelayedItemsLayout()  # new row height
        self._settle.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._settle.start()
