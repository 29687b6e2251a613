"""What the user types and chooses: number boxes that clamp and say so, the batch report's
file name, folders remembered per kind, wording of the model entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from convviz_gui.ui.dialogs import CatalogDialog

from ..conftest import shared, wait_idle
from .test_window_state import drop, open_demo, type_into

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def action(window, text: str) -> QAction:
    return next(item for item in window.findChildren(QAction) if item.text() == text)


@pytest.mark.parametrize(("tab", "box", "typed", "bound"), [
    ("activations_tab", "columns", "99999", 64), ("filters_tab", "size", "99999", 512),
    ("filters_tab", "steps", "99999", 4096), ("filters_tab", "learning_rate", "5000", 1000.0)])
def test_a_number_beyond_the_range_becomes_the_bound_and_is_said(qtbot, window, tab, box, typed,
                                                                 bound):
    wait_idle(qtbot, window)
    view = getattr(window, tab)
    window.tabs.setCurrentWidget(view)
    view.advanced_button.setChecked(True) if tab == "filters_tab" else None
    spin = getattr(view, box)
    type_into(qtbot, spin, typed)
    assert spin.lineEdit().text() == typed  # every digit typed stays while typing
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == bound
    said = window.statusBar().currentMessage()
    assert f"at most {spin.textFromValue(bound)}" in said and typed in said


def test_model_settings_is_greyed_out_for_built_in_models(qtbot, window, tmp_path, keras):
    open_demo(qtbot, window)
    entry = action(window, "Model &Settings…")
    assert not entry.isEnabled() and "built in" in entry.toolTip()
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(inputs)))
    path = tmp_path / "mine.keras"
    keras.Model(inputs, outputs).save(path)
    drop(window, path)
    qtbot.waitUntil(lambda: window.session.model.ref.spec == str(path), timeout=TIMEOUT)
    assert entry.isEnabled() and "saved beside the model file" in entry.toolTip()
    open_demo(qtbot, window)


def test_a_text_file_named_keras_is_said_not_to_be_one(qtbot, window, tmp_path):
    fake = tmp_path / "fake.keras"
    fake.write_text("just text")
    errors = len(window.errors_shown)
    drop(window, fake)
    qtbot.waitUntil(lambda: len(window.errors_shown) > errors, timeout=TIMEOUT)
    said = window.errors_shown[-1]
    assert said.startswith("fake.keras is not a Keras file") and "not found" not in said
    window.last_error_dialog.close()


def test_random_weights_download_nothing(qtbot):
    dialog = CatalogDialog()
    qtbot.addWidget(dialog)
    dialog.imagenet.click()
    assert not dialog.imagenet.isChecked()
    assert "nothing is downloaded" in dialog.weights_note.text()
    assert "MB" not in dialog.weights_note.text()
    assert dialog.spec().endswith(":none")


def test_the_report_file_follows_the_folder_until_edited(qtbot, window, tmp_path):
    open_demo(qtbot, window)
    reports = tmp_path / "exports"
    reports.mkdir()
    window.files.remember_dir(str(reports / "old.html"), "reports")
    action(window, "&Batch Report…").trigger()
    dialog = window.exports.report_dialog
    assert Path(dialog.out.text()) == reports / "report.html"
    images = tmp_path / "batch photos"
    images.mkdir()
    dialog.folder.setFocus()
    qtbot.keyClicks(dialog.folder, str(images))
    assert Path(dialog.out.text()) == reports / "batch_photos_report.html"  # no space, same folder
    type_into(qtbot, dialog.out, str(reports / "mine.html"))
    qtbot.keyClicks(dialog.folder, "/sub")
    assert Path(dialog.out.text()) == reports / "mine.html"
    dialog.close()


def test_each_kind_of_file_has_its_own_folder(qtbot, window, tmp_path, monkeypatch):
    open_demo(qtbot, window)
    window.tabs.setCurrentWidget(window.activations_tab)
    wait_idle(qtbot, window)
    exports = tmp_path / "figures"
    exports.mkdir()
    window.files.remember_dir(str(exports / "a.png"), "exports")
    image = shared("images", "chelsea.png")
    window.files.open_image(str(image))
    qtbot.waitUntil(lambda: window.session.image.name == "chelsea.png", timeout=TIMEOUT)
    wait_idle(qtbot, window)
    suggested: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, where, *_args: (suggested.append(where), ("", ""))[1])
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda _parent, _title, where, *_args: (suggested.append(where), ("", ""))[1])
    action(window, "&Export Figure…").trigger()
    action(window, "Open &Image…").trigger()
    assert Path(suggested[0]).parent == exports
    assert Path(suggested[1]) == image.parent.resolve()
