"""The engine process behind the window: TensorFlow-free GUI, crash recovery, interactive
requests during long jobs, one operations layer for the window and the CLI."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from convviz_gui.engine.models import demo_image_path
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.engine_process import EngineProcess
from convviz_gui.ops.model import Predict, Predictions

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle

ROOT = Path(__file__).resolve().parents[2]
DEMO_IMAGE = str(demo_image_path())


def test_engine_process_answers_requests_and_stops():
    engine = EngineProcess()
    try:
        assert engine.receive()[0] == "ready"
        engine.send(("run", 1, Predict(ModelRef("demo"), ImageRef(DEMO_IMAGE), top=3)))
        engine.send(("run", 2, Predict(ModelRef("demo"), ImageRef("/no/such/image.png"))))
        replies = {}
        while len(replies) < 2:
            message = engine.receive()
            if message[0] in ("result", "error"):
                replies[message[1]] = message
        assert replies[1][0] == "result" and isinstance(replies[1][2], Predictions)
        assert replies[1][2].predictions[0].label == "happy"
        assert replies[2][0] == "error" and "does not exist" in replies[2][2]
    finally:
        engine.stop()
    assert engine.process.exitcode == 0


GUI_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, {root!r})

    def main():
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from convviz_gui.ui.main_window import MainWindow
        app = QApplication([])
        window = MainWindow(QSettings({ini!r}, QSettings.Format.IniFormat))
        window.show()
        window.files.open_model("demo")
        window.files.open_image({image!r})

        def wait(condition):
            deadline = time.time() + 240
            while not condition():
                app.processEvents()
                time.sleep(0.01)
                if time.time() > deadline:
                    raise SystemExit("timed out")

        wait(lambda: window.activations_tab.figure is not None)
        window.tabs.setCurrentWidget(window.gradcam_tab)
        wait(lambda: window.gradcam_tab.figure is not None)
        window.tabs.setCurrentWidget(window.filters_tab)
        window.filters_tab.range_edit.setText("0-1")
        window.filters_tab.steps.setValue(3)
        window.filters_tab.run()
        wait(lambda: window.filters_tab.figure is not None)
        heavy = sorted(name for name in sys.modules
                       if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax"))
        print(json.dumps({{"heavy": heavy, "errors": window.errors_shown,
                          "engine_pid": window.runner.engine.pid, "pid": os.getpid()}}))
        window.close()

    if __name__ == "__main__":
        main()
""")


def test_window_process_never_imports_tensorflow(tmp_path):
    script = tmp_path / "gui_run.py"
    script.write_text(GUI_SCRIPT.format(root=str(ROOT), ini=str(tmp_path / "s.ini"),
                                        image=DEMO_IMAGE))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [] and report["errors"] == []
    assert report["engine_pid"] != report["pid"]


@pytest.fixture
def fresh_window(qapp, tmp_path):
    from convviz_gui.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    window.files.open_model("demo")
    window.files.open_image(DEMO_IMAGE)
    yield window
    window.close()


def _start_long_filter_job(qtbot, window, steps: int) -> None:
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: window.session.ready, timeout=WINDOW_TIMEOUT_MS)
    window.tree.select_path(("separable_conv2d_5",))
    tab.range_edit.setText("0-7")
    tab.steps.setValue(steps)
    tab.size.setValue(64)
    qtbot.mouseClick(tab.job.run_button, qtbot_left())
    qtbot.waitUntil(lambda: tab.job.progress.value() > 0, timeout=WINDOW_TIMEOUT_MS)


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_filter_job_recovers(qtbot, fresh_window):
    window = fresh_window
    _start_long_filter_job(qtbot, window, steps=150)
    old_pid = window.runner.engine.pid
    os.kill(old_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "stopped unexpectedly" in window.statusBar().currentMessage(),
                    timeout=WINDOW_TIMEOUT_MS)
    assert "killed by signal 9" in window.statusBar().currentMessage()
    assert window.isVisible() and window.runner.engine.pid != old_pid
    # The filter job that was in flight is re-run once and completes.
    qtbot.waitUntil(lambda: window.filters_tab.last_result is not None, timeout=WINDOW_TIMEOUT_MS)
    result = window.filters_tab.last_result
    assert not result.cancelled and sorted(result.patterns) == list(range(8))
    assert window.errors_shown == []
    # The next request succeeds on the new engine, with the model and image re-opened.
    window.tabs.setCurrentWidget(window.gradcam_tab)
    qtbot.waitUntil(lambda: window.gradcam_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    assert window.gradcam_tab.predictions.item(0).text().startswith("happy")
    assert window.session.model.source == "demo"


def test_gradcam_during_filter_job_is_answered_before_the_job_ends(qtbot, fresh_window):
    window = fresh_window
    _start_long_filter_job(qtbot, window, steps=500)
    job = window.runner.running("filters")
    window.tabs.setCurrentWidget(window.gradcam_tab)
    assert window.gradcam_tab.figure_view.pending  # says it is computing, no old figure
    started = time.perf_counter()
    qtbot.waitUntil(lambda: window.gradcam_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    latency = time.perf_counter() - started
    assert window.runner.running("filters") is job  # the filter job is still running
    print(f"Grad-CAM answered in {latency:.2f} s during the filter job")
    window.filters_tab.job.cancel()
    wait_idle(qtbot, window)
    assert window.filters_tab.last_result.cancelled


FORBIDDEN_ENGINE_CALLS = {
    "compute_activations", "overview_tiles", "make_cam", "predict", "predicted_mask",
    "resolve_class", "visualize_filters", "open_model", "load_model_file", "load_application",
    "load_image", "save_figure", "activation_grid_figure", "gradcam_figure",
    "filter_grid_figure", "overview_figure",
}


@pytest.mark.parametrize("module", sorted(
    str(path.relative_to(ROOT)) for folder in ("cli", "ui")
    for path in (ROOT / "convviz_gui" / folder).glob("*.py")))
def test_cli_and_window_compute_only_through_operations(module):
    """Neither front end calls the engine's computations or figure builders itself."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("convviz_gui.engine") for alias in node.names}
    assert not imported & FORBIDDEN_ENGINE_CALLS


def test_window_export_equals_cli_output(qtbot, fresh_window, tmp_path, capsys):
    from convviz_gui.cli import main as cli

    window = fresh_window
    window.tabs.setCurrentWidget(window.gradcam_tab)
    qtbot.waitUntil(lambda: window.gradcam_tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    from_window = tmp_path / "window.png"
    window.exports.export_dpi = lambda: 100
    window.exports.export_figure(str(from_window))
    wait_idle(qtbot, window)
    from_cli = tmp_path / "cli.png"
    assert cli(["gradcam", "demo", DEMO_IMAGE, "--out", str(from_cli), "--dpi", "100"]) == 0
    capsys.readouterr()
    assert from_window.read_bytes() == from_cli.read_bytes()
