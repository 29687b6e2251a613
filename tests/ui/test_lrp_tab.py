"""The LRP methods in the Grad-CAM tab: chosen from the method list, their options shown."""

from __future__ import annotations

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
