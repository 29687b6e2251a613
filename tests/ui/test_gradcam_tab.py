"""The Grad-CAM tab through the user's path: score, methods, progress, metrics, compare."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from convviz_gui.engine.models import demo_image_path
from convviz_gui.ops.registry import is_long

from ..conftest import LAPTOP_WINDOW, WINDOW_TIMEOUT_MS, shared, wait_idle
from ..whole_marker import assert_drawn_whole


def _show(qtbot, window):
    window.tabs.setCurrentWidget(window.gradcam_tab)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.gradcam_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    return window.gradcam_tab


def _choose(qtbot, combo, text: str) -> None:
    """Pick a combo item by typing its first letters, as a user does with the keyboard."""
    from PySide6.QtWidgets import QApplication

    qtbot.wait(QApplication.keyboardInputInterval() + 50)  # a new search, not a continued one
    combo.setFocus()
    qtbot.keyClicks(combo, text)
    assert combo.currentText().lower().startswith(text.lower()), combo.currentText()


def test_score_choice_logit_by_default_probability_on_request(qtbot, demo_window):
    tab = _show(qtbot, demo_window)
    assert tab.score.currentData() == "logit"
    assert tab.result.cam.score_kind == "logit" and "; logit" in tab.figure.texts[0].get_text()
    _choose(qtbot, tab.score, "prob")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.score_kind == "probability",
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    assert "; logit" not in tab.figure.texts[0].get_text()
    _choose(qtbot, tab.score, "log")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.score_kind == "logit",
                    timeout=WINDOW_TIMEOUT_MS)


def test_every_method_is_offered_with_its_idea(qtbot, demo_window):
    from convviz_gui.engine.cam import CAM_METHODS

    tab = _show(qtbot, demo_window)
    names = [tab.method.itemText(i) for i in range(tab.method.count())]
    assert names == list(CAM_METHODS) and len(names) == 19
    assert all(tab.method.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(len(names)))
    _choose(qtbot, tab.method, "Integrated")
    assert tab.options.steps.isVisibleTo(tab) and tab.options.baseline.isVisibleTo(tab)
    assert not tab.options.top_n.isVisibleTo(tab) and not tab.layer_combo.isEnabled()
    qtbot.waitUntil(lambda: tab.result is not None
                    and tab.result.cam.method == "Integrated Gradients", timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    assert tab.result.cam.heatmap.shape == (64, 64) and "at the input" in tab.figure.texts[0].get_text()
    _choose(qtbot, tab.method, "Grad-CAM")
    assert tab.layer_combo.isEnabled() and not tab.options.steps.isVisibleTo(tab)
    wait_idle(qtbot, demo_window)


def _type_value(qtbot, spin, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def test_a_batched_method_shows_progress_and_cancels(qtbot, demo_window):
    tab = _show(qtbot, demo_window)
    _type_value(qtbot, tab.options.patch, "1")
    _type_value(qtbot, tab.options.stride, "1")  # 4096 occluded images: long enough to cancel
    wait_idle(qtbot, demo_window)
    updates = []
    _choose(qtbot, tab.method, "Occlusion")
    job = demo_window.runner.running("gradcam")
    assert job is not None and is_long(job.request) and job.request.spec.options.patch == 1
    job.signals.progress.connect(updates.append)
    assert tab.job.progress.isVisible() and tab.job.cancel_button.isVisible()
    qtbot.waitUntil(lambda: len(updates) >= 2, timeout=WINDOW_TIMEOUT_MS)
    assert 0 < tab.job.progress.value() < 1000
    qtbot.waitUntil(demo_window.busy_bar.isVisible, timeout=WINDOW_TIMEOUT_MS)  # a long job
    qtbot.mouseClick(tab.job.cancel_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, demo_window)
    assert not demo_window.busy_bar.isVisible()
    assert tab.result is None and "Cancelled" in tab.figure_view._hint.text()
    assert tab.job.progress.isHidden() and tab.job.cancel_button.isHidden()
    assert demo_window.errors_shown == []
    _type_value(qtbot, tab.options.patch, "0")  # back to auto: the whole run this time
    _type_value(qtbot, tab.options.stride, "0")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.method == "Occlusion",
                    timeout=WINDOW_TIMEOUT_MS)
    _choose(qtbot, tab.method, "Grad-CAM")
    wait_idle(qtbot, demo_window)


@pytest.fixture
def segmentation_window(qapp, tmp_path, segmentation_model):
    from PySide6.QtCore import QSettings

    from convviz_gui.ui.main_window import MainWindow

    path = tmp_path / "segmenter.keras"
    segmentation_model.keras_model.save(path)
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.resize(*LAPTOP_WINDOW)  # as on a 1366x768 screen (offscreen, it opens at its minimum)
    win.show()
    win.files.open_model(str(path))
    win.files.open_image(str(demo_image_path()))
    yield win
    win.close()


def _drag(qtbot, tab, start, end) -> None:
    """Drag with the mouse on the image panel from ``start`` to ``end`` (image pixels)."""
    canvas, image = tab.figure_view.canvas, tab.figure.axes[0]
    canvas.draw()
    ratio = canvas.device_pixel_ratio

    def point(xy):
        x, y = image.transData.transform(xy)
        return QPoint(round(x / ratio), round(canvas.height() - y / ratio))

    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=point(start))
    for step in range(1, 5):
        middle = [a + (b - a) * step / 4 for a, b in zip(start, end)]
        qtbot.mouseMove(canvas, point(middle))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=point(end))


def test_segmentation_box_dragged_on_the_image(qtbot, segmentation_window):
    window = segmentation_window
    qtbot.waitUntil(lambda: window.session.ready, timeout=WINDOW_TIMEOUT_MS)
    tab = _show(qtbot, window)
    targets = [tab.target.itemText(i) for i in range(tab.target.count())]
    assert targets == ["the class", "against the class", "its pixels", "box you drag"]
    _choose(qtbot, tab.target, "box")
    qtbot.waitUntil(lambda: tab.result is not None and "box 0.00, 0.00, 1.00, 1.00"
                    in tab.result.cam.target, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    _drag(qtbot, tab, (20, 30), (100, 150))  # the demo photo is 200 x 200
    qtbot.waitUntil(lambda: tab.region is not None, timeout=WINDOW_TIMEOUT_MS)
    assert tab.region == pytest.approx((0.1, 0.15, 0.5, 0.75), abs=0.02)
    dragged = "box {:.2f}, {:.2f}, {:.2f}, {:.2f}".format(*tab.region)
    qtbot.waitUntil(lambda: tab.result is not None and dragged in tab.result.cam.target,
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.errors_shown == []


def test_absolute_scale_and_the_counterfactual(qtbot, demo_window):
    tab = _show(qtbot, demo_window)
    qtbot.mouseClick(tab.absolute, Qt.MouseButton.LeftButton)
    colorbar = tab.figure.axes[1].child_axes[0]
    assert colorbar.get_ylabel() == "importance (logit units)"
    assert colorbar.get_ylim()[1] == pytest.approx(float(tab.result.cam.raw.max()))
    qtbot.mouseClick(tab.absolute, Qt.MouseButton.LeftButton)
    assert tab.figure.axes[1].child_axes[0].get_ylabel() == "importance"
    _choose(qtbot, tab.target, "against")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.target.startswith("against"),
                    timeout=WINDOW_TIMEOUT_MS)
    assert "against 'happy'" in tab.figure.texts[0].get_text()
    _choose(qtbot, tab.target, "the class")
    wait_idle(qtbot, demo_window)


def test_metrics_under_the_heatmap_with_their_meaning_on_hover(qtbot, demo_window):
    from convviz_gui.engine.cam.metrics import Faithfulness

    tab = _show(qtbot, demo_window)
    assert tab.metrics_row.isHidden()
    qtbot.mouseClick(tab.metrics, Qt.MouseButton.LeftButton)
    job = demo_window.runner.running("gradcam")
    assert job is not None and job.request.spec.metrics and is_long(job.request)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.metrics is not None,
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    assert tab.metrics_row.isVisible()
    metrics = tab.result.metrics
    labels = tab.metric_labels
    assert labels["deletion_auc"].text().startswith(f"Deletion AUC {metrics.deletion_auc:.3f}")
    assert labels["road_morf_auc"].text().startswith(f"ROAD MoRF {metrics.road_morf_auc:.3f}")
    assert labels["road_lerf_auc"].text().startswith(f"ROAD LeRF {metrics.road_lerf_auc:.3f}")
    assert labels["road_morf_auc"].isVisible() and labels["road_lerf_auc"].isVisible()
    assert 0 <= metrics.road_morf_auc <= 1 and 0 <= metrics.road_lerf_auc <= 1
    assert all(label.toolTip() == Faithfulness.EXPLAINED[key] and "\n" not in label.toolTip()
               for key, label in labels.items())
    assert "blurry" in labels["road_morf_auc"].toolTip()
    titles = [ax.get_title() for ax in tab.figure.axes]
    assert len(titles) == 5 and titles[3].startswith("faithfulness") and titles[4].startswith("ROAD")
    qtbot.mouseClick(tab.metrics, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.metrics is None,
                    timeout=WINDOW_TIMEOUT_MS)
    assert tab.metrics_row.isHidden()


def test_compare_lists_arrow_keys_move_and_space_ticks(qtbot, demo_window):
    from convviz_gui.ui.compare_dialog import checked_data

    tab = _show(qtbot, demo_window)
    qtbot.mouseClick(tab.compare_button, Qt.MouseButton.LeftButton)
    dialog = tab.compare_dialog
    for checklist in (dialog.methods, dialog.layers):
        checklist.setFocus()
        checklist.setCurrentRow(0)
        ticked = checked_data(checklist)
        assert ticked  # the defaults
        for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Up,
                    Qt.Key.Key_PageDown, Qt.Key.Key_End, Qt.Key.Key_Home, Qt.Key.Key_Down):
            qtbot.keyClick(checklist, key)
        assert checklist.currentRow() == 1 and checked_data(checklist) == ticked  # moved only
        assert not checklist.selectedItems()  # no highlight that reads as "chosen"
        current = checklist.currentItem().data(Qt.ItemDataRole.UserRole)
        qtbot.keyClick(checklist, Qt.Key.Key_Space)
        assert set(checked_data(checklist)) == set(ticked) ^ {current}  # Space toggles it
        qtbot.keyClick(checklist, Qt.Key.Key_Space)
        assert checked_data(checklist) == ticked
    dialog.close()


def test_compare_grid_from_the_tab_with_metrics_and_export(qtbot, demo_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    tab = _show(qtbot, demo_window)
    qtbot.mouseClick(tab.compare_button, Qt.MouseButton.LeftButton)
    dialog = tab.compare_dialog
    assert dialog.isVisible() and dialog.classes.text() == "happy, neutral, fear"
    methods = dialog.methods
    row = next(r for r in range(methods.count()) if methods.item(r).text() == "Occlusion")
    methods.setCurrentRow(row)
    qtbot.keyClick(methods, Qt.Key.Key_Space)  # check one more method with the keyboard
    dialog.classes.selectAll()
    qtbot.keyClicks(dialog.classes, "happy, sad")
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    assert dialog.job.progress.isVisible() and dialog.job.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    result = dialog.result
    assert result.rows == ("Grad-CAM", "Score-CAM", "Integrated Gradients", "Occlusion")
    assert result.columns == ("happy", "sad") and result.axis == "classes"
    axes = dialog.figure_view.figure.axes
    cells = [ax for ax in axes if ax.get_xlabel().startswith("del ")]
    assert len(cells) == 8  # every cell with its metrics
    path = tmp_path / "grid.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(path.exists, timeout=WINDOW_TIMEOUT_MS)
    assert path.read_text().lstrip().startswith("<?xml")
    _choose(qtbot, dialog.axis, "layers")
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.result.axis == "layers",
                    timeout=WINDOW_TIMEOUT_MS)
    assert dialog.result.columns == ("batch_normalization_12", "add_4", "conv2d_7")  # the last 3
    assert dialog.result.cells[0][2][0].label == "happy"  # layers are compared for the first class
    dialog.close()
    wait_idle(qtbot, demo_window)


def test_a_corner_peak_is_marked_whole_at_its_cell_centre_at_1366x768(qtbot, demo_window, tmp_path):
    """The demo's Grad-CAM on the lower left of the astronaut photo is hottest in its top left
    cell: the + marks that cell's centre (a new user saw it on the image's edge, half
    outside), drawn whole inside the overlay, clear of its title and caption; zoomed out of
    view, it is hidden."""
    path = tmp_path / "astronaut_lower_left.png"
    Image.open(shared("images", "astronaut.png")).crop((0, 200, 300, 512)).save(path)
    demo_window.resize(*LAPTOP_WINDOW)
    tab = _show(qtbot, demo_window)
    try:
        demo_window.files.open_image(str(path))
        qtbot.waitUntil(lambda: tab.result is not None and tab.result.image_rgb.shape[:2] == (312, 300),
                        timeout=WINDOW_TIMEOUT_MS)
        wait_idle(qtbot, demo_window)
        cam = tab.result.cam
        rows, cols = cam.heatmap.shape
        assert np.unravel_index(int(np.argmax(cam.heatmap)), cam.heatmap.shape) == (0, 0)
        assert cam.peak_xy(300, 312) == (int(150 / cols), int(156 / rows))  # not (0, 0)
        canvas = tab.figure_view.canvas
        canvas.draw()
        renderer = canvas.get_renderer()
        overlay = tab.figure.axes[2]
        (marker,) = overlay.lines
        box = assert_drawn_whole(marker, renderer)
        frame = overlay.get_window_extent(renderer)
        assert frame.x0 < box.x0 and box.y1 < frame.y1  # inside the image, off its edges
        overlay.set_xlim(150, 299)  # as the toolbar's zoom does: the peak leaves the view
        canvas.draw()
        clip = marker.get_clip_box()
        visible = marker.get_window_extent(renderer)
        assert visible.x1 < clip.x0  # entirely outside its clip box: not drawn
    finally:
        demo_window.files.open_image(str(demo_image_path()))
        wait_idle(qtbot, demo_window)
