"""The all-layers overview: a scrollable list of rows computed as they scroll into view."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from convviz_gui.engine.layers import spatial_layers
from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.activations import Overview, OverviewRows
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.registry import run
from convviz_gui.ui.overview_view import (
    BLANK_ROLE,
    CHUNK_ROWS,
    JOB_KIND,
    MIN_TILE,
    PENDING_TEXT,
    SHAPE_ROLE,
    TILES_ROLE,
)

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle

DEMO = (ModelRef("demo"), ImageRef(str(demo_image_path())))


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


@pytest.fixture
def requested(window, monkeypatch):
    """Every OverviewRows request the window sends, in order."""
    sent = []
    submit = window.runner.submit

    def spy(kind, request, **kwargs):
        if kind == JOB_KIND:
            sent.append(request)
        return submit(kind, request, **kwargs)

    monkeypatch.setattr(window.runner, "submit", spy)
    return sent


def requested_paths(requests) -> list[tuple[str, ...]]:
    return [path for request in requests for path in request.layers]


def chunks_covering(rows: range, layers) -> set[tuple[str, ...]]:
    """The layers of the fixed chunks that hold these rows."""
    start = rows.start // CHUNK_ROWS * CHUNK_ROWS
    stop = -(-rows.stop // CHUNK_ROWS) * CHUNK_ROWS
    return {layer.path for layer in layers[start:stop]}


def wait_for_visible_rows(qtbot, view) -> None:
    qtbot.waitUntil(lambda: len(view.visible_rows()) > 0 and all(
        view.rows.layers[row].path in view.rows.grids for row in view.visible_rows()),
        timeout=WINDOW_TIMEOUT_MS)


def click_overview_box(qtbot, tab) -> None:
    box = tab.overview
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_overview_rows_match_the_full_overview_and_the_export_figure_grows_with_rows():
    context = OpContext(Workspace())
    full = run(Overview(*DEMO), context)
    names = [name for name, _ in full.tiles]
    some = ((names[0],), (names[20],), (names[-1],))
    rows = run(OverviewRows(*DEMO, layers=some), context)
    assert [path for path, _ in rows.rows] == list(some)
    by_name = dict(full.tiles)
    for path, grid in rows.rows:
        np.testing.assert_array_equal(grid, by_name[path[0]])
    figure = figure_for(full)
    width, height = figure.get_size_inches()
    assert height >= 0.6 * len(full.tiles) > width  # a fixed row height: tall, not squeezed
    texts = {text.get_text() for text in figure.axes[0].texts}
    assert set(names) <= texts  # every layer named beside its row


def test_overview_requests_only_the_rows_on_screen(qtbot, window, requested):
    wait_idle(qtbot, window)
    tab = window.activations_tab
    window.tabs.setCurrentWidget(tab)
    layers = spatial_layers(list(window.session.model.layer_tree))
    click_overview_box(qtbot, tab)
    assert tab.overview.isChecked()
    view = tab.overview_view
    qtbot.waitUntil(view.isVisible, timeout=WINDOW_TIMEOUT_MS)
    assert not tab.figure_view.isVisible()
    assert view.rows.rowCount() == len(layers) > 30
    index = view.rows.index(0)
    assert index.data() == layers[0].display_path
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith(layers[0].display_path)
    wait_for_visible_rows(qtbot, view)
    wait_idle(qtbot, window)
    visible = view.visible_rows()
    assert 3 <= len(visible) < len(layers)
    assert set(requested_paths(requested)) == chunks_covering(visible, layers)
    last = view.rows.index(len(layers) - 1)
    assert last.data(TILES_ROLE) is None and view.rows.placeholder == PENDING_TEXT
    shape = view.rows.index(visible[0]).data(SHAPE_ROLE)
    assert shape.startswith("62x62x8") and "Conv2D" in shape  # the demo's first convolution
    tiles = index.data(TILES_ROLE)
    assert len(tiles) == 8 and tiles[0].width() == 62
    # The demo's first convolution has two blank channels for this image: outlined tiles.
    assert index.data(BLANK_ROLE) == [True, False, False, False, False, True, False, False]
    view.grab().save("/tmp/overview.png")
    # All eight tiles fit beside the name at every width (a 1366 px laptop screen included).
    for width in (1366, 1000, 1920):
        window.resize(width, 700)
        QApplication.processEvents()
        row = view.delegate.sizeHint(None, index)
        assert row.width() <= view.viewport().width() or view.delegate.tile == MIN_TILE, width
        assert MIN_TILE <= view.delegate.tile <= 64
    assert view.delegate.tile == 64 and view.delegate.name_width == 250  # wide: full size


def test_scrolling_to_the_bottom_requests_the_rest_once(qtbot, window, requested):
    view = window.activations_tab.overview_view
    layers = view.rows.layers
    bar = view.verticalScrollBar()
    while bar.value() < bar.maximum():
        bar.setValue(bar.value() + bar.pageStep())
        wait_for_visible_rows(qtbot, view)
    wait_idle(qtbot, window)
    assert set(view.rows.grids) == {layer.path for layer in layers}
    paths = requested_paths(requested)
    assert len(paths) == len(set(paths))  # no row asked for twice
    assert all(len(request.layers) <= CHUNK_ROWS for request in requested)
    view.grab().save("/tmp/overview_bottom.png")


def test_colormap_and_export_while_the_overview_is_shown(qtbot, window, tmp_path, monkeypatch):
    tab = window.activations_tab
    first = tab.overview_view.rows.index(0)
    tab.cmap.setCurrentText("gray")
    pixel = first.data(TILES_ROLE)[1].pixelColor(10, 10)
    assert pixel.red() == pixel.green() == pixel.blue()
    tab.cmap.setCurrentText("viridis")
    pixel = first.data(TILES_ROLE)[1].pixelColor(10, 10)
    assert not pixel.red() == pixel.green() == pixel.blue()
    target = tmp_path / "overview.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(target), "PNG (*.png)"))
    errors = len(window.errors_shown)
    export = next(action for action in window.findChildren(type(window.menuBar().actions()[0]))
                  if action.text().replace("&", "").startswith("Export Figure"))
    export.trigger()
    wait_idle(qtbot, window)
    assert len(window.errors_shown) == errors
    width, height = Image.open(target).size
    assert height > 3 * width  # 43 rows at a fixed row height
    assert "every layer" in tab.result.title and tab.export_stem().endswith("_overview")


def test_clicking_a_row_opens_that_layer(qtbot, window):
    tab = window.activations_tab
    view = tab.overview_view
    view.verticalScrollBar().setValue(0)
    wait_for_visible_rows(qtbot, view)
    row = 6
    layer = view.rows.layers[row]
    assert window.session.layer.path != layer.path
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(view.rows.index(row)).center())
    assert window.session.layer.path == layer.path
    assert not tab.overview.isChecked() and not view.isVisible()
    assert window.tree.current_layer().path == layer.path
    qtbot.waitUntil(lambda: tab.figure is not None and layer.name in tab.figure.axes[0].get_title(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert tab.figure_view.isVisible()


def test_overview_off_and_on_reuses_the_rows(qtbot, window, requested):
    tab = window.activations_tab
    view = tab.overview_view
    received = dict(view.rows.grids)
    click_overview_box(qtbot, tab)
    qtbot.waitUntil(view.isVisible, timeout=WINDOW_TIMEOUT_MS)
    qtbot.wait(300)  # past the scroll settle delay: a request would have been sent
    wait_idle(qtbot, window)
    assert requested == []
    assert view.rows.grids.keys() == received.keys()
    assert all(view.rows.grids[path] is grid for path, grid in received.items())


def test_xception_first_screen_without_computing_every_layer(qtbot, window, requested):
    tab = window.activations_tab
    assert tab.overview.isChecked()
    started = time.perf_counter()
    window.files.open_model("app:Xception:none")
    qtbot.waitUntil(lambda: window.session.model.name.lower().startswith("xception"),
                    timeout=WINDOW_TIMEOUT_MS * 3)
    opened = time.perf_counter()
    view = tab.overview_view
    wait_for_visible_rows(qtbot, view)
    first_screen = time.perf_counter()
    wait_idle(qtbot, window)
    layers = view.rows.layers
    assert len(layers) > 120
    assert view.rows.layers[0].path == ("block1_conv1",)
    assert set(requested_paths(requested)) == chunks_covering(view.visible_rows(), layers)
    assert len(view.rows.grids) < len(layers) // 4
    assert view.rows.index(len(layers) - 1).data(TILES_ROLE) is None
    view.grab().save("/tmp/overview_xception.png")
    print(f"Xception: model opened in {opened - started:.2f} s, first screen of rows "
          f"{first_screen - opened:.2f} s later ({len(view.rows.grids)} of {len(layers)} layers)")
