"""The Dataset tab (issue 24) through the user's path: File > Analyze Dataset… on a model
trained in the test and a generated labelled folder; a click on a matrix cell lists its
images, a click on a mistake explains it in the Grad-CAM tab; Cancel; another model stops
the scan and clears it; the folder is remembered; the channels' top images beside a channel."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from convviz_gui.figures.dataset import CLASS_TABLE_HEADERS, LABEL_CHARS, MistakesView
from convviz_gui.figures.registry import figure_for
from convviz_gui.figures.text import shorten
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ui.dataset_tab import VIEWS

from ..conftest import LAPTOP_WINDOW, WINDOW_TIMEOUT_MS, wait_idle
from ..dataset_folder import CLASSES, train_model, write_folder
from ..whole_marker import assert_drawn_whole
from .test_window_paths import action

PER_CLASS, WRONG = 8, 2
LARGE_PER_CLASS = 300  # 900 files: shards of 256 (8 batches of 32 at 32x32)


@pytest.fixture(scope="module")
def data(tmp_path_factory, keras):
    """The trained model file, a small labelled folder (with confident mistakes) and a
    large one (long enough to cancel)."""
    root = tmp_path_factory.mktemp("dataset")
    return {"model": train_model(root / "squares3.keras"),
            "small": write_folder(root / "small", PER_CLASS, WRONG),
            "large": write_folder(root / "large", LARGE_PER_CLASS, seed=50),
            "flat": write_folder(root / "flat", 3, seed=70) / "red"}


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory, data):
    """A window with the trained model open; the scans' cache in a temporary folder."""
    from convviz_gui.ui.main_window import MainWindow

    cache = tmp_path_factory.mktemp("cache")
    old_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)  # the engine process is started after this
    settings = QSettings(str(tmp_path_factory.mktemp("settings") / "s.ini"),
                         QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.show()
    win.files.open_model(str(data["model"]))
    yield win
    if win.isVisible():
        win.close()
    if old_cache is None:
        os.environ.pop("XDG_CACHE_HOME")
    else:
        os.environ["XDG_CACHE_HOME"] = old_cache


def wait_model(qtbot, window, spec: str) -> None:
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.ref.spec == spec,
                    timeout=WINDOW_TIMEOUT_MS)


def click_axes(qtbot, tab, axes, xy) -> None:
    """A left click on the canvas at data point ``xy`` of ``axes``."""
    canvas = tab.figure_view.canvas
    x, y = axes.transData.transform(xy) / canvas.device_pixel_ratio
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(canvas.height() - y)))


def axes_labelled(figure, prefix: str):
    return [ax for ax in figure.axes if ax.get_label().startswith(prefix)]


def test_analyze_dataset_shows_the_mistakes_and_explains_one(qtbot, window, data, monkeypatch):
    wait_model(qtbot, window, str(data["model"]))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(data["small"]))
    action(window, "Analyze Dataset").trigger()
    tab = window.dataset_tab
    assert window.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.scan is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    scan = tab.scan
    assert scan.classes == CLASSES and scan.images == PER_CLASS * len(CLASSES)
    assert scan.confusion.sum(axis=1).tolist() == [PER_CLASS] * len(CLASSES)  # the folders
    accuracy = np.trace(scan.confusion) / scan.confusion.sum()
    assert scan.accuracy == pytest.approx(accuracy)
    assert f"accuracy {accuracy:.1%}" in tab.figure._suptitle.get_text()
    matrix = axes_labelled(tab.figure, "confusion")[0]
    shown = [int(text.get_text()) for text in matrix.texts]
    assert sorted(shown) == sorted(int(value) for value in scan.confusion.ravel() if value)

    first = scan.mistakes[0]  # the most confident mistake's cell
    click_axes(qtbot, tab, matrix, (first.predicted, first.true))
    wait_idle(qtbot, window)
    assert tab.cell == (first.true, first.predicted)
    listed = [tab.cell_list.item(row).text() for row in range(tab.cell_list.count())]
    expected = [item.image for item in scan.mistakes if (item.true, item.predicted) == tab.cell]
    assert sorted(listed) == sorted(expected) and len(listed) == scan.confusion[tab.cell]
    assert all(image.startswith(f"{CLASSES[first.true]}/") for image in listed)

    thumbnail = axes_labelled(tab.figure, "explain|")[0]
    click_axes(qtbot, tab, thumbnail, (2, 2))
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.gradcam_tab, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.session.image.ref.path == scan.path(first.image)
    assert window.gradcam_tab.result.cam.class_index == first.predicted


def assert_table_readable(table, renderer, points: float = 7.0) -> None:
    """The Per class table's headers apart, every text inside its cell, at ``points`` or more."""
    headers = [table[0, column] for column in range(len(CLASS_TABLE_HEADERS))]
    assert tuple(cell.get_text().get_text() for cell in headers) == CLASS_TABLE_HEADERS
    boxes = [cell.get_text().get_window_extent(renderer) for cell in headers]
    for index, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[index + 1:])
    for (row, column), cell in table.get_celld().items():
        text, frame = cell.get_text().get_window_extent(renderer), cell.get_window_extent(renderer)
        assert frame.x0 <= text.x0 and text.x1 <= frame.x1, (row, column, cell.get_text().get_text())
    assert headers[0].get_fontsize() >= points


