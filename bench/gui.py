"""GUI responsiveness benchmark (run by hand, offscreen): window shown, demo ready, stalls.

Prints a small table and ends with one JSON line:
``{"window_shown_s": ..., "demo_visualized_s": ..., "max_stall_ms": ...}``.
Targets: window < 2 s, max stall < 100 ms.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from convviz_gui.engine.models import demo_image_path  # noqa: E402
from convviz_gui.ui.main_window import MainWindow  # noqa: E402


def wait(app: QApplication, condition, timeout_s: float = 300) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.002)


def heartbeat_gap(app: QApplication, window: MainWindow, start_job) -> float:
    """Largest gap (ms) beyond a 20 ms QTimer interval while the job runs and its
    result is drawn (the heartbeat goes on for 1 s after the job ends)."""
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start_job()
    wait(app, lambda: not window.runner.busy)
    settle = time.perf_counter() + 1.0
    wait(app, lambda: time.perf_counter() > settle)
    timer.stop()
    gaps = [(b - a) * 1000 - 20 for a, b in zip(ticks, ticks[1:])]
    return max(gaps) if gaps else float("nan")


def main() -> None:
    app = QApplication(sys.argv[:1])
    ini = Path(tempfile.mkdtemp()) / "bench.ini"
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat))
    window.show()
    app.processEvents()
    shown = time.perf_counter() - STARTED
    window.open_model("demo")
    window.open_image(str(demo_image_path()))
    wait(app, lambda: window.activations_tab.figure is not None)
    visualized = time.perf_counter() - STARTED
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("separable_conv2d_5",))
    tab.range_edit.setText("0-63")
    stall_filters = heartbeat_gap(app, window, tab.run)
    stall_load = heartbeat_gap(app, window, lambda: window.open_model("demo"))
    window.close()
    rows = [("window shown (s)", shown, "< 2"), ("demo visualized (s)", visualized, ""),
            ("max stall, filter job (ms)", stall_filters, "< 100"),
            ("max stall, model load (ms)", stall_load, "< 100")]
    for name, value, target in rows:
        print(f"{name:<30} {value:10.2f}   {target}")
    print(json.dumps({"window_shown_s": round(shown, 3), "demo_visualized_s": round(visualized, 3),
                      "max_stall_ms": round(max(stall_filters, stall_load), 1)}))


if __name__ == "__main__":
    main()
