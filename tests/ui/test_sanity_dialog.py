"""The Sanity Check dialog through the user's path: opened from the Grad-CAM tab's button, Run
on the demo (figure, verdict, Export), and another model opened mid-job stops the job."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle


def _open_dialog(qtbot, window):
    wait_idle(qtbot, window)  # the engine started, the demo opened
    window.tabs.setCurrentWidget(window.gradcam_tab)
    tab = window.gradcam_tab
    qtbot.waitUntil(lambda: tab.predictions.count() == 7, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    qtbot.mouseClick(tab.sanity_button, Qt.MouseButton.LeftButton)
    dialog = tab.sanity_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _tiny_model_file(path) -> str:
    """A small untrained convnet saved to ``path`` (another model to open)."""
    from convviz_gui.engine.runtime import load_keras

    keras = load_keras()
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).save(path)
    return str(path)


def test_sanity_check_of_the_demo_from_the_gradcam_tab(qtbot, demo_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    dialog = _open_dialog(qtbot, demo_window)
    assert dialog.method.currentText() == "Grad-CAM" and not dialog.export_button.isEnabled()
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    assert dialog.job.progress.isVisible() and dialog.job.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, demo_window)
    result = dialog.result
    assert result.original.label == "happy" and len(result.steps) == 12 and result.passed
    figure = dialog.figure_view.figure
    texts = [" ".join(text.get_text().split()) for text in figure.texts]
    verdicts = [text for text in texts if "passed: with the top" in text]
    assert len(verdicts) == 1 and verdicts[0].startswith("Grad-CAM passed")  # once, in the figure
    status = dialog.status.text()
    assert status.startswith("Passed") and "12 randomization steps" in status
    assert "passed: with the top" not in status  # not repeated under it
    assert len([ax for ax in figure.axes if ax.images]) == 14  # image, original, 12 steps
    assert dialog.figure_view.canvas.isVisible() and dialog.export_button.isEnabled()
    path = tmp_path / "sanity.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(path.exists, timeout=WINDOW_TIMEOUT_MS)
    assert path.read_bytes()[:4] == b"\x89PNG"
    dialog.method.set_method("Saliency")
    assert dialog.request().spec.method == "Saliency" and dialog.request().spec.layer is None


def test_another_model_mid_job_stops_the_check(qtbot, demo_window, tmp_path):
    dialog = _open_dialog(qtbot, demo_window)
    dialog.method.set_method("Grad-CAM")
    other = _tiny_model_file(tmp_path / "tiny.keras")
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job.progress.value() > 0, timeout=WINDOW_TIMEOUT_MS)
    assert dialog.job.running is not None
    demo_window.files.open_model(other)
    qtbot.waitUntil(lambda: dialog.job.running is None, timeout=WINDOW_TIMEOUT_MS)
    assert dialog.job.run_button.isEnabled() and not dialog.job.progress.isVisible()
    assert dialog.result is None and dialog.figure_view.figure is None
    assert "Another model is open" in dialog.figure_view._hint.text()
    wait_idle(qtbot, demo_window)
    assert dialog.result is None  # the stopped job's result never arrives
    qtbot.mouseClick(demo_window.gradcam_tab.sanity_button, Qt.MouseButton.LeftButton)
    assert demo_window.gradcam_tab.sanity_dialog is not dialog  # a new one for the new model
    demo_window.gradcam_tab.sanity_dialog.close()
