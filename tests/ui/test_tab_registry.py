"""The tab registry: one ``TabSpec`` more gives the window a tab, its View menu entry and
shortcut, its loading text, its invalidation by the session fields it names, and its own
settings, with no other change to the window."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from convviz_gui.ui.tabs import TAB_SPECS, TabSpec
from convviz_gui.ui.view_tab import ViewTab

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle
from .test_window_paths import action


class ToyTab(ViewTab):
    """Names the selected layer; counts how often the window makes it stale."""

    view_name = "toy"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "The toy tab names the layer.")
        self.invalidated: list[str] = []
        self.remembered = ""

    def invalidate(self) -> None:
        self.invalidated.append(self.session.layer.name)
        super().invalidate()

    def refresh(self) -> None:
        if self.stale and self.session.model is not None:
            self.stale = False
            self.compute()

    def compute(self) -> None:
        self.figure_view.set_hint(f"Toy of {self.session.layer.name}")

    def restore_settings(self, settings: QSettings) -> None:
        self.remembered = str(settings.value("toy/word", ""))

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("toy/word", f"{self.remembered} again")


def test_one_spec_more_is_one_tab_more(qapp, qtbot, tmp_path, monkeypatch):
    import convviz_gui.ui.main_window as main_window

    toy = TabSpec("toy", "Toy", ToyTab, "Ctrl+9", frozenset({"layer"}), needs_image=False)
    monkeypatch.setattr(main_window, "TAB_SPECS", (*TAB_SPECS, toy))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("toy/word", "hello")
    window = main_window.MainWindow(settings)
    window.show()
    try:
        tab = window.toy_tab
        titles = [window.tabs.tabText(index) for index in range(window.tabs.count())]
        assert titles == [spec.title for spec in TAB_SPECS] + ["Toy"]
        assert tab.remembered == "hello"  # the tab restored its own setting
        view = action(window, "Toy")
        assert view.shortcut().toString() == "Ctrl+9"
        window.files.open_model("demo")
        assert "Loading" in tab.figure_view._hint.text()  # shows_loading
        qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
        assert tab.invalidated == []  # a new model is not among the fields it names
        view.trigger()
        assert window.tabs.currentWidget() is tab
        window.tree.select_path(("conv2d_7",))
        assert tab.invalidated == ["conv2d_7"]  # no image needed
        assert tab.figure_view._hint.text() == "Toy of conv2d_7"
        window.files.open_image(_demo_image())
        qtbot.waitUntil(lambda: window.session.image is not None, timeout=WINDOW_TIMEOUT_MS)
        wait_idle(qtbot, window)
        assert tab.invalidated == ["conv2d_7"]  # nor is the image
    finally:
        window.close()
    assert settings.value("toy/word") == "hello again"  # the tab saved its own setting


def _demo_image() -> str:
    from convviz_gui.engine.models import demo_image_path

    return str(demo_image_path())
