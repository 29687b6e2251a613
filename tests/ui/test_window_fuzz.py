"""No text the user can type reaches a traceback: huge, negative, empty
and non-ASCII text typed into the class search, the layer search and every number box of
the window (the Filters range box has its own tests), each followed by Enter."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from convviz_gui.engine.cam import CAM_METHODS
from convviz_gui.ui.controls import DecimalBox, NumberBox
from convviz_gui.ui.dataset_tab import VIEWS

from ..conftest import wait_idle
from .test_window_state import open_demo

TYPED = ("99999999999999999999999", "-99999999999", "-1", "-", "", "   ", "1e400", "nan",
         "0x1F", "1,5", "ÄÖü 猫🐱", "٣", "\u200b7")


@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def _unexpected(window, before: int) -> list[str]:
    return [said for said in window.errors_shown[before:]
            if "unexpected" in said.lower() or "traceback" in said.lower()]


PASTED = 64  # longer text arrives at once, as a paste or an input method's commit sends it


def type_over(qtbot, box, text: str) -> None:
    """Select what the box holds, delete it and type ``text``: key presses carrying each
    character, as a keyboard layout or an input method sends them (QTest types ASCII only);
    text longer than ``PASTED`` characters comes in one event, as pasted (5000 key presses
    re-filtered the tree 5000 times, half a minute, to show the same box)."""
    box.setFocus()
    box.selectAll()
    qtbot.keyClick(box, Qt.Key.Key_Backspace)
    for character in (text,) if len(text) > PASTED else text:
        key = Qt.Key(ord(character.upper())) if len(character) == 1 and character.isascii() \
            and character.isalnum() else Qt.Key.Key_unknown
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(box, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier,
                                                  character))


def _show(window, box) -> None:
    """Bring ``box`` on screen as a user would: its tab, the Filters' Advanced row and the
    style that uses it, the method that reads the option."""
    for _spec, tab in window.views:
        if tab.isAncestorOf(box):
            window.tabs.setCurrentWidget(tab)
    filters = window.filters_tab
    if filters.isAncestorOf(box):
        filters.advanced_button.setChecked(True)
        if not box.isVisible() or not box.isEnabled():  # the clear style's own
            filters.style_combo.setCurrentIndex(filters.style_combo.findData("clear"))
    dataset = window.dataset_tab
    if dataset.channel_box.isAncestorOf(box):  # the Channels view's own
        dataset.views.setCurrentIndex(VIEWS.index("Channels"))
    options = window.gradcam_tab.options
    for name, widget in options._widgets.items():
        if widget is box:
            window.gradcam_tab.method.set_method(
                next(method for method, cls in CAM_METHODS.items() if name in cls.option_fields))


def test_typing_anything_in_any_number_box_is_clamped_or_refused(qtbot, window):
    open_demo(qtbot, window)
    boxes = [box for kind in (NumberBox, DecimalBox) for box in window.findChildren(kind)]
    assert len(boxes) >= 14  # Activations, Filters (Advanced, clear style), method options
    before = len(window.errors_shown)
    for box in boxes:
        _show(window, box)
        assert box.isVisible() and box.isEnabled(), box.name
        for text in TYPED:
            type_over(qtbot, box, text)
            if text.lstrip("-").isascii() and text.lstrip("-").isdigit():  # all digits stay
                assert box.lineEdit().text().removesuffix(box.suffix()) == text, box.name
            qtbot.keyClick(box, Qt.Key.Key_Return)
            if text == "-99999999999":
                assert f"{text} became" in box.note and "at least" in box.note
            assert box.minimum() <= box.value() <= box.maximum(), (box.name, text)
            assert box.lineEdit().text() == box.textFromValue(box.value()) or \
                box.lineEdit().text() == box.specialValueText(), (box.name, text)
        wait_idle(qtbot, window)
    assert _unexpected(window, before) == []
    window.filters_tab.style_combo.setCurrentIndex(0)
    window.filters_tab.advanced_button.setChecked(False)
    window.gradcam_tab.method.set_method("Grad-CAM")
    wait_idle(qtbot, window)


def test_typing_anything_in_the_searches_shows_no_error(qtbot, window):
    open_demo(qtbot, window)
    tab = window.gradcam_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    before = len(window.errors_shown)
    for box in (tab.class_filter, window.tree.filter_box):
        for text in (*TYPED, "x" * 5000, "happy", "conv2d_7"):
            type_over(qtbot, box, text)
            assert box.text() == text  # non-ASCII typing reaches the box
            qtbot.keyClick(box, Qt.Key.Key_Return)
            box.setFocus()
        wait_idle(qtbot, window)
        type_over(qtbot, box, "")
    assert _unexpected(window, before) == []
    assert window.session.layer is not None and window.session.layer.name == "conv2d_7"
    assert tab.predictions.currentItem().text().startswith("happy")
