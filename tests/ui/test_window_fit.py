"""The window at 1366x768 and what it says: every model column in view, the image panel scrolls, long combo
texts are cut with "…", the metrics readout wraps, the Filters progress text says the bar's
fraction, the method options clamp typed numbers, the Compare grid's row labels stay beside
their rows, the Grad-CAM tab names what a features/regression output explains, and the
consent dialog names the code it runs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QHelpEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QScrollArea, QToolTip

from convviz_gui.ui.model_tree import COLUMNS, MIN_PANEL_WIDTH
from convviz_gui.ui.view_tab import ControlsStrip

from ..conftest import wait_idle
from ..dataset_folder import write_folder
from .test_window_state import open_demo, open_model, type_into

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def window(demo_window):
    demo_window.resize(1366, 768)
    action(demo_window, "&Reset Layout").trigger()
    return demo_window


def action(window, text: str) -> QAction:
    return next(item for item in window.findChildren(QAction) if item.text() == text)


@pytest.fixture(scope="module")
def long_names_model(tmp_path_factory, keras):
    """A 32x32 model whose layers have long names and long types (BatchNormalization,
    DepthwiseConv2D, GlobalAveragePooling2D), as MobileNetV2's."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, name="block_16_expand_convolution")(inputs)
    x = layers.BatchNormalization(name="block_16_expand_batch_normalization")(x)
    x = layers.DepthwiseConv2D(3, name="block_16_depthwise_convolution")(x)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d_of_features")(x)
    outputs = layers.Dense(3, activation="softmax", name="predictions")(x)
    path = tmp_path_factory.mktemp("models") / "long_names.keras"
    keras.Model(inputs, outputs, name="long_names").save(path)
    return path


