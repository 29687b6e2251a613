"""Screenshot mode: drive the real window through every tab and save PNGs."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

TIMEOUT_MS = 300_000
SHOT_SIZE = (1440, 880)


class ScreenshotDirector(QObject):
    """Waits for each view to render, grabs it, and quits the application."""

    def __init__(self, window, out_dir: Path, filter_count: int = 16) -> None:
        super().__init__(window)
        self.window = window
        self.out_dir = Path(out_dir)
        self.filter_count = filter_count
        self.exit_code = 1
        self.saved: list[Path] = []

    def start(self) -> None:
        """Begin once the demo (or given files) are visualized."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.window.resize(*SHOT_SIZE)  # a desktop-sized window, whatever the (offscreen) screen
        self.window.reset_layout()
        self.window.tabs.setCurrentWidget(self.window.activations_tab)
        self.window.activations_tab.rendered.connect(self._activations_done)
        for tab in (self.window.activations_tab, self.window.gradcam_tab,
                    self.window.filters_tab):
            tab.error.connect(self._failed)
        QTimer.singleShot(TIMEOUT_MS, lambda: self._failed("timed out", ""))

    def _grab(self, widget, name: str) -> None:
        QApplication.processEvents()
        path = self.out_dir / name
        widget.grab().save(str(path))
        self.saved.append(path)

    def _settle(self, callback) -> None:
        QTimer.singleShot(400, callback)  # let the canvas paint

    def _activations_done(self) -> None:
        self.window.activations_tab.rendered.disconnect(self._activations_done)
        self._settle(self._grab_activations)

    def _grab_activations(self) -> None:
        self._grab(self.window.activations_tab, "activations.png")
        self.window.gradcam_tab.rendered.connect(self._gradcam_done)
        self.window.tabs.setCurrentWidget(self.window.gradcam_tab)

    def _gradcam_done(self) -> None:
        self.window.gradcam_tab.rendered.disconnect(self._gradcam_done)
        self._settle(self._grab_gradcam)

    def _grab_gradcam(self) -> None:
        self._grab(self.window.gradcam_tab, "gradcam.png")
        self._grab(self.window, "window.png")
        tab = self.window.filters_tab
        self.window.tabs.setCurrentWidget(tab)
        self._select_filter_layer()
        channels = self.window.session.layer.channels or 1
        tab.range_edit.setText(f"0-{min(self.filter_count, channels) - 1}")
        self.window.runner.busy_changed.connect(self._maybe_filters_done)
        tab.run()

    def _select_filter_layer(self) -> None:
        """A middle convolution with enough filters: textures rather than raw edges."""
        from convviz_gui.engine.layers import CONV_CLASSES, spatial_layers

        convs = [node for node in spatial_layers(self.window.session.model.layer_tree)
                 if node.class_name in CONV_CLASSES and (node.channels or 0) >= self.filter_count]
        if convs:
            self.window.tree.select_path(convs[len(convs) // 2].path)

    def _maybe_filters_done(self, busy: bool) -> None:
        if not busy and self.window.filters_tab.last_result is not None:
            self.window.runner.busy_changed.disconnect(self._maybe_filters_done)
            self._settle(self._grab_filters)

    def _grab_filters(self) -> None:
        self._grab(self.window.filters_tab, "filters.png")
        self.exit_code = 0
        print("\n".join(str(path) for path in self.saved))
        self.window.close()
        QApplication.quit()

    def _failed(self, message: str, _details: str) -> None:
        if self.exit_code == 0:
            return
        print(f"convviz-gui: screenshot failed: {message}", file=sys.stderr)
        self.exit_code = 1
        self.window.close()
        QApplication.quit()
