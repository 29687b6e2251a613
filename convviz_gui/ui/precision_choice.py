"""Edit > Precision: the type the model's passes run in (``engine.precision``), remembered.

``Auto`` runs bfloat16 on processors and GPUs that have it (float16 on older GPUs) and
float32 elsewhere; the choice goes with every job sent after it (``JobRunner.precision``),
and what runs is said once in the status bar when the engine has looked, and kept in a
small permanent label at the status bar's right end (its tooltip says why).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMenu

from convviz_gui.engine.precision import PRECISIONS

SETTINGS_KEY = "engine/precision"
LABELS = {"auto": "&Auto (the hardware's fastest)", "float32": "&float32",
          "bfloat16": "&bfloat16", "float16": "float&16"}
TIPS = {
    "auto": "bfloat16 on processors with AVX512-BF16/AMX and on recent GPUs, float16 on older "
            "GPUs, float32 elsewhere",
    "float32": "full precision everywhere (the reference answers)",
    "bfloat16": "convolutions in bfloat16, scores and maps in float32: up to 5x faster on "
                "processors with bfloat16 units, slow (emulated) elsewhere",
    "float16": "convolutions in float16, scores and maps in float32: fast on GPUs, slow on CPUs",
}


class PrecisionChoice(QObject):
    """The Edit > Precision submenu of ``window`` (a ``MainWindow``), its setting and the
    status line saying what runs."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for name in PRECISIONS:
            action = QAction(LABELS[name], self, checkable=True)
            action.setToolTip(TIPS[name])
            action.setStatusTip(TIPS[name])
            action.triggered.connect(lambda _checked=False, chosen=name: self.choose(chosen))
            self.group.addAction(action)
            self.actions[name] = action
        self.label = QLabel()
        window.statusBar().addPermanentWidget(self.label)
        window.runner.versions_ready.connect(self._engine_looked)

    def fill_edit_menu(self, menu: QMenu) -> None:
        """The Precision submenu at the end of Edit."""
        menu.addSeparator()
        submenu = menu.addMenu("&Precision")
        submenu.setToolTipsVisible(True)
        submenu.addActions(list(self.actions.values()))

    @property
    def current(self) -> str:
        """The chosen precision (``auto``, ``float32``...)."""
        return self._window.runner.precision

    def restore(self) -> None:
        """The remembered choice (``auto`` the first time or when the setting is unknown)."""
        value = str(self._window.settings.value(SETTINGS_KEY, "auto"))
        self._apply(value if value in PRECISIONS else "auto")

    def choose(self, name: str) -> None:
        """Edit > Precision > NAME: remembered, used from the next job on."""
        self._apply(name)
        self._window.settings.setValue(SETTINGS_KEY, name)
        self._window.show_status(f"Precision: {self.describe()}, from the next computation on."
                                 + self._emulated())

    def describe(self) -> str:
        """The choice and, for ``auto``, what it runs here once the engine has said."""
        if self.current != "auto":
            return self.current
        versions = self._window.runner.versions or {}
        return versions.get("precision", "auto")

    def _emulated(self) -> str:
        """A warning when the chosen reduced type has no hardware units here."""
        versions = self._window.runner.versions
        if versions is None or self.current in ("auto", "float32"):
            return ""
        if self.current in versions.get("fast_types", "").split(","):
            return ""
        return (f" This machine has no {self.current} units: it is emulated, slower than "
                "float32 (the same answers).")

    def _apply(self, name: str) -> None:
        self._window.runner.precision = name
        self.actions[name].setChecked(True)
        self._window.filters_tab.cache.clear()  # its results were computed in the old one
        self._show_label()

    def _show_label(self) -> None:
        """``float32 (auto)``, ``bfloat16``...: the type the next job runs in, in short."""
        described = self.describe()
        short = described.split(" ")[0] + (" (auto)" if self.current == "auto" else "")
        self.label.setText(short if described != "auto" else "auto")
        self.label.setToolTip(f"Precision of the model's passes: {described} (Edit > Precision)")

    def _engine_looked(self, _versions: dict) -> None:
        """Said once, when the engine has loaded TensorFlow and looked at the hardware."""
        self._show_label()
        self._window.show_status(f"Precision: {self.describe()}")
