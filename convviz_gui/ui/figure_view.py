"""A matplotlib figure with its zoom/pan toolbar, swappable in place."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


class FigureView(QWidget):
    """Shows one ``Figure`` (or a hint text when there is none yet)."""

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure: Figure | None = None
        self.canvas: FigureCanvasQTAgg | None = None
        self._toolbar: NavigationToolbar2QT | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._hint = QLabel(hint)
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet("color: #666; font-size: 13px; padding: 24px;")
        self._hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._layout.addWidget(self._hint)

    def set_hint(self, text: str) -> None:
        """Show a message instead of a figure."""
        self._clear()
        self._hint.setText(text)
        self._hint.show()

    def set_figure(self, figure: Figure) -> FigureCanvasQTAgg:
        """Replace the shown figure; returns its canvas (for click handlers).

        The existing canvas is reused (re-creating canvas and toolbar on every live
        preview stalls the event loop).
        """
        if self.canvas is not None:
            self.figure = figure
            figure.set_canvas(self.canvas)
            self.canvas.figure = figure
            # Fit the new figure to the widget, as the canvas does on a resize.
            ratio = self.canvas.device_pixel_ratio
            figure.set_size_inches(self.canvas.width() * ratio / figure.dpi,
                                   self.canvas.height() * ratio / figure.dpi, forward=False)
            self._toolbar.update()
            self.canvas.draw_idle()
            return self.canvas
        self._clear()
        self._hint.hide()
        self.figure = figure
        self.canvas = FigureCanvasQTAgg(figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._toolbar = NavigationToolbar2QT(self.canvas, self)
        self._layout.addWidget(self._toolbar)
        self._layout.addWidget(self.canvas, 1)
        self.canvas.draw_idle()
        return self.canvas

    def _clear(self) -> None:
        for widget in (self._toolbar, self.canvas):
            if widget is not None:
                self._layout.removeWidget(widget)
                widget.deleteLater()
        self._toolbar = self.canvas = None
        self.figure = None
