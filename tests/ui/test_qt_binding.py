"""The Qt binding itself: PySide6 6.12.0 over-releases None in every Python slot of a C++
signal, and Python 3.11 aborts ("deallocating None") after a few thousand signals."""

import gc
import sys

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow


def test_slots_of_cpp_signals_keep_reference_counts(qapp):
    window = QMainWindow()
    calls = []
    action = QAction("count", window)
    action.triggered.connect(lambda: calls.append(1))  # returns None, like every slot
    gc.collect()
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(500):
        action.trigger()
    gc.collect()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert len(calls) == 500
    assert [a - b for a, b in zip(after, before)] == [0, 0, 0]
    window.deleteLater()