@pytest.mark.parametrize("size", [LAPTOP_WINDOW, (1728, 972)])  # 1366x768, 1920x1080
def test_the_per_class_table_is_readable_in_the_window(qtbot, window, size):
    tab = window.dataset_tab
    window.tabs.setCurrentWidget(tab)
    tab.views.setCurrentIndex(VIEWS.index("Mistakes"))
    window.resize(*size)
    wait_idle(qtbot, window)
    canvas = tab.figure_view.canvas
    canvas.draw()
    (table,) = [table for ax in tab.figure.axes for table in ax.tables]
    assert_table_readable(table, canvas.get_renderer())


@pytest.mark.parametrize(("width", "height", "points"), [(706, 362, 7.0), (1300, 700, 8.0),
                                                        (500, 330, 4.0)])
def test_the_per_class_table_fits_long_class_names(window, width, height, points):
    """The canvas of the Mistakes view in a real 1366x768 window (706x362), a large one and a
    small one (the font shrinks there); class names as long as the table shows them."""
    scan = window.dataset_tab.scan
    long_names = tuple(f"{name}_of_a_long_name" for name in scan.classes)
    figure = figure_for(MistakesView(dataclasses.replace(scan, classes=long_names)), FigureStyle())
    figure.set_size_inches(width / 100, height / 100)
    figure.set_dpi(100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (table,) = [table for ax in figure.axes for table in ax.tables]
    assert table[1, 0].get_text().get_text() == shorten(long_names[0], LABEL_CHARS)  # 12 characters
    assert_table_readable(table, renderer, points)
    strip = axes_labelled(figure, "explain|")[0]  # the first mistake, its row named beside it
    label = strip.yaxis.label.get_window_extent(renderer)
    assert strip.get_ylabel() == "mistakes (click)"
    assert width < 700 or (label.x0 >= 0 and label.y0 >= 0)  # whole from 1366x768 up


def test_each_view_is_exported_as_shown(qtbot, window, tmp_path):
    tab = window.dataset_tab
    window.tabs.setCurrentWidget(tab)
    for index, view in enumerate(("mistakes", "strategies", "channels")):
        tab.views.setCurrentIndex(index)
        wait_idle(qtbot, window)
        assert type(tab.result).__name__.lower().startswith(view[:7])
        path = tmp_path / f"{view}.png"
        window.exports.export_figure(str(path))
        qtbot.waitUntil(path.exists, timeout=WINDOW_TIMEOUT_MS)
        assert path.stat().st_size > 10_000
    tab.views.setCurrentIndex(0)


def test_the_channels_view_gives_the_receptive_field_and_marks_each_maximum_in_full(qtbot, window):
    from convviz_gui.figures.text import receptive_field_phrase

    tab = window.dataset_tab
    window.tabs.setCurrentWidget(tab)
    tab.views.setCurrentIndex(VIEWS.index("Channels"))
    wait_idle(qtbot, window)
    scan = tab.scan
    field, (width, height) = scan.channels.receptive_field, scan.input_size
    assert field[0] < width and field[1] < height  # 8 px on 32: no "larger than the input"
    title = " ".join(tab.figure._suptitle.get_text().split())
    assert f"maximum (+); receptive field {field[0]} px" in title and "larger" not in title
    markers = [(ax, line) for ax in tab.figure.axes for line in ax.lines if line.get_marker() == "+"]
    assert len(markers) == len(scan.channels.top[tab.channel.value()]) > 0
    renderer = tab.figure_view.canvas.get_renderer()
    for ax, line in markers:  # inside its crop, drawn whole even at the crop's edge
        (x,), (y,) = line.get_xdata(), line.get_ydata()
        (left, right), (top, bottom) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        assert left <= x <= right and top <= y <= bottom
        assert_drawn_whole(line, renderer)  # clear of the crop's title and file name too
    assert receptive_field_phrase(field, scan.input_size) == f"receptive field {field[0]} px"
    tab.views.setCurrentIndex(0)


def test_a_clicked_channel_shows_its_top_images_in_the_activations_tab(qtbot, window):
    scan = window.dataset_tab.scan  # the scan of the test above; an image of it is open
    assert scan is not None and window.session.image is not None
    layer = scan.channels.layer
    window.tree.select_path(tuple(layer.split("/")))
    window.tabs.setCurrentWidget(window.activations_tab)
    wait_idle(qtbot, window)
    channel = int(np.argmax([tops[0].value for tops in scan.channels.top]))
    tab = window.activations_tab
    side = tab.result.activations.values.shape[0]  # square tiles with 1-px gaps
    columns = (tab.figure.axes[0].images[0].get_array().shape[1] + 1) // (side + 1)
    row, column = divmod(channel, columns)
    click_axes(qtbot, tab, tab.figure.axes[0],
               (column * (side + 1) + side / 2, row * (side + 1) + side / 2))
    qtbot.waitUntil(lambda: bool(tab.findChildren(QDialog)), timeout=WINDOW_TIMEOUT_MS)
    dialog = tab.findChildren(QDialog)[-1]
    strip = dialog.findChild(type(window.filters_tab.strip))
    assert strip is not None and strip.isVisible() and strip.shown == (layer, channel)
    assert strip.values == [f"{top.value:.3g}" for top in scan.channels.top[channel]]
    dialog.close()


def test_a_clicked_pattern_shows_its_top_images_in_the_filters_tab(qtbot, window):
    scan = window.dataset_tab.scan
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)  # the tree still selects the ranked layer
    tab.range_edit.setText("0-1")
    tab.steps.setValue(3)
    tab.job.run_button.click()
    qtbot.waitUntil(lambda: tab.last_result is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert tab.strip.isVisible() and tab.strip.shown == (scan.channels.layer, 0)
    side = tab.last_result.patterns[0].shape[1]
    click_axes(qtbot, tab, tab.figure.axes[0], (side + 5 + side / 2, side / 2))  # the second
    assert tab.strip.shown == (scan.channels.layer, 1)
    assert tab.strip.values == [f"{top.value:.3g}" for top in scan.channels.top[1]]


def start_large_scan(qtbot, window, data):
    tab = window.dataset_tab
    window.tabs.setCurrentWidget(tab)
    tab.folder.setText(str(data["large"]))
    tab.job.run_button.click()
    qtbot.waitUntil(lambda: tab.job.progress.value() > 0, timeout=WINDOW_TIMEOUT_MS)
    assert f"/{3 * LARGE_PER_CLASS} files" in tab.job.progress.format()
    return tab


def files_done(tab) -> int:
    """The files done that the progress bar says."""
    return int(tab.job.progress.format().split("/")[0])


def cancel(qtbot, window, tab) -> None:
    tab.job.cancel_button.click()
    qtbot.waitUntil(lambda: window.runner.running("dataset") is None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert tab.scan is None and tab.result is None
    assert "Cancelled" in tab.figure_view._hint.text() and tab.job.run_button.isEnabled()


def test_cancel_stops_the_scan_and_run_resumes_it(qtbot, window, data):
    from convviz_gui.ops.dataset import SHARD_BATCHES

    shard = SHARD_BATCHES * 32  # the batch size of a 32x32 RGB model
    tab = start_large_scan(qtbot, window, data)
    qtbot.waitUntil(lambda: files_done(tab) > shard, timeout=WINDOW_TIMEOUT_MS)  # one shard kept
    cancel(qtbot, window, tab)
    tab.job.run_button.click()
    qtbot.waitUntil(lambda: "resumed" in tab.job.progress.format(), timeout=WINDOW_TIMEOUT_MS)
    assert f"resumed {shard} from the cache" in tab.job.progress.format()
    cancel(qtbot, window, tab)


def test_an_unlabelled_folder_shows_the_predicted_counts(qtbot, window, data):
    tab = window.dataset_tab
    tab.analyze(str(data["flat"]))
    qtbot.waitUntil(lambda: tab.scan is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert not tab.scan.labelled and tab.scan.accuracy is None
    assert "unlabelled" in tab.figure._suptitle.get_text()
    bars = tab.figure.axes[0]
    assert "No confusion matrix" in bars.get_title() and not axes_labelled(tab.figure, "confusion")
    assert sorted(patch.get_width() for patch in bars.patches) == sorted(
        count for count in tab.scan.predicted_counts if count)


def test_a_folder_that_does_not_exist_is_said_beside_it(qtbot, window, tmp_path):
    tab, errors = window.dataset_tab, len(window.errors_shown)
    scan = tab.scan
    tab.folder.setText(str(tmp_path / "nowhere"))
    tab.job.run_button.click()
    assert "does not exist" in tab.note.text() and len(window.errors_shown) == errors
    assert window.runner.running("dataset") is None and tab.scan is scan  # the scan stays


def test_another_model_stops_the_scan_and_clears_it(qtbot, window, data):
    tab = start_large_scan(qtbot, window, data)
    window.files.open_model("demo")
    wait_model(qtbot, window, "demo")
    assert window.runner.running("dataset") is None
    wait_idle(qtbot, window)
    assert tab.scan is None and tab.result is None and window.session.dataset is None
    assert tab.layer_combo.currentText() == "conv2d_7" and tab.job.run_button.isEnabled()


def test_the_folder_is_remembered_in_a_new_window(qtbot, window, data):
    from convviz_gui.ui.main_window import MainWindow

    window.close()  # saves the settings
    again = MainWindow(window.settings)
    try:
        assert again.dataset_tab.folder.text() == str(data["large"])
        assert again.dataset_tab.folder_name.text() == "large"
    finally:
        again.close()
