"""The real window, offscreen, driven with pytest-qt."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

from convviz_gui.ui.main_window import MainWindow

from ..conftest import shared, wait_idle

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_launch_shows_the_demo(qtbot, window):
    wait_idle(qtbot, window)
    assert window.tree.source.rowCount() > 40
    assert window.activations_tab.figure is not None
    assert "conv2d_1" in window.activations_tab.figure.axes[0].get_title()
    window.tabs.setCurrentWidget(window.gradcam_tab)
    qtbot.waitUntil(lambda: window.gradcam_tab.predictions.count() == 7, timeout=TIMEOUT)
    assert window.gradcam_tab.predictions.item(0).text().startswith("happy")
    assert window.gradcam_tab.layer_combo.currentText() == "conv2d_7"


def test_selecting_a_layer_updates_the_canvas(qtbot, window):
    window.tabs.setCurrentWidget(window.activations_tab)
    window.tree.select_path(("separable_conv2d_3",))
    qtbot.waitUntil(lambda: window.activations_tab.figure is not None and "separable_conv2d_3"
                    in window.activations_tab.figure.axes[0].get_title(), timeout=TIMEOUT)
    assert window.activations_tab.channel_at(0.0, 0.0) == 0
    dialog = window.activations_tab.open_channel(3)
    assert "channel 3" in dialog.windowTitle()
    dialog.close()


def grid_layout(tab) -> tuple[int, int, int]:
    """(rows, columns, tile side) of the activation grid on screen, from its mosaic."""
    side = tab.result.activations.values.shape[0]
    height, width = tab.figure.axes[0].images[0].get_array().shape
    return (height + 1) // (side + 1), (width + 1) // (side + 1), side


def test_a_layer_with_few_channels_fills_the_view(qtbot, window):
    tab = window.activations_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("conv2d_1",))  # 8 channels of 62x62: not a strip of 8
    qtbot.waitUntil(lambda: tab.figure is not None and "conv2d_1" in tab.figure.axes[0].get_title(),
                    timeout=TIMEOUT)
    wait_idle(qtbot, window)
    rows, columns, side = grid_layout(tab)
    assert tab.columns.value() == 16 and rows > 1 and rows * columns >= 8 > (rows - 1) * columns
    ax = tab.figure.axes[0]
    (left, _), (right, _) = ax.transData.transform([(-0.5, 0), (side - 0.5, 0)])
    canvas_width = tab.figure_view.canvas.width() * tab.figure_view.canvas.device_pixel_ratio
    assert right - left > 1.3 * canvas_width / 8  # larger than a strip of 8 could draw them
    for index in range(8):  # a click on a tile opens its channel
        row, col = divmod(index, columns)
        assert tab.channel_at(col * (side + 1) + side / 2, row * (side + 1) + side / 2) == index
    assert tab.channel_at(side + 0.2, side / 2) is None  # the gap between two tiles
    window.tree.select_path(("separable_conv2d_3",))  # 32 channels: the 16 per row asked for
    qtbot.waitUntil(lambda: tab.figure is not None
                    and "separable_conv2d_3" in tab.figure.axes[0].get_title(), timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert grid_layout(tab)[:2] == (2, 16)


def test_drop_image_and_bad_file(qtbot, window, tmp_path):
    drop(window, shared("images", "chelsea.png"))
    qtbot.waitUntil(lambda: window.session.image.name == "chelsea.png", timeout=TIMEOUT)
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    errors = len(window.errors_shown)
    drop(window, bad)
    qtbot.waitUntil(lambda: len(window.errors_shown) > errors, timeout=TIMEOUT)
    assert "notes.txt" in window.errors_shown[-1]
    assert window.session.image.name == "chelsea.png"  # the old image stays
    window.last_error_dialog.close()


def test_drop_model_file(qtbot, window, tmp_path, keras):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="only_conv")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path / "small.keras"
    keras.Model(inputs, outputs).save(path)
    drop(window, path)
    qtbot.waitUntil(lambda: window.session.model.name == "small", timeout=TIMEOUT)
    assert window.tree.source.rowCount() == 4
    window.files.open_model("demo")
    qtbot.waitUntil(lambda: window.session.model.source == "demo", timeout=TIMEOUT)
    wait_idle(qtbot, window)


def test_filter_job_progress_preview_and_cancel(qtbot, window):
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("separable_conv2d_5",))
    tab.range_edit.setText("0-63")
    updates = []
    tab.run()
    job = window.runner.running("filters")
    job.signals.progress.connect(updates.append)
    qtbot.waitUntil(lambda: len(updates) >= 6, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: tab.figure_view.showing_preview, timeout=TIMEOUT)
    assert tab.job.progress.value() > 0 and tab.figure is None  # a live preview, not a figure
    tab.job.cancel()
    wait_idle(qtbot, window)
    assert tab.last_result.cancelled and tab.last_result.partial
    assert tab.job.run_button.isEnabled() and not tab.job.cancel_button.isEnabled()
    assert "cancelled" in tab.figure.axes[0].get_title() and not tab.figure_view.showing_preview


def test_heartbeat_during_filter_job(qtbot, window):
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    tab.range_edit.setText("0-15")
    tab.steps.setValue(20)
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    tab.run()
    wait_idle(qtbot, window)
    timer.stop()
    gaps = np.diff(ticks) * 1000 - 20
    print(f"heartbeat: {len(ticks)} ticks, max gap beyond interval {gaps.max():.1f} ms")
    assert len(ticks) > 10
    assert gaps.max() < 500  # loose for noisy CI; bench/gui.py holds the 100 ms target


def test_export_png_svg_pdf(qtbot, window, tmp_path):
    window.tabs.setCurrentWidget(window.activations_tab)
    wait_idle(qtbot, window)
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        saved = tmp_path / f"figure{suffix}"
        window.exports.export_figure(str(saved))
        wait_idle(qtbot, window)
        assert saved.read_bytes()[:5].startswith(magic)
    assert window.activations_tab.export_stem().endswith("_activations")


def test_close_during_filter_job_exits_cleanly(qtbot, qapp, tmp_path, capfd):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.show()
    win.files.open_model("demo")
    qtbot.waitUntil(lambda: win.session.model is not None, timeout=TIMEOUT)
    win.filters_tab.range_edit.setText("0-63")
    win.filters_tab.run()
    qtbot.wait(300)
    started = time.perf_counter()
    win.close()
    assert time.perf_counter() - started < 20
    assert not win.runner.alive
    assert "Destroyed while thread" not in capfd.readouterr().err
