"""A matplotlib figure with its zoom/pan toolbar, swappable in place, drawn off the GUI thread.

A big figure takes 100-400 ms to draw; ``BackgroundCanvas`` draws it in a worker thread
into a fresh Agg renderer (the GUI thread gets the interpreter back every few ms) and
swaps the finished drawing in, so the window keeps answering while figures are drawn.
"""

from __future__ import annotations

import logging
import threading
import weakref

import numpy as np
import shiboken6
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from convviz_gui.ui.controls import ndarray_to_pixmap

HINT_PADDING = 24
# The hint's narrowest: a long word in it (a folder's name, a path) is cut there, it never
# widens the tab (a word-wrapped label is otherwise as wide as its longest word).
HINT_MIN_WIDTH = 160
TALL_RATIO = 1.1  # height over width beyond which multi-panel figures stack 2x2

MIN_DRAW_SIDE = 8  # a canvas smaller than this is not laid out yet
# One matplotlib draw at a time, in any thread: figures share the font cache.
DRAW_LOCK = threading.RLock()
_canvases: weakref.WeakSet = weakref.WeakSet()


def draws_in_flight() -> int:
    """How many canvases on screen are drawing or about to (tests wait for none)."""
    return sum(canvas.busy for canvas in list(_canvases) if shiboken6.isValid(canvas))


DRAWING_TEXT = "Drawing the figure…"


