"""The Grad-CAM tab through the user's path: score, methods, progress, metrics, compare."""

from __future__ import annotations

from .conftest import WINDOW_TIMEOUT_MS, wait_idle


def _show(qtbot, window):
    window.tabs.setCurrentWidget(window.gradcam_tab)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.gradcam_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    return window.gradcam_tab


def _choose(qtbot, combo, text: str) -> None:
    """Pick a combo item by typing its first letters, as a user does with the keyboard."""
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