@pytest.fixture(scope="module")
def two_heads_model(tmp_path_factory, keras):
    """A backbone's feature map and a linear (regression) head: outputs of other kinds."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    features = layers.Conv2D(3, 3, name="features")(inputs)
    head = layers.Dense(2, name="box")(layers.Flatten()(features))
    path = tmp_path_factory.mktemp("models") / "two_heads.keras"
    keras.Model(inputs, {"features": features, "box": head}, name="two_heads").save(path)
    return path


def test_every_model_column_shows_at_1366x768(qtbot, window, long_names_model):
    open_demo(qtbot, window)
    open_model(qtbot, window, long_names_model)
    wait_idle(qtbot, window)
    view = window.tree.view
    assert window.width() <= 1366 and window.tree.width() < window.tree.content_width()
    right = view.columnViewportPosition(len(COLUMNS) - 1) + view.columnWidth(len(COLUMNS) - 1)
    assert right <= view.viewport().width()  # Output shape and Params in view, no scrolling
    assert view.horizontalScrollBar().maximum() == 0
    assert all(view.columnWidth(column) >= 40 for column in range(len(COLUMNS)))
    row = window.tree._items[("block_16_depthwise_convolution",)]
    shape = row.parent().child(row.row(), 2) if row.parent() else \
        window.tree.source.item(row.row(), 2)
    assert shape.text() == "28x28x4"
    assert "DepthwiseConv2D" in row.toolTip()  # the whole type where the column cuts it
    window.tree.resize(window.tree.content_width() + 20, window.tree.height())
    QApplication.processEvents()
    hints = window.tree._natural_widths()
    assert [view.columnWidth(column) for column in range(len(COLUMNS))] == hints  # room: whole


# What the tabs may ask for: at 1366x768 the model tree (its four columns) and the image
# panel take the rest. A tab whose controls row is wider squeezes the tree until a window
# manager-less screen shows a cut Params column (the Dataset tab did, at 706 px).
TAB_WIDTH_BUDGET = 640


def test_no_tab_asks_for_more_width_than_the_tree_can_spare(window):
    widths = {window.tabs.tabText(index): window.tabs.widget(index).minimumSizeHint().width()
              for index in range(window.tabs.count())}
    assert max(widths.values()) <= TAB_WIDTH_BUDGET, widths


def dataset_width(window) -> int:
    return window.dataset_tab.minimumSizeHint().width()


def test_a_dataset_scan_never_widens_the_tab_or_the_window(qtbot, window, tmp_path):
    open_demo(qtbot, window)
    tab = window.dataset_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    before, window_width, tree_width = dataset_width(window), window.width(), window.tree.width()
    # unlabelled images (the demo's classes are not colours), in a folder with a long name
    folder = (write_folder(tmp_path / "squares", 2) / "red").rename(
        tmp_path / "a_folder_with_a_rather_long_name_for_its_label")
    type_into(qtbot, tab.folder, str(folder))
    widths = {"typed": dataset_width(window)}
    tab.job.progress_text.connect(lambda _text: widths.update(running=dataset_width(window)))
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    errors = len(window.errors_shown)
    qtbot.waitUntil(lambda: tab.scan is not None or len(window.errors_shown) > errors,
                    timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert window.errors_shown[errors:] == []
    assert tab.folder_name.text() == folder.name and tab.folder_name.toolTip() == folder.name
    widths["done"] = dataset_width(window)
    for view in range(tab.views.count()):  # the class and channel boxes shown in turn
        tab.views.setCurrentIndex(view)
        wait_idle(qtbot, window)
        widths[f"view {view}"] = dataset_width(window)
    assert "running" in widths and tab.class_combo.count() > 0
    assert set(widths.values()) == {before} and before <= TAB_WIDTH_BUDGET, (before, widths)
    assert (window.width(), window.tree.width()) == (window_width, tree_width)
    type_into(qtbot, tab.folder, str(tmp_path / "no_such_folder" / ("very_long_name_" * 6)))
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    assert "does not exist" in tab.note.text() and dataset_width(window) == before
    tab.views.setCurrentIndex(0)


def test_at_1024x700_the_model_tree_keeps_its_width_and_the_controls_scroll(qtbot, window):
    open_demo(qtbot, window)
    window.resize(921, 630)  # the first window on a 1024x700 screen: 90 % of it
    action(window, "&Reset Layout").trigger()
    wait_idle(qtbot, window)
    tree = window.tree
    assert window.width() == 921 and tree.width() >= MIN_PANEL_WIDTH
    # the Layer column shows the names whole (the other columns scroll)
    assert tree.view.columnWidth(0) >= min(tree.view.sizeHintForColumn(0),
                                           tree.view.viewport().width())
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        wait_idle(qtbot, window)
        strip = window.tabs.currentWidget().findChild(ControlsStrip)
        assert window.width() == 921 and tree.width() >= MIN_PANEL_WIDTH
        if strip is not None and strip.widget().minimumSizeHint().width() > strip.width():
            bar = strip.horizontalScrollBar()
            assert bar.isVisible() and bar.maximum() > 0  # every control can be reached
            rows = strip.widget().minimumSizeHint().height()
            assert strip.viewport().height() >= rows  # the bar is below the rows, not over them
    window.resize(1366, 768)
    action(window, "&Reset Layout").trigger()
    window.tabs.setCurrentIndex(0)
    wait_idle(qtbot, window)


def test_a_wrapped_line_of_controls_shows_all_its_lines(qtbot, window):
    """The Activations tab's line under its controls wraps in a narrow tab: the controls'
    strip grows to show every line (it was cut after "Click")."""
    open_demo(qtbot, window)
    window.tabs.setCurrentIndex(0)
    wait_idle(qtbot, window)
    tab = window.tabs.currentWidget()
    strip = tab.findChild(ControlsStrip)
    for width in (1366, 1024):
        window.resize(width, 700)
        wait_idle(qtbot, window)
        qtbot.waitUntil(lambda: tab.info.text().startswith("8 channels"), timeout=TIMEOUT)
        label = tab.info
        assert label.height() >= label.heightForWidth(label.width())
        bottom = label.mapTo(strip.viewport(), label.rect().bottomLeft()).y()
        assert bottom < strip.viewport().height()  # inside the strip, not cut by it
    window.resize(1366, 768)
    wait_idle(qtbot, window)


def test_the_image_panel_scrolls_to_long_model_notes(qtbot, window):
    open_demo(qtbot, window)
    panel = window.image_panel
    area = panel.parentWidget().parentWidget()
    assert isinstance(area, QScrollArea) and area.widget() is panel
    model = window.session.model
    notes = tuple(f"Note {number}: the model computes in mixed precision; ConvViz runs it in "
                  "float32 so scores and gradients are exact." for number in range(8))
    panel.set_model(replace(model, notes=notes), window.session.preset, False)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # the notes are taller than the dock
    assert area.horizontalScrollBar().maximum() == 0
    bar.setValue(bar.maximum())
    QApplication.processEvents()
    bottom = panel.model_info.mapTo(area.viewport(), QPoint(0, panel.model_info.height()))
    assert bottom.y() <= area.viewport().height()  # the last note can be read
    panel.set_model(model, window.session.preset, model.preset_guessed)


def test_a_long_preprocessing_name_is_cut_with_an_ellipsis_and_whole_on_hover(qtbot, window):
    open_demo(qtbot, window)
    combo = window.image_panel.preset_combo
    combo.setCurrentIndex(combo.findData("caffe"))
    whole = combo.currentText()
    assert whole.startswith("caffe (BGR") and combo.elided_text().endswith("…")
    assert len(combo.elided_text()) < len(whole)
    center = combo.rect().center()
    QApplication.sendEvent(combo, QHelpEvent(QHelpEvent.Type.ToolTip, center,
                                             combo.mapToGlobal(center)))
    assert QToolTip.text().startswith(whole)
    combo.setCurrentIndex(combo.findData(window.session.preset))


def test_the_metrics_readout_wraps_instead_of_being_cut(qtbot, window):
    open_demo(qtbot, window)
    tab = window.gradcam_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    if not tab.metrics.isChecked():
        qtbot.mouseClick(tab.metrics, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.metrics is not None,
                    timeout=TIMEOUT)
    wait_idle(qtbot, window)
    row = tab.metrics_row
    assert row.isVisible() and row.minimumSizeHint().width() < 300  # never pushes the canvas
    for width in (row.width(), 280):
        row.resize(width, row.heightForWidth(width) if row.hasHeightForWidth() else row.height())
        row.layout().activate()
        for label in tab.metric_labels.values():
            assert label.heightForWidth(label.width()) <= label.height() + 1  # no line cut
            assert label.geometry().right() <= row.width()
    qtbot.mouseClick(tab.metrics, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)


def test_the_filters_progress_text_says_the_bars_fraction(qtbot, window):
    open_demo(qtbot, window)
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    tab.advanced_button.setChecked(True)
    type_into(qtbot, tab.steps, "6")
    qtbot.keyClick(tab.steps, Qt.Key.Key_Return)
    type_into(qtbot, tab.range_edit, "0-5")
    said: list[tuple[str, str]] = []
    tab.status.connect(lambda text: said.append((text, tab.job.progress.text())))
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.job.running is None, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    steps = [(text, bar) for text, bar in said if text.startswith("Filters ") and "step" in text]
    assert len(steps) >= 6
    for text, bar in steps:  # "Filters 15%: filters 1-2 of 6, step 4/6" beside "15%"
        assert text.split(":")[0] == f"Filters {bar}", (text, bar)
        assert " of 6, step " in text
    assert steps[-1][0].startswith("Filters 100%")
    type_into(qtbot, tab.steps, str(tab.steps.maximum()))
    tab.advanced_button.setChecked(False)


@pytest.mark.parametrize(("method", "option", "typed", "bound"), [
    ("Score-CAM", "top_n", "99999", "4096"), ("SmoothGrad", "noise", "5", "1.00"),
    ("Integrated Gradients", "steps", "-7", "2"), ("Occlusion", "patch", "123456", "1024")])
def test_method_options_clamp_a_typed_number_and_say_so(qtbot, window, method, option, typed,
                                                       bound):
    open_demo(qtbot, window)
    tab = window.gradcam_tab
    window.tabs.setCurrentWidget(tab)
    tab.method.set_method(method)
    box = getattr(tab.options, option)
    assert box.isVisible()
    type_into(qtbot, box, typed)
    assert box.lineEdit().text() == typed  # every character stays while typing
    with qtbot.waitSignal(box.clamped) as said:  # the window's status bar shows it
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.text() == bound
    sentence = said.args[0]
    assert sentence.startswith(f"{box.name} is at ") and f"{typed} became {bound}" in sentence
    tab.method.set_method("Grad-CAM")
    wait_idle(qtbot, window)


def test_compare_row_labels_stay_beside_their_rows(qtbot, window):
    open_demo(qtbot, window)
    tab = window.gradcam_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    qtbot.mouseClick(tab.compare_button, Qt.MouseButton.LeftButton)
    dialog = tab.compare_dialog
    assert (dialog.width(), dialog.height()) == (1000, 720)
    for row in range(dialog.methods.count()):
        item = dialog.methods.item(row)
        wanted = item.text() in ("Grad-CAM", "Integrated Gradients", "SmoothGrad")
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    type_into(qtbot, dialog.classes, "happy, sad")
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    figure = dialog.figure_view.canvas.figure
    renderer = dialog.figure_view.canvas.get_renderer()
    figure.draw(renderer)
    grid = [ax for ax in figure.axes if ax.get_subplotspec() is not None]
    rows = sorted({ax.get_subplotspec().rowspan.start for ax in grid})
    assert len(rows) == 3
    first = {ax.get_subplotspec().rowspan.start: ax for ax in grid
             if ax.get_subplotspec().colspan.start == 0}
    assert first[2].get_ylabel() == "Integrated\nGradients"
    for row, ax in first.items():
        label = ax.yaxis.label.get_window_extent(renderer)
        assert label.y0 >= 0 and label.y1 <= figure.bbox.height  # not cut at the edge
        if row > 0:  # below the row above, its metrics line included
            above = first[row - 1].get_tightbbox(renderer)
            assert label.y1 <= above.y0 + 1, (row, label, above)
    dialog.close()


def test_features_and_regression_outputs_are_not_called_classes(qtbot, window, two_heads_model):
    open_model(qtbot, window, two_heads_model)
    tab = window.gradcam_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    assert window.session.model.output_kind == "features"
    assert tab.class_filter.placeholderText() == "Find a channel…"
    assert [tab.target.itemText(i) for i in range(tab.target.count())] == [
        "the channel", "against the channel"]
    panel = window.image_panel
    panel.output_combo.setCurrentIndex(panel.output_combo.findData("box"))
    panel.output_combo.activated.emit(panel.output_combo.currentIndex())
    qtbot.waitUntil(lambda: window.session.model.output_kind == "regression", timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert tab.class_filter.placeholderText() == "Find an output…"
    assert tab.target.itemText(0) == "the output" and "output" in tab.target.toolTip()
    open_demo(qtbot, window)
    assert tab.class_filter.placeholderText() == "Find a class…"
    assert tab.target.itemText(0) == "the class"


def test_the_consent_dialog_names_the_code_it_runs(qtbot, window, long_names_model, tmp_path,
                                                   monkeypatch):
    open_model(qtbot, window, long_names_model)
    code = tmp_path / "custom_layers.py"
    code.write_text("RAN = True\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *_args: ([str(code)], ""))
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *_args:
                        (asked.append(text), QMessageBox.StandardButton.No)[1])
    action(window, "Load Model &Code…").trigger()
    assert len(asked) == 1
    assert str(code.resolve()) in asked[0] and "The code that will run" in asked[0]
    assert f"File: {long_names_model}" not in asked[0]
    assert window.session.model.ref.code == ()  # No: nothing imported
    open_demo(qtbot, window)
