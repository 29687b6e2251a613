"""A matplotlib figure with its zoom/pan toolbar, swappable in place."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

HINT_PADDING = 24
TALL_RATIO = 1.1  # height over width beyond which multi-panel figures stack 2x2


class FigureView(QWidget):
    """Shows one ``Figure``, a hint text when there is none yet, or a quick preview image."""

    shape_changed = Signal()  # the canvas turned from wide to tall or back

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure: Figure | None = None
        self.canvas: FigureCanvasQTAgg | None = None
        self._toolbar: NavigationToolbar2QT | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._hint = QLabel(hint)
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet(f"color: #666; font-size: 13px; padding: {HINT_PADDING}px;")
        self._hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._layout.addWidget(self._hint)
        self._spinner = QProgressBar(maximum=0)  # indeterminate: "computing"
        self._spinner.setMaximumWidth(240)
        self._spinner.setTextVisible(False)
        self._spinner.hide()
        self._layout.addWidget(self._spinner, 0, Qt.AlignmentFlag.AlignHCenter)
        self._preview: QPixmap | None = None
        self.pending = False
        self._draw_on_show = False

    def set_pending(self, text: str) -> None:
        """Say that a new figure is being computed; the old one is no longer shown."""
        self.set_hint(text)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._spinner.show()
        self.pending = True

    def set_hint(self, text: str) -> None:
        """Show a message instead of a figure (the canvas is kept for the next figure)."""
        self._spinner.hide()
        self.pending = False
        self._preview = None
        self.figure = None
        for widget in (self._toolbar, self.canvas):
            if widget is not None:
                widget.hide()
        self._hint.setPixmap(QPixmap())
        self._hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._hint.setText(text)
        self._hint.show()

    def set_image(self, pixels: np.ndarray) -> None:
        """Show a uint8 image (H, W) or (H, W, 3) scaled to fit: a cheap live preview.

        Drawing a matplotlib figure takes ~100 ms, too long to repeat during a job;
        the canvas is hidden (not destroyed) until the next ``set_figure``.
        """
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        height, width = pixels.shape[:2]
        fmt = QImage.Format.Format_Grayscale8 if pixels.ndim == 2 else QImage.Format.Format_RGB888
        image = QImage(pixels.data, width, height, pixels.strides[0], fmt).copy()
        self._preview = QPixmap.fromImage(image)
        self._spinner.hide()
        self.pending = False
        self.figure = None  # the old figure is no longer what is shown (nor exported)
        for widget in (self._toolbar, self.canvas):
            if widget is not None:
                widget.hide()
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # The pixmap must not resize the layout (that relayouts the window on every preview).
        self._hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._show_preview()
        self._hint.show()

    @property
    def showing_preview(self) -> bool:
        """True while a preview image is on screen."""
        return self._preview is not None

    def _show_preview(self) -> None:
        if self._preview is not None:
            # Inside the hint's 24 px padding, else the last column is cut off.
            room = self.size().shrunkBy(QMargins(HINT_PADDING, HINT_PADDING, HINT_PADDING,
                                                 HINT_PADDING))
            self._hint.setPixmap(self._preview.scaled(
                room, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation))

    def is_tall(self) -> bool:
        """True when the view is much taller than wide (a narrow window)."""
        return self.height() > TALL_RATIO * self.width()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        old = event.oldSize()
        if old.isValid() and (old.height() > TALL_RATIO * old.width()) != self.is_tall():
            self.shape_changed.emit()
        if self._preview is not None and self._hint.isVisible():
            self._show_preview()

    def set_figure(self, figure: Figure) -> FigureCanvasQTAgg:
        """Replace the shown figure; returns its canvas (for click handlers).

        The existing canvas is reused (re-creating canvas and toolbar on every live
        preview stalls the event loop).
        """
        if self.canvas is not None:
            self._end_preview()
            self.figure = figure
            figure.set_canvas(self.canvas)
            self.canvas.figure = figure
            # Fit the new figure to the widget, as the canvas does on a resize.
            ratio = self.canvas.device_pixel_ratio
            figure.set_size_inches(self.canvas.width() * ratio / figure.dpi,
                                   self.canvas.height() * ratio / figure.dpi, forward=False)
            self._toolbar.update()
            self._draw_when_visible()
            return self.canvas
        self._clear()
        self._end_preview()
        self.figure = figure
        self.canvas = FigureCanvasQTAgg(figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._toolbar = NavigationToolbar2QT(self.canvas, self)
        self._layout.addWidget(self._toolbar)
        self._layout.addWidget(self.canvas, 1)
        self._draw_when_visible()
        return self.canvas

    def _draw_when_visible(self) -> None:
        """Draw now if on screen; a hidden tab's figure is drawn when the tab is shown (a
        big grid takes 100+ ms of the GUI thread, for nobody to see)."""
        self._draw_on_show = not self.isVisible()
        if not self._draw_on_show:
            self.canvas.draw_idle()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._draw_on_show and self.canvas is not None:
            self._draw_on_show = False
            self.canvas.draw_idle()  # before the first paint, which would show the old buffer
        super().showEvent(event)

    def _end_preview(self) -> None:
        self._spinner.hide()
        self.pending = False
        self._preview = None
        self._hint.setPixmap(QPixmap())
        self._hint.hide()
        for widget in (self._toolbar, self.canvas):
            if widget is not None:
                widget.show()

    def _clear(self) -> None:
        for widget in (self._toolbar, self.canvas):
            if widget is not None:
                self._layout.removeWidget(widget)
                widget.deleteLater()
        self._toolbar = self.canvas = None
        self.figure = None
