"""Base of the canvases: build a request, send it, draw its result; lazy refresh."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.base import Request
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.session import Session
from convviz_gui.ui.workers import JobRunner

# The narrowest the rows of controls ask the window for: narrower than them (a 1024 px screen
# beside a usable model tree), they scroll sideways instead of squeezing the model tree.
CONTROLS_MIN_WIDTH = 240


class ControlsStrip(QScrollArea):
    """A tab's rows of controls, scrolled sideways when the tab is narrower than they are;
    as tall as the rows (and the scroll bar, when it shows), never scrolled up and down."""

    def __init__(self, rows: QVBoxLayout) -> None:
        super().__init__()
        content = QWidget()
        rows.setContentsMargins(0, 0, 0, 0)
        content.setLayout(rows)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        content.installEventFilter(self)  # rows shown or hidden: as tall as they are

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(min(CONTROLS_MIN_WIDTH, self.widget().minimumSizeHint().width()),
                     self.height_needed())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.widget().sizeHint().width(), self.height_needed())

    def height_needed(self) -> int:
        """The rows' height at the strip's width (a wrapped label takes its lines), plus the
        scroll bar's when they are wider than the strip."""
        content = self.widget().minimumSizeHint()
        layout = self.widget().layout()
        wrapped = layout.heightForWidth(max(self.width(), content.width())) \
            if layout is not None and layout.hasHeightForWidth() else -1
        scrolls = content.width() > self.width()
        return max(content.height(), wrapped) + \
            (self.horizontalScrollBar().sizeHint().height() if scrolls else 0)

    def _fit_height(self) -> None:
        if self.height() != self.height_needed() or self.maximumHeight() != self.height_needed():
            self.setFixedHeight(self.height_needed())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit_height()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_height()


class ViewTab(QWidget):
    """A tab with a controls row and a figure; recomputes only when shown and stale."""

    view_name = "view"
    status = Signal(str)
    error = Signal(str, str)
    rendered = Signal()  # the figure is drawn on screen

    def __init__(self, session: Session, runner: JobRunner, hint: str) -> None:
        super().__init__()
        self.session = session
        self.runner = runner
        self.stale = True
        self.result: Any = None  # the result on screen (drawn again for restyles and exports)
        self.figure_view = FigureView(hint)
        self.figure_view.shape_changed.connect(self.redraw)  # wide <-> tall canvas
        self.figure_view.drawn.connect(self.rendered)
        self.controls = QHBoxLayout()  # the last row of controls
        self._rows = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(ControlsStrip(self._rows))
        layout.addWidget(self.figure_view, 1)

    def add_controls(self, *items) -> None:
        """Add a row of controls: widgets, or ``(label, widget)`` pairs, then a stretch.

        Each call adds a row, so that every tab fits a 1024 px wide window.
        """
        self.controls = QHBoxLayout()
        self._rows.addLayout(self.controls)
        for item in items:
            if isinstance(item, tuple):
                label = QLabel(item[0])
                label.setBuddy(item[1])
                label.setToolTip(item[1].toolTip())
                self.controls.addWidget(label)
                item = item[1]
            self.controls.addWidget(item)
        self.controls.addStretch(1)

    @property
    def figure(self):
        """The figure on screen (None before the first result and while computing)."""
        return self.figure_view.figure

    def style(self) -> FigureStyle:
        """How results are drawn; subclasses read their controls."""
        return FigureStyle()

    def restore_settings(self, settings: QSettings) -> None:
        """Set the controls the user's settings remember (none by default)."""

    def save_settings(self, settings: QSettings) -> None:
        """Remember the controls worth keeping for the next session (none by default)."""

    def export_stem(self) -> str:
        """Default export name: ``<model>_<layer>_<view>``."""
        from convviz_gui.files import safe_file_stem

        model = self.session.model.name if self.session.model else "model"
        layer = self.session.layer.name if self.session.layer else "image"
        return safe_file_stem(f"{model}_{layer}_{self.view_name}")

    def invalidate(self) -> None:
        """Mark the view out of date and refresh it if it is visible."""
        self.stale = True
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Recompute if stale; subclasses implement ``compute``."""
        if self.stale and self.session.ready:
            self.stale = False
            self.compute()

    def compute(self) -> None:
        """Start the job producing this view's figure."""
        raise NotImplementedError

    def submit(self, request: Request, pending_text: str) -> None:
        """Send the view's request; the canvas says it is computing until the result comes."""
        self.result = None
        self.figure_view.set_pending(pending_text)
        self.status.emit(pending_text)
        self.runner.submit(self.view_name, request, on_result=self.show_result,
                           on_error=self.report_error)

    def show_result(self, result: Any) -> None:
        """Keep a result and draw it."""
        self.result = result
        self.redraw()

    def redraw(self) -> None:
        """Draw the kept result again with the current style (no recomputation)."""
        if self.result is not None:
            style = replace(self.style(), tall=self.figure_view.is_tall())
            self.show_figure(figure_for(self.result, style))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.refresh()

    def show_figure(self, figure) -> None:
        """Put a figure on screen (``rendered`` is emitted once it is drawn)."""
        self.figure_view.set_figure(figure)

    def show_preview(self, pixels) -> None:
        """Put a quick uint8 preview image on screen while a job is still running."""
        self.figure_view.set_image(pixels)

    def report_error(self, message: str, details: str) -> None:
        """Show an error in place of the figure and pass it to the window."""
        self.figure_view.set_hint(message)
        self.error.emit(message, details)