class BackgroundCanvas(FigureCanvasQTAgg):
    """A Qt Agg canvas whose idle draws (new figure, resize, pan/zoom) run in a worker thread.

    The widget keeps painting the last complete drawing until the new one is swapped in
    (``drawn``); ``draw()`` itself stays synchronous for code that needs the layout now.
    """

    drawn = Signal()
    _finished = Signal()

    def __init__(self, figure: Figure) -> None:
        super().__init__(figure)
        self._rendering = False
        self._again = False
        self._result: tuple[Figure, RendererAgg | None] | None = None
        self._drawing: tuple[int, RendererAgg] | None = None  # (thread id, its renderer)
        self._finished.connect(self._swap, Qt.ConnectionType.QueuedConnection)
        _canvases.add(self)

    @property
    def busy(self) -> bool:
        """True while drawing, or with a draw queued while on screen."""
        return self._rendering or (getattr(self, "_draw_pending", False) and self.isVisible())

    def get_renderer(self) -> RendererAgg:
        """The renderer of the drawing in progress for the thread drawing it (constrained
        layout and wrapped text measure with ``figure.canvas.get_renderer()``); else the
        canvas's own. Agg's would replace the drawing on screen by a blank renderer of the
        new size, painted white for the whole background draw (seconds on a busy machine)."""
        drawing = self._drawing
        if drawing is not None and drawing[0] == threading.get_ident():
            return drawing[1]
        return super().get_renderer()

    def draw(self) -> None:
        """Draw now, on this thread (waits for a background draw to finish)."""
        with DRAW_LOCK:
            super().draw()
        self.drawn.emit()

    def _draw_idle(self) -> None:
        """Start the pending draw (``draw_idle`` queues it: requests of one event-loop
        pass are drawn once) in the background; the finished drawing replaces the shown one."""
        if not getattr(self, "_draw_pending", False):
            return
        if self._rendering:
            self._draw_pending, self._again = False, True
            return
        if min(self.width(), self.height(), *self.figure.bbox.size) < MIN_DRAW_SIDE:
            return  # not laid out yet: drawn at the first paint
        self._draw_pending = False
        self._rendering = True
        # The size the canvas will look the drawing up by (``get_renderer``): a renderer of
        # any other size (977 px for a 977.99 px wide figure) is replaced by a blank one.
        key = (*self.get_width_height(physical=True), self.figure.dpi)
        threading.Thread(target=self._render, args=(self.figure, key), daemon=True,
                         name="convviz-draw").start()

    def _render(self, figure: Figure, key: tuple[int, int, float]) -> None:
        renderer = None
        try:
            with DRAW_LOCK:
                renderer = RendererAgg(max(1, key[0]), max(1, key[1]), key[2])
                self._drawing = (threading.get_ident(), renderer)
                figure.draw(renderer)
        except Exception:  # a broken figure must not kill the thread silently
            logging.getLogger(__name__).exception("drawing a figure failed")
            renderer = None
        finally:
            self._drawing = None
        self._result = (figure, renderer, key)
        try:
            self._finished.emit()
        except RuntimeError:  # the canvas was deleted meanwhile
            self._rendering = False

    def _swap(self) -> None:
        figure, renderer, key = self._result or (None, None, None)
        self._rendering = False
        if renderer is not None and figure is self.figure:
            self.renderer = renderer
            self._lastKey = key
            self.update()  # a hidden canvas is painted from it when shown
            self.drawn.emit()
        resized = key != (*self.get_width_height(physical=True), self.figure.dpi)
        if self._again or figure is not self.figure or resized:
            self._again = False
            self.draw_idle()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Paint the last drawing. A canvas resized since (or never drawn) starts a drawing
        and shows the old one stretched meanwhile (or says it is drawing the first one), never
        a blank renderer of the new size; the finished drawing is painted when swapped in."""
        key = (*self.get_width_height(physical=True), self.figure.dpi)
        if getattr(self, "_lastKey", None) == key:
            super().paintEvent(event)
            return
        self._draw_pending = True
        self._draw_idle()
        renderer = getattr(self, "renderer", None)
        painter = QPainter(self)
        if renderer is not None:
            pixels = np.asarray(renderer.buffer_rgba())
            image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                           QImage.Format.Format_RGBA8888)
            painter.drawImage(self.rect(), image)
        else:  # a large grid takes seconds to draw on a busy machine: say so, not a blank
            painter.fillRect(self.rect(), Qt.GlobalColor.white)
            painter.setPen(Qt.GlobalColor.darkGray)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, DRAWING_TEXT)
        painter.end()


class FigureView(QWidget):
    """Shows one ``Figure``, a hint text when there is none yet, or a quick preview image."""

    shape_changed = Signal()  # the canvas turned from wide to tall or back
    drawn = Signal()  # the current figure is on screen

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure: Figure | None = None
        self.canvas: BackgroundCanvas | None = None
        self._toolbar: NavigationToolbar2QT | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._hint = QLabel(hint)
        self._hint.setWordWrap(True)
        self._hint.setMinimumWidth(HINT_MIN_WIDTH)
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
        self._forget_readout()
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
        self._preview = ndarray_to_pixmap(pixels)
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

        The figure is drawn in the background. A canvas on screen (the same result
        restyled) keeps its old drawing until the new one is ready; a hidden canvas (a
        new result: the pending text is shown) appears once the new figure is drawn, so
        the view never shows a figure of another result. The existing canvas is reused.
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
            self._forget_readout()
            self._draw_when_visible()
            return self.canvas
        self._clear()
        self._end_preview()
        self.figure = figure
        self.canvas = BackgroundCanvas(figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.drawn.connect(self._drawn)
        self._toolbar = NavigationToolbar2QT(self.canvas, self)
        self._layout.addWidget(self._toolbar)
        self._layout.addWidget(self.canvas, 1)
        self._draw_when_visible()
        return self.canvas

    def _forget_readout(self) -> None:
        """The toolbar's value under the mouse described the figure that is gone."""
        if self._toolbar is not None:
            self._toolbar.set_message("")

    def _drawn(self) -> None:
        """The canvas finished drawing: show it if it holds the current figure."""
        if self.figure is not None and self.canvas is not None and self.canvas.figure is self.figure:
            if not self.canvas.isVisible() or self._hint.isVisible():
                self._end_preview()
            self.drawn.emit()

    def _draw_when_visible(self) -> None:
        """Draw now if on screen; a hidden tab's figure is drawn when the tab is shown (a
        big grid takes 100+ ms, for nobody to see)."""
        self._draw_on_show = not self.isVisible()
        if not self._draw_on_show:
            self.canvas.draw_idle()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._draw_on_show and self.canvas is not None:
            self._draw_on_show = False
            self.canvas.draw_idle()
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
