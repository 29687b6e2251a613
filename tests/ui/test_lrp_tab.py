"""The LRP methods in the Grad-CAM tab: chosen from the method list, their options shown."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle
from .test_gradcam_tab import _choose, _show


def test_lrp_alpha_beta_from_the_method_list_with_its_options(qtbot, demo_window):
    tab = _show(qtbot, demo_window)
    _choose(qtbot, tab.method, "LRP-a")
    assert tab.method.currentText() == "LRP-alpha-beta"
    assert tab.options.lrp_alpha.isVisibleTo(tab) and tab.options.lrp_beta.isVisibleTo(tab)
    assert (tab.options.lrp_alpha.value(), tab.options.lrp_beta.value()) == (2.0, 1.0)
    assert not tab.options.epsilon.isVisibleTo(tab) and not tab.layer_combo.isEnabled()
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.method == "LRP-alpha-beta",
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    cam = tab.result.cam
    assert cam.heatmap.shape == (64, 64) and cam.heatmap.max() == 1.0
    assert f"relevance {cam.relevance_sum:.3g}" in tab.figure.texts[0].get_text()
    _choose(qtbot, tab.method, "LRP-e")
    assert tab.options.epsilon.isVisibleTo(tab) and not tab.options.lrp_alpha.isVisibleTo(tab)
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.method == "LRP-epsilon",
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    _choose(qtbot, tab.method, "Grad-CAM")
    wait_idle(qtbot, demo_window)


def _canvas_pixels(tab) -> np.ndarray:
    """The canvas as painted on screen, uint8 RGB."""
    image = tab.figure_view.canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, :image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_lrp_epsilon_signed_then_positive_only_without_a_new_job(qtbot, demo_window, tmp_path,
                                                                 capsys):
    """LRP-epsilon is drawn signed (its default); the Sign box switches the drawing at once,
    the opacity still weighs the colours, and the export is the CLI's figure."""
    from convviz_gui.cli import main as cli
    from convviz_gui.engine.models import demo_image_path

    tab = _show(qtbot, demo_window)
    _choose(qtbot, tab.method, "LRP-e")
    assert tab.options.sign.isVisibleTo(tab) and tab.options.sign.currentText() == "auto (signed)"
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.method == "LRP-epsilon",
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    cam = tab.result.cam
    assert cam.sign == "signed" and cam.raw.min() < 0 < cam.raw.max()
    assert not tab.cmap.isEnabled()  # blue-white-red whatever the colormap
    bar = tab.figure.axes[1].child_axes[0]
    assert bar.get_ylabel() == f"against ← 0 → for '{cam.label}'"
    signed_pixels, signed_overlay = _canvas_pixels(tab), tab.figure.axes[2].images[0].get_array()
    tab.alpha.setValue(80)  # more opacity: the colours cover more of the grey image
    wait_idle(qtbot, demo_window)
    stronger = tab.figure.axes[2].images[0].get_array().astype(int)
    spread = [np.ptp(image.astype(int), axis=2).mean() for image in (signed_overlay, stronger)]
    assert spread[1] > 1.3 * spread[0], spread  # farther from grey
    tab.alpha.setValue(40)
    wait_idle(qtbot, demo_window)
    _choose(qtbot, tab.options.sign, "pos")
    assert not demo_window.runner.busy  # only redrawn: the map is the same
    wait_idle(qtbot, demo_window)
    assert tab.result.cam.sign == "positive" and tab.result.cam.raw is cam.raw
    assert tab.figure.axes[1].child_axes[0].get_ylabel() == "importance"
    assert tab.cmap.isEnabled()
    changed = np.abs(_canvas_pixels(tab).astype(int) - signed_pixels).max(axis=2)
    assert np.mean(changed > 40) > 0.05
    from_window, from_cli = tmp_path / "window.png", tmp_path / "cli.png"
    demo_window.exports.export_dpi = lambda: 60
    demo_window.exports.export_figure(str(from_window))
    wait_idle(qtbot, demo_window)
    assert cli(["gradcam", "demo", str(demo_image_path()), "--method", "lrp-epsilon", "--sign",
                "positive", "--out", str(from_cli), "--dpi", "60"]) == 0
    capsys.readouterr()
    assert from_window.read_bytes() == from_cli.read_bytes()
    _choose(qtbot, tab.options.sign, "sig")
    wait_idle(qtbot, demo_window)
    assert tab.result.cam.sign == "signed" and tab.figure.axes[1].child_axes[0].get_ylabel() \
        == bar.get_ylabel()
    _choose(qtbot, tab.options.sign, "auto")
    _choose(qtbot, tab.method, "Grad-CAM")
    assert not tab.options.sign.isVisibleTo(tab)
    wait_idle(qtbot, demo_window)
