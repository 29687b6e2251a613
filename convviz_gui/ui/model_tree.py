"""The model tree: nested layers with type, output shape and parameters, filterable."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSignalBlocker, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from convviz_gui.engine.layers import LayerInfo

LAYER_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Layer", "Type", "Output shape", "Params")
_GREY = QBrush(QColor("#9a9a9a"))
RESIZE_PRECISION_ROWS = 200  # rows measured to size a column: models have 20 to 800 layers
# When the panel is too narrow for every column, these give way first (Type, then Layer),
# down to these widths in pixels; their text is elided, the row's tooltip has it whole.
GIVING_WAY = ((1, 56), (0, 96))
# The panel's narrowest: the Layer column with names as long as "batch_normalization_12"
# whole (the tabs' controls scroll sideways before the tree gets narrower).
MIN_PANEL_WIDTH = 200
HEADER_TIP = "Drag the line at a column's right edge to widen it (double-click it: fit the text)."


class MiddleElided(QStyledItemDelegate):
    """Layer names cut in the middle (``block_1…and_relu``): their ends tell them apart."""

    def initStyleOption(self, option, index: QModelIndex) -> None:  # noqa: N802 (Qt override)
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class ModelTreePanel(QWidget):
    """Tree of every layer; emits ``layer_selected`` with the chosen ``LayerInfo``."""

    layer_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_box = QLineEdit(placeholderText="Find a layer by name…")
        self.filter_box.setClearButtonEnabled(True)
        self.source = QStandardItemModel(0, len(COLUMNS), self)
        self.source.setHorizontalHeaderLabels(COLUMNS)
        for column in range(len(COLUMNS)):
            tip = f"Names cut in the middle are whole in each row's tooltip. {HEADER_TIP}" \
                if column == 0 else HEADER_TIP
            self.source.horizontalHeaderItem(column).setToolTip(tip)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setAutoAcceptChildRows(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        header = self.view.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(RESIZE_PRECISION_ROWS)
        self._fitting = False
        self._user_widths: dict[int, int] = {}  # columns the user sized: kept by each fit
        header.sectionResized.connect(self._section_resized)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._names_delegate = MiddleElided(self.view)
        self.view.setItemDelegateForColumn(0, self._names_delegate)
        self.view.viewport().installEventFilter(self)  # a wider or narrower view: fit again
        self.view.expanded.connect(lambda _index: self._fit_columns())
        self.filter_box.setToolTip("Type part of a layer name to filter the tree; Enter selects "
                                   "the best match.")
        self.setMinimumWidth(MIN_PANEL_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.view)
        self.filter_box.textChanged.connect(self._filter)
        self.filter_box.returnPressed.connect(self._pick_first_match)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self._items: dict[tuple[str, ...], QStandardItem] = {}
        self._selected: tuple[str, ...] | None = None
        self._quiet = False  # filtering moves Qt's current row: that is not the user's choice

    def set_layers(self, tree: list[LayerInfo]) -> None:
        """Show a model's layer tree (replacing the previous one); a search typed for the
        previous model is cleared (it would hide every layer of this one)."""
        with QSignalBlocker(self.filter_box):
            self.filter_box.clear()
        self.proxy.setFilterFixedString("")
        self._selected = None
        self.source.removeRows(0, self.source.rowCount())
        self._items.clear()
        self._user_widths.clear()  # another model's names: fitted again
        self._append(self.source.invisibleRootItem(), tree)
        with QSignalBlocker(self.view):  # one column fit below, not one per expanded row
            self.view.expandToDepth(0)
        self._fit_columns()

    def content_width(self) -> int:
        """Pixels the panel needs to show every column whole, without scrolling."""
        margins = self.layout().contentsMargins()
        return sum(self._natural_widths()) + self.view.verticalScrollBar().sizeHint().width() \
            + 2 * self.view.frameWidth() + margins.left() + margins.right() + 8

    def _natural_widths(self) -> list[int]:
        """Each column's width for its content and its header."""
        header = self.view.header()
        return [max(self.view.sizeHintForColumn(column), header.sectionSizeHint(column))
                for column in range(len(COLUMNS))]

    def _fit_columns(self) -> None:
        """Every column as wide as its content when the panel has the room; else Type, then
        Layer, give way (elided) so that Output shape and Params stay in view. Only a panel
        narrower than those minimums scrolls sideways, with the Layer column as wide as its
        names (up to the panel's width): scrolling, it shows them whole. A column the user
        sized keeps its width (the view scrolls sideways to show the rest)."""
        natural = self._natural_widths()
        widths = [self._user_widths.get(column, width) for column, width in enumerate(natural)]
        excess = sum(widths) - self.view.viewport().width()
        for column, narrowest in GIVING_WAY:
            if excess <= 0:
                break
            if column in self._user_widths:
                continue
            given = min(excess, max(0, widths[column] - narrowest))
            widths[column] -= given
            excess -= given
        if excess > 0 and 0 not in self._user_widths:  # it scrolls anyway: whole names
            # as wide as the view beside its vertical scroll bar, shown or not (a filter
            # hides it for a moment): the same width before and after a search
            room = self.view.width() - 2 * self.view.frameWidth() \
                - self.view.verticalScrollBar().sizeHint().width()
            widths[0] = min(natural[0], max(widths[0], room))
        self._fitting = True
        try:
            for column, width in enumerate(widths):
                self.view.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        """A column sized by the user (dragging or double-clicking its edge) is kept."""
        if not self._fitting:
            self._user_widths[column] = new

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        """The view's viewport got wider or narrower (the dock, a scroll bar): fit again."""
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize \
                and event.size().width() != event.oldSize().width() and self.source.rowCount():
            self._fit_columns()
        return False

    def _append(self, parent: QStandardItem, nodes: list[LayerInfo]) -> None:
        for node in nodes:
            shape = "x".join("?" if d is None else str(d) for d in (node.output_shape or ())[1:])
            kind = f"{node.class_name} (op)" if node.operation else node.class_name
            row = [QStandardItem(node.name), QStandardItem(kind),
                   QStandardItem(shape), QStandardItem(f"{node.params:,}")]
            row[3].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = f"{node.display_path}\n{node.class_name}, output {node.output_shape}"
            if node.operation:
                tip += ("\nAn operation of the model's graph, not a layer (e.g. the arithmetic "
                        "of preprocess_input applied to its input).")
            if not node.spatial or node.is_container:
                tip += "\nNo spatial output of its own: not shown in the spatial views."
            for item in row:
                item.setEditable(False)
                item.setData(node, LAYER_ROLE)
                item.setToolTip(tip)
                if not node.spatial or node.is_container:
                    item.setForeground(_GREY)
            parent.appendRow(row)
            self._items[node.path] = row[0]
            if node.children:
                self._append(row[0], node.children)

    def select_path(self, path: tuple[str, ...]) -> None:
        """Select (and reveal) a layer by its path."""
        item = self._items.get(tuple(path))
        if item is None:
            return
        self._selected = tuple(path)
        index = self.proxy.mapFromSource(item.index())
        if index.isValid():
            self.view.scrollTo(index)
            self.view.setCurrentIndex(index)

    def current_layer(self) -> LayerInfo | None:
        """The selected layer, if any."""
        index = self.view.currentIndex()
        return index.data(LAYER_ROLE) if index.isValid() else None

    def _filter(self, text: str) -> None:
        """Show only matching rows; the selected layer stays what it was."""
        self._quiet = True
        try:
            self.proxy.setFilterFixedString(text)
            if text:
                with QSignalBlocker(self.view):
                    self.view.expandAll()
            if self.proxy.rowCount() > 0:  # columns fitted to no rows would be squashed
                self._fit_columns()
            if self._selected is not None:
                item = self._items.get(self._selected)
                index = self.proxy.mapFromSource(item.index()) if item is not None else None
                if index is not None and index.isValid():
                    self.view.setCurrentIndex(index)
                else:
                    self.view.selectionModel().clearCurrentIndex()
        finally:
            self._quiet = False

    def _pick_first_match(self) -> None:
        """Enter in the filter box selects the layer named so, else the first that matches."""
        text = self.filter_box.text().strip().lower()
        matches = [index for index in self._visible_rows() if text in str(index.data()).lower()]
        exact = [index for index in matches if str(index.data()).lower() == text]
        if matches:
            self.view.setCurrentIndex((exact or matches)[0])
            self.view.setFocus()

    def _visible_rows(self, parent: QModelIndex | None = None):
        """Every row the filter shows, depth first."""
        parent = parent or QModelIndex()
        for row in range(self.proxy.rowCount(parent)):
            index = self.proxy.index(row, 0, parent)
            yield index
            yield from self._visible_rows(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = current.data(LAYER_ROLE) if current.isValid() else None
        if node is not None and not self._quiet:
            self._selected = node.path
            self.layer_selected.emit(node)
