"""State that follows the model, layer and image; jobs that stop with their model; menu
shortcuts from a text box."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from ..conftest import wait_idle

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, keras):
    """A 32x32 RGB model with one 6-filter convolution and 2 classes."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="only_conv")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path_factory.mktemp("models") / "small.keras"
    keras.Model(inputs, outputs, name="small").save(path)
    return path


def drop(window, path) -> None:
    """Drop a file on the window, as from a file manager."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def open_model(qtbot, window, path) -> None:
    drop(window, path)
    qtbot.waitUntil(lambda: window.session.model.ref.spec == str(path), timeout=TIMEOUT)


def open_demo(qtbot, window) -> None:
    actions = {action.text(): action for action in window.findChildren(QAction)}
    actions["Open &Demo"].trigger()
    qtbot.waitUntil(lambda: window.session.model is not None
                    and window.session.model.source == "demo", timeout=TIMEOUT)
    wait_idle(qtbot, window)


def type_into(qtbot, box, text: str) -> None:
    """Select what the box holds and type ``text`` over it."""
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)


def test_the_value_under_the_mouse_goes_with_its_figure(qtbot, window):
    open_demo(qtbot, window)
    tab = window.activations_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    canvas = tab.figure_view.canvas
    readout = tab.figure_view._toolbar.locLabel
    x0, y0 = tab.figure.axes[0].bbox.min / canvas.device_pixel_ratio
    for step in range(1, 30):  # along the grid's diagonal until a tile is under the mouse
        qtbot.mouseMove(canvas, QPointF(x0 + 4 * step, canvas.height() - y0 - 4 * step).toPoint())
        if "channel" in readout.text():
            break
    assert "channel" in readout.text()
    window.tree.select_path(("separable_conv2d_3",))
    assert "channel" not in readout.text()
    wait_idle(qtbot, window)
    assert "channel" not in readout.text()


def test_another_model_stops_the_old_models_filter_job(qtbot, window, small_model):
    wait_idle(qtbot, window)
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("separable_conv2d_5",))
    type_into(qtbot, tab.range_edit, "0-999")
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    assert "999 does not exist" in tab.range_note.text()  # a red note about the demo's layer
    type_into(qtbot, tab.range_edit, "0-63")
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    job = window.runner.running("filters")
    qtbot.waitUntil(lambda: tab.job.progress.value() > 0, timeout=TIMEOUT)
    open_model(qtbot, window, small_model)
    said: list[str] = []  # what the status bar says once the small model is open
    window.statusBar().messageChanged.connect(said.append)
    assert job.cancelled and window.runner.running("filters") is None
    assert tab.job.run_button.isEnabled() and not tab.job.cancel_button.isEnabled()
    assert not tab.job.progress.isVisible()
    wait_idle(qtbot, window)
    assert not any("filters in" in text or "Filters: step" in text for text in said), said
    assert tab.figure_view._hint.text() == "Press Run to visualize the filters of only_conv."
    assert tab.range_note.text() == "" and tab.range_edit.text() == "0-5"  # the default, fitted
    window.statusBar().messageChanged.disconnect(said.append)


def test_searches_and_readouts_belong_to_their_model(qtbot, window, small_model):
    open_demo(qtbot, window)
    window.tabs.setCurrentWidget(window.gradcam_tab)
    qtbot.waitUntil(lambda: window.gradcam_tab.predictions.count() == 7, timeout=TIMEOUT)
    type_into(qtbot, window.gradcam_tab.class_filter, "happy")
    type_into(qtbot, window.tree.filter_box, "separable_conv2d_5")
    assert window.tree.proxy.rowCount() == 1
    window.live_tab.predictions.setText("<b>Top 5</b><br>happy 0.446")  # the demo's last frame
    open_model(qtbot, window, small_model)
    wait_idle(qtbot, window)
    assert window.tree.filter_box.text() == "" and window.tree.proxy.rowCount() == 4
    assert window.gradcam_tab.class_filter.text() == ""
    assert window.gradcam_tab.predictions.count() == 2  # the small model's classes, all shown
    assert not any(window.gradcam_tab.predictions.item(row).isHidden() for row in range(2))
    assert window.live_tab.predictions.text() == ""


def test_clearing_a_layer_search_gives_the_columns_their_width(qtbot, window, small_model):
    open_demo(qtbot, window)
    tree = window.tree
    widths = [tree.view.columnWidth(column) for column in range(4)]
    type_into(qtbot, tree.filter_box, "no layer is named so")
    assert tree.proxy.rowCount() == 0
    tree.filter_box.clear()  # the box's clear button
    assert [tree.view.columnWidth(column) for column in range(4)] == widths
    assert min(widths) > 40


def test_ctrl_e_exports_from_a_text_box(qtbot, window, monkeypatch):
    open_demo(qtbot, window)
    window.tabs.setCurrentWidget(window.activations_tab)
    wait_idle(qtbot, window)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, title, *_args: (asked.append(title), ("", ""))[1])
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)
    for box, tab in ((window.tree.filter_box, window.activations_tab),
                     (window.gradcam_tab.class_filter, window.gradcam_tab)):
        window.tabs.setCurrentWidget(tab)
        box.setFocus()
        qtbot.waitUntil(box.hasFocus, timeout=5_000)
        qtbot.keyClicks(box, "conv")
        qtbot.keyClick(box, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        assert asked == ["Export figure"], box.placeholderText()
        asked.clear()
        box.selectAll()  # Ctrl+C still copies the text, not the figure
        qtbot.keyClick(box, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        assert QApplication.clipboard().text() == "conv"
        box.clear()


def test_switching_the_filters_style_clears_its_news(qtbot, window):
    open_demo(qtbot, window)
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.show_status("")
    window.tree.select_path(("conv2d_1",))
    type_into(qtbot, tab.range_edit, "0-1")
    type_into(qtbot, tab.steps, "2")
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert "filters in" in window.statusBar().currentMessage()
    tab.style_combo.setFocus()
    qtbot.keyClick(tab.style_combo, Qt.Key.Key_Down)  # Reference -> Clear
    assert tab.style_combo.currentData() == "clear"
    assert window.statusBar().currentMessage() == ""
    qtbot.keyClick(tab.style_combo, Qt.Key.Key_Up)
