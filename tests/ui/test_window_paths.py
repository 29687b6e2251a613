"""Menu actions, keys and clicks as a user gives them (not the methods behind them)."""

from __future__ import annotations

import os
import stat

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def action(window, text: str):
    """The menu action whose text (without '&' and '…') starts with ``text``."""
    for found in window.findChildren(type(window.menuBar().actions()[0])):
        if found.text().replace("&", "").startswith(text):
            return found
    raise AssertionError(f"no action {text!r}")


def test_ctrl_e_exports_through_the_file_dialog(qtbot, window, tmp_path, monkeypatch):
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.activations_tab)
    qtbot.waitUntil(lambda: window.activations_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    target = tmp_path / "from menu.png"
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: asked.append(args) or (str(target), "PNG (*.png)"))
    export = action(window, "Export Figure")
    assert export.shortcut().toString() == "Ctrl+E"
    errors = len(window.errors_shown)
    export.trigger()  # triggered(bool) must not land in the path parameter
    wait_idle(qtbot, window)
    assert asked and len(window.errors_shown) == errors
    assert target.read_bytes()[:4] == b"\x89PNG"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_export_all_activations_menu(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    window.activations_tab.cmap.setCurrentText("magma")
    action(window, "Export All Activations").trigger()
    wait_idle(qtbot, window)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) > 20 and names[0].startswith("001_") and names == sorted(names)
    assert names[0].endswith(".png") and "conv2d_1" in names[1] + names[0]
    window.activations_tab.cmap.setCurrentText("viridis")


def test_typing_in_the_layer_filter_keeps_the_selection(qtbot, window):
    wait_idle(qtbot, window)
    window.tree.select_path(("conv2d_2",))
    qtbot.waitUntil(lambda: window.session.layer.name == "conv2d_2", timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    box = window.tree.filter_box
    qtbot.keyClicks(box, "separable_conv2d_")
    assert window.session.layer.name == "conv2d_2" and not window.runner.busy
    box.clear()
    qtbot.keyClicks(box, "conv2d_7")
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter picks the first match
    qtbot.waitUntil(lambda: window.session.layer.name == "conv2d_7", timeout=WINDOW_TIMEOUT_MS)
    box.clear()
    assert window.tree.current_layer().name == "conv2d_7"
    wait_idle(qtbot, window)


def test_run_does_not_move_focus_into_the_layer_filter(qtbot, window):
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("conv2d_1",))
    tab.range_edit.setText("0-1")
    tab.steps.setValue(2)
    tab.job.run_button.setFocus()
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    assert not window.tree.filter_box.hasFocus()
    wait_idle(qtbot, window)
    tab.steps.setValue(30)


def test_about_shows_no_markdown(qtbot, window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    action(window, "About ConvViz").trigger()
    assert shown and "`" not in shown[0] and "emotion_mini_xception" in shown[0]


def test_unexpected_error_is_logged_once(qtbot, window, tmp_path, monkeypatch):
    import sys

    from convviz_gui.app import _install_excepthook
    from convviz_gui.ui import dialogs

    log = tmp_path / "errors.log"
    monkeypatch.setattr(dialogs, "log_path", lambda: log)
    saved = sys.excepthook
    try:
        _install_excepthook(window)
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = saved
    assert log.read_text().count("RuntimeError: boom") == 1
    window.last_error_dialog.close()


def test_page_number_follows_the_layer(qtbot, qapp, tmp_path, keras):
    from PySide6.QtCore import QSettings

    from convviz_gui.ui.main_window import MainWindow

    inputs = keras.Input((12, 12, 3))
    wide = keras.layers.Conv2D(728, 1, activation="relu", name="wide")(inputs)
    narrow = keras.layers.Conv2D(32, 3, activation="relu", name="narrow")(wide)
    outputs = keras.layers.Dense(2, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(narrow))
    path = tmp_path / "pages.keras"
    keras.Model(inputs, outputs).save(path)
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    try:
        from convviz_gui.engine.models import demo_image_path

        win.files.open_model(str(path))
        win.files.open_image(str(demo_image_path()))
        tab = win.activations_tab
        qtbot.waitUntil(lambda: win.session.ready, timeout=WINDOW_TIMEOUT_MS)
        win.tree.select_path(("wide",))
        qtbot.waitUntil(lambda: tab.page.maximum() == 3, timeout=WINDOW_TIMEOUT_MS)
        tab.page.setValue(3)
        qtbot.waitUntil(lambda: tab.figure is not None
                        and "channels 512-727 of 728" in tab.figure.axes[0].get_title(),
                        timeout=WINDOW_TIMEOUT_MS)
        win.tree.select_path(("narrow",))
        qtbot.waitUntil(lambda: tab.figure is not None and "narrow" in tab.figure.axes[0].get_title(),
                        timeout=WINDOW_TIMEOUT_MS)
        assert tab.page.value() == 1 and tab.page.maximum() == 1
        assert "channels 0-31 of 32" in tab.figure.axes[0].get_title()
    finally:
        win.close()
