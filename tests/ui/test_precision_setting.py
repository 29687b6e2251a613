"""Edit > Precision: chosen through the menu, sent with the next job, remembered by a new
window, reported in the About box and the status bar."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction

from convviz_gui.engine.cam import predict
from convviz_gui.engine.images import load_image
from convviz_gui.engine.models import demo_image_path
from convviz_gui.engine.precision import resolve, using
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.model import Predict
from convviz_gui.ui.dialogs import about_text
from convviz_gui.ui.main_window import MainWindow

TIMEOUT = 120_000


def precision_actions(window) -> dict[str, QAction]:
    """The Edit > Precision entries by their text (without the accelerator)."""
    edit = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Edit")
    submenu = next(action.menu() for action in edit.actions() if action.text() == "&Precision")
    return {action.text().replace("&", ""): action for action in submenu.actions()}


def top_score(qtbot, window) -> float:
    """The demo's top probability on its photo, computed by the window's engine."""
    found = []
    window.runner.submit("precision-test", Predict(ModelRef("demo"), ImageRef(str(demo_image_path())),
                                                   None, 1), on_result=found.append)
    qtbot.waitUntil(lambda: bool(found), timeout=TIMEOUT)
    return found[0].predictions[0].score


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


def test_the_precision_is_chosen_sent_and_remembered(qtbot, settings, demo_model):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    actions = precision_actions(window)
    assert list(actions) == ["Auto (the hardware's fastest)", "float32", "bfloat16", "float16"]
    assert actions["Auto (the hardware's fastest)"].isChecked()  # the first time
    qtbot.waitUntil(lambda: window.runner.versions is not None, timeout=TIMEOUT)
    assert window.statusBar().currentMessage() == f"Precision: {resolve('auto').describe()}"
    label = window.precision.label  # kept at the status bar's right end, after the message goes
    assert label.text() == f"{resolve('auto').name} (auto)"

    actions["bfloat16"].trigger()
    assert window.runner.precision == "bfloat16" and actions["bfloat16"].isChecked()
    assert label.text() == "bfloat16" and "Edit > Precision" in label.toolTip()
    status = window.statusBar().currentMessage()
    assert status.startswith("Precision: bfloat16, from the next computation on.")
    assert ("it is emulated" in status) == ("bfloat16" not in window.runner.versions["fast_types"])
    image = demo_model.prepare(load_image(demo_image_path()))
    with using(resolve("bfloat16")):
        expected = predict(demo_model, image, 1)[0].score
    float32 = predict(demo_model, image, 1)[0].score
    assert expected != float32
    assert top_score(qtbot, window) == pytest.approx(expected, abs=1e-6)
    assert (f"Precision: bfloat16 (chosen in Edit > Precision; auto: {resolve('auto').describe()})"
            in about_text(window.runner.versions, window.runner.precision))
    actions["float32"].trigger()
    assert top_score(qtbot, window) == pytest.approx(float32, abs=1e-6)
    actions["bfloat16"].trigger()
    window.close()

    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.runner.precision == "bfloat16"
    assert precision_actions(again)["bfloat16"].isChecked()
    again.close()
