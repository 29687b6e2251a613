"""The window as a new user meets it: fits a laptop, loading states, never a stale view,
every class reachable, tooltips everywhere."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QScrollBar,
    QTabBar,
)

from convviz_gui.engine.models import demo_image_path

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle

MAX_MIN_WIDTH, MAX_MIN_HEIGHT = 1024, 640


@pytest.fixture
def window(qapp, tmp_path):
    from convviz_gui.ui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    yield win
    win.close()


def _open(qtbot, window, spec: str) -> None:
    window.files.open_model(spec)
    qtbot.waitUntil(lambda: window.session.model is not None
                    and window.session.model.ref.spec == spec, timeout=WINDOW_TIMEOUT_MS)


def test_loading_states_before_anything_is_open(qtbot, window):
    window.files.open_model("demo")
    window.files.open_image(str(demo_image_path()))
    # Immediately: the panels say what is loading, the tabs say they are busy.
    assert window.image_panel.thumbnail.text() == "Loading the image…"
    assert window.image_panel.model_info.text() == "Loading the model…"
    assert not window.image_panel.preset_combo.isEnabled()  # no preset before a model
    for tab in (window.activations_tab, window.filters_tab, window.gradcam_tab):
        assert tab.figure_view.pending and "Loading the demo model" in tab.figure_view._hint.text()
    qtbot.waitUntil(lambda: window.activations_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    assert window.image_panel.preset_combo.isEnabled()
    assert window.image_panel.preset_combo.currentData() == "symmetric"


@pytest.mark.parametrize("spec", ["demo", "app:Xception:none", "app:MobileNetV2:none"])
def test_minimum_size_fits_a_laptop_on_every_tab(qtbot, window, spec):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, spec)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        wait_idle(qtbot, window)
        hint = window.minimumSizeHint()
        assert hint.width() <= MAX_MIN_WIDTH and hint.height() <= MAX_MIN_HEIGHT, \
            (window.tabs.tabText(index), hint.toTuple())


def test_panels_hide_from_the_view_menu_and_reset_layout_restores_them(qtbot, window):
    model_dock, image_dock = window._docks
    toggles = {action.text(): action for action in window.menuBar().actions()[3].menu().actions()}
    assert window.menuBar().actions()[3].text() == "&View"
    toggles["Image Panel"].trigger()
    assert image_dock.isHidden()
    toggles["Model Panel"].trigger()
    assert model_dock.isHidden()
    toggles["&Reset Layout"].trigger()
    assert not image_dock.isHidden() and not model_dock.isHidden()
    toggles["Filters"].trigger()  # Ctrl+2
    assert window.tabs.currentWidget() is window.filters_tab


def test_never_a_stale_figure_while_a_layer_is_computing(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    tab = window.activations_tab
    qtbot.waitUntil(lambda: tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    for layer in ("conv2d_3", "separable_conv2d_4", "conv2d_6"):
        window.tree.select_path((layer,))
        assert tab.figure is None and tab.figure_view.pending  # says it computes, no old figure
        assert layer in tab.figure_view._hint.text()
        qtbot.waitUntil(lambda: tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
        assert layer in tab.figure.axes[0].get_title()


def test_the_tile_under_the_mouse_is_named(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    tab = window.activations_tab
    window.tree.select_path(("separable_conv2d_1",))  # 60x60, 16 channels
    qtbot.waitUntil(lambda: tab.figure is not None
                    and "separable_conv2d_1" in tab.figure.axes[0].get_title(), timeout=WINDOW_TIMEOUT_MS)
    ax = tab.figure.axes[0]
    assert ax.format_coord(61 * 3 + 10, 20).startswith("channel 3   (20, 10) = ")
    assert ax.format_coord(60.2, 5) == ""  # the gap between two tiles


def test_target_layer_box_and_tree_stay_in_sync(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    cam = window.gradcam_tab
    window.tabs.setCurrentWidget(cam)
    qtbot.waitUntil(lambda: cam.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    assert window.tree.current_layer().name == "conv2d_7"  # the tree shows what is explained
    index = cam.layer_combo.findText("conv2d_5")
    cam.layer_combo.setCurrentIndex(index)
    cam.layer_combo.activated.emit(index)  # what a pick in the combo's popup sends
    qtbot.waitUntil(lambda: cam.figure is not None and "conv2d_5" in cam.figure.texts[0].get_text(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert window.tree.current_layer().name == "conv2d_5"
    window.tree.select_path(("separable_conv2d_6",))
    qtbot.waitUntil(lambda: cam.figure is not None
                    and "separable_conv2d_6" in cam.figure.texts[0].get_text(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert cam.layer_combo.currentText() == "separable_conv2d_6"


def test_every_class_can_be_found_and_explained(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    cam = window.gradcam_tab
    window.tabs.setCurrentWidget(cam)
    qtbot.waitUntil(lambda: cam.predictions.count() == 7, timeout=WINDOW_TIMEOUT_MS)
    scores = [float(cam.predictions.item(row).text().split()[-1]) for row in range(7)]
    assert scores == sorted(scores, reverse=True)  # top first, then the rest
    qtbot.keyClicks(cam.class_filter, "surp")
    visible = [cam.predictions.item(row).text() for row in range(7)
               if not cam.predictions.item(row).isHidden()]
    assert len(visible) == 1 and visible[0].startswith("surprise")
    qtbot.keyClick(cam.class_filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: cam.figure is not None and "'surprise'" in cam.figure.texts[0].get_text(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert cam.result.cam.label == "surprise"


def test_non_spatial_layer_is_said_inline_and_keeps_the_window_calm(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    tab = window.activations_tab
    qtbot.waitUntil(lambda: tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    flat = next(node for node in window.session.model.layer_tree if not node.spatial
                and node.class_name != "InputLayer")
    window.tree.select_path(flat.path)
    assert "no spatial output" in tab.figure_view._hint.text()
    assert window.errors_shown == []


def test_tree_columns_fit_their_content_and_names_have_tooltips(qtbot, window):
    _open(qtbot, window, "app:MobileNetV2:none")
    view = window.tree.view
    metrics = view.fontMetrics()
    longest = max((node.name for node in window.session.model.layer_tree), key=len)
    whole = view.columnWidth(0) >= metrics.horizontalAdvance(longest)
    assert whole or view.columnWidth(0) >= 90  # a narrow panel: names give way (middle cut)
    # (all four columns in view at 1366x768: tests/ui/test_window_fit.py)
    assert view.columnWidth(2) >= metrics.horizontalAdvance("112x112x32")
    item = window.tree._items[("block_16_project_BN",)]
    assert "block_16_project_BN" in item.toolTip() and "output" in item.toolTip()


LONG_NAME = "block_3_depthwise_separable_convolution_with_a_very_long_name_indeed"


def test_a_long_layer_name_is_whole_in_its_tooltip_and_its_column_widens(qtbot, window, tmp_path):
    from PySide6.QtCore import QPoint

    from convviz_gui.engine.runtime import load_keras

    keras = load_keras()
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name=LONG_NAME)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    keras.Model(inputs, outputs).save(tmp_path / "long.keras")
    _open(qtbot, window, str(tmp_path / "long.keras"))
    tree, view = window.tree, window.tree.view
    header = view.header()
    natural = view.sizeHintForColumn(0)
    assert view.columnWidth(0) < natural  # elided in the panel
    assert tree._items[(LONG_NAME,)].toolTip().splitlines()[0] == LONG_NAME  # whole here
    assert "Drag" in tree.source.horizontalHeaderItem(0).toolTip()
    edge = QPoint(header.sectionViewportPosition(0) + header.sectionSize(0) - 1, header.height() // 2)
    qtbot.mouseDClick(header.viewport(), Qt.MouseButton.LeftButton, pos=edge)  # fit the names
    assert view.columnWidth(0) >= natural
    window.resize(window.width() - 40, window.height())  # the panel refits its columns
    qtbot.wait(50)
    tree._fit_columns()
    assert view.columnWidth(0) >= natural  # the user's width is kept (the view scrolls)
    _open(qtbot, window, "demo")  # another model: fitted afresh
    assert view.columnWidth(0) < natural


def test_every_control_explains_itself(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    missing = []
    for widget in (window.activations_tab, window.filters_tab, window.gradcam_tab,
                   window.dataset_tab, window.image_panel, window.tree):
        for kind in (QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractSlider, QLineEdit):
            for control in widget.findChildren(kind):
                parent = control.parent()
                if isinstance(control, QScrollBar) or isinstance(
                        parent, (QAbstractSpinBox, QComboBox, QLineEdit, QTabBar)) or \
                        type(parent).__name__.startswith("NavigationToolbar"):
                    continue  # scroll bars, parts of a composite control, matplotlib's toolbar
                if not control.toolTip():
                    missing.append(f"{type(widget).__name__}: {type(control).__name__} "
                                   f"{control.objectName() or getattr(control, 'text', lambda: '')()}")
    assert missing == [], "\n".join(missing)


def test_default_filter_range_fits_the_layer_and_runs(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    assert window.session.layer.name == "conv2d_1" and tab.range_edit.text() == "0-7"  # 8 filters
    tab.steps.setValue(2)
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.last_result is not None, timeout=WINDOW_TIMEOUT_MS)
    assert sorted(tab.last_result.patterns) == list(range(8)) and tab.range_note.text() == ""
    window.tree.select_path(("separable_conv2d_5",))  # 64 filters: the range stays as typed
    assert tab.range_edit.text() == "0-7"
    window.tabs.setCurrentWidget(window.activations_tab)
    qtbot.waitUntil(lambda: window.activations_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    window.tabs.setCurrentWidget(tab)  # each tab shows its own last word in the status bar
    assert "filters" in window.statusBar().currentMessage().lower()
    tab.steps.setValue(30)


def test_filter_progress_bar_only_while_running(qtbot, window):
    window.files.open_image(str(demo_image_path()))
    _open(qtbot, window, "demo")
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.job.progress.isHidden()  # not an empty box before the first run
    window.tree.select_path(("separable_conv2d_5",))
    tab.range_edit.setText("0-31")
    tab.steps.setValue(200)
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    assert tab.job.progress.isVisible()
    qtbot.waitUntil(lambda: tab.figure_view.showing_preview, timeout=WINDOW_TIMEOUT_MS)
    preview = tab.figure_view._hint.pixmap()
    room = tab.figure_view._hint.contentsRect()
    assert preview.width() <= room.width() and preview.height() <= room.height()  # nothing cut
    qtbot.mouseClick(tab.job.cancel_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert tab.job.progress.isHidden() and tab.last_result.cancelled  # not stuck at 15 %
    tab.steps.setValue(30)


def test_catalog_dialog_says_whether_weights_are_cached(qtbot, window, tmp_path, monkeypatch):
    from convviz_gui.ui.dialogs import CatalogDialog

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    dialog = CatalogDialog(window)
    dialog.names.setCurrentText("MobileNetV2")
    assert "not cached yet" in dialog.weights_note.text() and "14 MB" in dialog.weights_note.text()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5").write_bytes(b"x")
    dialog.names.setCurrentText("Xception")
    dialog.names.setCurrentText("MobileNetV2")
    assert "already cached" in dialog.weights_note.text()
    dialog.deleteLater()
