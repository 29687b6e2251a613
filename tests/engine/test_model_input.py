"""What the model sees (fit modes) and Model > Model Settings, in the engine, the CLI and the
window."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import LoadedImage, to_model_pixels

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle


def _wide_image() -> LoadedImage:
    """300x100: left third red, middle green, right blue."""
    rgb = np.zeros((100, 300, 3), np.uint8)
    rgb[:, :100, 0] = rgb[:, 100:200, 1] = rgb[:, 200:, 2] = 255
    return LoadedImage(rgb, "wide")


def test_fit_modes_stretch_crop_and_pad():
    image = _wide_image()
    stretch = to_model_pixels(image, 60, 60, 3, "stretch")[0]
    crop = to_model_pixels(image, 60, 60, 3, "crop")[0]
    pad = to_model_pixels(image, 60, 60, 3, "pad")[0]
    assert stretch.shape == crop.shape == pad.shape == (60, 60, 3)
    assert stretch[30, 5, 0] > 200 and stretch[30, 55, 2] > 200  # all three colours, squashed
    assert crop[30, 5, 1] > 200 and crop[30, 55, 1] > 200  # only the green middle is kept
    assert pad[2, 30].max() == 0 and pad[30, 5, 0] > 200  # black bands above, whole image
    with pytest.raises(ConvVizError, match="Unknown fit mode"):
        to_model_pixels(image, 60, 60, 3, "zoom")


def test_cli_fit_option_changes_the_input(capsys, tmp_path):
    from PIL import Image

    from convviz_gui.cli import main as cli

    path = tmp_path / "wide.png"
    Image.fromarray(_wide_image().rgb).save(path)
    scores = {}
    for fit in ("stretch", "crop", "pad"):
        assert cli(["predict", "demo", str(path), "--fit", fit, "--json", "--top", "7"]) == 0
        predictions = json.loads(capsys.readouterr().out)["predictions"]
        scores[fit] = {p["label"]: p["score"] for p in predictions}
    assert scores["stretch"] != scores["crop"] != scores["pad"]


@pytest.fixture
def own_model(keras, tmp_path):
    """A small classifier file without sidecars: ConvViz must guess its preprocessing."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "mine.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.fixture
def window(qapp, tmp_path):
    from convviz_gui.engine.models import demo_image_path
    from convviz_gui.ui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    win.files.open_image(str(demo_image_path()))
    yield win
    win.close()


def test_window_shows_what_the_model_sees_and_remembers_the_fit(qtbot, window, qapp):
    window.files.open_model("demo")
    panel = window.image_panel
    qtbot.waitUntil(lambda: "64x64 grayscale" in panel.model_view_caption.text(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert not panel.model_view.pixmap().isNull()
    assert panel.preset_combo.findData("app") == -1  # not a Keras Application
    panel.fit_combo.setFocus()
    qtbot.keyClick(panel.fit_combo, Qt.Key.Key_Down)  # stretch -> crop, as a user picks it
    assert window.session.fit == "crop"
    wait_idle(qtbot, window)
    assert window.settings.value("fit/demo") == "crop"
    assert window.session.image_ref.fit == "crop"


def _answer_dialog(qtbot, fill) -> None:
    """Fill the modal dialog that is about to open, then press its Save button."""
    def act():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, act)
            return
        fill(dialog)
        buttons = dialog.findChild(QDialogButtonBox)
        qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Save),
                         Qt.MouseButton.LeftButton)

    QTimer.singleShot(50, act)


def test_model_settings_saved_as_sidecars_and_used(qtbot, window, own_model, tmp_path):
    window.files.open_model(str(own_model))
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    assert window.session.model.preset_guessed and window.session.preset == "unit"
    assert not window.image_panel.preset_hint.isHidden()
    labels = tmp_path / "names.txt"
    labels.write_text("cat\ndog\nbird\n")

    def fill(dialog):
        dialog.preset.setCurrentIndex(dialog.preset.findData("symmetric"))
        dialog.labels.setText(str(labels))
        dialog.input_size.setValue(96)

    _answer_dialog(qtbot, fill)
    window.exports.model_settings_action.trigger()
    qtbot.waitUntil(lambda: window.session.model.labels == ("cat", "dog", "bird"),
                    timeout=WINDOW_TIMEOUT_MS)
    model = window.session.model
    assert window.session.preset == "symmetric" and not model.preset_guessed
    assert "96x96" in " ".join(model.notes)
    saved = json.loads((tmp_path / "mine.convviz.json").read_text())
    assert saved == {"preprocess": "symmetric", "input_size": 96}
    assert (tmp_path / "mine.labels.txt").read_text().split() == ["cat", "dog", "bird"]
    wait_idle(qtbot, window)
    assert "96x96" in window.image_panel.model_view_caption.text()


def test_model_settings_refuses_a_labels_file_of_the_wrong_length(qtbot, window, own_model,
                                                                  tmp_path):
    window.files.open_model(str(own_model))
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    labels = tmp_path / "two.txt"
    labels.write_text("cat\ndog\n")
    _answer_dialog(qtbot, lambda dialog: dialog.labels.setText(str(labels)))
    errors = len(window.errors_shown)
    window.exports.model_settings_action.trigger()
    qtbot.waitUntil(lambda: len(window.errors_shown) > errors, timeout=WINDOW_TIMEOUT_MS)
    assert "names 2 classes; the model has 3 outputs" in window.errors_shown[-1]
    window.last_error_dialog.close()
    assert window.session.model.labels == ("class 0", "class 1", "class 2")
