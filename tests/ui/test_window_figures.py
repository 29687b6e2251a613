"""Finished figures are painted: a canvas that was hidden, new or 0-sized when its drawing
started shows the drawing once it is done."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from convviz_gui.ui.figure_view import FigureView, draws_in_flight

from ..conftest import wait_idle

TIMEOUT = 60_000


def painted_share(widget: QWidget) -> float:
    """Share of the widget's pixels, as it paints itself now, that are not white."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    pixels = pixels[:, :width * 3].reshape(height, width, 3)
    return float(np.mean(pixels.min(axis=2) < 200))


def dark_figure() -> Figure:
    figure = Figure(figsize=(6, 4))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.imshow(np.zeros((8, 8)), cmap="gray", vmin=0, vmax=1, aspect="auto")
    ax.set_axis_off()
    return figure


def wait_drawn(qtbot, view: FigureView) -> None:
    qtbot.waitUntil(lambda: not draws_in_flight() and view.canvas is not None
                    and view.canvas.isVisible(), timeout=TIMEOUT)
    QApplication.processEvents()


def test_a_first_drawing_still_in_progress_says_so(qtbot, monkeypatch):
    """Until its first drawing is done, a canvas says it is drawing (never a white page)."""
    from convviz_gui.ui import figure_view

    monkeypatch.setattr(figure_view.BackgroundCanvas, "_draw_idle", lambda self: None)  # never ends
    view = FigureView("press Run")  # deleted here, while drawing is still switched off
    view.resize(500, 400)
    view.show()
    view.set_figure(dark_figure())
    QApplication.processEvents()
    assert getattr(view.canvas, "renderer", None) is None  # nothing drawn yet
    assert 0 < painted_share(view.canvas) < 0.1  # the sentence, on white
    view.close()
    view.deleteLater()
    QApplication.processEvents()


class Gate(Artist):
    """An artist whose drawing waits for ``opened`` (a slow figure, e.g. on a busy machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.reached, self.opened = threading.Event(), threading.Event()

    def draw(self, renderer) -> None:
        self.reached.set()
        self.opened.wait(TIMEOUT / 1000)


def test_a_constrained_figure_being_drawn_says_so_not_white(qtbot):
    """Constrained layout measures text with ``canvas.get_renderer()`` from the drawing
    thread: that must not put a blank renderer on screen (a white area for the whole draw,
    4 s after a dataset scan on a busy machine)."""
    view = FigureView("press Run")
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    figure = Figure(figsize=(6, 4), layout="constrained")
    figure.add_subplot().set_title("a title constrained layout measures")
    gate = Gate()
    figure.add_artist(gate)
    view.set_figure(figure)
    qtbot.waitUntil(gate.reached.is_set, timeout=TIMEOUT)  # layout done, drawing under way
    try:
        assert getattr(view.canvas, "renderer", None) is None  # no blank renderer adopted
        assert 0 < painted_share(view.canvas) < 0.1  # "Drawing the figure…" on white
    finally:
        gate.opened.set()
    wait_drawn(qtbot, view)
    qtbot.waitUntil(lambda: view.canvas.renderer is not None and painted_share(view.canvas) > 0.01,
                    timeout=TIMEOUT)


@pytest.mark.parametrize("start", ["zero-size", "hidden"])
def test_a_figure_set_on_a_canvas_not_laid_out_is_painted(qtbot, start):
    holder = QWidget()
    QVBoxLayout(holder)
    view = FigureView("press Run")
    holder.layout().addWidget(view)
    qtbot.addWidget(holder)
    if start == "zero-size":
        holder.resize(0, 0)
        holder.show()
    view.set_pending("computing")
    view.set_figure(dark_figure())
    QApplication.processEvents()
    holder.resize(500, 400)
    holder.show()
    wait_drawn(qtbot, view)
    qtbot.waitUntil(lambda: painted_share(view.canvas) > 0.5, timeout=TIMEOUT)
    assert (view.canvas.renderer.width, view.canvas.renderer.height) == (
        view.canvas.width() * view.canvas.device_pixel_ratio,
        view.canvas.height() * view.canvas.device_pixel_ratio)


def test_compare_dialog_first_run_is_painted(qtbot, demo_window):
    window = demo_window
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.gradcam_tab)
    qtbot.waitUntil(lambda: window.gradcam_tab.predictions.count() == 7, timeout=TIMEOUT)
    window.gradcam_tab.compare_button.click()
    dialog = window.gradcam_tab.compare_dialog
    for row in range(dialog.methods.count()):  # one quick method keeps the test short
        item = dialog.methods.item(row)
        item.setCheckState(Qt.CheckState.Checked if item.text() == "Grad-CAM"
                           else Qt.CheckState.Unchecked)
    dialog.metrics.setChecked(False)
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=TIMEOUT)
    wait_drawn(qtbot, dialog.figure_view)
    qtbot.waitUntil(lambda: painted_share(dialog.figure_view.canvas) > 0.05, timeout=10_000)
    canvas = dialog.figure_view.canvas
    assert canvas.renderer.width == canvas.width() * canvas.device_pixel_ratio
    dialog.close()
