"""Base of the three canvases: lazy refresh through the shared job runner."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from convviz_gui.ui.figure_view import FigureView
from convviz_gui.ui.session import Session
from convviz_gui.ui.workers import JobRunner


class ViewTab(QWidget):
    """A tab with a controls row and a figure; recomputes only when shown and stale."""

    view_name = "view"
    status = Signal(str)
    error = Signal(str, str)
    rendered = Signal()

    def __init__(self, session: Session, runner: JobRunner, hint: str) -> None:
        super().__init__()
        self.session = session
        self.runner = runner
        self.stale = True
        self.figure_view = FigureView(hint)
        self.controls = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addLayout(self.controls)
        layout.addWidget(self.figure_view, 1)

    def add_controls(self, *items) -> None:
        """Append to the controls row: widgets, or ``(label, widget)`` pairs, then a stretch."""
        for item in items:
            if isinstance(item, tuple):
                self.controls.addWidget(QLabel(item[0]))
                item = item[1]
            self.controls.addWidget(item)
        self.controls.addStretch(1)

    @property
    def figure(self):
        """The figure on screen (None before the first result)."""
        return self.figure_view.figure

    def export_stem(self) -> str:
        """Default export name: ``<model>_<layer>_<view>``."""
        model = self.session.model.name if self.session.model else "model"
        layer = self.session.layer.name if self.session.layer else "image"
        from convviz_gui.engine.render import safe_file_stem

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

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.refresh()

    def show_figure(self, figure) -> None:
        """Put a worker-built figure on screen."""
        self.figure_view.set_figure(figure)
        self.rendered.emit()

    def show_preview(self, pixels) -> None:
        """Put a quick uint8 preview image on screen while a job is still running."""
        self.figure_view.set_image(pixels)

    def report_error(self, message: str, details: str) -> None:
        """Show an error in place of the figure and pass it to the window."""
        self.figure_view.set_hint(message)
        self.error.emit(message, details)
