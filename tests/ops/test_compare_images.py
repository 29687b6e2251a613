"""Compare images: several images side by side in the Grad-CAM tab (one class, layer, method
and colour scale), batched in the engine, through the user's path (drop, menu, buttons)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from convviz_gui.ops.compare import ImageExplanations
from convviz_gui.ops.explain import Explanation

from ..conftest import WINDOW_TIMEOUT_MS, shared, wait_idle
from ..ui.test_gui import drop


def _menu_action(window, text: str):
    for menu in window.menuBar().findChildren(type(window.menuBar().actions()[0].menu())):
        for action in menu.actions():
            if action.text().replace("&", "") == text:
                return action
    raise AssertionError(f"no menu item {text}")


@pytest.fixture()
def photos(tmp_path):
    """Two shared photos and a broken file, in a folder of the test."""
    paths = []
    for name in ("chelsea.png", "coffee.png"):
        paths.append(tmp_path / name)
        shutil.copy(shared("images", name), paths[-1])
    broken = tmp_path / "zz_broken.jpg"
    broken.write_bytes(b"not a jpeg")
    return [*paths, broken]


def _wait_images(qtbot, window, count: int) -> ImageExplanations:
    tab = window.gradcam_tab
    qtbot.waitUntil(lambda: isinstance(tab.result, ImageExplanations)
                    and len(tab.result.items) == count and tab.figure is not None,
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    return tab.result


def test_dropping_several_images_compares_them_on_one_scale(qtbot, demo_window, photos):
    window, tab = demo_window, demo_window.gradcam_tab
    wait_idle(qtbot, window)
    drop(window, *photos)
    assert window.tabs.currentWidget() is tab and tab.single_button.isVisible()
    result = _wait_images(qtbot, window, 2)
    assert [item.name for item in result.items] == ["chelsea.png", "coffee.png"]
    assert [p.endswith("zz_broken.jpg") for p, _ in result.skipped] == [True]
    assert "skipped zz_broken.jpg" in window.statusBar().currentMessage()
    # One class (the first image's top class), one layer, one method in every column.
    first_top = result.items[0].predictions[0].index
    assert {item.cam.class_index for item in result.items} == {first_top}
    assert {item.cam.layer for item in result.items} == {("conv2d_7",)}
    assert {item.cam.method for item in result.items} == {"Grad-CAM"}
    # The figure: one overlay per image plus ONE colour bar for all of them.
    images = [ax for ax in tab.figure.axes if ax.get_images()]
    bars = [child for ax in images for child in ax.child_axes]
    assert len(images) == 2 and len(bars) == 1 and "one scale" in bars[0].get_ylabel()
    assert "chelsea.png" in images[0].get_title() and "coffee.png" in images[1].get_title()
    # The class list is the first image's; clicking another class explains it in every image.
    assert tab.predictions.count() == 7
    item = tab.predictions.item(3)
    wanted = item.data(Qt.ItemDataRole.UserRole)
    tab.predictions.scrollToItem(item)
    rect = tab.predictions.visualItemRect(item)
    qtbot.mouseClick(tab.predictions.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: isinstance(tab.result, ImageExplanations)
                    and {i.cam.class_index for i in tab.result.items} == {wanted},
                    timeout=WINDOW_TIMEOUT_MS)
    assert "ranked for chelsea.png" in tab.class_filter.placeholderText()
    # The keyboard too: Down in the list explains the next class in every image.
    wait_idle(qtbot, window)
    following = tab.predictions.item(tab.predictions.currentRow() + 1)
    wanted = following.data(Qt.ItemDataRole.UserRole)
    tab.predictions.setFocus()
    qtbot.keyClick(tab.predictions, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: isinstance(tab.result, ImageExplanations)
                    and {i.cam.class_index for i in tab.result.items} == {wanted},
                    timeout=WINDOW_TIMEOUT_MS)
    # "One image" goes back to the current image alone, still explaining the chosen class.
    qtbot.mouseClick(tab.single_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(tab.result, Explanation), timeout=WINDOW_TIMEOUT_MS)
    assert not tab.single_button.isVisible() and tab.target.isEnabled()
    assert tab.result.cam.class_index == wanted
    assert tab.class_filter.placeholderText() == "Find a class…"
    wait_idle(qtbot, window)


def test_compare_images_menu_and_export(qtbot, demo_window, photos, monkeypatch, tmp_path):
    window, tab = demo_window, demo_window.gradcam_tab
    wait_idle(qtbot, window)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *args, **kwargs: ([str(p) for p in photos[:2]], ""))
    _menu_action(window, "Compare Images…").trigger()
    result = _wait_images(qtbot, window, 2)
    assert not result.skipped and window.session.image.ref.path == str(photos[0])
    out = tmp_path / "compared.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(out), ""))
    _menu_action(window, "Export Figure…").trigger()
    qtbot.waitUntil(out.exists, timeout=WINDOW_TIMEOUT_MS)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Opening one other image leaves the comparison.
    window.files.open_image(str(shared("images", "astronaut.png")))
    qtbot.waitUntil(lambda: isinstance(tab.result, Explanation), timeout=WINDOW_TIMEOUT_MS)
    assert tab.compare_paths == () and tab.images_button.text() == "Compare images…"
    wait_idle(qtbot, window)


def test_batched_explanations_equal_one_image_at_a_time(monkeypatch):
    """``ExplainImages`` (one forward/backward pass per batch for the gradient CAMs) gives
    the maps, scores and peaks of one ``Explain`` per image."""
    from convviz_gui.engine.cam.gradient import GradientCAM
    from convviz_gui.ops.base import ImageRef, ModelRef
    from convviz_gui.ops.compare import ExplainImages
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.explain import Explain, ExplainSpec
    from convviz_gui.ops.registry import run, to_json

    context = OpContext(Workspace())
    paths = [str(shared("images", name)) for name in ("astronaut.png", "chelsea.png",
                                                              "coffee.png")]
    singles = [run(Explain(ModelRef("demo"), ImageRef(path), ExplainSpec(class_=2)), context)
               for path in paths]

    def one_at_a_time(*args, **kwargs):
        raise AssertionError("a gradient CAM explains a batch in one pass, not image by image")

    monkeypatch.setattr(GradientCAM, "attribute", one_at_a_time)
    batched = run(ExplainImages(ModelRef("demo"), tuple(ImageRef(p) for p in paths),
                                ExplainSpec(class_=2)), context)
    for single, item in zip(singles, batched.items):
        assert item.cam.class_index == single.cam.class_index == 2
        np.testing.assert_allclose(item.cam.heatmap, single.cam.heatmap, atol=1e-5)
        assert item.cam.score == pytest.approx(single.cam.score, abs=1e-6)
        assert to_json(item)["peak_xy"] == to_json(single)["peak_xy"]
        assert [p.index for p in item.predictions] == [p.index for p in single.predictions]


def test_comparing_from_the_start_selects_the_explained_layer(qtbot, qapp, tmp_path, photos):
    """``convviz-gui MODEL IMAGE IMAGE``: the Grad-CAM tab is shown before the model has come;
    once it has, the tree selects the layer the comparison explains."""
    from PySide6.QtCore import QSettings

    from convviz_gui.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    try:
        window.files.open_model("demo")
        window.files.compare_images([str(path) for path in photos[:2]])
        _wait_images(qtbot, window, 2)
        qtbot.waitUntil(lambda: window.session.layer is not None
                        and window.session.layer.path == ("conv2d_7",), timeout=WINDOW_TIMEOUT_MS)
        assert window.tree.current_layer().path == ("conv2d_7",)
    finally:
        window.close()
